"""Layers: tar archives of filesystem changes, and the overlay dirs they become.

A layer is a tar of what changed in one step. Additions and changes are plain
entries; **deletions** are *whiteouts* (OCI image-spec "layer.md"):

* ``dir/.wh.name`` — ``name`` was deleted;
* ``dir/.wh..wh..opq`` — ``dir`` is *opaque*: hide everything lower layers had
  in it (it was deleted and re-created).

overlayfs spells the same facts differently in an upper dir: a deleted file is
a **character device 0:0**, an opaque directory carries the xattr
``trusted.overlay.opaque=y``. This module translates both ways:

* :func:`write_layer_tar` turns an overlay upper dir (a container's read/write
  layer) into a deterministic OCI layer tar (``commit``, ``build``);
* :func:`safe_extract` unpacks a (hostile!) layer tar into its own directory,
  turning OCI whiteouts back into overlay markers so the directory can be
  used directly as an overlay ``lowerdir``.

Layer tars come from the internet: :func:`safe_extract` never writes outside
``dest``. It walks every parent directory with ``openat(O_NOFOLLOW)`` from a
directory fd (so a symlink anywhere in a path is never followed), strips
leading ``/``, refuses hardlinks to anything it did not itself extract, skips
device nodes, strips setuid/setgid bits, ignores overlay-private xattrs and caps
pax/GNU long-name header sizes. Each skipped member is recorded in the report's
``warnings``. A member name or hardlink target with a ``..`` component is no
accident of packing but an attempt to climb out: the whole layer is refused
(:class:`~glassbox.errors.InvalidArgument`), as Docker refuses it ("breakout").
"""

from __future__ import annotations

import errno
import hashlib
import io
import logging
import os
import shutil
import stat
import tarfile
import zlib
from dataclasses import dataclass, field

from ..errors import InvalidArgument
from .compression import _inflate_lib, open_decompressed
from .streams import CHUNK, TarStream

log = logging.getLogger("glassbox.images")

WHITEOUT_PREFIX = ".wh."
WHITEOUT_META_PREFIX = ".wh..wh."
WHITEOUT_OPAQUE = ".wh..wh..opq"
OVERLAY_OPAQUE_XATTR = "trusted.overlay.opaque"
USER_OVERLAY_OPAQUE_XATTR = "user.overlay.opaque"  # overlay mounted with -o userxattr

#: pax / GNU long-name headers above this are refused (a header is metadata, not data)
MAX_HEADER_SIZE = 1 << 20
_XATTR_ALLOWED_PREFIXES = ("user.", "security.capability")


class UnsafeTar(InvalidArgument):
    """A layer tar that cannot be unpacked safely at all (not just one member)."""


# --------------------------------------------------------------------------- whiteouts

def whiteout_name(name: str) -> str:
    """``whiteout_name("etc/passwd") == "etc/.wh.passwd"``."""
    head, _, base = name.rstrip("/").rpartition("/")
    return f"{head}/{WHITEOUT_PREFIX}{base}" if head else WHITEOUT_PREFIX + base


def opaque_marker(dirname: str) -> str:
    """``opaque_marker("var/cache") == "var/cache/.wh..wh..opq"``."""
    dirname = dirname.strip("/")
    return f"{dirname}/{WHITEOUT_OPAQUE}" if dirname else WHITEOUT_OPAQUE


def whited_out(name: str) -> str | None:
    """The path a ``.wh.`` entry deletes, or None (not a whiteout, or the opaque marker)."""
    head, _, base = name.rstrip("/").rpartition("/")
    if not base.startswith(WHITEOUT_PREFIX) or base.startswith(WHITEOUT_META_PREFIX):
        return None
    target = base[len(WHITEOUT_PREFIX):]
    return f"{head}/{target}" if head else target


def is_opaque_marker(name: str) -> bool:
    return name.rstrip("/").rpartition("/")[2] == WHITEOUT_OPAQUE


