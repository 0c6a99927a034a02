"""Pure values of glassbox.cgroups: Limits, parse_bytes, conversions, Stats/cpu_percent."""

from __future__ import annotations

import dataclasses

import pytest

from glassbox.cgroups import Limits, Stats, cpu_percent, parse_bytes
from glassbox.cgroups.limits import cpu_quota_us, shares_to_weight
from glassbox.cgroups.stats import memory_usage
from glassbox.errors import InvalidArgument

MiB = 1 << 20


@pytest.mark.parametrize("text, expected", [
    ("1024", 1024), ("0", 0), ("512k", 512 * 1024), ("512K", 512 * 1024), ("64m", 64 * MiB),
    ("64M", 64 * MiB), ("64MB", 64 * MiB), ("64mb", 64 * MiB), ("64MiB", 64 * MiB),
    ("1g", 1 << 30), ("1G", 1 << 30), ("2t", 2 << 40), ("100b", 100), ("100B", 100),
    ("1.5g", 3 << 29), (" 64m ", 64 * MiB), ("64 m", 64 * MiB), ("-1", -1), (4096, 4096),
])
def test_parse_bytes_docker_forms(text, expected):
    assert parse_bytes(text) == expected


@pytest.mark.parametrize("bad", ["", "abc", "64x", "m", "1.2.3g", "64mm", "-5m", "0x10", "1e3",
                                 "64 MB extra"])
def test_parse_bytes_rejects_and_names_flag_and_value(bad):
    with pytest.raises(InvalidArgument) as ei:
        parse_bytes(bad, "--memory-swap")
    assert "--memory-swap" in str(ei.value)
    assert repr(bad) in str(ei.value)


def test_parse_bytes_default_flag_is_memory():
    with pytest.raises(InvalidArgument, match="--memory"):
        parse_bytes("lots")


def test_limits_is_frozen_and_defaults_to_unset():
    lim = Limits()
    assert lim.is_empty()
    with pytest.raises(dataclasses.FrozenInstanceError):
        lim.memory = 1  # type: ignore[misc]


def test_validate_accepts_good_values_and_returns_self():
    lim = Limits(memory=64 * MiB, memory_swap=128 * MiB, cpus=1.5, cpu_shares=512, pids=100)
    assert lim.validate(ncpus=2) is lim
    Limits(memory=6 * MiB, memory_swap=-1, cpus=0.01, cpu_shares=0, pids=-1).validate(ncpus=2)
    Limits(memory=64 * MiB, memory_swap=64 * MiB, cpus=2.0, cpu_shares=2, pids=1).validate(ncpus=2)


@pytest.mark.parametrize("lim, fragment", [
    (Limits(memory=6 * MiB - 1), "Minimum memory limit allowed is 6MB"),
    (Limits(memory=1024), "Minimum memory limit allowed is 6MB"),
    (Limits(memory=64 * MiB, memory_swap=32 * MiB), "memoryswap limit should be larger"),
    (Limits(memory=64 * MiB, memory_swap=0), "memoryswap limit should be larger"),
    (Limits(memory_swap=64 * MiB), "Memory limit"),
    (Limits(cpus=0), "Range of CPUs is from 0.01 to 2.00, as there are only 2 CPUs available"),
    (Limits(cpus=-1.0), "Range of CPUs is from 0.01 to 2.00"),
    (Limits(cpus=2.5), "as there are only 2 CPUs available"),
    (Limits(cpus=0.001), "from 0.01"),
    (Limits(cpu_shares=1), "cpu-shares is 2"),
    (Limits(cpu_shares=-5), "cpu-shares is 2"),
    (Limits(pids=0), "--pids-limit=0"),
    (Limits(pids=-2), "--pids-limit=-2"),
])
def test_validate_rejects_like_docker(lim, fragment):
    with pytest.raises(InvalidArgument) as ei:
        lim.validate(ncpus=2)
    assert fragment in str(ei.value)


def test_validate_uses_host_cpu_count_by_default(monkeypatch):
    monkeypatch.setattr("os.cpu_count", lambda: 4)
    Limits(cpus=3.5).validate()
    with pytest.raises(InvalidArgument, match="only 4 CPUs"):
        Limits(cpus=4.5).validate()


def test_merge_overrides_only_set_fields_and_returns_new():
    base = Limits(memory=64 * MiB, cpus=1.0, pids=10)
    merged = base.merge(Limits(cpus=0.5, memory_swap=-1))
    assert merged == Limits(memory=64 * MiB, memory_swap=-1, cpus=0.5, pids=10)
    assert base == Limits(memory=64 * MiB, cpus=1.0, pids=10)
    assert base.merge(Limits()) == base


def test_docker_defaults_double_memory_for_swap():
    assert Limits(memory=64 * MiB).with_docker_defaults().memory_swap == 128 * MiB
    assert Limits(memory=64 * MiB, memory_swap=-1).with_docker_defaults().memory_swap == -1
    assert Limits(pids=3).with_docker_defaults() == Limits(pids=3)


@pytest.mark.parametrize("cpus, quota", [(1.0, 100000), (0.5, 50000), (1.5, 150000),
                                         (0.01, 1000), (2.0, 200000), (0.333, 33300)])
def test_cpu_quota(cpus, quota):
    assert cpu_quota_us(cpus) == quota


@pytest.mark.parametrize("shares, weight", [(2, 1), (262144, 10000), (1024, 39), (512, 20),
                                            (0, 100)])
def test_shares_to_weight_like_runc(shares, weight):
    assert shares_to_weight(shares) == weight


def _stats(cpu_ns: int, ts: float) -> Stats:
    return Stats(cpu_usage_ns=cpu_ns, memory_usage=0, memory_limit=None, memory_max_usage=None,
                 pids_current=1, pids_limit=None, oom_kills=0, cpu_throttled_ns=None,
                 timestamp=ts)


def test_cpu_percent_one_core_is_100():
    assert cpu_percent(_stats(0, 10.0), _stats(1_000_000_000, 11.0), 2) == pytest.approx(100.0)
    assert cpu_percent(_stats(0, 10.0), _stats(500_000_000, 12.0), 2) == pytest.approx(25.0)
    assert cpu_percent(_stats(0, 10.0), _stats(3_000_000_000, 11.5), 2) == pytest.approx(200.0)


def test_cpu_percent_clamps_and_handles_edge_cases():
    assert cpu_percent(_stats(0, 10.0), _stats(5_000_000_000, 11.0), 2) == 200.0
    assert cpu_percent(_stats(0, 10.0), _stats(5_000_000_000, 11.0)) == pytest.approx(500.0)
    assert cpu_percent(_stats(0, 10.0), _stats(5, 10.0), 2) == 0.0      # no wall time
    assert cpu_percent(_stats(9, 10.0), _stats(5, 11.0), 2) == 0.0      # counter reset


def test_memory_usage_subtracts_inactive_file():
    assert memory_usage(100, 30) == 70
    assert memory_usage(100, None) == 100
    assert memory_usage(100, 150) == 100
