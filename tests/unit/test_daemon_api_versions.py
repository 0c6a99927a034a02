"""Response shapes that changed after API 1.43 follow the *request's* version (its
``/v1.xx`` prefix; unprefixed is the newest served), as dockerd does: a client that
asks 1.41 keeps the old shapes, the docker CLI 28 (at 1.44, what glassbox serves)
gets the new ones. The 1.45 shapes (see ``server.API_VERSION`` for why 1.45 is not
served yet) are checked on the functions that make them. In-process (aiohttp's test
client) with a small fake Engine."""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass, field

import pytest

from glassbox.daemon.containers import endpoint_names
from glassbox.daemon.images import inspect_shape
from glassbox.daemon.server import API_VERSION, Daemon, build_app

pytest.importorskip("aiohttp")

OLD_CREATED = "2024-01-01T00:00:00Z"      # 1704067200
NEW_CREATED = "2025-01-01T00:00:00Z"      # 1735689600


@dataclass
class FakeImage:
    id: str
    repo_tags: list
    created: str
    size: int = 1000
    repo_digests: list = field(default_factory=list)
    diff_ids: list = field(default_factory=list)
    config: dict = field(default_factory=lambda: {"config": {"Labels": {}}})


class FakeEngine:
    def image_list(self):
        return [FakeImage("sha256:" + "a" * 64, ["old:1"], OLD_CREATED),
                FakeImage("sha256:" + "b" * 64, ["new:1"], NEW_CREATED)]

    def image_inspect(self, name):
        return {"Id": "sha256:" + "a" * 64, "RepoTags": [name], "Size": 1000,
                "Config": {"Cmd": ["sh"]}, "Created": ""}


def get(path: str):
    from aiohttp.test_utils import TestClient, TestServer

    async def go():
        d = Daemon(FakeEngine())
        try:
            async with TestClient(TestServer(build_app(d))) as client:
                resp = await client.get(path)
                return resp.status, resp.headers.get("Api-Version"), json.loads(await resp.read())
        finally:
            d.pool.shutdown(wait=False)
    return asyncio.run(go())


def test_the_newest_version_is_advertised():
    status, header, body = get("/version")
    assert status == 200 and header == API_VERSION == body["ApiVersion"] == "1.45"
    status, _, body = get("/v1.46/version")
    assert status == 400 and "Maximum supported API version is 1.45" in body["message"]


@pytest.mark.parametrize("prefix,virtual", [("/v1.41", True), ("/v1.43", True),
                                            ("/v1.44", False), ("", False)])
def test_image_list_drops_virtual_size_at_1_44(prefix, virtual):
    status, _, rows = get(prefix + "/images/json")
    assert status == 200 and len(rows) == 2
    assert all(("VirtualSize" in r) is virtual for r in rows), rows
    assert all(r["Size"] == 1000 for r in rows)


@pytest.mark.parametrize("prefix,virtual,container,created", [
    ("/v1.43", True, True, True), ("/v1.44", False, True, False),
    ("/v1.45", False, False, False), ("", False, False, False)])
def test_image_inspect_shape_by_version(prefix, virtual, container, created):
    status, _, doc = get(prefix + "/images/busybox/json")
    assert status == 200
    assert ("VirtualSize" in doc) is virtual
    assert ("ContainerConfig" in doc) is container and ("Container" in doc) is container
    assert ("Created" in doc) is created      # unknown: omitted from 1.44 on
    assert doc["Config"] == {"Cmd": ["sh"]}


def test_image_inspect_at_1_45_has_no_container_config():
    doc = inspect_shape({"Id": "x", "Size": 1, "Config": {}, "Container": "",
                         "ContainerConfig": {}, "Created": "2024-01-01T00:00:00Z"}, (1, 45))
    assert doc == {"Id": "x", "Size": 1, "Config": {}, "Created": "2024-01-01T00:00:00Z"}


@pytest.mark.parametrize("until,tags", [
    ("1720000000", ["old:1"]),                       # a unix timestamp, mid 2024
    ("2024-06-01T00:00:00Z", ["old:1"]),             # a date
    ("1h", ["old:1", "new:1"]),                      # a duration back from now
    ("1000000h", []),                                # ~114 years back: nothing before it
])
def test_image_list_until_filter(until, tags):
    filters = json.dumps({"until": [until]})
    status, _, rows = get(f"/images/json?filters={filters}")
    assert status == 200
    assert [r["RepoTags"][0] for r in rows] == tags


def test_a_bad_until_filter_is_400_naming_it():
    status, _, body = get("/images/json?filters=" + json.dumps({"until": ["soon"]}))
    assert status == 400 and "invalid until filter 'soon'" in body["message"]


@dataclass
class FakeContainer:
    id: str
    name: str
    config: dict


def _inspect_doc(c: FakeContainer, net: str) -> dict:
    return {"NetworkSettings": {"Networks": {
        net: {"Aliases": [c.name, "web", c.id[:12]], "MacAddress": ""},
        "bridge": {"Aliases": None}}}}


@pytest.mark.parametrize("version,aliases,dns", [
    ((1, 41), ["c1", "web", "0123456789ab"], None),
    ((1, 44), ["c1", "web", "0123456789ab"], ["c1", "web", "0123456789ab"]),
    ((1, 45), ["web"], ["c1", "web", "0123456789ab"])])
def test_endpoint_names_by_version(version, aliases, dns):
    c = FakeContainer("0123456789ab" + "c" * 52, "c1", {"HostConfig": {"NetworkMode": "n1"},
                      "NetworkingConfig": {"EndpointsConfig": {"n1": {"Aliases": ["web"]}}}})
    doc = _inspect_doc(c, "n1")
    endpoint_names(doc, c, version)
    ep = doc["NetworkSettings"]["Networks"]["n1"]
    assert ep["Aliases"] == aliases
    assert ep.get("DNSNames") == dns and (("DNSNames" in ep) is (version >= (1, 44)))
    bridge = doc["NetworkSettings"]["Networks"]["bridge"]
    assert bridge["Aliases"] is None and bridge.get("DNSNames") is None


def test_at_1_45_no_alias_asked_is_null_aliases():
    c = FakeContainer("0123456789ab" + "c" * 52, "c1", {"HostConfig": {"NetworkMode": "n1"}})
    doc = {"NetworkSettings": {"Networks": {"n1": {"Aliases": ["c1", "0123456789ab"]}}}}
    endpoint_names(doc, c, (1, 45))
    ep = doc["NetworkSettings"]["Networks"]["n1"]
    assert ep["Aliases"] is None and ep["DNSNames"] == ["c1", "0123456789ab"]
