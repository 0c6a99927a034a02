"""Port publishing specs: -p forms, ranges, -P from EXPOSE, bad input."""

import pytest

from glassbox.errors import InvalidArgument
from glassbox.network.ports import (PortBinding, ProxyHandle, PublishedPort, parse_expose,
                                    parse_publish, parse_publish_all_specs, publish_all)


@pytest.mark.parametrize("spec,want", [
    ("80", [PortBinding(80)]),
    ("8080:80", [PortBinding(80, "tcp", "0.0.0.0", 8080)]),
    ("127.0.0.1:8080:80", [PortBinding(80, "tcp", "127.0.0.1", 8080)]),
    ("127.0.0.1::80", [PortBinding(80, "tcp", "127.0.0.1", 0)]),
    ("53:53/udp", [PortBinding(53, "udp", "0.0.0.0", 53)]),
    ("53/UDP", [PortBinding(53, "udp")]),
    ("9000-9001", [PortBinding(9000), PortBinding(9001)]),
    ("8000-8001:9000-9001/tcp", [PortBinding(9000, "tcp", "0.0.0.0", 8000),
                                 PortBinding(9001, "tcp", "0.0.0.0", 8001)]),
    ("8000-8010:80", [PortBinding(80, "tcp", "0.0.0.0", 8000, 8010)]),
])
def test_parse_publish(spec, want):
    assert parse_publish(spec) == want


@pytest.mark.parametrize("bad,why", [
    ("", "empty"), ("80/sctp", "protocol"), ("0", "out of range"),
    ("70000:80", "out of range"), ("a:b", "not a number"), ("1:2:3:4", "too many"),
    ("999.1.1.1:80:80", "not an IPv4"), ("127.0.0.1:80:", "missing"),
    ("8000-8002:9000-9001", "differ in size"), ("90-80", "ends before"),
    ("[::1]:80:80", "IPv6"),
])
def test_parse_publish_rejects(bad, why):
    with pytest.raises(InvalidArgument) as e:
        parse_publish(bad)
    assert why in str(e.value) and repr(bad) in str(e.value)


def test_duplicate_host_port_rejected():
    with pytest.raises(InvalidArgument, match="published twice"):
        parse_publish_all_specs(["8080:80", "8080:81"])
    # same number, different protocol is fine
    assert len(parse_publish_all_specs(["53:53/tcp", "53:53/udp"])) == 2


def test_expose_and_publish_all():
    assert parse_expose("80") == [(80, "tcp")]
    assert parse_expose("8000-8002/udp") == [(8000, "udp"), (8001, "udp"), (8002, "udp")]
    with pytest.raises(InvalidArgument):
        parse_expose("http")
    got = publish_all(["80/tcp", "53/udp", "80"])
    assert got == [PortBinding(80, "tcp"), PortBinding(53, "udp")]
    assert got[0].key == "80/tcp"


def test_proxy_handle_roundtrip():
    h = ProxyHandle(123, 456, "abc", "172.18.0.2",
                    [PublishedPort(80, "tcp", "127.0.0.1", 32768)])
    assert ProxyHandle.from_dict(h.to_dict()) == h
