"""A corpus of hostile layer tarballs: nothing may ever be written outside ``dest``.

Each tar is crafted here with :mod:`tarfile`. The sandbox is ``tmp_path``:
``dest`` is ``tmp_path/"dest"`` and ``tmp_path/"outside"`` holds bait files
(``passwd``) that a successful attack would overwrite or expose.
"""

import io
import os
import stat
import tarfile

import pytest

from glassbox.errors import InvalidArgument
from glassbox.images.layers import MAX_HEADER_SIZE, UnsafeTar, safe_extract


def _add(t, name, data=b"", type_=tarfile.REGTYPE, linkname="", mode=0o644, **kw):
    ti = tarfile.TarInfo(name)
    ti.type = type_
    ti.mode = mode
    ti.linkname = linkname
    for k, v in kw.items():
        setattr(ti, k, v)
    if type_ == tarfile.REGTYPE:
        ti.size = len(data)
        t.addfile(ti, io.BytesIO(data))
    else:
        t.addfile(ti)


def make_tar(entries, fmt=tarfile.PAX_FORMAT, compression=""):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w" + (":" + compression if compression else ""),
                      format=fmt) as t:
        for e in entries:
            _add(t, *e[:2], **e[2] if len(e) > 2 else {})
    return buf.getvalue()


@pytest.fixture
def sandbox(tmp_path):
    dest = tmp_path / "dest"
    dest.mkdir()
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "passwd").write_bytes(b"root:x:0:0\n")
    return tmp_path, dest, outside


def snapshot(path):
    """Every path under ``path`` with (type, mode, size, content-of-files)."""
    out = {}
    for dirpath, dirnames, filenames in os.walk(path):
        for n in dirnames + filenames:
            p = os.path.join(dirpath, n)
            st = os.lstat(p)
            body = open(p, "rb").read() if stat.S_ISREG(st.st_mode) else None
            out[os.path.relpath(p, path)] = (stat.S_IFMT(st.st_mode), st.st_mode & 0o7777, body)
    return out


def assert_contained(tmp_path, before_outside, outside):
    """Nothing new or changed outside dest."""
    assert snapshot(outside) == before_outside
    assert sorted(os.listdir(tmp_path)) == ["dest", "outside"]


def extract(data, dest, **kw):
    kw.setdefault("whiteouts", "keep")
    kw.setdefault("same_owner", False)
    return safe_extract(io.BytesIO(data), dest, **kw)


def test_absolute_paths_are_rooted_at_the_layer(sandbox):
    tmp_path, dest, outside = sandbox
    before = snapshot(outside)
    rep = extract(make_tar([("/etc/x", b"abs"), ("./ok", b"fine")]), dest)
    assert_contained(tmp_path, before, outside)
    assert (dest / "etc" / "x").read_bytes() == b"abs"      # /etc/x -> dest/etc/x
    assert (dest / "ok").read_bytes() == b"fine"
    assert rep.warnings == []


@pytest.mark.parametrize("name", ["../outside/passwd", "../../x", "a/../../outside/passwd",
                                  "/../outside/passwd", "ok/.."])
def test_a_dotdot_member_refuses_the_whole_layer(sandbox, name):
    """As Docker does ("breakout"): a '..' is an attempt, not a packing accident."""
    tmp_path, dest, outside = sandbox
    before = snapshot(outside)
    with pytest.raises(InvalidArgument, match=r"layer refused: member .* '\.\.' component"):
        extract(make_tar([("ok", b"fine"), (name, b"pwned")]), dest)
    assert_contained(tmp_path, before, outside)


def test_symlink_to_root_then_write_through_it(sandbox):
    tmp_path, dest, outside = sandbox
    before = snapshot(outside)
    data = make_tar([
        ("a", b"", {"type_": tarfile.SYMTYPE, "linkname": "/"}),
        (f"a{outside}/passwd", b"pwned"),
        ("a/etc/x", b"pwned"),
        ("o", b"", {"type_": tarfile.SYMTYPE, "linkname": str(outside)}),
        ("o/passwd", b"pwned"),
        ("o/new", b"pwned"),
    ])
    rep = extract(data, dest)
    assert_contained(tmp_path, before, outside)
    assert os.readlink(dest / "a") == "/"  # the symlink itself is fine inside a rootfs
    assert sorted(os.listdir(dest)) == ["a", "o"]
    assert sum("symlink" in w for w in rep.warnings) == 4


