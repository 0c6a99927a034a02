"""Which host ids a rootless container's ids are: ``/etc/subuid`` and the map.

A user namespace starts with no ids at all; its creator writes
``/proc/<pid>/uid_map`` lines ``INSIDE OUTSIDE COUNT``. An ordinary user may
write exactly one line by themselves, mapping their own uid::

    0 1001 1                      # the single-id map: only root exists inside

More needs the *subordinate ids* root gave the user (``/etc/subuid``,
``/etc/subgid``: ``name:start:count`` lines, shadow's ``usermod
--add-subuids``) and the setuid helpers that check them, ``newuidmap`` and
``newgidmap`` (Debian package ``uidmap``)::

    0 1001 1                      # container root = the user
    1 100000 65536                # container uid 1.. = the user's subordinate range

This module is pure: it parses the files' text and plans the maps;
:mod:`.userns` applies a plan to a process.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass

MAX_LINES = 340            # the kernel's limit on lines in one uid_map (since 4.15)
OVERFLOW_ID = 65534        # what an unmapped id shows as (/proc/sys/kernel/overflowuid)


@dataclass(frozen=True)
class IdRange:
    """``inside`` .. ``inside+count-1`` in the namespace are ``outside`` .. on the host."""

    inside: int
    outside: int
    count: int

    def line(self) -> str:
        return f"{self.inside} {self.outside} {self.count}"


@dataclass(frozen=True)
class IdMapPlan:
    """The uid and gid maps for one user namespace, and how they get written.

    ``helper`` true: ``newuidmap``/``newgidmap`` write them (subordinate ids);
    false: the single-id map the user may write alone. ``reason`` says why
    there are no subordinate ids (for ``info`` and error messages)."""

    uids: tuple[IdRange, ...]
    gids: tuple[IdRange, ...]
    helper: bool
    reason: str = ""
    kind: str = ""          # "private": a rootful --userns=private map (rootless/private.py)

    @property
    def mode(self) -> str:
        return self.kind or ("subids" if self.helper else "single")

    @property
    def size(self) -> int:
        return sum(r.count for r in self.uids)

    def inside(self, host_id: int, gids: bool = False) -> int:
        """The container id a host id is (``stat`` of a file a container made ->
        the owner a committed layer records); unmapped ids are 65534 (nobody)."""
        for r in (self.gids if gids else self.uids):
            if r.outside <= host_id < r.outside + r.count:
                return r.inside + host_id - r.outside
        return OVERFLOW_ID

    def to_json(self) -> dict:
        return {"Mode": self.mode, "UidMap": [r.line() for r in self.uids],
                "GidMap": [r.line() for r in self.gids], "Reason": self.reason}

    @classmethod
    def from_json(cls, data: dict) -> "IdMapPlan":
        """The plan :meth:`to_json` recorded (``config.json``/``state.json``)."""
        def ranges(lines):
            return tuple(IdRange(*map(int, line.split())) for line in lines)
        mode = data.get("Mode", "")
        return cls(ranges(data["UidMap"]), ranges(data["GidMap"]), helper=mode == "subids",
                   reason=data.get("Reason", ""),
                   kind=mode if mode not in ("subids", "single") else "")


def parse_subids(text: str, name: str, uid: int) -> list[tuple[int, int]]:
    """The ``(start, count)`` ranges of ``name`` (or its numeric uid) in a
    subuid/subgid file's text, in file order; malformed lines are skipped."""
    out = []
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        parts = line.split(":")
        if len(parts) != 3 or parts[0] not in (name, str(uid)):
            continue
        try:
            start, count = int(parts[1]), int(parts[2])
        except ValueError:
            continue
        if start >= 0 and count > 0 and start + count <= 1 << 32:
            out.append((start, count))
    return out


def _ranges(own: int, subs: list[tuple[int, int]]) -> tuple[IdRange, ...]:
    """0 -> ``own``; then 1.. across the subordinate ranges, without overlapping
    ``own`` or each other (newuidmap refuses overlaps)."""
    maps = [IdRange(0, own, 1)]
    inside = 1
    taken: list[tuple[int, int]] = [(own, own + 1)]
    for start, count in subs:
        end = start + count
        if any(start < b and a < end for a, b in taken):
            continue
        if len(maps) >= MAX_LINES or inside + count > 1 << 32:
            break
        maps.append(IdRange(inside, start, count))
        taken.append((start, end))
        inside += count
    return tuple(maps)


def single(uid: int, gid: int, reason: str) -> IdMapPlan:
    return IdMapPlan((IdRange(0, uid, 1),), (IdRange(0, gid, 1),), helper=False, reason=reason)


def plan(uid: int, gid: int, name: str, subuid_text: str | None, subgid_text: str | None, *,
         have_helpers: bool, no_new_privs: bool = False) -> IdMapPlan:
    """The maps for a user namespace made by ``uid``/``gid`` (login ``name``).

    Subordinate ids when the user has entries in both files and the helpers
    can run; else the single-id map, with the reason."""
    if subuid_text is None or subgid_text is None:
        return single(uid, gid, "no /etc/subuid or /etc/subgid on this host")
    subuids = parse_subids(subuid_text, name, uid)
    subgids = parse_subids(subgid_text, name, uid)
    if not subuids or not subgids:
        which = "/etc/subuid" if not subuids else "/etc/subgid"
        return single(uid, gid, f"{name} has no entry in {which} (as root: glassbox system "
                                f"setup-user {name})")
    if not have_helpers:
        return single(uid, gid, "newuidmap/newgidmap are not installed (Debian package "
                                "uidmap)")
    if no_new_privs:
        return single(uid, gid, "no_new_privs is set on this process: the setuid helpers "
                                "newuidmap/newgidmap cannot gain their privilege")
    return IdMapPlan(_ranges(uid, subuids), _ranges(gid, subgids), helper=True)


def _read(path: str) -> str | None:
    try:
        with open(path) as f:
            return f.read()
    except OSError:
        return None


def login_name(uid: int) -> str:
    import pwd
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return str(uid)


def no_new_privs() -> bool:
    """Is ``NoNewPrivs`` set on this process (``setpriv --no-new-privs``)?"""
    for line in (_read("/proc/self/status") or "").splitlines():
        if line.startswith("NoNewPrivs:"):
            return line.split()[1] == "1"
    return False


def helpers() -> tuple[str, str] | None:
    """Paths of ``newuidmap`` and ``newgidmap``, or None when either is missing."""
    path = os.environ.get("PATH", "") + ":/usr/bin:/bin:/usr/sbin"
    u, g = shutil.which("newuidmap", path=path), shutil.which("newgidmap", path=path)
    return (u, g) if u and g else None


def host_plan(uid: int | None = None, gid: int | None = None, *, etc: str = "/etc") -> IdMapPlan:
    """The plan for the calling user on this host."""
    uid = os.geteuid() if uid is None else uid
    gid = os.getegid() if gid is None else gid
    return plan(uid, gid, login_name(uid), _read(os.path.join(etc, "subuid")),
                _read(os.path.join(etc, "subgid")), have_helpers=helpers() is not None,
                no_new_privs=no_new_privs())
