"""The devices cgroup on the real kernel: container root may mknod a host block
device but not open it (see glassbox.cgroups.devices), the safe /dev nodes still
work, and no devices cgroup is left behind."""

from __future__ import annotations

import os

import pytest

from glassbox.cgroups import detect_version

pytestmark = [
    pytest.mark.system,
    pytest.mark.skipif(os.geteuid() != 0 or detect_version() != 1
                       or not os.path.isdir("/sys/fs/cgroup/devices"),
                       reason="needs root and the cgroup v1 devices controller"),
]


def _devices_dirs(gbx) -> list[str]:
    base = os.path.join("/sys/fs/cgroup/devices", gbx.cgroup_parent)
    if not os.path.isdir(base):
        return []
    return [e for e in os.listdir(base) if os.path.isdir(os.path.join(base, e))]


def test_mknod_of_a_host_block_device_works_but_open_is_denied(gbx):
    p = gbx.cli("run", "--rm", "busybox", "sh", "-c", "mknod /tmp/l b 7 0 && cat /tmp/l")
    assert p.returncode != 0
    assert b"Operation not permitted" in p.stderr, p.stderr
    assert b"mknod" not in p.stderr                       # the mknod itself succeeded
    p = gbx.cli("run", "--rm", "busybox", "sh", "-c",
                "mknod /tmp/l b 7 0 && ls -l /tmp/l && echo made")
    assert p.returncode == 0, p.stderr
    assert p.stdout.decode().splitlines()[-1] == "made"
    assert _devices_dirs(gbx) == []                       # --rm removed the devices cgroup


def test_safe_devices_still_work(gbx):
    script = ("echo x > /dev/null && echo null-ok; "
              "head -c 4 /dev/zero | od -An -tx1 | tr -d ' \\n'; echo; "
              "head -c 16 /dev/urandom | wc -c; "
              "echo y > /dev/full 2>/dev/null || echo full-enospc")
    p = gbx.cli("run", "--rm", "busybox", "sh", "-c", script)
    assert p.returncode == 0, p.stderr
    assert p.stdout.decode().split() == ["null-ok", "00000000", "16", "full-enospc"]


def test_running_container_is_in_a_restricted_devices_cgroup_and_rm_removes_it(gbx):
    cid = gbx.out("run", "-d", "busybox", "sleep", "60").strip()
    c = gbx.engine.containers.get(cid)
    d = os.path.join("/sys/fs/cgroup/devices", gbx.cgroup_parent, c.id)
    assert os.path.isdir(d)
    with open(os.path.join(d, "devices.list")) as f:
        rules = f.read().split("\n")
    assert "a *:* rwm" not in rules                       # the inherited allow-all is gone
    assert "b *:* m" in rules and "c 1:3 rwm" in rules and "c 136:* rwm" in rules
    with open(os.path.join(d, "cgroup.procs")) as f:
        assert str(c.pid) in f.read().split()             # the container's pid 1 is inside
    gbx.out("rm", "-f", cid)
    assert not os.path.exists(d)
    assert _devices_dirs(gbx) == []


def test_privileged_keeps_all_devices(gbx):
    p = gbx.cli("run", "--rm", "--privileged", "busybox", "sh", "-c",
                "mknod /tmp/l b 7 0 && head -c 0 /tmp/l && echo opened")
    # (where the host's bounding set lacks a capability, --privileged gets the rest)
    assert p.returncode == 0, p.stderr
    assert p.stdout == b"opened\n"
    assert _devices_dirs(gbx) == []
