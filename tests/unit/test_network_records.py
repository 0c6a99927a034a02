"""The start path's int-based IPAM and the plain network records.

Addresses are allocated with int arithmetic (no ``ipaddress`` import on a container
start); the records (Network, Endpoint, AddressPool) are plain classes that must
read and write exactly the JSON the former dataclasses did.
"""

import json
import subprocess
import sys

import pytest

from glassbox.errors import Conflict, InvalidArgument
from glassbox.network import ipam
from glassbox.network.ipam import AddressPool
from glassbox.network.store import Endpoint, Network, NetworkStore

# written by the dataclass-based store (before the records became plain classes)
OLD_NETWORK_JSON = '{\n "bridge": "gbx-abababab",\n "created": 1764300000.25,\n "default": false,\n "driver": "bridge",\n "endpoints": {\n  "c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1": {\n   "aliases": [\n    "www"\n   ],\n   "container_id": "c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1",\n   "gateway": "172.18.0.1",\n   "host_ifname": "gbxv00000000",\n   "ifname": "eth0",\n   "ip": "172.18.0.2",\n   "mac": "02:42:ac:12:00:02",\n   "name": "web",\n   "netns_pid": 1234,\n   "network": "labnet",\n   "network_id": "abababababababababababababababababababababababababababababababab",\n   "pid_start": 98765,\n   "prefixlen": 16\n  },\n  "c2c2c2c2c2c2c2c2c2c2c2c2c2c2c2c2c2c2c2c2c2c2c2c2c2c2c2c2c2c2c2c2": {\n   "aliases": [],\n   "container_id": "c2c2c2c2c2c2c2c2c2c2c2c2c2c2c2c2c2c2c2c2c2c2c2c2c2c2c2c2c2c2c2c2",\n   "gateway": "172.18.0.1",\n   "host_ifname": "gbxv00000001",\n   "ifname": "eth0",\n   "ip": "172.18.0.3",\n   "mac": "02:42:ac:12:00:03",\n   "name": "db",\n   "netns_pid": 1234,\n   "network": "labnet",\n   "network_id": "abababababababababababababababababababababababababababababababab",\n   "pid_start": 98765,\n   "prefixlen": 16\n  }\n },\n "id": "abababababababababababababababababababababababababababababababab",\n "internal": false,\n "ipam": {\n  "allocated": {\n   "172.18.0.10": "c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3",\n   "172.18.0.2": "c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1",\n   "172.18.0.3": "c2c2c2c2c2c2c2c2c2c2c2c2c2c2c2c2c2c2c2c2c2c2c2c2c2c2c2c2c2c2c2c2",\n   "172.18.0.9": "c4c4c4c4c4c4c4c4c4c4c4c4c4c4c4c4c4c4c4c4c4c4c4c4c4c4c4c4c4c4c4c4"\n  },\n  "gateway": "172.18.0.1",\n  "subnet": "172.18.0.0/16"\n },\n "labels": {\n  "course": "net"\n },\n "name": "labnet",\n "outbound": false\n}'

OLD_DEFAULT_JSON = '{\n "bridge": "gbx0",\n "created": 5.0,\n "default": true,\n "driver": "bridge",\n "endpoints": {},\n "id": "cdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcd",\n "internal": true,\n "ipam": {\n  "allocated": {},\n  "gateway": "172.17.0.1",\n  "subnet": "172.17.0.0/16"\n },\n "labels": {},\n "name": "bridge",\n "outbound": true\n}'


def _dump(d) -> str:
    return json.dumps(d, indent=1, sort_keys=True)  # as store.atomic_write_json


# ------------------------------------------------------------------ int helpers
def test_ip_int_roundtrip():
    for ip, n in (("0.0.0.0", 0), ("10.0.0.1", 167772161), ("172.17.0.2", 0xAC110002),
                  ("255.255.255.255", 0xFFFFFFFF)):
        assert ipam.ip_to_int(ip) == n and ipam.int_to_ip(n) == ip


@pytest.mark.parametrize("bad", ["", "10.0.0", "10.0.0.256", "1.2.3.4.5", "a.b.c.d",
                                 "10.0.0.1/24", " 10.0.0.1", "::1"])
def test_ip_to_int_rejects(bad):
    with pytest.raises(ValueError):
        ipam.ip_to_int(bad)


