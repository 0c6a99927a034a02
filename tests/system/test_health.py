"""Healthchecks on real containers, run by each container's C monitor (no Python
process per container, no daemon): starting -> healthy/unhealthy, retries, the
start period, timeouts that kill the probe and leave the container running."""

from __future__ import annotations

import json
import time

import pytest

from gbx_testlib import wait_for

pytestmark = pytest.mark.system




def health(gbx, ref) -> dict:
    return json.loads(gbx.out("inspect", ref))[0]["State"].get("Health") or {}


def ps_status(gbx, name) -> str:
    rows = [json.loads(line) for line in gbx.out("ps", "-a", "--format", "json").splitlines()]
    return next(r["Status"] for r in rows if r["Names"] == name)


def test_starting_then_healthy_with_log_and_ps_text(gbx):
    gbx.out("run", "-d", "--name", "web", "--health-cmd", "cat /tmp/ready",
            "--health-interval", "200ms", "--health-retries", "100", "busybox", "sh", "-c",
            "sleep 1.5; echo ok > /tmp/ready; sleep 600")
    first = health(gbx, "web")
    assert first["Status"] == "starting"          # failures so far: fewer than 100 retries
    assert "(health: starting)" in ps_status(gbx, "web")
    assert wait_for(lambda: health(gbx, "web")["Status"] == "healthy")
    assert wait_for(lambda: len(health(gbx, "web")["Log"]) == 5)
    doc = health(gbx, "web")
    assert doc["FailingStreak"] == 0
    last = doc["Log"][-1]
    assert last["ExitCode"] == 0 and last["Output"] == "ok\n"
    assert last["Start"] <= last["End"] and last["Start"].endswith("Z")
    time.sleep(0.5)
    assert len(health(gbx, "web")["Log"]) == 5          # only the last five are kept
    status = ps_status(gbx, "web")
    assert status.startswith("Up ") and status.endswith(" (healthy)")
    assert "(healthy)" in gbx.out("ps")
    gbx.out("rm", "-f", "web")


def test_unhealthy_after_retries_and_the_probe_runs_as_the_container(gbx):
    gbx.out("run", "-d", "--name", "sick", "-u", "nobody", "-w", "/tmp", "-e", "WHO=probe",
            "--health-cmd", "echo $WHO $(id -u) $(pwd) "
            "$(grep -c -E '^(Seccomp:.2|NoNewPrivs:.1|CapEff:.0+$)' /proc/self/status); exit 3",
            "--health-interval", "100ms",
            "--health-retries", "3", "busybox", "sleep", "600")
    assert wait_for(lambda: health(gbx, "sick").get("Status") == "unhealthy")
    doc = health(gbx, "sick")
    assert doc["FailingStreak"] >= 3
    assert doc["Log"][-1]["ExitCode"] == 3
    # its env, user and workdir; and confined as an exec is: seccomp filter, no_new_privs,
    # no capabilities left for a non-root user
    assert doc["Log"][-1]["Output"] == "probe 65534 /tmp 3\n"
    assert ps_status(gbx, "sick").endswith("(unhealthy)")
    assert json.loads(gbx.out("inspect", "sick"))[0]["State"]["Status"] == "running"
    gbx.out("rm", "-f", "sick")


def test_a_probe_that_never_exits_is_killed_and_the_container_keeps_running(gbx):
    gbx.out("run", "-d", "--name", "hang", "--health-cmd", "sleep 1000 | cat",
            "--health-interval", "100ms", "--health-timeout", "300ms",
            "--health-retries", "2", "busybox", "sleep", "600")
    assert wait_for(lambda: health(gbx, "hang").get("Status") == "unhealthy")
    doc = health(gbx, "hang")
    assert doc["Log"][-1]["ExitCode"] == -1
    assert doc["Log"][-1]["Output"] == "Health check exceeded timeout (300ms)"
    assert json.loads(gbx.out("inspect", "hang"))[0]["State"]["Status"] == "running"
    # nothing of the killed probes stays in the container: no process, no zombie
    # (a probe in flight, or one for the instant before its parent reaps it, is fine:
    # what stays across samples a second apart is a leak)
    seen: dict[int, int] = {}
    for _ in range(10):
        for line in gbx.out("exec", "hang", "ps", "-o", "pid,stat,args").splitlines()[1:]:
            pid, rest = line.split(None, 1)
            if pid != "1" and "ps -o" not in rest:
                seen[int(pid)] = seen.get(int(pid), 0) + 1
        time.sleep(0.15)
    assert [pid for pid, n in seen.items() if n > 6] == [], seen
    gbx.out("rm", "-f", "hang")


