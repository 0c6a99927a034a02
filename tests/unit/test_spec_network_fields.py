"""The start path works from the container's pure spec, not Docker's inspect dict.

``config.json`` holds two things: Docker's documents (``Config``, ``HostConfig``:
what ``inspect`` shows) and glassbox's :class:`~glassbox.runtime.spec.ProcessSpec`
(``Spec``: what the runtime does). The network's wiring (``-p``, ``-P``, the primary
network, its aliases and MAC, ``--link``, ``--add-host``) and ``exec``'s
``--privileged`` read the spec; a container created before a field existed takes
it, once, from where Docker's documents have always held the same value. These
tests give the two *different* values, so reading the wrong one fails.
"""

from __future__ import annotations

from types import SimpleNamespace

from glassbox.network import plan
from glassbox.runtime import shim
from glassbox.runtime.spec import ProcessSpec, container_field

NEW = ("publish", "publish_all", "exposed_ports", "network_aliases", "mac_address",
       "links", "extra_hosts", "privileged")


def _docker_docs(mode="front"):
    return {"Config": {"Hostname": "h", "ExposedPorts": {"80/tcp": {}, "53/udp": {}},
                       "MacAddress": "02:42:ac:11:00:09"},
            "HostConfig": {"NetworkMode": mode, "PublishSpecs": ["8080:80"],
                           "PublishAllPorts": True, "NetworkAliases": ["web"],
                           "Links": ["/db:/me/database"], "ExtraHosts": ["gw:10.0.0.1"],
                           "Privileged": True}}


def test_an_old_spec_takes_the_new_fields_from_docker_s_documents():
    spec = ProcessSpec(id="x", args=["sh"], env=[], network_mode="front").to_json()
    for key in NEW:
        del spec[key]
    config = {"Id": "x", "Spec": spec, **_docker_docs()}
    got = ProcessSpec.for_container(config)
    assert (got.publish, got.publish_all, got.exposed_ports, got.network_aliases,
            got.mac_address, got.links, got.extra_hosts, got.privileged) == \
        (["8080:80"], True, ["80/tcp", "53/udp"], ["web"], "02:42:ac:11:00:09",
         ["/db:/me/database"], ["gw:10.0.0.1"], True)
    assert got.network_mode == "front"          # fields it had are its own
    assert container_field(config, "links") == ["/db:/me/database"]
    assert container_field({"HostConfig": {}}, "network_mode") == "none"   # no spec at all


def test_a_current_spec_wins_over_docker_s_documents():
    spec = ProcessSpec(id="x", args=["sh"], env=[], network_mode="back", publish=[],
                       network_aliases=["api"], mac_address="", links=[],
                       extra_hosts=[], privileged=False).to_json()
    config = {"Id": "x", "Name": "/me", "Spec": spec, **_docker_docs(mode="front")}
    got = ProcessSpec.for_container(config)
    assert (got.publish, got.network_aliases, got.privileged) == ([], ["api"], False)
    assert container_field(config, "privileged") is False     # exec's --privileged
    want = plan.planned(config)
    assert list(want) == ["back"]
    assert want["back"]["Aliases"] == ["api"] and "MacAddress" not in want["back"]


def test_wiring_publishes_the_spec_s_ports(monkeypatch):
    from glassbox import network
    from glassbox.network import attach
    published, refreshed = [], []

    class FakeNetworks:
        def __init__(self, root):
            self.root = root

        def publish(self, cid, bindings, ip, watch_pid=None, bound=None):
            published.append((cid, [(b.container_port, b.proto) for b in bindings], ip))
            return SimpleNamespace(ports=[SimpleNamespace(
                container_port=b.container_port, proto=b.proto, host_ip="0.0.0.0",
                host_port=40000 + i) for i, b in enumerate(bindings)])

    ep = SimpleNamespace(ip="10.9.0.2")
    monkeypatch.setattr(network, "NetworkManager", FakeNetworks)
    monkeypatch.setattr(attach, "wire", lambda nm, config, pid: {"back": ep})
    monkeypatch.setattr(attach, "network_settings",
                        lambda config, live, ports: {"Ports": ports, "Networks": list(live)})
    monkeypatch.setattr(shim, "refresh_hosts", lambda root, net: refreshed.append(net))
    spec = ProcessSpec(id="c1", args=["sh"], env=[], network_mode="back",
                       publish=["9000:90/udp"], publish_all=True, exposed_ports=["443/tcp"])
    config = {"Id": "c1", "Name": "/me", "Spec": spec.to_json(), **_docker_docs("front")}
    ns = shim._wire_network("/state/containers/c1", config, spec, 1234)
    assert published == [("c1", [(90, "udp"), (443, "tcp")], "10.9.0.2")]
    assert ns["Ports"] == {"90/udp": [{"HostIp": "0.0.0.0", "HostPort": "40000"}],
                           "443/tcp": [{"HostIp": "0.0.0.0", "HostPort": "40001"}]}
    assert refreshed == ["back"] and ns["Networks"] == ["back"]


def test_no_ports_in_the_spec_publishes_nothing(monkeypatch):
    from glassbox import network
    from glassbox.network import attach

    class NoPublish:
        def __init__(self, root):
            pass

        def publish(self, *a, **kw):
            raise AssertionError("the spec asked for no ports")

    monkeypatch.setattr(network, "NetworkManager", NoPublish)
    monkeypatch.setattr(attach, "wire", lambda nm, config, pid: {"back": SimpleNamespace(ip="x")})
    monkeypatch.setattr(attach, "network_settings", lambda config, live, ports: ports)
    monkeypatch.setattr(shim, "refresh_hosts", lambda root, net: None)
    spec = ProcessSpec(id="c1", args=["sh"], env=[], network_mode="back")
    config = {"Id": "c1", "Spec": spec.to_json(), **_docker_docs("front")}
    assert shim._wire_network("/s/containers/c1", config, spec, 1) == {}


def test_a_fixed_address_on_the_default_bridge_is_refused_before_any_lookup():
    """The daemon's create plans its primary network's ``IPAMConfig`` with the one
    connect operation; Docker's answer for ``bridge`` comes before the network is
    looked up (the default bridge may not exist yet)."""
    import pytest

    from glassbox.errors import InvalidArgument
    from glassbox.network import attach

    class NoLookup:
        root = "/nowhere"

        def inspect(self, name):
            raise AssertionError(f"looked up {name}")

    spec = ProcessSpec(id="c1", args=["sh"], env=[], network_mode="bridge")
    c = SimpleNamespace(id="c1", name="web", running=False, dir="/nowhere/c1",
                        config={"Id": "c1", "Spec": spec.to_json(), **_docker_docs("bridge")})
    for net in ("bridge", "default"):
        with pytest.raises(InvalidArgument, match="user defined networks only"):
            attach.connect(NoLookup(), c, net, ip="172.17.0.9")
