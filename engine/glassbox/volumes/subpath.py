"""``VolumeOptions.Subpath`` (``--mount type=volume,...,volume-subpath=logs/web``):
mount one directory (or file) *inside* a named volume instead of the whole volume.

The subpath comes from the user and the volume's content from its containers, so
both are hostile. A path string joined onto the volume's directory and handed to
``mount(2)`` would follow any symlink a container planted there — ``logs`` swapped
for a link to ``/`` between the check and the mount mounts the host's root (the
race behind CVE-2021-30465 in runc). So the subpath is:

* checked as text first (:func:`check_subpath`): relative, no ``..``, no empty
  components;
* resolved from a directory fd of the volume, one component at a time with
  ``O_PATH | O_NOFOLLOW`` (:func:`open_beneath`): a symlink anywhere is refused, so
  the walk can never leave the volume;
* mounted from that fd (``/proc/self/fd/N`` as the bind's source: the kernel binds
  the very object the walk ended on, whatever the path says by then). The walk is
  done at create (a clear error early) and again at every start, where it counts.
"""

from __future__ import annotations

import errno
import os
import stat

from ..errors import InvalidArgument, NotFound


def check_subpath(subpath: str, what: str = "volume-subpath") -> list[str]:
    """The components of a subpath, or :class:`InvalidArgument` naming it."""
    text = str(subpath)
    if not text or text.startswith("/"):
        raise InvalidArgument(f"invalid {what} {subpath!r}: it must be a relative path "
                              "inside the volume, e.g. logs/web")
    parts = [p for p in text.split("/") if p not in ("", ".")]
    if ".." in parts:
        raise InvalidArgument(f"invalid {what} {subpath!r}: '..' is not allowed (a subpath "
                              "stays inside its volume)")
    if not parts:
        raise InvalidArgument(f"invalid {what} {subpath!r}: it names the volume itself; "
                              "leave it out to mount the whole volume")
    return parts


def open_beneath(base: str, subpath: str, what: str = "volume-subpath") -> int:
    """An ``O_PATH`` fd of ``base/subpath``, reached without following any symlink
    (the caller closes it). A missing component is :class:`NotFound`, a symlink or a
    non-directory on the way :class:`InvalidArgument`, each naming the subpath."""
    parts = check_subpath(subpath, what)
    flags = os.O_PATH | os.O_NOFOLLOW | os.O_CLOEXEC
    fd = os.open(base, flags | os.O_DIRECTORY)
    try:
        for i, part in enumerate(parts):
            try:
                nfd = os.open(part, flags, dir_fd=fd)
            except FileNotFoundError:
                raise NotFound(f"{what} {subpath!r}: {'/'.join(parts[:i + 1])} does not exist "
                               "in the volume (create it there first)") from None
            except OSError as e:
                raise InvalidArgument(f"{what} {subpath!r}: cannot open "
                                      f"{'/'.join(parts[:i + 1])}: "
                                      f"{os.strerror(e.errno or errno.EIO)}") from None
            os.close(fd)
            fd = nfd
            mode = os.fstat(fd).st_mode
            if stat.S_ISLNK(mode):
                raise InvalidArgument(f"{what} {subpath!r}: {'/'.join(parts[:i + 1])} is a "
                                      "symbolic link; a subpath may not follow links")
            if i < len(parts) - 1 and not stat.S_ISDIR(mode):
                raise InvalidArgument(f"{what} {subpath!r}: {'/'.join(parts[:i + 1])} is not "
                                      "a directory")
        return fd
    except BaseException:
        os.close(fd)
        raise


def check_exists(base: str, subpath: str) -> None:
    """At create: the subpath must be reachable now (same walk, fd closed)."""
    os.close(open_beneath(base, subpath))
