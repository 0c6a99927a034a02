"""Copying files into and out of a container (``cp``, ``export``), resolved inside its root.

``docker cp`` names a path *as the container sees it*. The container's files are
untrusted: a process inside can make ``/data`` a symlink to ``/etc`` — or to
``../../..`` — and swap it back and forth while ``cp`` runs (moby CVE-2018-15664).
A copier that turns the container path into a host path string and opens that
would follow the link on the host. So nothing here ever opens a path string below
the container's root: every path is walked **one component at a time from a
directory fd of the container's root** (:func:`resolve`):

* each component is opened ``O_PATH | O_NOFOLLOW`` relative to the fd of its parent,
  so a symlink is seen as a symlink, never followed by the kernel;
* a symlink's text (read from its own fd) is resolved again *inside* the root: an
  absolute target restarts at the root's fd, ``..`` pops the stack of directory fds
  the walk came through and stops at the root — the kernel's ``RESOLVE_IN_ROOT``
  (``openat2``), done in user space so it also runs where ``openat2`` is missing;
* archive members are written relative to the fd of the resolved directory with
  the layer extractor (:mod:`glassbox.images.layers`), which never writes through a
  symlink either; member names with ``..`` and symlinks that climb out of the
  extraction directory are refused (400), as Docker refuses them.

A swap that lands between two steps only changes *which* file inside the container
is copied — never whether the host is reached.

The container root
    A running container's root is ``/proc/<pid>/root``: its overlay with every volume,
    bind and tmpfs mounted where the container sees them — so ``cp`` writes into the
    R/W layer, or into the volume mounted under the path, exactly as the container
    would (the container's own ``/proc``, ``/sys`` and ``/dev`` are not copied). A
    stopped container has no mounts: a short helper process (:func:`helper_main`)
    makes a private mount namespace, mounts the overlay (read-only if the container
    is ``--read-only``) and its volumes there, does the copy and exits — its mounts
    vanish with it.

Docker's path rules (moby ``daemon/archive.go``)
    * ``GET``/``HEAD``: the last component is not followed unless the path ends in
      ``/`` or ``/.``; the archive's entries are named after the path's last
      component (``.`` for ``dir/.``: the directory's contents);
    * ``PUT``: the path is followed to the end and must be a directory (the
      extraction point); ``noOverwriteDirNonDir`` refuses to replace a directory by
      a non-directory or the reverse; ``copyUIDGID`` gives the files the container
      user's uid/gid instead of the archive's;
    * the stat header ``X-Docker-Container-Path-Stat`` is base64 JSON ``{name, size,
      mode, mtime, linkTarget}`` with ``mode`` in Go's ``os.FileMode`` bits.

Notebook: ``notebooks/en/06-read-write-layer.ipynb`` (the R/W layer ``cp`` writes into).
"""

from __future__ import annotations

import errno
import os
import stat
import tarfile

from .. import processes
from ..errors import Conflict, GlassboxError, InvalidArgument, NotFound

MAX_SYMLINKS = 40                      # the kernel's limit for one path walk
_PATH = os.O_PATH | os.O_NOFOLLOW | os.O_CLOEXEC
CHUNK = 1 << 20
#: the container's kernel-made mounts: listed as (empty) directories, never walked
SPECIAL_DIRS = ("proc", "sys", "dev")

# Go's os.FileMode type bits (what the docker CLI decodes from the stat header)
GO_MODE_DIR = 1 << 31
GO_MODE_SYMLINK = 1 << 27
GO_MODE_DEVICE = 1 << 26
GO_MODE_PIPE = 1 << 25
GO_MODE_SOCKET = 1 << 24
GO_MODE_SETUID = 1 << 23
GO_MODE_SETGID = 1 << 22
GO_MODE_CHARDEV = 1 << 21
GO_MODE_STICKY = 1 << 20


# ---- pure path rules ------------------------------------------------------------------
def components(path: str) -> list[str]:
    """``/a//b/./c/..`` -> ``["a", "b", "c", ".."]``: ``..`` kept (it is resolved
    against the walk, not lexically: ``link/..`` is the link target's parent)."""
    return [p for p in str(path).split("/") if p not in ("", ".")]


