"""Image owners for a rootless user: what the extractor records, how host ids
map back to container ids, and the chown walk that never follows a symlink."""

from __future__ import annotations

import io
import os
import tarfile

import pytest

from glassbox.images.layers import safe_extract
from glassbox.rootless.idmap import OVERFLOW_ID, plan
from glassbox.rootless.ownership import _chown_beneath

SUB = "alice:100000:65536\n"


def test_host_ids_map_back_to_the_containers():
    p = plan(1001, 1002, "alice", SUB, SUB, have_helpers=True)
    assert p.inside(1001) == 0 and p.inside(100000) == 1 and p.inside(100999) == 1000
    assert p.inside(1002, gids=True) == 0 and p.inside(1002) == OVERFLOW_ID
    assert p.inside(0) == OVERFLOW_ID and p.inside(165536) == OVERFLOW_ID


def _tar(members) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as t:
        for name, kind, uid, gid in members:
            ti = tarfile.TarInfo(name)
            ti.uid, ti.gid = uid, gid
            if kind == "dir":
                ti.type, ti.mode = tarfile.DIRTYPE, 0o755
                t.addfile(ti)
            elif kind == "sym":
                ti.type, ti.linkname = tarfile.SYMTYPE, "/etc"
                t.addfile(ti)
            else:
                ti.size = 2
                t.addfile(ti, io.BytesIO(b"hi"))
    return buf.getvalue()


def test_a_rootless_extract_records_the_owners_it_could_not_set(tmp_path, monkeypatch):
    data = _tar([("home", "dir", 0, 0), ("home/app", "dir", 1000, 1000),
                 ("home/app/f", "file", 1000, 50), ("etc", "dir", 0, 0),
                 ("link", "sym", 7, 7), ("root-file", "file", 0, 0)])
    monkeypatch.setattr(os, "geteuid", lambda: 1001)      # as an ordinary user
    report = safe_extract(io.BytesIO(data), tmp_path, same_owner=False, compression=None)
    assert sorted(report.owners) == [("home/app", 1000, 1000), ("home/app/f", 1000, 50),
                                     ("link", 7, 7)]


def test_root_records_nothing(tmp_path):
    if os.geteuid() != 0:
        pytest.skip("root's extract sets owners itself")
    data = _tar([("f", "file", 1000, 1000)])
    report = safe_extract(io.BytesIO(data), tmp_path, compression=None)
    assert report.owners == [] and os.stat(tmp_path / "f").st_uid == 1000


def test_chown_beneath_never_follows_a_symlink(tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "victim").write_text("x")
    layer = tmp_path / "layer"
    layer.mkdir()
    os.symlink(str(outside), layer / "a")           # a later member swapped a dir for a link
    fd = os.open(layer, os.O_RDONLY | os.O_DIRECTORY)
    try:
        with pytest.raises(OSError):
            _chown_beneath(fd, "a/victim", os.geteuid(), os.getegid())
        (layer / "f").write_text("y")
        _chown_beneath(fd, "f", os.geteuid(), os.getegid())    # a plain path works
        with pytest.raises(ValueError):
            _chown_beneath(fd, "../outside/victim", 0, 0)
    finally:
        os.close(fd)
