"""Networks through the daemon, driven by the docker CLI as compose and ``docker run
--network a --network b`` drive it: connect to a *created* container, start wires
every network; IPAM at network create; fixed addresses; peers' /etc/hosts and
``inspect`` kept current by connect/disconnect."""

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
    # docker-compose takes (several networks at one create: test_daemon_mac_link)
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
