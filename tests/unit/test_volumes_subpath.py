"""``volume-subpath``: the text checks, the parse, and the fd walk on a tmp tree."""

from __future__ import annotations

import os

import pytest

from glassbox.errors import InvalidArgument, NotFound
from glassbox.volumes.specs import parse_mount_spec
from glassbox.volumes.subpath import check_subpath, open_beneath


def test_check_subpath():
    assert check_subpath("logs/./web/") == ["logs", "web"]
    for bad, words in (("", "relative path"), ("/etc", "relative path"),
                       ("a/../../b", "'..' is not allowed"), (".", "names the volume itself")):
        with pytest.raises(InvalidArgument, match=words):
            check_subpath(bad)


def test_parse_mount_spec_takes_volume_subpath_for_named_volumes_only():
    vs = parse_mount_spec("type=volume,src=data,dst=/w,volume-subpath=logs/web")
    assert vs.subpath == "logs/web" and vs.source == "data"
    with pytest.raises(InvalidArgument, match="needs a named volume"):
        parse_mount_spec("type=volume,dst=/w,volume-subpath=logs")
    with pytest.raises(InvalidArgument, match="cannot mix 'volume-\\*' options"):
        parse_mount_spec("type=bind,src=/tmp,dst=/w,volume-subpath=logs")
    with pytest.raises(InvalidArgument, match="'..' is not allowed"):
        parse_mount_spec("type=volume,src=data,dst=/w,volume-subpath=../x")


def test_open_beneath_walks_without_following_links(tmp_path):
    vol = tmp_path / "vol"
    (vol / "a" / "b").mkdir(parents=True)
    (vol / "a" / "file").write_text("x")
    os.symlink("/", vol / "root")
    os.symlink("a", vol / "alias")
    fd = open_beneath(str(vol), "a/b")
    try:
        assert os.path.samestat(os.fstat(fd), os.stat(vol / "a" / "b"))
    finally:
        os.close(fd)
    fd = open_beneath(str(vol), "a/file")          # a file at the end is fine
    os.close(fd)
    for sub, err, words in (("root", InvalidArgument, "symbolic link"),
                            ("alias/b", InvalidArgument, "symbolic link"),
                            ("a/file/x", InvalidArgument, "not a directory"),
                            ("a/none", NotFound, "does not exist")):
        with pytest.raises(err, match=words) as ei:
            open_beneath(str(vol), sub)
        assert repr(sub) in str(ei.value)
