"""Network records on disk, hosts-file rendering, names."""

import ipaddress
import json
import os

import pytest

from glassbox.errors import InvalidArgument
from glassbox.network import dns
from glassbox.network.ipam import AddressPool
from glassbox.network.manager import default_bridge_name, validate_name
from glassbox.network.store import Endpoint, Network, NetworkStore, atomic_write_json


def _net(name="n1", created=1.0, default=False):
    pool = AddressPool(ipaddress.IPv4Network("10.5.0.0/24"),
                       ipaddress.IPv4Address("10.5.0.1"))
    return Network(id=name * 8, name=name, driver="bridge", bridge="gbx-" + name,
                   pool=pool, created=created, default=default)


def test_store_roundtrip(tmp_path):
    st = NetworkStore(str(tmp_path))
    assert st.all() == []
    net = _net()
    ip = net.pool.allocate("c1")
    net.endpoints["c1"] = Endpoint("n1", net.id, "c1", "web", str(ip), 24, "10.5.0.1",
                                   "02:42:0a:05:00:02", "gbxv00000001", aliases=["w"])
    st.save(net)
    st.save(_net("n0", created=2.0, default=True))
    got = st.all()
    assert [n.name for n in got] == ["n0", "n1"]  # the default network first
    assert got[1] == net
    assert not [f for f in os.listdir(st.dir) if f.endswith(".tmp")]
    st.delete(net)
    st.delete(net)  # idempotent
    assert [n.name for n in st.all()] == ["n0"]


def test_store_proxies(tmp_path):
    st = NetworkStore(str(tmp_path))
    st.save_proxies("c1", [{"pid": 1}])
    assert st.proxies() == {"c1": [{"pid": 1}]}
    st.delete_proxies("c1")
    st.delete_proxies("c1")
    assert st.proxies() == {}


def test_atomic_write_replaces(tmp_path):
    p = str(tmp_path / "x.json")
    atomic_write_json(p, {"a": 1})
    atomic_write_json(p, {"a": 2})
    assert json.load(open(p)) == {"a": 2}
    assert os.listdir(tmp_path) == ["x.json"]


def test_lock_is_reentrant_across_fds(tmp_path):
    st = NetworkStore(str(tmp_path))
    with st.lock():
        assert os.path.exists(os.path.join(st.dir, ".lock"))


def test_names():
    assert validate_name("lab-net_1.x") == "lab-net_1.x"
    for bad in ("", "-x", "a b", "a/b", "x" * 200):
        with pytest.raises(InvalidArgument):
            validate_name(bad)
    assert default_bridge_name("/var/lib/glassbox") == "gbx0"
    b = default_bridge_name("/tmp/x")
    assert b.startswith("gbx0-") and len(b) <= 15 and b != default_bridge_name("/tmp/y")


def test_render_hosts():
    text = dns.render_hosts("web", ["10.5.0.2"],
                            [("10.5.0.2", ["web", "c1"]), ("10.5.0.3", ["db", "database"])],
                            [dns.parse_add_host("reg:10.0.0.9")])
    lines = text.splitlines()
    assert lines[0] == "127.0.0.1\tlocalhost"
    assert "10.5.0.2\tweb" in lines and "10.5.0.3\tdb database" in lines
    assert "10.0.0.9\treg" in lines and text.endswith("\n")


@pytest.mark.parametrize("bad", ["nohost", ":1.2.3.4", "x:999.1.1.1", "x:"])
def test_add_host_rejects(bad):
    with pytest.raises(InvalidArgument):
        dns.parse_add_host(bad)