def test_parse_cidr():
    assert ipam.parse_cidr("172.18.0.0/16") == (0xAC120000, 16)
    assert ipam.parse_cidr("10.9.0.4/30") == (0x0A090004, 30)
    for bad in ("10.0.0.1/24", "10.0.0.0", "10.0.0.0/33", "10.0.0.0/x", "10.0.0.0/-1"):
        with pytest.raises(ValueError):
            ipam.parse_cidr(bad)


def test_mac_for_ip():
    assert ipam.mac_for_ip("172.17.0.2") == "02:42:ac:11:00:02"
    assert ipam.mac_for_ip("10.255.0.1") == "02:42:0a:ff:00:01"
    with pytest.raises(ValueError):
        ipam.mac_for_ip("nope")


# ----------------------------------------------------------------- allocation
def test_slash30_has_one_container_address():
    pool = AddressPool("10.9.0.4/30", "10.9.0.5")
    assert pool.capacity == 1
    assert pool.allocate("a") == "10.9.0.6"
    with pytest.raises(Conflict) as e:
        pool.allocate("b")
    assert str(e.value) == ("no available IPv4 addresses on this network (10.9.0.4/30, "
                            "1 in use): disconnect containers or create a network "
                            "with a larger subnet")
    assert pool.release("10.9.0.6") and pool.allocate("c") == "10.9.0.6"


def test_slash30_gateway_last_host():
    pool = AddressPool("10.9.0.4/30", "10.9.0.6")
    assert pool.allocate("a") == "10.9.0.5"
    with pytest.raises(Conflict, match="no available IPv4 addresses"):
        pool.allocate("b")


def test_slash16_crosses_octets_and_skips_gateway():
    pool = AddressPool("172.18.0.0/16", "172.18.0.1")
    assert pool.capacity == 65533
    # fill 172.18.0.2 … 172.18.0.255 directly, the next one carries into the 3rd octet
    pool.allocated.update({f"172.18.0.{i}": f"x{i}" for i in range(2, 256)})
    assert pool.allocate("a") == "172.18.1.0"
    assert pool.allocate("b") == "172.18.1.1"
    # the last host of a /16 is .255.254; .255.255 is the broadcast address
    pool.allocated.update({ipam.int_to_ip(n): "y" for n in
                           range(ipam.ip_to_int("172.18.1.2"), ipam.ip_to_int("172.18.255.254"))})
    assert pool.allocate("last") == "172.18.255.254"
    with pytest.raises(Conflict, match=r"\(172\.18\.0\.0/16, 65533 in use\)"):
        pool.allocate("none left")


def test_gateway_in_the_middle_is_skipped():
    pool = AddressPool("10.9.0.0/29", "10.9.0.3")
    assert [pool.allocate(str(i)) for i in range(5)] == \
        ["10.9.0.1", "10.9.0.2", "10.9.0.4", "10.9.0.5", "10.9.0.6"]
    with pytest.raises(Conflict):
        pool.allocate("x")


def test_reuse_after_release_takes_the_lowest():
    pool = AddressPool("10.9.0.0/24", "10.9.0.1")
    got = [pool.allocate(f"c{i}") for i in range(4)]
    assert got == ["10.9.0.2", "10.9.0.3", "10.9.0.4", "10.9.0.5"]
    assert pool.release("10.9.0.3") is True
    assert pool.release("10.9.0.3") is False
    assert pool.release(ipam.IPv4Address("10.9.0.2")) is True  # objects still accepted
    assert pool.allocate("n1") == "10.9.0.2"
    assert pool.allocate("n2") == "10.9.0.3"
    assert pool.allocate("n3") == "10.9.0.6"


def test_explicit_address_checks():
    pool = AddressPool("10.9.0.0/24", "10.9.0.1")
    assert pool.allocate("a", " 10.9.0.50 ") == "10.9.0.50"
    with pytest.raises(Conflict, match="already in use by container a"):
        pool.allocate("b", "10.9.0.50")
    with pytest.raises(InvalidArgument, match="not in the network's subnet 10.9.0.0/24"):
        pool.allocate("b", "10.9.1.5")
    with pytest.raises(InvalidArgument, match="reserved"):
        pool.allocate("b", "10.9.0.255")


