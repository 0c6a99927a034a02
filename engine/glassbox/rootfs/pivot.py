"""Switching the root: ``pivot_root`` so no host mount stays reachable.

The ``pivot_root(".", ".")`` trick (as runc does) stacks the old root under
the new one at the same place; a lazy unmount of "." then drops the old root
without needing a directory for it in the image.
"""

from __future__ import annotations

import os

from .._sys.constants import MNT_DETACH, MS_PRIVATE, MS_REC, MS_SLAVE


def pivot(sys_, rootfs: str) -> None:
    old = os.open("/", os.O_DIRECTORY | os.O_RDONLY)
    new = os.open(rootfs, os.O_DIRECTORY | os.O_RDONLY)
    try:
        os.fchdir(new)
        sys_.pivot_root(".", ".")
        os.fchdir(old)
        # make the old root a slave so unmounting it does not propagate anywhere
        sys_.mount(None, ".", None, MS_SLAVE | MS_REC)
        sys_.umount(".", MNT_DETACH)
        os.chdir("/")
    finally:
        os.close(old)
        os.close(new)


def make_private(sys_) -> None:
    """Stop mount events in the new namespace from propagating to the host."""
    sys_.mount(None, "/", None, MS_REC | MS_PRIVATE)
