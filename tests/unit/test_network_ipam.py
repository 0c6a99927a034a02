"""IPAM: subnet choice without overlaps, address allocation/release/exhaustion."""

import ipaddress

import pytest

from glassbox.errors import Conflict, InvalidArgument
from glassbox.network import ipam

N = ipaddress.IPv4Network


def test_default_pool_order():
    c = list(ipam.candidate_subnets())
    assert c[0] == N("172.17.0.0/16") and c[1] == N("172.18.0.0/16")
    assert c[14] == N("172.31.0.0/16") and c[15] == N("192.168.0.0/20")
    assert len(c) == 15 + 16


def test_choose_skips_default_and_taken():
    assert ipam.choose_subnet([]) == N("172.18.0.0/16")
    assert ipam.choose_subnet([], exclude_default=False) == N("172.17.0.0/16")
    # a host route inside 172.18/16 (a VPN /24) makes the whole /16 unusable
    taken = [N("172.18.5.0/24"), N("172.19.0.0/16")]
    assert ipam.choose_subnet(taken) == N("172.20.0.0/16")
    # a huge host route covering 172.16/12 pushes us to 192.168.x
    assert ipam.choose_subnet([N("172.16.0.0/12")]) == N("192.168.0.0/20")


def test_choose_ignores_default_route():
    assert ipam.choose_subnet([N("0.0.0.0/0")]) == N("172.18.0.0/16")


def test_choose_exhausted():
    with pytest.raises(Conflict, match="no free subnet"):
        ipam.choose_subnet([N("172.16.0.0/12"), N("192.168.0.0/16")])


@pytest.mark.parametrize("bad", ["10.0.0.1/24", "10.0.0.0", "10.0.0.0/31", "nope/24",
                                 "127.0.0.0/8", "224.0.0.0/24", "fd00::/64", ""])
def test_parse_subnet_rejects(bad):
    with pytest.raises(InvalidArgument) as e:
        ipam.parse_subnet(bad)
    assert "subnet" in str(e.value)


def test_parse_subnet_and_gateway():
    net = ipam.parse_subnet("10.77.0.0/24")
    assert ipam.parse_gateway(None, net) == ipaddress.IPv4Address("10.77.0.1")
    assert ipam.parse_gateway("10.77.0.254", net) == ipaddress.IPv4Address("10.77.0.254")
    for bad in ("10.78.0.1", "10.77.0.0", "10.77.0.255", "x"):
        with pytest.raises(InvalidArgument):
            ipam.parse_gateway(bad, net)


def test_overlaps():
    assert ipam.overlaps(N("10.0.0.0/16"), [N("10.1.0.0/16"), N("10.0.3.0/24")]) == \
        N("10.0.3.0/24")
    assert ipam.overlaps(N("10.0.0.0/16"), [N("10.1.0.0/16")]) is None


def test_allocate_release_reuse():
    pool = ipam.AddressPool(N("10.9.0.0/29"), ipaddress.IPv4Address("10.9.0.1"))
    assert pool.capacity == 5
    got = [str(pool.allocate(f"c{i}")) for i in range(5)]
    assert got == ["10.9.0.2", "10.9.0.3", "10.9.0.4", "10.9.0.5", "10.9.0.6"]
    with pytest.raises(Conflict, match="no available IPv4 addresses"):
        pool.allocate("c5")
    assert pool.release("10.9.0.4") is True
    assert pool.release("10.9.0.4") is False  # idempotent
    assert str(pool.allocate("c6")) == "10.9.0.4"


def test_allocate_gateway_not_first():
    pool = ipam.AddressPool(N("10.9.0.0/29"), ipaddress.IPv4Address("10.9.0.2"))
    assert str(pool.allocate("a")) == "10.9.0.1"
    assert str(pool.allocate("b")) == "10.9.0.3"


def test_allocate_specific():
    pool = ipam.AddressPool(N("10.9.0.0/24"), ipaddress.IPv4Address("10.9.0.1"))
    assert str(pool.allocate("a", "10.9.0.50")) == "10.9.0.50"
    with pytest.raises(Conflict, match="already in use"):
        pool.allocate("b", "10.9.0.50")
    for bad in ("10.9.0.1", "10.9.0.0", "10.9.0.255", "10.10.0.5", "zz"):
        with pytest.raises(InvalidArgument):
            pool.allocate("b", bad)
    assert str(pool.allocate("c")) == "10.9.0.2"


def test_pool_roundtrip():
    pool = ipam.AddressPool(N("10.9.0.0/24"), ipaddress.IPv4Address("10.9.0.1"))
    pool.allocate("a")
    pool.allocate("b", "10.9.0.10")
    again = ipam.AddressPool.from_dict(pool.to_dict())
    assert again == pool
    assert again.to_dict()["allocated"] == {"10.9.0.2": "a", "10.9.0.10": "b"}


def test_mac_for_ip():
    assert ipam.mac_for_ip("172.17.0.2") == "02:42:ac:11:00:02"
