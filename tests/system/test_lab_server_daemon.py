"""The lab's server part pointed at a real glassbox daemon (``GLASSBOX_HOST``).

The daemon runs on the ``gbx`` fixture's state root, on a unix socket in tmp; the lab
server reaches it through :class:`~glassbox.daemon.client.RemoteEngine`, like ``glassbox
-H``. It lists what the daemon lists, acts through it (stats, a live limit update and
the layer tree included) and says which engine it is connected to.
"""

from __future__ import annotations

import json
import socket
import subprocess
import time
import uuid

import pytest

pytest_plugins = ["pytest_jupyter.jupyter_server"]
pytestmark = pytest.mark.system


@pytest.fixture
def daemon(gbx, tmp_path):
    path = str(tmp_path / "gbx.sock")
    log = open(tmp_path / "daemon.log", "w+")
    proc = gbx.popen("daemon", "--socket", path, "--group", "", stdout=log,
                     stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 30
    while True:
        assert proc.poll() is None, "daemon exited early"
        with socket.socket(socket.AF_UNIX) as s:
            try:
                s.connect(path)
                break
            except OSError:
                assert time.monotonic() < deadline, "daemon did not listen"
                time.sleep(0.05)
    yield f"unix://{path}"
    proc.terminate()
    proc.wait(30)
    log.close()


@pytest.fixture
def jp_server_config(gbx, daemon, monkeypatch):
    monkeypatch.setenv("GLASSBOX_HOST", daemon)
    monkeypatch.delenv("DOCKER_HOST", raising=False)
    return {"ServerApp": {"jpserver_extensions": {"glassbox.lab": True}}}


async def _get(jp_fetch, *parts, **kw):
    return json.loads((await jp_fetch("glassbox", *parts, **kw)).body)


async def test_the_panel_over_a_daemon(gbx, daemon, jp_fetch):
    name = "labd-" + uuid.uuid4().hex[:8]
    gbx.out("run", "-d", "--name", name, "--network", "none", "busybox", "sleep", "600")
    try:
        status = await _get(jp_fetch, "status")
        assert status["engine"] == {"kind": "daemon", "address": daemon, "via": "GLASSBOX_HOST"}
        assert status["ok"] is True and status["running"] == 1
        assert status["memory"] > 0             # summed from the daemon's stats
        rows = await _get(jp_fetch, "containers")
        assert [r["name"] for r in rows] == [name] and rows[0]["state"] == "running"
        doc = await _get(jp_fetch, "containers", name, "inspect")
        assert doc["inspect"]["Name"].lstrip("/") == name
        images = await _get(jp_fetch, "images")
        assert any("busybox:latest" in i["tags"] for i in images)
        st = await _get(jp_fetch, "containers", name, "stats")      # through the daemon
        assert st["pids_current"] >= 1 and st["memory_usage"] > 0
        tree = await _get(jp_fetch, "layers")
        local = [l.diff_id for l in gbx.engine.image_layers("busybox")]
        assert {b["key"] for b in tree["boxes"]} >= set(local)
        upd = json.loads((await jp_fetch("glassbox", "containers", name, "update",
                                         method="POST",
                                         body=json.dumps({"memory": "48m"}))).body)
        assert upd["limits"]["memory"] == 48 << 20
        assert gbx.engine.containers.get(name).config["Limits"]["memory"] == 48 << 20

        await jp_fetch("glassbox", "containers", name, "kill", method="POST", body="{}")
        for _ in range(200):
            if gbx.engine.containers.get(name).status == "exited":
                break
            time.sleep(0.05)
        assert gbx.engine.containers.get(name).status == "exited"    # done by the daemon
        await jp_fetch("glassbox", "containers", name, "rm", method="POST", body="{}")
        assert await _get(jp_fetch, "containers") == []
    finally:
        gbx.cli("rm", "-f", name)
