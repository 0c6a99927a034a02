"""Networks through the daemon, driven by the docker CLI as compose and ``docker run
--network a --network b`` drive it: connect to a *created* container, start wires
every network; IPAM at network create; fixed addresses; peers' /etc/hosts and
``inspect`` kept current by connect/disconnect; ``--mac-address`` and ``--link``
(the docker CLI at API 1.45; a MAC on a connect, which the CLI has no flag for, with
curl)."""

from __future__ import annotations

import json
import os
import sys

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "system"))
from test_daemon_docker import running_daemon, DOCKER  # noqa: E402
from test_network_cli import net, uniq, unrouted_subnet  # noqa: E402,F401

pytestmark = [pytest.mark.interop,
              pytest.mark.skipif(not os.path.exists(DOCKER), reason="docker CLI not installed")]


@pytest.fixture
def daemon(gbx, net, tmp_path):  # noqa: F811 — net: the network leak check
    with running_daemon(gbx, tmp_path) as d:
        yield d


def inspect(daemon, ref) -> dict:
    return json.loads(daemon.out("inspect", ref))[0]


def test_connect_before_start_wires_both_networks(daemon):
    a, b = uniq("fa"), uniq("fb")
    sub_a = str(unrouted_subnet())
    sub_b = str(unrouted_subnet())
    while sub_b == sub_a:
        sub_b = str(unrouted_subnet())
    daemon.docker("network", "create", "--subnet", sub_a, a)
    daemon.docker("network", "create", "--subnet", sub_b, "--ip-range",
                  sub_b.replace(".0/24", ".128/25"), "--label", "k=v",
                  "-o", "com.docker.network.bridge.enable_icc=true", b)
    doc = json.loads(daemon.out("network", "inspect", b))[0]
    assert doc["IPAM"]["Config"][0]["IPRange"] == sub_b.replace(".0/24", ".128/25")
    assert doc["Labels"] == {"k": "v"}
    assert doc["Options"]["com.docker.network.bridge.enable_icc"] == "true"

    fixed = sub_a.replace(".0/24", ".77")
    srv = uniq("srv")
    # create on the first network, connect the second before start: the path
    # docker-compose takes (several networks at one create: test_docker_run_on_two_networks_with_a_mac_on_each)
    daemon.docker("create", "--name", srv, "--network", a, "--ip", fixed,
                  "--network-alias", "web", "busybox", "sleep", "300")
    daemon.docker("network", "connect", "--alias", "api", b, srv)
    created = inspect(daemon, srv)["NetworkSettings"]["Networks"]
    assert set(created) == {a, b} and created[b]["IPAddress"] == ""
    daemon.docker("start", srv)
    nets = inspect(daemon, srv)["NetworkSettings"]["Networks"]
    assert nets[a]["IPAddress"] == fixed
    assert nets[a]["IPAMConfig"] == {"IPv4Address": fixed}
    assert "web" in nets[a]["Aliases"] and "api" in nets[b]["Aliases"]
    ip_b = nets[b]["IPAddress"]
    assert int(ip_b.rsplit(".", 1)[1]) >= 128, "outside the network's ip range"
    addrs = daemon.out("exec", srv, "ip", "-4", "-o", "addr")
    assert fixed in addrs and ip_b in addrs

    # a peer on b resolves srv by its alias there; connect/disconnect keep hosts current
    peer = uniq("peer")
    daemon.docker("run", "-d", "--name", peer, "--network", b, "busybox", "sleep", "300")
    hosts = daemon.out("exec", peer, "cat", "/etc/hosts")
    assert any(ln.split()[0] == ip_b and "api" in ln.split() for ln in hosts.splitlines())
    daemon.docker("network", "connect", a, peer)
    peer_nets = inspect(daemon, peer)["NetworkSettings"]["Networks"]
    assert set(peer_nets) == {a, b} and peer_nets[a]["IPAddress"]
    assert peer in daemon.out("exec", srv, "cat", "/etc/hosts")
    daemon.docker("network", "disconnect", a, peer)
    assert set(inspect(daemon, peer)["NetworkSettings"]["Networks"]) == {b}
    srv_hosts = daemon.out("exec", srv, "cat", "/etc/hosts")
    assert peer_nets[a]["IPAddress"] not in srv_hosts

    # a restart brings the network connected before start back
    daemon.docker("restart", "-t", "1", srv)
    nets = inspect(daemon, srv)["NetworkSettings"]["Networks"]
    assert set(nets) == {a, b} and nets[a]["IPAddress"] == fixed and nets[b]["IPAddress"]
    daemon.docker("rm", "-f", srv, peer)
    daemon.docker("network", "rm", a, b)


