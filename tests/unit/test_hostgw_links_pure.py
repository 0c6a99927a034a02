"""Pure parts of ``--add-host NAME:host-gateway`` (glassbox.network.dns) and of Docker's
legacy link variables (glassbox.network.links), no root."""

from __future__ import annotations

import json
import os

import pytest

from glassbox.errors import Conflict, InvalidArgument
from glassbox.network import dns, links
from glassbox.network.ipam import AddressPool
from glassbox.network.store import Endpoint, Network, NetworkStore
from glassbox.runtime.init import with_links


def test_check_add_host_keeps_dockers_rules():
    assert dns.check_add_host("db:10.0.0.5") == ("db", "10.0.0.5")
    assert dns.check_add_host("v6=fe80::1") == ("v6", "fe80::1")
    assert dns.check_add_host("x:[::1]") == ("x", "::1")
    assert dns.check_add_host("x:fe80::1") == ("x", "fe80::1")     # split on the first ':'
    assert dns.check_add_host("h:host-gateway") == ("h", "host-gateway")


@pytest.mark.parametrize("bad,words", [
    ("foo", 'bad format for add-host: "foo"'),
    (":1.2.3.4", 'bad format for add-host: ":1.2.3.4"'),
    ("foo:not-an-ip", 'invalid IP address in add-host: "not-an-ip"'),
    ("x:", 'invalid IP address in add-host: ""'),
    ("x:999.1.1.1", 'invalid IP address in add-host: "999.1.1.1"'),
    ("x:host-gateway2", 'invalid IP address in add-host: "host-gateway2"'),
])
def test_bad_add_host_is_dockers_message(bad, words):
    with pytest.raises(InvalidArgument) as ei:
        dns.check_add_host(bad)
    msg = str(ei.value)
    assert words in msg and f'invalid argument "{bad}" for "--add-host" flag' in msg, msg


def test_parse_add_host_needs_the_gateway_for_host_gateway():
    assert dns.parse_add_host("h:host-gateway", gateway="172.31.0.1") == ("172.31.0.1", ["h"])
    with pytest.raises(InvalidArgument, match="unable to derive the IP value for host-gateway"):
        dns.parse_add_host("h:host-gateway")


def test_resolve_add_hosts_asks_for_the_gateway_only_when_used(tmp_path, monkeypatch):
    asked = []
    monkeypatch.setattr(dns, "host_gateway", lambda root: asked.append(root) or "10.99.0.1")
    assert dns.resolve_add_hosts(str(tmp_path), ["db:10.0.0.5", "m=fe80::7"]) == \
        ["db:10.0.0.5", "m:fe80::7"]
    assert asked == []
    assert dns.resolve_add_hosts(str(tmp_path), ["a:host-gateway", "b:host-gateway"]) == \
        ["a:10.99.0.1", "b:10.99.0.1"]
    assert asked == [str(tmp_path)]                  # once per container
    # the resolved form parses back into the same /etc/hosts entry
    assert dns.parse_add_host("m:fe80::7") == ("fe80::7", ["m"])


def test_link_env_is_mobys_to_env():
    env = links.link_env("/web/my-db", "172.17.0.2", ["PATH=/bin", "HOME=/root", "A=1", "B"],
                         {"5432/tcp": {}})
    assert env == [
        "MY_DB_PORT=tcp://172.17.0.2:5432",
        "MY_DB_PORT_5432_TCP=tcp://172.17.0.2:5432",
        "MY_DB_PORT_5432_TCP_ADDR=172.17.0.2",
        "MY_DB_PORT_5432_TCP_PORT=5432",
        "MY_DB_PORT_5432_TCP_PROTO=tcp",
        "MY_DB_NAME=/web/my-db",
        "MY_DB_ENV_A=1",                     # PATH, HOME and a bare name are left out
    ]


def test_link_env_orders_tcp_first_and_marks_ranges():
    env = links.link_env("/w/s", "10.0.0.9", [], ["53/udp", "8001/tcp", "8000/tcp", "80"])
    assert env[0] == "S_PORT=tcp://10.0.0.9:80"           # the lowest tcp port, not udp 53
    assert "S_PORT_8000_TCP_START=tcp://10.0.0.9:8000" in env
    assert "S_PORT_8000_TCP_PORT_START=8000" in env
    assert "S_PORT_8000_TCP_END=tcp://10.0.0.9:8001" in env
    assert "S_PORT_8000_TCP_PORT_END=8001" in env
    assert "S_PORT_53_UDP=udp://10.0.0.9:53" in env and "S_PORT_53_UDP_PROTO=udp" in env
    assert not any(e.startswith("S_PORT_80_TCP_START") for e in env)   # 80 is alone
    assert env.index("S_PORT_80_TCP=tcp://10.0.0.9:80") < env.index("S_PORT_53_UDP=udp://10.0.0.9:53")
    assert links.link_env("/w/s", "10.0.0.9", None, None) == ["S_NAME=/w/s"]


def _root_with(tmp_path, db_running: bool = True):
    """A state root with a default bridge record, container ``db`` on it (when
    running) and ``web``'s config linking to it."""
    root = str(tmp_path)
    db_id, web_id = "d" * 64, "e" * 64
    net = Network(id="b" * 64, name="bridge", driver="bridge", bridge="gbx0-t",
                  pool=AddressPool("172.30.0.0/16", "172.30.0.1"), default=True)
    if db_running:
        net.endpoints[db_id] = Endpoint("bridge", net.id, db_id, "db", "172.30.0.2", 16,
                                        "172.30.0.1", "02:42:ac:1e:00:02", "gbxv0")
    NetworkStore(root).save(net)
    os.makedirs(os.path.join(root, "containers", db_id))
    with open(os.path.join(root, "containers", db_id, "config.json"), "w") as f:
        json.dump({"Id": db_id, "Name": "/db", "Config": {"Env": ["PATH=/bin", "PW=s3"],
                                                          "ExposedPorts": {"6379/tcp": {}}}},
                  f)
    web = {"Id": web_id, "Name": "/web",
           "Spec": {"links": ["db:cache"], "network_mode": "bridge"}}
    return root, web


def test_container_env_reads_the_peer_on_the_default_bridge(tmp_path):
    root, web = _root_with(tmp_path)
    env = links.container_env(root, web)
    assert "CACHE_PORT=tcp://172.30.0.2:6379" in env and "CACHE_NAME=/web/cache" in env
    assert "CACHE_ENV_PW=s3" in env and not any("ENV_PATH" in e for e in env)
    # on a user network a link is only a name: no variables
    assert links.container_env(root, {**web, "Spec": {**web["Spec"],
                                                      "network_mode": "labnet"}}) == []
    assert links.container_env(root, {**web, "Spec": {"links": [],
                                                      "network_mode": "bridge"}}) == []


def test_a_link_to_a_stopped_container_fails_the_start_but_not_an_exec(tmp_path, monkeypatch):
    root, web = _root_with(tmp_path, db_running=False)

    class Stopped:
        name, id, running = "db", "d" * 64, False

    from glassbox.containers import manager
    monkeypatch.setattr(manager.ContainerManager, "get", lambda self, ref: Stopped())
    with pytest.raises(Conflict, match="Cannot link to a non running container: /db AS "
                                       "/web/cache"):
        links.container_env(root, web)
    assert links.container_env(root, web, strict=False) == []


def test_own_env_wins_over_link_variables():
    env = with_links(["PATH=/bin", "CACHE_NAME=mine"], ["CACHE_NAME=/web/cache", "CACHE_PORT=x"])
    assert env == ["CACHE_PORT=x", "PATH=/bin", "CACHE_NAME=mine"]