def test_pool_accepts_ipaddress_objects_and_strings_alike():
    a = AddressPool(ipam.IPv4Network("10.9.0.0/24"), ipam.IPv4Address("10.9.0.1"))
    b = AddressPool("10.9.0.0/24", "10.9.0.1")
    assert a == b and a != AddressPool("10.9.0.0/24", "10.9.0.2")
    assert b.subnet == ipam.IPv4Network("10.9.0.0/24")
    assert b.gateway == ipam.IPv4Address("10.9.0.1")
    assert (b.cidr, b.gateway_ip, b.prefixlen) == ("10.9.0.0/24", "10.9.0.1", 24)
    with pytest.raises(ValueError):
        AddressPool("10.9.0.1/24", "10.9.0.1")  # host bits, as IPv4Network(strict)


def test_start_path_imports_no_ipaddress():
    code = ("import sys, json\n"
            "from glassbox.network import manager\n"
            "from glassbox.network.store import Network\n"
            f"n = Network.from_dict(json.loads({OLD_NETWORK_JSON!r}))\n"
            "n.pool.allocate('x'); n.to_dict(); manager.ipam.mac_for_ip('10.0.0.2')\n"
            "assert n.gateway == '172.18.0.1' and n.subnet == '172.18.0.0/16'\n"
            "bad = [m for m in ('ipaddress', 'dataclasses', 'pyroute2', 'threading')"
            " if m in sys.modules]\n"
            "assert not bad, bad\n")
    subprocess.run([sys.executable, "-c", code], check=True)


# -------------------------------------------------------------------- records
@pytest.mark.parametrize("text", [OLD_NETWORK_JSON, OLD_DEFAULT_JSON])
def test_old_json_roundtrips_byte_for_byte(text, tmp_path):
    net = Network.from_dict(json.loads(text))
    assert _dump(net.to_dict()) == text
    # and through the store's own writer/reader
    st = NetworkStore(str(tmp_path))
    st.save(net)
    with open(st._path(net.id)) as f:
        assert f.read() == text
    assert st.all() == [net]


def test_old_json_values():
    net = Network.from_dict(json.loads(OLD_NETWORK_JSON))
    assert (net.subnet, net.gateway, net.prefixlen) == ("172.18.0.0/16", "172.18.0.1", 16)
    assert net.labels == {"course": "net"} and not net.default and not net.internal
    ep = net.endpoints["c1" * 32]
    assert (ep.name, ep.ip, ep.aliases, ep.ifname, ep.pid_start) == \
        ("web", "172.18.0.2", ["www"], "eth0", 98765)
    # the next free address skips the four taken (.2 .3 .9 .10) and the gateway
    assert net.pool.allocate("c5") == "172.18.0.4"
    d = Network.from_dict(json.loads(OLD_DEFAULT_JSON))
    assert d.default and d.internal and d.outbound and d.endpoints == {}


def test_endpoint_defaults_equality_and_unknown_keys():
    ep = Endpoint("n1", "id1", "c1", "web", "10.5.0.2", 24, "10.5.0.1",
                  "02:42:0a:05:00:02", "gbxv00000001")
    assert (ep.ifname, ep.aliases, ep.netns_pid, ep.pid_start) == ("eth0", [], 0, 0)
    other = Endpoint("n1", "id1", "c1", "web", "10.5.0.2", 24, "10.5.0.1",
                     "02:42:0a:05:00:02", "gbxv00000001")
    assert ep == other and ep.aliases is not other.aliases  # fresh list per instance
    other.aliases.append("w")
    assert ep != other
    d = ep.to_dict()
    assert list(d) == ["network", "network_id", "container_id", "name", "ip", "prefixlen",
                       "gateway", "mac", "host_ifname", "ifname", "aliases", "netns_pid",
                       "pid_start"]
    assert d["aliases"] is not ep.aliases
    assert Endpoint.from_dict({**d, "future_field": 1}) == ep  # unknown keys ignored
    assert "Endpoint(network='n1'" in repr(ep)
    with pytest.raises(TypeError):
        hash(ep)
    with pytest.raises(AttributeError):
        ep.typo = 1  # __slots__


def test_network_defaults_are_fresh():
    pool = AddressPool("10.5.0.0/24", "10.5.0.1")
    a = Network("i", "n", "bridge", "gbx-i", pool)
    b = Network("i", "n", "bridge", "gbx-i", AddressPool("10.5.0.0/24", "10.5.0.1"))
    assert a == b and a.labels is not b.labels and a.endpoints is not b.endpoints
    assert (a.internal, a.created, a.default, a.outbound) == (False, 0.0, False, False)
    a.pool.allocate("c")
    assert a != b
    assert "Network(id='i'" in repr(a)
