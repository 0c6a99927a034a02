"""Mounting the image layers and the read/write layer as one overlay."""

from __future__ import annotations

import os

from ..errors import InvalidArgument


def overlay_options(lower_dirs: list[str], upper_dir: str | None, work_dir: str | None,
                    userxattr: bool = False) -> str:
    """The overlay mount data. ``lower_dirs`` is bottom -> top (image order);
    overlay wants the top-most lower first. ``userxattr`` (a rootless mount, in
    a user namespace, kernel >= 5.11): overlay keeps its own metadata (opaque
    dirs) in ``user.overlay.*`` xattrs, since ``trusted.*`` needs host root."""
    if not lower_dirs:
        raise InvalidArgument("an overlay needs at least one lower layer")
    opts = "lowerdir=" + ":".join(reversed(lower_dirs))
    if upper_dir:
        opts += f",upperdir={upper_dir},workdir={work_dir}"
    if userxattr:
        opts += ",userxattr"
    return opts


def mount_overlay(sys_, merged: str, lower_dirs: list[str], upper_dir: str | None,
                  work_dir: str | None, readonly: bool = False, userxattr: bool = False) -> None:
    """Mount the layers at ``merged``. With no upper dir the mount is read-only."""
    from .._sys.constants import MS_RDONLY
    from ..errors import KernelError
    os.makedirs(merged, exist_ok=True)
    try:
        sys_.mount("overlay", merged, "overlay", MS_RDONLY if readonly or not upper_dir else 0,
                   overlay_options(lower_dirs, upper_dir, work_dir, userxattr))
    except KernelError as e:
        if not userxattr:
            raise
        raise KernelError(e.errno, "mount", f"overlay on {merged}",
                          "the kernel refused an overlay inside a user namespace on the "
                          "filesystem of the state root (it needs Linux >= 5.11 and an upper "
                          "filesystem such as ext4, xfs, btrfs or tmpfs — not overlay, NFS or "
                          "FUSE): set GLASSBOX_ROOT (or XDG_DATA_HOME) to a directory on a "
                          "local filesystem") from None
