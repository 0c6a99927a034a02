"""``glassbox doctor``: what this machine lets the lab do, and at which tier.

A container is a bundle of kernel features — user and other namespaces, an
overlay mount, a fresh ``/proc``, cgroups, a device filter, seccomp, bridges —
and a machine may grant some and refuse others: a laptop as root grants all; a
JupyterHub account grants user namespaces but no bridges on the host; a
mybinder.org pod refuses new user namespaces and mounts altogether. The doctor
*tries* each feature for real (in a throwaway child, never in this process) and
prints one line per feature, with the reason when it is refused and the fix::

    FEATURE              STATUS  DETAIL
    privilege            root    running as uid 0
    user namespaces      ok      unshare(CLONE_NEWUSER) works
    overlay in userns    ok      ...

From the lines it picks the **tier** the lab runs at:

* ``full`` — root: everything, limits included;
* ``rootless`` — an ordinary user with user namespaces, overlay and ``/proc``
  inside them (``rootless (limits)`` when a cgroup subtree is delegated);
* ``user-space`` — no container can start here; what needs no kernel
  privilege still works for real: pull and push, manifests and layers, the
  layer tree, Dockerfile parsing and cache keys, the spec glassbox would run.

The probes use util-linux's ``unshare`` and iproute2's ``ip`` in child
processes, so a refusal can never leave this process half-changed, and every
scratch directory is removed before the doctor returns.

Notebook: ``notebooks/en/10b-installing.ipynb``
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from dataclasses import asdict, dataclass

OK, NO, WARN, INFO = "ok", "missing", "limited", "info"


@dataclass(frozen=True)
class Check:
    """One line of the doctor's table: a feature, whether this machine grants
    it, what was seen, and what to do when it is refused."""
    feature: str
    status: str          # ok | missing | limited | info | root | rootless
    detail: str
    fix: str = ""

    @property
    def ok(self) -> bool:
        return self.status in (OK, INFO, "root", "rootless")


@dataclass(frozen=True)
class Report:
    checks: tuple[Check, ...]
    tier: str            # full | rootless (limits) | rootless | user-space

    def get(self, feature: str) -> Check:
        return next(c for c in self.checks if c.feature == feature)

    def as_dict(self) -> dict:
        return {"Tier": self.tier, "Checks": [asdict(c) for c in self.checks]}


def _try(argv: list[str], timeout: float = 10.0) -> tuple[bool, str]:
    """Run a probe command; (succeeded, its last line of stderr)."""
    if shutil.which(argv[0]) is None:
        return False, f"{argv[0]} is not installed"
    try:
        p = subprocess.run(argv, capture_output=True, timeout=timeout, stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        return False, f"{' '.join(argv[:3])} did not finish in {timeout:.0f} s"
    err = (p.stderr.decode(errors="replace").strip().splitlines() or [""])[-1]
    return p.returncode == 0, err


def _userns_prefix(rootless: bool) -> list[str]:
    """A probe run rootless needs its own user namespace (mapped to root in it)."""
    return ["unshare", "--user", "--map-root-user"] if rootless else ["unshare"]


def check_privilege() -> Check:
    uid = os.geteuid()
    if uid == 0:
        return Check("privilege", "root", "running as uid 0: the full lab")
    return Check("privilege", "rootless", f"running as uid {uid}: the rootless lab "
                 "(containers in a user namespace)")


def check_user_namespaces() -> Check:
    ok, err = _try(["unshare", "--user", "--map-root-user", "true"])
    if ok:
        return Check("user namespaces", OK, "unshare(CLONE_NEWUSER) works")
    fix = "allow unprivileged user namespaces: sysctl kernel.unprivileged_userns_clone=1 " \
          "(Debian), or kernel.apparmor_restrict_unprivileged_userns=0 (Ubuntu 24.04)"
    try:
        with open("/proc/sys/user/max_user_namespaces") as f:
            if f.read().strip() == "0":
                fix = "sysctl user.max_user_namespaces=15000 (it is 0 here)"
    except OSError:
        pass
    return Check("user namespaces", NO, err or "unshare(CLONE_NEWUSER) refused", fix)


def _subid_ranges(path: str, user: str, uid: int) -> list[tuple[int, int]]:
    out = []
    try:
        with open(path) as f:
            for line in f:
                parts = line.strip().split(":")
                if len(parts) == 3 and parts[0] in (user, str(uid)):
                    out.append((int(parts[1]), int(parts[2])))
    except (OSError, ValueError):
        pass
    return out


def check_subids(subuid: str = "/etc/subuid", subgid: str = "/etc/subgid") -> Check:
    """Several ids in a container (images with a ``www-data`` user) need a range of
    subordinate ids and the setuid helpers that map them."""
    import pwd
    uid = os.geteuid()
    if uid == 0:
        return Check("subordinate ids", INFO, "root maps any id; not needed")
    try:
        user = pwd.getpwuid(uid).pw_name
    except KeyError:
        user = str(uid)
    helpers = [h for h in ("newuidmap", "newgidmap") if shutil.which(h) is None]
    uids, gids = _subid_ranges(subuid, user, uid), _subid_ranges(subgid, user, uid)
    if helpers:
        return Check("subordinate ids", WARN, f"{' and '.join(helpers)} not installed: "
                     "one id only (chown to other ids fails)", "apt-get install uidmap")
    if not uids or not gids:
        return Check("subordinate ids", WARN, f"no range for {user} in {subuid} and {subgid}: "
                     "one id only (chown to other ids fails)",
                     f"as root: glassbox system setup-user {user}")
    return Check("subordinate ids", OK, f"{uids[0][1]} uids from {uids[0][0]}, "
                 f"{gids[0][1]} gids from {gids[0][0]}, newuidmap present")


def check_overlay(scratch: str) -> Check:
    """The image layers are stacked with overlayfs; rootless it must mount inside
    a user namespace (kernel ≥ 5.11, whiteouts as ``user.*`` xattrs)."""
    rootless = os.geteuid() != 0
    base = tempfile.mkdtemp(prefix="overlay-", dir=scratch)
    dirs = {k: os.path.join(base, k) for k in ("lower", "upper", "work", "merged")}
    for d in dirs.values():
        os.mkdir(d)
    opts = f"lowerdir={dirs['lower']},upperdir={dirs['upper']},workdir={dirs['work']}"
    if rootless:
        opts += ",userxattr"
    ok, err = _try(_userns_prefix(rootless) + ["--mount", "mount", "-t", "overlay",
                                              "overlay", "-o", opts, dirs["merged"]])
    name = "overlay in userns" if rootless else "overlay"
    if ok:
        return Check(name, OK, "overlayfs mounts" + (" inside a user namespace" if rootless
                                                     else ""))
    return Check(name, NO, err or "mount -t overlay refused",
                 "a kernel ≥ 5.11 and a home on ext4/xfs/btrfs (not NFS or overlay itself)"
                 if rootless else "load the overlay module: modprobe overlay")


def check_proc() -> Check:
    """A container's ``ps`` needs a ``/proc`` of its own pid namespace."""
    rootless = os.geteuid() != 0
    ok, err = _try(_userns_prefix(rootless) + ["--mount", "--pid", "--fork", "--mount-proc",
                                              "true"])
    if ok:
        return Check("fresh /proc", OK, "a new pid namespace mounts its own /proc")
    return Check("fresh /proc", NO, err or "mount -t proc refused",
                 "the host masks /proc (a container runtime without /proc unmasked): "
                 "run the lab with --security-opt systempaths=unconfined or on a VM")


