"""Three Docker networking details through the real CLI: ``--add-host NAME:host-gateway``,
the legacy ``--link`` environment variables, and ``build``'s default network.

* ``host-gateway`` is the default bridge's gateway — the host's own address on
  ``gbx0`` — in ``/etc/hosts`` of a container on any network (``none`` and a user
  network too), and a server the test runs on the host at that address answers a
  container by that name (traffic over this root's own bridge only);
* ``--link db:cache`` on the default bridge sets ``CACHE_PORT``, ``CACHE_NAME``,
  ``CACHE_ENV_*`` ... in ``env`` inside (also for ``exec``), never in ``inspect``'s
  ``Config.Env``; on a user network a link is only a name; a link to a stopped
  container fails the start;
* ``build`` without ``--network`` (and ``--network default``) runs RUN on the default
  bridge: a RUN fetches from the test's server on the gateway; ``--network none`` cannot.

The ``net`` fixture proves no veth, bridge, endpoint or proxy of the root is left.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
import uuid

import pytest
from gbx_testlib import http_server

sys.path.insert(0, os.path.dirname(__file__))
from test_build import write_ctx  # noqa: E402
from test_network_cli import inspect, net, uniq  # noqa: E402,F401
from test_rootless import people, users  # noqa: E402,F401  (throw-away users, leak-checked)

pytestmark = pytest.mark.system


@contextlib.contextmanager
def host_server(ip: str, text: str):
    """A tiny HTTP server on the host at ``ip`` (a free port), serving ``text`` at ``/``."""
    with http_server(ip, lambda: text.encode()) as port:
        yield port


def gateway(net) -> str:  # noqa: F811
    """The default bridge's gateway (the bridge made if missing, as a start would)."""
    return str(net.ensure_default().gateway)


def hosts_lines(text: str) -> list[list[str]]:
    return [ln.split() for ln in text.splitlines()]


# ---- --add-host NAME:host-gateway ---------------------------------------------------------
def test_host_gateway_is_the_default_bridges_gateway_on_every_network(gbx, net):  # noqa: F811
    gw = gateway(net)
    # none (glassbox's default): the name is there, as Docker writes it
    out = gbx.out("run", "--rm", "--add-host", "hgw:host-gateway", "busybox", "cat",
                  "/etc/hosts")
    assert [gw, "hgw"] in hosts_lines(out), (gw, out)
    # a user network: the *default bridge's* gateway, not this network's
    n = uniq("hgnet")
    gbx.out("network", "create", n)
    try:
        own_gw = json.loads(gbx.out("network", "inspect", n))[0]["IPAM"]["Config"][0]["Gateway"]
        assert own_gw != gw
        out = gbx.out("run", "--rm", "--network", n, "--add-host", "hgw:host-gateway",
                      "--add-host", "other:10.1.2.3", "busybox", "cat", "/etc/hosts")
        lines = hosts_lines(out)
        assert [gw, "hgw"] in lines and ["10.1.2.3", "other"] in lines, out
    finally:
        gbx.cli("network", "rm", n)
    # inspect keeps what was asked, as Docker's HostConfig.ExtraHosts
    cid = gbx.out("create", "--add-host", "hgw:host-gateway", "busybox", "true").strip()
    assert inspect(gbx, cid)["HostConfig"]["ExtraHosts"] == ["hgw:host-gateway"]
    gbx.out("rm", cid)


def test_a_server_on_the_host_answers_by_the_host_gateway_name(gbx, net):  # noqa: F811
    gw = gateway(net)
    text = f"from-the-host-{uuid.uuid4().hex[:6]}"
    n = uniq("hgsrv")
    gbx.out("network", "create", n)
    try:
        with host_server(gw, text) as port:
            for network in ("bridge", n):      # a user network reaches it too (via its gateway)
                out = gbx.out("run", "--rm", "--network", network, "--add-host",
                              "host.docker.internal:host-gateway", "busybox", "wget", "-qO-",
                              f"http://host.docker.internal:{port}/")
                assert out == text, (network, out)
    finally:
        gbx.cli("network", "rm", n)


@pytest.mark.parametrize("bad,words", [
    ("foo", 'invalid argument "foo" for "--add-host" flag: bad format for add-host: "foo"'),
    ("foo:not-an-ip", 'invalid argument "foo:not-an-ip" for "--add-host" flag: invalid IP '
                      'address in add-host: "not-an-ip"'),
])
def test_a_bad_add_host_is_125_with_dockers_words(gbx, bad, words):
    for verb in ("run", "create"):
        p = gbx.cli(verb, "--rm", "--add-host", bad, "busybox", "true")
        assert p.returncode == 125 and words in p.stderr.decode(), (verb, p.stderr)
    assert gbx.engine.containers.list(all=True) == []


# ---- legacy link variables ----------------------------------------------------------------
def _env(text: str) -> dict[str, str]:
    return dict(ln.split("=", 1) for ln in text.splitlines() if "=" in ln)