def follows_last(path: str) -> bool:
    """Docker: a path ending in ``/`` or ``/.`` means the thing the last component
    points to (a symlink is followed), else the last component itself."""
    return path.endswith("/") or path.endswith("/.") or path == "."


def abs_path(path: str) -> str:
    """The container path as Docker cleans it, the trailing ``/`` or ``/.`` kept."""
    if not isinstance(path, str) or not path:
        raise InvalidArgument("a container path is required (e.g. /etc/hostname)")
    if "\0" in path:
        raise InvalidArgument("the container path contains a NUL byte")
    clean = os.path.normpath("/" + path)
    clean = "/" + clean.lstrip("/")
    if path.endswith("/.") and clean != "/":
        return clean + "/."
    if path.endswith("/") and clean != "/":
        return clean + "/"
    return clean


def rebase_name(path: str) -> str:
    """The name an archive's top entry gets: the path's last component, ``.`` for
    ``dir/.`` (then the entries are the directory's contents)."""
    p = abs_path(path)
    if p.endswith("/.") or p == "/":
        return "."
    return os.path.basename(p.rstrip("/"))


def go_file_mode(mode: int) -> int:
    """A ``st_mode`` as Go's ``os.FileMode`` (permission bits + Go's type bits)."""
    out = mode & 0o777
    fmt = stat.S_IFMT(mode)
    if fmt == stat.S_IFDIR:
        out |= GO_MODE_DIR
    elif fmt == stat.S_IFLNK:
        out |= GO_MODE_SYMLINK
    elif fmt == stat.S_IFIFO:
        out |= GO_MODE_PIPE
    elif fmt == stat.S_IFSOCK:
        out |= GO_MODE_SOCKET
    elif fmt == stat.S_IFBLK:
        out |= GO_MODE_DEVICE
    elif fmt == stat.S_IFCHR:
        out |= GO_MODE_DEVICE | GO_MODE_CHARDEV
    if mode & stat.S_ISUID:
        out |= GO_MODE_SETUID
    if mode & stat.S_ISGID:
        out |= GO_MODE_SETGID
    if mode & stat.S_ISVTX:
        out |= GO_MODE_STICKY
    return out


def rfc3339(ts: float) -> str:
    from .._files import timestamp
    return timestamp(ts)


def stat_doc(name: str, st: os.stat_result, link_target: str = "") -> dict:
    """The ``X-Docker-Container-Path-Stat`` document."""
    return {"name": name, "size": st.st_size, "mode": go_file_mode(st.st_mode),
            "mtime": rfc3339(st.st_mtime), "linkTarget": link_target}


# ---- resolution inside a root fd -----------------------------------------------------
class Resolved:
    """A path resolved inside a container root: an ``O_PATH`` fd of the object (a
    symlink itself when the last component was not followed), its ``lstat`` and the
    container path it resolved to. Close it (context manager)."""

    __slots__ = ("fd", "st", "path")

    def __init__(self, fd: int, st: os.stat_result, path: str):
        self.fd, self.st, self.path = fd, st, path

    def reopen(self, flags: int) -> int:
        """A real fd (``O_RDONLY``, ``O_DIRECTORY``) of the very inode resolved — through
        the fd's ``/proc/self/fd`` link, which names the inode, not a path."""
        return os.open(f"/proc/self/fd/{self.fd}", flags | os.O_CLOEXEC)

    def close(self) -> None:
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def _not_found(path: str) -> NotFound:
    return NotFound(f"Could not find the file {path} in container")


