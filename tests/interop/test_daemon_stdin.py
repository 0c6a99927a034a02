"""``OpenStdin`` without an attach (``docker run -di busybox cat``, docker-py
``stdin_open=True``): the container's stdin stays open, so ``cat`` keeps running and
clients can ``exec`` into it; a later attach with stdin reaches it."""

from __future__ import annotations

import os
import socket
import time
import uuid

import pytest

from test_daemon_docker import DOCKER

pytestmark = [pytest.mark.interop]



def _recv_until(sock: socket.socket, want: bytes, timeout: float = 15) -> bytes:
    sock.settimeout(1)
    got = b""
    deadline = time.monotonic() + timeout
    while want not in got and time.monotonic() < deadline:
        try:
            chunk = sock.recv(4096)
        except socket.timeout:
            continue
        if not chunk:
            break
        got += chunk
    return got


@pytest.mark.skipif(not os.path.exists(DOCKER), reason="docker CLI not installed")
def test_docker_run_di_keeps_stdin_open(daemon):
    name = "s" + uuid.uuid4().hex[:10]
    daemon.docker("run", "-di", "--name", name, "busybox", "cat")
    time.sleep(1)        # cat with a closed stdin would have exited by now
    assert daemon.out("inspect", "-f", "{{.State.Running}}", name).strip() == "true"
    assert daemon.out("exec", name, "echo", "exec works") == "exec works\n"
    # without -i the same container reads EOF and exits 0
    other = "s" + uuid.uuid4().hex[:10]
    daemon.docker("run", "-d", "--name", other, "busybox", "cat")
    assert daemon.out("wait", other).strip() == "0"
    daemon.docker("rm", "-f", name, other)


def test_docker_py_stdin_open_and_a_later_attach(daemon):
    docker = pytest.importorskip("docker")
    client = docker.DockerClient(base_url=daemon.url)
    try:
        c = client.containers.run("busybox", ["cat"], stdin_open=True, detach=True,
                                  name="s" + uuid.uuid4().hex[:10])
        time.sleep(1)
        c.reload()
        assert c.status == "running"
        s = c.attach_socket(params={"stdin": 1, "stream": 1, "stdout": 1})
        raw = s._sock
        raw.sendall(b"typed later\n")
        got = _recv_until(raw, b"typed later\n")
        assert b"typed later\n" in got      # cat echoed it: the attach reached its stdin
        s.close()
        c.reload()
        assert c.status == "running"        # the attach going away does not close stdin
        assert b"typed later" in c.logs()
        c.remove(force=True)
    finally:
        client.close()
