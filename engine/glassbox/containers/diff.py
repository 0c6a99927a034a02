"""``glassbox diff``: what a container changed, read straight from its upper dir.

Overlay records a container's changes in its read/write layer: new and
modified files are copied up, a deleted file becomes a *whiteout* (a 0:0
character device), a directory replaced wholesale is marked *opaque* (the
``trusted.overlay.opaque`` xattr). Walking the upper dir and comparing with the
image's layers gives Docker's ``A`` (added), ``C`` (changed) and ``D``
(deleted) lines.
"""

from __future__ import annotations

import os
import stat


def _is_whiteout(st: os.stat_result) -> bool:
    return stat.S_ISCHR(st.st_mode) and st.st_rdev == 0


def _in_lower(rel: str, lower_dirs: list[str]) -> bool:
    """Does ``rel`` exist in the image (top-most layer wins, whiteouts hide)?"""
    for layer in reversed(lower_dirs):
        path = os.path.join(layer, rel)
        try:
            st = os.lstat(path)
        except FileNotFoundError:
            # an OCI whiteout inside the layer hides it for lower layers
            base, name = os.path.split(rel)
            if os.path.lexists(os.path.join(layer, base, ".wh." + name)):
                return False
            continue
        except NotADirectoryError:
            return False
        return not _is_whiteout(st)
    return False


def changes(upper_dir: str, lower_dirs: list[str]) -> list[tuple[str, str]]:
    """Sorted ``(kind, "/path")`` pairs, kind in ``A``, ``C``, ``D``."""
    out: list[tuple[str, str]] = []
    for base, dirs, files in os.walk(upper_dir):
        rel_base = os.path.relpath(base, upper_dir)
        for name in sorted(dirs + files):
            full = os.path.join(base, name)
            rel = os.path.normpath(os.path.join(rel_base, name))
            st = os.lstat(full)
            if _is_whiteout(st):
                out.append(("D", "/" + rel))
                if name in dirs:
                    dirs.remove(name)
                continue
            out.append(("C" if _in_lower(rel, lower_dirs) else "A", "/" + rel))
            if name in dirs and not _in_lower(rel, lower_dirs):
                # everything under a new directory is new: list it, don't re-check
                for sub_base, sub_dirs, sub_files in os.walk(full):
                    for sub in sorted(sub_dirs + sub_files):
                        out.append(("A", "/" + os.path.normpath(os.path.relpath(
                            os.path.join(sub_base, sub), upper_dir))))
                dirs.remove(name)
    return sorted(out, key=lambda kv: kv[1])


def upper_size(upper_dir: str) -> int:
    """The bytes of the regular files (and links) in a read/write layer: what the
    container wrote, Docker's ``SizeRw``. Directories and whiteouts count nothing."""
    total = 0
    for base, _, files in os.walk(upper_dir):
        for f in files:
            try:
                total += os.lstat(os.path.join(base, f)).st_size
            except OSError:
                pass
    return total