def resolve(root_fd: int, path: str, *, follow_last: bool | None = None,
            specials: frozenset = frozenset()) -> Resolved:
    """Walk ``path`` from ``root_fd`` without ever leaving it (see the module text).

    ``follow_last`` None: Docker's rule (:func:`follows_last`). ``specials``: device
    numbers of mounts the walk must not enter (the container's /proc, /sys, /dev).
    NotFound for a missing component; InvalidArgument when a non-final component
    is not a directory, or for a symlink loop.
    """
    want = abs_path(path)
    if follow_last is None:
        follow_last = follows_last(path)
    todo = components(want)
    stack = [(os.dup(root_fd), "")]          # (fd, container path) from the root down
    links = 0
    try:
        while todo:
            name = todo.pop(0)
            last = not todo
            if name == "..":
                if len(stack) > 1:
                    os.close(stack.pop()[0])
                continue
            cur_fd, cur_path = stack[-1]
            here = f"{cur_path}/{name}"
            try:
                fd = os.open(name, _PATH, dir_fd=cur_fd)
            except FileNotFoundError:
                raise _not_found(want) from None
            except NotADirectoryError:
                raise InvalidArgument(f"{cur_path or '/'} is not a directory in the "
                                      f"container (resolving {want})") from None
            st = os.fstat(fd)
            if st.st_dev in specials:
                os.close(fd)
                raise InvalidArgument(f"{here} is in the container's /proc, /sys or /dev, "
                                      "which are not copied")
            if stat.S_ISLNK(st.st_mode) and (not last or follow_last):
                target = os.readlink("", dir_fd=fd)     # the text of *this* link
                os.close(fd)
                links += 1
                if links > MAX_SYMLINKS:
                    raise InvalidArgument(f"too many levels of symbolic links resolving "
                                          f"{want} in the container")
                if target.startswith("/"):
                    for sfd, _ in stack[1:]:
                        os.close(sfd)
                    del stack[1:]
                todo = components(target) + todo
                if not todo and target.startswith("/"):
                    pass     # a link to "/": the root itself
                continue
            if not last and not stat.S_ISDIR(st.st_mode):
                os.close(fd)
                raise InvalidArgument(f"{here} is not a directory in the container "
                                      f"(resolving {want})")
            stack.append((fd, here))
        fd, where = stack.pop()
        return Resolved(fd, os.fstat(fd), where or "/")
    finally:
        for sfd, _ in stack:
            os.close(sfd)


def special_devices(root_fd: int) -> frozenset:
    """Device numbers of the root's /proc, /sys and /dev when they are mounts of
    their own (a running container's); empty for a plain tree."""
    root_dev = os.fstat(root_fd).st_dev
    out = set()
    for name in SPECIAL_DIRS:
        try:
            st = os.stat(name, dir_fd=root_fd, follow_symlinks=False)
        except OSError:
            continue
        if stat.S_ISDIR(st.st_mode) and st.st_dev != root_dev:
            out.add(st.st_dev)
    return frozenset(out)


# ---- the three operations on a root fd -----------------------------------------------
def stat_path(root_fd: int, path: str) -> dict:
    """HEAD archive: the stat document of ``path`` (``linkTarget`` for a symlink: the
    container path it resolves to)."""
    specials = special_devices(root_fd)
    with resolve(root_fd, path, specials=specials) as r:
        link = ""
        if stat.S_ISLNK(r.st.st_mode):
            try:
                with resolve(root_fd, path, follow_last=True, specials=specials) as t:
                    link = t.path
            except (NotFound, InvalidArgument):
                link = os.path.normpath(os.path.join(os.path.dirname(r.path),
                                                     os.readlink("", dir_fd=r.fd)))
        name = os.path.basename(abs_path(path).rstrip("/").removesuffix("/.")) or "/"
        return stat_doc(name, r.st, link)


def write_archive(root_fd: int, path: str, out, *, top: str | None = None) -> dict:
    """GET archive: a tar of ``path`` to the binary file ``out``; its stat document.

    ``top``: the name of the archive's first entry (default Docker's
    :func:`rebase_name`); ``""`` for ``export``: the contents with bare names.
    """
    specials = special_devices(root_fd)
    doc = stat_path(root_fd, path)
    name = rebase_name(path) if top is None else top
    with resolve(root_fd, path, specials=specials) as r, \
            tarfile.open(fileobj=out, mode="w|", format=tarfile.PAX_FORMAT) as tar:
        if stat.S_ISDIR(r.st.st_mode):
            dfd = r.reopen(os.O_RDONLY | os.O_DIRECTORY)
            try:
                if name not in ("", "."):
                    tar.addfile(_info(name, r.st))
                elif name == ".":
                    tar.addfile(_info(".", r.st))
                _walk_dir(tar, dfd, name, specials)
            finally:
                os.close(dfd)
        else:
            _add_entry(tar, r, name or os.path.basename(r.path))
    return doc


def _join(prefix: str, name: str) -> str:
    if prefix in ("", "."):
        return name if prefix == "" else f"./{name}"
    return f"{prefix}/{name}"


