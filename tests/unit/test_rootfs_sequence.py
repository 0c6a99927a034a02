"""The rootfs is built as a straight line of steps; checked with the recording fake."""

from __future__ import annotations

import errno
import os

import pytest

from glassbox._sys.constants import MS_BIND, MS_PRIVATE, MS_RDONLY, MS_REC
from glassbox._sys.fake import RecordingSys
from glassbox.errors import KernelError
from glassbox.rootfs import pivot as pivot_mod
from glassbox.rootfs.overlay import overlay_options
from glassbox.rootfs.setup import _inside, build_rootfs
from glassbox.runtime.spec import Mount, ProcessSpec


def test_overlay_options_put_the_top_layer_first():
    assert overlay_options(["/l/base", "/l/app"], "/c/upper", "/c/work") == \
        "lowerdir=/l/app:/l/base,upperdir=/c/upper,workdir=/c/work"
    assert overlay_options(["/l/base"], None, None) == "lowerdir=/l/base"


def test_build_rootfs_order(tmp_path, monkeypatch):
    rootfs = tmp_path / "merged"
    (rootfs / "proc" / "sys").mkdir(parents=True)
    (rootfs / "proc" / "kcore").write_text("")
    (rootfs / "etc").mkdir()
    hosts = tmp_path / "hosts"
    hosts.write_text("127.0.0.1 localhost\n")
    vol = tmp_path / "vol"
    vol.mkdir()
    spec = ProcessSpec(id="c", args=["sh"], env=[], lower_dirs=[str(tmp_path / "layer")],
                       upper_dir=str(tmp_path / "upper"), work_dir=str(tmp_path / "work"),
                       rootfs=str(rootfs), etc_files={"/etc/hosts": str(hosts)},
                       mounts=[Mount("bind", str(vol), "/data", readonly=True),
                               Mount("tmpfs", "", "/scratch", options="size=1m")],
                       readonly_rootfs=True)
    fake = RecordingSys()
    monkeypatch.setattr(pivot_mod, "pivot", lambda sys_, r: sys_.pivot_root(r, r))
    import glassbox.rootfs.setup as setup
    monkeypatch.setattr(setup, "pivot", lambda sys_, r: sys_.pivot_root(r, r))
    build_rootfs(fake, spec)
    names = fake.names()
    mounts = [args for n, args in fake.calls if n == "mount"]
    # first: stop propagation to the host; then the overlay
    assert mounts[0][3] == MS_REC | MS_PRIVATE
    assert mounts[1][2] == "overlay"
    fstypes = [m[2] for m in mounts]
    assert fstypes.index("proc") < fstypes.index("tmpfs")
    assert "devpts" in fstypes and "mqueue" in fstypes and "sysfs" in fstypes
    # the ro bind mount is bound then remounted read-only
    data_mounts = [m for m in mounts if m[1] == str(rootfs / "data")]
    assert data_mounts[0][3] & MS_BIND and data_mounts[1][3] & MS_RDONLY
    # /proc/kcore masked with /dev/null, /proc/sys made read-only
    assert any(m[1] == str(rootfs / "proc" / "kcore") and m[0].endswith("/dev/null")
               for m in mounts)
    assert any(m[1] == str(rootfs / "proc" / "sys") and m[3] & MS_RDONLY for m in mounts)
    # pivot_root after every mount into the new root; the read-only remount after it
    pivot_at = names.index("pivot_root")
    assert all(n != "mknod" for n in names[pivot_at:])
    assert mounts[-1][1] == "/" and mounts[-1][3] & MS_RDONLY
    assert names.count("mknod") == 6


def test_a_failing_mount_raises_kernel_error_with_errno(tmp_path):
    spec = ProcessSpec(id="c", args=["sh"], env=[], lower_dirs=["/l"], upper_dir="/u",
                       work_dir="/w", rootfs=str(tmp_path / "m"))
    with pytest.raises(KernelError) as e:
        build_rootfs(RecordingSys(fail_on={"mount": errno.EPERM}), spec)
    assert e.value.errno == errno.EPERM and "mount" in str(e.value)


def test_inside_never_leaves_the_rootfs(tmp_path):
    root = tmp_path / "root"
    (root / "etc").mkdir(parents=True)
    os.symlink("/", root / "escape")
    os.symlink("../../..", root / "etc" / "up")
    assert _inside(str(root), "/escape/etc/passwd") == str(root / "etc" / "passwd")
    assert _inside(str(root), "/etc/up/x") == str(root / "x")
    assert _inside(str(root), "/../../x") == str(root / "x")
