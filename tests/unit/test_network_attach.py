"""Networks at create and connect, without a kernel: the IPAM range, driver options,
the daemon's network/endpoint requests, a container's network plan and the
NetworkSettings made from it."""

from __future__ import annotations

import pytest

from glassbox.daemon.translate import create_endpoints, endpoint_request, network_create_request
from glassbox.errors import InvalidArgument
from glassbox.network import attach, ipam
from glassbox.network.manager import bridge_options
from glassbox.network.store import Endpoint, Network


def test_ip_range_limits_automatic_addresses_only():
    pool = ipam.AddressPool("10.5.0.0/24", "10.5.0.1", ip_range="10.5.0.128/30")
    got = [pool.allocate(f"c{i}") for i in range(4)]
    assert got == ["10.5.0.128", "10.5.0.129", "10.5.0.130", "10.5.0.131"]
    with pytest.raises(Exception, match="no available"):
        pool.allocate("c5")
    assert pool.allocate("c6", "10.5.0.9") == "10.5.0.9"     # a fixed one: anywhere
    again = ipam.AddressPool.from_dict(pool.to_dict())
    assert again == pool and again.ip_range == "10.5.0.128/30"
    assert "ip_range" not in ipam.AddressPool("10.6.0.0/24", "10.6.0.1").to_dict()


def test_parse_ip_range():
    sub = ipam.parse_subnet("10.7.0.0/16")
    assert ipam.parse_ip_range("10.7.5.0/24", sub) == "10.7.5.0/24"
    assert ipam.parse_ip_range(None, sub) is None
    with pytest.raises(InvalidArgument, match="not inside"):
        ipam.parse_ip_range("10.8.0.0/24", sub)
    with pytest.raises(InvalidArgument):
        ipam.parse_ip_range("10.7.5.1/24", sub)


def test_bridge_options_accept_what_glassbox_builds_only():
    assert bridge_options({"com.docker.network.bridge.enable_icc": True}) == \
        {"com.docker.network.bridge.enable_icc": "true"}
    for bad in ({"com.docker.network.driver.mtu": "9000"},
                {"com.docker.network.bridge.enable_ip_masquerade": "true"},
                {"made.up": "1"}):
        with pytest.raises(InvalidArgument):
            bridge_options(bad)


def test_network_create_request():
    kw = network_create_request({
        "Name": "n1", "Driver": "bridge", "Labels": {"a": "b"}, "Attachable": True,
        "Options": {"com.docker.network.bridge.enable_icc": "true"},
        "IPAM": {"Driver": "default", "Config": [{"Subnet": "10.9.0.0/24",
                                                  "Gateway": "10.9.0.254",
                                                  "IPRange": "10.9.0.64/26"}]}})
    assert kw == {"name": "n1", "subnet": "10.9.0.0/24", "gateway": "10.9.0.254",
                  "ip_range": "10.9.0.64/26", "driver": "bridge", "internal": False,
                  "attachable": True, "labels": {"a": "b"},
                  "options": {"com.docker.network.bridge.enable_icc": "true"}}
    for bad, word in (({"EnableIPv6": True}, "IPv6"),
                      ({"IPAM": {"Driver": "other"}}, "IPAM.Driver"),
                      ({"IPAM": {"Config": [{"Subnet": "fd00::/64"}]}}, "IPv4"),
                      ({"IPAM": {"Config": [{}, {}]}}, "one IPv4"),
                      ({"IPAM": {"Config": [{"AuxiliaryAddresses": {"a": "1.2.3.4"}}]}},
                       "Auxiliary"),
                      ({"Ingress": True}, "Ingress"), ({"Scope": "swarm"}, "Scope")):
        with pytest.raises(InvalidArgument, match=word):
            network_create_request({"Name": "n", **bad})
    with pytest.raises(InvalidArgument, match="Name"):
        network_create_request({})


