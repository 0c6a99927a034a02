"""Device access on the real kernel, on either cgroup version: container root may
mknod a host block device but not open it (see glassbox.cgroups.devices), the safe
/dev nodes still work, ``--device`` / ``--device-cgroup-rule`` / ``--privileged``
widen the list as Docker's do, and no cgroup is left behind.

On cgroup v1 (this lab's host) the rules are the ``devices`` controller's files; on
cgroup v2 (the QEMU lane, ``make test-v2``) they are the eBPF program of
glassbox.cgroups.bpf_device. The assertions are the same.

Two device numbers tell the kernel's answers apart: char major 120 is reserved for
"local/experimental use", so no driver ever has it. Opening ``c 120:N`` fails with
EPERM ("Operation not permitted") when the device rules refuse it, and with ENXIO
("No such device or address") when they let it through to the (absent) driver.
"""

from __future__ import annotations

import json
import os
import stat

import pytest
from test_userns_private import priv  # noqa: F401  (an id range of the test's own)

from glassbox.cgroups import detect_version

VERSION = detect_version()

pytestmark = [
    pytest.mark.system,
    pytest.mark.skipif(os.geteuid() != 0, reason="needs root"),
    pytest.mark.skipif(VERSION == 1 and not os.path.isdir("/sys/fs/cgroup/devices"),
                       reason="cgroup v1 without the devices controller"),
]

EPERM = b"Operation not permitted"
ENXIO = b"No such device or address"
FREE_MAJOR = 120      # LOCAL/EXPERIMENTAL USE (Documentation/admin-guide/devices.txt)


def _base(gbx) -> str:
    """Where this test's container cgroups live in the hierarchy that holds the rules."""
    if VERSION == 1:
        return os.path.join("/sys/fs/cgroup/devices", gbx.cgroup_parent)
    return os.path.join("/sys/fs/cgroup", gbx.cgroup_parent)


def _cgroup_dirs(gbx) -> list[str]:
    base = _base(gbx)
    if not os.path.isdir(base):
        return []
    return [e for e in os.listdir(base) if os.path.isdir(os.path.join(base, e))]


def _inspect(gbx, cid: str) -> dict:
    return json.loads(gbx.out("inspect", cid))[0]


def test_mknod_of_a_host_block_device_works_but_open_is_denied(gbx):
    p = gbx.cli("run", "--rm", "busybox", "sh", "-c", "mknod /tmp/l b 7 0 && cat /tmp/l")
    assert p.returncode != 0
    assert EPERM in p.stderr, p.stderr
    assert b"mknod" not in p.stderr                       # the mknod itself succeeded
    p = gbx.cli("run", "--rm", "busybox", "sh", "-c",
                "mknod /tmp/l b 7 0 && ls -l /tmp/l && echo made")
    assert p.returncode == 0, p.stderr
    assert p.stdout.decode().splitlines()[-1] == "made"
    assert _cgroup_dirs(gbx) == []                        # --rm removed the cgroup


def test_safe_devices_still_work(gbx):
    script = ("echo x > /dev/null && echo null-ok; "
              "head -c 4 /dev/zero | od -An -tx1 | tr -d ' \\n'; echo; "
              "head -c 16 /dev/urandom | wc -c; "
              "echo y > /dev/full 2>/dev/null || echo full-enospc")
    p = gbx.cli("run", "--rm", "busybox", "sh", "-c", script)
    assert p.returncode == 0, p.stderr
    assert p.stdout.decode().split() == ["null-ok", "00000000", "16", "full-enospc"]


