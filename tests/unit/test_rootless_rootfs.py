"""The rootfs steps a rootless container takes differently (recording fake):
overlay with userxattr, the host's /dev nodes bound instead of mknod, devpts
without gid=5 under a single-id map, read-only binds keeping the locked flags."""

from __future__ import annotations

import os

import pytest

from glassbox._sys.constants import MS_BIND, MS_NOSUID, MS_RDONLY, MS_REMOUNT
from glassbox._sys.fake import RecordingSys
from glassbox.rootfs.overlay import overlay_options
from glassbox.runtime.spec import Mount, ProcessSpec


def test_overlay_userxattr_option():
    assert overlay_options(["/l/a"], "/u", "/w", userxattr=True) == \
        "lowerdir=/l/a,upperdir=/u,workdir=/w,userxattr"
    assert "userxattr" not in overlay_options(["/l/a"], "/u", "/w")


def _build(tmp_path, monkeypatch, userns: str):
    rootfs = tmp_path / "merged"
    (rootfs / "proc").mkdir(parents=True)
    vol = tmp_path / "vol"
    vol.mkdir()
    spec = ProcessSpec(id="c", args=["sh"], env=[], lower_dirs=[str(tmp_path / "layer")],
                       upper_dir=str(tmp_path / "upper"), work_dir=str(tmp_path / "work"),
                       rootfs=str(rootfs), mounts=[Mount("bind", str(vol), "/data", True)],
                       userns=userns)
    import glassbox.rootfs.setup as setup
    monkeypatch.setattr(setup, "pivot", lambda sys_, r: sys_.pivot_root(r, r))
    monkeypatch.setattr(setup, "_locked_flags", lambda source: MS_NOSUID)
    fake = RecordingSys()
    setup.build_rootfs(fake, spec)
    return fake, rootfs


@pytest.mark.parametrize("userns", ["single", "subids"])
def test_rootless_rootfs_binds_devices_and_keeps_locked_flags(tmp_path, monkeypatch, userns):
    fake, rootfs = _build(tmp_path, monkeypatch, userns)
    mounts = [args for n, args in fake.calls if n == "mount"]
    assert "mknod" not in fake.names()
    assert mounts[1][2] == "overlay" and mounts[1][4].endswith(",userxattr")
    null = [m for m in mounts if m[1] == str(rootfs / "dev" / "null")]
    assert null and null[0][0] == "/dev/null" and null[0][3] == MS_BIND
    assert os.path.isfile(rootfs / "dev" / "null")      # the bind's target file
    devpts = next(m for m in mounts if m[2] == "devpts")
    assert ("gid=5" in devpts[4]) == (userns == "subids")
    ro = [m for m in mounts if m[1] == str(rootfs / "data") and m[3] & MS_REMOUNT]
    assert ro and ro[0][3] & MS_RDONLY and ro[0][3] & MS_NOSUID


def test_rootful_rootfs_is_unchanged(tmp_path, monkeypatch):
    fake, rootfs = _build(tmp_path, monkeypatch, "")
    mounts = [args for n, args in fake.calls if n == "mount"]
    assert fake.names().count("mknod") == 6
    assert "userxattr" not in mounts[1][4]
    assert "gid=5" in next(m for m in mounts if m[2] == "devpts")[4]
    ro = [m for m in mounts if m[1] == str(rootfs / "data") and m[3] & MS_REMOUNT]
    assert not ro[0][3] & MS_NOSUID


def test_locked_flags_come_from_statvfs(tmp_path):
    from glassbox.rootfs.setup import _locked_flags
    assert _locked_flags(str(tmp_path)) == os.statvfs(str(tmp_path)).f_flag & 0xC0E