def is_overlay_whiteout(st: os.stat_result) -> bool:
    """overlayfs records a deletion as a character device with device number 0:0."""
    return stat.S_ISCHR(st.st_mode) and st.st_rdev == 0


def is_overlay_opaque(path: str | int) -> bool:
    """True when an upper-dir directory carries overlay's opaque xattr."""
    for attr in (OVERLAY_OPAQUE_XATTR, USER_OVERLAY_OPAQUE_XATTR):
        try:
            if os.getxattr(path, attr, follow_symlinks=False) == b"y":
                return True
        except OSError:
            pass
    return False


def make_overlay_whiteout(name: str, dir_fd: int | None = None) -> None:
    """Create overlay's deletion marker (char device 0:0) — needs CAP_MKNOD."""
    os.mknod(name, stat.S_IFCHR | 0o000, os.makedev(0, 0), dir_fd=dir_fd)


# --------------------------------------------------------------------------- streams

class _SafeTarInfo(tarfile.TarInfo):
    """TarInfo that refuses absurd metadata headers before reading them into memory."""

    def _proc_member(self, tarfile_):
        if self.type in (tarfile.XHDTYPE, tarfile.XGLTYPE, tarfile.SOLARIS_XHDTYPE,
                         tarfile.GNUTYPE_LONGNAME, tarfile.GNUTYPE_LONGLINK) \
                and self.size > MAX_HEADER_SIZE:
            raise UnsafeTar(f"layer tar has a {self.size}-byte metadata header "
                            f"(limit {MAX_HEADER_SIZE}): refusing a hostile or broken layer")
        return super()._proc_member(tarfile_)


@dataclass
class ExtractReport:
    """What :func:`safe_extract` did: members written, bytes of file data, refusals."""

    entries: int = 0
    size: int = 0
    whiteouts: int = 0
    opaque_dirs: int = 0
    warnings: list[str] = field(default_factory=list)
    #: rootless (issue 14): ``(path, uid, gid)`` of members not owned by 0:0, for
    #: :func:`glassbox.rootless.ownership.restore` to set through the id map
    owners: list[tuple[str, int, int]] = field(default_factory=list)
    #: with ``hash_tar=True``: sha256 and length of the (uncompressed) tar stream
    tar_digest: str | None = None
    tar_size: int = 0


class _Skip(Exception):
    pass


def clean_member_name(name: str) -> tuple[str, ...]:
    """Split a tar member name into safe components.

    Leading ``/`` and ``./`` are stripped (an absolute name means "from the
    layer root"); an empty result is the root itself. Any ``..`` component is
    refused with :class:`ValueError`.
    """
    parts = []
    for p in name.split("/"):
        if p in ("", "."):
            continue
        if p == "..":
            raise ValueError(f"{name!r} has a '..' component")
        parts.append(p)
    return tuple(parts)


_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC


class _Extractor:
    """Writes tar members beneath one directory fd, never following a symlink."""

    MAX_CACHED_DIRS = 128

    def __init__(self, dest: str, whiteouts: str, same_owner: bool, report: ExtractReport):
        self.root_fd = os.open(dest, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
        self.cache: dict[tuple[str, ...], int] = {}
        self.stale: list[int] = []  # evicted fds, closed between members (callers may hold them)
        self.whiteouts, self.same_owner, self.report = whiteouts, same_owner, report
        self.dirs: list[tuple[tuple[str, ...], tarfile.TarInfo]] = []
        self._chown_warned = False
        self.rootless = os.geteuid() != 0

    def close(self):
        self.release_stale()
        for fd in self.cache.values():
            os.close(fd)
        self.cache.clear()
        os.close(self.root_fd)

    def release_stale(self):
        for fd in self.stale:
            os.close(fd)
        self.stale.clear()

    def warn(self, name: str, why: str):
        self.report.warnings.append(f"{name}: {why}")

    # -- directory walking
    def dir_fd(self, parts: tuple[str, ...], create: bool = True) -> int:
        """fd of directory ``parts`` under dest; components must be real directories."""
        fd = self.root_fd
        for i in range(len(parts)):
            key = parts[:i + 1]
            cached = self.cache.get(key)
            if cached is not None:
                fd = cached
                continue
            name = parts[i]
            try:
                nfd = os.open(name, _DIR_FLAGS, dir_fd=fd)
            except FileNotFoundError:
                if not create:
                    raise _Skip(f"{'/'.join(key)} does not exist") from None
                os.mkdir(name, 0o755, dir_fd=fd)
                nfd = os.open(name, _DIR_FLAGS, dir_fd=fd)
            except OSError as e:
                if e.errno in (errno.ELOOP, errno.ENOTDIR):
                    raise _Skip(f"{'/'.join(key)} is a symlink or not a directory; "
                                "refusing to write through it") from None
                raise
            if len(self.cache) >= self.MAX_CACHED_DIRS:
                self._forget(())
            self.cache[key] = nfd
            fd = nfd
        return fd

    def _forget(self, prefix: tuple[str, ...]):
        n = len(prefix)
        for key in [k for k in self.cache if k[:n] == prefix]:
            self.stale.append(self.cache.pop(key))

    def _remove(self, pfd: int, parts: tuple[str, ...], keep_dir: bool) -> bool:
        """Make room for a new entry; returns True when an existing dir is kept."""
        base = parts[-1]
        try:
            st = os.stat(base, dir_fd=pfd, follow_symlinks=False)
        except FileNotFoundError:
            return False
        if stat.S_ISDIR(st.st_mode):
            if keep_dir:
                return True
            self._forget(parts)
            shutil.rmtree(base, dir_fd=pfd)
        else:
            os.unlink(base, dir_fd=pfd)
        return False

    # -- metadata
    def _owner(self, m: tarfile.TarInfo, name: str, pfd: int, fd: int | None = None):
        if not self.same_owner:
            if self.rootless and (m.uid or m.gid):   # set later, through the id map
                self.report.owners.append(("/".join(clean_member_name(m.name)), m.uid, m.gid))
            return
        try:
            if fd is not None:
                os.fchown(fd, m.uid, m.gid)
            else:
                os.chown(name, m.uid, m.gid, dir_fd=pfd, follow_symlinks=False)
        except OSError as e:
            if not self._chown_warned:
                self._chown_warned = True
                self.warn(m.name, f"cannot set owner {m.uid}:{m.gid} ({e.strerror}); "
                                  "ownership not preserved")

    def _mode(self, m: tarfile.TarInfo) -> int:
        mode = m.mode & 0o7777
        if not m.isdir() and mode & (stat.S_ISUID | stat.S_ISGID):
            self.warn(m.name, f"setuid/setgid bits stripped (mode {mode:04o})")
            mode &= ~(stat.S_ISUID | stat.S_ISGID)
        return mode

    def _xattrs(self, m: tarfile.TarInfo, fd: int):
        for key, value in m.pax_headers.items():
            if not key.startswith("SCHILY.xattr."):
                continue
            attr = key[len("SCHILY.xattr."):]
            if not attr.startswith(_XATTR_ALLOWED_PREFIXES):
                self.warn(m.name, f"xattr {attr} ignored (only user.* and security.capability)")
                continue
            if attr.startswith("user.overlay.") and os.geteuid() != 0:
                # a rootless overlay (-o userxattr) obeys these: never from a tar
                self.warn(m.name, f"xattr {attr} ignored (overlay-private)")
                continue
            try:
                os.setxattr(fd, attr, value.encode("utf-8", "surrogateescape"))
            except OSError as e:
                self.warn(m.name, f"cannot set xattr {attr}: {e.strerror}")

    @staticmethod
    def _times(m: tarfile.TarInfo) -> tuple[int, int]:
        ns = int(m.mtime * 1_000_000_000)
        return ns, ns

    # -- members
    def member(self, tar: tarfile.TarFile, m: tarfile.TarInfo):
        self.release_stale()
        try:
            parts = clean_member_name(m.name)
        except ValueError as e:
            raise InvalidArgument(f"layer refused: member {e} (a path out of the "
                                  "layer)") from None
        if not parts:
            return  # the layer root itself: its attributes belong to the layer dir
        base = parts[-1]
        if base.startswith(WHITEOUT_PREFIX) and self.whiteouts == "overlay":
            return self._whiteout(parts)
        pfd = self.dir_fd(parts[:-1])

        if m.isdir():
            if not self._remove(pfd, parts, keep_dir=True):
                os.mkdir(base, 0o700, dir_fd=pfd)
            self.dirs.append((parts, m))
        elif m.isreg():
            self._remove(pfd, parts, keep_dir=False)
            fd = os.open(base, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC,
                         0o600, dir_fd=pfd)
            try:
                ts = tar.fileobj
                if m.sparse is None and isinstance(ts, TarStream):
                    if ts.tell() != m.offset_data:
                        ts.seek(m.offset_data)
                    ts.copy_to_fd(fd, m.size)
                else:
                    src = tar.extractfile(m)
                    with open(fd, "wb", closefd=False, buffering=0) as out:
                        shutil.copyfileobj(src, out, CHUNK)
                self._owner(m, base, pfd, fd)
                os.fchmod(fd, self._mode(m))
                self._xattrs(m, fd)
                os.utime(fd, ns=self._times(m))
            finally:
                os.close(fd)
            self.report.size += m.size
        elif m.issym():
            self._remove(pfd, parts, keep_dir=False)
            os.symlink(m.linkname, base, dir_fd=pfd)
            self._owner(m, base, pfd)
            os.utime(base, ns=self._times(m), dir_fd=pfd, follow_symlinks=False)
        elif m.islnk():
            self._hardlink(m, parts, pfd)
        elif m.isfifo():
            self._remove(pfd, parts, keep_dir=False)
            os.mkfifo(base, self._mode(m), dir_fd=pfd)
            self._owner(m, base, pfd)
            os.utime(base, ns=self._times(m), dir_fd=pfd, follow_symlinks=False)
        elif m.ischr() or m.isblk():
            raise _Skip(f"device node {m.devmajor}:{m.devminor} skipped "
                        "(containers get their /dev from the runtime)")
        else:
            raise _Skip(f"unsupported tar member type {m.type!r}")
        self.report.entries += 1

    def _hardlink(self, m: tarfile.TarInfo, parts, pfd):
        try:
            target = clean_member_name(m.linkname)
        except ValueError as e:
            raise InvalidArgument(f"layer refused: hardlink {m.name!r} -> target {e} (a "
                                  "path out of the layer)") from None
        if not target or target == parts:
            raise _Skip(f"hardlink to {m.linkname!r} refused")
        tfd = self.dir_fd(target[:-1], create=False)
        try:
            st = os.stat(target[-1], dir_fd=tfd, follow_symlinks=False)
        except FileNotFoundError:
            raise _Skip(f"hardlink target {m.linkname!r} is not in this layer") from None
        if stat.S_ISDIR(st.st_mode) or is_overlay_whiteout(st):
            raise _Skip(f"hardlink target {m.linkname!r} is a directory or whiteout")
        self._remove(pfd, parts, keep_dir=False)
        # the target's dir may have been under the removed entry: walk again
        tfd = self.dir_fd(target[:-1], create=False)
        os.link(target[-1], parts[-1], src_dir_fd=tfd, dst_dir_fd=pfd, follow_symlinks=False)

    def _whiteout(self, parts):
        base = parts[-1]
        pfd = self.dir_fd(parts[:-1])
        if base == WHITEOUT_OPAQUE:
            try:   # rootless (issue 14): the overlay is mounted -o userxattr, and trusted.*
                os.setxattr(pfd, OVERLAY_OPAQUE_XATTR if os.geteuid() == 0 else  # needs root
                            USER_OVERLAY_OPAQUE_XATTR, b"y")
            except OSError as e:
                raise _Skip(f"cannot mark directory opaque ({e.strerror}); needs root") from None
            self.report.opaque_dirs += 1
            return
        if base.startswith(WHITEOUT_META_PREFIX):
            return  # other .wh..wh. names are aufs bookkeeping, never content
        name = base[len(WHITEOUT_PREFIX):]
        if not name or name in (".", ".."):
            raise _Skip("malformed whiteout")
        self._remove(pfd, parts[:-1] + (name,), keep_dir=False)
        try:
            make_overlay_whiteout(name, dir_fd=pfd)
        except OSError as e:
            raise _Skip(f"cannot create overlay whiteout ({e.strerror}); needs CAP_MKNOD") from None
        self.report.whiteouts += 1

    def finish(self):
        """Directory attributes last: writing into a dir changes its mtime."""
        for parts, m in reversed(self.dirs):
            self.release_stale()
            try:
                fd = self.dir_fd(parts, create=False)
            except _Skip:
                continue  # replaced by a later member
            self._owner(m, parts[-1], -1, fd)
            os.fchmod(fd, m.mode & 0o7777)
            self._xattrs(m, fd)
            os.utime(fd, ns=self._times(m))


def safe_extract(tar_stream, dest: str | os.PathLike, *, whiteouts: str = "overlay",
                 same_owner: bool | None = None, compression: str | None = "auto",
                 hash_tar: bool = False) -> ExtractReport:
    """Unpack a layer tar from ``tar_stream`` into the existing directory ``dest``.

    ``whiteouts="overlay"`` turns ``.wh.`` entries into overlay markers (char
    device 0:0, ``trusted.overlay.opaque=y``: needs root); ``"keep"`` writes
    them as the plain files they are in the tar. ``same_owner`` (default: when
    root) restores numeric uid/gid. The stream is read once, front to back, so
    it may be a pipe; it is read to its end so a hashing wrapper sees it all.
    ``hash_tar=True`` also hashes the (decompressed) tar: ``report.tar_digest``
    is then the layer's diff_id and ``report.tar_size`` its length (or pass the
    hash object to use, e.g. an :class:`OffloadedHash`).
    """
    if whiteouts not in ("overlay", "keep"):
        raise InvalidArgument(f"whiteouts must be 'overlay' or 'keep', not {whiteouts!r}")
    if same_owner is None:
        same_owner = os.geteuid() == 0
    stream = open_decompressed(tar_stream, compression) if compression else tar_stream
    report = ExtractReport()
    ts = TarStream(stream, (hashlib.sha256() if hash_tar is True else hash_tar) or None)
    ex = _Extractor(os.fspath(dest), whiteouts, same_owner, report)
    try:
        def visit(tar, m):
            try:
                ex.member(tar, m)
            except _Skip as why:
                ex.warn(m.name, str(why))
        # a tar whose end-of-archive blocks are missing (umoci writes such layers) is
        # complete when its last member is: the digest still covers it
        if not walk_tar(ts, visit, on_short_end=lambda: ex.warn(
                "<end>", "tar ends without end-of-archive blocks")):
            ts.drain()
            _hashed(report, ts)
            return report  # a zero-byte layer: nothing to do
        ex.finish()
        # read any trailing padding so a wrapping hasher sees the whole blob
        try:
            ts.drain()
        except CORRUPT as e:
            raise InvalidArgument(f"corrupt layer tar: {e}") from None
        _hashed(report, ts)
    finally:
        ex.close()
    for w in report.warnings:
        log.warning("layer extract: %s", w)
    return report


#: what a broken or truncated tar (or its compression) raises while it is read
CORRUPT = (tarfile.TarError, EOFError, zlib.error, _inflate_lib.error)


def walk_tar(ts: TarStream, visit, *, what: str = "layer tar", on_short_end=None) -> bool:
    """Call ``visit(tar, member)`` for each member of the (untrusted) tar in ``ts``,
    front to back; False when the stream is empty. Hostile-header guards are on;
    anything broken — in a header, in the data ``visit`` reads, in the compression —
    becomes :class:`InvalidArgument` naming ``what``. A tar that stops after a
    complete member without its end-of-archive blocks is accepted (``on_short_end``
    is called)."""
    try:
        tar = tarfile.TarFile(fileobj=ts, mode="r", tarinfo=_SafeTarInfo,
                              errors="surrogateescape")
    except tarfile.ReadError as e:
        if "empty file" in str(e):
            return False
        raise InvalidArgument(f"not a valid tar archive: {e}") from None
    except CORRUPT as e:
        raise InvalidArgument(f"corrupt {what}: {e}") from None
    try:
        while True:
            try:
                m = tar.next()
            except tarfile.ReadError as e:
                if "unexpected end of data" not in str(e):
                    raise
                if on_short_end is not None:
                    on_short_end()
                return True
            if m is None:
                return True
            visit(tar, m)
    except CORRUPT as e:
        raise InvalidArgument(f"corrupt {what}: {e}") from None
    except RecursionError:
        raise UnsafeTar(f"{what} has too many chained metadata headers") from None
    finally:
        tar.close()


def _hashed(report: ExtractReport, ts: TarStream) -> None:
    if ts.hash is not None:
        report.tar_digest = "sha256:" + ts.hash.hexdigest()
    report.tar_size = ts.count


def open_beneath(root: str | os.PathLike, relpath: str, flags: int = os.O_RDONLY) -> int:
    """Open ``root/relpath`` for reading without following any symlink on the way.

    Refuses ``..``, symlinks and non-regular files with InvalidArgument; used
    for paths that come from untrusted archives (``manifest.json``'s layer
    paths, OCI blob paths).
    """
    try:
        parts = clean_member_name(relpath)
    except ValueError as e:
        raise InvalidArgument(f"unsafe path in archive: {e}") from None
    if not parts:
        raise InvalidArgument(f"unsafe path in archive: {relpath!r}")
    fd = os.open(os.fspath(root), os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        for p in parts[:-1]:
            try:
                nfd = os.open(p, _DIR_FLAGS, dir_fd=fd)
            except OSError as e:
                raise InvalidArgument(f"path {relpath!r} in archive: {p}: {e.strerror}") from None
            os.close(fd)
            fd = nfd
        try:
            ffd = os.open(parts[-1], flags | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=fd)
        except FileNotFoundError:
            raise InvalidArgument(f"archive lacks {relpath!r}") from None
        except OSError as e:
            raise InvalidArgument(f"path {relpath!r} in archive: {e.strerror}") from None
        if not stat.S_ISREG(os.fstat(ffd).st_mode):
            os.close(ffd)
            raise InvalidArgument(f"{relpath!r} in archive is not a regular file")
        return ffd
    finally:
        os.close(fd)


# --------------------------------------------------------------------------- writing layers

@dataclass
class TarStats:
    entries: int = 0
    size: int = 0       # bytes of regular file data
    whiteouts: int = 0
    opaque_dirs: int = 0


def _export_xattrs(path: str) -> dict[str, str]:
    out = {}
    try:
        names = os.listxattr(path, follow_symlinks=False)
    except OSError:
        return out
    for attr in sorted(names):
        # user.overlay.*: a rootless overlay's own metadata (-o userxattr), never content
        if attr.startswith(_XATTR_ALLOWED_PREFIXES) and not attr.startswith("user.overlay."):
            try:
                value = os.getxattr(path, attr, follow_symlinks=False)
            except OSError:
                continue
            out["SCHILY.xattr." + attr] = value.decode("utf-8", "surrogateescape")
    return out


def write_layer_tar(upper_dir: str | os.PathLike, out, *, translate_whiteouts: bool = True) -> TarStats:
    """Write ``upper_dir`` as a deterministic OCI layer tar to the binary stream ``out``.

    Entries are sorted by name, owner names blanked (numeric ids only), mtimes
    truncated to seconds: the same tree gives the same bytes, hence the same
    digest. Overlay markers become OCI whiteouts (char device 0:0 ->
    ``.wh.name``; opaque xattr -> ``dir/.wh..wh..opq``). Hardlinked files
    are written once and linked after. Sockets are skipped (not archivable).
    """
    upper = os.fspath(upper_dir)
    stats = TarStats()
    seen_inodes: dict[tuple[int, int], str] = {}
    rootless = os.geteuid() != 0
    if rootless:
        from ..rootless.ownership import container_owner
    shift = None
    if not rootless and os.stat(upper).st_uid != 0:   # a --userns=private container's layer?
        from ..rootless import private
        shift = private.owner_shift(upper)            # (its recorded map says)
    tar = tarfile.open(fileobj=out, mode="w|", format=tarfile.PAX_FORMAT, bufsize=CHUNK,
                       encoding="utf-8", errors="surrogateescape")

    def info(name: str, st: os.stat_result, type_: bytes) -> tarfile.TarInfo:
        ti = tarfile.TarInfo(name)
        ti.type = type_
        ti.mode = stat.S_IMODE(st.st_mode)
        ti.uid, ti.gid = st.st_uid, st.st_gid
        if rootless:    # host ids -> the container's (issue 14)
            ti.uid, ti.gid = container_owner(st)
        elif shift:     # --userns=private: 100000 -> 0 (rootless/private.py)
            ti.uid, ti.gid = private.container_owner(st, shift)
        ti.uname = ti.gname = ""
        ti.mtime = int(st.st_mtime)
        ti.size = 0
        return ti

    def walk(rel: str, path: str):
        with os.scandir(path) as it:
            entries = sorted(it, key=lambda e: e.name)
        for e in entries:
            name = f"{rel}/{e.name}" if rel else e.name
            full = e.path
            st = os.lstat(full)
            mode = st.st_mode
            if stat.S_ISDIR(mode):
                ti = info(name, st, tarfile.DIRTYPE)
                ti.pax_headers = _export_xattrs(full)
                tar.addfile(ti)
                stats.entries += 1
                if translate_whiteouts and is_overlay_opaque(full):
                    tar.addfile(info(opaque_marker(name), st, tarfile.REGTYPE))
                    stats.opaque_dirs += 1
                walk(name, full)
            elif translate_whiteouts and is_overlay_whiteout(st):
                wi = info(whiteout_name(name), st, tarfile.REGTYPE)
                tar.addfile(wi)
                stats.whiteouts += 1
            elif stat.S_ISREG(mode):
                key = (st.st_dev, st.st_ino)
                if st.st_nlink > 1 and key in seen_inodes:
                    ti = info(name, st, tarfile.LNKTYPE)
                    ti.linkname = seen_inodes[key]
                    tar.addfile(ti)
                else:
                    if st.st_nlink > 1:
                        seen_inodes[key] = name
                    ti = info(name, st, tarfile.REGTYPE)
                    ti.size = st.st_size
                    ti.pax_headers = _export_xattrs(full)
                    with open(full, "rb") as f:
                        tar.addfile(ti, f)
                    stats.size += st.st_size
                stats.entries += 1
            elif stat.S_ISLNK(mode):
                ti = info(name, st, tarfile.SYMTYPE)
                ti.linkname = os.readlink(full)
                tar.addfile(ti)
                stats.entries += 1
            elif stat.S_ISFIFO(mode):
                tar.addfile(info(name, st, tarfile.FIFOTYPE))
                stats.entries += 1
            elif stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
                ti = info(name, st, tarfile.CHRTYPE if stat.S_ISCHR(mode) else tarfile.BLKTYPE)
                ti.devmajor, ti.devminor = os.major(st.st_rdev), os.minor(st.st_rdev)
                tar.addfile(ti)
                stats.entries += 1
            # sockets: not archivable, skipped like tar does

    walk("", upper)
    tar.close()
    return stats


def tar_to_bytes(upper_dir, **kw) -> bytes:
    """The uncompressed layer tar of ``upper_dir`` (handy in tests)."""
    buf = io.BytesIO()
    write_layer_tar(upper_dir, buf, **kw)
    return buf.getvalue()