def test_running_container_is_in_a_restricted_cgroup_and_rm_removes_it(gbx):
    cid = gbx.out("run", "-d", "busybox", "sleep", "60").strip()
    c = gbx.engine.containers.get(cid)
    d = os.path.join(_base(gbx), c.id)
    assert os.path.isdir(d)
    if VERSION == 1:
        with open(os.path.join(d, "devices.list")) as f:
            rules = f.read().split("\n")
        assert "a *:* rwm" not in rules                   # the inherited allow-all is gone
        assert "b *:* m" in rules and "c 1:3 rwm" in rules and "c 136:* rwm" in rules
    else:
        from glassbox.cgroups.v2 import V2Cgroup
        progs = V2Cgroup(c.id, parent=gbx.cgroup_parent).device_programs()
        assert len(progs) == 1, progs                     # one BPF_CGROUP_DEVICE program
    with open(os.path.join(d, "cgroup.procs")) as f:
        assert str(c.pid) in f.read().split()             # the container's pid 1 is inside
    assert _inspect(gbx, cid)["Cgroup"]["Version"] == VERSION   # inspect says which one
    row = json.loads(gbx.out("stats", "--no-stream", "--format", "json", cid))
    assert row["Cgroup"] == f"v{VERSION}"                 # and so does stats
    gbx.out("rm", "-f", cid)
    assert not os.path.exists(d)
    assert _cgroup_dirs(gbx) == []


def test_userns_private_keeps_the_device_rules(priv, tmp_path):  # noqa: F811
    """``--userns=private``: the kernel already refuses mknod of a device outside the
    initial user namespace, but a ``--device`` node is bind-mounted in, so the allow
    list is still what stands between it and the host: the same rules, enforced."""
    host = str(tmp_path / "gbxdev")
    os.mknod(host, stat.S_IFCHR, os.makedev(FREE_MAJOR, 9))
    os.chmod(host, 0o666)     # the high uid may open it: only the rules refuse the write
    cid = priv.out("run", "-d", "--userns=private", "--device", f"{host}:/dev/gbx:r",
                   "busybox", "sleep", "60").strip()
    c = priv.engine.containers.get(cid)
    if VERSION == 1:
        with open(os.path.join(_base(priv), c.id, "devices.list")) as f:
            rules = f.read().split("\n")
        assert "a *:* rwm" not in rules and "b *:* m" in rules, rules
        assert f"c {FREE_MAJOR}:9 r" in rules, rules            # --device: only its 'r'
    else:
        from glassbox.cgroups.v2 import V2Cgroup
        assert len(V2Cgroup(c.id, parent=priv.cgroup_parent).device_programs()) == 1
    p = priv.cli("exec", c.id, "sh", "-c", "cat /dev/gbx; echo x > /dev/gbx")
    err = p.stderr.decode().splitlines()
    assert len(err) == 2 and ENXIO.decode() in err[0] and EPERM.decode() in err[1], err
    p = priv.cli("exec", c.id, "sh", "-c", "mknod /tmp/l b 7 0")
    assert p.returncode != 0 and EPERM in p.stderr, p.stderr     # the userns: no mknod
    priv.out("rm", "-f", cid)
    assert _cgroup_dirs(priv) == []


def test_device_cgroup_rule_lets_a_device_number_through(gbx):
    script = f"mknod /tmp/x c {FREE_MAJOR} 7 && cat /tmp/x"
    p = gbx.cli("run", "--rm", "busybox", "sh", "-c", script)
    assert p.returncode != 0 and EPERM in p.stderr, p.stderr        # refused by the rules
    cid = gbx.out("run", "-d", "--device-cgroup-rule", f"c {FREE_MAJOR}:* rw",
                  "busybox", "sh", "-c", script + "; echo done").strip()
    assert gbx.out("wait", cid).strip() == "0"
    logs = gbx.cli("logs", cid)
    assert ENXIO in logs.stderr and EPERM not in logs.stderr, logs.stderr  # reached the driver
    assert _inspect(gbx, cid)["HostConfig"]["DeviceCgroupRules"] == [f"c {FREE_MAJOR}:* rw"]
    gbx.out("rm", cid)
    assert _cgroup_dirs(gbx) == []