def test_relative_symlink_escape(sandbox):
    tmp_path, dest, outside = sandbox
    before = snapshot(outside)
    data = make_tar([
        ("link", b"", {"type_": tarfile.SYMTYPE, "linkname": ".."}),
        ("link/outside/passwd", b"pwned"),
        ("link/x", b"pwned"),
        ("d/up", b"", {"type_": tarfile.SYMTYPE, "linkname": "../../outside"}),
        ("d/up/passwd", b"pwned"),
    ])
    extract(data, dest)
    assert_contained(tmp_path, before, outside)
    assert os.readlink(dest / "link") == ".."


def test_symlink_replaced_dir_then_write(sandbox):
    """A dir first, then the same name as a symlink, then a file beneath it."""
    tmp_path, dest, outside = sandbox
    before = snapshot(outside)
    data = make_tar([
        ("d", b"", {"type_": tarfile.DIRTYPE, "mode": 0o755}),
        ("d/f", b"inside"),
        ("d", b"", {"type_": tarfile.SYMTYPE, "linkname": str(outside)}),
        ("d/passwd", b"pwned"),
    ])
    extract(data, dest)
    assert_contained(tmp_path, before, outside)
    assert os.path.islink(dest / "d")


def test_hardlink_escapes(sandbox):
    tmp_path, dest, outside = sandbox
    before = snapshot(outside)
    target = str(outside / "passwd")
    data = make_tar([
        ("h1", b"", {"type_": tarfile.LNKTYPE, "linkname": target}),
        ("h2", b"", {"type_": tarfile.LNKTYPE, "linkname": "/etc/passwd"}),
        ("s", b"", {"type_": tarfile.SYMTYPE, "linkname": str(outside)}),
        ("h4", b"", {"type_": tarfile.LNKTYPE, "linkname": "s/passwd"}),
        ("ps", b"", {"type_": tarfile.SYMTYPE, "linkname": target}),
        ("h5", b"", {"type_": tarfile.LNKTYPE, "linkname": "ps"}),  # link to the symlink itself
    ])
    rep = extract(data, dest)
    assert_contained(tmp_path, before, outside)
    for h in ("h1", "h2", "h4"):
        assert not os.path.lexists(dest / h)
    # a hardlink to a symlink is a second symlink inode name: still only a symlink
    assert os.path.islink(dest / "h5") and os.readlink(dest / "h5") == target
    assert (outside / "passwd").read_bytes() == b"root:x:0:0\n"
    assert os.stat(outside / "passwd").st_nlink == 1
    assert len(rep.warnings) == 3


def test_hardlink_then_write_through_it_stays_inside(sandbox):
    tmp_path, dest, outside = sandbox
    data = make_tar([
        ("a", b"one"),
        ("b", b"", {"type_": tarfile.LNKTYPE, "linkname": "a"}),
        ("a", b"two"),  # a new 'a' replaces the name, b keeps the old inode
    ])
    extract(data, dest)
    assert (dest / "b").read_bytes() == b"one"
    assert (dest / "a").read_bytes() == b"two"


def test_device_nodes_skipped(sandbox):
    tmp_path, dest, outside = sandbox
    data = make_tar([
        ("dev/sda", b"", {"type_": tarfile.BLKTYPE, "devmajor": 8, "devminor": 0}),
        ("dev/mem", b"", {"type_": tarfile.CHRTYPE, "devmajor": 1, "devminor": 1}),
        ("dev/null0", b"", {"type_": tarfile.CHRTYPE, "devmajor": 0, "devminor": 0}),
        ("fifo", b"", {"type_": tarfile.FIFOTYPE, "mode": 0o600}),
    ])
    rep = extract(data, dest)
    assert os.listdir(dest / "dev") == []
    assert stat.S_ISFIFO(os.lstat(dest / "fifo").st_mode)
    assert sum("device node" in w for w in rep.warnings) == 3


