"""From ``run`` flags to the runtime's mounts: ``resolve_mounts`` and ``VolumeHooks``.

Docker's order, kept here:

1. ``--volumes-from C[:ro]`` — the same volumes and binds as container C;
2. ``-v`` — overrides a volumes-from mount at the same target;
3. ``--mount`` and ``--tmpfs``;
4. the image's ``VOLUME`` paths not covered yet — an anonymous volume each.

Two user mounts on one target are an error (``Duplicate mount point: /x``).
Everything is validated first; only then are volumes created (a named volume
on first use), empty new volumes filled from the image (copy-up, see
:mod:`.copyup`) and missing ``-v`` host directories made. A failure while
doing that removes what this call created.

The runtime only knows two kinds of :class:`~glassbox.runtime.spec.Mount`:
``bind`` and ``tmpfs``. A volume *is* a bind mount of
``<root>/volumes/<name>/_data``; :func:`inspect_mounts` turns the stored list
back into Docker's ``Mounts`` (``Type: volume, Name: ...``) for ``inspect``.
"""

from __future__ import annotations

import os

from ..errors import GlassboxError, InvalidArgument, NotFound
from ..runtime.spec import Mount
from .copyup import copy_image_content
from .specs import (VolumeSpec, clean_target, parse_mount_spec, parse_tmpfs_spec,
                    parse_volume_spec, parse_volumes_from)
from .store import VolumeManager


def _dup(target: str) -> InvalidArgument:
    return InvalidArgument(f"Duplicate mount point: {target}")


def plan_mounts(opts, image_config: dict | None, containers=None) -> list[VolumeSpec]:
    """Parse and validate every mount request, in Docker's precedence. Pure
    except for reading other containers (``--volumes-from``) and checking
    ``--mount type=bind`` sources exist."""
    by_target: dict[str, VolumeSpec] = {}
    # 1. --volumes-from
    for spec in getattr(opts, "volumes_from", None) or []:
        ref, mode = parse_volumes_from(spec)
        if containers is None:
            raise InvalidArgument("--volumes-from needs the container store")
        other = containers.get(ref)
        ro = "ro" in mode.split(",")
        for m in (other.config.get("Mounts") or []):
            if m.get("type") != "bind":
                continue  # a tmpfs is private to its container
            by_target[m["target"]] = VolumeSpec(
                "from", m["source"], m["target"], bool(m.get("readonly")) or ro,
                options=m.get("options", ""), propagation=m.get("propagation") or "",
                raw=spec)
    # 2. -v, then 3. --mount and --tmpfs: a target given twice by the user is an error
    user: set[str] = set()
    for values, parse in ((getattr(opts, "volumes", None), parse_volume_spec),
                          (getattr(opts, "mounts", None), parse_mount_spec),
                          (getattr(opts, "tmpfs", None), parse_tmpfs_spec)):
        for raw in values or []:
            vs = parse(raw)
            if vs.target in user:
                raise _dup(vs.target)
            user.add(vs.target)
            by_target[vs.target] = vs
    # 4. the image's VOLUMEs
    for target in sorted((image_config or {}).get("Volumes") or {}):
        t = clean_target(target)
        if t not in by_target and t != "/":
            by_target[t] = VolumeSpec("volume", "", t, raw=f"VOLUME {target}")
    # parents before children: /data is mounted before /data/logs
    return sorted(by_target.values(), key=lambda v: (v.target.count("/"), v.target))


def resolve_mounts(vm: VolumeManager, opts, image_config: dict | None, containers=None, *,
                   layer_dirs=(), cid: str = "") -> list[Mount]:
    """The runtime mounts for a new container (see the module doc).

    ``layer_dirs`` are the image's layer directories, bottom -> top (for
    copy-up); ``cid`` marks the volumes as used by that container while it is
    being created (``refs/<cid>``), so ``volume rm`` cannot race the create."""
    plan = plan_mounts(opts, image_config, containers)
    created: list[str] = []
    made_dirs: list[str] = []
    out: list[Mount] = []
    try:
        for vs in plan:
            if vs.kind == "tmpfs":
                out.append(Mount("tmpfs", "", vs.target, vs.readonly, vs.options))
            elif vs.kind == "from":
                name = vm.name_of(vs.source)
                if name is not None:
                    if cid:
                        vm.add_ref(name, cid)
                elif not os.path.exists(vs.source):
                    raise NotFound(f"--volumes-from: the bind source {vs.source} of "
                                   f"{vs.raw!r} no longer exists")
                out.append(Mount("bind", vs.source, vs.target, vs.readonly, vs.options,
                                 propagation=_propagation(vs)))
            elif vs.kind == "bind":
                out.append(Mount("bind", _bind_source(vs, made_dirs), vs.target, vs.readonly,
                                 propagation=_propagation(vs)))
            else:
                labels = vs.labels
                meta, new = vm.ensure(vs.source or None, labels=labels,
                                      anonymous=not vs.source, ref=cid or None)
                if new:
                    created.append(meta["Name"])
                if not vs.nocopy and layer_dirs and not vs.subpath:
                    _copy_up(vm, meta["Name"], layer_dirs, vs.target)
                if vs.subpath:        # walked from a dirfd now; again at every start
                    from .subpath import check_exists
                    try:
                        check_exists(vm.data_dir(meta["Name"]), vs.subpath)
                    except BaseException:
                        if cid:       # not in ``out`` yet: the cleanup below misses it
                            vm.drop_ref(meta["Name"], cid)
                        raise
                out.append(Mount("bind", vm.data_dir(meta["Name"]), vs.target, vs.readonly,
                                 subpath=vs.subpath))
    except BaseException:
        for name in created:
            try:
                vm.remove(name, in_use=lambda n: vm.users(n, exclude=[cid]))
            except GlassboxError:
                pass
        if cid:
            for m in out:
                name = vm.name_of(m.source) if m.type == "bind" else None
                if name:
                    vm.drop_ref(name, cid)
        for d in reversed(made_dirs):
            try:
                os.rmdir(d)
            except OSError:
                pass
        raise
    return out


