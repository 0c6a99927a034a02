"""The builder: a Dockerfile and a context in, an image out — one step at a time.

``Builder(engine).build(context, tags=["app:1"])`` walks the stages the target needs
(:func:`~glassbox.build.dockerfile.stages_needed`: stages nothing uses are skipped) and,
in each, the instructions in order. Every step turns the current image into a new one,
as Docker's classic builder does:

- **RUN** starts a real container of this engine from the current image (its own
  namespaces, overlay and cgroup), with ``Cmd = SHELL + [command]`` (or the exec form),
  the image's Env plus the build args the step can see, its WorkingDir and User. The
  output streams as ``log`` events. When it exits 0, the container's overlay *upper
  dir* — exactly what the command changed — becomes the step's layer; then the build
  container is removed. A non-zero exit is a :class:`~glassbox.errors.BuildError`
  naming the Dockerfile line: ``The command '/bin/sh -c exit 3' returned a non-zero
  code: 3``.
- **COPY/ADD** copy from the build context (or ``--from`` a stage or an image) into a
  fresh directory that becomes the layer: ``--chown`` names are looked up in the
  image's own ``/etc/passwd`` and ``/etc/group``, ``--chmod`` applies to what is copied.
  ADD unpacks a local tar (safely: :func:`glassbox.images.layers.safe_extract`) and
  downloads a URL (``urllib``; offline it fails with a clear error).
- **Everything else** (ENV, CMD, LABEL, EXPOSE, WORKDIR, USER, VOLUME, ENTRYPOINT,
  STOPSIGNAL, HEALTHCHECK, ARG, SHELL, ONBUILD, MAINTAINER) only edits the image config:
  the history gets an ``empty_layer`` entry and no layer is added. WORKDIR does not
  create its directory by itself: the next RUN creates it (the runtime makes the
  working directory), as does a COPY into it, and a container started from the image
  gets it too.

Each step's result is an (untagged) image in the store, and the step is recorded in the
build cache (:mod:`glassbox.build.cache`): the next build with the same parent image,
instruction, build args and copied files reuses it (``---> Using cache``). Only the
final image of the target stage is tagged, at the very end: a failed build tags nothing
and leaves no container behind (the intermediate images of the steps that succeeded
stay, untagged, as cache — Docker does the same).

Network during RUN (``network=``, ``glassbox build --network``, the API's
``networkmode``), checked before the first step — an unknown network is an
:class:`~glassbox.errors.InvalidArgument` naming it:

- ``None`` (no ``--network``) and ``"default"`` (what the docker CLI sends on every
  build): the default bridge network, as Docker's classic builder runs RUN on
  ``docker0``. Should that bridge not be available here (no ``CAP_NET_ADMIN``: a
  sandbox that grants no networking), the build still runs, each RUN in an
  isolated network namespace, and says so in a warning. Rootless, the default
  bridge lives in the user's own network namespace (:mod:`glassbox.rootless.netns`),
  as rootless Docker's ``docker0`` lives in rootlesskit's: a RUN reaches the other
  containers and the host's side of that bridge, not the outside.
- ``"none"``: a network namespace of its own, loopback only. A RUN that downloads
  packages fails.
- ``"bridge"``: the default bridge network (``gbx0``): an address on it, the host's
  side as gateway, no NAT (glassbox bridges do not route to the outside); refused
  when that bridge cannot be made.
- a user network's name (or id prefix): an address on it, and its containers by
  name in ``/etc/hosts`` — a RUN can fetch from a service running there.
- ``"host"`` (root only): the host's network namespace, so ``apk add`` /
  ``pip install`` reach the outside.

``RUN --network=none|host|default`` (BuildKit's flag) overrides it for one step.
``extra_hosts`` (``--add-host name:ip``, the API's ``extrahosts``) are added to the
``/etc/hosts`` every RUN sees; ``name:host-gateway`` is the default bridge's gateway,
the host as a RUN reaches it (:func:`glassbox.network.dns.host_gateway`). Neither is
part of the cache key (as Docker's).

``cache_from`` (``--cache-from IMAGE``): images, pulled or loaded from elsewhere, whose
history can stand in for the local cache — the rule is :func:`~glassbox.build.cache.
match_cache_from`'s. A step restored from one is committed with the source's history
entry and its ``created`` time, so a build that is cached all the way down ends at the
very image it was cached from (same id), as Docker's classic builder does.

RUN output: the container's stdout *and* stderr go into one pipe, read as they come:
``log`` events in the order the command wrote them, while the step runs.

Progress: ``progress(event)`` receives dicts, the same for the CLI and the Jupyter
widgets — ``{"type": "step", "index", "total", "stage", "instruction", "cached"}``
(``"trigger": True`` for an ONBUILD trigger), ``{"type": "container", "action":
"start"|"remove", "id"}``, ``{"type": "log", "text"}`` (RUN output as it arrives),
``{"type": "layer", "diff_id", "size"}``, ``{"type": "result", "index", "image_id"}``
(the image a step produced or reused), ``{"type": "skip", "stage"}`` (a stage the
target does not need), ``{"type": "warning", "text"}``, ``{"type": "tag", "tag"}`` and
``{"type": "done", "image_id"}``.

Shown in the notebook on images and Dockerfiles (``notebooks/``), section "docker build".
"""

from __future__ import annotations

import codecs
import contextlib
import copy
import hashlib
import io
import json
import os
import posixpath
import shutil
import stat as _stat
import tempfile
from dataclasses import dataclass, field
from typing import Callable, Iterator

from ..errors import BuildError, ContainerExit, GlassboxError, InvalidArgument, NotFound
from . import dockerfile as D
from .cache import BuildCache, FileHashMemo, cache_key, match_cache_from

__all__ = ["Builder", "ImageView", "DEFAULT_NETWORK", "DEFAULT_SHELL", "resolve_network",
           "check_extra_hosts"]

DEFAULT_SHELL = ["/bin/sh", "-c"]
_URL_PREFIXES = ("http://", "https://")
#: Files the runtime creates in the container's root as mount points; a RUN layer
#: must not carry them (Docker keeps them in a separate "init layer").
_RUNTIME_STUB_FILES = ("etc/hostname", "etc/hosts", "etc/resolv.conf")
_RUNTIME_STUB_DIRS = ("etc", "proc", "sys", "dev")


# ---------------------------------------------------------------------------------------
# Reading an image's filesystem without mounting it
# ---------------------------------------------------------------------------------------