def test_bad_network_requests_get_docker_errors(daemon):
    a = uniq("fa")
    sub = str(unrouted_subnet())
    daemon.docker("network", "create", "--subnet", sub, a)
    p = daemon.docker("network", "create", "--subnet", sub, uniq("fb"), check=False)
    assert p.returncode != 0 and b"Pool overlaps with other one on this address space" in p.stderr
    import docker
    api = docker.APIClient(base_url=daemon.url)
    with pytest.raises(docker.errors.APIError) as ei:       # Docker's status: 403 Forbidden
        api.create_network(uniq("fb"), ipam=docker.types.IPAMConfig(
            pool_configs=[docker.types.IPAMPool(subnet=sub)]))
    assert ei.value.status_code == 403 and "Pool overlaps" in str(ei.value)
    p = daemon.docker("network", "create", "--ipv6", uniq("fb"), check=False)
    assert p.returncode != 0 and b"IPv6" in p.stderr
    p = daemon.docker("network", "create", "-o", "com.docker.network.driver.mtu=9000",
                      uniq("fb"), check=False)
    assert p.returncode != 0 and b"mtu" in p.stderr
    # an address outside the subnet: 400, and no container is left behind
    c = uniq("c")
    p = daemon.docker("create", "--name", c, "--network", a, "--ip", "10.254.254.9",
                      "busybox", check=False)
    assert p.returncode != 0 and b"does not belong" in p.stderr
    assert c not in daemon.out("ps", "-a", "--format", "{{.Names}}")
    p = daemon.docker("create", "--network", "none", "busybox", "true")
    cnone = p.stdout.decode().strip()
    p = daemon.docker("network", "connect", a, cnone, check=False)
    assert p.returncode != 0 and b"--network none" in p.stderr
    daemon.docker("rm", cnone)
    daemon.docker("create", "--name", c, "--network", "bridge", "busybox", "true")
    p = daemon.docker("network", "connect", "--ip", "10.254.254.9", a, c, check=False)
    assert p.returncode != 0 and b"does not belong" in p.stderr
    assert set(inspect(daemon, c)["NetworkSettings"]["Networks"]) <= {"bridge"}
    p = daemon.docker("network", "connect", "--ip", sub.replace(".0/24", ".0"), a, c,
                      check=False)
    assert p.returncode != 0
    daemon.docker("rm", c)
    daemon.docker("network", "rm", a)
    assert [ln for ln in daemon.out("network", "ls", "--format", "{{.Name}}").split()
            if ln.startswith("fb")] == []


# ---- --mac-address and --link (the MAC on a connect: the API's, with curl) --------------
def eth_mac(daemon, name, dev) -> str:
    return daemon.out("exec", name, "cat", f"/sys/class/net/{dev}/address").strip()


def test_docker_run_mac_address_and_a_connect_with_one(daemon):
    """The docker CLI 28 sends ``--mac-address`` as the network's
    ``EndpointSettings.MacAddress`` (API 1.44; it refused the flag while the daemon
    spoke 1.43). It has no flag for a MAC on ``network connect``: that one is the API's
    ``EndpointConfig.MacAddress``, sent with curl."""
    a, b = uniq("ma"), uniq("mb")
    daemon.docker("network", "create", a)
    daemon.docker("network", "create", b)
    try:
        n = uniq("m")
        daemon.docker("run", "-d", "--name", n, "--network", a, "--mac-address",
                      "02:42:0A:0B:0C:0E", "busybox", "sleep", "600")
        assert eth_mac(daemon, n, "eth0") == "02:42:0a:0b:0c:0e"
        ep = inspect(daemon, n)["NetworkSettings"]["Networks"][a]
        assert ep["MacAddress"] == "02:42:0a:0b:0c:0e"
        # API 1.44: DNSNames, every name it answers to there; from 1.45 Aliases holds
        # only the aliases asked for (none here)
        assert n in ep["DNSNames"] and not ep["Aliases"], ep
        code, body = daemon.curl("-X", "POST", "-H", "Content-Type: application/json", "-d",
                                 json.dumps({"Container": n, "EndpointConfig": {
                                     "MacAddress": "02:42:0a:0b:0c:0f"}}),
                                 f"http://d/networks/{b}/connect")
        assert code == 200, body
        assert eth_mac(daemon, n, "eth1") == "02:42:0a:0b:0c:0f"
        assert inspect(daemon, n)["NetworkSettings"]["Networks"][b]["MacAddress"] == \
            "02:42:0a:0b:0c:0f"
        code, body = daemon.curl("-X", "POST", "-H", "Content-Type: application/json", "-d",
                                 json.dumps({"Container": n, "EndpointConfig": {
                                     "MacAddress": "nonsense"}}),
                                 f"http://d/networks/{a}/connect")
        assert code == 400 and "EndpointConfig.MacAddress" in body, body
        daemon.docker("rm", "-f", n)
    finally:
        daemon.docker("network", "rm", a, b, check=False)


