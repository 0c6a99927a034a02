"""A detached exec's output is drained (daemon/execs.py ``_drain`` over hijack.py's
``read_streams``): after docker-py's raw client detaches from an exec with a TTY, the
exec'd process writes far more than a pipe holds and still runs to its end — not blocked
on a full pipe, not killed by SIGPIPE — and its exit code is recorded (the detach closes
the connection, and aiohttp cancels the handler: the reaping must not depend on it). The
``daemon``
fixture gives the test its own daemon and state root, and the ``gbx`` leak check."""

from __future__ import annotations

import pytest
from gbx_testlib import wait_for

from test_daemon_docker import name

pytestmark = [pytest.mark.interop]

SCRIPT = ("read go; head -c 4000000 /dev/zero | tr '\\0' x; echo; "
          "echo drained > /tmp/after-the-output; exit 7")
"""Waits for a line, then prints 4 MB (64 pipe buffers) and marks that it got past them."""


def _read_until(raw, want: bytes) -> bytes:
    data = b""
    while want not in data:
        chunk = raw.recv(4096)
        if not chunk:
            break
        data += chunk
    return data


def test_a_detached_exec_runs_to_its_end_while_its_output_is_drained(daemon):
    docker = pytest.importorskip("docker")
    api = docker.APIClient(base_url=daemon.url, version="auto")
    c = api.create_container("busybox", ["sleep", "600"], name=name())
    try:
        api.start(c["Id"])
        e = api.exec_create(c["Id"], ["sh", "-c", f"echo ready; {SCRIPT}"], tty=True, stdin=True,
                            detach_keys="ctrl-x,ctrl-y")
        sock = api.exec_start(e["Id"], tty=True, socket=True)
        raw = sock._sock
        raw.settimeout(30)
        assert b"ready" in _read_until(raw, b"ready")
        raw.sendall(b"go\n\x18\x19")             # the line it waits for, then the detach keys
        assert len(_read_until(raw, b"\x00never")) < 4_000_000   # the daemon let go of us
        sock.close()
        wait_for(lambda: not api.exec_inspect(e["Id"])["Running"], timeout=60)
        info = api.exec_inspect(e["Id"])
        assert info["Running"] is False and info["ExitCode"] == 7, info
        probe = api.exec_create(c["Id"], ["cat", "/tmp/after-the-output"])
        assert api.exec_start(probe["Id"]) == b"drained\n"
    finally:
        api.remove_container(c["Id"], force=True)
        api.close()