class ImageView:
    """The merged filesystem of an image's unpacked layers, read-only, no mount needed.

    ``layer_dirs`` are bottom → top (as ``Image.layer_dirs``). A path is looked up from
    the top layer down: an overlay whiteout (char device 0:0) hides it, an opaque
    directory hides what lower layers hold under it, and a non-directory hides lower
    layers entirely. Symlinks are resolved *inside* the image (an absolute target is
    relative to the image root), never on the host.
    """

    def __init__(self, layer_dirs=()):
        self.top_down = [os.fspath(d) for d in reversed(list(layer_dirs))]

    # -- lookup -------------------------------------------------------------------------
    def _find(self, parts: list[str]) -> tuple[str, os.stat_result] | None:
        """(host path, lstat) of the clean, symlink-free path ``parts``, or None."""
        from ..images.layers import is_overlay_opaque, is_overlay_whiteout
        visible = self.top_down
        found = None
        for depth in range(len(parts) + 1):
            rel = "/".join(parts[:depth])
            found = None
            nxt = []
            for layer in visible:
                p = os.path.join(layer, rel) if rel else layer
                try:
                    st = os.lstat(p)
                except (FileNotFoundError, NotADirectoryError):
                    continue
                if is_overlay_whiteout(st):
                    break
                if found is None:
                    found = (p, st)
                if not _stat.S_ISDIR(st.st_mode):
                    if not nxt:
                        nxt = []
                    break
                nxt.append(layer)
                if rel and is_overlay_opaque(p):
                    break
            if found is None:
                return None
            if depth < len(parts) and not _stat.S_ISDIR(found[1].st_mode):
                return None
            visible = nxt
        return found

    def resolve(self, path: str, *, follow_last: bool = True) -> str:
        """``path`` with every symlink resolved inside the image (missing tail kept)."""
        todo = [p for p in path.split("/") if p not in ("", ".")]
        done: list[str] = []
        hops = 0
        while todo:
            part = todo.pop(0)
            if part == "..":
                if done:
                    done.pop()
                continue
            hit = self._find(done + [part])
            if hit is not None and _stat.S_ISLNK(hit[1].st_mode) and (todo or follow_last):
                hops += 1
                if hops > 40:
                    raise InvalidArgument(f"too many levels of symbolic links: {path}")
                target = os.readlink(hit[0])
                if target.startswith("/"):
                    done = []
                todo = [p for p in target.split("/") if p not in ("", ".")] + todo
                continue
            done.append(part)
        return "/" + "/".join(done)

    def lookup(self, path: str, *, follow: bool = True) -> tuple[str, os.stat_result] | None:
        """(host path, lstat) of image path ``path``, symlinks followed (``follow``)."""
        real = self.resolve(path, follow_last=follow)
        return self._find([p for p in real.split("/") if p])

    def exists(self, path: str) -> bool:
        return self.lookup(path, follow=False) is not None

    def is_dir(self, path: str) -> bool:
        hit = self.lookup(path)
        return hit is not None and _stat.S_ISDIR(hit[1].st_mode)

    def read(self, path: str) -> bytes | None:
        hit = self.lookup(path)
        if hit is None or not _stat.S_ISREG(hit[1].st_mode):
            return None
        with open(hit[0], "rb") as f:
            return f.read()

    def listdir(self, path: str) -> list[str]:
        """Names in directory ``path`` (merged over the layers, whiteouts applied)."""
        from ..images.layers import is_overlay_opaque, is_overlay_whiteout
        real = self.resolve(path)
        parts = [p for p in real.split("/") if p]
        rel = "/".join(parts)
        if self._find(parts) is None:
            return []
        names: dict[str, bool] = {}
        for layer in self.top_down:
            p = os.path.join(layer, rel) if rel else layer
            try:
                st = os.lstat(p)
            except (FileNotFoundError, NotADirectoryError):
                continue
            if not _stat.S_ISDIR(st.st_mode):
                break
            for name in os.listdir(p):
                if name in names:
                    continue
                try:
                    est = os.lstat(os.path.join(p, name))
                except OSError:
                    continue
                names[name] = not is_overlay_whiteout(est)
            if rel and is_overlay_opaque(p):
                break
        return sorted(n for n, visible in names.items() if visible)

    def walk(self, path: str) -> Iterator[tuple[str, str, os.stat_result]]:
        """(sub path, host path, lstat) for ``path`` and, if a directory, all below it."""
        hit = self.lookup(path)
        if hit is None:
            return
        yield ".", hit[0], hit[1]
        if _stat.S_ISDIR(hit[1].st_mode):
            base = self.resolve(path)
            stack = [("", base)]
            while stack:
                sub, img_path = stack.pop()
                for name in self.listdir(img_path):
                    child_img = posixpath.join(img_path, name)
                    h = self.lookup(child_img, follow=False)
                    if h is None:
                        continue
                    child_sub = f"{sub}/{name}" if sub else name
                    yield child_sub, h[0], h[1]
                    if _stat.S_ISDIR(h[1].st_mode):
                        stack.append((child_sub, child_img))

    def glob(self, pattern: str) -> list[str]:
        """Image paths matching a ``filepath.Match`` glob, component by component."""
        from .context import _go_match_regex, has_glob
        parts = [p for p in pattern.split("/") if p not in ("", ".")]
        found = ["/"]
        for part in parts:
            nxt = []
            for base in found:
                if not has_glob(part):
                    cand = posixpath.join(base, part)
                    if self.exists(cand):
                        nxt.append(cand)
                    continue
                rx = _go_match_regex(part)
                nxt.extend(posixpath.join(base, n) for n in self.listdir(base)
                           if rx.fullmatch(n))
            found = nxt
        return found


def _lookup_id(view: ImageView, db: str, name: str) -> tuple[int, int] | None:
    """(id, primary gid) of ``name`` in the image's /etc/passwd (or group) file."""
    data = view.read(db)
    if data is None:
        return None
    for line in data.decode("utf-8", "replace").splitlines():
        f = line.split(":")
        if len(f) >= 3 and f[0] == name:
            try:
                return int(f[2]), int(f[3]) if db == "/etc/passwd" and len(f) > 3 else int(f[2])
            except ValueError:
                return None
    return None


def resolve_chown(view: ImageView, spec: str, where: D.Instruction) -> tuple[int, int]:
    """``--chown=user[:group]`` → (uid, gid), names looked up in the image's files.

    Docker's rule: a missing group means the group named like the user (``--chown=10``
    is ``10:10``, ``--chown=bin`` is ``bin:bin``)."""
    user, _, group = spec.partition(":")
    group = group or user

    def one(value: str, db: str, what: str) -> int:
        if value.isdigit():
            return int(value)
        hit = _lookup_id(view, db, value)
        if hit is None:
            raise where.error(f"unable to convert {what} {value!r} to an id for --chown: no "
                              f"matching entries in {db} of the image (use numeric ids, or "
                              f"create the {what} first)")
        return hit[0]
    if not user:
        raise where.error(f"--chown={spec}: a user is required (user[:group])")
    return one(user, "/etc/passwd", "user"), one(group, "/etc/group", "group")


# ---------------------------------------------------------------------------------------
# Writing a COPY/ADD layer
# ---------------------------------------------------------------------------------------

