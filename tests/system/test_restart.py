"""Restart policies on real containers, carried out by each container's own
monitor: no daemon, agent or CLI is running while a container comes back."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import time

import pytest

from gbx_testlib import shim_pids, wait_for

pytestmark = pytest.mark.system


def inspect(gbx, ref) -> dict:
    return json.loads(gbx.out("inspect", ref))[0]


def running_doc(gbx, ref) -> dict:
    """inspect, once the container runs with a real pid (never 0: kill(0) would
    signal our own process group)."""
    docs = []
    assert wait_for(lambda: docs.append(inspect(gbx, ref)) or
                    (docs[-1]["State"]["Status"] == "running" and docs[-1]["State"]["Pid"] > 0))
    return docs[-1]


def kill_pid(pid: int) -> None:
    assert pid > 0
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def test_a_crash_comes_back_and_restart_count_grows(gbx):
    gbx.out("run", "-d", "--name", "crashy", "--restart", "always", "busybox", "sh", "-c",
            "echo up; sleep 0.3; exit 3")
    # the CLI has exited: only the container's monitor is left to bring it back
    assert wait_for(lambda: inspect(gbx, "crashy")["RestartCount"] >= 3)
    doc = inspect(gbx, "crashy")
    assert doc["HostConfig"]["RestartPolicy"] == {"Name": "always", "MaximumRetryCount": 0}
    assert doc["State"]["Status"] in ("running", "restarting")
    assert gbx.out("logs", "crashy").count("up") >= 3
    # an outside kill (not `glassbox kill`) is a crash too
    before = running_doc(gbx, "crashy")
    kill_pid(before["State"]["Pid"])
    assert wait_for(lambda: inspect(gbx, "crashy")["RestartCount"] > before["RestartCount"])
    gbx.out("rm", "-f", "crashy")


def test_on_failure_n_stops_after_n(gbx):
    gbx.out("run", "-d", "--name", "twice", "--restart", "on-failure:2", "busybox", "sh", "-c",
            "echo run; exit 5")
    assert wait_for(lambda: inspect(gbx, "twice")["State"]["Status"] == "exited"
                    and inspect(gbx, "twice")["RestartCount"] == 2)
    time.sleep(1.0)     # a third run would have come within 0.4 s
    doc = inspect(gbx, "twice")
    assert doc["RestartCount"] == 2 and doc["State"]["ExitCode"] == 5
    assert doc["State"]["Status"] == "exited"
    assert gbx.out("logs", "twice").count("run") == 3
    # a clean exit is not a failure
    gbx.out("run", "-d", "--name", "clean", "--restart", "on-failure", "busybox", "true")
    assert gbx.out("wait", "clean").strip() == "0"
    time.sleep(0.5)
    assert inspect(gbx, "clean")["RestartCount"] == 0


def test_stop_does_not_restart_and_start_resets_the_count(gbx):
    gbx.out("run", "-d", "--name", "svc", "--restart", "always", "busybox", "sleep", "600")
    gbx.out("stop", "-t", "1", "svc")
    time.sleep(1.0)
    doc = inspect(gbx, "svc")
    assert doc["State"]["Status"] == "exited" and doc["RestartCount"] == 0
    # kill with SIGKILL is a manual stop too
    gbx.out("start", "svc")
    gbx.out("kill", "svc")
    time.sleep(1.0)
    assert inspect(gbx, "svc")["State"]["Status"] == "exited"
    # stopping one that is sleeping out its backoff cancels the restart
    gbx.out("run", "-d", "--name", "flappy", "--restart", "always", "busybox", "sh", "-c",
            "exit 1")
    assert wait_for(lambda: inspect(gbx, "flappy")["RestartCount"] >= 4)
    assert wait_for(lambda: inspect(gbx, "flappy")["State"]["Status"] == "restarting")
    gbx.out("stop", "flappy")
    count = inspect(gbx, "flappy")["RestartCount"]
    time.sleep(2.5)        # longer than the current backoff
    doc = inspect(gbx, "flappy")
    assert doc["State"]["Status"] == "exited" and doc["RestartCount"] == count
    assert not [p for p in shim_pids(gbx.root)], "a monitor is still waiting to restart"
    gbx.out("start", "flappy")      # a start by hand: the count starts over
    assert wait_for(lambda: inspect(gbx, "flappy")["RestartCount"] >= 1)
    assert inspect(gbx, "flappy")["RestartCount"] < count + 1
    gbx.out("rm", "-f", "flappy")


def test_update_restart_policy_of_a_running_container(gbx):
    gbx.out("run", "-d", "--name", "late", "busybox", "sleep", "600")
    gbx.out("update", "--restart", "on-failure:1", "late")
    assert inspect(gbx, "late")["HostConfig"]["RestartPolicy"] == {
        "Name": "on-failure", "MaximumRetryCount": 1}
    kill_pid(running_doc(gbx, "late")["State"]["Pid"])
    assert wait_for(lambda: inspect(gbx, "late")["RestartCount"] == 1
                    and inspect(gbx, "late")["State"]["Status"] == "running")
    bad = gbx.cli("update", "--restart", "always:3", "late")
    assert bad.returncode == 1 and b"maximum retry count" in bad.stderr   # as docker update
    gbx.out("rm", "-f", "late")


@pytest.mark.parametrize("args, message", [
    (["--restart", "always:3"], b"invalid restart policy: maximum retry count can only be "
                                b"used with 'on-failure'"),
    (["--restart", "always", "--rm"], b"conflicting options: cannot specify both --restart "
                                      b"and --rm"),
    (["--restart", "sometimes"], b"unknown policy 'sometimes'"),
])
def test_bad_policy_is_refused_and_nothing_is_created(gbx, args, message):
    p = gbx.cli("run", "-d", *args, "busybox", "true")
    assert p.returncode == 125, p.stderr
    assert message in p.stderr
    assert gbx.out("ps", "-a", "-q") == ""
    assert [d for d in os.listdir(os.path.join(gbx.root, "containers"))
            if not d.startswith(".")] == []


def _kill_everything(gbx) -> None:
    """A "reboot" of the state root: every glassbox process of it SIGKILLed —
    the monitors and the containers' processes — with no chance to record anything."""
    pids = set(shim_pids(gbx.root))
    for c in gbx.engine.containers.list():
        if c.state.get("Pid"):
            pids.add(c.state["Pid"])
    for pid in pids:
        kill_pid(pid)
    assert wait_for(lambda: not shim_pids(gbx.root))


