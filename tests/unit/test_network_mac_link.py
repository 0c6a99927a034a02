"""Pure parts of ``--mac-address`` and ``--link`` (glassbox.network.attach), no root."""

from __future__ import annotations

import types

import pytest

from glassbox.containers.options import CreateOptions
from glassbox.errors import InvalidArgument, NotFound
from glassbox.network import attach


def test_check_mac_normalises_and_refuses_what_no_interface_may_have():
    assert attach.check_mac("02:42:AC:11:00:09") == "02:42:ac:11:00:09"
    assert attach.check_mac("02-42-ac-11-00-09") == "02:42:ac:11:00:09"
    for bad, words in (("02:42:ac:11:00", "six hexadecimal bytes"),
                       ("02:42:ac:11:00:0g", "six hexadecimal bytes"),
                       ("2:42:ac:11:00:09", "six hexadecimal bytes"),
                       ("33:33:00:00:00:01", "multicast"),
                       ("00:00:00:00:00:00", "all-zero")):
        with pytest.raises(InvalidArgument, match=words) as ei:
            attach.check_mac(bad, "--mac-address")
        assert bad in str(ei.value) and "--mac-address" in str(ei.value)


def test_parse_link_and_dockers_stored_form():
    assert attach.parse_link("db") == ("db", "db")
    assert attach.parse_link("db:store") == ("db", "store")
    assert attach.parse_link("/db:/web/store") == ("db", "store")
    for bad in ("", ":x", "db:"):
        with pytest.raises(InvalidArgument, match="NAME:ALIAS"):
            attach.parse_link(bad)
    assert attach.links_doc(["db:store", "cache"], "web") == ["/db:/web/store",
                                                               "/cache:/web/cache"]
    assert attach.links_doc([], "web") is None


def _get(names):
    def get(ref):
        if ref not in names:
            raise NotFound(f"No such container: {ref}")
        return types.SimpleNamespace(name=names[ref])
    return get


def test_check_create_resolves_links_and_needs_a_network():
    opts = CreateOptions("busybox", network="bridge", mac_address="02:42:AC:11:00:09",
                         links=["abc123:store"])
    attach.check_create(opts, "bridge", _get({"abc123": "db"}))
    assert opts.mac_address == "02:42:ac:11:00:09"
    assert opts.links == ["db:store"]                       # by its name, as Docker stores it
    with pytest.raises(NotFound, match="No such container: ghost"):
        attach.check_create(CreateOptions("busybox", links=["ghost"]), "bridge", _get({}))
    for mode in ("none", "host", "container:x"):
        with pytest.raises(InvalidArgument, match=f"--network {mode}"):
            attach.check_create(CreateOptions("busybox", mac_address="02:42:ac:11:00:09"),
                                mode, _get({}))
        with pytest.raises(InvalidArgument, match="--link needs a network"):
            attach.check_create(CreateOptions("busybox", links=["db"]), mode, _get({"db": "db"}))


def test_the_primary_network_plans_config_mac_address():
    config = {"Id": "c" * 64, "Name": "/web", "Config": {"MacAddress": "02:42:ac:11:00:09"},
              "HostConfig": {"NetworkMode": "front"}}
    assert attach.planned(config)["front"]["MacAddress"] == "02:42:ac:11:00:09"
    config["NetworkingConfig"] = {"EndpointsConfig": {"back": attach.endpoint_settings(
        mac="02:42:ac:11:00:0a", links=["db:x"])}}
    plan = attach.planned(config)
    assert plan["back"]["MacAddress"] == "02:42:ac:11:00:0a" and plan["back"]["Links"] == ["db:x"]
    ns = attach.network_settings(config, {}, None)          # not running: what was asked
    assert ns["Networks"]["front"]["MacAddress"] == "02:42:ac:11:00:09"


class _NM:
    """A NetworkManager's read side: networks with endpoints."""

    def __init__(self, nets):
        self.nets = nets

    def list(self):
        return [types.SimpleNamespace(name=n, endpoints=eps) for n, eps in self.nets.items()]

    def endpoints(self, cid):
        return [ep for eps in self.nets.values() for c, ep in eps.items() if c == cid]


def _ep(net, name, ip):
    return types.SimpleNamespace(network=net, name=name, ip=ip)


def test_link_hosts_prefers_a_shared_network_and_skips_what_is_not_running():
    nm = _NM({"bridge": {"w" * 64: _ep("bridge", "web", "172.17.0.3"),
                         "d" * 64: _ep("bridge", "db", "172.17.0.2")},
              "other": {"d" * 64: _ep("other", "db", "10.9.0.2")}})
    config = {"Id": "w" * 64, "HostConfig": {"NetworkMode": "bridge",
                                             "Links": ["/db:/web/store", "/gone:/web/g"]}}
    assert attach.link_hosts(nm, config) == [("172.17.0.2", ["store", "db"])]
    assert attach.link_hosts(nm, {"Id": "x", "HostConfig": {"NetworkMode": "none"}}) == []


def test_the_api_fields_reach_the_options_and_back():
    """create JSON -> CreateOptions (daemon) and CreateOptions -> JSON (glassbox -H)."""
    from glassbox.daemon.translate import create_body, create_options, update_changes
    body = {"Image": "busybox", "MacAddress": "02:42:ac:11:00:09",
            "HostConfig": {"NetworkMode": "bridge", "Links": ["db:store"],
                           "CpusetCpus": "0-1", "CpusetMems": "0"}}
    opts = create_options(body)
    assert (opts.mac_address, opts.links) == ("02:42:ac:11:00:09", ["db:store"])
    assert (opts.cpuset_cpus, opts.cpuset_mems) == ("0-1", "0")
    # API >= 1.44 puts the MAC in the primary network's EndpointSettings
    body2 = {"Image": "busybox", "HostConfig": {"NetworkMode": "front"},
             "NetworkingConfig": {"EndpointsConfig": {"front": {
                 "MacAddress": "02:42:ac:11:00:0a", "Links": ["cache"]}}}}
    opts2 = create_options(body2)
    assert (opts2.mac_address, opts2.links) == ("02:42:ac:11:00:0a", ["cache"])
    back, _ = create_body(opts)
    assert back["MacAddress"] == "02:42:ac:11:00:09"
    assert back["HostConfig"]["Links"] == ["db:store"]
    assert back["HostConfig"]["CpusetCpus"] == "0-1"
    assert update_changes({"CpusetCpus": "1"})["cpuset_cpus"] == "1"
    assert "cpuset_cpus" not in update_changes({"CpusetCpus": ""})   # "": unchanged