class _LayerWriter:
    """Builds a layer directory: the files a COPY/ADD adds, at their image paths.

    Parent directories that already exist in the image are created with the image's
    metadata (so the layer does not change them); new ones are 0755 and owned by the
    ``--chown`` owner (root otherwise). Directory mtimes are restored at :meth:`finish`.

    Rootless, the user may not ``chown`` on the host: files the user writes belong to
    the user, which *is* container root (uid 0 in the id map, so the layer's tar says
    0:0). Any other owner is recorded in :attr:`owners` — container ids, as
    :func:`glassbox.rootless.ownership.restore` sets them through the id map.
    """

    def __init__(self, root: str, view: ImageView, owner: tuple[int, int] | None,
                 chmod: int | None):
        self.root, self.view, self.owner, self.chmod = root, view, owner, chmod
        self._dir_times: list[tuple[str, int, int]] = []
        self.rootless = os.geteuid() != 0
        self.owners: list[tuple[str, int, int]] = []

    def _own(self, hp: str, uid: int, gid: int) -> None:
        if not self.rootless:
            os.lchown(hp, uid, gid)
        elif (uid, gid) != (0, 0):
            self.owners.append((os.path.relpath(hp, self.root), uid, gid))

    def _image_owner(self, st: os.stat_result) -> tuple[int, int]:
        """The container's owner of a file of the image (rootless: host ids mapped back)."""
        if not self.rootless:
            return st.st_uid, st.st_gid
        from ..rootless.ownership import container_owner
        return container_owner(st)

    def host(self, image_path: str) -> str:
        return os.path.join(self.root, image_path.lstrip("/"))

    def ensure_dir(self, image_path: str) -> str:
        """Make ``image_path`` (already symlink-resolved) a directory in the layer."""
        parts = [p for p in image_path.split("/") if p]
        cur = ""
        for part in parts:
            cur = f"{cur}/{part}"
            hp = self.host(cur)
            if os.path.isdir(hp) and not os.path.islink(hp):
                continue
            if os.path.lexists(hp):
                _remove(hp)
            hit = self.view.lookup(cur, follow=False)
            if hit is not None and _stat.S_ISDIR(hit[1].st_mode):
                st = hit[1]
                os.mkdir(hp)
                os.chmod(hp, _stat.S_IMODE(st.st_mode))
                self._own(hp, *self._image_owner(st))
                self._dir_times.append((hp, st.st_atime_ns, st.st_mtime_ns))
            else:
                os.mkdir(hp)
                os.chmod(hp, self.chmod if self.chmod is not None else 0o755)
                self._own(hp, *(self.owner or (0, 0)))
        return self.host(image_path)

    def _meta(self, hp: str, st: os.stat_result, *, is_link: bool = False) -> None:
        self._own(hp, *(self.owner or (0, 0)))
        if not is_link:
            os.chmod(hp, self.chmod if self.chmod is not None else _stat.S_IMODE(st.st_mode))
        os.utime(hp, ns=(st.st_atime_ns, st.st_mtime_ns), follow_symlinks=not is_link)

    def put(self, image_path: str, src: str, st: os.stat_result) -> None:
        """Copy one entry (file, directory, symlink) from host path ``src``."""
        hp = self.host(image_path)
        self.ensure_dir(posixpath.dirname(image_path))
        mode = st.st_mode
        if _stat.S_ISDIR(mode):
            if not (os.path.isdir(hp) and not os.path.islink(hp)):
                if os.path.lexists(hp):
                    _remove(hp)
                os.mkdir(hp)
            self._meta(hp, st)
            self._dir_times.append((hp, st.st_atime_ns, st.st_mtime_ns))
            return
        if os.path.lexists(hp):
            _remove(hp)
        if _stat.S_ISLNK(mode):
            os.symlink(os.readlink(src), hp)
            self._meta(hp, st, is_link=True)
        elif _stat.S_ISREG(mode):
            shutil.copyfile(src, hp, follow_symlinks=False)
            self._meta(hp, st)
        # sockets, fifos, devices: not copied (Docker's COPY skips them too)

    def put_bytes(self, image_path: str, data: bytes, mode: int = 0o644,
                  mtime_ns: int | None = None) -> None:
        hp = self.host(image_path)
        self.ensure_dir(posixpath.dirname(image_path))
        if os.path.lexists(hp):
            _remove(hp)
        with open(hp, "wb") as f:
            f.write(data)
        uid, gid = self.owner or (0, 0)
        os.lchown(hp, uid, gid)
        os.chmod(hp, self.chmod if self.chmod is not None else mode)
        if mtime_ns is not None:
            os.utime(hp, ns=(mtime_ns, mtime_ns))

    def finish(self) -> None:
        for hp, atime, mtime in reversed(self._dir_times):
            with contextlib.suppress(OSError):
                os.utime(hp, ns=(atime, mtime))


def _remove(path: str) -> None:
    if os.path.isdir(path) and not os.path.islink(path):
        shutil.rmtree(path)
    else:
        os.unlink(path)


def _is_archive(path: str) -> bool:
    """Is the file a tar (plain, gzip, bzip2, xz)? ADD unpacks those."""
    from ..images.compression import open_decompressed
    from .context import _tar_checksum_ok
    try:
        with open(path, "rb") as f:
            head = f.read(6)
            f.seek(0)
            from ..images.compression import sniff_compression
            comp = sniff_compression(head)
            if comp == "zstd":
                return False  # Docker's ADD does not unpack zstd either
            stream = open_decompressed(f, "auto") if comp else f
            block = stream.read(512)
    except Exception:  # noqa: BLE001 (a corrupt .gz is copied as a file, as Docker)
        return False
    return len(block) == 512 and (block[257:262] == b"ustar" or _tar_checksum_ok(block))


def _strip_runtime_stubs(upper: str, view: ImageView) -> None:
    """Drop what the runtime created as mount points in a RUN's upper dir (the empty
    /etc/hosts, /etc/hostname, /etc/resolv.conf, /proc, /sys, /dev) — Docker keeps these
    in its "init layer", so a RUN layer never carries them."""
    from ..images.layers import is_overlay_opaque
    for rel in _RUNTIME_STUB_FILES:
        p = os.path.join(upper, rel)
        try:
            st = os.lstat(p)
        except OSError:
            continue
        if _stat.S_ISREG(st.st_mode) and st.st_size == 0 and not view.exists("/" + rel):
            os.unlink(p)
    for rel in _RUNTIME_STUB_DIRS:
        p = os.path.join(upper, rel)
        try:
            st = os.lstat(p)
            if not _stat.S_ISDIR(st.st_mode) or os.listdir(p) or is_overlay_opaque(p):
                continue
        except OSError:
            continue
        lower = view.lookup("/" + rel, follow=False)
        if lower is None or (_stat.S_ISDIR(lower[1].st_mode)
                             and _stat.S_IMODE(lower[1].st_mode) == _stat.S_IMODE(st.st_mode)
                             and (lower[1].st_uid, lower[1].st_gid) == (st.st_uid, st.st_gid)):
            with contextlib.suppress(OSError):
                os.rmdir(p)


# ---------------------------------------------------------------------------------------
# The builder
# ---------------------------------------------------------------------------------------

def _now() -> str:
    from ..containers.manager import now_iso
    return now_iso()


def _scratch_config() -> dict:
    from ..images.manifest import host_platform
    from ..runtime.spec import DEFAULT_PATH
    plat = host_platform()
    cfg = {"architecture": plat["architecture"], "os": plat.get("os", "linux"),
           "config": {"Env": [f"PATH={DEFAULT_PATH}"]},
           "rootfs": {"type": "layers", "diff_ids": []}, "history": []}
    if plat.get("variant"):
        cfg["variant"] = plat["variant"]
    return cfg


def _set_env(env: list[str] | None, key: str, value: str) -> list[str]:
    out = list(env or [])
    for i, item in enumerate(out):
        if item.partition("=")[0] == key:
            out[i] = f"{key}={value}"
            return out
    out.append(f"{key}={value}")
    return out


def _expose_ports(ports: list[str]) -> list[str]:
    """``80 443/tcp 8000-8002/udp`` → Docker's keys ``80/tcp`` … (ranges expanded)."""
    out = []
    for p in ports:
        port, _, proto = p.partition("/")
        proto = (proto or "tcp").lower()
        lo, dash, hi = port.partition("-")
        if dash and lo.isdigit() and hi.isdigit() and int(hi) >= int(lo) \
                and int(hi) - int(lo) < 65536:
            out.extend(f"{n}/{proto}" for n in range(int(lo), int(hi) + 1))
        else:
            out.append(f"{port}/{proto}")
    return out


def _run_script(inst: D.Run) -> str:
    """The shell script of a shell-form RUN, heredocs included (BuildKit's rule: a lone
    ``<<EOF`` runs the body as the script; otherwise the bodies follow the command)."""
    command = " ".join(inst.command)
    if not inst.heredocs:
        return command
    words = command.split()
    if len(words) == 1 and len(inst.heredocs) == 1 and words[0].lstrip("0123456789") \
            .startswith("<<"):
        return inst.heredocs[0].content
    text = command
    for hd in inst.heredocs:
        text += "\n" + hd.content + hd.name
    return text + "\n"


