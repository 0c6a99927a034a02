"""The storage ceiling of a state root, and the error a full one gives.

A class shares one disk. So that one student's ``dd if=/dev/zero`` in a
container, or a huge image or build, cannot fill it for everyone, the hub's
spawner (``deploy/hub/student_disk.py``) puts each student's state root on a
filesystem of its own: a fixed-size ext4 image, loop-mounted at the state root.
Everything glassbox stores for that student — layers, containers' writable
layers, volumes, build caches — is inside it; when it is full, only that
student gets ``ENOSPC``.

This module only *reads* such a ceiling (no privilege needed): a state root is
"on a quota" when it is the root of its own mount, so the filesystem's size is
the student's ceiling. ``glassbox doctor`` shows it, and
:func:`no_space_error` turns a bare ``ENOSPC`` into a message naming the
ceiling and how to free space.
"""

from __future__ import annotations

import os
from dataclasses import dataclass


@dataclass(frozen=True)
class Quota:
    """The filesystem a state root lives on (sizes in bytes)."""

    root: str
    size: int          # the filesystem's size: the ceiling when ``own`` is true
    free: int          # what an unprivileged writer can still use
    own: bool          # the state root is the root of a mount of its own

    @property
    def used(self) -> int:
        return self.size - self.free


def _existing(path: str) -> str:
    while path and not os.path.exists(path):
        path = os.path.dirname(path)
    return path or "/"


def is_own_mount(path: str) -> bool:
    """True when ``path`` is a mount point (its device differs from its parent's,
    or it is listed in this namespace's mountinfo, for a bind of the same fs)."""
    try:
        if os.stat(path).st_dev != os.stat(os.path.dirname(path.rstrip("/")) or "/").st_dev:
            return True
        real = os.path.realpath(path)
        with open("/proc/self/mountinfo") as f:
            return any(ln.split()[4] == real for ln in f)
    except OSError:
        return False


def describe(root: str) -> Quota:
    """The filesystem under ``root`` (or under its nearest existing parent)."""
    probe = _existing(root)
    st = os.statvfs(probe)
    return Quota(root, st.f_blocks * st.f_frsize, st.f_bavail * st.f_frsize,
                 probe == root and is_own_mount(root))


def human(n: float) -> str:
    """Bytes for people, in powers of 1000 as ``glassbox system df`` shows them."""
    for unit in ("B", "kB", "MB", "GB", "TB"):
        if n < 1000 or unit == "TB":
            return f"{n:.1f} {unit}" if unit != "B" else f"{int(n)} B"
        n /= 1000
    return f"{n:.1f} TB"


FREE_SPACE = ("free space: glassbox system df shows what takes it; remove containers "
              "(glassbox rm, container prune), images (glassbox rmi, "
              "image prune -a) and volumes (volume prune)")


def no_space_error(root: str, what: str = ""):
    """The clear error for ``ENOSPC`` under ``root``: which ceiling is full and
    how to make room. Returns a :class:`~glassbox.errors.GlassboxError`."""
    from .errors import GlassboxError
    try:
        q = describe(root)
    except OSError:
        q = None
    where = f" ({what})" if what else ""
    if q is not None and q.own:
        msg = (f"no space left in your glassbox storage{where}: {root} is a "
               f"{human(q.size)} quota and {human(q.used)} of it is used; {FREE_SPACE}")
    else:
        msg = f"no space left on the disk of {root}{where}; {FREE_SPACE}"
    return GlassboxError(msg)