def test_link_on_the_default_bridge_sets_dockers_variables(gbx, net):  # noqa: F811
    db, web = uniq("db"), uniq("web")
    gbx.out("run", "-d", "--name", db, "--network", "bridge", "-e", "PW=s3cret",
            "--expose", "6379", "--expose", "7001", "--expose", "7000/tcp", "--expose", "53/udp",
            "busybox", "sleep", "600")
    try:
        ip = inspect(gbx, db)["NetworkSettings"]["IPAddress"]
        # no --network: --link puts it on the default bridge, as Docker (and as -p)
        wid = gbx.out("run", "-d", "--name", web, "--link", f"{db}:my-cache",
                      "-e", "MY_CACHE_ENV_PW=mine", "busybox", "sleep", "600").strip()
        doc = inspect(gbx, wid)
        assert doc["HostConfig"]["NetworkMode"] == "bridge"
        env = _env(gbx.out("exec", wid, "cat", "/proc/1/environ").replace("\0", "\n"))
        assert env["MY_CACHE_PORT"] == f"tcp://{ip}:6379"            # the lowest tcp port
        assert env["MY_CACHE_PORT_6379_TCP"] == f"tcp://{ip}:6379"
        assert env["MY_CACHE_PORT_6379_TCP_ADDR"] == ip
        assert env["MY_CACHE_PORT_6379_TCP_PORT"] == "6379"
        assert env["MY_CACHE_PORT_6379_TCP_PROTO"] == "tcp"
        assert env["MY_CACHE_PORT_7000_TCP_START"] == f"tcp://{ip}:7000"
        assert env["MY_CACHE_PORT_7000_TCP_PORT_END"] == "7001"
        assert env["MY_CACHE_PORT_53_UDP"] == f"udp://{ip}:53"
        assert env["MY_CACHE_NAME"] == f"/{web}/my-cache"
        assert env["MY_CACHE_ENV_PW"] == "mine"        # the container's own -e wins
        assert "MY_CACHE_ENV_PATH" not in env and "MY_CACHE_ENV_HOME" not in env
        # exec gets them too (dockerd works them out per exec)
        exec_env = _env(gbx.out("exec", wid, "env"))
        assert exec_env["MY_CACHE_NAME"] == f"/{web}/my-cache", exec_env
        # not in inspect's Config.Env: set at start, not recorded at create
        assert not [e for e in doc["Config"]["Env"] if e.startswith("MY_CACHE_PORT")]
        # a plain run sees them from its first instruction
        out = gbx.out("run", "--rm", "--link", db, "busybox", "env")
        key = db.upper().replace("-", "_")
        assert f"{key}_ENV_PW=s3cret" in out.splitlines(), out
        gbx.out("rm", "-f", wid)
    finally:
        gbx.cli("rm", "-f", db)


def test_link_on_a_user_network_is_only_a_name(gbx, net):  # noqa: F811
    n, db = uniq("lnet"), uniq("db")
    gbx.out("network", "create", n)
    try:
        gbx.out("run", "-d", "--name", db, "--network", n, "-e", "PW=x", "--expose", "80",
                "busybox", "sleep", "600")
        out = gbx.out("run", "--rm", "--network", n, "--link", f"{db}:store", "busybox",
                      "sh", "-c", "env; ping -c 1 -W 2 store >/dev/null && echo reached")
        assert out.splitlines()[-1] == "reached", out        # the alias resolves ...
        assert not [ln for ln in out.splitlines() if ln.startswith("STORE_")], out  # no vars
        gbx.out("rm", "-f", db)
    finally:
        gbx.cli("rm", "-f", db)
        gbx.cli("network", "rm", n)


def test_a_link_to_a_stopped_container_fails_the_start(gbx, net):  # noqa: F811
    db, web = uniq("db"), uniq("web")
    gbx.out("create", "--name", db, "--network", "bridge", "busybox", "sleep", "600")
    try:
        p = gbx.cli("run", "--name", web, "--link", f"{db}:c", "busybox", "true")
        err = p.stderr.decode()
        assert p.returncode == 125 and \
            f"Cannot link to a non running container: /{db} AS /{web}/c" in err, err
        assert inspect(gbx, web)["State"]["Running"] is False
        gbx.out("start", db)
        gbx.out("start", web)                   # once db runs, the same container starts
        assert gbx.out("wait", web).strip() == "0"
    finally:
        gbx.cli("rm", "-f", web, db)


