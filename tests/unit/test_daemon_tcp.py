"""``--tcp`` flag checks (pure: nothing listens) and small API translations."""

import pytest

from glassbox.daemon import translate as t
from glassbox.daemon.server import parse_tcp, tcp_listener
from glassbox.errors import InvalidArgument


def test_no_tcp_unless_asked():
    assert tcp_listener(None) is None
    with pytest.raises(InvalidArgument, match="need --tcp"):
        tcp_listener(None, "ca.pem", "cert.pem", "key.pem")


def test_plain_tcp_only_on_loopback_and_warned():
    for host in ("127.0.0.1", "localhost"):
        listener = tcp_listener(f"{host}:2375")
        assert (listener.host, listener.port, listener.ssl) == (host, 2375, None)
        assert "WITHOUT TLS" in listener.warning
    for spec in ("0.0.0.0:2375", "192.168.1.5:2375", "[::]:2375", "example.org:2375"):
        with pytest.raises(InvalidArgument, match="refusing"):
            tcp_listener(spec)


def test_tls_needs_all_three_files(tmp_path):
    with pytest.raises(InvalidArgument, match="all three"):
        tcp_listener("0.0.0.0:2376", tlscert="c.pem", tlskey="k.pem")
    with pytest.raises(InvalidArgument, match="no such file"):
        tcp_listener("0.0.0.0:2376", str(tmp_path / "ca"), str(tmp_path / "c"),
                     str(tmp_path / "k"))
    for name in ("ca", "c", "k"):
        (tmp_path / name).write_text("not a pem")
    with pytest.raises(InvalidArgument, match="cannot use the TLS files"):
        tcp_listener("0.0.0.0:2376", str(tmp_path / "ca"), str(tmp_path / "c"),
                     str(tmp_path / "k"))


@pytest.mark.parametrize("spec", ["2375", "127.0.0.1", "127.0.0.1:0", "127.0.0.1:70000",
                                  ":2375", "127.0.0.1:http"])
def test_bad_tcp_specs(spec):
    with pytest.raises(InvalidArgument, match="invalid --tcp"):
        parse_tcp(spec)


def test_tcp_spec_forms():
    assert parse_tcp("tcp://127.0.0.1:2376") == ("127.0.0.1", 2376)
    assert parse_tcp("[::1]:2376") == ("::1", 2376)


def test_summary_ports_like_docker_ps():
    ports = {"8080/tcp": [{"HostIp": "127.0.0.1", "HostPort": "18080"}], "53/udp": None}
    assert t.summary_ports(ports) == [
        {"PrivatePort": 8080, "Type": "tcp", "IP": "127.0.0.1", "PublicPort": 18080},
        {"PrivatePort": 53, "Type": "udp"}]
    assert t.summary_ports(None) == []


def test_build_events_become_classic_builder_lines():
    assert t.build_stream({"type": "step", "index": 2, "total": 3, "instruction": "RUN x",
                           "cached": True}) == \
        {"stream": "Step 2/3 : RUN x\n ---> Using cache\n"}
    assert t.build_stream({"type": "result", "image_id": "sha256:" + "ab" * 32}) == \
        {"stream": " ---> " + "ab" * 6 + "\n"}
    assert t.build_stream({"type": "log", "text": "out\n"}) == {"stream": "out\n"}
    assert t.build_stream({"type": "done", "image_id": "x"}) is None


@pytest.mark.parametrize("body", [
    {"Image": 5}, {"Image": "b", "WorkingDir": 5}, {"Image": "b", "ExposedPorts": ["80"]},
    {"Image": "b", "NetworkingConfig": "x"}, {"Image": "b", "HostConfig": {"Memory": 1e400}},
    {"Image": "b", "HostConfig": {"PortBindings": {"80/tcp": "8080"}}},
    {"Image": "b", "HostConfig": {"Mounts": [{"Target": "/x", "Source": "a,readonly"}]}},
])
def test_create_body_of_wrong_types_is_invalid(body):
    with pytest.raises(InvalidArgument):
        t.create_options(body)