def check_cgroups(cgroup_root: str = "/sys/fs/cgroup") -> Check:
    """Which cgroup version, and whether this user may create cgroups (a
    delegated subtree) — without that, limits are refused."""
    from .cgroups import detect_version
    try:
        version = detect_version(cgroup_root)
    except Exception as e:  # noqa: BLE001 — reported, not raised
        return Check("cgroups", NO, str(e), "mount cgroup2 at /sys/fs/cgroup")
    if os.geteuid() == 0:
        if version == 2:
            try:
                with open(os.path.join(cgroup_root, "cgroup.controllers")) as f:
                    ctl = f.read().split()
            except OSError:
                ctl = []
            return Check("cgroups", OK, f"v2, controllers: {' '.join(ctl) or 'none'}")
        ctl = sorted(d for d in os.listdir(cgroup_root)
                     if os.path.isdir(os.path.join(cgroup_root, d)) and d != "unified")
        return Check("cgroups", OK, f"v1, hierarchies: {' '.join(ctl)}")
    delegated = _delegated(cgroup_root, version)
    if delegated:
        return Check("cgroups", OK, f"v{version}, delegated to this user: {delegated}")
    import pwd
    try:
        user = pwd.getpwuid(os.geteuid()).pw_name
    except KeyError:
        user = str(os.geteuid())
    return Check("cgroups", WARN, f"v{version}, nothing delegated to this user: containers "
                 "run, limits (-m, --cpus, --pids-limit) are refused",
                 f"as root: glassbox system setup-user {user}")


def _delegated(cgroup_root: str, version: int) -> str:
    """The cgroup subtree delegated to this user (what rootless glassbox uses), or ''."""
    from .rootless import cgroups as rc
    uid = os.geteuid()
    if version == 2:
        return rc.v2_delegation(uid, cgroup_root) or ""
    from .cgroups import _mounts
    from .cgroups.v1 import mounts_from
    rel = rc.v1_delegation(uid, mounts_from(_mounts("/proc/self/mountinfo"), cgroup_root))
    return f"{cgroup_root}/<controller>/{rel}" if rel else ""


def check_isolation() -> Check:
    """The container's root must not reach the host: a device filter and seccomp."""
    parts: list[str] = []
    missing: list[str] = []
    try:
        with open("/proc/self/status") as f:
            seccomp = any(ln.startswith("Seccomp:") for ln in f)
    except OSError:
        seccomp = False
    (parts if seccomp else missing).append("seccomp")
    try:
        from .cgroups import detect_version
        v = detect_version()
    except Exception:  # noqa: BLE001
        v = 0
    if v == 1:
        ok = os.path.isdir("/sys/fs/cgroup/devices")
        (parts if ok else missing).append("devices cgroup (v1)")
    elif v == 2:
        parts.append("BPF device program (v2)")
    if os.geteuid() != 0:
        parts.append("user namespace (no host devices can be opened)")
    if missing:
        return Check("device filter, seccomp", NO, f"missing: {', '.join(missing)}",
                     "a kernel built with CONFIG_SECCOMP_FILTER and the devices controller")
    return Check("device filter, seccomp", OK, ", ".join(parts))