# ---- build: networkmode=default is the default bridge ---------------------------------------
def test_build_default_network_is_the_bridge_and_none_is_isolated(gbx, net, tmp_path):  # noqa: F811
    gbx.env["GLASSBOX_BUILD_PROGRESS"] = "classic"
    gw = gateway(net)
    text = f"served-to-run-{uuid.uuid4().hex[:6]}"
    with host_server(gw, text) as port:
        ctx = write_ctx(tmp_path / "ctx", {"Dockerfile": f"""\
FROM busybox
RUN wget -q -O /page http://{gw}:{port}/ && cat /page
"""})
        for args in ([], ["--network", "default"]):
            out = gbx.out("build", "--no-cache", *args, "-t", f"bnd{uuid.uuid4().hex[:6]}:1",
                          ctx)
            assert text in out, (args, out)
        r = gbx.cli("build", "--no-cache", "--network", "none", ctx)
        assert r.returncode == 1 and b"returned a non-zero code" in r.stderr, r.stderr
        # host-gateway in a build: the same server, by name
        ctx2 = write_ctx(tmp_path / "ctx2", {"Dockerfile": f"""\
FROM busybox
RUN wget -q -O /page http://hgw:{port}/ && cp /etc/hosts /hosts
"""})
        t = f"bhg{uuid.uuid4().hex[:6]}:1"
        gbx.out("build", "--add-host", "hgw:host-gateway", "-t", t, ctx2)
        assert gbx.out("run", "--rm", t, "cat", "/page") == text
        assert [gw, "hgw"] in hosts_lines(gbx.out("run", "--rm", t, "cat", "/hosts"))
    assert gbx.out("ps", "-a", "-q") == ""


# ---- rootless: the default bridge is the user's own (the per-user network namespace) ------
def test_rootless_build_default_is_the_users_bridge_and_host_gateway_too(request, tmp_path):
    """As rootless Docker runs RUN on the ``docker0`` of rootlesskit's namespace, a
    rootless build's default is the bridge in the user's own network namespace (the
    holder's): RUN gets ``eth0`` there, ``--network none`` only ``lo``; ``host-gateway``
    is that bridge's gateway. The ``users`` fixture proves no process (the holder
    included), container or cgroup of theirs is left."""
    import shutil
    import tempfile
    if os.geteuid() != 0 or not (shutil.which("runuser") and shutil.which("useradd")):
        pytest.skip("needs root, runuser and useradd (to make the throw-away users)")
    users = request.getfixturevalue("users")     # made only when the test runs
    ctx = tempfile.mkdtemp(prefix="gbx-rl-net-")      # pytest's tmp is root-only
    try:
        os.chmod(ctx, 0o755)
        with open(os.path.join(ctx, "Dockerfile"), "w") as f:
            f.write("FROM busybox\nRUN ls /sys/class/net | sort | tr '\\n' ' ' > /ifs; "
                    "cp /etc/hosts /hosts\n")
        for who in ("alice", "carol"):      # subordinate ids, and the single-id map
            u = users[who]
            for args, ifs in (([], "eth0 lo "), (["--network", "none"], "lo ")):
                tag = f"rlnet{uuid.uuid4().hex[:6]}:1"
                p = u.gbx("build", "--no-cache", "--add-host", "hgw:host-gateway", *args,
                          "-t", tag, ctx, timeout=120)
                assert p.returncode == 0, (who, args, p.stderr)
                assert "not available" not in p.stdout + p.stderr, p.stdout + p.stderr
                assert u.out("run", "--rm", tag, "cat", "/ifs") == ifs, (who, args)
                gw = json.loads(u.out("network", "inspect", "bridge"))[0]["IPAM"][
                    "Config"][0]["Gateway"]
                assert [gw, "hgw"] in hosts_lines(u.out("run", "--rm", tag, "cat", "/hosts"))
                u.out("rmi", tag)
    finally:
        shutil.rmtree(ctx)


def test_build_without_a_usable_default_bridge_still_runs_isolated(gbx, net, tmp_path):  # noqa: F811
    """Where the default bridge cannot be made, a build with no ``--network`` still
    runs — each RUN in an isolated namespace, with a warning saying why — while an
    explicit ``--network bridge`` is refused. Made real here by a device of that name
    that belongs to "another root" (the check every start makes)."""
    import subprocess
    from glassbox.network.manager import default_bridge_name
    gbx.env["GLASSBOX_BUILD_PROGRESS"] = "classic"
    name = default_bridge_name(gbx.root)
    subprocess.run(["ip", "link", "add", name, "type", "bridge"], check=True)
    try:
        subprocess.run(["ip", "link", "set", name, "alias", "glassbox:0000000000:net:x"],
                       check=True)
        ctx = write_ctx(tmp_path / "ctx", {"Dockerfile": "FROM busybox\n"
                        "RUN ls /sys/class/net | tr '\\n' ' ' > /ifs\n"})
        t = f"nobr{uuid.uuid4().hex[:6]}:1"
        p = gbx.cli("build", "-t", t, ctx)
        out = p.stdout.decode() + p.stderr.decode()
        assert p.returncode == 0, out
        assert "default bridge network is not available" in out and name in out, out
        assert gbx.out("run", "--rm", t, "cat", "/ifs") == "lo "
        r = gbx.cli("build", "--no-cache", "--network", "bridge", ctx)
        assert r.returncode != 0 and name.encode() in r.stderr, r.stderr
        assert [n.name for n in net.list()] == []       # no record of a half-made bridge
    finally:
        subprocess.run(["ip", "link", "del", name], check=False)
    assert gbx.out("ps", "-a", "-q") == ""