@dataclass
class _StageState:
    """Where a stage is: its current image (None: scratch, nothing committed yet) and
    the config the next step starts from."""

    stage: D.Stage
    image: object | None
    cfg: dict
    layers: list = field(default_factory=list)
    cmd_set: bool = False

    @property
    def cc(self) -> dict:
        return self.cfg.setdefault("config", {}) or {}

    @property
    def shell(self) -> list[str]:
        return list(self.cc.get("Shell") or DEFAULT_SHELL)

    @property
    def parent_id(self) -> str | None:
        return getattr(self.image, "id", None)


#: ``resolve_network``'s answer for the default: the default bridge when it can be made
DEFAULT_NETWORK = "default"


def resolve_network(root: str, mode: str | None) -> str:
    """A build's ``network`` → the RUN containers' network mode: ``"default"`` (the
    default bridge, or an isolated namespace when it cannot be made: see
    :meth:`_Job.default_network`), ``"none"``, ``"bridge"``, ``"host"`` or a user
    network's name. Refuses, naming it, what cannot work — before any step."""
    mode = (mode or "").strip()
    if mode in ("", DEFAULT_NETWORK):
        return DEFAULT_NETWORK
    if mode in ("none", "bridge"):
        return mode
    if mode == "host":
        if os.geteuid() != 0:
            raise InvalidArgument("build --network host is not available rootless: the "
                                  "host's network namespace belongs to root; use --network "
                                  "default (the bridge), a user network or none")
        return "host"
    if mode.startswith("container:"):
        raise InvalidArgument(f"build --network {mode}: a build cannot join another "
                              "container's network; use default, none, bridge, host or a "
                              "user network")
    from ..network.store import NetworkStore    # JSON only: no netlink here
    nets = NetworkStore(root).all()
    found = [n for n in nets if n.name == mode] or [n for n in nets if n.id.startswith(mode)]
    if len(found) != 1:
        raise InvalidArgument(f"build --network {mode}: no such network (use default, none, "
                              "bridge, host or a network from `glassbox network ls`)")
    return found[0].name


def check_extra_hosts(hosts) -> None:
    """``--add-host`` values (``name:ip``, ``name=ip`` or ``name:host-gateway``): a bad
    one is refused by name, with docker's words."""
    if hosts:
        from ..network.dns import check_add_host
        for h in hosts:
            check_add_host(h)


class Builder:
    """``docker build`` on this engine (see the module docstring)."""

    def __init__(self, engine):
        self.engine = engine
        self.cache = BuildCache(engine.root)

    def check_options(self, *, network: str | None = None, extra_hosts=()) -> None:
        """Check a build's network and extra hosts without building (the daemon asks
        before it answers, so a bad one is a 400 rather than an error in the stream)."""
        resolve_network(self.engine.root, network)
        check_extra_hosts(extra_hosts)

    def build(self, context, *, dockerfile: str = "Dockerfile",
              dockerfile_text: str | bytes | None = None, tags=(),
              build_args: dict | None = None, target: str | None = None,
              no_cache: bool = False, cache_from=(), labels: dict | None = None,
              progress: Callable[[dict], None] | None = None, pull: bool = False,
              network: str | None = None, extra_hosts=()):
        """Build and return the :class:`~glassbox.images.store.Image`.

        ``context``: a directory path, a binary stream holding a tar (plain or
        compressed) or a bare Dockerfile (``glassbox build - < ctx.tar``), or a
        :class:`~glassbox.build.context.BuildContext`. ``dockerfile`` is its path in the
        context (or ``dockerfile_text`` gives the text directly). ``tags`` are applied
        to the final image only after every step succeeded. ``network`` is the RUN
        steps' network and ``extra_hosts`` (``"name:ip"``) their extra ``/etc/hosts``
        lines (see the module docstring); ``cache_from``: image references.
        """
        job = _Job(self, context, dockerfile=dockerfile, dockerfile_text=dockerfile_text,
                   tags=tags, build_args=dict(build_args or {}), target=target,
                   no_cache=no_cache, cache_from=cache_from, labels=dict(labels or {}),
                   progress=progress, pull=pull, network=network, extra_hosts=extra_hosts)
        return job.run()


