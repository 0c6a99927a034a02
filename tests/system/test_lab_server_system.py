"""The lab's server part on real containers: the routes, the live stats and logs over the
WebSocket, actions, and the engine the CLI sees agreeing with what the panel did.

Each test has the ``gbx`` fixture's state root and cgroup parent (leak-checked on
teardown: no container, cgroup, mount or shim left) and a jupyter_server from
pytest-jupyter with ``glassbox.lab`` enabled on that root.
"""

from __future__ import annotations

import asyncio
import json
import uuid

import pytest
import tornado.httpclient

pytest_plugins = ["pytest_jupyter.jupyter_server"]
pytestmark = pytest.mark.system

BUSY = ["sh", "-c", "while :; do :; done"]


@pytest.fixture
def jp_server_config(gbx, monkeypatch):
    monkeypatch.setenv("GLASSBOX_ROOT", gbx.root)
    monkeypatch.setenv("GLASSBOX_CGROUP_PARENT", gbx.cgroup_parent)
    monkeypatch.delenv("GLASSBOX_HOST", raising=False)
    monkeypatch.delenv("DOCKER_HOST", raising=False)
    return {"ServerApp": {"jpserver_extensions": {"glassbox.lab": True}}}


def _name() -> str:
    return "lab-" + uuid.uuid4().hex[:8]


async def _get(jp_fetch, *parts, **kw):
    r = await jp_fetch("glassbox", *parts, **kw)
    return json.loads(r.body)


async def _post(jp_fetch, *parts, body=None):
    r = await jp_fetch("glassbox", *parts, method="POST", body=json.dumps(body or {}))
    return json.loads(r.body)


async def _until(ws, pred, timeout=20.0):
    """Read messages until one satisfies ``pred``; return it."""
    loop = asyncio.get_running_loop()
    end = loop.time() + timeout
    while True:
        left = end - loop.time()
        if left <= 0:
            raise AssertionError("no matching message on the WebSocket")
        raw = await asyncio.wait_for(ws.read_message(), left)
        assert raw is not None, "the server closed the WebSocket"
        msg = json.loads(raw)
        if pred(msg):
            return msg


async def test_a_running_container_through_every_route(gbx, jp_fetch):
    name = _name()
    gbx.out("run", "-d", "--name", name, "--network", "none", "-m", "64m", "busybox",
            "sh", "-c", "echo hello-lab; echo second line; touch /made-here; "
                        "while :; do :; done")
    cid = gbx.out("inspect", "-f", "{{.Id}}", name).strip()

    rows = await _get(jp_fetch, "containers")
    row = next(r for r in rows if r["name"] == name)
    assert row["id"] == cid and row["state"] == "running" and row["image"] == "busybox"
    assert row["memory_limit"] == 64 * 1024 * 1024

    detail = await _get(jp_fetch, "containers", name)
    assert detail["pid"] > 0 and detail["running"] is True

    doc = await _get(jp_fetch, "containers", name, "inspect")
    assert doc["inspect"]["Id"] == cid
    assert doc["process_spec"]["args"][:2] == ["sh", "-c"]
    assert "pid" in doc["process_spec"]["namespaces"]

    st = await _get(jp_fetch, "containers", name, "stats")
    assert st["memory_limit"] == 64 * 1024 * 1024 and st["pids_current"] >= 1

    ns = await _get(jp_fetch, "containers", name, "namespaces")
    kinds = {r["kind"]: r for r in ns["rows"]}
    assert ns["pid"] == detail["pid"]
    assert kinds["uts"]["container"] != kinds["uts"]["host"] and not kinds["uts"]["shared"]
    assert kinds["user"]["shared"] is True          # rootful: the host's user namespace

    for _ in range(100):                             # the shell writes its file at once
        changes = await _get(jp_fetch, "containers", name, "changes")
        if {"kind": "A", "path": "/made-here"} in changes:
            break
        await asyncio.sleep(0.05)
    assert {"kind": "A", "path": "/made-here"} in changes

    page = await _get(jp_fetch, "containers", name, "logs")
    assert [ln["text"].strip() for ln in page["lines"]] == ["hello-lab", "second line"]
    assert page["total"] == 2 and page["start"] == 0
    page = await _get(jp_fetch, "containers", name, "logs", params={"start": "1", "limit": "1"})
    assert [ln["text"].strip() for ln in page["lines"]] == ["second line"] and page["total"] == 2
    page = await _get(jp_fetch, "containers", name, "logs", params={"q": "hello"})
    assert page["total"] == 1

    status = await _get(jp_fetch, "status")
    assert status["running"] == 1 and status["total"] == 1 and status["memory"] > 0

    images = await _get(jp_fetch, "images")
    assert any("busybox:latest" in i["tags"] for i in images)
    tree = await _get(jp_fetch, "layers", params={"image": "busybox:latest"})
    assert tree["columns"] == ["busybox:latest"]
    layer = next(b for b in tree["boxes"] if b["kind"] == "layer")
    assert layer["size"] > 0 and layer["images"] == ["busybox:latest"]
    # an imported layer: no instruction made it, the history's comment says what did
    assert layer["created_by"] == "" and layer["comment"] == "Imported from -", layer

    # the memory limit the Stats tab edits: the same live update as `glassbox update`
    out = await _post(jp_fetch, "containers", name, "update", body={"memory": "48m"})
    assert out["limits"]["memory"] == 48 * 1024 * 1024
    assert gbx.out("inspect", "-f", "{{.HostConfig.Memory}}", name).strip() == str(48 << 20)
    st = await _get(jp_fetch, "containers", name, "stats")
    assert st["memory_limit"] == 48 * 1024 * 1024      # the cgroup itself, read back

    with pytest.raises(tornado.httpclient.HTTPClientError) as e:
        await _post(jp_fetch, "containers", name, "update", body={"memory": "1k"})
    assert e.value.code == 400 and "Minimum memory" in json.loads(e.value.response.body)["error"]
    with pytest.raises(tornado.httpclient.HTTPClientError) as e:
        await _post(jp_fetch, "containers", name, "rm")
    assert e.value.code == 409                         # running: rm without force refused

    done = await _post(jp_fetch, "containers", name, "kill")
    assert done["name"] == name
    for _ in range(200):
        if gbx.engine.containers.get(name).status == "exited":
            break
        await asyncio.sleep(0.05)
    assert "Exited (137)" in gbx.out("ps", "-a", "--filter", f"name={name}")
    assert (await _post(jp_fetch, "containers", name, "rm"))["removed"] is True
    with pytest.raises(tornado.httpclient.HTTPClientError) as e:
        await _post(jp_fetch, "containers", name, "stop")
    assert e.value.code == 404 and name in json.loads(e.value.response.body)["error"]


