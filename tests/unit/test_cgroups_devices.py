"""Device rules and ``--device`` values as pure data (glassbox.cgroups.devices), no root."""

from __future__ import annotations

import os
import stat

import pytest

from glassbox.cgroups import devices
from glassbox.cgroups.devices import (DeviceMapping, DeviceNode, Rule, container_rules,
                                      parse_device, parse_rule, resolve_device)
from glassbox.errors import InvalidArgument


@pytest.mark.parametrize("text, rule", [
    ("c 1:3 rwm", Rule("c", 1, 3, "rwm")),
    ("b *:* m", Rule("b", None, None, "m")),
    ("c 136:* rw", Rule("c", 136, None, "rw")),
    ("a *:* rwm", Rule("a", None, None, "rwm")),
    (" c 10:200 wr ", Rule("c", 10, 200, "wr")),
])
def test_parse_rule(text, rule):
    assert parse_rule(text) == rule
    assert parse_rule(str(rule)) == rule            # round trip through the kernel syntax


@pytest.mark.parametrize("text", ["", "c 1:3", "x 1:3 rwm", "c 1 rwm", "c 1:3 rwx", "c 1:3 rr",
                                  "c -1:3 r", "c 1:3  r", "c1:3 r"])
def test_parse_rule_refuses_naming_the_flag(text):
    with pytest.raises(InvalidArgument, match="--device-cgroup-rule"):
        parse_rule(text)


def test_default_rules_are_the_default_allow_list():
    assert tuple(str(r) for r in devices.DEFAULT_RULES) == devices.DEFAULT_ALLOW


@pytest.mark.parametrize("text, mapping", [
    ("/dev/fuse", DeviceMapping("/dev/fuse", "/dev/fuse", "rwm")),
    ("/dev/fuse:r", DeviceMapping("/dev/fuse", "/dev/fuse", "r")),       # a mode, not a path
    ("/dev/sda:/dev/xvda", DeviceMapping("/dev/sda", "/dev/xvda", "rwm")),
    ("/dev/sda:/dev/xvda:rw", DeviceMapping("/dev/sda", "/dev/xvda", "rw")),
    ("/dev/sda::mr", DeviceMapping("/dev/sda", "/dev/sda", "mr")),
])
def test_parse_device_as_docker_splits_it(text, mapping):
    assert parse_device(text) == mapping
    assert mapping.docker() == {"PathOnHost": mapping.path_on_host,
                                "PathInContainer": mapping.path_in_container,
                                "CgroupPermissions": mapping.permissions}


@pytest.mark.parametrize("text, named", [
    ("", "invalid device specification"),
    ("/a:/b:rw:x", "invalid device specification"),
    ("/dev/null:/dev/n:rwx", "bad permissions 'rwx'"),
    ("/dev/null:/dev/n:", "bad permissions ''"),
    ("dev/null", "host path 'dev/null' must be absolute"),
    ("/dev/null:n", "container path 'n' must be absolute"),
    ("/dev/null:/dev", "cannot put a device node at '/dev'"),
])
def test_parse_device_refuses(text, named):
    with pytest.raises(InvalidArgument, match="--device") as ei:
        parse_device(text)
    assert named in str(ei.value)


def test_resolve_device_reads_the_host_node(tmp_path):
    node = resolve_device(parse_device("/dev/null:/dev/mynull:rw"))
    st = os.stat("/dev/null")
    assert node == DeviceNode("/dev/mynull", "c", 1, 3, stat.S_IMODE(st.st_mode), st.st_uid,
                              st.st_gid, "rw", "/dev/null")
    link = tmp_path / "link"
    link.symlink_to("/dev/zero")                     # symlinks are followed, as Docker does
    assert resolve_device(parse_device(f"{link}:/dev/z")).minor == 5
    with pytest.raises(InvalidArgument, match="no such file or directory"):
        resolve_device(parse_device(str(tmp_path / "missing")))
    (tmp_path / "plain").write_text("x")
    with pytest.raises(InvalidArgument, match="not a character or block device"):
        resolve_device(parse_device(str(tmp_path / "plain")))
    with pytest.raises(InvalidArgument, match="not a character or block device"):
        resolve_device(parse_device(str(tmp_path)))


def test_container_rules_adds_devices_then_cgroup_rules():
    node = DeviceNode("/dev/gbx", "c", 120, 9, access="r")
    rules = container_rules([node, node.__dict__], ["b 7:* rw"])
    assert rules == devices.DEFAULT_ALLOW + ("c 120:9 r", "c 120:9 r", "b 7:* rw")
    assert container_rules() == devices.DEFAULT_ALLOW
    with pytest.raises(InvalidArgument):
        container_rules([], ["nonsense"])


def test_host_devices_walks_dev_without_the_containers_own_dirs(tmp_path):
    found = devices.host_devices("/dev")
    paths = {n.path for n in found}
    assert "/dev/null" in paths
    assert not any(p.startswith(("/dev/pts/", "/dev/shm/", "/dev/mqueue/")) for p in paths)
    assert all(n.type in "cb" for n in found)
    assert devices.host_devices(str(tmp_path)) == []     # no nodes, no symlink followed


# --- the nodes in the container's /dev (glassbox.rootfs.dev) ----------------------------

