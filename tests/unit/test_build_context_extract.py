"""The build context tar goes through the one safe tar walker (issue 17).

``BuildContext.from_tar`` uses :mod:`glassbox.images.layers`' extractor with the
context's stricter rules; test_build_context.py checks the refusals, these
check what the shared walker brings and what the context keeps its own."""

from __future__ import annotations

import io
import os
import tarfile

import pytest

from glassbox.build import context as c
from glassbox.errors import BuildError
from glassbox.images import layers


def _tar(build) -> io.BytesIO:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tf:
        build(tf)
    return io.BytesIO(buf.getvalue())


def _add(tf, name, kind="file", data=b"", mode=0o644, **pax):
    ti = tarfile.TarInfo(name)
    ti.mode = mode
    if kind == "dir":
        ti.type = tarfile.DIRTYPE
    ti.size = len(data)
    ti.pax_headers = pax
    tf.addfile(ti, io.BytesIO(data) if data else None)


def test_a_directory_replaced_by_a_later_file_is_no_error(tmp_path):
    t = _tar(lambda tf: (_add(tf, "d", "dir", mode=0o755), _add(tf, "d", data=b"now a file")))
    with c.BuildContext.from_tar(t, tmp_dir=str(tmp_path)) as ctx:
        assert (ctx.root / "d").read_bytes() == b"now a file"


def test_modes_are_kept_as_sent_and_dirs_stay_readable_by_their_owner(tmp_path):
    def build(tf):
        _add(tf, "locked", "dir", mode=0o055)
        _add(tf, "locked/tool", data=b"#!/bin/sh\n", mode=0o4755)
    with c.BuildContext.from_tar(_tar(build), tmp_dir=str(tmp_path)) as ctx:
        assert (ctx.root / "locked").stat().st_mode & 0o777 == 0o755
        assert (ctx.root / "locked/tool").stat().st_mode & 0o7777 == 0o4755  # not stripped
    assert list(tmp_path.iterdir()) == []


def test_the_walkers_header_guard_refuses_a_huge_pax_header(tmp_path):
    big = "x" * (layers.MAX_HEADER_SIZE + 1)
    t = _tar(lambda tf: _add(tf, "f", data=b"1", comment=big))
    with pytest.raises(BuildError, match="refusing the build context tar: .*metadata header"):
        c.BuildContext.from_tar(t, tmp_dir=str(tmp_path))
    assert list(tmp_path.iterdir()) == []


def test_a_truncated_context_is_corrupt_and_an_empty_one_no_tar(tmp_path):
    whole = _tar(lambda tf: _add(tf, "big", data=os.urandom(4096))).getvalue()
    with pytest.raises(BuildError, match="build context tar is corrupt"):
        c.BuildContext.from_tar(io.BytesIO(whole[:2048]), tmp_dir=str(tmp_path))
    with pytest.raises(BuildError, match="not a valid tar archive"):
        c.BuildContext.from_tar(io.BytesIO(b""), tmp_dir=str(tmp_path))
    assert list(tmp_path.iterdir()) == []


def test_there_is_one_extractor():
    src = open(c.__file__).read()
    assert "tarfile.open(" not in src and "import tarfile" not in src
    assert "layers._Extractor" in src                # the walker the context builds on


@pytest.mark.parametrize("magic,said", [(b"\xfd7zXZ\x00", "Corrupt input data"),
                                        (b"BZh9", "Invalid data stream")])
def test_a_garbage_xz_or_bzip2_context_is_a_build_error_naming_the_data(tmp_path, magic, said):
    with pytest.raises(BuildError) as e:
        with c.BuildContext.from_tar(io.BytesIO(magic + b"garbage" * 20), tmp_dir=str(tmp_path)):
            pass
    assert "not a valid tar archive" in e.value.message and said in e.value.message
    assert os.listdir(tmp_path) == []          # nothing left of the half-made context
