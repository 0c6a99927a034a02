"""Copy-up: a fresh, empty volume starts with the image's files at its target.

``docker run -v data:/etc/nginx nginx`` finds nginx's config in the new volume:
when an *empty* volume is mounted over a path the image has files at, Docker
first copies those files (owners, modes and times kept) into the volume.
Bind mounts and tmpfs never get this; ``nocopy`` turns it off.

The image is not mounted for this: its layers are plain directories (bottom
-> top), so the merged view at one path is computed the way overlayfs would:
a higher layer's file replaces a lower one, a *whiteout* deletes, an *opaque*
directory hides everything below it. Both spellings of those markers are
understood (overlay's 0:0 char device / ``trusted.overlay.opaque`` xattr,
and OCI's ``.wh.name`` / ``.wh..wh..opq`` files).

Layer content is untrusted: every write goes through directory file
descriptors opened with ``O_NOFOLLOW``, so a symlink in the image (or one a
running container just planted in the volume) can never redirect a write
outside the volume.
"""

from __future__ import annotations

import os
import shutil
import stat

from ..images.layers import (WHITEOUT_OPAQUE, WHITEOUT_PREFIX, is_overlay_opaque,
                             is_overlay_whiteout)

_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC


def _opaque(path: str) -> bool:
    return is_overlay_opaque(path) or os.path.lexists(os.path.join(path, WHITEOUT_OPAQUE))


def _oci_whiteout(layer: str, rel: str) -> bool:
    head, base = os.path.split(rel)
    return os.path.lexists(os.path.join(layer, head, WHITEOUT_PREFIX + base))


def image_dirs_at(layer_dirs, target: str) -> list[str]:
    """The directories (bottom -> top) whose merge is the image's content at
    ``target``; ``[]`` when the image has no directory there."""
    parts = [p for p in target.split("/") if p and p != "."]
    found: list[str] = []
    for layer in reversed(list(layer_dirs)):
        hides_lower = False
        contributes = False
        for depth in range(1, len(parts) + 1):
            rel = os.path.join(*parts[:depth])
            if _oci_whiteout(layer, rel):
                hides_lower = True
                break
            path = os.path.join(layer, rel)
            try:
                st = os.lstat(path)
            except (FileNotFoundError, NotADirectoryError):
                break  # this layer says nothing about target
            if is_overlay_whiteout(st) or not stat.S_ISDIR(st.st_mode):
                hides_lower = True  # deleted, or replaced by a file/symlink
                break
            if _opaque(path):
                hides_lower = True
            if depth == len(parts):
                contributes = True
            elif hides_lower:
                # an opaque ancestor: lower layers are hidden; this layer may still
                # have the target below it — keep walking this layer
                continue
        if contributes:
            found.append(os.path.join(layer, *parts) if parts else layer)
        if hides_lower:
            break
    return list(reversed(found))


def _remove_at(dir_fd: int, name: str) -> None:
    try:
        st = os.lstat(name, dir_fd=dir_fd)
    except FileNotFoundError:
        return
    if stat.S_ISDIR(st.st_mode):
        shutil.rmtree(name, dir_fd=dir_fd)
    else:
        os.unlink(name, dir_fd=dir_fd)


def _clear(dir_fd: int) -> None:
    for name in os.listdir(dir_fd):
        _remove_at(dir_fd, name)


def _set_meta(fd_or_name, st: os.stat_result, dir_fd: int | None = None,
              symlink: bool = False) -> None:
    """Owner, mode and times as in the image."""
    try:
        if isinstance(fd_or_name, int):
            os.fchown(fd_or_name, st.st_uid, st.st_gid)
            os.fchmod(fd_or_name, stat.S_IMODE(st.st_mode))
            os.utime(fd_or_name, ns=(st.st_atime_ns, st.st_mtime_ns))
        else:
            os.chown(fd_or_name, st.st_uid, st.st_gid, dir_fd=dir_fd, follow_symlinks=False)
            if not symlink:
                os.chmod(fd_or_name, stat.S_IMODE(st.st_mode), dir_fd=dir_fd)
            os.utime(fd_or_name, ns=(st.st_atime_ns, st.st_mtime_ns), dir_fd=dir_fd,
                     follow_symlinks=False)
    except (PermissionError, NotImplementedError):
        pass  # unprivileged (unit tests): keep what we have


def _copy_file(src: str, st: os.stat_result, dst_fd: int, name: str) -> None:
    with open(src, "rb") as fin:
        fd = os.open(name, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC,
                     0o600, dir_fd=dst_fd)
        with open(fd, "wb") as fout:
            shutil.copyfileobj(fin, fout, 1 << 20)
            fout.flush()
            _set_meta(fout.fileno(), st)


def _merge(src: str, dst_fd: int) -> int:
    """Apply one layer's directory ``src`` onto the open directory ``dst_fd``.
    Returns the number of entries copied."""
    n = 0
    with os.scandir(src) as it:
        entries = sorted(it, key=lambda e: e.name)
    for entry in entries:
        name = entry.name
        if name == WHITEOUT_OPAQUE:
            continue
        if name.startswith(WHITEOUT_PREFIX):
            _remove_at(dst_fd, name[len(WHITEOUT_PREFIX):])
            continue
        st = entry.stat(follow_symlinks=False)
        if is_overlay_whiteout(st):
            _remove_at(dst_fd, name)
            continue
        if stat.S_ISDIR(st.st_mode):
            try:
                cur = os.lstat(name, dir_fd=dst_fd)
                if not stat.S_ISDIR(cur.st_mode):
                    os.unlink(name, dir_fd=dst_fd)
                    cur = None
            except FileNotFoundError:
                cur = None
            if cur is None:
                os.mkdir(name, 0o700, dir_fd=dst_fd)
            sub = os.open(name, _DIR_FLAGS, dir_fd=dst_fd)
            try:
                if cur is not None and _opaque(entry.path):
                    _clear(sub)
                n += 1 + _merge(entry.path, sub)
                _set_meta(sub, st)
            finally:
                os.close(sub)
        elif stat.S_ISLNK(st.st_mode):
            _remove_at(dst_fd, name)
            os.symlink(os.readlink(entry.path), name, dir_fd=dst_fd)
            _set_meta(name, st, dst_fd, symlink=True)
            n += 1
        elif stat.S_ISREG(st.st_mode):
            _remove_at(dst_fd, name)
            _copy_file(entry.path, st, dst_fd, name)
            n += 1
        elif stat.S_ISFIFO(st.st_mode):
            _remove_at(dst_fd, name)
            os.mkfifo(name, stat.S_IMODE(st.st_mode), dir_fd=dst_fd)
            _set_meta(name, st, dst_fd)
            n += 1
        # sockets and device nodes are never copied into a volume
    return n


def copy_image_content(layer_dirs, target: str, dest: str) -> int:
    """Fill the (empty) directory ``dest`` with the image's files at ``target``.

    Returns how many entries were copied (0: the image has nothing there).
    ``dest`` itself takes the owner and mode of the image's directory, as
    Docker does, so a volume over ``/var/lib/postgresql`` stays the
    postgres user's.
    """
    dirs = image_dirs_at(layer_dirs, target)
    if not dirs:
        return 0
    fd = os.open(dest, _DIR_FLAGS)
    try:
        if os.listdir(fd):
            return 0  # not empty: never overwrite data
        n = 0
        for src in dirs:
            n += _merge(src, fd)
        _set_meta(fd, os.lstat(dirs[-1]))
        return n
    finally:
        os.close(fd)
