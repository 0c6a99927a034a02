"""``SecurityOptions`` as dockerd lists them, in the daemon's ``/info``."""

import asyncio
import json
import os

import pytest

pytest.importorskip("aiohttp")


class InfoEngine:
    """Just what ``/info`` reads from an Engine."""

    root = "/nonexistent"

    def info(self):
        from glassbox.seccomp import host_security_options   # as Engine.info gives them
        return {"Images": 0, "Cgroup Version": "v1",
                "Security Options": " ".join(host_security_options())}

    @staticmethod
    def ps(all=True):  # noqa: A002 (the Engine's name)
        return []


def test_info_lists_seccomp_and_the_name_options():
    from aiohttp.test_utils import TestClient, TestServer

    from glassbox.daemon.server import Daemon, build_app

    async def go():
        d = Daemon(InfoEngine())
        try:
            async with TestClient(TestServer(build_app(d))) as client:
                resp = await client.get("/v1.41/info")
                return resp.status, json.loads(await resp.read())
        finally:
            d.pool.shutdown(wait=False)
    status, body = asyncio.run(go())
    assert status == 200
    opts = body["SecurityOptions"]
    with open("/proc/self/status") as f:
        has_seccomp = "Seccomp_filters:" in f.read()   # CONFIG_SECCOMP_FILTER
    assert ("name=seccomp,profile=builtin" in opts) == has_seccomp
    assert opts[-2:] == ["name=cgroupns", "name=no-new-privileges"]
    assert ("name=rootless" in opts) == (os.geteuid() != 0)