async def test_volumes_and_networks_list_what_the_cli_made(gbx, jp_fetch):
    vol = "labvol-" + uuid.uuid4().hex[:8]
    gbx.out("volume", "create", vol)
    try:
        vols = await _get(jp_fetch, "volumes")
        assert [v["name"] for v in vols] == [vol] and vols[0]["users"] == []
        nets = await _get(jp_fetch, "networks")
        assert isinstance(nets, list)
    finally:
        gbx.out("volume", "rm", vol)


async def test_the_websocket_streams_events_stats_and_logs_with_one_shared_sampler(
        gbx, jp_fetch, jp_ws_fetch, jp_serverapp):
    hub = jp_serverapp.web_app.settings["glassbox_hub"]
    tab1 = await jp_ws_fetch("glassbox", "events")
    tab2 = await jp_ws_fetch("glassbox", "events")
    name = _name()
    try:
        await _until(tab1, lambda m: m["type"] == "hello")
        gbx.out("run", "-d", "--name", name, "--network", "none", "busybox",
                "sh", "-c", "while :; do echo tick; sleep 0.2; done & while :; do :; done")
        ev = await _until(tab1, lambda m: m["type"] == "event" and
                          m["event"]["Action"] == "start" and
                          m["event"]["Actor"]["Attributes"]["name"] == name)
        cid = ev["event"]["Actor"]["ID"]
        for tab in (tab1, tab2):
            tab.write_message(json.dumps({"watch": [cid], "follow": [cid]}))
        for tab in (tab1, tab2):
            busy = await _until(tab, lambda m: m["type"] == "stats" and m["id"] == cid
                                and m["cpu"] > 10)
            assert busy["pids"] >= 2 and busy["memory"] > 0
            line = await _until(tab, lambda m: m["type"] == "log" and m["id"] == cid)
            assert line["line"]["text"].strip() == "tick"
        assert hub.sampler_count == 1 and len(hub.followers) == 1   # two tabs, one reader

        tab1.write_message(json.dumps({"watch": []}))
        await asyncio.sleep(0.3)
        assert hub.sampler_count == 1                  # tab2 still watches
        tab2.write_message(json.dumps({"watch": []}))
        for _ in range(100):
            if hub.sampler_count == 0:
                break
            await asyncio.sleep(0.05)
        assert hub.sampler_count == 0                  # nobody watches: stopped

        await _post(jp_fetch, "containers", name, "stop", body={"timeout": 1})
        die = await _until(tab2, lambda m: m["type"] == "event" and m["event"]["Action"] == "die"
                           and m["event"]["Actor"]["ID"] == cid)
        assert die["event"]["Actor"]["Attributes"]["exitCode"] in ("137", "143")
    finally:
        tab1.close()
        tab2.close()
        gbx.cli("rm", "-f", name)
    for _ in range(100):
        if not hub.sockets:
            break
        await asyncio.sleep(0.05)
    assert not hub.sockets and hub._events is None