def _info(name: str, st: os.stat_result, link: str = "") -> tarfile.TarInfo:
    ti = tarfile.TarInfo(name)
    ti.mode = stat.S_IMODE(st.st_mode)
    ti.uid, ti.gid = st.st_uid, st.st_gid
    ti.mtime = int(st.st_mtime)
    fmt = stat.S_IFMT(st.st_mode)
    if fmt == stat.S_IFDIR:
        ti.type = tarfile.DIRTYPE
    elif fmt == stat.S_IFLNK:
        ti.type, ti.linkname = tarfile.SYMTYPE, link
    elif fmt == stat.S_IFIFO:
        ti.type = tarfile.FIFOTYPE
    elif fmt in (stat.S_IFCHR, stat.S_IFBLK):
        ti.type = tarfile.CHRTYPE if fmt == stat.S_IFCHR else tarfile.BLKTYPE
        ti.devmajor, ti.devminor = os.major(st.st_rdev), os.minor(st.st_rdev)
    else:
        ti.type, ti.size = tarfile.REGTYPE, st.st_size
    return ti


def _add_entry(tar: tarfile.TarFile, r: Resolved, name: str) -> None:
    """One non-directory (the object of a resolved fd) into the tar."""
    fmt = stat.S_IFMT(r.st.st_mode)
    if fmt == stat.S_IFLNK:
        tar.addfile(_info(name, r.st, os.readlink("", dir_fd=r.fd)))
    elif fmt == stat.S_IFREG:
        fd = r.reopen(os.O_RDONLY)
        _add_file(tar, name, fd)
    elif fmt != stat.S_IFSOCK:           # sockets are never archived (as Docker)
        tar.addfile(_info(name, r.st))


def _add_file(tar: tarfile.TarFile, name: str, fd: int) -> None:
    with open(fd, "rb", closefd=True) as f:
        st = os.fstat(fd)       # the size of what is read, not of a name
        tar.addfile(_info(name, st), f)


def _walk_dir(tar: tarfile.TarFile, dfd: int, prefix: str, specials: frozenset) -> None:
    """Every entry below the directory fd ``dfd``, depth first, never following a
    symlink (each entry opened ``O_NOFOLLOW`` relative to its parent's fd)."""
    with os.scandir(dfd) as it:
        entries = sorted(it, key=lambda e: e.name)
    for e in entries:
        name = _join(prefix, e.name)
        try:
            st = os.stat(e.name, dir_fd=dfd, follow_symlinks=False)
        except FileNotFoundError:
            continue                     # removed meanwhile
        fmt = stat.S_IFMT(st.st_mode)
        if fmt == stat.S_IFDIR:
            tar.addfile(_info(name, st))
            if st.st_dev in specials:
                continue                 # /proc, /sys, /dev of a running container
            try:
                sub = os.open(e.name, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW |
                              os.O_CLOEXEC, dir_fd=dfd)
            except OSError:
                continue                 # swapped for a symlink or a file meanwhile
            try:
                _walk_dir(tar, sub, name, specials)
            finally:
                os.close(sub)
        elif fmt == stat.S_IFREG:
            try:   # O_NONBLOCK: a file swapped for a FIFO meanwhile must not hang us
                fd = os.open(e.name, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK |
                             os.O_CLOEXEC, dir_fd=dfd)
            except OSError:
                continue
            if not stat.S_ISREG(os.fstat(fd).st_mode):
                os.close(fd)
                continue
            os.set_blocking(fd, True)
            _add_file(tar, name, fd)
        elif fmt == stat.S_IFLNK:
            try:
                tar.addfile(_info(name, st, os.readlink(e.name, dir_fd=dfd)))
            except OSError:
                continue
        elif fmt != stat.S_IFSOCK:
            tar.addfile(_info(name, st))


