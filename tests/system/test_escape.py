"""The escape corpus on the real kernel: ``gbx-probe`` (engine/glassbox/probe) run as
a container's root under ``glassbox run --rm`` and ``glassbox exec``, each line
checked against Docker's answer (``glassbox.probe.expected.DOCKER_DEFAULT``), and
under ``--privileged`` against the host's own answer.

The probe runs once per scenario: the first test of a scenario runs it for real, in
its own leak-checked state root, and the scenario's other lines read that table.

Lines that only a seccomp filter blocks (``Expect.seccomp_only``) are marked
``xfail(strict=True)`` while ``glassbox.seccomp`` is not an importable package:
then they must come out *allowed* (an XPASS says the table's guard is wrong);
once the package is there they must be blocked, and the mark is not applied.
``seccomp=unconfined`` then shows the same lines, and only those, allowed again.
"""

from __future__ import annotations

import importlib
import os
import shutil
import subprocess
import uuid

import pytest

from test_userns_private import priv  # noqa: F401  (an id range of the test's own)

from glassbox import probe
from glassbox.probe.expected import DOCKER_DEFAULT

pytestmark = pytest.mark.system


def _seccomp_landed() -> bool:
    """``glassbox.seccomp`` importable as a real package (a directory holding only
    the profile's JSON is a namespace package, not the filter)."""
    try:
        mod = importlib.import_module("glassbox.seccomp")
    except ImportError:
        return False
    return getattr(mod, "__file__", None) is not None


SECCOMP = _seccomp_landed()
NO_SECCOMP = pytest.mark.xfail(
    not SECCOMP, strict=True,
    reason="blocked only by seccomp (issue 18 item 2): glassbox.seccomp is not there yet")


def lines(names=DOCKER_DEFAULT):
    return [pytest.param(n, marks=NO_SECCOMP, id=n) if DOCKER_DEFAULT[n].seccomp_only
            else pytest.param(n, id=n) for n in names]


@pytest.fixture
def probe_dir(tmp_path):
    """A directory holding only the built probe, to bind into containers read-only."""
    built = probe.binary() or probe.build()
    if not built:
        pytest.skip("gbx-probe cannot be built here (no C compiler / static libc)")
    d = tmp_path / "probe"
    d.mkdir()
    shutil.copy2(built, d / "gbx-probe")
    return str(d)


_TABLES: dict[str, dict[str, probe.Attempt]] = {}


