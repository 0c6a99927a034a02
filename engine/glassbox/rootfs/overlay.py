"""Mounting the image layers and the read/write layer as one overlay."""

from __future__ import annotations

import os

from ..errors import InvalidArgument


def overlay_options(lower_dirs: list[str], upper_dir: str | None, work_dir: str | None) -> str:
    """The overlay mount data. ``lower_dirs`` is bottom -> top (image order);
    overlay wants the top-most lower first."""
    if not lower_dirs:
        raise InvalidArgument("an overlay needs at least one lower layer")
    opts = "lowerdir=" + ":".join(reversed(lower_dirs))
    if upper_dir:
        opts += f",upperdir={upper_dir},workdir={work_dir}"
    return opts


def mount_overlay(sys_, merged: str, lower_dirs: list[str], upper_dir: str | None,
                  work_dir: str | None, readonly: bool = False) -> None:
    """Mount the layers at ``merged``. With no upper dir the mount is read-only."""
    from .._sys.constants import MS_RDONLY
    os.makedirs(merged, exist_ok=True)
    sys_.mount("overlay", merged, "overlay", MS_RDONLY if readonly or not upper_dir else 0,
               overlay_options(lower_dirs, upper_dir, work_dir))
