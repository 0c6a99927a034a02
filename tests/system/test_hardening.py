"""runc's two classic escapes, checked on the real kernel: no host fd or host cwd
reaches a container's process (CVE-2024-21626), and the host-side binary that
runs inside the container's namespaces is non-dumpable (CVE-2019-5736)."""

from __future__ import annotations

import os
import subprocess
import uuid

import pytest

pytestmark = pytest.mark.system


def with_host_fd(gbx, tmp_path, *args):
    """Run ``glassbox ARGS`` holding an inheritable fd on a host directory."""
    hostdir = tmp_path / f"host-{uuid.uuid4().hex[:8]}"
    hostdir.mkdir()
    fd = os.open(hostdir, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.set_inheritable(fd, True)
        args = [a.replace("{fd}", str(fd)) for a in args]
        proc = gbx.popen(*args, pass_fds=(fd,), stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE)
        out, err = proc.communicate(timeout=60)
    finally:
        os.close(fd)
    return proc.returncode, out.decode(), err.decode(), hostdir


def fd_table(ls_output: str) -> dict[int, str]:
    """``ls -l /proc/self/fd`` as {fd: target}."""
    table = {}
    for line in ls_output.splitlines():
        if " -> " in line:
            left, target = line.split(" -> ", 1)
            table[int(left.split()[-1])] = target
    return table


def assert_only_stdio(table: dict[int, str], hostdir) -> None:
    assert {0, 1, 2} <= set(table), table
    extra = {fd: t for fd, t in table.items() if fd > 2}
    # ls's own directory fd on /proc/<pid>/fd is the only other one
    assert len(extra) <= 1 and all(t.startswith("/proc/") and t.endswith("/fd")
                                   for t in extra.values()), table
    assert not any(hostdir.name in t for t in table.values()), table


def test_run_passes_no_host_fd(gbx, tmp_path):
    code, out, err, hostdir = with_host_fd(gbx, tmp_path, "run", "--rm", "busybox",
                                           "ls", "-l", "/proc/self/fd")
    assert code == 0, err
    assert_only_stdio(fd_table(out), hostdir)


def test_run_workdir_through_a_leaked_fd_stays_inside(gbx, tmp_path):
    code, out, err, hostdir = with_host_fd(
        gbx, tmp_path, "run", "--rm", "-w", "/proc/self/fd/{fd}", "busybox",
        "sh", "-c", "touch escaped; readlink /proc/1/cwd")
    assert not os.listdir(hostdir)                     # nothing written on the host
    if code == 0:
        assert out.strip().startswith("/") and hostdir.name in out   # a path *inside*
    assert gbx.out("ps", "-a", "-q") == ""


def test_init_cwd_is_inside_the_root(gbx):
    assert gbx.out("run", "--rm", "busybox", "readlink", "/proc/1/cwd") == "/\n"
    assert gbx.out("run", "--rm", "-w", "/srv/app", "busybox",
                   "readlink", "/proc/1/cwd") == "/srv/app\n"


def test_exec_passes_no_host_fd_and_cannot_leave(gbx, tmp_path):
    name = f"hard-{uuid.uuid4().hex[:8]}"
    gbx.out("run", "-d", "--name", name, "busybox", "sleep", "300")
    try:
        code, out, err, hostdir = with_host_fd(gbx, tmp_path, "exec", name,
                                               "ls", "-l", "/proc/self/fd")
        assert code == 0, err
        assert_only_stdio(fd_table(out), hostdir)
        code, out, err, hostdir = with_host_fd(
            gbx, tmp_path, "exec", "-w", "/proc/self/fd/{fd}", name,
            "sh", "-c", "touch escaped; pwd")
        assert not os.listdir(hostdir)
        assert code != 0 or hostdir.name in out
        assert gbx.out("exec", "-w", "/tmp", name, "pwd") == "/tmp\n"
    finally:
        gbx.cli("rm", "-f", name)


def test_host_side_init_is_not_dumpable(gbx):
    """With --init, pid 1 stays the host's Python (tiny_init): the container's root
    (no CAP_SYS_PTRACE) cannot open its /proc/1/exe, yet its own exec'd programs
    are dumpable again (execve resets it)."""
    p = gbx.cli("run", "--rm", "--init", "busybox", "sh", "-c",
                "readlink /proc/self/exe; readlink /proc/1/exe || echo denied")
    assert p.returncode == 0, p.stderr
    lines = p.stdout.decode().splitlines()
    assert lines[0].startswith("/bin/"), lines  # our own exe: dumpable after execve
    assert lines[1:] == ["denied"], lines             # host binary behind pid 1: not reachable


def test_security_opt_no_new_privileges_is_accepted_and_shown_in_inspect(gbx):
    n = "secopt-" + os.urandom(4).hex()
    p = gbx.cli("run", "--name", n, "--security-opt", "no-new-privileges", "busybox",
                "sh", "-c", "grep NoNewPrivs /proc/self/status")
    assert p.returncode == 0, p.stderr
    assert p.stdout.split() == [b"NoNewPrivs:", b"1"]
    assert b'"no-new-privileges"' in gbx.cli("inspect", "-f", "{{json .HostConfig.SecurityOpt}}",
                                             n).stdout
    gbx.out("rm", n)


def test_unknown_security_opt_is_refused_with_nothing_created(gbx):
    p = gbx.cli("run", "--name", "secopt-bad", "--security-opt", "bogus=1", "busybox", "true")
    assert p.returncode == 125
    assert b"unknown option 'bogus'" in p.stderr
    assert gbx.out("ps", "-aq") == ""


def test_privileged_gets_every_capability_the_host_can_give(gbx):
    """``--privileged`` as Docker: the whole bounding set of the engine's host root
    (not a fixed list: a host whose own set lacks one cannot hand it on), no filter."""
    with open("/proc/self/status") as f:
        host = {ln.split(":")[0]: ln.split()[1] for ln in f if ln.startswith("Cap")}
    out = gbx.out("run", "--rm", "--privileged", "busybox", "grep", "-E",
                  "^(CapEff|CapBnd|Seccomp):", "/proc/self/status")
    got = {ln.split(":")[0]: ln.split()[1] for ln in out.splitlines()}
    assert got["CapEff"] == got["CapBnd"] == host["CapBnd"], (got, host)
    assert int(got["CapEff"], 16) & ~0xa80425fb, got      # more than Docker's default 14
    assert got["Seccomp"] == "0", got
