"""Building a container's root filesystem as a straight line of named steps.

Runs in the container's child process, after ``unshare(CLONE_NEWNS)``:
rshared sources cloned -> private (or slave) propagation -> overlay -> /proc ->
/sys -> /dev -> /etc files -> volumes -> masks -> read-only paths -> pivot_root
-> read-only root.

What the mounts keep from the container's root (``glassbox.probe`` shows each):
``/sys`` is read-only (no ``uevent_helper`` or other host knob to write);
``/proc/sys`` and ``/proc/sysrq-trigger`` are read-only binds (no
``core_pattern`` — a host program run as root on the next crash — and no sysrq);
``/proc/kcore`` and the other masked paths read as empty; ``/dev`` is a fresh
tmpfs with a handful of safe nodes, and a node the container makes itself with
mknod still cannot be opened (the devices cgroup). ``--privileged`` drops the
read-only binds and masks, as Docker does.

``--read-only`` (``readonly_rootfs``) remounts the new ``/`` read-only as the
last step, after ``pivot_root``. The remount touches that one mount, so what
Docker leaves writable stays writable: ``/dev`` (with ``/dev/shm`` and
``/dev/mqueue``), ``/proc``, volumes, binds and ``--tmpfs`` mounts. The
generated ``/etc/hostname``, ``/etc/hosts`` and ``/etc/resolv.conf`` are bound
read-only then too, as Docker does (moby's ``NetworkMounts``: writable is
``!ReadonlyRootfs``); a ``-v`` onto one of them keeps its own mode.

**Bind propagation** (``-v /src:/dst:rslave``, ``--mount ...,bind-propagation=``):
by default the namespace is made ``rprivate`` first, so nothing mounted later on
the host shows up in the container and nothing the container mounts leaks out.
A ``(r)slave`` or ``(r)shared`` bind makes it ``rslave`` instead, and an
``(r)shared`` bind's source is cloned *before* that (``open_tree``), so the bind
stays a peer of the host's mount: what the container mounts under ``/dst``
appears under ``/src`` on the host, as with Docker. See :mod:`.propagation`.
"""

from __future__ import annotations

import os

from .._sys.constants import (MS_BIND, MS_NODEV, MS_NOEXEC, MS_NOSUID, MS_RDONLY, MS_REC,
                              MS_REMOUNT, MS_SLAVE)
from ..runtime.spec import MASKED_PATHS, READONLY_PATHS, ProcessSpec
from .dev import make_dev, make_device_nodes
from .masks import mask_paths, readonly_paths
from .overlay import mount_overlay
from .pivot import make_private, pivot
from .propagation import (PROPAGATION_FLAGS, attach_clone, clone_shared_sources, close_clones,
                          wants_host_events)


def _inside(rootfs: str, path: str) -> str:
    """Resolve ``path`` inside ``rootfs`` without letting a symlink in the image
    point the mount at the host (each component resolved relative to rootfs)."""
    parts = [p for p in path.split("/") if p not in ("", ".")]
    cur = rootfs
    for depth, part in enumerate(parts):
        if part == "..":
            cur = os.path.dirname(cur) if cur != rootfs else rootfs
            continue
        nxt = os.path.join(cur, part)
        hops = 0
        while os.path.islink(nxt) and hops < 40:
            target = os.readlink(nxt)
            nxt = _inside(rootfs, target) if target.startswith("/") else \
                _inside(rootfs, os.path.relpath(os.path.join(cur, target), rootfs))
            hops += 1
        cur = nxt
    return cur


def _locked_flags(source: str) -> int:
    """nosuid/nodev/noexec/noatime of the mount ``source`` is on. In a user
    namespace the kernel *locks* them on a bind of a host mount: a read-only
    remount must repeat them or it is refused (EPERM)."""
    # statvfs's ST_NOSUID/NODEV/NOEXEC/NOATIME/NODIRATIME equal the MS_ flags
    return os.statvfs(source).f_flag & (MS_NOSUID | MS_NODEV | MS_NOEXEC | 1024 | 2048)


def _resolved_target(rootfs: str, target: str) -> str:
    """``target`` resolved inside ``rootfs`` (symlinks in the image followed there),
    refused when it lands at or inside ``/proc`` (:func:`~glassbox.volumes.specs.
    proc_target_error`: create checked the path as written, this the path as found)."""
    from ..volumes.specs import proc_target_error
    dest = _inside(rootfs, target)
    rel = os.path.relpath(dest, rootfs)
    err = proc_target_error("/" if rel == "." else "/" + rel)
    if err:
        from ..errors import InvalidArgument
        raise InvalidArgument(f'error mounting at "{target}": {err}')
    return dest


def _mount_point(rootfs: str, source: str, target: str) -> str:
    """The path inside ``rootfs`` a bind of ``source`` goes on, made if missing: a
    directory for a directory, an empty file for anything else."""
    dest = _resolved_target(rootfs, target)
    if os.path.isdir(source):
        os.makedirs(dest, exist_ok=True)
    else:
        os.makedirs(os.path.dirname(dest), exist_ok=True)
        if not os.path.exists(dest):
            open(dest, "a").close()
    return dest


