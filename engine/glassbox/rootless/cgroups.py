"""cgroups for a rootless user: a *delegated* subtree, or none at all.

Writing ``memory.limit_in_bytes`` or ``cgroup.procs`` is a file write checked
by ordinary permissions, so an ordinary user can limit containers exactly in
the cgroup directories they own. Root hands such a subtree over once
(*delegation*):

* **v1** — ``glassbox system setup-user NAME`` makes
  ``/sys/fs/cgroup/<controller>/glassbox-user-<uid>`` in every controller a
  container joins and chowns it to the user; their containers then live in
  ``glassbox-user-<uid>/glassbox/<id>``.
* **v2** — systemd's ``user@<uid>.service`` with ``Delegate=yes`` gives the
  user the subtree their login runs in; glassbox uses the highest ancestor of
  its own cgroup the user owns. (On v2 a process may only be moved between
  cgroups whose *common ancestor* the mover may write: a subtree merely
  chowned to the user is usable only by processes already inside it.)

Without delegation a container still runs, without a cgroup: :class:`NoCgroup`
stands in, and any limit is refused up front by :func:`refuse` — never
silently ignored.
"""

from __future__ import annotations

import os
from typing import NoReturn

from ..errors import Conflict, InvalidArgument

CGROUP_ROOT = "/sys/fs/cgroup"


def user_subtree(uid: int) -> str:
    """The per-user v1 subtree ``setup-user`` makes (relative to each hierarchy)."""
    return f"glassbox-user-{uid}"


def _owned_writable(path: str, uid: int) -> bool:
    """Owned by ``uid`` and writable (a directory: also searchable) by us."""
    import stat
    try:
        st = os.stat(path)
    except OSError:
        return False
    mode = os.W_OK | (os.X_OK if stat.S_ISDIR(st.st_mode) else 0)
    return st.st_uid == uid and os.access(path, mode)


def v1_delegation(uid: int, mounts: dict[str, str]) -> str | None:
    """The user's v1 subtree when it exists, owned by them, in every controller
    a container joins (``mounts``: controller -> mount point); else None."""
    from ..cgroups.v1 import CONTROLLERS
    rel = user_subtree(uid)
    wanted = [c for c in CONTROLLERS if c in mounts]
    if not wanted:
        return None
    if all(_owned_writable(os.path.join(mounts[c], rel), uid) for c in wanted):
        return rel
    return None


def v2_delegation(uid: int, root: str = CGROUP_ROOT, self_cgroup: str = "/proc/self/cgroup"
                  ) -> str | None:
    """The highest ancestor of our own v2 cgroup that ``uid`` owns (systemd's
    delegated ``user@<uid>.service``), relative to ``root``; else None."""
    try:
        with open(self_cgroup) as f:
            line = next((ln for ln in f if ln.startswith("0::")), "")
    except OSError:
        return None
    rel = line[3:].strip().strip("/")
    best = None
    parts = rel.split("/") if rel else []
    for i in range(len(parts), 0, -1):
        cand = "/".join(parts[:i])
        if _owned_writable(os.path.join(root, cand), uid) and \
                _owned_writable(os.path.join(root, cand, "cgroup.procs"), uid):
            best = cand
        else:
            break
    return best


def user_parent(requested: str = "glassbox", uid: int | None = None) -> str | None:
    """The cgroup parent for this rootless user's containers: ``requested``
    (``GLASSBOX_CGROUP_PARENT``, default ``glassbox``) under the delegated
    subtree, or None without delegation (containers run without a cgroup)."""
    from ..cgroups import _is_v2_root, _mounts
    from ..cgroups.v1 import mounts_from
    uid = os.geteuid() if uid is None else uid
    try:
        mounts = _mounts("/proc/self/mountinfo")
    except OSError:
        return None
    if _is_v2_root(mounts, CGROUP_ROOT):
        base = v2_delegation(uid)
    else:
        base = v1_delegation(uid, mounts_from(mounts, CGROUP_ROOT))
    if base is None:
        return None
    return f"{base}/{requested.strip('/')}" if requested.strip("/") else base


def missing_delegation_message(what: str, uid: int | None = None, *, limit: bool = True) -> str:
    from .idmap import login_name
    uid = os.geteuid() if uid is None else uid
    name = login_name(uid)
    return (f"{what} needs a cgroup, and rootless user {name} has no delegated cgroup "
            f"subtree ({CGROUP_ROOT}/<controller>/{user_subtree(uid)} on cgroup v1, a "
            "Delegate=yes user@.service on v2): run once as root "
            f"`glassbox system setup-user {name}`" + (", or drop the limit" if limit else ""))


def refuse(limits, parent: str | None) -> None:
    """Refuse limits when there is no cgroup to write them to (create, update)."""
    if parent is not None or limits.is_empty():
        return
    asked = [f"--{n.replace('_', '-')}" for n, v in (
        ("memory", limits.memory), ("memory_swap", limits.memory_swap), ("cpus", limits.cpus),
        ("cpu_shares", limits.cpu_shares), ("pids_limit", limits.pids)) if v is not None]
    raise InvalidArgument(missing_delegation_message(" ".join(asked)))


class NoCgroup:
    """The stand-in manager for a rootless container without a cgroup.

    Creating, joining and removing do nothing; applying an empty Limits is
    fine; anything that needs a real cgroup (a limit, stats, pause, the process
    list) raises with the fix."""

    version = 0
    journal: list[tuple[str, str]] = []

    def __init__(self, name: str):
        self.name = name
        self.warnings: list[str] = []

    def __repr__(self) -> str:
        return f"<NoCgroup {self.name}: rootless, no delegation>"

    def _refuse(self, what: str) -> NoReturn:
        raise Conflict(missing_delegation_message(what, limit=False))

    def create(self) -> "NoCgroup":
        return self

    def apply(self, limits) -> None:
        if not limits.is_empty():
            refuse(limits, None)

    def add(self, pid: int) -> None:
        pass

    def pids(self) -> list[int]:
        self._refuse("listing a rootless container's processes (top)")

    def stats(self):
        from ..errors import NotFound
        raise NotFound(missing_delegation_message("stats", limit=False))

    def oom_killed(self) -> bool:
        return False

    def freeze(self, timeout: float = 5.0) -> None:
        self._refuse("pause (the freezer)")

    def thaw(self, timeout: float = 5.0) -> None:
        self._refuse("unpause (the freezer)")

    def kill_all(self, sig: int = 9) -> None:
        self._refuse("killing every process of the container")

    def destroy(self, remove_parent_if_empty: bool = False, timeout: float = 2.0) -> None:
        pass

    def paths(self) -> dict[str, str]:
        return {}

    def exists(self) -> bool:
        return False