class _Job:
    """One build: the state shared by its steps."""

    def __init__(self, builder: Builder, context, *, dockerfile, dockerfile_text, tags,
                 build_args, target, no_cache, cache_from, labels, progress, pull, network,
                 extra_hosts=()):
        self.builder, self.eng = builder, builder.engine
        self.images, self.cache = self.eng.images, builder.cache
        self.context_arg, self.dockerfile = context, dockerfile or "Dockerfile"
        self.dockerfile_text = dockerfile_text
        self.tags, self.build_args, self.target = list(tags or ()), build_args, target
        self.no_cache, self.cache_from_refs = no_cache, list(cache_from or ())
        self.labels, self.progress, self.pull, self.network = labels, progress, pull, network
        self.extra_hosts = [str(h) for h in extra_hosts or ()]
        self.run_network = DEFAULT_NETWORK   # what RUN gets: resolve_network()
        self._default_network: str | None = None   # default_network(), found out once
        self.ctx = None
        self.built: dict[int, object] = {}
        self.index = 0
        self.total = 0
        self.cache_from: list = []          # the --cache-from images this stage may use
        self.cache_from_all: list = []      # all of them (each stage starts with these)
        self.tmp_root = os.path.join(self.eng.root, "build-tmp")

    # -- events ---------------------------------------------------------------------------
    def emit(self, event: dict) -> None:
        if self.progress is not None:
            self.progress(event)

    def warn(self, text: str) -> None:
        self.emit({"type": "warning", "text": text})

    def default_network(self) -> str:
        """What ``default`` means for this build's RUN steps, found out at the first
        RUN that needs it: ``"bridge"`` once the default bridge is there (made now if
        it is missing), else ``"none"`` — an isolated network namespace and a warning
        naming why, rather than a failed build (Docker has its ``docker0`` always;
        a sandbox without ``CAP_NET_ADMIN`` cannot make ours)."""
        if self._default_network is None:
            from ..network.manager import NetworkManager
            try:
                NetworkManager(self.eng.root).ensure_default()
                self._default_network = "bridge"
            except (GlassboxError, OSError) as e:
                self._default_network = "none"
                self.warn(f"the default bridge network is not available ({e}): the RUN "
                          "steps run in an isolated network namespace, as with --network "
                          "none")
        return self._default_network

    # -- the whole build ------------------------------------------------------------------
    def run(self):
        from ..images.reference import parse as parse_ref
        for t in self.tags:
            try:
                r = parse_ref(t)
            except InvalidArgument as e:
                raise InvalidArgument(f"invalid tag {t!r}: {e}") from None
            if r.digest:
                raise InvalidArgument(f"invalid tag {t!r}: a tag cannot carry a digest")
        self.run_network = resolve_network(self.eng.root, self.network)
        check_extra_hosts(self.extra_hosts)   # a bad one: refused before anything runs
        self.ctx, owned = self._open_context()
        from . import context as _context
        memo = FileHashMemo(self.eng.root)
        known = memo.load()
        _context._HASH_CACHE.update(known)
        try:
            with self.images.lease():
                return self._run()
        finally:
            if owned:
                self.ctx.close()
            if not owned:  # a tar context is extracted afresh each time: nothing to keep
                prefix = str(self.ctx.root) + os.sep
                new = {k: v for k, v in _context._HASH_CACHE.items()
                       if k not in known and str(k[0]).startswith(prefix)}
                if new:
                    with contextlib.suppress(OSError):
                        memo.save({**known, **new})

    def _open_context(self):
        from .context import BuildContext
        c = self.context_arg
        if isinstance(c, BuildContext):
            return c, False
        if isinstance(c, (bytes, bytearray)):
            c = io.BytesIO(bytes(c))
        if hasattr(c, "read"):
            return BuildContext.from_stream(c, dockerfile=self.dockerfile,
                                            tmp_dir=self._tmp_dir()), True
        path = os.fspath(c)
        if os.path.isfile(path):
            with open(path, "rb") as f:
                return BuildContext.from_stream(f, dockerfile=self.dockerfile,
                                                tmp_dir=self._tmp_dir()), True
        if not os.path.isdir(path):
            raise BuildError(f"unable to prepare context: path {path!r} not found",
                             file=self.dockerfile)
        return BuildContext.from_dir(path, dockerfile=self.dockerfile), False

    def _tmp_dir(self) -> str:
        os.makedirs(self.tmp_root, mode=0o700, exist_ok=True)
        return self.tmp_root

    def _read_dockerfile(self) -> D.Dockerfile:
        text = self.dockerfile_text
        name = self.dockerfile
        if text is None:
            if os.path.isabs(name) and os.path.isfile(name):
                with open(name, "rb") as f:
                    text = f.read()
                name = os.path.basename(name)
            else:
                text = self.ctx.read_dockerfile(name)
        return D.parse(text, filename=name)

    def _run(self):
        df = self._read_dockerfile()
        self.df = df
        for w in df.warnings:
            self.warn(f"{df.filename}:{w}")
        goal = D.stage_for_target(df, self.target)
        needed = D.stages_needed(df, self.target, self.build_args)
        self.sub = D.Substituter.for_dockerfile(df, self.build_args)
        self.total = sum(1 + len(s.instructions) for s in needed) + (1 if self.labels else 0)
        for s in df.stages:
            if all(s is not n for n in needed):
                self.emit({"type": "skip", "stage": s.ref})
        self._load_cache_from()
        final = None
        for st in needed:
            final = self._build_stage(st, is_goal=st is goal)
            self.built[st.index] = final
        if final is None:
            raise BuildError("No image was generated: the target stage is FROM scratch with "
                             "nothing in it. Is your Dockerfile empty?", file=df.filename)
        unused = D.unused_build_args(df, self.build_args, needed)
        msg = D.unused_build_args_warning(unused)
        if msg:
            self.warn(msg)
        for t in self.tags:
            self.images.tag(final.id, t)
            self.emit({"type": "tag", "tag": t})
        if self.tags:
            final = self.images.resolve(final.id)
        self.emit({"type": "done", "image_id": final.id})
        return final

    def _load_cache_from(self) -> None:
        for ref in self.cache_from_refs:
            try:
                self.cache_from_all.append(self.images.resolve(ref))
            except NotFound:
                self.warn(f"--cache-from {ref}: no such image in the store (pull it first); "
                          "ignored")

    # -- one stage ------------------------------------------------------------------------
    def _base(self, frm: D.From):
        """The image a FROM names: an earlier stage, scratch, or an image in the store."""
        ref = frm.image
        low = ref.lower()
        for s in self.df.stages:
            if s.index >= self._stage.index:
                break
            if s.name == low:
                return self.built[s.index]
        if low == "scratch":
            return None
        if self.pull:
            self._pull(ref, frm, required=True)
        try:
            return self.images.resolve(ref)
        except NotFound:
            pass
        except InvalidArgument as e:
            raise frm.error(f"invalid base image reference {ref!r}: {e}") from None
        self._pull(ref, frm, required=False)
        try:
            return self.images.resolve(ref)
        except NotFound:
            raise frm.error(f"base image {ref!r} not found in the store and it could not be "
                            f"pulled: run `glassbox pull {ref}` (or `glassbox load`) first, "
                            "or check the name") from None

    def _pull(self, ref: str, frm: D.From, *, required: bool) -> None:
        try:
            registry = self.eng.registry
            pull = registry.pull
        except Exception:  # noqa: BLE001 (no registry client in this engine)
            if required:
                raise frm.error("--pull: this engine has no registry client") from None
            return
        self.emit({"type": "log", "text": f"Pulling {ref}...\n"})
        try:
            pull(ref)
        except GlassboxError as e:
            if required:
                raise frm.error(f"pulling {ref} failed: {e}") from None
            self.warn(f"pulling {ref} failed: {e}")

    def _build_stage(self, stage: D.Stage, *, is_goal: bool):
        self._stage = stage
        self.cache_from = list(self.cache_from_all)
        frm = self.sub.expand_from(stage.from_)
        self.index += 1
        self.emit({"type": "step", "index": self.index, "total": self.total,
                   "stage": stage.ref, "instruction": stage.from_.original, "cached": False})
        base = self._base(frm)
        if base is None:
            cfg = _scratch_config()
        else:
            cfg = copy.deepcopy(base.config)
            for k in ("container", "container_config", "docker_version"):
                cfg.pop(k, None)
            self.emit({"type": "result", "index": self.index, "image_id": base.id})
        cc = dict(cfg.get("config") or {})
        triggers = list(cc.pop("OnBuild", None) or [])
        cfg["config"] = cc
        state = _StageState(stage, base, cfg, list(getattr(base, "layers", ()) or ()))
        scope = self.sub.stage(cc.get("Env") or [])
        for n, expr in enumerate(self._parse_triggers(triggers, stage.from_, base)):
            if n == 0:
                self.emit({"type": "log", "text": f"# Executing {len(triggers)} build "
                           f"trigger{'s' if len(triggers) != 1 else ''}\n"})
            self._step(state, expr, scope, trigger=True)
        insts = list(stage.instructions)
        if is_goal and self.labels:
            pairs = sorted(self.labels.items())
            text = "LABEL " + " ".join(f"{k}={json.dumps(v)}" for k, v in pairs)
            esc = self.df.escape
            insts.append(D.Label(cmd="LABEL", pairs=[(_dollar_escape(k, esc),
                                                      _dollar_escape(v, esc)) for k, v in pairs],
                                 original=text, line=0, file=self.df.filename))
        for inst in insts:
            self.index += 1
            self._step(state, inst, scope)
        return state.image

    def _parse_triggers(self, triggers: list[str], frm: D.From, base) -> list[D.Instruction]:
        out = []
        for expr in triggers:
            try:
                df = D.parse(f"FROM scratch\n{expr}\n", filename=self.df.filename)
                insts = df.stages[0].instructions
            except BuildError as e:
                raise frm.error(f"ONBUILD trigger {expr!r} of the base image is invalid: "
                                f"{e.message.splitlines()[0]}") from None
            for inst in insts:
                inst.line, inst.end_line, inst.original = frm.line, frm.line, expr
                out.append(inst)
        return out

    # -- one step -------------------------------------------------------------------------
    def _step(self, state: _StageState, raw: D.Instruction, scope: D.StageScope, *,
              trigger: bool = False) -> None:
        announced = False

        def announce(cached: bool) -> None:
            nonlocal announced
            if not announced:
                announced = True
                ev = {"type": "step", "index": self.index, "total": self.total,
                      "stage": state.stage.ref, "instruction": raw.original, "cached": cached}
                if trigger:
                    ev["trigger"] = True
                self.emit(ev)
        for note in raw.notes:
            self.warn(f"{raw.file}:{raw.line}: {note}")
        try:
            inst = scope.apply(raw)
            plan = self._plan(state, inst, scope)
            key = cache_key(state.parent_id, plan.key_text, plan.args, plan.checksum)
            cfg = self._next_config(state, plan)
            image = None if self.no_cache else self._cached(state, key, plan, cfg)
            announce(image is not None)
            if image is None:
                layer = plan.make_layer() if plan.make_layer else None
                if layer is not None:
                    self._emit_layer(layer)
                image = self._commit(state, cfg, plan.created_by, layer)
                self.cache.put(key, image.id, parent=state.parent_id or "",
                               created_by=plan.created_by)
        except BuildError:
            announce(False)
            raise
        finally:
            if getattr(self, "_plan_tmp", None):
                shutil.rmtree(self._plan_tmp, ignore_errors=True)
                self._plan_tmp = None
        state.image = image
        state.cfg = copy.deepcopy(image.config)
        state.layers = list(image.layers)
        if isinstance(inst, D.Cmd):
            state.cmd_set = True
        self.emit({"type": "result", "index": self.index, "image_id": image.id})

    def _emit_layer(self, layer) -> None:
        try:
            size = int(self.images.layer_meta(layer.diff_id).get("size") or 0)
        except NotFound:
            size = 0
        self.emit({"type": "layer", "diff_id": layer.diff_id, "size": size})

    def _cached(self, state: _StageState, key: str, plan: "_Plan", cfg: dict):
        hit = self.cache.get(key)
        if hit is not None:
            try:
                return self.images.resolve(hit)
            except NotFound:
                self.cache.forget(key)
        if not self.cache_from:
            return None
        m = match_cache_from(state.cfg if state.image is not None else None,
                             plan.created_by, plan.make_layer is None, self.cache_from)
        if m is None:
            return None
        self.cache_from = [m.source]   # as Docker: the stage's next steps follow this one
        layer = m.source.layers[m.layer_index] if m.layer_index is not None else None
        image = self._commit(state, cfg, plan.created_by, layer, history=m.history)
        self.cache.put(key, image.id, parent=state.parent_id or "",
                       created_by=plan.created_by, cache_from=m.source.id)
        return image

    def _next_config(self, state: _StageState, plan: "_Plan") -> dict:
        cfg = copy.deepcopy(state.cfg)
        cfg["config"] = dict(cfg.get("config") or {})
        if plan.change:
            plan.change(cfg)
        return cfg

    def _commit(self, state: _StageState, cfg: dict, created_by: str, layer,
                history: dict | None = None):
        cfg = copy.deepcopy(cfg)
        now = _now()
        entry = dict(history) if history else {"created": now, "created_by": created_by}
        # a step restored from --cache-from keeps the source's time: same config, same id
        cfg["created"] = entry.get("created") or now
        if layer is None:
            entry["empty_layer"] = True
        else:
            entry.pop("empty_layer", None)
        cfg["history"] = list(cfg.get("history") or []) + [entry]
        layers = list(state.layers) + ([layer] if layer is not None else [])
        cfg["rootfs"] = {"type": "layers", "diff_ids": [l.diff_id for l in layers]}
        if not cfg.get("config"):
            cfg["config"] = {}
        return self.images.put_image(cfg, layers)

    # -- what each instruction does -------------------------------------------------------
    def _plan(self, state: _StageState, inst: D.Instruction, scope: D.StageScope) -> "_Plan":
        nop = " ".join(state.shell) + " #(nop) "
        if isinstance(inst, D.Run):
            return self._plan_run(state, inst, scope)
        if isinstance(inst, D.Copy):
            return self._plan_copy(state, inst, scope, nop)
        text = _canonical(inst)
        change = _CHANGES.get(type(inst))
        if change is None:
            raise inst.error(f"{inst.cmd} is not supported by the builder")
        return _Plan(key_text=text, created_by=nop + " " + text,
                     change=lambda cfg: change(self, state, inst, cfg))

    def _plan_run(self, state: _StageState, inst: D.Run, scope: D.StageScope) -> "_Plan":
        if inst.mounts:
            raise inst.error("RUN --mount needs BuildKit; glassbox builds like Docker's "
                             "classic builder: COPY the files in a step before instead")
        if inst.security and inst.security != "sandbox":
            raise inst.error(f"RUN --security={inst.security} is not supported")
        argv = list(inst.command) if inst.json_form else [*state.shell, _run_script(inst)]
        created_by = scope.run_history(" ".join(argv))
        if inst.network in (None, "", "default"):      # BuildKit's RUN --network=
            network = self.run_network
        elif inst.network in ("none", "host"):
            try:
                network = resolve_network(self.eng.root, inst.network)
            except InvalidArgument as e:
                raise inst.error(f"RUN --network={inst.network}: {e}") from None
        else:
            raise inst.error(f"RUN --network={inst.network} is not supported: use default, "
                             "none or host (or the build's --network for a named network)")
        return _Plan(key_text="RUN " + json.dumps(argv), args=scope.cache_args(),
                     created_by=created_by,
                     make_layer=lambda: self._run_container(state, inst, scope, argv,
                                                            network))

    def _run_container(self, state: _StageState, inst: D.Run, scope: D.StageScope,
                       argv: list[str], network: str):
        from ..containers.options import CreateOptions
        if state.image is None or not state.layers:
            raise inst.error("RUN in an empty image (FROM scratch): there is no program to "
                             "run yet — COPY one in first, or start FROM an image like "
                             "busybox")
        cmd_text = " ".join(argv)
        if network == DEFAULT_NETWORK:
            network = self.default_network()
        env = [f"{k}={v}" for k, v in scope.run_env().items()]
        opts = CreateOptions(image=state.image.id, command=argv, entrypoint=[], env=env,
                             network=network, add_hosts=list(self.extra_hosts),
                             labels={"glassbox.build": "intermediate"})
        containers = self.eng.containers
        c = containers.create(opts)
        short = c.id[:12]
        self.emit({"type": "container", "action": "start", "id": c.id})
        tail: list[str] = []
        try:
            code = self._attach(c.id, tail, inst, cmd_text)
            if code != 0:
                err = inst.error(f"The command '{cmd_text}' returned a non-zero code: {code}"
                                 + ("" if self.progress else
                                    "\n" + "".join(tail[-20:]).rstrip("\n")))
                err.command_exit_code = code
                raise err
            upper = c.config["Spec"]["upper_dir"]
            _strip_runtime_stubs(upper, ImageView(state.image.layer_dirs))
            return self.images.create_layer(upper)
        finally:
            with contextlib.suppress(NotFound):
                containers.remove(c.id, force=True)
            self.emit({"type": "container", "action": "remove", "id": c.id,
                       "short_id": short})

    def _attach(self, cid: str, tail: list[str], inst: D.Run, cmd_text: str) -> int:
        """Start the build container, stream its output as log events, return its exit."""
        import selectors
        containers = self.eng.containers
        r, w = os.pipe2(os.O_CLOEXEC)
        try:
            started = containers.start(cid, (None, w, w))
        except ContainerExit as e:
            os.close(r)
            err = inst.error(f"The command '{cmd_text}' could not be started: {e.message} "
                             f"(code {e.exit_code})")
            err.command_exit_code = e.exit_code
            raise err from None
        finally:
            os.close(w)
        decoder = codecs.getincrementaldecoder("utf-8")("replace")
        sel = selectors.DefaultSelector()
        sel.register(r, selectors.EVENT_READ)
        try:
            while True:
                sel.select()
                data = os.read(r, 65536)
                if not data:
                    break
                text = decoder.decode(data)
                if text:
                    tail.append(text)
                    del tail[:-200]
                    self.emit({"type": "log", "text": text})
            rest = decoder.decode(b"", final=True)
            if rest:
                self.emit({"type": "log", "text": rest})
        finally:
            sel.close()
            os.close(r)
        msg = started.wait_exit() or {}
        code = msg.get("exit")
        if code is None:
            code = containers.wait(cid)
        return int(code)

    # -- COPY / ADD -----------------------------------------------------------------------
    def _plan_copy(self, state: _StageState, inst: D.Copy, scope: D.StageScope,
                   nop: str) -> "_Plan":
        is_add = isinstance(inst, D.Add)
        if inst.parents or inst.exclude:
            flag = "--parents" if inst.parents else "--exclude"
            raise inst.error(f"{inst.cmd} {flag} needs BuildKit (a Dockerfile labs feature); "
                             "the classic builder does not support it")
        workdir = state.cc.get("WorkingDir") or "/"
        dest = inst.dest
        dest_is_dir = dest.endswith("/") or dest in (".", "..") or dest.endswith("/.")
        dest_abs = posixpath.normpath(posixpath.join(workdir, dest))
        chmod = None
        if inst.chmod:
            try:
                chmod = int(inst.chmod, 8)
                if not 0 <= chmod <= 0o7777:
                    raise ValueError
            except ValueError:
                raise inst.error(f"invalid --chmod={inst.chmod}: use octal permissions such "
                                 "as 755") from None
        urls = [s for s in inst.sources if s.startswith(_URL_PREFIXES)] if is_add else []
        if urls and inst.from_:
            raise inst.error("ADD --from is not allowed (COPY --from copies from a stage)")
        local = [s for s in inst.sources if s not in urls]
        n_sources = len(inst.sources) + len(inst.contents)
        if n_sources > 1 and not dest_is_dir:
            raise inst.error(f"When using {inst.cmd} with more than one source file, the "
                             "destination must be a directory and end with a /")
        digest = hashlib.sha256()
        items: list[tuple[str, str, object]] = []  # (kind, name, payload)
        kind = "multi" if n_sources > 1 else "file"
        if inst.from_:
            src_image = self._copy_from_image(state, inst)
            view = ImageView(src_image.layer_dirs if src_image is not None else ())
            digest.update(f"from\0{getattr(src_image, 'id', 'scratch')}\0".encode())
            for pat in local:
                paths = view.glob(pat) if _has_glob(pat) else \
                    ([posixpath.normpath("/" + pat)] if view.exists("/" + pat) else [])
                if not paths:
                    raise inst.error(f"{inst.cmd} --from={inst.from_} failed: stat {pat}: "
                                     "file does not exist in "
                                     f"{'stage' if self._stage_of(inst.from_) else 'image'} "
                                     f"{inst.from_}")
                for p in paths:
                    digest.update(f"path\0{p}\0".encode())
                    if n_sources == 1 and view.is_dir(p):
                        kind = "dir"
                    items.append(("image", p, view))
        else:
            if local:
                srcs = self.ctx.resolve_sources(local, dest_is_dir or len(local) > 1,
                                                cmd=inst.cmd, instruction=inst)
                if len(srcs) > 1 and not dest_is_dir:
                    raise inst.error(f"When using {inst.cmd} with more than one source file, "
                                     "the destination must be a directory and end with a /")
                digest.update(f"ctx\0{self.ctx.checksum(srcs)}\0".encode())
                for s in srcs:
                    if n_sources == 1 and len(srcs) == 1 and s.is_dir:
                        kind = "dir"
                    items.append(("context", s.rel, s))
                if len(srcs) > 1:
                    kind = "multi"
        for hd in inst.contents:
            digest.update(f"heredoc\0{hd.name}\0{hd.content}\0".encode())
            items.append(("heredoc", hd.name, hd))
        for url in urls:
            path, name = self._fetch(inst, url)
            with open(path, "rb") as f:
                digest.update(f"url\0{url}\0{hashlib.sha256(f.read()).hexdigest()}\0".encode())
            items.append(("url", name, path))
        checksum = "sha256:" + digest.hexdigest()
        flags = "".join(f"--{k}={v} " for k, v in (("from", inst.from_), ("chown", inst.chown),
                                                    ("chmod", inst.chmod)) if v)
        created_by = f"{nop}{inst.cmd} {flags}{kind}:{checksum[7:]} in {dest} "
        key_text = json.dumps([inst.cmd, inst.from_, inst.chown, inst.chmod, inst.sources,
                               [h.name for h in inst.contents], dest, workdir])
        return _Plan(key_text=key_text, created_by=created_by, checksum=checksum,
                     make_layer=lambda: self._copy_layer(state, inst, items, dest, dest_abs,
                                                         dest_is_dir, chmod))

    def _stage_of(self, ref: str):
        return D.resolve_stage_ref(self.df, ref, self._stage, self._stage.from_)

    def _copy_from_image(self, state: _StageState, inst: D.Copy):
        st = D.resolve_stage_ref(self.df, inst.from_, self._stage, inst)
        if st is not None:
            if st.index not in self.built:
                raise inst.error(f"--from={inst.from_}: stage {st.ref} is not built before "
                                 "this one (a stage can copy only from stages above it)")
            return self.built[st.index]
        try:
            return self.images.resolve(inst.from_)
        except (NotFound, InvalidArgument):
            pass
        fake = D.From(cmd="FROM", image=inst.from_, line=inst.line, original=inst.original,
                      file=inst.file)
        self._pull(inst.from_, fake, required=False)
        try:
            return self.images.resolve(inst.from_)
        except (NotFound, InvalidArgument):
            raise inst.error(f"--from={inst.from_}: no stage has that name and no such image "
                             "is in the store (pull it first, or check the stage name)"
                             ) from None

    def _fetch(self, inst: D.Copy, url: str) -> tuple[str, str]:
        """Download ``url`` for ADD into a temp file: (path, file name)."""
        import urllib.error
        import urllib.parse
        import urllib.request
        tmp = self._plan_tmpdir()
        name = posixpath.basename(urllib.parse.urlsplit(url).path) or "index.html"
        path = os.path.join(tmp, f"url-{len(os.listdir(tmp))}")
        try:
            with urllib.request.urlopen(url, timeout=30) as resp, open(path, "wb") as f:
                shutil.copyfileobj(resp, f, 1 << 20)
        except (urllib.error.URLError, OSError, ValueError) as e:
            reason = getattr(e, "reason", None) or e
            raise inst.error(f"ADD failed: cannot download {url}: {reason}. ADD of a URL needs "
                             "the network at build time (is this machine offline?): download "
                             "the file into the build context and COPY it instead") from None
        if inst.checksum if isinstance(inst, D.Add) else None:
            want = inst.checksum
            with open(path, "rb") as f:
                got = "sha256:" + hashlib.sha256(f.read()).hexdigest()
            if want != got:
                raise inst.error(f"ADD --checksum: {url} has digest {got}, expected {want}")
        return path, name

    def _plan_tmpdir(self) -> str:
        if not getattr(self, "_plan_tmp", None):
            self._plan_tmp = tempfile.mkdtemp(prefix="step-", dir=self._tmp_dir())
        return self._plan_tmp

    def _copy_layer(self, state: _StageState, inst: D.Copy, items, dest: str, dest_abs: str,
                    dest_is_dir: bool, chmod: int | None):
        is_add = isinstance(inst, D.Add)
        view = ImageView(state.image.layer_dirs if state.image is not None else ())
        owner = resolve_chown(view, inst.chown, inst) if inst.chown else None
        root = tempfile.mkdtemp(prefix="layer-", dir=self._tmp_dir())
        os.chmod(root, 0o755)
        try:
            w = _LayerWriter(root, view, owner, chmod)
            real_dest = view.resolve(dest_abs)
            into_dir = dest_is_dir or view.is_dir(dest_abs)
            for kind, name, payload in items:
                if kind == "context":
                    self._copy_context(w, payload, real_dest, into_dir, is_add, inst)
                elif kind == "image":
                    self._copy_image(w, payload, name, real_dest, into_dir)
                elif kind == "heredoc":
                    target = posixpath.join(real_dest, name) if into_dir else real_dest
                    w.put_bytes(target, payload.content.encode(), 0o644)
                elif kind == "url":
                    target = posixpath.join(real_dest, name) if into_dir else real_dest
                    with open(payload, "rb") as f:
                        w.put_bytes(target, f.read(), 0o600)
            w.finish()
            if w.owners:                # rootless: the --chown / image owners, via the id map
                from ..rootless.ownership import restore
                note = restore(root, w.owners)
                if note:
                    self.warn(note)
            return self.images.create_layer(root)
        finally:
            shutil.rmtree(root, ignore_errors=True)

    def _copy_context(self, w: _LayerWriter, src, real_dest: str, into_dir: bool,
                      is_add: bool, inst: D.Copy) -> None:
        if not src.is_dir:
            st = os.stat(src.path)
            if is_add and _is_archive(str(src.path)):
                from ..images.layers import safe_extract
                target = w.ensure_dir(real_dest)
                with open(src.path, "rb") as f:
                    try:
                        safe_extract(f, target, whiteouts="keep", compression="auto")
                    except InvalidArgument as e:
                        raise inst.error(f"ADD failed: cannot unpack {src.rel}: {e}") from None
                return
            target = posixpath.join(real_dest, posixpath.basename(src.rel)) if into_dir \
                else real_dest
            w.put(target, str(src.path), st)
            return
        w.ensure_dir(real_dest)  # the destination dir itself: kept as is, or 0755 when new
        for sub, path, st in self.ctx.entries(src):
            if sub != ".":
                w.put(posixpath.join(real_dest, sub), str(path), st)

    def _copy_image(self, w: _LayerWriter, view: ImageView, path: str, real_dest: str,
                    into_dir: bool) -> None:
        hit = view.lookup(path)
        if hit is None:
            return
        if not _stat.S_ISDIR(hit[1].st_mode):
            target = posixpath.join(real_dest, posixpath.basename(path)) if into_dir \
                else real_dest
            w.put(target, hit[0], os.stat(hit[0]))
            return
        w.ensure_dir(real_dest)
        for sub, host, st in view.walk(path):
            if sub != ".":
                w.put(posixpath.join(real_dest, sub), host, st)


