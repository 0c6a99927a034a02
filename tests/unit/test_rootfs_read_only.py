"""``--read-only`` as a sequence of mounts (the recording fake): the new ``/`` is
remounted read-only after pivot_root, the generated /etc files are bound read-only
as Docker does, and a volume keeps its own mode."""

from __future__ import annotations

import pytest

from glassbox._sys.constants import MS_BIND, MS_RDONLY, MS_REMOUNT
from glassbox._sys.fake import RecordingSys
from glassbox.runtime.spec import Mount, ProcessSpec


def mounts_of(tmp_path, monkeypatch, readonly: bool):
    import glassbox.rootfs.setup as setup
    rootfs = tmp_path / "merged"
    (rootfs / "etc").mkdir(parents=True)
    hosts = tmp_path / "hosts"
    hosts.write_text("127.0.0.1 localhost\n")
    vol = tmp_path / "vol"
    vol.mkdir()
    spec = ProcessSpec(id="c", args=["sh"], env=[], lower_dirs=[str(tmp_path / "layer")],
                       upper_dir=str(tmp_path / "upper"), work_dir=str(tmp_path / "work"),
                       rootfs=str(rootfs), etc_files={"/etc/hosts": str(hosts)},
                       mounts=[Mount("bind", str(vol), "/data")], readonly_rootfs=readonly)
    fake = RecordingSys()
    monkeypatch.setattr(setup, "pivot", lambda sys_, r: sys_.pivot_root(r, r))
    setup.build_rootfs(fake, spec)
    return rootfs, fake


@pytest.mark.parametrize("readonly", [True, False])
def test_read_only_root_and_network_files(tmp_path, monkeypatch, readonly):
    rootfs, fake = mounts_of(tmp_path, monkeypatch, readonly)
    mounts = [args for n, args in fake.calls if n == "mount"]
    ro_remounts = {m[1] for m in mounts if m[3] & MS_REMOUNT and m[3] & MS_RDONLY}
    assert (str(rootfs / "etc" / "hosts") in ro_remounts) is readonly
    assert str(rootfs / "data") not in ro_remounts              # the volume stays rw
    last = mounts[-1]
    names = fake.names()
    if readonly:   # the very last step, after pivot_root, on "/" itself
        assert last[1] == "/" and last[3] & MS_BIND and last[3] & MS_RDONLY
        assert names.index("pivot_root") < len(names) - 1
    else:
        assert "/" not in ro_remounts
