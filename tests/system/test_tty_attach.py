"""Interactive TTY sessions, driven through real ptys (``os.openpty`` + the real CLI):
``run -it`` and its detach keys, ``attach`` (typing into a running container,
detaching again, ``exit`` through it), ``start -ai``, ``--detach-keys`` and its bad
spellings, Docker's words for a missing or stopped container. The ``gbx`` fixture
proves on teardown that no shim, monitor, cgroup or mount is left."""

from __future__ import annotations

import os
import sys
import time
import uuid

import pytest

from pty_session import PtySession

GLASSBOX = os.path.join(os.path.dirname(sys.executable), "glassbox")


pytestmark = pytest.mark.system


def PtyCli(gbx, *args: str, rows: int = 33, cols: int = 101) -> PtySession:
    return PtySession([GLASSBOX, *args], gbx.env, rows=rows, cols=cols)


def _name() -> str:
    return f"tty-{uuid.uuid4().hex[:10]}"


def _status(gbx, name: str) -> str:
    return gbx.engine.get(name).status


def _comm(pid: int) -> str:
    with open(f"/proc/{pid}/comm") as f:
        return f.read().strip()


def _health(gbx, name: str) -> dict | None:
    """``State.Health`` as ``inspect`` shows it."""
    import json
    return json.loads(gbx.out("inspect", name))[0]["State"].get("Health")


def _holds(pid: int, path: str) -> bool:
    """Whether process ``pid`` has ``path`` open."""
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            if os.readlink(f"/proc/{pid}/fd/{fd}") == path:
                return True
        except OSError:
            continue
    return False


def test_run_it_detach_attach_type_detach_and_exit(gbx):
    n = _name()
    run = PtyCli(gbx, "run", "-it", "--name", n, "busybox", "sh")
    try:
        run.expect(b"# ")                              # the shell's prompt, through the pty
        run.send(b"echo o''ne; stty size\r")
        run.expect(b"one\r\n")
        run.expect(b"33 101")                          # the pty sized like our terminal
        run.send(b"\x10\x11")                          # ctrl-p ctrl-q
        assert run.exit_code() == 0, run.seen
    finally:
        run.close()
    assert n in gbx.out("ps")                          # still running
    c = gbx.engine.get(n)
    assert c.status == "running"
    # the Python shim handed over to the C monitor, which holds nothing of our terminal
    # (the shim sees our pipes close a moment after the CLI exits: waited for, bounded)
    shim = c.state["ShimPid"]
    deadline = time.monotonic() + 30
    while _comm(shim) != "gbx-monitor" and time.monotonic() < deadline:
        time.sleep(0.05)
    assert _comm(shim) == "gbx-monitor"
    assert not _holds(shim, run.tty)

    att = PtyCli(gbx, "attach", n, rows=40, cols=120)
    try:
        att.send(b"echo t''wo; stty size\r")
        att.expect(b"two\r\n")
        att.expect(b"40 120")                          # resized to the attaching terminal
        att.send(b"\x10\x11")
        assert att.exit_code() == 0, att.seen
    finally:
        att.close()
    assert _status(gbx, n) == "running"

    att = PtyCli(gbx, "attach", "--detach-keys", "ctrl-x,x", n)
    try:
        # ctrl-p ctrl-q are not the keys now: plain input for the shell (history, XON),
        # its line killed with ctrl-u; the attach is still on when the answer comes
        att.send(b"\x10\x11\x15echo th''ree\r")
        att.expect(b"three\r\n")
        att.send(b"\x18x")
        assert att.exit_code() == 0, att.seen
    finally:
        att.close()
    assert _status(gbx, n) == "running"
    logs = gbx.out("logs", n)
    assert "one\r\n" in logs and "two\r\n" in logs and "three\r\n" in logs

    att = PtyCli(gbx, "attach", n)
    try:
        att.send(b"exit 0\r")
        assert att.exit_code() == 0, att.seen
    finally:
        att.close()
    assert _status(gbx, n) == "exited"
    assert gbx.engine.get(n).exit_code == 0
    gbx.out("rm", n)


