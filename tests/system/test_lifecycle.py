"""The lifecycle of detached containers, driven by separate CLI processes."""

from __future__ import annotations

import json
import os
import signal
import time

import pytest

from gbx_testlib import wait_for

pytestmark = pytest.mark.system




def test_the_issue_walkthrough(gbx):
    cid = gbx.out("run", "-d", "--name", "web", "-m", "64m", "--cpus", "0.5",
                  "--pids-limit", "50", "busybox", "sh", "-c",
                  "i=0; while true; do echo tick $i; i=$((i+1)); sleep 0.1; done").strip()
    assert len(cid) == 64
    ps = gbx.out("ps")
    assert "web" in ps and "Up" in ps and cid[:12] in ps
    assert ps.splitlines()[0].split() == ["CONTAINER", "ID", "IMAGE", "COMMAND", "CREATED",
                                          "STATUS", "PORTS", "NAMES"]
    rows = [json.loads(l) for l in gbx.out("ps", "--format", "json").splitlines()]
    assert rows[0]["Names"] == "web" and rows[0]["State"] == "running"
    assert wait_for(lambda: "tick 3" in gbx.out("logs", "web"))
    tail = gbx.out("logs", "--tail", "2", "web").splitlines()
    assert len(tail) == 2 and all(l.startswith("tick") for l in tail)
    stamped = gbx.out("logs", "-t", "--tail", "1", "web")
    assert stamped[:4].isdigit() and "T" in stamped.split()[0]
    # exec joins the container's namespaces: its ps sees the container's processes only
    ps_inside = gbx.out("exec", "web", "ps", "-o", "pid,comm")
    assert "sh" in ps_inside and len(ps_inside.splitlines()) <= 5
    assert gbx.out("exec", "-w", "/tmp", "-e", "X=42", "-u", "nobody", "web", "sh", "-c",
                   "echo $X $(pwd) $(id -u)").strip() == "42 /tmp 65534"
    stats = gbx.out("stats", "--no-stream", "web")
    assert "web" in stats and "64MiB" in stats
    doc = json.loads(gbx.out("inspect", "web"))[0]
    assert doc["Id"] == cid and doc["Name"] == "/web"
    assert doc["State"]["Status"] == "running" and doc["State"]["Pid"] > 0
    assert doc["HostConfig"]["NanoCpus"] == 500_000_000 and doc["HostConfig"]["PidsLimit"] == 50
    assert doc["GraphDriver"]["Data"]["UpperDir"].endswith("/upper")
    gbx.out("update", "-m", "128m", "web")
    st = gbx.engine.containers.stats("web")
    assert st.memory_limit == 128 * 1024 * 1024
    top = gbx.out("top", "web")
    assert "PID" in top and "sh" in top
    gbx.out("stop", "-t", "1", "web")
    doc = json.loads(gbx.out("inspect", "web"))[0]
    assert doc["State"]["Status"] == "exited"
    assert "Exited" in gbx.out("ps", "-a") and "web" not in gbx.out("ps")
    gbx.out("rm", "web")
    assert gbx.out("ps", "-a", "-q") == ""


def test_logs_follow_ends_when_container_exits(gbx):
    gbx.out("run", "-d", "--name", "short", "busybox", "sh", "-c",
            "for i in 1 2 3; do echo line $i; sleep 0.2; done")
    p = gbx.cli("logs", "-f", "short", timeout=20)
    assert p.stdout.decode().splitlines() == ["line 1", "line 2", "line 3"]


def test_stop_kill_restart_wait_rename_prune(gbx):
    gbx.out("run", "-d", "--name", "aa", "busybox", "sleep", "600")
    gbx.out("run", "-d", "--name", "bb", "busybox", "sh", "-c",
            "trap 'exit 7' TERM; while true; do sleep 0.1; done")
    gbx.out("kill", "-s", "TERM", "bb")
    assert gbx.out("wait", "bb").strip() == "7"
    gbx.out("kill", "aa")
    assert gbx.out("wait", "aa").strip() == "137"
    gbx.out("restart", "aa")
    assert json.loads(gbx.out("inspect", "aa"))[0]["State"]["Running"] is True
    gbx.out("rename", "aa", "a2")
    assert "a2" in gbx.out("ps")
    p = gbx.cli("rm", "a2")
    assert p.returncode != 0 and b"Stop the container" in p.stderr
    gbx.out("stop", "-t", "0", "a2")
    pruned = gbx.out("container", "prune", "-f")
    assert len(gbx.out("ps", "-a", "-q").split()) == 0, pruned