def extract_archive(root_fd: int, path: str, src, *, no_overwrite_dir_non_dir: bool = False,
                    chown: tuple[int, int] | None = None, read_only_root: bool = False) -> int:
    """PUT archive: unpack the tar read from ``src`` into the directory ``path``
    (followed to its end); the number of entries written.

    ``chown``: (uid, gid) for every entry (``copyUIDGID``), else the archive's own.
    ``read_only_root``: the container is ``--read-only``: only a volume mounted at
    or above the path may be written (Docker's rule).
    """
    specials = special_devices(root_fd)
    with resolve(root_fd, path, follow_last=True, specials=specials) as r:
        if not stat.S_ISDIR(r.st.st_mode):
            raise InvalidArgument(f"extraction point is not a directory: {abs_path(path)} "
                                  "in the container")
        if read_only_root and r.st.st_dev == os.fstat(root_fd).st_dev:
            raise Conflict("container rootfs is marked read-only")
        dfd = r.reopen(os.O_RDONLY | os.O_DIRECTORY)
        try:
            return _untar(dfd, src, no_overwrite_dir_non_dir, chown)
        except OSError as e:
            if e.errno == errno.EROFS:
                raise Conflict("container rootfs is marked read-only (or the volume "
                               f"under {abs_path(path)} is mounted read-only)") from None
            if e.errno == errno.ENOENT:      # the directory went away while we wrote
                raise NotFound(f"{abs_path(path)} was removed in the container while "
                               "copying into it") from None
            raise GlassboxError(f"cannot copy into {abs_path(path)} in the container: "
                                f"{e.strerror or e}") from None
        finally:
            os.close(dfd)


def _untar(dfd: int, src, no_overwrite: bool, chown) -> int:
    """The layer extractor, beneath the fd ``dfd``, with Docker's copy rules."""
    from ..images import layers
    from ..images.streams import TarStream

    class CopyExtractor(layers._Extractor):
        def member(self, tar, m):
            try:
                parts = layers.clean_member_name(m.name)
            except ValueError:
                raise InvalidArgument(f"archive entry {m.name!r} climbs out of the "
                                      "destination ('..'): refused") from None
            if m.issym() and m.linkname:
                _check_link(parts, m.linkname, m.name)
            if m.islnk():
                try:
                    layers.clean_member_name(m.linkname)
                except ValueError:
                    raise InvalidArgument(f"archive hard link {m.name!r} -> {m.linkname!r} "
                                          "climbs out of the destination: refused") from None
            if no_overwrite and parts:
                self._no_overwrite(parts, m)
            if chown is not None:
                m.uid, m.gid = chown
            super().member(tar, m)

        def _no_overwrite(self, parts, m):
            try:
                pfd = self.dir_fd(parts[:-1], create=False)
                st = os.stat(parts[-1], dir_fd=pfd, follow_symlinks=False)
            except (layers._Skip, FileNotFoundError):
                return
            if stat.S_ISDIR(st.st_mode) and not m.isdir():
                raise InvalidArgument(f"cannot overwrite directory {'/'.join(parts)!r} with "
                                      f"non-directory {m.name!r}")
            if not stat.S_ISDIR(st.st_mode) and m.isdir():
                raise InvalidArgument(f"cannot overwrite non-directory {'/'.join(parts)!r} "
                                      f"with directory {m.name!r}")

    report = layers.ExtractReport()
    ex = CopyExtractor(f"/proc/self/fd/{dfd}", "keep", os.geteuid() == 0, report)
    try:
        def visit(tar, m):
            try:
                ex.member(tar, m)
            except layers._Skip as why:
                ex.warn(m.name, str(why))
        layers.walk_tar(TarStream(src), visit, what="archive")
        ex.finish()
    finally:
        ex.close()
    return report.entries


def _check_link(parts: tuple, linkname: str, name: str) -> None:
    """A relative symlink may not climb above the extraction directory (Docker's
    "invalid symlink" breakout check); absolute ones name container paths, which
    every later walk resolves inside the root, so they are contained."""
    if linkname.startswith("/"):
        return
    depth = len(parts) - 1
    for p in linkname.split("/"):
        if p == "..":
            depth -= 1
            if depth < 0:
                raise InvalidArgument(f"invalid symlink {name!r} -> {linkname!r}: it points "
                                      "outside the destination; refused")
        elif p not in ("", "."):
            depth += 1


# ---- the container's root --------------------------------------------------------------
def _error_from(kind: str, message: str) -> GlassboxError:
    cls = {"NotFound": NotFound, "Conflict": Conflict,
           "InvalidArgument": InvalidArgument}.get(kind, GlassboxError)
    return cls(message)