def test_device_flag_makes_the_node_and_allows_only_its_permissions(gbx, tmp_path):
    host = str(tmp_path / "gbxdev")
    os.mknod(host, stat.S_IFCHR | 0o640, os.makedev(FREE_MAJOR, 9))
    script = ("ls -ln /dev/gbx; "
              "cat /dev/gbx; "                      # r allowed: the (missing) driver answers
              "echo x > /dev/gbx; echo end")        # w not in the permissions: refused
    cid = gbx.out("run", "-d", "--device", f"{host}:/dev/gbx:r", "busybox",
                  "sh", "-c", script).strip()
    assert gbx.out("wait", cid).strip() == "0"
    logs = gbx.cli("logs", cid)
    ls = logs.stdout.decode().splitlines()[0].split()
    assert ls[0] == "crw-r-----" and ls[4:6] == [f"{FREE_MAJOR},", "9"], ls
    err = logs.stderr.decode().splitlines()
    assert len(err) == 2, err
    assert "cat" in err[0] and ENXIO.decode() in err[0], err
    assert EPERM.decode() in err[1], err
    hc = _inspect(gbx, cid)["HostConfig"]
    assert hc["Devices"] == [{"PathOnHost": host, "PathInContainer": "/dev/gbx",
                              "CgroupPermissions": "r"}]
    gbx.out("rm", cid)
    assert _cgroup_dirs(gbx) == []


def _a_host_only_char_device() -> str:
    from glassbox.cgroups.devices import host_devices
    from glassbox.rootfs.dev import DEVICES
    safe = {f"/dev/{n}" for n in DEVICES} | {"/dev/console", "/dev/ptmx"}
    return next(n.path for n in host_devices() if n.type == "c" and n.path not in safe
                and os.path.dirname(n.path) == "/dev")


def test_privileged_keeps_all_devices_shows_host_nodes_and_a_writable_sys(gbx):
    host_node = _a_host_only_char_device()
    st = os.stat(host_node)
    cid = gbx.out("run", "-d", "--privileged", "busybox", "sh", "-c",
                  "mknod /tmp/l b 7 0 && head -c 0 /tmp/l && echo opened; "
                  f"ls -ln {host_node}; grep ' /sys ' /proc/mounts; sleep 30").strip()
    c = gbx.engine.containers.get(cid)
    assert _inspect(gbx, cid)["HostConfig"]["Privileged"] is True
    if VERSION == 2:   # no device program at all
        from glassbox.cgroups.v2 import V2Cgroup
        assert V2Cgroup(c.id, parent=gbx.cgroup_parent).device_programs() == []
    else:
        with open(os.path.join(_base(gbx), c.id, "devices.list")) as f:
            assert f.read().split("\n")[0] == "a *:* rwm"
    gbx.out("kill", cid)
    gbx.out("wait", cid)
    out = gbx.cli("logs", cid).stdout.decode().splitlines()
    # (where the host's bounding set lacks a capability, --privileged gets the rest)
    assert out[0] == "opened", out
    ls = out[1].split()
    assert ls[-1] == host_node and ls[4:6] == [f"{os.major(st.st_rdev)},",
                                               str(os.minor(st.st_rdev))], ls
    assert out[2].split()[3].split(",")[0] == "rw", out[2]
    gbx.out("rm", cid)
    assert _cgroup_dirs(gbx) == []


@pytest.mark.parametrize("flags, named", [
    (["--device", "/dev/gbx-no-such-node"], "--device /dev/gbx-no-such-node"),
    (["--device", "/etc/hostname"], "not a character or block device"),
    (["--device", "/dev/null:/dev/n:rwx"], "bad permissions 'rwx'"),
    (["--device", "/dev/null:dev/n"], "must be absolute"),
    (["--device-cgroup-rule", "c 1:3"], "--device-cgroup-rule 'c 1:3'"),
    (["--device-cgroup-rule", "x 1:3 rwm"], "--device-cgroup-rule"),
])
def test_bad_device_flags_exit_125_and_create_nothing(gbx, flags, named):
    p = gbx.cli("run", "--rm", *flags, "busybox", "true")
    assert p.returncode == 125, p.stderr
    assert named.encode() in p.stderr, p.stderr
    assert gbx.engine.containers.list() == []
    cdir = os.path.join(gbx.root, "containers")
    assert not os.path.isdir(cdir) or [e for e in os.listdir(cdir) if not e.startswith(".")] == []
    assert _cgroup_dirs(gbx) == []