def test_filters_and_quiet(gbx):
    gbx.out("run", "-d", "--name", "up1", "busybox", "sleep", "600")
    gbx.out("run", "--name", "done1", "busybox", "true")
    assert gbx.out("ps", "-a", "--filter", "status=exited", "--format", "{{.Names}}").strip() \
        == "done1"
    assert gbx.out("ps", "--filter", "name=up", "--format", "{{.Names}}").strip() == "up1"
    assert len(gbx.out("ps", "-aq").split()) == 2
    p = gbx.cli("ps", "--filter", "color=red")
    assert p.returncode == 125
    gbx.out("rm", "-f", "up1", "done1")


def test_second_process_sees_and_controls(gbx):
    """A container started through the Python API is the same container for the CLI."""
    res = gbx.engine.run("busybox", ["sleep", "600"], detach=True, name="shared")
    assert "shared" in gbx.out("ps")
    gbx.out("stop", "-t", "0", "shared")
    assert gbx.engine.containers.get(res.id).status == "exited"
    gbx.engine.containers.remove(res.id)


def test_api_run_captures_output(gbx):
    res = gbx.engine.run("busybox", ["sh", "-c", "echo out; echo err >&2; exit 2"],
                         auto_remove=True)
    assert (res.exit_code, res.stdout, res.stderr) == (2, b"out\n", b"err\n")


@pytest.mark.parametrize("delay", [0.0, 0.03, 0.08, 0.15])
def test_sigkill_of_cli_during_run_d_leaves_a_consistent_state(gbx, delay):
    p = gbx.popen("run", "-d", "--name", "crash", "busybox", "sleep", "600")
    time.sleep(delay)
    p.send_signal(signal.SIGKILL)
    p.wait()
    out = gbx.cli("ps", "-a", "--format", "json")
    assert out.returncode == 0
    for line in out.stdout.decode().splitlines():
        assert json.loads(line)["State"] in ("created", "running", "exited")
    gbx.cli("rm", "-f", "crash")
    assert gbx.out("ps", "-a", "-q") == ""


def test_sigkill_of_cli_during_rm(gbx):
    for i in range(3):
        gbx.out("run", "-d", "--name", f"r{i}", "busybox", "sleep", "600")
    p = gbx.popen("rm", "-f", "r0", "r1", "r2")
    time.sleep(0.05)
    p.send_signal(signal.SIGKILL)
    p.wait()
    assert gbx.cli("ps", "-a").returncode == 0
    for name in gbx.out("ps", "-a", "--format", "{{.Names}}").split():
        gbx.out("rm", "-f", name)
    assert gbx.out("ps", "-a", "-q") == ""


def test_kill_9_of_the_shim_is_reported_not_hidden(gbx):
    cid = gbx.out("run", "-d", "busybox", "sleep", "600").strip()
    c = gbx.engine.containers.get(cid)
    os.kill(c.state["ShimPid"], signal.SIGKILL)
    os.kill(c.pid, signal.SIGKILL)
    assert wait_for(lambda: gbx.engine.containers.get(cid).status == "exited")
    gbx.out("rm", cid)


def test_pause_shows_in_inspect_as_docker_does(gbx):
    """Docker reports a paused container as Status "paused", Running true, Paused true."""
    import uuid
    n = "pz-" + uuid.uuid4().hex[:8]
    gbx.out("run", "-d", "--name", n, "busybox", "sleep", "30")
    try:
        gbx.out("pause", n)
        st = json.loads(gbx.out("inspect", n))[0]["State"]
        assert (st["Status"], st["Running"], st["Paused"]) == ("paused", True, True)
        gbx.out("unpause", n)
        st = json.loads(gbx.out("inspect", n))[0]["State"]
        assert (st["Status"], st["Running"], st["Paused"]) == ("running", True, False)
    finally:
        gbx.out("rm", "-f", n)
