"""Docker's masked and read-only paths, applied inside the new root."""

from __future__ import annotations

import os

from .._sys.constants import MS_BIND, MS_RDONLY, MS_REC, MS_REMOUNT, MS_NOSUID, MS_NODEV, \
    MS_NOEXEC
from ..errors import KernelError


def mask_paths(sys_, rootfs: str, paths) -> None:
    """Hide each path: /dev/null over a file, an empty read-only tmpfs over a dir."""
    for path in paths:
        full = rootfs + path
        try:
            is_dir = os.path.isdir(full)
            if not is_dir and not os.path.exists(full):
                continue
            if is_dir:
                sys_.mount("tmpfs", full, "tmpfs", MS_RDONLY, "size=0k")
            else:
                sys_.mount(rootfs + "/dev/null", full, None, MS_BIND)
        except KernelError:
            continue  # a path the kernel does not offer: nothing to hide


def readonly_paths(sys_, rootfs: str, paths) -> None:
    """Bind each path on itself, then remount the bind read-only."""
    for path in paths:
        full = rootfs + path
        if not os.path.exists(full):
            continue
        sys_.mount(full, full, None, MS_BIND | MS_REC)
        sys_.mount(full, full, None,
                   MS_BIND | MS_REC | MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC)
