"""``glassbox system setup-user NAME``: what root prepares once for a rootless user.

1. **Subordinate ids.** When ``NAME`` has no line in ``/etc/subuid`` or
   ``/etc/subgid``, give them 65536 ids after every range already handed out
   (``usermod --add-subuids``/``--add-subgids``, which lock the files), so
   ``newuidmap`` maps images with several users.
2. **A delegated cgroup subtree.**

   * v1: ``/sys/fs/cgroup/<controller>/glassbox-user-<uid>`` in every
     controller a container joins, owned by the user — they may then make
     their containers' cgroups inside it and write the limits there. In the
     ``devices`` controller root first writes Docker's allow-list on the
     subtree: a user cannot write device rules, and children inherit them.
   * v2: ``/sys/fs/cgroup/glassbox-user-<uid>`` with ``cpu memory pids``
     enabled above it, the directory and its ``cgroup.procs``,
     ``cgroup.subtree_control`` and ``cgroup.threads`` owned by the user.
     (v2 moves need write access to the *common ancestor*: only processes
     already inside the subtree may use it; systemd's ``user@.service`` with
     ``Delegate=yes`` is the usual way.)

Everything is idempotent; :func:`remove` takes the cgroup subtrees away again.
"""

from __future__ import annotations

import os
import subprocess

from ..errors import InvalidArgument, KernelError
from .cgroups import CGROUP_ROOT, user_subtree

SUBID_COUNT = 65536
SUBID_FIRST = 100000


def _user(name: str):
    import pwd
    try:
        return pwd.getpwnam(name)
    except KeyError:
        raise InvalidArgument(f"no such user {name!r} (see /etc/passwd): create it first "
                              f"(useradd -m {name})") from None


def _need_root(what: str) -> None:
    if os.geteuid() != 0:
        raise InvalidArgument(f"{what} must run as root (it writes /etc/subuid and makes "
                              "cgroups for another user): sudo glassbox system setup-user NAME")


def free_range(texts: list[str], first: int = SUBID_FIRST) -> int:
    """The first id after every range in the subuid/subgid ``texts`` (at least ``first``)."""
    end = first
    for text in texts:
        for line in text.splitlines():
            parts = line.strip().split(":")
            if len(parts) == 3 and parts[1].isdigit() and parts[2].isdigit():
                end = max(end, int(parts[1]) + int(parts[2]))
    return end


def _read(path: str) -> str:
    try:
        with open(path) as f:
            return f.read()
    except FileNotFoundError:
        return ""


def ensure_subids(name: str, uid: int, etc: str = "/etc") -> list[str]:
    from .idmap import parse_subids
    files = {"subuid": os.path.join(etc, "subuid"), "subgid": os.path.join(etc, "subgid")}
    texts = {k: _read(p) for k, p in files.items()}
    report = []
    start = free_range(list(texts.values()))
    for kind, path in files.items():
        have = parse_subids(texts[kind], name, uid)
        if have:
            report.append(f"{path}: {name} has {sum(c for _, c in have)} ids already")
            continue
        flag = "--add-subuids" if kind == "subuid" else "--add-subgids"
        rng = f"{start}-{start + SUBID_COUNT - 1}"
        p = subprocess.run(["usermod", flag, rng, name], capture_output=True, text=True,
                           check=False)
        if p.returncode != 0:
            raise InvalidArgument(f"usermod {flag} {rng} {name} failed: "
                                  f"{(p.stderr or p.stdout).strip()}")
        report.append(f"{path}: {name}:{start}:{SUBID_COUNT} added")
    return report


def _chown(path: str, uid: int, gid: int) -> None:
    try:
        os.chown(path, uid, gid)
    except FileNotFoundError:
        pass


def _v1_mounts() -> dict[str, str]:
    from ..cgroups import _mounts
    from ..cgroups.v1 import mounts_from
    return mounts_from(_mounts("/proc/self/mountinfo"), CGROUP_ROOT)


def _is_v2() -> bool:
    from ..cgroups import _is_v2_root, _mounts
    return _is_v2_root(_mounts("/proc/self/mountinfo"), CGROUP_ROOT)


def delegate_v1(uid: int, gid: int, mounts: dict[str, str]) -> list[str]:
    from ..cgroups.devices import DEFAULT_ALLOW, DENY_ALL
    from ..cgroups.v1 import CONTROLLERS
    rel = user_subtree(uid)
    report = []
    for mp in dict.fromkeys(mounts[c] for c in CONTROLLERS if c in mounts):
        path = os.path.join(mp, rel)
        try:
            os.mkdir(path, 0o755)
            made = True
        except FileExistsError:
            made = False
        except OSError as e:
            raise KernelError(e.errno or 0, "mkdir", path, "is the cgroup v1 hierarchy "
                              "mounted read-write?") from None
        if mp == mounts.get("devices") and made:
            with open(os.path.join(path, "devices.deny"), "w") as f:
                f.write(DENY_ALL)
            for rule in DEFAULT_ALLOW:
                with open(os.path.join(path, "devices.allow"), "w") as f:
                    f.write(rule)
        for name in ("", "cgroup.procs", "tasks"):
            _chown(os.path.join(path, name) if name else path, uid, gid)
        report.append(f"{path}: {'made' if made else 'kept'}, owned by uid {uid}")
    return report


def delegate_v2(uid: int, gid: int, root: str = CGROUP_ROOT) -> list[str]:
    from ..cgroups.v2 import WANTED
    path = os.path.join(root, user_subtree(uid))
    available = _read(os.path.join(root, "cgroup.controllers")).split()
    for c in WANTED:
        if c in available:
            with open(os.path.join(root, "cgroup.subtree_control"), "w") as f:
                f.write(f"+{c}")
    os.makedirs(path, mode=0o755, exist_ok=True)
    for name in ("", "cgroup.procs", "cgroup.subtree_control", "cgroup.threads"):
        _chown(os.path.join(path, name) if name else path, uid, gid)
    return [f"{path}: owned by uid {uid} (only processes started inside it can use it: "
            "prefer systemd's user@.service with Delegate=yes)"]


def setup_user(name: str, *, etc: str = "/etc") -> list[str]:
    """Prepare ``name`` for rootless glassbox; returns what was done, line by line."""
    _need_root("glassbox system setup-user")
    pw = _user(name)
    if pw.pw_uid == 0:
        raise InvalidArgument("root needs no set-up: it runs glassbox rootful")
    report = ensure_subids(name, pw.pw_uid, etc)
    if _is_v2():
        report += delegate_v2(pw.pw_uid, pw.pw_gid)
    else:
        report += delegate_v1(pw.pw_uid, pw.pw_gid, _v1_mounts())
    return report


def remove(name: str) -> list[str]:
    """Remove ``name``'s delegated cgroup subtrees (they must hold no container)."""
    _need_root("glassbox system setup-user --remove")
    pw = _user(name)
    rel = user_subtree(pw.pw_uid)
    roots = [CGROUP_ROOT] if _is_v2() else list(dict.fromkeys(_v1_mounts().values()))
    report = []
    for mp in roots:
        path = os.path.join(mp, rel)
        if not os.path.isdir(path):
            continue
        for base, dirs, _ in sorted(os.walk(path, topdown=False), key=lambda w: -len(w[0])):
            try:
                os.rmdir(base)
            except OSError as e:
                raise KernelError(e.errno or 0, "rmdir", base, "a container of this user "
                                  "still runs there: stop it first") from None
        report.append(f"{path}: removed")
    return report