def test_attach_ends_with_the_containers_exit_code(gbx):
    n = _name()
    gbx.out("run", "-dit", "--name", n, "busybox", "sh")
    att = PtyCli(gbx, "attach", n)
    try:
        att.send(b"exit 7\r")
        assert att.exit_code() == 7, att.seen
    finally:
        att.close()
    assert _status(gbx, n) == "exited"
    gbx.out("rm", n)


def test_start_ai_detaches_and_the_fifo_keeps_the_shell_reachable(gbx):
    n = _name()
    gbx.out("create", "-it", "--name", n, "busybox", "sh")
    st = PtyCli(gbx, "start", "-ai", "--detach-keys", "ctrl-a,d", n)
    try:
        st.expect(b"# ")
        st.send(b"echo f''our\r")
        st.expect(b"four\r\n")
        st.send(b"\x01d")
        assert st.exit_code() == 0, st.seen
    finally:
        st.close()
    assert _status(gbx, n) == "running"
    # what anyone writes into the container's stdin (Engine.open_stdin) is typed there
    fd = gbx.engine.open_stdin(n)
    assert fd is not None
    try:
        os.write(fd, b"echo fi''ve\n")
    finally:
        os.close(fd)
    deadline = time.monotonic() + 60
    while "five\r\n" not in gbx.out("logs", n) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert "five\r\n" in gbx.out("logs", n)
    gbx.out("rm", "-f", n)


def test_bad_detach_keys_and_docker_words_for_attach(gbx):
    before = gbx.out("ps", "-aq")
    r = gbx.cli("run", "-it", "--detach-keys", "ctrl-", "busybox", "sh")
    assert r.returncode == 125
    assert b"Invalid detach keys (ctrl-) provided in --detach-keys" in r.stderr
    assert gbx.out("ps", "-aq") == before                 # nothing was created
    r = gbx.cli("attach", "--detach-keys", "ctrl-pp", "whatever")
    assert r.returncode == 1 and b"Invalid detach keys (ctrl-pp)" in r.stderr
    missing = _name()
    r = gbx.cli("attach", missing)
    assert r.returncode == 1
    assert f"Error: No such container: {missing}".encode() in r.stderr
    n = _name()
    gbx.out("create", "-it", "--name", n, "busybox", "sh")
    r = gbx.cli("attach", n)
    assert r.returncode == 1
    assert b"You cannot attach to a stopped container, start it first" in r.stderr
    help_ = gbx.out("attach", "--help")
    for flag in ("--detach-keys", "--no-stdin", "--sig-proxy"):
        assert flag in help_
    gbx.out("rm", n)


def test_health_goes_on_where_it_was_after_a_detach(gbx):
    """The attached shim's watcher probed; after the detach keys the C monitor takes
    over the check with the state so far (status, streak, the last probes' log), not
    from "starting" again. The start period probes every second until healthy; the
    interval after that (300 s) keeps the new monitor from probing before we look."""
    n = _name()
    run = PtyCli(gbx, "run", "-it", "--name", n, "--health-cmd", "echo probed",
                 "--health-start-period", "60s", "--health-start-interval", "1s",
                 "--health-interval", "300s", "busybox", "sh")
    try:
        run.expect(b"# ")
        deadline = time.monotonic() + 60
        health = None
        while time.monotonic() < deadline:
            health = _health(gbx, n)
            if health and health["Status"] == "healthy":
                break
            time.sleep(0.1)
        assert health and health["Status"] == "healthy", health
        before = [e["Start"] for e in health["Log"]]
        assert before and health["Log"][-1]["Output"] == "probed\n"
        run.send(b"\x10\x11")
        assert run.exit_code() == 0, run.seen
    finally:
        run.close()
    shim = gbx.engine.get(n).state["ShimPid"]
    deadline = time.monotonic() + 30
    while _comm(shim) != "gbx-monitor" and time.monotonic() < deadline:
        time.sleep(0.05)
    assert _comm(shim) == "gbx-monitor"
    after = _health(gbx, n)
    assert after["Status"] == "healthy" and after["FailingStreak"] == 0
    assert [e["Start"] for e in after["Log"]][:len(before)] == before
    assert after["Log"][0]["Output"] == "probed\n"
    gbx.out("rm", "-f", n)