def container_user(root_fd: int, user: str) -> tuple[int, int]:
    """``copyUIDGID``: the (uid, gid) of the container's configured user (``Config.User``,
    ``name``, ``uid``, ``name:group`` or ``uid:gid``), names looked up in the
    container's own /etc/passwd and /etc/group, read inside its root."""
    name, _, group = (user or "0").partition(":")

    def lookup(file: str, column: int, key: str) -> list[str] | None:
        try:
            with resolve(root_fd, file, follow_last=True) as r:
                fd = r.reopen(os.O_RDONLY)
            with open(fd, encoding="utf-8", errors="replace") as f:
                for line in f:
                    fields = line.rstrip("\n").split(":")
                    if len(fields) >= 4 and fields[column] == key:
                        return fields
        except (GlassboxError, OSError):
            return None
        return None

    entry = lookup("/etc/passwd", 2 if name.isdigit() else 0, name)
    if entry is None and not name.isdigit():
        raise InvalidArgument(f"copyUIDGID: user {name!r} is not in the container's "
                              "/etc/passwd")
    uid = int(name) if name.isdigit() or entry is None else int(entry[2])
    gid = int(entry[3]) if entry is not None and entry[3].isdigit() else 0
    if group.isdigit():
        gid = int(group)
    elif group:
        g = lookup("/etc/group", 0, group)
        if g is None or not g[2].isdigit():
            raise InvalidArgument(f"copyUIDGID: group {group!r} is not in the container's "
                                  "/etc/group")
        gid = int(g[2])
    return uid, gid


# ---- running and stopped containers ----------------------------------------------------
OPS = ("stat", "get", "put", "export")
EXIT_EPIPE = 141                        # the helper's exit when its reader went away


def _do(op: str, root_fd: int, req: dict, src=None, out=None):
    """One operation on an open container root (in-process or in the helper)."""
    if op == "stat":
        return stat_path(root_fd, req["path"])
    if op == "get":
        write_archive(root_fd, req["path"], out)
        return None
    if op == "export":
        write_archive(root_fd, "/", out, top="")
        return None
    chown = None
    if req.get("copy_uid_gid"):
        chown = container_user(root_fd, req.get("user") or "")
    return extract_archive(root_fd, req["path"], src,
                           no_overwrite_dir_non_dir=bool(req.get("no_overwrite")),
                           chown=chown, read_only_root=bool(req.get("read_only")))


def _running_root(c) -> int | None:
    """An fd of a running container's ``/`` (``/proc/<pid>/root``), None if it is not
    running (checked against the pid's start time: a recycled pid is not it)."""
    if not c.running or not c.pid:
        return None
    try:
        fd = os.open(f"/proc/{c.pid}/root", os.O_PATH | os.O_DIRECTORY | os.O_CLOEXEC)
    except OSError:
        return None
    if not processes.alive(c.pid, c.state.get("PidStartTime")):
        os.close(fd)
        return None
    return fd


def run(c, op: str, path: str = "/", *, src=None, out=None, no_overwrite: bool = False,
        copy_uid_gid: bool = False):
    """``op`` (:data:`OPS`) on container ``c``: in this process on a running container's
    root, else in the helper (a private mount namespace with the container's mounts).

    ``out``: binary file the tar is written to (get/export); ``src``: binary file the
    tar is read from (put). Returns the stat document (stat), the number of
    entries written (put), else None.
    """
    if op not in OPS:
        raise InvalidArgument(f"unknown archive operation {op!r}")
    abs_path(path)                       # an empty path or a NUL: refused before anything
    hc = c.config.get("HostConfig") or {}
    req = {"op": op, "path": "/" if op == "export" else path,
           "no_overwrite": no_overwrite, "copy_uid_gid": copy_uid_gid,
           "user": (c.config.get("Config") or {}).get("User") or "",
           "read_only": bool(hc.get("ReadonlyRootfs"))}
    root_fd = _running_root(c)
    if root_fd is not None:
        try:
            return _do(op, root_fd, req, src=src, out=out)
        finally:
            os.close(root_fd)
    return _helper(c, req, src=src, out=out)


def _fileno(f) -> int | None:
    try:
        return f.fileno()
    except (AttributeError, OSError, ValueError):
        return None


