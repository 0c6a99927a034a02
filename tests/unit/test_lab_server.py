"""The lab's server part in a real jupyter_server (pytest-jupyter), on an empty state root.

No root needed: a tmp state root without containers answers every route; bad input
and an unreachable engine get their JSON errors; no route answers without a token.
Real containers are in tests/system/test_lab_server_system.py.
"""

from __future__ import annotations

import asyncio
import json
import os

import pytest
import tornado.httpclient
import tornado.websocket

pytest_plugins = ["pytest_jupyter.jupyter_server"]


@pytest.fixture
def lab_root(tmp_path, monkeypatch):
    root = tmp_path / "gbxroot"
    monkeypatch.setenv("GLASSBOX_ROOT", str(root))
    monkeypatch.delenv("GLASSBOX_HOST", raising=False)
    monkeypatch.delenv("DOCKER_HOST", raising=False)
    return str(root)


@pytest.fixture
def jp_server_config(lab_root):
    return {"ServerApp": {"jpserver_extensions": {"glassbox.lab": True}}}


async def _json(jp_fetch, *parts, **kw):
    r = await jp_fetch("glassbox", *parts, **kw)
    return r.code, json.loads(r.body)


async def _err(jp_fetch, *parts, **kw):
    with pytest.raises(tornado.httpclient.HTTPClientError) as e:
        await jp_fetch("glassbox", *parts, **kw)
    return e.value.code, json.loads(e.value.response.body)


ROUTES = ["status", "containers", "images", "layers", "networks", "volumes"]


@pytest.mark.parametrize("route", ROUTES)
async def test_every_list_route_answers_json_on_an_empty_root(jp_fetch, lab_root, route):
    code, doc = await _json(jp_fetch, route)
    assert code == 200
    if route == "status":
        assert doc["ok"] is True and doc["running"] == 0 and doc["total"] == 0
        assert doc["engine"] == {"kind": "local", "address": lab_root, "via": "GLASSBOX_ROOT"}
    elif route == "layers":
        assert doc == {"columns": [], "boxes": []}
    else:
        assert doc == []


@pytest.mark.parametrize("parts", [
    ("containers", "nosuch"), ("containers", "nosuch", "inspect"),
    ("containers", "nosuch", "logs"), ("containers", "nosuch", "stats"),
    ("containers", "nosuch", "namespaces"), ("containers", "nosuch", "changes")])
async def test_a_missing_container_is_a_404_with_the_engines_message(jp_fetch, parts):
    code, doc = await _err(jp_fetch, *parts)
    assert code == 404
    assert "nosuch" in doc["error"] and doc["state"] == "error"


@pytest.mark.parametrize("action", ["start", "stop", "kill", "restart", "rm", "update"])
async def test_an_action_on_a_removed_container_is_a_short_404(jp_fetch, action):
    code, doc = await _err(jp_fetch, "containers", "gone", action, method="POST",
                           body=json.dumps({"memory": "64m"}))
    assert code == 404
    assert "gone" in doc["error"] and len(doc["error"]) < 120


async def test_bad_input_is_a_400_naming_what_was_wrong(jp_fetch):
    code, doc = await _err(jp_fetch, "containers", "x", "logs", params={"limit": "lots"})
    assert code == 400 and "limit" in doc["error"]
    code, doc = await _err(jp_fetch, "containers", "x", "stop", method="POST", body="{not json")
    assert code == 400 and "JSON" in doc["error"]
    code, doc = await _err(jp_fetch, "containers", "x", "stop", method="POST", body="[1]")
    assert code == 400 and "object" in doc["error"]
    code, doc = await _err(jp_fetch, "containers", "x", "explode", method="POST", body="{}")
    assert code == 404 and "explode" in doc["error"]
    code, doc = await _err(jp_fetch, "images", "nosuch:1", "rm", method="POST", body="{}")
    assert code == 404 and "nosuch" in doc["error"]


@pytest.mark.parametrize("route", ROUTES + ["containers/x", "containers/x/logs",
                                            "containers/x/inspect"])
async def test_no_route_answers_without_a_token(jp_fetch, route):
    with pytest.raises(tornado.httpclient.HTTPClientError) as e:
        await jp_fetch("glassbox", *route.split("/"), headers={"Authorization": ""},
                       follow_redirects=False)
    assert e.value.code in (302, 403)
    assert b"glassbox" not in (e.value.response.body or b"") or e.value.code == 302


async def test_a_post_without_token_or_xsrf_is_refused(jp_fetch):
    with pytest.raises(tornado.httpclient.HTTPClientError) as e:
        await jp_fetch("glassbox", "containers", "x", "stop", method="POST", body="{}",
                       headers={"Authorization": ""}, follow_redirects=False)
    assert e.value.code in (302, 403)


async def test_the_websocket_refuses_an_upgrade_without_a_token(jp_ws_fetch):
    with pytest.raises(tornado.httpclient.HTTPClientError) as e:
        await jp_ws_fetch("glassbox", "events", headers={"Authorization": ""})
    assert e.value.code == 403


