"""The build's RUN network and extra hosts (pure checks on a tmp state root), and the
daemon's reading of ``POST /build``'s options: honoured, or refused by name."""

from __future__ import annotations

import os

import pytest
from multidict import MultiDict

from glassbox.build.builder import check_extra_hosts, resolve_network
from glassbox.daemon.images import _cache_from, _refuse_build_options
from glassbox.errors import InvalidArgument


def test_resolve_network_modes(tmp_path):
    root = str(tmp_path)
    for mode in (None, "", "default"):
        assert resolve_network(root, mode) == "default"   # the bridge, as dockerd
    assert resolve_network(root, "none") == "none"         # their own empty netns
    assert resolve_network(root, "bridge") == "bridge"
    if os.geteuid() == 0:
        assert resolve_network(root, "host") == "host"
    else:
        with pytest.raises(InvalidArgument, match="rootless"):
            resolve_network(root, "host")


@pytest.mark.parametrize("mode", ["nosuchnet", "container:abc"])
def test_resolve_network_refuses_by_name(tmp_path, mode):
    with pytest.raises(InvalidArgument) as ei:
        resolve_network(str(tmp_path), mode)
    assert mode in str(ei.value)


def test_resolve_network_finds_a_user_network_by_name_or_id_prefix(tmp_path):
    from glassbox.network.ipam import AddressPool
    from glassbox.network.store import Network, NetworkStore
    store = NetworkStore(str(tmp_path))
    pool = AddressPool("10.201.7.0/24", "10.201.7.1")
    net = Network(id="ab12" + "0" * 60, name="labnet", driver="bridge", bridge="gbxtest0",
                  pool=pool)
    store.save(net)
    assert resolve_network(str(tmp_path), "labnet") == "labnet"
    assert resolve_network(str(tmp_path), "ab12") == "labnet"


def test_check_extra_hosts():
    check_extra_hosts(["db:10.0.0.5", "v6=fe80::1", "x:[::1]", "host:host-gateway"])
    for bad in ("nohost", "db:300.1.1.1", ":10.0.0.1"):
        with pytest.raises(InvalidArgument) as ei:
            check_extra_hosts([bad])
        assert bad in str(ei.value)


def test_build_options_at_their_zero_values_pass():
    """What the docker CLI sends on every classic build when no option is used."""
    _refuse_build_options(MultiDict([
        ("memory", "0"), ("memswap", "0"), ("cpushares", "0"), ("cpuquota", "0"),
        ("cpuperiod", "0"), ("cpusetcpus", ""), ("cpusetmems", ""), ("cgroupparent", ""),
        ("shmsize", "0"), ("ulimits", "null"), ("version", "1"), ("rm", "1"),
        ("networkmode", "default"), ("cachefrom", "null"), ("session", "abc")]))
    _refuse_build_options(MultiDict([("ulimits", "[]"), ("memswap", "-1"),
                                     ("rm", "False"), ("squash", "False")]))


@pytest.mark.parametrize("key,value", [
    ("memory", "67108864"), ("cpushares", "512"), ("cpusetcpus", "0"), ("shmsize", "1"),
    ("ulimits", '[{"Name":"nofile","Hard":10,"Soft":10}]'), ("squash", "1"),
    ("version", "2"), ("securityopt", "seccomp=unconfined"), ("outputs", "type=tar"),
    ("platform", "linux/s390x"), ("remote", "https://example.com/ctx.git")])
def test_build_options_glassbox_does_not_do_are_refused_by_name(key, value):
    with pytest.raises(InvalidArgument) as ei:
        _refuse_build_options(MultiDict([(key, value)]))
    assert key in str(ei.value)


def test_cachefrom_is_a_json_list_of_names():
    assert _cache_from(MultiDict()) == []
    assert _cache_from(MultiDict([("cachefrom", "null")])) == []
    assert _cache_from(MultiDict([("cachefrom", '["app:1", "reg/x:2"]')])) == \
        ["app:1", "reg/x:2"]
    for bad in ('"app:1"', "[1]", "{", '{"a": 1}'):
        with pytest.raises(InvalidArgument, match="cachefrom"):
            _cache_from(MultiDict([("cachefrom", bad)]))