def _helper(c, req: dict, *, src=None, out=None):
    """Run the operation in a fresh process (see :func:`helper_main`); ``src``/``out``
    are handed over as its stdin/stdout when they are real files, else copied."""
    import json
    import shutil
    import subprocess
    import sys
    import threading
    req = dict(req, cdir=c.dir)
    want_json = req["op"] in ("stat", "put")
    in_fd = _fileno(src) if src is not None else None
    out_fd = _fileno(out) if out is not None else None
    if out_fd is not None:
        out.flush()
    proc = subprocess.Popen(
        [sys.executable, "-c", "from glassbox.containers.archive import helper_main; "
         "helper_main()", json.dumps(req)],
        stdin=subprocess.DEVNULL if src is None else (in_fd if in_fd is not None
                                                      else subprocess.PIPE),
        stdout=subprocess.PIPE if want_json or out_fd is None else out_fd,
        stderr=subprocess.PIPE, close_fds=True)
    feeder = None
    if src is not None and in_fd is None:
        def feed():
            try:
                shutil.copyfileobj(src, proc.stdin, CHUNK)
            except (BrokenPipeError, OSError):
                pass
            finally:
                try:
                    proc.stdin.close()
                except OSError:
                    pass
        feeder = threading.Thread(target=feed, daemon=True)
        feeder.start()
    err_chunks: list[bytes] = []
    errs = proc.stderr
    assert errs is not None
    drain = threading.Thread(target=lambda: err_chunks.append(errs.read()), daemon=True)
    drain.start()
    result = b""
    if proc.stdout is not None:
        if want_json:
            result = proc.stdout.read()
        else:
            shutil.copyfileobj(proc.stdout, out, CHUNK)
    code = proc.wait()
    drain.join()
    if feeder is not None:
        feeder.join()
    if code in (EXIT_EPIPE, -13):
        raise BrokenPipeError(errno.EPIPE, "the reader of the archive went away")
    if code != 0:
        err = b"".join(err_chunks).decode(errors="replace").strip().splitlines()
        try:
            info = json.loads(err[-1])
            raise _error_from(info["kind"], info["message"])
        except (IndexError, ValueError, KeyError, TypeError):
            raise GlassboxError(f"archive helper failed ({code}): "
                                f"{' '.join(err[-3:]) or 'no message'}") from None
    if want_json:
        return json.loads(result)
    return None


def helper_main() -> None:
    """The helper for a container that is not running: make a private mount namespace,
    mount the overlay (read-only for a ``--read-only`` container) and the container's
    volumes at its ``merged`` dir, do the one operation, exit. Its mounts go with it:
    nothing is ever mounted in the caller's namespace. Errors: one JSON line on stderr."""
    import json
    import sys
    req = json.loads(sys.argv[1])
    try:
        from .._sys import real as sys_
        from .._sys.constants import CLONE_NEWNS
        from ..rootfs.overlay import mount_overlay
        from ..rootfs.pivot import make_private
        from ..rootfs.setup import mount_volumes
        from ..runtime.spec import ProcessSpec
        from . import state as cstate
        config = cstate.read_json(os.path.join(req["cdir"], "config.json"))
        spec = ProcessSpec.from_json(config["Spec"])
        sys_.unshare(CLONE_NEWNS)
        make_private(sys_)
        mount_overlay(sys_, spec.rootfs, spec.lower_dirs, spec.upper_dir, spec.work_dir,
                      readonly=bool(req.get("read_only")))
        mount_volumes(sys_, spec)
        root_fd = os.open(spec.rootfs, os.O_PATH | os.O_DIRECTORY | os.O_CLOEXEC)
        stdin = sys.stdin.buffer if req["op"] == "put" else None
        result = _do(req["op"], root_fd, req, src=stdin, out=sys.stdout.buffer)
        if req["op"] in ("stat", "put"):
            sys.stdout.write(json.dumps(result))
        sys.stdout.flush()
    except BrokenPipeError:
        os._exit(EXIT_EPIPE)            # the reader went away: not an error of ours
    except GlassboxError as e:
        sys.stderr.write("\n" + json.dumps({"kind": type(e).__name__, "message": str(e)}))
        sys.exit(1)
    except OSError as e:
        sys.stderr.write("\n" + json.dumps({"kind": "GlassboxError", "message":
                                            f"{e.strerror or e} ({e.filename or ''})"}))
        sys.exit(1)