def test_docker_run_on_two_networks_with_a_mac_on_each(daemon):
    """``docker run --network name=A,mac-address=.. --network name=B,mac-address=..``:
    one create with two ``EndpointsConfig`` (API 1.44), each with its own MAC."""
    a, b, n = uniq("na"), uniq("nb"), uniq("m2")
    daemon.docker("network", "create", a)
    daemon.docker("network", "create", b)
    try:
        daemon.docker("run", "-d", "--name", n,
                      "--network", f"name={a},mac-address=02:42:0a:0b:0c:1a,alias=first",
                      "--network", f"name={b},mac-address=02:42:0a:0b:0c:1b",
                      "busybox", "sleep", "600")
        macs = {eth_mac(daemon, n, "eth0"), eth_mac(daemon, n, "eth1")}
        assert macs == {"02:42:0a:0b:0c:1a", "02:42:0a:0b:0c:1b"}
        nets = inspect(daemon, n)["NetworkSettings"]["Networks"]
        assert nets[a]["MacAddress"] == "02:42:0a:0b:0c:1a"
        assert nets[b]["MacAddress"] == "02:42:0a:0b:0c:1b"
        assert "first" in nets[a]["Aliases"] and "first" in nets[a]["DNSNames"], nets[a]
        assert "first" not in nets[b]["DNSNames"]
        daemon.docker("rm", "-f", n)
    finally:
        daemon.docker("network", "rm", a, b, check=False)


def test_an_older_client_sees_the_short_id_among_aliases(daemon):
    """A client that asks an API before 1.44 keeps the old shape: the short id in
    ``Aliases``, no ``DNSNames``."""
    a, n = uniq("no"), uniq("old")
    daemon.docker("network", "create", a)
    try:
        cid = daemon.out("run", "-d", "--name", n, "--network", a, "busybox",
                         "sleep", "600").strip()
        code, body = daemon.curl(f"http://d/v1.41/containers/{n}/json")
        assert code == 200, body
        ep = json.loads(body)["NetworkSettings"]["Networks"][a]
        assert cid[:12] in ep["Aliases"] and "DNSNames" not in ep, ep
        daemon.docker("rm", "-f", n)
    finally:
        daemon.docker("network", "rm", a, check=False)


def test_a_bad_mac_is_400_naming_it(daemon):
    code, body = daemon.curl("-X", "POST", "-H", "Content-Type: application/json", "-d",
                             json.dumps({"Image": "busybox", "MacAddress": "03:00:00:00:00:01",
                                         "HostConfig": {"NetworkMode": "bridge"}}),
                             "http://d/containers/create")
    assert code == 400 and "multicast" in body and "03:00:00:00:00:01" in body, body
    assert daemon.out("ps", "-aq") == ""


def test_docker_link_on_the_default_bridge(daemon):
    db, web = uniq("db"), uniq("web")
    daemon.docker("run", "-d", "--name", db, "--network", "bridge", "busybox", "sleep", "600")
    ip = inspect(daemon, db)["NetworkSettings"]["IPAddress"]
    daemon.docker("run", "-d", "--name", web, "--network", "bridge", "--link", f"{db}:store",
                  "busybox", "sleep", "600")
    hosts = daemon.out("exec", web, "cat", "/etc/hosts")
    assert f"{ip}\tstore {db}" in hosts, hosts
    assert inspect(daemon, web)["HostConfig"]["Links"] == [f"/{db}:/{web}/store"]
    daemon.docker("rm", "-f", web)
    daemon.docker("rm", "-f", db)


def test_docker_network_connect_with_a_link_on_a_user_network(daemon):
    """``EndpointSettings.Links`` on a connect: a name only this container resolves."""
    n, db, web = uniq("ln"), uniq("db"), uniq("web")
    daemon.docker("network", "create", n)
    try:
        daemon.docker("run", "-d", "--name", db, "--network", n, "busybox", "sleep", "600")
        ip = inspect(daemon, db)["NetworkSettings"]["Networks"][n]["IPAddress"]
        daemon.docker("run", "-d", "--name", web, "--network", "bridge", "busybox",
                      "sleep", "600")
        daemon.docker("network", "connect", "--link", f"{db}:cache", n, web)
        hosts = daemon.out("exec", web, "cat", "/etc/hosts")
        assert f"{ip}\tcache {db}" in hosts, hosts
        assert inspect(daemon, web)["NetworkSettings"]["Networks"][n]["Links"] == \
            [f"{db}:cache"]
        assert "cache" not in daemon.out("exec", db, "cat", "/etc/hosts")   # web's name only
        p = daemon.docker("network", "connect", "--link", "ghost:g", "bridge", db, check=False)
        assert p.returncode != 0 and b"No such container: ghost" in p.stderr, p.stderr
        daemon.docker("rm", "-f", web, db)
    finally:
        daemon.docker("network", "rm", n, check=False)


def test_docker_link_to_a_missing_container_is_404(daemon):
    # (a 404 on create makes the CLI pull the image and retry, as it does against dockerd,
    # which answers 404 here too: --pull never spares the registry round trip offline)
    p = daemon.docker("run", "--rm", "--pull", "never", "--network", "bridge", "--link",
                      "ghost:g", "busybox", "true", check=False)
    assert p.returncode == 125 and b"No such container: ghost" in p.stderr, p.stderr
    code, body = daemon.curl("-X", "POST", "-H", "Content-Type: application/json", "-d",
                             json.dumps({"Image": "busybox", "HostConfig": {
                                 "NetworkMode": "bridge", "Links": ["ghost:g"]}}),
                             "http://d/containers/create")
    assert code == 404 and "ghost" in body, body
    assert daemon.out("ps", "-aq") == ""
