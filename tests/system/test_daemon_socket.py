"""The daemon process itself: its socket, shutdown, and containers outliving it."""

from __future__ import annotations

import os
import signal
import socket
import stat
import subprocess
import time

import pytest

from glassbox.daemon.client import Client

pytestmark = [pytest.mark.system]


def start(gbx, path, log):
    proc = gbx.popen("daemon", "--socket", path, "--group", "", stdout=log,
                     stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 30
    while True:
        assert proc.poll() is None, "daemon exited early"
        s = socket.socket(socket.AF_UNIX)
        try:
            s.connect(path)
            return proc
        except OSError:
            assert time.monotonic() < deadline, "daemon did not listen"
            time.sleep(0.05)
        finally:
            s.close()


def stop(proc):
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=20) == 0


def test_stale_socket_is_replaced_and_a_live_one_refused(gbx, tmp_path):
    path = str(tmp_path / "d.sock")
    stale = socket.socket(socket.AF_UNIX)
    stale.bind(path)  # a socket file nobody listens on (a crashed daemon's)
    stale.close()
    with open(tmp_path / "log", "w+") as log:
        proc = start(gbx, path, log)
        try:
            assert stat.S_IMODE(os.stat(path).st_mode) == 0o660
            second = gbx.cli("daemon", "--socket", path, timeout=30)
            assert second.returncode == 125 and b"in use" in second.stderr
            assert Client("unix://" + path).request("GET", "/version")["ApiVersion"] == "1.43"
        finally:
            stop(proc)
    assert not os.path.exists(path)


def test_containers_outlive_the_daemon(gbx, tmp_path):
    """Like dockerd with live-restore: the shim, not the daemon, is the parent."""
    path = str(tmp_path / "d.sock")
    with open(tmp_path / "log", "w+") as log:
        proc = start(gbx, path, log)
        api = Client("unix://" + path)
        cid = api.request("POST", "/containers/create", None,
                          {"Image": "busybox", "Cmd": ["sleep", "300"]})["Id"]
        api.request("POST", f"/containers/{cid}/start")
        # an attach left open while the daemon stops must not hold it up
        attached = api.hijack(f"/containers/{cid}/attach", {"stream": 1, "stdout": 1})
        stop(proc)
        attached.close()
    assert not os.path.exists(path)
    c = gbx.engine.containers.get(cid)
    assert c.running
    with open(tmp_path / "log", "w+") as log:
        proc = start(gbx, path, log)
        try:
            api = Client("unix://" + path)
            assert api.request("GET", f"/containers/{cid}/json")["State"]["Running"]
            api.request("DELETE", f"/containers/{cid}", {"force": "1"})
        finally:
            stop(proc)
    assert gbx.engine.containers.list() == []
