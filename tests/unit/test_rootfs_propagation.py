"""Bind propagation in the rootfs sequence, checked with the recording fake: a slave
or shared bind makes the namespace rslave (not rprivate) and each bind gets its mode;
an rshared bind's source is cloned *before* the rslave (so the copy stays the host's
peer) and attached with move_mount."""

from __future__ import annotations

import os

import pytest

from glassbox._sys.constants import (AT_RECURSIVE, MS_BIND, MS_PRIVATE, MS_REC, MS_SHARED,
                                     MS_SLAVE, OPEN_TREE_CLOEXEC, OPEN_TREE_CLONE)
from glassbox._sys.fake import RecordingSys
from glassbox.runtime.spec import Mount, ProcessSpec


CHECKED: list[tuple[str, str]] = []


def _build(tmp_path, monkeypatch, mounts, fake=None):
    rootfs = tmp_path / "merged"
    (rootfs / "proc").mkdir(parents=True)
    for m in mounts:
        if m.type == "bind":
            (tmp_path / m.source).mkdir(exist_ok=True)
            m.source = str(tmp_path / m.source)
    spec = ProcessSpec(id="c", args=["sh"], env=[], lower_dirs=[str(tmp_path / "layer")],
                       upper_dir=str(tmp_path / "upper"), work_dir=str(tmp_path / "work"),
                       rootfs=str(rootfs), mounts=mounts, privileged=True)
    import glassbox.rootfs.propagation as propagation
    import glassbox.rootfs.setup as setup
    monkeypatch.setattr(setup, "pivot", lambda sys_, r: sys_.pivot_root(r, r))
    # the start-time source check reads the host's mountinfo: recorded here instead
    monkeypatch.setattr(propagation, "check_source",
                        lambda src, mode: CHECKED.append((os.path.basename(src), mode)))
    fake = fake or RecordingSys()
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
    assert modes["b"] == [MS_SHARED | MS_REC]     # attached by move_mount, not bound
    assert modes["c"] == [MS_BIND | MS_REC, MS_PRIVATE | MS_REC]   # the default, explicitly


def test_an_rshared_source_is_cloned_before_the_namespace_is_made_rslave(tmp_path,
                                                                       monkeypatch):
    fake = RecordingSys()
    CHECKED.clear()
    rootfs, _ = _build(tmp_path, monkeypatch, [
        Mount("bind", "b", "/b", propagation="rshared"),
        Mount("bind", "s", "/s", propagation="shared", readonly=True)], fake)
    calls = fake.calls
    clones = [i for i, (n, _) in enumerate(calls) if n == "open_tree"]
    rslave = next(i for i, (n, a) in enumerate(calls) if n == "mount" and a[1] == "/")
    assert len(clones) == 2 and max(clones) < rslave          # first of all
    flags = OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_RECURSIVE
    assert [calls[i][1] for i in clones] == [(str(tmp_path / "b"), flags),
                                             (str(tmp_path / "s"), flags)]
    moves = [a[1] for n, a in calls if n == "move_mount"]
    assert moves == [str(rootfs / "b"), str(rootfs / "s")]
    overlay = next(i for i, (n, a) in enumerate(calls) if n == "mount" and a[2] == "overlay")
    assert min(i for i, (n, _) in enumerate(calls) if n == "move_mount") > overlay
    assert CHECKED == [("b", "rshared"), ("s", "shared")]    # checked again at start


MOUNTINFO = """\
22 1 254:0 / / rw,relatime shared:1 - ext4 /dev/vda rw
40 22 0:40 / /srv/shared rw shared:7 - tmpfs t rw
41 22 0:41 / /srv/slave rw master:7 - tmpfs t rw
42 22 0:42 / /srv/private rw - tmpfs t rw
43 42 0:43 / /srv/private/up rw shared:9 master:3 - tmpfs t rw
"""


@pytest.mark.parametrize("source,mode,error", [
    ("/srv/shared/a", "rshared", None),
    ("/srv/slave/a", "rslave", None),
    ("/srv/shared", "slave", None),
    ("/srv/private/up/x", "rshared", None),
    ("/srv/slave/a", "rshared", "path /srv/slave/a is mounted on /srv/slave but it is not a "
                                "shared mount"),
    ("/srv/private/a", "shared", "path /srv/private/a is mounted on /srv/private but it is "
                                 "not a shared mount"),
    ("/srv/private", "rslave", "path /srv/private is mounted on /srv/private but it is not a "
                               "shared or slave mount"),
    ("/srv/private", "", None), ("/srv/private", "rprivate", None),
])
def test_the_source_check_says_what_docker_says(tmp_path, source, mode, error):
    from glassbox.errors import InvalidArgument
    from glassbox.rootfs.propagation import check_source
    info = tmp_path / "mountinfo"
    info.write_text(MOUNTINFO)
    if error is None:
        check_source(source, mode, str(info))
    else:
        with pytest.raises(InvalidArgument) as e:
            check_source(source, mode, str(info))
        assert str(e.value) == error


def test_a_failed_build_closes_the_clones_it_did_not_attach(tmp_path, monkeypatch):
    """The detached copies go with their fds: a build that fails first closes them."""
    import errno

    from glassbox.errors import KernelError
    opened: list[int] = []

    class Failing(RecordingSys):
        def __getattr__(self, name):
            call = super().__getattr__(name)
            if name != "open_tree":
                return call
            def record(*args):
                opened.append(call(*args))
                return opened[-1]
            return record

    fake = Failing(fail_on={"move_mount": errno.EINVAL})
    with pytest.raises(KernelError):
        _build(tmp_path, monkeypatch, [Mount("bind", "a", "/a", propagation="rshared"),
                                       Mount("bind", "b", "/b", propagation="rshared")], fake)
    assert len(opened) == 2
    for fd in opened:
        with pytest.raises(OSError):
            os.fstat(fd)