def test_start_period_failures_do_not_count(gbx):
    gbx.out("run", "-d", "--name", "slow", "--health-cmd", "exit 1",
            "--health-start-period", "60s", "--health-start-interval", "100ms",
            "--health-interval", "30s", "--health-retries", "1", "busybox", "sleep", "600")
    assert wait_for(lambda: len(health(gbx, "slow").get("Log") or []) >= 3)
    doc = health(gbx, "slow")
    assert doc["Status"] == "starting" and doc["FailingStreak"] == 0
    assert all(e["ExitCode"] == 1 for e in doc["Log"])
    gbx.out("rm", "-f", "slow")


def test_image_healthcheck_and_no_healthcheck(gbx, tmp_path):
    (tmp_path / "Dockerfile").write_text(
        "FROM busybox\nHEALTHCHECK --interval=100ms --retries=1 CMD [\"true\"]\n")
    gbx.out("build", "-q", "-t", "checked:1", str(tmp_path))
    gbx.out("run", "-d", "--name", "img", "checked:1", "sleep", "600")
    cfg = json.loads(gbx.out("inspect", "img"))[0]["Config"]["Healthcheck"]
    assert cfg["Test"] == ["CMD", "true"] and cfg["Interval"] == 100_000_000
    assert wait_for(lambda: health(gbx, "img").get("Status") == "healthy")
    # a flag overrides one field and keeps the image's command
    gbx.out("run", "-d", "--name", "img2", "--health-retries", "4", "checked:1", "sleep", "600")
    cfg = json.loads(gbx.out("inspect", "img2"))[0]["Config"]["Healthcheck"]
    assert cfg["Test"] == ["CMD", "true"] and cfg["Retries"] == 4
    gbx.out("run", "-d", "--name", "off", "--no-healthcheck", "checked:1", "sleep", "600")
    doc = json.loads(gbx.out("inspect", "off"))[0]
    assert "Health" not in doc["State"] and doc["Config"]["Healthcheck"]["Test"] == ["NONE"]
    assert "(health" not in ps_status(gbx, "off")
    gbx.out("rm", "-f", "img", "img2", "off")


@pytest.mark.parametrize("args, message", [
    (["--health-cmd", "true", "--no-healthcheck"], b"--no-healthcheck conflicts with"),
    (["--health-interval=-1s"], b"--health-interval cannot be negative"),
    (["--health-timeout", "500us"], b"Timeout in Healthcheck cannot be less than 1ms"),
])
def test_bad_health_flags_are_refused_and_nothing_is_created(gbx, args, message):
    p = gbx.cli("run", "-d", *args, "busybox", "true")
    assert p.returncode == 125 and message in p.stderr, p.stderr
    assert gbx.out("ps", "-a", "-q") == ""


def test_an_attached_run_is_checked_too(gbx):
    """Attached, the Python shim copies the output; the C monitor runs beside it in
    --watch mode for the check alone, and ends with the container."""
    import subprocess
    proc = gbx.popen("run", "--name", "fg", "--health-cmd", "echo fine",
                     "--health-interval", "100ms", "busybox", "sh", "-c",
                     "echo hello; sleep 2; echo bye", stdout=subprocess.PIPE)
    try:
        assert wait_for(lambda: gbx.cli("inspect", "fg").returncode == 0
                        and health(gbx, "fg").get("Status") == "healthy")
        assert health(gbx, "fg")["Log"][-1]["Output"] == "fine\n"
        out, _ = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 0 and out == b"hello\nbye\n"
    gbx.out("rm", "fg")