async def test_the_websocket_says_hello_status_and_refuses_bad_messages(jp_ws_fetch, lab_root):
    ws = await jp_ws_fetch("glassbox", "events")
    try:
        hello = json.loads(await ws.read_message())
        assert hello == {"type": "hello", "engine": {"kind": "local", "address": lab_root,
                                                     "via": "GLASSBOX_ROOT"}}
        ws.write_message("[1, 2]")
        ws.write_message(json.dumps({"watch": "not-a-list"}))
        ws.write_message(json.dumps({"watch": ["nosuch"]}))
        seen = []
        while len([m for m in seen if m["type"] == "error"]) < 3:
            seen.append(json.loads(await asyncio.wait_for(ws.read_message(), 10)))
        errors = [m["error"] for m in seen if m["type"] == "error"]
        assert "JSON object" in errors[0]
        assert "list of container ids" in errors[1]
        assert "No such container: nosuch" in errors[2]
        while not any(m["type"] == "status" for m in seen):
            seen.append(json.loads(await asyncio.wait_for(ws.read_message(), 10)))
        status = next(m for m in seen if m["type"] == "status")
        assert status["ok"] is True and status["running"] == 0
    finally:
        ws.close()


async def test_the_hub_stops_its_background_work_when_the_last_socket_closes(
        jp_ws_fetch, jp_serverapp):
    hub = jp_serverapp.web_app.settings["glassbox_hub"]
    ws = await jp_ws_fetch("glassbox", "events")
    await ws.read_message()
    assert hub._events is not None and len(hub.sockets) == 1
    ws.close()
    for _ in range(100):
        if not hub.sockets:
            break
        await asyncio.sleep(0.05)
    assert not hub.sockets and hub._events is None and hub._status_task is None


# ---- the engine cannot be reached -------------------------------------------------
@pytest.fixture
def dead_daemon(lab_root, tmp_path, monkeypatch):
    sock = tmp_path / "nobody-listens.sock"
    monkeypatch.setenv("GLASSBOX_HOST", f"unix://{sock}")
    return f"unix://{sock}"


async def test_an_unreachable_daemon_is_a_503_with_the_fix(dead_daemon, jp_fetch):
    code, doc = await _err(jp_fetch, "containers")
    assert code == 503 and doc["state"] == "unreachable"
    assert dead_daemon in doc["error"] and "GLASSBOX_HOST" in doc["fix"]
    assert doc["engine"] == {"kind": "daemon", "address": dead_daemon, "via": "GLASSBOX_HOST"}
    code, st = await _json(jp_fetch, "status")
    assert code == 200 and st["ok"] is False and st["fix"]


@pytest.fixture
def file_root(lab_root, monkeypatch):
    with open(lab_root, "w") as f:
        f.write("not a directory")
    return lab_root


async def test_a_state_root_that_is_a_file_is_a_503_with_the_fix(file_root, jp_fetch):
    for route in ("containers", "images", "layers"):
        code, doc = await _err(jp_fetch, route)
        assert code == 503 and file_root in doc["error"] and "GLASSBOX_ROOT" in doc["fix"]
    code, st = await _json(jp_fetch, "status")
    assert st["ok"] is False and "not a directory" in st["error"]


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads every directory")
async def test_an_unreadable_state_root_is_a_503_with_the_fix(lab_root, jp_fetch):
    os.makedirs(os.path.join(lab_root, "containers"), exist_ok=True)
    os.chmod(os.path.join(lab_root, "containers"), 0)
    try:
        code, doc = await _err(jp_fetch, "containers")
    finally:
        os.chmod(os.path.join(lab_root, "containers"), 0o755)
    assert code == 503 and "cannot be read" in doc["error"] and "GLASSBOX_ROOT" in doc["fix"]


def test_choose_follows_the_clis_convention():
    from glassbox.lab.connection import choose
    assert choose({"GLASSBOX_HOST": "unix:///a", "DOCKER_HOST": "unix:///b"}).address == "unix:///a"
    assert choose({"DOCKER_HOST": "tcp://1.2.3.4:2375"}).via == "DOCKER_HOST"
    assert choose({"GLASSBOX_ROOT": "/tmp/x"}).as_dict() == {"kind": "local", "address": "/tmp/x",
                                                            "via": "GLASSBOX_ROOT"}
    assert choose({}).via == "default"


def test_a_live_chart_of_a_missing_container_is_refused_at_once(tmp_path):
    from glassbox.engine import Engine
    from glassbox.jupyter import monitor
    from glassbox.jupyter.livechart import MIME
    m = monitor("nosuch", engine=Engine(str(tmp_path / "root")))
    assert m.sampler is None and "nosuch" in m.error
    assert MIME not in m._repr_mimebundle_()        # no chart for the lab to draw