def _status(gbx, name) -> str:
    return inspect(gbx, name)["State"]["Status"]


def test_simulated_reboot_brings_back_always_and_unless_stopped(gbx, tmp_path):
    for name, policy in (("alw-run", "always"), ("alw-stopped", "always"),
                         ("unl-run", "unless-stopped"), ("unl-stopped", "unless-stopped"),
                         ("no-run", "no")):
        gbx.out("run", "-d", "--name", name, "--restart", policy, "busybox", "sleep", "600")
    gbx.out("stop", "-t", "0", "alw-stopped", "unl-stopped")
    _kill_everything(gbx)
    # nothing came back by itself: the monitors are gone
    time.sleep(0.5)
    assert _status(gbx, "alw-run") == "exited" and _status(gbx, "no-run") == "exited"
    sock = str(tmp_path / "d.sock")
    log = open(tmp_path / "daemon.log", "wb")
    proc = gbx.popen("daemon", "--socket", sock, "--group", "", stdout=log,
                     stderr=subprocess.STDOUT)
    try:
        assert wait_for(lambda: _listening(sock), 30), "daemon did not listen"
        assert wait_for(lambda: _status(gbx, "alw-run") == "running")
        assert wait_for(lambda: _status(gbx, "unl-run") == "running")
        assert wait_for(lambda: _status(gbx, "alw-stopped") == "running")  # Docker's `always`
        time.sleep(0.5)
        assert _status(gbx, "unl-stopped") == "exited"
        assert _status(gbx, "no-run") == "exited"
        # what comes back really runs: exec works in it
        assert gbx.out("exec", "alw-run", "echo", "back").strip() == "back"
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=20)
        log.close()
    # a second daemon start is no boot: a stopped `always` container stays stopped
    gbx.out("stop", "-t", "0", "alw-run")
    proc = gbx.popen("daemon", "--socket", sock, "--group", "", stdout=subprocess.DEVNULL,
                     stderr=subprocess.DEVNULL)
    try:
        assert wait_for(lambda: _listening(sock), 30)
        time.sleep(1.0)
        assert _status(gbx, "alw-run") == "exited"
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=20)
    gbx.out("rm", "-f", "alw-run", "alw-stopped", "unl-run", "unl-stopped", "no-run")


def _listening(path: str) -> bool:
    s = socket.socket(socket.AF_UNIX)
    try:
        s.connect(path)
        return True
    except OSError:
        return False
    finally:
        s.close()


def test_each_restart_is_wired_afresh_and_nothing_is_left(gbx):
    net = "rn" + os.urandom(3).hex()
    gbx.out("network", "create", net)
    bridge = json.loads(gbx.out("network", "inspect", net))[0]["Options"][
        "com.docker.network.bridge.name"]
    try:
        gbx.out("run", "-d", "--name", "wired", "--network", net, "--restart", "on-failure:2",
                "busybox", "sh", "-c", "ip -o -4 addr show eth0 | wc -l; sleep 0.2; exit 1")
        assert wait_for(lambda: inspect(gbx, "wired")["State"]["Status"] == "exited"
                        and inspect(gbx, "wired")["RestartCount"] == 2)
        assert gbx.out("logs", "wired").split() == ["1", "1", "1"]   # an address every run
        ports = subprocess.run(["ip", "-o", "link", "show", "master", bridge],
                               capture_output=True, text=True).stdout
        assert ports.strip() == "", f"veths left on {bridge}: {ports}"
        assert json.loads(gbx.out("network", "inspect", net))[0]["Containers"] == {}
        gbx.out("rm", "wired")
    finally:
        gbx.cli("rm", "-f", "wired")
        gbx.out("network", "rm", net)