def probe_holding_a_host_fd(gbx, probe_dir, *args) -> dict[str, probe.Attempt]:
    """``glassbox ARGS`` started holding an inheritable fd on a host directory (as a
    careless caller would): the probe's inherited-fds line must still say none."""
    fd = os.open(probe_dir, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.set_inheritable(fd, True)
        proc = gbx.popen(*args, pass_fds=(fd,), stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        out, err = proc.communicate(timeout=120)
    finally:
        os.close(fd)
    assert proc.returncode == 0, err.decode()
    return probe.parse(out.decode())


def run_probe(gbx, probe_dir, *run_flags) -> dict[str, probe.Attempt]:
    t = probe_holding_a_host_fd(gbx, probe_dir, "run", "--rm", "-v", f"{probe_dir}:/probe:ro",
                                *run_flags, "busybox", "/probe/gbx-probe")
    assert gbx.out("ps", "-aq") == ""               # --rm left nothing
    return t


def exec_probe(gbx, probe_dir, *run_flags) -> dict[str, probe.Attempt]:
    """The probe as an ``exec``'d process, beside the container's init and a second
    exec'd process (whose /proc/<pid>/exe it tries too)."""
    name = f"esc-{uuid.uuid4().hex[:8]}"
    gbx.out("run", "-d", "--name", name, "-v", f"{probe_dir}:/probe:ro", *run_flags,
            "busybox", "sleep", "300")
    # a second exec'd process, still running while the probe looks (exec -d waits for
    # its command today, so a plain exec in the background)
    other = gbx.popen("exec", name, "sleep", "300", stdout=subprocess.DEVNULL,
                      stderr=subprocess.DEVNULL)
    try:
        for _ in range(200):
            if gbx.out("exec", name, "ps", "-o", "args").count("sleep 300") >= 2:
                break      # init's sleep and the exec'd one
        return probe_holding_a_host_fd(gbx, probe_dir, "exec", name, "/probe/gbx-probe")
    finally:
        gbx.cli("rm", "-f", name)
        other.wait(timeout=30)


SCENARIOS = {
    "run": lambda gbx, d: run_probe(gbx, d),
    "exec": exec_probe,
    "init": lambda gbx, d: run_probe(gbx, d, "--init"),
    "privileged": lambda gbx, d: run_probe(gbx, d, "--privileged"),
    "unconfined": lambda gbx, d: run_probe(gbx, d, "--security-opt", "seccomp=unconfined"),
    # root inside is a high unprivileged uid outside (needs the ``priv`` fixture's range)
    "userns": lambda gbx, d: run_probe(gbx, d, "--userns=private"),
    "userns-exec": lambda gbx, d: exec_probe(gbx, d, "--userns=private"),
}


def table(scenario: str, gbx, probe_dir) -> dict[str, probe.Attempt]:
    if scenario not in _TABLES:
        _TABLES[scenario] = SCENARIOS[scenario](gbx, probe_dir)
    return _TABLES[scenario]


def host_lacks(name: str) -> bool:
    """The host kernel has no such file: the probe can only say 'skipped' there."""
    path = {"sysrq-trigger": "/proc/sysrq-trigger", "kcore": "/proc/kcore"}.get(name)
    return bool(path) and not os.path.exists(path)


def check(attempt: probe.Attempt | None, name: str, alone: bool = False) -> None:
    """``alone``: the probe is the container's only process (pid 1 of ``run``), so
    there is no other process's /proc/<pid>/exe to try."""
    want = DOCKER_DEFAULT[name]
    assert attempt is not None, f"the probe printed no {name!r} line"
    if (want.verdict == "blocked" and host_lacks(name)) or (alone and name == "proc-exe"):
        assert attempt.verdict in ("blocked", "skipped"), attempt
        return
    assert attempt.verdict == want.verdict, (
        f"{name}: {attempt.verdict} ({attempt.detail}); Docker: {want.verdict} by {want.guard}")


@pytest.mark.parametrize("name", lines())
def test_run_blocks_what_docker_blocks(gbx, probe_dir, name):
    check(table("run", gbx, probe_dir).get(name), name, alone=True)


@pytest.mark.parametrize("name", lines())
def test_exec_blocks_what_docker_blocks(gbx, probe_dir, name):
    check(table("exec", gbx, probe_dir).get(name), name)


def test_probe_reports_the_seccomp_mode_and_the_guards_by_errno(gbx, probe_dir):
    t = table("run", gbx, probe_dir)
    assert t["seccomp"].detail == ("filter" if SECCOMP else "off")
    # the devices cgroup refuses the open, not the mknod (mknod is allowed, as Docker)
    for name in ("blockdev-loop0", "loop-control", "fuse", "kvm", "kmsg"):
        assert t[name].detail.startswith("open ") and t[name].detail.endswith("EPERM"), t[name]
    assert t["mount"].detail.endswith("EPERM") and t["netns"].detail.endswith("EPERM")
    assert t["core_pattern"].detail.endswith("EROFS") and t["sys-write"].detail.endswith("EROFS")
    assert t["ptrace-pid1"].verdict == "skipped"     # under run, the probe is pid 1


def test_exec_sees_only_container_binaries(gbx, probe_dir):
    """Through exec the probe has neighbours (init's sleep, an exec'd sleep): their
    /proc/<pid>/exe open, but name files of the container, never the host's."""
    t = table("exec", gbx, probe_dir)
    others = t["proc-exe"].detail.split(",")
    assert len(others) >= 2 and all(o.endswith(":container file") for o in others), others
    assert t["inherited-fds"].verdict == "blocked", t["inherited-fds"]


def test_init_host_side_pid1_is_out_of_reach(gbx, probe_dir):
    """With --init, pid 1 is the host's Python (tiny_init), non-dumpable: neither its
    /proc/1/exe nor a ptrace of it is open to the container's root."""
    t = table("init", gbx, probe_dir)
    assert t["ptrace-pid1"].verdict == "blocked", t["ptrace-pid1"]
    assert t["proc-exe"].verdict == "blocked" and "1:EACCES" in t["proc-exe"].detail.split(","), \
        t["proc-exe"]


@pytest.mark.skipif(not SECCOMP, reason="glassbox.seccomp is not there yet")
def test_unconfined_opens_exactly_what_only_seccomp_blocks(gbx, probe_dir):
    """``seccomp=unconfined`` proves the table's guard column: the lines marked
    ``seccomp`` come out allowed, and every other guard still holds."""
    t = table("unconfined", gbx, probe_dir)
    assert t["seccomp"].detail == "off"
    opened = {n for n, want in DOCKER_DEFAULT.items()
              if want.verdict == "blocked" and t[n].verdict == "allowed"}
    assert opened == {n for n, want in DOCKER_DEFAULT.items() if want.seccomp_only}


def host_table(probe_dir) -> dict[str, probe.Attempt]:
    """The probe run by the host's root, in a private mount namespace on a private
    tmpfs /dev (its mknod/mount attempts touch nothing of the host's)."""
    exe = os.path.join(probe_dir, "gbx-probe")
    p = subprocess.run(["unshare", "--mount", "--propagation", "private", "sh", "-c",
                        f"mount -t tmpfs gbx-probe-dev /dev && exec {exe}"],
                       capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, p.stderr
    return probe.parse(p.stdout)


# what --privileged leaves a container, as Docker: the host's own answer on these ...
AS_THE_HOST = ("blockdev-host", "blockdev-loop0", "loop-control", "fuse", "kvm", "kmsg",
               "userns", "userns-mount", "netns", "mount", "add_key", "bpf", "userfaultfd",
               "io_uring_setup", "clock_settime", "clock_adjtime", "perf_event_open",
               "kexec_load", "init_module", "personality", "sysrq-trigger", "core_pattern",
               "sys-write", "kcore")


def test_privileged_opens_what_the_host_may(gbx, probe_dir):
    t = table("privileged", gbx, probe_dir)
    host = host_table(probe_dir)
    differ = {n: (t[n].verdict, t[n].detail, "host:", host[n].verdict, host[n].detail)
              for n in AS_THE_HOST if t[n].verdict != host[n].verdict}
    assert not differ, differ
    # ... which on any host includes a loop device's control node and a mount
    assert t["loop-control"].verdict == "allowed" and t["mount"].verdict == "allowed"
    assert t["seccomp"].detail == "off"                  # no filter for --privileged
    # ... and still no host fd, and no host binary behind /proc/<pid>/exe
    assert t["inherited-fds"].verdict == "blocked"
    assert t["proc-exe"].verdict in ("blocked", "skipped")


# ---- --userns=private: the same corpus, root inside mapped to a high host uid -------
def not_weaker(mine: dict[str, probe.Attempt], default: dict[str, probe.Attempt]) -> dict:
    """Lines the default container blocks that ``mine`` does not: {name: (mine, default)}."""
    return {n: (mine.get(n), a) for n, a in default.items()
            if a.verdict == "blocked" and (n not in mine or mine[n].verdict != "blocked")}


@pytest.mark.parametrize("scenario,default", [("userns", "run"), ("userns-exec", "exec")])
def test_userns_private_blocks_at_least_what_the_default_blocks(priv, probe_dir, scenario,  # noqa: F811
                                                                 default):
    """A user namespace is one more wall, never a door: every line the default
    container blocks stays blocked, and each line still matches Docker's table."""
    mine = table(scenario, priv, probe_dir)
    assert not not_weaker(mine, table(default, priv, probe_dir)), not_weaker(
        mine, table(default, priv, probe_dir))
    for name in DOCKER_DEFAULT:
        check(mine.get(name), name, alone=scenario == "userns")
    assert mine["seccomp"].detail == ("filter" if SECCOMP else "off")
    # the witness that the flag took effect: outside the initial user namespace the
    # kernel refuses mknod of a device itself (the default container may mknod and is
    # refused only the open, by the devices cgroup)
    for name in ("blockdev-loop0", "loop-control", "kvm"):
        assert mine[name].detail.startswith("mknod ") and mine[name].detail.endswith("EPERM"), \
            mine[name]