def test_setuid_setgid_stripped_sticky_kept(sandbox):
    tmp_path, dest, outside = sandbox
    data = make_tar([
        ("bin/su", b"\x7fELF", {"mode": 0o4755}),
        ("bin/wall", b"\x7fELF", {"mode": 0o2755}),
        ("tmp", b"", {"type_": tarfile.DIRTYPE, "mode": 0o1777}),
    ])
    rep = extract(data, dest)
    assert stat.S_IMODE(os.stat(dest / "bin/su").st_mode) == 0o755
    assert stat.S_IMODE(os.stat(dest / "bin/wall").st_mode) == 0o755
    assert stat.S_IMODE(os.stat(dest / "tmp").st_mode) == 0o1777
    assert sum("setuid" in w for w in rep.warnings) == 2


def test_huge_pax_header_refused(sandbox):
    tmp_path, dest, outside = sandbox
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as t:
        ti = tarfile.TarInfo("big")
        ti.pax_headers = {"comment": "x" * (MAX_HEADER_SIZE + 10)}
        t.addfile(ti, io.BytesIO(b""))
    with pytest.raises(UnsafeTar, match="header"):
        extract(buf.getvalue(), dest)


def test_huge_gnu_longname_refused(sandbox):
    tmp_path, dest, outside = sandbox
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.GNU_FORMAT) as t:
        ti = tarfile.TarInfo("d/" * (MAX_HEADER_SIZE // 2 + 10) + "f")
        t.addfile(ti, io.BytesIO(b""))
    with pytest.raises(UnsafeTar):
        extract(buf.getvalue(), dest)


def test_forged_pax_size_header_claims_more_than_exists(sandbox):
    tmp_path, dest, outside = sandbox
    before = snapshot(outside)
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.USTAR_FORMAT) as t:
        ti = tarfile.TarInfo("f")
        ti.size = 3
        t.addfile(ti, io.BytesIO(b"abc"))
    raw = bytearray(buf.getvalue())
    raw[124:136] = b"%011o\0" % (10 ** 9)  # size field: 1 GB, but only 3 bytes follow
    # fix the header checksum so the forged header is "valid"
    raw[148:156] = b" " * 8
    raw[148:156] = b"%06o\0 " % sum(raw[:512])
    from glassbox.errors import InvalidArgument
    with pytest.raises(InvalidArgument):
        extract(bytes(raw), dest)
    assert_contained(tmp_path, before, outside)


def test_not_a_tar(sandbox):
    tmp_path, dest, outside = sandbox
    from glassbox.errors import InvalidArgument
    with pytest.raises(InvalidArgument):
        extract(b"this is not a tar archive" * 40, dest)


def test_whiteouts_kept_as_files_in_keep_mode(sandbox):
    tmp_path, dest, outside = sandbox
    data = make_tar([("etc/.wh.passwd", b""), ("var/.wh..wh..opq", b"")])
    extract(data, dest, whiteouts="keep")
    assert (dest / "etc/.wh.passwd").exists() and (dest / "var/.wh..wh..opq").exists()


def test_whiteout_cannot_escape(sandbox):
    tmp_path, dest, outside = sandbox
    before = snapshot(outside)
    data = make_tar([
        ("l", b"", {"type_": tarfile.SYMTYPE, "linkname": str(outside)}),
        ("l/.wh.passwd", b""),
        ("l/.wh..wh..opq", b""),
    ])
    extract(data, dest, whiteouts="overlay")
    assert_contained(tmp_path, before, outside)
    with pytest.raises(InvalidArgument, match="layer refused"):
        extract(make_tar([("../outside/.wh.passwd", b"")]), dest, whiteouts="overlay")
    assert_contained(tmp_path, before, outside)


def test_a_dotdot_hardlink_target_refuses_the_whole_layer(sandbox):
    tmp_path, dest, outside = sandbox
    before = snapshot(outside)
    data = make_tar([("h3", b"", {"type_": tarfile.LNKTYPE,
                                  "linkname": "../outside/passwd"})])
    with pytest.raises(InvalidArgument, match=r"layer refused: hardlink 'h3'"):
        extract(data, dest)
    assert_contained(tmp_path, before, outside)


def test_metadata_preserved(sandbox):
    tmp_path, dest, outside = sandbox
    data = make_tar([
        ("d", b"", {"type_": tarfile.DIRTYPE, "mode": 0o750, "mtime": 1_000_000}),
        ("d/f", b"data", {"mode": 0o640, "mtime": 1_234_567}),
        ("d/s", b"", {"type_": tarfile.SYMTYPE, "linkname": "f", "mtime": 1_111_111}),
        ("d/h", b"", {"type_": tarfile.LNKTYPE, "linkname": "d/f"}),
    ])
    rep = extract(data, dest)
    assert stat.S_IMODE(os.stat(dest / "d").st_mode) == 0o750
    assert os.stat(dest / "d").st_mtime == 1_000_000  # set after its children were written
    assert os.stat(dest / "d/f").st_mtime == 1_234_567
    assert os.lstat(dest / "d/s").st_mtime == 1_111_111
    assert os.stat(dest / "d/f").st_ino == os.stat(dest / "d/h").st_ino
    assert stat.S_IMODE(os.stat(dest / "d/f").st_mode) == 0o640
    assert rep.size == 4 and rep.warnings == []


def test_user_xattr_kept_overlay_xattr_refused(sandbox):
    tmp_path, dest, outside = sandbox
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as t:
        ti = tarfile.TarInfo("f")
        ti.pax_headers = {"SCHILY.xattr.user.note": "hi",
                          "SCHILY.xattr.trusted.overlay.redirect": "/etc"}
        t.addfile(ti, io.BytesIO(b""))
    rep = extract(buf.getvalue(), dest)
    try:
        assert os.getxattr(dest / "f", "user.note") == b"hi"
    except OSError:
        pytest.skip("filesystem without user xattrs")
    assert "trusted.overlay.redirect" not in os.listxattr(dest / "f")
    assert any("trusted.overlay.redirect" in w for w in rep.warnings)


@pytest.mark.parametrize("compression", ["", "gz", "xz"])
def test_compressed_inputs(sandbox, compression):
    tmp_path, dest, outside = sandbox
    data = make_tar([("f", b"hello")], compression=compression)
    extract(data, dest)
    assert (dest / "f").read_bytes() == b"hello"


def test_zstd_input_from_a_pipe(sandbox):
    import zstandard
    tmp_path, dest, outside = sandbox
    data = zstandard.ZstdCompressor().compress(make_tar([("z/f", b"zstd!")]))
    r, w = os.pipe()
    os.write(w, data)
    os.close(w)
    with os.fdopen(r, "rb", buffering=0) as f:
        safe_extract(f, dest, whiteouts="keep", same_owner=False)
    assert (dest / "z/f").read_bytes() == b"zstd!"


def test_file_replacing_dir_and_dir_replacing_file(sandbox):
    tmp_path, dest, outside = sandbox
    data = make_tar([
        ("x/inner", b"1"),
        ("x", b"now a file"),
        ("y", b"file"),
        ("y", b"", {"type_": tarfile.DIRTYPE}),
        ("y/z", b"2"),
    ])
    extract(data, dest)
    assert (dest / "x").read_bytes() == b"now a file"
    assert (dest / "y/z").read_bytes() == b"2"


def test_many_directories_fd_cache(sandbox):
    """More directories than the fd cache holds: all written, no fd leak."""
    tmp_path, dest, outside = sandbox
    entries = [(f"d{i}/sub/f", b"x") for i in range(300)]
    entries += [(f"d{i}/sub/g", b"y") for i in range(300)]
    before = len(os.listdir("/proc/self/fd"))
    extract(make_tar(entries), dest)
    assert len(os.listdir("/proc/self/fd")) == before
    assert (dest / "d299/sub/g").read_bytes() == b"y"
    assert (dest / "d0/sub/f").read_bytes() == b"x"


def test_tar_without_end_blocks_is_accepted_truncated_data_is_not(sandbox):
    """umoci writes layers that stop right after the last file's data (no padding)."""
    tmp_path, dest, outside = sandbox
    full = make_tar([("h.txt", b"hi\n")], fmt=tarfile.USTAR_FORMAT)
    rep = extract(full[:512 + 3], dest)
    assert (dest / "h.txt").read_bytes() == b"hi\n"
    assert any("end-of-archive" in w for w in rep.warnings)
    from glassbox.errors import InvalidArgument
    dest2 = tmp_path / "dest2"
    dest2.mkdir()
    with pytest.raises(InvalidArgument):
        extract(full[:512 + 2], dest2)