@dataclass
class _Plan:
    """What a step will do: its cache key parts, its history line, how it changes the
    config (``change(cfg)``) and how it makes its layer (``make_layer()``, None for a
    metadata-only step)."""

    key_text: str
    created_by: str
    args: list[str] = field(default_factory=list)
    checksum: str | None = None
    change: Callable[[dict], None] | None = None
    make_layer: Callable[[], object] | None = None


def _has_glob(p: str) -> bool:
    from .context import has_glob
    return has_glob(p)


def _dollar_escape(v: str, escape: str = "\\") -> str:
    """Protect a --label value from $VAR expansion (it is data, not Dockerfile text)."""
    return v.replace(escape, escape * 2).replace("$", escape + "$")


def _canonical(inst: D.Instruction) -> str:
    """The instruction as its expanded words: what the cache key and history record."""
    if isinstance(inst, (D.Env, D.Label)):
        return f"{inst.cmd} " + " ".join(f"{k}={json.dumps(v) if (' ' in v or not v) else v}"
                                         for k, v in inst.pairs)
    if isinstance(inst, D.Arg):
        return "ARG " + " ".join(k if v is None else f"{k}={v}" for k, v in inst.pairs)
    if isinstance(inst, (D.Cmd, D.Entrypoint)):
        return f"{inst.cmd} " + (json.dumps(inst.command) if inst.json_form
                                 else " ".join(inst.command))
    if isinstance(inst, D.Shell):
        return "SHELL " + json.dumps(inst.shell)
    if isinstance(inst, D.Expose):
        return "EXPOSE " + " ".join(_expose_ports(inst.ports))
    if isinstance(inst, D.Volume):
        return "VOLUME " + json.dumps(inst.paths)
    if isinstance(inst, D.User):
        return f"USER {inst.user}"
    if isinstance(inst, D.Workdir):
        return f"WORKDIR {inst.path}"
    if isinstance(inst, D.Stopsignal):
        return f"STOPSIGNAL {inst.signal}"
    if isinstance(inst, D.Maintainer):
        return f"MAINTAINER {inst.maintainer}"
    if isinstance(inst, D.Onbuild):
        return f"ONBUILD {inst.expression}"
    if isinstance(inst, D.Healthcheck):
        return "HEALTHCHECK " + json.dumps(_healthcheck(inst), sort_keys=True)
    return inst.original


