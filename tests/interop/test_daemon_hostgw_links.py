"""``host-gateway``, legacy link variables and build's ``networkmode=default`` through
the daemon, driven by the real docker CLI (28.x) and docker-py.

* ``docker run --add-host h:host-gateway busybox cat /etc/hosts``: the default
  bridge's gateway; ``ExtraHosts`` over the API refused by name when bad (the docker
  CLI refuses ``foo`` / ``foo:not-an-ip`` itself, before any request);
* ``docker run --link db:cache busybox env``: Docker's variables in ``env``, not in
  ``docker inspect``'s ``Config.Env``;
* ``docker build`` (the CLI sends ``networkmode=default``): a RUN reaches a server the
  test runs on the default bridge's gateway; ``--network none`` cannot; docker-py's
  ``extra_hosts={"h": "host-gateway"}``.

The ``net`` fixture proves no veth, bridge, endpoint or proxy of the root is left.
"""

from __future__ import annotations

import json
import os
import sys
import uuid

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "system"))
from test_daemon_docker import DOCKER, name  # noqa: E402
from test_daemon_networks import daemon  # noqa: E402,F401  (with the network leak check)
from test_hostgw_links import host_server, hosts_lines  # noqa: E402
from test_network_cli import net, uniq  # noqa: E402,F401

pytestmark = [pytest.mark.interop,
              pytest.mark.skipif(not os.path.exists(DOCKER), reason="docker CLI not installed")]


def _ctx(tmp_path, dockerfile: str) -> str:
    ctx = tmp_path / f"ctx-{uuid.uuid4().hex[:6]}"
    ctx.mkdir()
    (ctx / "Dockerfile").write_text(dockerfile)
    return str(ctx)


def test_docker_run_add_host_host_gateway(daemon, net):  # noqa: F811
    gw = str(net.ensure_default().gateway)
    out = daemon.out("run", "--rm", "--add-host", "h:host-gateway", "busybox", "cat",
                     "/etc/hosts")
    assert [gw, "h"] in hosts_lines(out), (gw, out)
    n = name()
    daemon.docker("create", "--name", n, "--add-host", "h:host-gateway", "busybox", "true")
    doc = json.loads(daemon.out("inspect", n))[0]
    assert doc["HostConfig"]["ExtraHosts"] == ["h:host-gateway"]
    daemon.docker("rm", n)
    # the CLI checks the flag itself, with these words (and never asks the daemon) ...
    for bad, words in (("foo", b'bad format for add-host: "foo"'),
                       ("foo:not-an-ip", b'invalid IP address in add-host: "not-an-ip"')):
        p = daemon.docker("run", "--rm", "--add-host", bad, "busybox", "true", check=False)
        assert p.returncode == 125 and words in p.stderr, p.stderr
    # ... a raw API client gets a 400 naming it
    code, body = daemon.curl("-X", "POST", "-H", "Content-Type: application/json", "-d",
                             json.dumps({"Image": "busybox",
                                         "HostConfig": {"ExtraHosts": ["foo:not-an-ip"]}}),
                             "http://d/containers/create")
    assert code == 400 and "not-an-ip" in body and "add-host" in body, (code, body)
    assert daemon.out("ps", "-aq") == ""


def test_docker_run_link_sets_the_variables_in_env_not_in_inspect(daemon):  # noqa: F811
    db, web = uniq("db"), uniq("web")
    daemon.docker("run", "-d", "--name", db, "--network", "bridge", "-e", "PW=s3",
                  "--expose", "6379", "busybox", "sleep", "600")
    try:
        ip = json.loads(daemon.out("inspect", db))[0]["NetworkSettings"]["IPAddress"]
        out = daemon.out("run", "--rm", "--name", web, "--link", f"{db}:cache", "busybox",
                         "env")
        env = dict(ln.split("=", 1) for ln in out.splitlines() if "=" in ln)
        assert env["CACHE_PORT"] == f"tcp://{ip}:6379", out
        assert env["CACHE_PORT_6379_TCP_ADDR"] == ip and env["CACHE_ENV_PW"] == "s3"
        assert env["CACHE_NAME"] == f"/{web}/cache"
        n = name()
        daemon.docker("create", "--name", n, "--link", f"{db}:cache", "busybox", "true")
        doc = json.loads(daemon.out("inspect", n))[0]
        assert not [e for e in doc["Config"]["Env"] if e.startswith("CACHE_")], doc["Config"]
        assert doc["HostConfig"]["Links"] == [f"/{db}:/{n}/cache"]
        daemon.docker("rm", n)
    finally:
        daemon.docker("rm", "-f", db, check=False)


def test_docker_build_runs_on_the_default_bridge(daemon, net, tmp_path):  # noqa: F811
    gw = str(net.ensure_default().gateway)
    text = f"to-docker-build-{uuid.uuid4().hex[:6]}"
    with host_server(gw, text) as port:
        ctx = _ctx(tmp_path, f"FROM busybox\nRUN wget -q -O /page http://{gw}:{port}/\n")
        t = name() + ":1"
        daemon.docker("build", "--no-cache", "-t", t, ctx, timeout=180)
        assert daemon.out("run", "--rm", t, "cat", "/page") == text
        p = daemon.docker("build", "--no-cache", "--network", "none", ctx, timeout=180,
                          check=False)
        assert p.returncode != 0 and b"returned a non-zero code" in p.stderr, p.stderr
        docker = pytest.importorskip("docker")
        client = docker.DockerClient(base_url=daemon.url)
        try:
            ctx2 = _ctx(tmp_path, f"FROM busybox\nRUN wget -q -O /page http://hgw:{port}/; "
                                  "cp /etc/hosts /hosts\n")
            img, _ = client.images.build(path=ctx2, extra_hosts={"hgw": "host-gateway"},
                                         network_mode="default")
            got = client.containers.run(img.id, "sh -c 'cat /page; echo; cat /hosts'",
                                        remove=True).decode()
            assert got.startswith(text), got
            assert [gw, "hgw"] in hosts_lines(got), got
        finally:
            client.close()
    assert daemon.gbx.engine.containers.list() == []