async def test_a_huge_log_is_paged_not_loaded_whole(gbx, jp_fetch):
    name = _name()
    gbx.out("run", "--name", name, "--network", "none", "busybox",
            "sh", "-c", "i=0; while [ $i -lt 3000 ]; do echo line-$i; i=$((i+1)); done")
    try:
        last = await _get(jp_fetch, "containers", name, "logs")
        assert last["total"] == 3000 and last["start"] == 2500 and len(last["lines"]) == 500
        assert last["lines"][-1]["text"].strip() == "line-2999"
        older = await _get(jp_fetch, "containers", name, "logs",
                           params={"start": "2000", "limit": "500"})
        assert [ln["text"].strip() for ln in older["lines"]][:2] == ["line-2000", "line-2001"]
        assert len(older["lines"]) == 500
        hits = await _get(jp_fetch, "containers", name, "logs", params={"q": "line-29"})
        assert hits["total"] == 111                    # line-29, line-290..299, line-2900..2999
        with pytest.raises(tornado.httpclient.HTTPClientError) as e:
            await _get(jp_fetch, "containers", name, "logs", params={"limit": "100000"})
        assert e.value.code == 400 and "limit" in json.loads(e.value.response.body)["error"]
    finally:
        gbx.cli("rm", "-f", name)


async def test_a_live_chart_asks_for_10_hz_and_the_panel_falls_back_to_2(
        gbx, jp_ws_fetch, jp_serverapp):
    from glassbox.jupyter import monitor
    from glassbox.jupyter.livechart import MIME
    from glassbox.lab.hub import FAST_INTERVAL, STATS_INTERVAL
    hub = jp_serverapp.web_app.settings["glassbox_hub"]
    name = _name()
    gbx.out("run", "-d", "--name", name, "--network", "none", "busybox", "sleep", "600")
    ws = await jp_ws_fetch("glassbox", "events")
    try:
        m = monitor(name, engine=gbx.engine, render=False)
        bundle = m._repr_mimebundle_()
        m.stop()
        cid = bundle[MIME]["id"]
        assert bundle[MIME]["name"] == name and "m.show()" in bundle["text/plain"]
        ws.write_message(json.dumps({"watch": [cid], "fast": [cid]}))
        await _until(ws, lambda m: m["type"] == "stats" and m["id"] == cid)
        assert hub.samplers[cid].interval == FAST_INTERVAL
        ws.write_message(json.dumps({"watch": [cid], "fast": []}))
        await _until(ws, lambda m: m["type"] == "stats" and m["id"] == cid)
        assert hub.samplers[cid].interval == STATS_INTERVAL and hub.sampler_count == 1
    finally:
        ws.close()
        gbx.cli("rm", "-f", name)


async def test_the_layer_tree_draws_a_shared_layer_once_and_rmi_removes_an_image(gbx, jp_fetch):
    name = _name()
    tag = f"labtree-{uuid.uuid4().hex[:6]}:1"
    gbx.out("run", "--name", name, "--network", "none", "busybox", "sh", "-c", "echo x > /x")
    gbx.out("commit", name, tag)
    gbx.out("rm", name)
    tree = await _get(jp_fetch, "layers")
    assert sorted(tree["columns"]) == sorted(["busybox:latest", tag])
    layers = [b for b in tree["boxes"] if b["kind"] == "layer"]
    shared = [b for b in layers if b["x1"] - b["x0"] == 2]
    assert len(shared) == 1 and sorted(shared[0]["images"]) == sorted(["busybox:latest", tag])
    own = [b for b in layers if b["images"] == [tag]]
    assert len(own) == 1 and own[0]["level"] == shared[0]["level"] + 1
    assert "sh -c echo x > /x" in own[0]["created_by"]     # the instruction that made it
    out = await _post(jp_fetch, "images", tag, "rm")
    assert any("Untagged" in item or "Deleted" in item for item in out)
    assert all(tag not in i["tags"] for i in await _get(jp_fetch, "images"))