def _bind_file(sys_, rootfs: str, source: str, target: str, readonly: bool = False,
               userns: bool = False, clone: int | None = None) -> str:
    """Bind ``source`` (recursively, like Docker's rbind) at ``target`` in ``rootfs``;
    with ``clone``, attach that detached copy of it instead (an rshared bind:
    :mod:`.propagation`). Returns the mount point."""
    dest = _mount_point(rootfs, source, target)
    if clone is None:
        sys_.mount(source, dest, None, MS_BIND | MS_REC)
    else:
        attach_clone(sys_, clone, dest)
    if readonly:
        sys_.mount(source, dest, None, MS_BIND | MS_REC | MS_REMOUNT | MS_RDONLY |
                   (_locked_flags(source) if userns else 0))
    return dest


def mount_volumes(sys_, spec: ProcessSpec, clones: dict[int, int] | None = None) -> None:
    """The ``-v``/``--mount``/``--tmpfs`` mounts, parents first. ``clones``: the
    detached copies :func:`.propagation.clone_shared_sources` took of the rshared
    binds' sources (by index in ``spec.mounts``); without them (the archive helper)
    every bind is a plain one."""
    from_host = wants_host_events(spec)
    clones = {} if clones is None else clones
    for i, m in enumerate(spec.mounts):
        if m.type == "tmpfs":
            dest = _resolved_target(spec.rootfs, m.target)
            os.makedirs(dest, exist_ok=True)
            sys_.mount("tmpfs", dest, "tmpfs",
                       MS_NOSUID | MS_NODEV | (MS_RDONLY if m.readonly else 0),
                       m.options or "mode=1777")
        elif m.subpath:   # a volume's sub-directory: bound from the fd the safe walk ended on
            from ..volumes.subpath import open_beneath
            fd = open_beneath(m.source, m.subpath)
            try:
                _bind_file(sys_, spec.rootfs, f"/proc/self/fd/{fd}", m.target, m.readonly,
                           bool(spec.userns))
            finally:
                os.close(fd)
        else:
            dest = _bind_file(sys_, spec.rootfs, m.source, m.target, m.readonly,
                              bool(spec.userns), clone=clones.pop(i, None))
            if from_host:   # each bind its own mode (the default rprivate included)
                sys_.mount(None, dest, None, PROPAGATION_FLAGS[m.propagation or "rprivate"])


def mount_proc_sys(sys_, rootfs: str, privileged: bool = False) -> None:
    """/proc, and /sys read-only (read-write for ``--privileged``, as Docker)."""
    for name in ("proc", "sys"):
        os.makedirs(os.path.join(rootfs, name), exist_ok=True)
    sys_.mount("proc", os.path.join(rootfs, "proc"), "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC)
    sys_.mount("sysfs", os.path.join(rootfs, "sys"), "sysfs",
               MS_NOSUID | MS_NODEV | MS_NOEXEC | (0 if privileged else MS_RDONLY))


def build_rootfs(sys_, spec: ProcessSpec) -> None:
    """Everything from a bare mount namespace to the container's own ``/``.

    Rootful ``--userns=private``: host root builds it all, with the image layers
    idmapped, then steps into the user namespace (:mod:`glassbox.rootless.private`)."""
    # rshared binds: copies that stay the host's peers, taken before the rslave in _build
    clones = clone_shared_sources(sys_, spec)
    try:
        _build(sys_, spec, clones)
    finally:
        close_clones(clones)      # only those a failure left unattached
    if spec.readonly_rootfs:
        sys_.mount(None, "/", None, MS_BIND | MS_REMOUNT | MS_RDONLY | MS_REC)
    if spec.userns == "private":
        from ..rootless.private import become_container_root
        become_container_root(sys_)


def _build(sys_, spec: ProcessSpec, clones: dict[int, int]) -> None:
    """:func:`build_rootfs` from the namespace's propagation to ``pivot_root``."""
    rootfs = spec.rootfs
    private = spec.userns == "private"
    rootless = "" if private else spec.userns
    if wants_host_events(spec):      # a slave/shared bind: keep following the host
        sys_.mount(None, "/", None, MS_REC | MS_SLAVE)
    else:
        make_private(sys_)
    if private:
        from ..rootless.private import idmap_lowers, join_owned, own_dev
        join_owned(sys_)
        idmap_lowers(sys_, spec.lower_dirs)
    mount_overlay(sys_, rootfs, spec.lower_dirs, spec.upper_dir, spec.work_dir,
                  userxattr=bool(rootless))
    mount_proc_sys(sys_, rootfs, spec.privileged)
    make_dev(sys_, rootfs, rootless)
    if private:
        own_dev(rootfs)
    if spec.devices or spec.privileged:
        make_device_nodes(sys_, rootfs, spec.devices, spec.privileged, rootless)
    for target, source in spec.etc_files.items():
        _bind_file(sys_, rootfs, source, target, readonly=spec.readonly_rootfs)
    mount_volumes(sys_, spec, clones)
    if not spec.privileged:      # Docker masks nothing for --privileged
        mask_paths(sys_, rootfs, MASKED_PATHS)
        readonly_paths(sys_, rootfs, READONLY_PATHS)
    pivot(sys_, rootfs)
