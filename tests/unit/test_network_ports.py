"""Port publishing specs: -p forms, ranges, -P from EXPOSE, bad input."""

import os

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


def test_proxy_program_prefers_the_compiled_proxy(monkeypatch, tmp_path):
    from glassbox.network import ports, proxy
    src, exe = tmp_path / "gbx-proxy.c", tmp_path / "gbx-proxy"
    src.write_text("/* source */")
    monkeypatch.setattr(proxy, "SOURCE", str(src))
    monkeypatch.setattr(proxy, "BINARY", str(exe))
    monkeypatch.delenv(ports.PROXY_ENV, raising=False)
    python = ports.proxy_program("/usr/bin/python3")  # not built: the Python script
    assert python[0] == "/usr/bin/python3" and python[-1] == ports._PROXY_SCRIPT
    exe.write_text("#!/bin/true\n")
    exe.chmod(0o755)
    assert ports.proxy_program() == [str(exe)]  # built and up to date
    monkeypatch.setenv(ports.PROXY_ENV, "python")  # forced fallback
    assert ports.proxy_program("/usr/bin/python3")[-1] == ports._PROXY_SCRIPT
    monkeypatch.delenv(ports.PROXY_ENV)
    os.utime(exe, (1, 1))  # older than its source: stale, not used
    assert ports.proxy_program("/usr/bin/python3")[-1] == ports._PROXY_SCRIPT


def test_is_proxy_cmdline():
    from glassbox.network import ports, proxy
    c = "\0".join([proxy.BINARY, "--container", "x", "--owner", "glassbox:t", "5:tcp:1.2.3.4:80"])
    py = "\0".join(["/usr/bin/python3", "-S", "-E", "-c", "code", ports._PROXY_SCRIPT, "--owner"])
    assert ports.is_proxy_cmdline(c.encode() + b"\0")
    assert ports.is_proxy_cmdline(py.encode() + b"\0")
    assert not ports.is_proxy_cmdline(b"/usr/bin/sleep\0gbx-proxy\0")
    assert not ports.is_proxy_cmdline(b"/bin/gbx-proxy\0--owner\0")
    assert not ports.is_proxy_cmdline(b"")
