"""A class's faults, on the real hub of deploy/hub/ (see test_hub.py for the class).

* The student who fills the disk: each student's glassbox state is on a disk of
  its own (GLASSBOX_STUDENT_DISK, a loop-mounted ext4 image). C fills theirs
  with ``dd`` in a container; C's next glassbox command fails with a clear error
  naming the quota and how to free space, ``doctor`` shows the quota, A still
  builds and runs, and after C removes the container C runs again.
* The server killed with -9: the student's containers survive under their
  shims, and at the next login they are listed with their true state; stopping
  the hub then removes everything (no process, mount, loop device or cgroup).
"""

from __future__ import annotations

import os
import signal
import time

import pytest

from hub_fixtures import CHP, Classroom, run_code, server_pid, sh

pytestmark = pytest.mark.interop


def _room(**kw) -> Classroom:
    if os.geteuid() != 0:
        pytest.skip("needs root: a hub spawning local accounts")
    if not os.path.exists(CHP):
        pytest.skip("configurable-http-proxy missing (make setup installs it)")
    return Classroom(**kw)


def _code(res: dict) -> int:
    """The exit code an ``sh(...)`` cell printed first."""
    assert res["status"] == "ok", res
    return int(res["text"].split()[0])


BUILD = """\
import os, subprocess, tempfile
d = tempfile.mkdtemp()
with open(os.path.join(d, 'Dockerfile'), 'w') as f:
    f.write('FROM busybox\\nRUN echo built > /built\\nCMD [\"cat\", \"/built\"]\\n')
p = subprocess.run(['glassbox', 'build', '-t', 'mine:1', d], capture_output=True, text=True)
print(p.returncode, p.stdout[-300:], p.stderr[-300:])
"""


def test_the_student_who_fills_the_disk():
    room = _room(students=2, disk="256M")
    try:
        hub, (a, c) = room.hub, room.names
        tokens = {n: hub.start_server(n) for n in (a, c)}
        root_c = os.path.join(room.users[c].pw_dir, ".local", "share", "glassbox")
        with open("/proc/self/mountinfo") as f:
            assert any(ln.split()[4] == root_c for ln in f), "C's state root is not mounted"

        res = run_code(hub, c, tokens[c], [
            # ext4 allocates late: after the big write is flushed, a few blocks it had
            # held back for metadata come free again, so small writes take those too
            sh("run", "--name", "filler", "busybox", "sh", "-c",
               "dd if=/dev/zero of=/fill bs=1M; sync; dd if=/dev/zero of=/fill2 bs=4k; "
               "sync; dd if=/dev/zero of=/fill3 bs=1k; sync; exit 1"),
            sh("run", "--rm", "busybox", "echo", "room-left"),
            "!glassbox doctor"])
        assert _code(res[0]) != 0 and "No space left" in res[0]["text"], res[0]
        assert _code(res[1]) == 125, res[1]
        assert "quota" in res[1]["text"] and "system df" in res[1]["text"], res[1]
        assert "Traceback" not in res[1]["text"], res[1]
        assert "quota" in res[2]["text"], res[2]
        st = os.statvfs(root_c)
        assert st.f_bavail * st.f_frsize < 16 << 20, "C's disk is not full"

        # A, beside C's full disk: a build and a run still succeed
        res = run_code(hub, a, tokens[a], [BUILD, sh("run", "--rm", "mine:1")])
        assert _code(res[0]) == 0, res[0]
        assert _code(res[1]) == 0 and "built" in res[1]["text"], res[1]

        # C frees the space the message pointed at, and runs again
        res = run_code(hub, c, tokens[c], [sh("system", "df"), sh("rm", "filler"),
                                            sh("run", "--rm", "busybox", "echo", "room-left")])
        assert _code(res[0]) == 0, res[0]
        assert _code(res[1]) == 0, res[1]
        assert _code(res[2]) == 0 and "room-left" in res[2]["text"], res[2]
    finally:
        leaks = room.close()
    assert not leaks, leaks


def _respawn(room: Classroom, name: str, timeout: float = 90) -> str:
    """Log in again after the server died. The hub notices the death when asked to
    start (it polls the old pid); while it is still stopping the old server it
    answers 400 "pending stop", then spawns a new server."""
    deadline = time.monotonic() + timeout
    while True:
        status, body = room.hub.api("POST", f"/hub/api/users/{name}/server")
        if status in (201, 202):
            return _wait_ready(room, name)
        assert status == 400 and time.monotonic() < deadline, (status, body)
        time.sleep(1)


def _wait_ready(room: Classroom, name: str, timeout: float = 120) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        _, user = room.hub.api("GET", f"/hub/api/users/{name}")
        if isinstance(user, dict) and user.get("servers", {}).get("", {}).get("ready"):
            status, tok = room.hub.api("POST", f"/hub/api/users/{name}/tokens",
                                       body={"note": "test", "expires_in": 3600})
            assert status == 201, (status, tok)
            return tok["token"]
        time.sleep(0.5)
    raise AssertionError(f"{name}'s new server not ready in {timeout} s:\n"
                         + room.log()[-3000:])


def test_a_server_killed_with_sigkill():
    room = _room(students=1, disk="256M")
    try:
        hub, (s,) = room.hub, room.names
        tok = hub.start_server(s)
        res = run_code(hub, s, tok, [
            sh("run", "-d", "--name", "keeper", "busybox", "sleep", "600"),
            sh("run", "--name", "done3", "busybox", "sh", "-c", "exit 3")])
        assert _code(res[0]) == 0, res[0]
        assert _code(res[1]) == 3, res[1]

        pid = server_pid(room.users[s].pw_uid)
        assert pid is not None, "no jupyterhub-singleuser of the student's"
        os.kill(pid, signal.SIGKILL)
        deadline = time.monotonic() + 30
        while os.path.exists(f"/proc/{pid}") and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not os.path.exists(f"/proc/{pid}"), "the server survived SIGKILL"

        tok = _respawn(room, s)
        assert server_pid(room.users[s].pw_uid) not in (None, pid)
        res = run_code(hub, s, tok, [
            sh("inspect", "-f", "{{.State.Status}} {{.State.ExitCode}}", "keeper"),
            sh("inspect", "-f", "{{.State.Status}} {{.State.ExitCode}}", "done3"),
            sh("exec", "keeper", "echo", "still-here"),
            sh("ps", "-a", "--format", "{{.Names}}")])
        assert res[0]["text"].split()[:3] == ["0", "running", "0"], res[0]
        assert res[1]["text"].split()[:3] == ["0", "exited", "3"], res[1]
        assert _code(res[2]) == 0 and "still-here" in res[2]["text"], res[2]
        assert {"keeper", "done3"} <= set(res[3]["text"].split()[1:]), res[3]
    finally:
        leaks = room.close()      # the hub stops the new server: containers, disk, cgroups
    assert not leaks, leaks