def _healthcheck(inst: D.Healthcheck) -> dict:
    hc = {"Test": list(inst.test)}
    for key, val in (("Interval", inst.interval), ("Timeout", inst.timeout),
                     ("StartPeriod", inst.start_period), ("StartInterval", inst.start_interval),
                     ("Retries", inst.retries)):
        if val:
            hc[key] = val
    return hc


# -- config changes of the metadata-only instructions: (job, state, inst, cfg) -> None ---

def _c_env(job, state, inst, cfg):
    cc = cfg["config"]
    for k, v in inst.pairs:
        cc["Env"] = _set_env(cc.get("Env"), k, v)


def _c_label(job, state, inst, cfg):
    cc = cfg["config"]
    labels = dict(cc.get("Labels") or {})
    labels.update(inst.pairs)
    cc["Labels"] = labels


def _c_arg(job, state, inst, cfg):
    pass  # the scope already recorded it; the history line is the whole effect


def _c_cmd(job, state, inst, cfg):
    cfg["config"]["Cmd"] = inst.argv(state.shell)


def _c_entrypoint(job, state, inst, cfg):
    cc = cfg["config"]
    cc["Entrypoint"] = inst.argv(state.shell)
    if not state.cmd_set:
        cc["Cmd"] = None  # Docker: ENTRYPOINT resets a CMD inherited from the base image


