"""The daemon process itself: its socket, shutdown, and containers outliving it."""

from __future__ import annotations

import grp
import os
import shutil
import signal
import socket
import stat
import subprocess
import sys
import tempfile
import time
import uuid

import pytest

from glassbox.daemon.client import Client
from glassbox.daemon.server import API_VERSION

pytestmark = [pytest.mark.system]


def start(gbx, path, log, group=""):
    proc = gbx.popen("daemon", "--socket", path, "--group", group, stdout=log,
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
            assert stat.S_IMODE(os.stat(path).st_mode) == 0o600   # no group: root only
            second = gbx.cli("daemon", "--socket", path, timeout=30)
            assert second.returncode == 125 and b"in use" in second.stderr
            assert Client("unix://" + path).request("GET", "/version")["ApiVersion"] == API_VERSION
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


NOBODY = 65534  # nobody:nogroup


def connect_as_nobody(path) -> str:
    """Connect to ``path`` as uid/gid 65534 (no supplementary groups) in a child."""
    code = ("import socket, sys\n"
            "s = socket.socket(socket.AF_UNIX)\n"
            "try:\n"
            "    s.connect(sys.argv[1]); print('connected')\n"
            "except OSError as e:\n"
            "    print(e.__class__.__name__)\n")
    p = subprocess.run(["setpriv", f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups",
                        sys.executable, "-c", code, path],
                       capture_output=True, timeout=30)
    assert p.returncode == 0, p.stderr
    return p.stdout.decode().strip()


@pytest.mark.parametrize("group", ["", "nogroup"])
def test_socket_mode_and_who_may_connect(gbx, group):
    """0600 (root only) without a group; 0660 owned by the group when it exists —
    and a user outside it is refused by the kernel at connect."""
    if group:
        try:
            gid = grp.getgrnam(group).gr_gid
        except KeyError:
            pytest.skip(f"no group {group} on this host")
    sockdir = tempfile.mkdtemp(prefix="gbx-sock-")
    try:
        os.chmod(sockdir, 0o755)     # so only the socket's own mode decides
        path = os.path.join(sockdir, f"{uuid.uuid4().hex[:8]}.sock")
        with open(os.path.join(sockdir, "log"), "w+") as log:
            proc = start(gbx, path, log, group)
            try:
                st = os.stat(path)
                if group:
                    assert stat.S_IMODE(st.st_mode) == 0o660 and st.st_gid == gid
                    # nobody's primary group is nogroup: the group may talk to the daemon
                    assert connect_as_nobody(path) == "connected"
                else:
                    assert stat.S_IMODE(st.st_mode) == 0o600 and st.st_uid == 0
                    assert connect_as_nobody(path) == "PermissionError"
                assert Client("unix://" + path).request("GET", "/version")["ApiVersion"]
            finally:
                stop(proc)
        assert not os.path.exists(path)
    finally:
        shutil.rmtree(sockdir)
