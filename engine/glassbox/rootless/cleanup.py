"""Removing a rootless container's files from the host side.

Two things stop an ordinary user's ``rm -rf`` of a container directory that
root's would not notice:

* overlay leaves its ``work/work`` directory mode ``000`` — the owner may
  ``chmod`` it back first;
* files a container process made as a non-root container user belong to the
  user's *subordinate* ids (container uid 1000 is host uid 100999): only root
  of a user namespace with the same map may delete them. :func:`remove_tree`
  then forks a child that becomes that root (:func:`.userns.enter`) and
  deletes from there.
"""

from __future__ import annotations

import os
import shutil
import stat


def _open_up(path: str) -> None:
    """chmod u+rwx every directory we own under ``path`` (overlay's work/work)."""
    uid = os.geteuid()
    for base, dirs, _ in os.walk(path):
        for d in dirs:
            full = os.path.join(base, d)
            try:
                st = os.lstat(full)
                if st.st_uid == uid and stat.S_ISDIR(st.st_mode) and st.st_mode & 0o700 != 0o700:
                    os.chmod(full, st.st_mode | 0o700)
            except OSError:
                continue      # (os.walk is top-down: a dir opened up here is then listed)


def _rmtree_in_userns(path: str) -> None:
    from .idmap import host_plan
    from .userns import enter
    plan = host_plan()
    if not plan.helper:
        return                  # a single-id map owns nothing we could not remove already
    pid = os.fork()
    if pid == 0:
        try:
            enter(plan)
            shutil.rmtree(path, ignore_errors=True)
        finally:
            os._exit(0)
    os.waitpid(pid, 0)


def remove_tree(path: str) -> None:
    """``rm -rf path`` for a rootless user; what cannot go stays (``system check``)."""
    _open_up(path)
    shutil.rmtree(path, ignore_errors=True)
    if os.path.lexists(path):
        _rmtree_in_userns(path)