def _c_shell(job, state, inst, cfg):
    cfg["config"]["Shell"] = list(inst.shell)


def _c_expose(job, state, inst, cfg):
    cc = cfg["config"]
    ports = dict(cc.get("ExposedPorts") or {})
    for p in _expose_ports(inst.ports):
        ports[p] = {}
    cc["ExposedPorts"] = ports


def _c_volume(job, state, inst, cfg):
    cc = cfg["config"]
    vols = dict(cc.get("Volumes") or {})
    for p in inst.paths:
        vols[p] = {}
    cc["Volumes"] = vols


def _c_user(job, state, inst, cfg):
    cfg["config"]["User"] = inst.user


def _c_workdir(job, state, inst, cfg):
    cc = cfg["config"]
    cc["WorkingDir"] = posixpath.normpath(posixpath.join(cc.get("WorkingDir") or "/",
                                                         inst.path))


def _c_stopsignal(job, state, inst, cfg):
    cfg["config"]["StopSignal"] = inst.signal


def _c_maintainer(job, state, inst, cfg):
    cfg["author"] = inst.maintainer


def _c_onbuild(job, state, inst, cfg):
    cc = cfg["config"]
    cc["OnBuild"] = list(cc.get("OnBuild") or []) + [inst.expression]


def _c_healthcheck(job, state, inst, cfg):
    cfg["config"]["Healthcheck"] = _healthcheck(inst)


_CHANGES = {D.Env: _c_env, D.Label: _c_label, D.Arg: _c_arg, D.Cmd: _c_cmd,
            D.Entrypoint: _c_entrypoint, D.Shell: _c_shell, D.Expose: _c_expose,
            D.Volume: _c_volume, D.User: _c_user, D.Workdir: _c_workdir,
            D.Stopsignal: _c_stopsignal, D.Maintainer: _c_maintainer, D.Onbuild: _c_onbuild,
            D.Healthcheck: _c_healthcheck}
