"""Atomic, locked reads and writes of a container's files, and liveness checks.

Every write goes to a temp file and is renamed over the old one, so a reader
(or a crash) sees either the old state or the new, never half of one.
Read-modify-write of ``state.json`` holds ``flock`` on the container's
``lock`` file.
"""

from __future__ import annotations

import errno
import json
import os
import shutil

from .._files import locked, write_json  # noqa: F401  (the container store's vocabulary)

TRASH_PREFIX = ".trash-"
"""A container dir renamed away when ``.trash/`` could not be made (a full disk)."""


def read_json(path: str) -> dict:
    with open(path) as f:
        return json.load(f)


def update_state(cdir: str, **fields) -> dict:
    """Merge ``fields`` into ``state.json`` under the container's lock."""
    if not os.path.isdir(cdir):
        return {}
    with locked(os.path.join(cdir, "lock")):
        path = os.path.join(cdir, "state.json")
        try:
            state = read_json(path)
        except (OSError, ValueError):
            state = {}
        state.update(fields)
        write_json(path, state)
        return state


REMOVED = ".removed"        # containers/.removed/<id>: the exit code of a container just removed
REMOVED_KEEP = 120.0        # seconds a record is kept (long enough for any watcher's next look)


def removed_exit_codes(containers_dir: str) -> dict[str, int]:
    """Exit codes of the containers removed in the last couple of minutes.

    A watcher that compares snapshots (the daemon's ``/events``) can see a
    container running in one look and gone in the next — ``run`` then ``rm``
    within its poll interval. Its ``die`` event still needs the exit code."""
    d = os.path.join(containers_dir, REMOVED)
    out = {}
    try:
        names = os.listdir(d)
    except FileNotFoundError:
        return out
    for cid in names:
        try:
            with open(os.path.join(d, cid)) as f:
                out[cid] = int(f.read())
        except (OSError, ValueError):
            continue
    return out


def _record_removal(cdir: str) -> None:
    """Leave the exit code behind for :func:`removed_exit_codes`; forget old ones."""
    import time
    d = os.path.join(os.path.dirname(cdir), REMOVED)
    try:
        code = int(read_json(os.path.join(cdir, "state.json")).get("ExitCode") or 0)
        os.makedirs(d, exist_ok=True)
        with open(os.path.join(d, os.path.basename(cdir)), "w") as f:
            f.write(str(code))
        old = time.time() - REMOVED_KEEP
        for name in os.listdir(d):
            path = os.path.join(d, name)
            if os.stat(path).st_mtime < old:
                os.unlink(path)
    except (OSError, ValueError):
        pass        # only the daemon's events use it: never fail a removal for it


def remove_container_dir(cdir: str) -> None:
    """Make the container disappear atomically (rename into ``.trash``), then
    delete it. A crash in between leaves only trash, which ``system check``
    empties. The exit code stays a while in ``.removed/`` (for event watchers)."""
    _record_removal(cdir)
    trash = os.path.join(os.path.dirname(cdir), ".trash")
    dest = os.path.join(trash, os.path.basename(cdir) + f".{os.getpid()}")
    try:
        os.makedirs(trash, exist_ok=True)
    except OSError as e:
        if e.errno != errno.ENOSPC:
            raise
        # a full disk has no block for a new directory, and removing is how the
        # student frees space: a hidden name beside it (a rename needs no room)
        dest = os.path.join(os.path.dirname(cdir), f"{TRASH_PREFIX}{os.path.basename(dest)}")
    try:
        os.rename(cdir, dest)
    except FileNotFoundError:
        return
    if os.geteuid() != 0:   # rootless (issue 14): overlay's mode-000 dirs, subordinate ids
        from ..rootless.cleanup import remove_tree
        remove_tree(dest)
    else:
        shutil.rmtree(dest, ignore_errors=True)