def test_endpoint_requests():
    assert endpoint_request({"Aliases": ["a"], "IPAMConfig": {"IPv4Address": "10.1.0.5"}},
                            "EndpointConfig") == (["a"], "10.1.0.5")
    assert endpoint_request(None, "EndpointConfig") == ([], None)
    for bad in ({"IPAMConfig": {"IPv6Address": "fd00::5"}}, {"DriverOpts": {"k": "v"}},
                {"Aliases": "notalist"}):
        with pytest.raises(InvalidArgument):
            endpoint_request(bad, "EndpointConfig")
    # a chosen MAC and links are honoured (issue 20): endpoint_extras, checked
    from glassbox.daemon.translate import endpoint_extras
    assert endpoint_extras({"MacAddress": "02:42:AC:11:00:02", "Links": ["x:y"]}, "E") == \
        {"mac": "02:42:ac:11:00:02", "links": ["x:y"]}
    assert endpoint_extras(None, "E") == {}
    with pytest.raises(InvalidArgument, match="E.MacAddress"):
        endpoint_extras({"MacAddress": "01:00:5e:00:00:01"}, "E")     # multicast
    assert create_endpoints({"NetworkingConfig": {"EndpointsConfig": {
        "n": {"Aliases": ["x"]}}}}) == {"n": (["x"], None)}


def _config(mode="front", eps=None):
    return {"Id": "c" * 64, "Name": "/web",
            "HostConfig": {"NetworkMode": mode, "NetworkAliases": ["www"]},
            "NetworkingConfig": {"EndpointsConfig": eps or {}}}


def test_plan_primary_first_and_none_has_no_plan():
    cfg = _config(eps={"back": attach.endpoint_settings(["api"], "10.2.0.9")})
    plan = attach.planned(cfg)
    assert list(plan) == ["front", "back"]
    assert plan["front"]["Aliases"] == ["www"]
    assert attach.fixed_ip(plan["back"]) == "10.2.0.9"
    assert attach.planned(_config(mode="none")) == {}
    assert attach.planned(_config(mode="container:abc")) == {}


def test_a_created_containers_primary_network_disconnected_then_connected_again():
    """What compose does before a start (and dockerd allows): the primary network is
    taken out of the plan, then planned again with the service's aliases."""
    cfg = _config(eps={"back": attach.endpoint_settings(["api"], None)})
    attach._plan(cfg, "front", None, primary=True)
    assert list(attach.planned(cfg)) == ["back"]
    assert "front" not in attach.network_settings(cfg, {}, None)["Networks"]
    attach._plan(cfg, "front", attach.endpoint_settings(["svc", "web-1"], None))
    plan = attach.planned(cfg)
    assert list(plan) == ["front", "back"] and plan["front"]["Aliases"] == ["svc", "web-1"]
    attach._plan(cfg, "back", None)                      # not primary: simply gone
    assert list(attach.planned(cfg)) == ["front"]


def test_network_settings_from_live_endpoints_and_plan():
    cfg = _config(eps={"back": attach.endpoint_settings(["api"], "10.2.0.9")})
    ep = Endpoint("front", "n" * 64, cfg["Id"], "web", "10.1.0.2", 24, "10.1.0.1",
                  "02:42:0a:01:00:02", "gbxv1")
    ns = attach.network_settings(cfg, {"front": ep}, {"80/tcp": None})
    assert ns["IPAddress"] == "10.1.0.2" and ns["Ports"] == {"80/tcp": None}
    front, back = ns["Networks"]["front"], ns["Networks"]["back"]
    assert front["IPAddress"] == "10.1.0.2" and front["NetworkID"] == "n" * 64
    assert front["Aliases"] == ["web", "www", "c" * 12]       # compose reads the short id
    assert back["IPAddress"] == "" and back["IPAMConfig"] == {"IPv4Address": "10.2.0.9"}
    assert len(front["EndpointID"]) == 64


def test_check_endpoint_subnet_rules():
    pool = ipam.AddressPool("10.3.0.0/24", "10.3.0.1")
    net = Network("i" * 64, "n", "bridge", "gbx-x", pool)
    attach.check_endpoint(net, "10.3.0.7", [])
    for bad, word in (("10.4.0.7", "does not belong"), ("10.3.0.1", "gateway"),
                      ("10.3.0.255", "broadcast"), ("nonsense", "invalid")):
        with pytest.raises(InvalidArgument, match=word):
            attach.check_endpoint(net, bad, [])
    net.default = True
    with pytest.raises(InvalidArgument, match="user defined networks only"):
        attach.check_endpoint(net, "10.3.0.7", [])