def test_device_nodes_are_made_at_their_container_paths(tmp_path):
    from glassbox._sys.fake import RecordingSys
    from glassbox.rootfs.dev import make_device_nodes
    rootfs = tmp_path / "merged"
    (rootfs / "dev").mkdir(parents=True)
    (rootfs / "dev" / "null").write_text("")          # already made by make_dev
    fake = RecordingSys()
    make_device_nodes(fake, str(rootfs), [
        DeviceNode("/dev/gbx", "c", 120, 9, 0o640, 0, 5, "r").__dict__,
        DeviceNode("/dev/sub/blk", "b", 7, 0, 0o600),
        DeviceNode("/dev/null", "c", 1, 3, 0o666)])      # --device over a safe node: replaced
    mknods = [args for n, args in fake.calls if n == "mknod"]
    assert mknods == [(str(rootfs / "dev/gbx"), stat.S_IFCHR | 0o640, os.makedev(120, 9)),
                      (str(rootfs / "dev/sub/blk"), stat.S_IFBLK | 0o600, os.makedev(7, 0)),
                      (str(rootfs / "dev/null"), stat.S_IFCHR | 0o666, os.makedev(1, 3))]
    assert ("chown", (str(rootfs / "dev/gbx"), 0, 5)) in fake.calls
    assert (rootfs / "dev" / "sub").is_dir() and not (rootfs / "dev" / "null").exists()


def test_device_nodes_in_a_user_namespace_are_bind_mounts(tmp_path):
    from glassbox._sys.constants import MS_BIND
    from glassbox._sys.fake import RecordingSys
    from glassbox.rootfs.dev import make_device_nodes
    rootfs = tmp_path / "merged"
    (rootfs / "dev").mkdir(parents=True)
    fake = RecordingSys()
    make_device_nodes(fake, str(rootfs), [DeviceNode("/dev/gbx", "c", 120, 9,
                                                     source="/host/node")], userns="subids")
    assert fake.calls == [("mount", ("/host/node", str(rootfs / "dev/gbx"), None, MS_BIND))]
    assert (rootfs / "dev" / "gbx").is_file()            # the empty file the bind goes onto


def test_privileged_adds_every_host_node_but_keeps_what_is_there(tmp_path):
    from glassbox._sys.fake import RecordingSys
    from glassbox.rootfs.dev import make_device_nodes
    rootfs = tmp_path / "merged"
    (rootfs / "dev").mkdir(parents=True)
    (rootfs / "dev" / "null").write_text("")
    fake = RecordingSys()
    make_device_nodes(fake, str(rootfs), [], privileged=True)
    made = {args[0][len(str(rootfs)):] for n, args in fake.calls if n == "mknod"}
    host = {n.path for n in devices.host_devices("/dev")}
    assert made == host - {"/dev/null"} and made


def test_privileged_spec_mounts_sys_read_write_and_masks_nothing(tmp_path, monkeypatch):
    from glassbox._sys.constants import MS_RDONLY
    from glassbox._sys.fake import RecordingSys
    from glassbox.rootfs import setup
    from glassbox.runtime.spec import ProcessSpec
    monkeypatch.setattr(setup, "pivot", lambda sys_, r: None)
    monkeypatch.setattr(setup, "make_device_nodes", lambda *a: calls.append(a[2:]))
    calls: list = []

    def sysfs_and_masks(privileged: bool):
        rootfs = tmp_path / f"merged-{privileged}"
        (rootfs / "proc" / "sys").mkdir(parents=True)
        (rootfs / "proc" / "kcore").write_text("")
        fake = RecordingSys()
        setup.build_rootfs(fake, ProcessSpec(id="c", args=["sh"], env=[], rootfs=str(rootfs),
                                             lower_dirs=[str(tmp_path / "layer")],
                                             privileged=privileged))
        mounts = [a for n, a in fake.calls if n == "mount"]
        sysfs = next(m for m in mounts if m[2] == "sysfs")
        return bool(sysfs[3] & MS_RDONLY), [m for m in mounts if m[1].startswith(
            str(rootfs / "proc") + "/")]
    ro, masked = sysfs_and_masks(False)
    assert ro is True and masked
    assert sysfs_and_masks(True) == (False, [])
    assert calls == [([], True, "")]              # privileged: the host's nodes


def test_daemon_maps_host_config_devices_both_ways():
    from glassbox.daemon.translate import create_body, create_options
    body = {"Image": "busybox", "HostConfig": {
        "Devices": [{"PathOnHost": "/dev/fuse", "PathInContainer": "/dev/fuse",
                     "CgroupPermissions": "rw"}, {"PathOnHost": "/dev/null"}],
        "DeviceCgroupRules": ["c 120:* rwm"]}}
    opts = create_options(body)
    assert opts.devices == ["/dev/fuse:/dev/fuse:rw", "/dev/null:/dev/null:rwm"]
    assert opts.device_cgroup_rules == ["c 120:* rwm"]
    hc = create_body(opts)[0]["HostConfig"]
    assert hc["Devices"] == [{"PathOnHost": "/dev/fuse", "PathInContainer": "/dev/fuse",
                              "CgroupPermissions": "rw"},
                             {"PathOnHost": "/dev/null", "PathInContainer": "/dev/null",
                              "CgroupPermissions": "rwm"}]
    assert hc["DeviceCgroupRules"] == ["c 120:* rwm"]
    for bad, named in (({"Devices": "x"}, "HostConfig.Devices"),
                       ({"Devices": [{"PathInContainer": "/x"}]}, "Devices[0].PathOnHost"),
                       ({"DeviceCgroupRules": "c 1:3 r"}, "HostConfig.DeviceCgroupRules")):
        with pytest.raises(InvalidArgument, match=named.replace("[", r"\[").replace("]", r"\]")):
            create_options({"Image": "busybox", "HostConfig": bad})
