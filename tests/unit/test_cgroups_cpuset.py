"""The cpuset controller on fake cgroup trees (v1 and v2): seeding, limits, refusals.

On v1 a fresh cpuset cgroup has empty ``cpuset.cpus``/``cpuset.mems`` and no task
may join it until both are filled: :meth:`V1Cgroup.create` copies them from each
parent, top-down. On v2 the controller is only enabled on the way down.
"""

from __future__ import annotations

import os

import pytest

from glassbox.cgroups import Limits
from glassbox.cgroups.limits import check_cpuset, parse_cpu_list
from glassbox.errors import InvalidArgument, KernelError
from test_cgroups_managers import FakeV1, FakeV2, read, write_files


def _cpuset_tree(v1, rels=("glassbox", "glassbox/c1"), root_cpus="0-3", root_mems="0"):
    """The root's values, and levels made as the kernel makes them: files present, empty."""
    base = v1.mounts["cpuset"]
    write_files(base, {"cpuset.cpus": root_cpus, "cpuset.mems": root_mems})
    for rel in rels:
        write_files(os.path.join(base, rel), {"cpuset.cpus": "", "cpuset.mems": "",
                                              "cgroup.procs": ""})
    return base


def test_parse_cpu_list_reads_the_kernels_list_syntax():
    assert parse_cpu_list("0-2,5") == {0, 1, 2, 5}
    assert parse_cpu_list(" 3 ") == {3}
    for bad in ("", "a", "1-", "-1", "2-1", "0,,1", "0-1-2"):
        with pytest.raises(InvalidArgument, match="Invalid value"):
            parse_cpu_list(bad, "--cpuset-cpus")


def test_check_cpuset_names_what_is_missing():
    assert check_cpuset("1", "--cpuset-cpus", "0-1") == {1}
    with pytest.raises(InvalidArgument) as ei:
        check_cpuset("0-3", "--cpuset-cpus", "0-1")
    assert "requested 0-3 (--cpuset-cpus), available: 0-1 (missing: 2,3)" in str(ei.value)


def test_limits_validate_against_the_machine_given():
    ok = Limits(cpuset_cpus="1", cpuset_mems="0")
    assert ok.validate(online_cpus="0-1", online_mems="0") is ok
    with pytest.raises(InvalidArgument, match="--cpuset-cpus"):
        Limits(cpuset_cpus="2").validate(online_cpus="0-1")
    with pytest.raises(InvalidArgument, match="memory nodes are not available"):
        Limits(cpuset_mems="1").validate(online_mems="0")
    assert Limits(cpus=1.0).merge(Limits(cpuset_cpus="0")).cpuset_cpus == "0"


def test_v1_create_seeds_every_empty_level_from_its_parent(tmp_path):
    v1 = FakeV1(tmp_path)
    base = _cpuset_tree(v1)
    cg = v1.open().create()
    assert cg.not_joined == {}
    for rel in ("glassbox", "glassbox/c1"):
        assert read(os.path.join(base, rel, "cpuset.cpus")) == "0-3"
        assert read(os.path.join(base, rel, "cpuset.mems")) == "0"
    assert cg.paths()["cpuset"] == os.path.join(base, "glassbox/c1")
    # top-down, the parent before the leaf (a child may not have what its parent lacks)
    written = [p for p, _ in cg.journal]
    assert written.index(os.path.join(base, "glassbox", "cpuset.cpus")) < \
        written.index(os.path.join(base, "glassbox/c1", "cpuset.cpus"))
    v1.populate()
    cg.add(4242)
    assert read(os.path.join(base, "glassbox/c1", "cgroup.procs")) == "4242"


def test_v1_seeding_keeps_a_level_that_already_has_values(tmp_path):
    v1 = FakeV1(tmp_path)
    base = _cpuset_tree(v1)
    with open(os.path.join(base, "glassbox", "cpuset.cpus"), "w") as f:
        f.write("1")                                  # someone narrowed the parent
    v1.open().create()
    assert read(os.path.join(base, "glassbox", "cpuset.cpus")) == "1"
    assert read(os.path.join(base, "glassbox/c1", "cpuset.cpus")) == "1"   # from it, not root


def test_v1_apply_writes_the_leafs_cpuset(tmp_path):
    v1 = FakeV1(tmp_path)
    base = _cpuset_tree(v1)
    cg = v1.open().create()
    cg.apply(Limits(cpuset_cpus="2-3", cpuset_mems="0"))
    assert read(os.path.join(base, "glassbox/c1", "cpuset.cpus")) == "2-3"
    assert cg.journal[-2:] == [(os.path.join(base, "glassbox/c1", "cpuset.cpus"), "2-3"),
                               (os.path.join(base, "glassbox/c1", "cpuset.mems"), "0")]


def test_v1_without_a_usable_cpuset_the_container_runs_but_a_cpuset_limit_is_refused(tmp_path):
    v1 = FakeV1(tmp_path)
    base = v1.mounts["cpuset"]
    write_files(base, {"cpuset.cpus": "", "cpuset.mems": "0"})   # nothing to copy
    v1.populate()
    cg = v1.open().create()
    assert "cpuset" in cg.not_joined and "has none to copy" in cg.not_joined["cpuset"]
    assert sorted(os.listdir(base)) == ["cpuset.cpus", "cpuset.mems"]   # what it made: gone
    cg.add(4242)                                                      # the others still join
    assert "cpuset" not in cg.paths()
    cg.apply(Limits(memory=64 << 20))                                 # other limits work
    with pytest.raises(KernelError) as ei:
        cg.apply(Limits(cpuset_cpus="0"))
    assert "has none to copy" in str(ei.value)


def test_v2_enables_cpuset_and_writes_the_leaf(tmp_path):
    v2 = FakeV2(tmp_path)
    write_files(v2.dir("glassbox"), {"cgroup.controllers": "cpu cpuset memory pids",
                                     "cgroup.subtree_control": ""})
    cg = v2.open().create()
    assert (f"{v2.dir('glassbox')}/cgroup.subtree_control", "+cpuset") in cg.journal
    v2.populate()
    write_files(v2.dir(), {"cpuset.cpus": "", "cpuset.mems": ""})
    cg.apply(Limits(cpuset_cpus="0-1", cpuset_mems="0"))
    assert read(os.path.join(v2.dir(), "cpuset.cpus")) == "0-1"
    assert read(os.path.join(v2.dir(), "cpuset.mems")) == "0"


def test_v2_cpuset_not_enabled_says_why(tmp_path):
    v2 = FakeV2(tmp_path, controllers="cpu memory pids")             # no cpuset offered
    cg = v2.open().create()
    v2.populate()
    with pytest.raises(KernelError) as ei:
        cg.apply(Limits(cpuset_cpus="0"))
    assert ei.value.path.endswith("/cpuset.cpus")