def check_bridges() -> Check:
    """Container networks are Linux bridges with veth pairs; rootless they live in
    a network namespace of the user's own."""
    rootless = os.geteuid() != 0
    ok, err = _try(_userns_prefix(rootless) + ["--net", "ip", "link", "add", "gbxdoctor0",
                                              "type", "bridge"])
    if ok and rootless:
        return Check("bridges", OK, "bridges in a network namespace of this user's own "
                     "(bridge and user networks; -p on ports >= 1024)")
    if ok:
        return Check("bridges", OK, "a bridge can be made")
    return Check("bridges", NO, err or "ip link add type bridge refused",
                 "apt-get install iproute2; the bridge module (modprobe bridge)")


def check_published_port() -> Check:
    """``-p 127.0.0.1:8080:80`` is a user-space proxy on the host's loopback."""
    import socket
    try:
        srv = socket.socket()
        srv.bind(("127.0.0.1", 0))
        srv.listen(1)
        port = srv.getsockname()[1]
        cli = socket.create_connection(("127.0.0.1", port), timeout=2)
        conn, _ = srv.accept()
        cli.sendall(b"x")
        got = conn.recv(1)
        for s in (conn, cli, srv):
            s.close()
    except OSError as e:
        return Check("published port", NO, f"loopback TCP refused: {e}",
                     "bring up lo (ip link set lo up)")
    from .network.proxy import binary
    how = "the C proxy" if binary() else "the Python proxy (build the C one: make setup)"
    return Check("published port", OK if got == b"x" else NO,
                 f"127.0.0.1 accepts connections; ports go through {how}")


def check_storage(root: str) -> Check:
    """Where images and containers live, how much room is left, and the ceiling
    when the state root is a filesystem of its own (a class's per-student quota)."""
    from .quota import FREE_SPACE, describe, human
    try:
        q = describe(root)
    except OSError as e:
        return Check("storage", NO, f"{root}: {e.strerror}", "set GLASSBOX_ROOT to a writable dir")
    if q.own:
        low = q.free < max(q.size // 10, 64 << 20)
        return Check("storage", WARN if low else OK,
                     f"{root}: a {human(q.size)} quota (a filesystem of its own), "
                     f"{human(q.used)} used, {human(q.free)} free", FREE_SPACE if low else "")
    used = _du(root) if os.path.isdir(root) else 0
    status = WARN if q.free < 1 << 30 else OK
    return Check("storage", status,
                 f"{root}: {human(used)} used, {human(q.free)} free on the host's disk "
                 "(no quota of its own)", FREE_SPACE if status == WARN else "")


def _du(path: str) -> int:
    total = 0
    for dirpath, _dirs, files in os.walk(path):
        for name in files:
            try:
                total += os.lstat(os.path.join(dirpath, name)).st_blocks * 512
            except OSError:
                pass
    return total


def pick_tier(checks: list[Check]) -> str:
    """The best tier every needed feature allows."""
    by = {c.feature: c for c in checks}
    overlay = by.get("overlay") or by.get("overlay in userns")
    basics = overlay is not None and overlay.ok and by["fresh /proc"].ok
    if by["privilege"].status == "root":
        return "full" if basics and by["cgroups"].ok else "user-space"
    if not (by["user namespaces"].ok and basics):
        return "user-space"
    return "rootless (limits)" if by["cgroups"].status == OK else "rootless"


def diagnose(root: str | None = None, storage: bool = True) -> Report:
    """Run every probe (≈0.1–0.5 s) and pick the tier. ``storage=False`` leaves out
    the storage line (it walks the state root to say what is used, and the tier does
    not depend on it: what every notebook's set-up asks)."""
    from .rootless.paths import state_root
    root = root or os.environ.get("GLASSBOX_ROOT") or state_root()
    checks = [check_privilege()]
    rootless = os.geteuid() != 0
    if rootless:
        checks += [check_user_namespaces(), check_subids()]
    with tempfile.TemporaryDirectory(prefix="glassbox-doctor-") as scratch:
        checks.append(check_overlay(scratch))
    checks += [check_proc(), check_cgroups(), check_isolation(), check_bridges(),
               check_published_port()] + ([check_storage(root)] if storage else [])
    return Report(tuple(checks), pick_tier(checks))


TIER_MEANING = {
    "full": "everything: containers, limits, networks, the whole course",
    "rootless (limits)": "containers in a user namespace, with limits in the delegated cgroup",
    "rootless": "containers in a user namespace; limits refused until a cgroup is delegated",
    "user-space": "no container can start here; images, registries, layer trees, "
                  "Dockerfile parsing and specs still work for real",
}
