"""The docker CLI typing into a running TTY container of glassbox's daemon: ``docker
run -dit busybox sh`` then ``docker attach`` in a real pty — the input reaches the
shell (its stdin FIFO, copied into the pty by the C monitor), the terminal's size
reaches the pty (``/resize``), ctrl-p ctrl-q ends the attach and the container runs
on. And ``docker run -it``, detached, then attached again: the shim that served the
first attach handed the pty over to the monitor. The ``gbx`` fixture checks that no
shim or monitor is left."""

from __future__ import annotations

import json

import pytest

from pty_session import PtySession
from test_daemon_docker import DOCKER, name, needs_docker

pytestmark = [pytest.mark.interop]


def _running(daemon, n: str) -> bool:
    return json.loads(daemon.out("inspect", n))[0]["State"]["Running"]


def _shim_comm(daemon, n: str) -> str:
    """What watches the container once the daemon let go (it does so a moment after
    the client left: waited for, with a bound against hanging)."""
    import time
    c = daemon.gbx.engine.get(n)
    deadline = time.monotonic() + 30
    while True:
        with open(f"/proc/{c.state['ShimPid']}/comm") as f:
            comm = f.read().strip()
        if comm == "gbx-monitor" or time.monotonic() > deadline:
            return comm
        time.sleep(0.05)


@needs_docker
def test_docker_attach_types_into_a_running_tty_container(daemon):
    n = name()
    daemon.out("run", "-dit", "--name", n, "busybox", "sh")
    att = PtySession([DOCKER, "attach", n], daemon.env, rows=27, cols=91)
    try:
        att.send(b"echo in''terop; stty size\r")
        att.expect(b"interop\r\n")
        att.expect(b"27 91")
        att.send(b"\x10\x11")
        att.exit_code()           # (docker's own: 1, "read escape sequence")
    finally:
        att.close()
    assert _running(daemon, n)
    att = PtySession([DOCKER, "attach", n], daemon.env)
    try:
        att.send(b"exit 5\r")
        assert att.exit_code() == 5, att.seen
    finally:
        att.close()
    assert not _running(daemon, n)
    daemon.out("rm", n)


@needs_docker
def test_docker_run_it_detach_then_attach_again(daemon):
    n = name()
    run = PtySession([DOCKER, "run", "-it", "--name", n, "busybox", "sh"], daemon.env)
    try:
        run.send(b"echo fi''rst\r")
        run.expect(b"first\r\n")
        run.send(b"\x10\x11")
        assert run.exit_code() == 0, run.seen
    finally:
        run.close()
    assert _running(daemon, n)
    assert _shim_comm(daemon, n) == "gbx-monitor"      # the Python shim let go
    att = PtySession([DOCKER, "attach", n], daemon.env)
    try:
        att.send(b"echo sec''ond\r")
        att.expect(b"second\r\n")
        att.send(b"\x10\x11")
        att.exit_code()
    finally:
        att.close()
    assert _running(daemon, n)
    daemon.out("rm", "-f", n)


@needs_docker
def test_glassbox_attach_over_the_daemon(daemon):
    """``glassbox -H ... attach``: the log followed over /logs, the keys through an
    attach hijack carrying stdin (RemoteEngine.open_stdin), the size over /resize."""
    import os
    import sys
    glassbox = os.path.join(os.path.dirname(sys.executable), "glassbox")
    remote = [glassbox, "-H", daemon.url]
    n = name()
    daemon.out("run", "-dit", "--name", n, "busybox", "sh")
    att = PtySession([*remote, "attach", n], daemon.gbx.env, rows=22, cols=77)
    try:
        att.send(b"echo re''mote; stty size\r")
        att.expect(b"remote\r\n")
        att.expect(b"22 77")
        att.send(b"\x10\x11")
        assert att.exit_code() == 0, att.seen
    finally:
        att.close()
    assert _running(daemon, n)
    att = PtySession([*remote, "attach", n], daemon.gbx.env)
    try:
        att.send(b"exit 4\r")
        assert att.exit_code() == 4, att.seen
    finally:
        att.close()
    assert not _running(daemon, n)
    daemon.out("rm", n)


@needs_docker
def test_glassbox_run_interactive_over_the_daemon(daemon):
    """``glassbox -H ... run -i`` pipes stdin up the attach (the end of it is the
    end of the container's input), and ``run -it`` is a terminal session with the
    detach keys, as locally."""
    import os
    import subprocess
    import sys
    glassbox = os.path.join(os.path.dirname(sys.executable), "glassbox")
    remote = [glassbox, "-H", daemon.url]
    p = subprocess.run([*remote, "run", "--rm", "-i", "busybox", "sh", "-c", "tr a-z A-Z; exit 3"],
                       input=b"piped up\n", capture_output=True, env=daemon.gbx.env, timeout=60)
    assert (p.returncode, p.stdout) == (3, b"PIPED UP\n"), p.stderr
    n = name()
    run = PtySession([*remote, "run", "-it", "--name", n, "busybox", "sh"], daemon.gbx.env)
    try:
        run.send(b"echo over''H\r")
        run.expect(b"overH\r\n")
        run.send(b"\x10\x11")
        assert run.exit_code() == 0, run.seen
    finally:
        run.close()
    assert _running(daemon, n)
    daemon.out("rm", "-f", n)
