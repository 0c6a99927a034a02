"""The daemon's HTTP app in-process (aiohttp's test client, no socket, no Engine):
endpoints glassbox answers as a dockerd without swarm or plugins, and JSON
bodies it must refuse with a 400 rather than fall over on."""

import asyncio
import json

import pytest

from glassbox.daemon import swarm
from glassbox import safejson
from glassbox.daemon.server import Daemon, build_app
from glassbox.errors import InvalidArgument

pytest.importorskip("aiohttp")


class NoEngine:
    """Any Engine use is a test bug: these requests must be answered before it."""

    def __getattr__(self, name):
        raise AssertionError(f"the Engine was used ({name})")


def call(method: str, path: str, **kw) -> tuple[int, object]:
    from aiohttp.test_utils import TestClient, TestServer

    async def go():
        d = Daemon(NoEngine())
        try:
            async with TestClient(TestServer(build_app(d))) as client:
                resp = await client.request(method, path, **kw)
                assert resp.headers["Content-Type"] == "application/json"
                return resp.status, json.loads(await resp.read())
        finally:
            d.pool.shutdown(wait=False)
    return asyncio.run(go())


@pytest.mark.parametrize("prefix", ["", "/v1.43", "/v1.24"])
@pytest.mark.parametrize("method,path", [
    ("GET", "/swarm"), ("POST", "/swarm/init"), ("POST", "/swarm/leave"),
    ("GET", "/swarm/unlockkey"), ("GET", "/services"), ("POST", "/services/create"),
    ("GET", "/services/web/logs"), ("DELETE", "/services/web"), ("GET", "/nodes"),
    ("GET", "/nodes/abc"), ("GET", "/tasks"), ("GET", "/tasks/abc/logs"),
    ("GET", "/secrets"), ("POST", "/secrets/create"), ("GET", "/configs"),
    ("DELETE", "/configs/x"),
])
def test_swarm_family_is_503_not_a_manager(prefix, method, path):
    status, body = call(method, prefix + path)
    assert (status, body) == (503, {"message": swarm.NOT_A_MANAGER})
    assert body["message"].startswith("This node is not a swarm manager. Use \"docker swarm")


def test_swarm_prefix_does_not_swallow_lookalikes():
    status, body = call("GET", "/swarmy")
    assert status == 404 and body["message"] == "page not found"


@pytest.mark.parametrize("prefix", ["", "/v1.41"])
def test_plugins(prefix):
    assert call("GET", prefix + "/plugins") == (200, [])
    assert call("GET", prefix + '/plugins?filters={"capability":["volumedriver"]}') == (200, [])
    status, body = call("GET", prefix + "/plugins?filters={bad")
    assert status == 400 and "invalid filters" in body["message"]
    assert call("GET", prefix + "/plugins/vieux/sshfs:latest/json") == \
        (404, {"message": 'plugin "vieux/sshfs:latest" not found'})
    assert call("DELETE", prefix + "/plugins/sshfs") == \
        (404, {"message": 'plugin "sshfs" not found'})
    for verb in ("enable", "disable", "push", "set", "upgrade"):
        assert call("POST", f"{prefix}/plugins/sshfs/{verb}") == \
            (404, {"message": 'plugin "sshfs" not found'})
    for method, path in (("POST", "/plugins/pull?remote=vieux/sshfs"),
                         ("POST", "/plugins/create?name=x"),
                         ("GET", "/plugins/privileges?remote=vieux/sshfs")):
        status, body = call(method, prefix + path)
        assert status == 501 and "does not support Docker Engine plugins" in body["message"]


def test_deeply_nested_body_is_a_400():
    deep = b"[" * 100_000 + b"]" * 100_000
    for path in ("/containers/create", "/v1.43/containers/create", "/auth"):
        status, body = call("POST", path, data=deep,
                            headers={"Content-Type": "application/json"})
        assert status == 400, (path, body)
        assert "nested too deeply" in body["message"]


def test_deeply_nested_query_json_is_a_400():
    # percent-encoded brackets are 3 bytes each; the request line is capped at 8 KiB
    deep = "[" * 1200 + "]" * 1200
    status, body = call("GET", "/containers/json", params={"filters": deep})
    assert status == 400 and "nested too deeply" in body["message"]


def test_loads_json_depth_limit():
    ok = "[" * safejson.MAX_JSON_DEPTH + "]" * safejson.MAX_JSON_DEPTH
    assert safejson.loads_json(ok) is not None
    nested = {"a": [{"b": {}}]}
    assert safejson.loads_json(json.dumps(nested)) == nested
    over = '{"k": ' * safejson.MAX_JSON_DEPTH + "1" + "}" * safejson.MAX_JSON_DEPTH   # 100 objects: fine
    assert safejson.loads_json(over)["k"]
    for raw in ("[" * (safejson.MAX_JSON_DEPTH + 1) + "]" * (safejson.MAX_JSON_DEPTH + 1),
                '{"k": ' * (safejson.MAX_JSON_DEPTH + 1) + "1" + "}" * (safejson.MAX_JSON_DEPTH + 1),
                "[" * 100_000 + "]" * 100_000):
        with pytest.raises(InvalidArgument, match="nested too deeply"):
            safejson.loads_json(raw)
    with pytest.raises(ValueError):
        safejson.loads_json("{bad")
