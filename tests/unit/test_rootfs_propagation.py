"""Bind propagation in the rootfs sequence, checked with the recording fake: a slave
or shared bind makes the namespace rslave (not rprivate) and each bind gets its mode."""

from __future__ import annotations

from glassbox._sys.constants import MS_BIND, MS_PRIVATE, MS_REC, MS_SHARED, MS_SLAVE
from glassbox._sys.fake import RecordingSys
from glassbox.runtime.spec import Mount, ProcessSpec


def _build(tmp_path, monkeypatch, mounts):
    rootfs = tmp_path / "merged"
    (rootfs / "proc").mkdir(parents=True)
    for m in mounts:
        if m.type == "bind":
            (tmp_path / m.source).mkdir(exist_ok=True)
            m.source = str(tmp_path / m.source)
    spec = ProcessSpec(id="c", args=["sh"], env=[], lower_dirs=[str(tmp_path / "layer")],
                       upper_dir=str(tmp_path / "upper"), work_dir=str(tmp_path / "work"),
                       rootfs=str(rootfs), mounts=mounts, privileged=True)
    import glassbox.rootfs.setup as setup
    monkeypatch.setattr(setup, "pivot", lambda sys_, r: sys_.pivot_root(r, r))
    fake = RecordingSys()
    setup.build_rootfs(fake, spec)
    return rootfs, [args for n, args in fake.calls if n == "mount"]


def test_default_binds_keep_the_namespace_rprivate(tmp_path, monkeypatch):
    rootfs, mounts = _build(tmp_path, monkeypatch, [Mount("bind", "a", "/a")])
    assert mounts[0][1] == "/" and mounts[0][3] == MS_REC | MS_PRIVATE
    assert [m[3] for m in mounts if m[1] == str(rootfs / "a")] == [MS_BIND | MS_REC]


def test_a_slave_bind_makes_the_namespace_rslave_and_each_bind_gets_its_mode(tmp_path,
                                                                            monkeypatch):
    rootfs, mounts = _build(tmp_path, monkeypatch, [
        Mount("bind", "a", "/a", propagation="rslave"),
        Mount("bind", "b", "/b", propagation="rshared"),
        Mount("bind", "c", "/c")])
    assert mounts[0][1] == "/" and mounts[0][3] == MS_REC | MS_SLAVE
    modes = {t: [m[3] for m in mounts if m[1] == str(rootfs / t)] for t in ("a", "b", "c")}
    assert modes["a"] == [MS_BIND | MS_REC, MS_SLAVE | MS_REC]
    assert modes["b"] == [MS_BIND | MS_REC, MS_SHARED | MS_REC]
    assert modes["c"] == [MS_BIND | MS_REC, MS_PRIVATE | MS_REC]   # the default, explicitly
