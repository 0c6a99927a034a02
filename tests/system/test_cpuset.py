"""``--cpuset-cpus`` / ``--cpuset-mems`` on the real kernel (issue 20).

The container's cpuset cgroup decides where its processes may run: the kernel
shows it inside as ``Cpus_allowed_list`` in ``/proc/self/status``. On cgroup v1 the
chain ``<parent>/<id>`` must have ``cpuset.cpus``/``cpuset.mems`` copied from the
hierarchy's root before the first task can join (``glassbox.cgroups.v1``).
"""

from __future__ import annotations

import os

import pytest

from glassbox.cgroups import detect_version

pytestmark = pytest.mark.system


def _online() -> list[int]:
    from glassbox.cgroups.limits import parse_cpu_list
    with open("/sys/devices/system/cpu/online") as f:
        return sorted(parse_cpu_list(f.read().strip()))


def _allowed(text: str) -> str:
    line = next(ln for ln in text.splitlines() if ln.startswith("Cpus_allowed_list:"))
    return line.split(":", 1)[1].strip()


def test_cpuset_cpus_pins_the_container_and_inspect_shows_it(gbx):
    last = str(_online()[-1])
    out = gbx.out("run", "--rm", "--cpuset-cpus", last, "--cpuset-mems", "0", "busybox",
                  "cat", "/proc/self/status")
    assert _allowed(out) == last
    assert "Mems_allowed_list:\t0" in out


def test_without_cpuset_the_container_may_use_every_cpu(gbx):
    out = gbx.out("run", "--rm", "busybox", "cat", "/proc/self/status")
    online = _online()
    want = str(online[0]) if len(online) == 1 else f"{online[0]}-{online[-1]}"
    assert _allowed(out) == want


def test_update_moves_a_running_container_and_inspect_follows(gbx):
    online = _online()
    if len(online) < 2:
        pytest.skip("needs two CPUs to move a container from one to the other")
    cid = gbx.out("run", "-d", "--cpuset-cpus", str(online[0]), "busybox",
                  "sleep", "600").strip()
    try:
        assert _allowed(gbx.out("exec", cid, "cat", "/proc/1/status")) == str(online[0])
        gbx.out("update", "--cpuset-cpus", str(online[1]), cid)
        assert _allowed(gbx.out("exec", cid, "cat", "/proc/1/status")) == str(online[1])
        fmt = "{{.HostConfig.CpusetCpus}}|{{.HostConfig.CpusetMems}}"
        assert gbx.out("inspect", "-f", fmt, cid).strip() == f"{online[1]}|"
        if detect_version() == 1:   # seeded top-down on v1: the parent has every CPU
            parent = os.path.join("/sys/fs/cgroup/cpuset", gbx.cgroup_parent)
            with open(os.path.join(parent, "cpuset.cpus")) as f:
                assert f.read().strip() == open("/sys/fs/cgroup/cpuset/cpuset.cpus").read().strip()
    finally:
        gbx.cli("rm", "-f", cid)


@pytest.mark.parametrize("flag,value,message", [
    ("--cpuset-cpus", "999", "requested 999 (--cpuset-cpus), available"),
    ("--cpuset-cpus", "1-0", "Invalid value '1-0' for --cpuset-cpus"),
    ("--cpuset-cpus", "a", "Invalid value 'a' for --cpuset-cpus"),
    ("--cpuset-mems", "7", "Requested memory nodes are not available - requested 7"),
])
def test_a_bad_cpuset_is_125_naming_it_and_creates_nothing(gbx, flag, value, message):
    p = gbx.cli("run", "--rm", flag, value, "busybox", "true")
    assert p.returncode == 125, (p.returncode, p.stderr)
    assert message in p.stderr.decode(), p.stderr
    assert gbx.engine.containers.list(all=True) == []