def _propagation(vs: VolumeSpec, mountinfo: str = "/proc/self/mountinfo") -> str:
    """A bind's propagation as the runtime applies it; the default (rprivate) as "".

    As Docker, a ``(r)shared`` bind needs its source on a *shared* mount and a
    ``(r)slave`` one on a shared or slave mount, refused in Docker's words
    (:func:`glassbox.rootfs.propagation.check_source`) before anything is made;
    ``mount --make-shared`` on the mount point named fixes it."""
    from ..rootfs.propagation import check_source
    mode = "" if vs.propagation in ("", "rprivate") else vs.propagation
    check_source(vs.source, mode, mountinfo)
    return mode


def _bind_source(vs: VolumeSpec, made_dirs: list[str]) -> str:
    """The host path to bind, symlinks resolved once, here (what ``inspect``
    shows is what gets mounted). ``-v`` creates a missing directory like
    Docker; ``--mount`` was already checked to exist."""
    real = os.path.realpath(vs.source)
    if not os.path.exists(real):
        if not vs.create_source:
            raise InvalidArgument(f'invalid mount config for type "bind": bind source path '
                                  f"does not exist: {vs.source}")
        missing = []
        p = real
        while not os.path.exists(p):
            missing.append(p)
            p = os.path.dirname(p)
        os.makedirs(real, mode=0o755, exist_ok=True)
        made_dirs.extend(reversed(missing))
    return real


def _copy_up(vm: VolumeManager, name: str, layer_dirs, target: str) -> None:
    import fcntl
    lock = os.open(os.path.join(vm.path(name), "copyup.lock"),
                   os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    try:
        fcntl.flock(lock, fcntl.LOCK_EX)
        copy_image_content(layer_dirs, target, vm.data_dir(name))
    finally:
        os.close(lock)


def inspect_mounts(vm: VolumeManager, mounts: list[dict]) -> list[dict]:
    """Docker's ``Mounts`` for ``inspect`` from the stored runtime mounts."""
    out = []
    for m in mounts or []:
        rw = not m.get("readonly")
        if m.get("type") == "tmpfs":
            out.append({"Type": "tmpfs", "Source": "", "Destination": m["target"],
                        "Mode": m.get("options", ""), "RW": rw, "Propagation": ""})
            continue
        name = vm.name_of(m["source"])
        if name is not None:
            out.append({"Type": "volume", "Name": name, "Source": m["source"],
                        "Destination": m["target"], "Driver": "local",
                        "Mode": "" if rw else "ro", "RW": rw, "Propagation": ""})
            if m.get("subpath"):
                out[-1]["Source"] = os.path.join(m["source"], m["subpath"])
        else:
            out.append({"Type": "bind", "Source": m["source"], "Destination": m["target"],
                        "Mode": "" if rw else "ro", "RW": rw,
                        "Propagation": m.get("propagation") or "rprivate"})
    return out


class VolumeHooks:
    """What :meth:`ContainerManager.create` / ``remove`` call for mounts.

    ``containers`` is the ContainerManager, or a zero-argument callable that
    returns it (to break the Engine's construction cycle); it is only needed
    for ``--volumes-from``."""

    def __init__(self, volumes: VolumeManager, containers_getter=None):
        self.volumes = volumes
        self._containers = containers_getter

    @property
    def containers(self):
        c = self._containers
        if c is None or hasattr(c, "get"):
            return c
        return c()

    def mounts(self, opts, image, cid: str) -> list[Mount]:
        icfg = ((getattr(image, "config", None) or {}).get("config") or {}) \
            if image is not None else {}
        return resolve_mounts(self.volumes, opts, icfg, self.containers,
                              layer_dirs=getattr(image, "layer_dirs", ()) or (), cid=cid)

    def discard(self, mounts: list[Mount], cid: str) -> None:
        """The create failed after :meth:`mounts`: forget the container's refs and
        remove the anonymous volumes made for it."""
        self._release([m.__dict__ for m in mounts], cid, remove_anonymous=True)

    def removed(self, container, remove_anonymous: bool) -> None:
        """The container is being removed: drop its refs; with ``rm -v``, remove its
        anonymous volumes no other container uses (named volumes always stay)."""
        self._release(container.config.get("Mounts") or [], container.id, remove_anonymous)

    def _release(self, mounts: list[dict], cid: str, remove_anonymous: bool) -> None:
        vm = self.volumes
        for m in mounts:
            if m.get("type") != "bind":
                continue
            name = vm.name_of(m["source"])
            if name is None:
                continue
            vm.drop_ref(name, cid)
            if not remove_anonymous:
                continue
            try:
                meta = vm.get(name)
            except NotFound:
                continue
            if not meta.get("Anonymous"):
                continue
            try:
                vm.remove(name, in_use=lambda n: vm.users(n, exclude=[cid]))
            except GlassboxError:
                pass  # still used by another container (--volumes-from): keep it

    def in_use(self, name: str) -> list[str]:
        return self.volumes.users(name)


def release_container_volumes(root: str, cid: str, mounts: list[dict],
                              remove_anonymous: bool = True) -> None:
    """:meth:`VolumeHooks.removed` for code that has only the state root and the
    container's stored ``Mounts`` — the shim removing a ``--rm`` container
    (Docker removes a ``--rm`` container's anonymous volumes with it). Call it
    before the container's directory goes."""
    VolumeHooks(VolumeManager(root))._release(mounts or [], cid, remove_anonymous)
