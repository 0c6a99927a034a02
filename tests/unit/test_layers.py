"""Layer tars: deterministic writing, whiteout translation, gzip/zstd reading."""

import gzip
import hashlib
import io
import os
import stat
import tarfile

import pytest

from glassbox.errors import InvalidArgument
from glassbox.images import compression as Cz
from glassbox.images import layers as L
from glassbox.images import streams as St


def make_upper(root):
    (root / "etc").mkdir(parents=True)
    (root / "etc" / "hosts").write_text("127.0.0.1 localhost\n")
    (root / "bin").mkdir()
    (root / "bin" / "tool").write_bytes(b"\x7fELF" + b"\0" * 100)
    os.chmod(root / "bin" / "tool", 0o755)
    os.symlink("tool", root / "bin" / "alias")
    os.link(root / "bin" / "tool", root / "bin" / "tool2")
    (root / "empty").mkdir()
    for p in [root / "etc" / "hosts", root / "bin" / "tool", root / "bin" / "alias", root / "etc",
              root / "bin", root / "empty"]:
        os.utime(p, (1_600_000_000, 1_600_000_000), follow_symlinks=False)
    return root


def names(tar_bytes):
    with tarfile.open(fileobj=io.BytesIO(tar_bytes)) as t:
        return [(m.name, m.type) for m in t]


def test_whiteout_name_helpers():
    assert L.whiteout_name("etc/passwd") == "etc/.wh.passwd"
    assert L.whiteout_name("top") == ".wh.top"
    assert L.opaque_marker("var/cache") == "var/cache/.wh..wh..opq"
    assert L.opaque_marker("") == ".wh..wh..opq"
    assert L.whited_out("etc/.wh.passwd") == "etc/passwd"
    assert L.whited_out(".wh.top") == "top"
    assert L.whited_out("etc/.wh..wh..opq") is None
    assert L.whited_out("etc/passwd") is None
    assert L.is_opaque_marker("a/.wh..wh..opq") and not L.is_opaque_marker("a/.wh.x")


def test_clean_member_name():
    assert L.clean_member_name("./a/b/") == ("a", "b")
    assert L.clean_member_name("/etc//x") == ("etc", "x")
    assert L.clean_member_name(".") == ()
    with pytest.raises(ValueError):
        L.clean_member_name("a/../b")


def test_layer_tar_is_deterministic(tmp_path):
    up = make_upper(tmp_path / "up")
    a, b = L.tar_to_bytes(up), L.tar_to_bytes(up)
    assert a == b
    # same tree built again elsewhere (other inode numbers, other order of creation)
    up2 = make_upper(tmp_path / "up2")
    assert L.tar_to_bytes(up2) == a
    # gzip'd blobs are identical too: the gzip header carries no mtime or name
    outs = []
    for _ in range(2):
        buf = io.BytesIO()
        w = Cz.LayerWriter(buf)
        L.write_layer_tar(up, w)
        w.finish()
        outs.append((w.digest, w.diff_id, buf.getvalue()))
    assert outs[0] == outs[1]
    assert outs[0][1] == "sha256:" + hashlib.sha256(a).hexdigest()
    assert outs[0][0] == "sha256:" + hashlib.sha256(outs[0][2]).hexdigest()
    assert gzip.decompress(outs[0][2]) == a
    assert outs[0][2][4:8] == b"\0\0\0\0"  # gzip MTIME field


def test_layer_tar_content(tmp_path):
    up = make_upper(tmp_path / "up")
    data = L.tar_to_bytes(up)
    ns = names(data)
    assert [n for n, _ in ns] == ["bin", "bin/alias", "bin/tool", "bin/tool2", "empty", "etc",
                                  "etc/hosts"]
    d = dict(ns)
    assert d["bin/alias"] == tarfile.SYMTYPE
    assert d["bin/tool"] == tarfile.REGTYPE and d["bin/tool2"] == tarfile.LNKTYPE
    assert d["empty"] == tarfile.DIRTYPE
    with tarfile.open(fileobj=io.BytesIO(data)) as t:
        for m in t:
            assert m.uname == "" and m.gname == ""
            assert not m.name.startswith(("/", "./"))
        assert t.getmember("bin/tool").mode == 0o755
        assert t.getmember("bin/tool2").linkname == "bin/tool"
        assert t.getmember("etc/hosts").mtime == 1_600_000_000


def test_changing_a_file_changes_the_digest(tmp_path):
    up = make_upper(tmp_path / "up")
    a = L.tar_to_bytes(up)
    (up / "etc" / "hosts").write_text("changed\n")
    os.utime(up / "etc" / "hosts", (1_600_000_000, 1_600_000_000))
    assert L.tar_to_bytes(up) != a


def test_oci_whiteouts_roundtrip_in_keep_mode(tmp_path):
    """Without root, .wh. files are plain files both ways (no translation needed)."""
    src = tmp_path / "src"
    (src / "etc").mkdir(parents=True)
    (src / "etc" / ".wh.passwd").write_bytes(b"")
    data = L.tar_to_bytes(src, translate_whiteouts=False)
    assert "etc/.wh.passwd" in dict(names(data))
    dest = tmp_path / "dest"
    dest.mkdir()
    L.safe_extract(io.BytesIO(data), dest, whiteouts="keep", same_owner=False)
    assert (dest / "etc" / ".wh.passwd").is_file()


needs_root = pytest.mark.skipif(os.geteuid() != 0, reason="overlay whiteouts need CAP_MKNOD and trusted xattrs")


@needs_root
def test_overlay_to_oci_and_back(tmp_path):
    up = tmp_path / "upper"
    (up / "etc").mkdir(parents=True)
    os.mknod(up / "etc" / "passwd", stat.S_IFCHR | 0o000, os.makedev(0, 0))
    (up / "var").mkdir()
    os.setxattr(up / "var", "trusted.overlay.opaque", b"y")
    (up / "var" / "new").write_text("n")
    data = L.tar_to_bytes(up)
    d = dict(names(data))
    assert d["etc/.wh.passwd"] == tarfile.REGTYPE
    assert d["var/.wh..wh..opq"] == tarfile.REGTYPE
    assert "etc/passwd" not in d
    # and back: OCI whiteouts become overlay markers again
    dest = tmp_path / "layer"
    dest.mkdir()
    rep = L.safe_extract(io.BytesIO(data), dest, whiteouts="overlay")
    st = os.lstat(dest / "etc" / "passwd")
    assert stat.S_ISCHR(st.st_mode) and st.st_rdev == 0
    assert os.getxattr(dest / "var", "trusted.overlay.opaque") == b"y"
    assert not (dest / "var" / ".wh..wh..opq").exists()
    assert (dest / "var" / "new").read_text() == "n"
    assert rep.whiteouts == 1 and rep.opaque_dirs == 1
    # the re-created layer dir gives the very same tar: a lossless round trip
    assert L.tar_to_bytes(dest) == data


def test_sniff_compression():
    assert Cz.sniff_compression(b"\x1f\x8b\x08") == "gzip"
    assert Cz.sniff_compression(b"\x28\xb5\x2f\xfd") == "zstd"
    assert Cz.sniff_compression(b"\xfd7zXZ\x00") == "xz"
    assert Cz.sniff_compression(b"BZh9") == "bzip2"
    assert Cz.sniff_compression(b"usta") is None


def test_multi_member_gzip_and_trailing_zeros():
    part1, part2 = gzip.compress(b"hello "), gzip.compress(b"world")
    r = Cz.open_decompressed(io.BytesIO(part1 + part2 + b"\0" * 512))
    assert r.read() == b"hello world"


def test_truncated_gzip_is_an_error():
    from glassbox.errors import InvalidArgument
    data = gzip.compress(os.urandom(5000))[:-100]
    with pytest.raises(InvalidArgument, match="truncated"):
        Cz.open_decompressed(io.BytesIO(data)).read()


def test_open_beneath_refuses_symlinks_and_dotdot(tmp_path):
    from glassbox.errors import InvalidArgument
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "f").write_text("x")
    os.symlink("/etc", tmp_path / "l")
    os.symlink("/etc/hostname", tmp_path / "a" / "lf")
    fd = L.open_beneath(tmp_path, "a/f")
    assert os.read(fd, 10) == b"x"
    os.close(fd)
    for bad in ("l/hostname", "a/lf", "../x", "a", "missing"):
        with pytest.raises(InvalidArgument):
            L.open_beneath(tmp_path, bad)


def test_parallel_gzip_is_valid_and_deterministic(tmp_path):
    """Several 1 MiB pieces compressed in threads still make one deterministic gzip stream."""
    up = tmp_path / "up"
    up.mkdir()
    (up / "rand").write_bytes(os.urandom(2_500_000))
    (up / "text").write_bytes(b"abc" * 1_000_000)
    blobs = []
    for _ in range(2):
        buf = io.BytesIO()
        w = Cz.LayerWriter(buf)
        L.write_layer_tar(up, w)
        w.finish()
        blobs.append(buf.getvalue())
    assert blobs[0] == blobs[1]
    assert gzip.decompress(blobs[0]) == L.tar_to_bytes(up)
    assert Cz.open_decompressed(io.BytesIO(blobs[0])).read() == L.tar_to_bytes(up)


# --------------------------------------------------------------------------- fast paths

class _Trickle(io.RawIOBase):
    """A pipe-like source: short reads of odd sizes, no seek, no readinto."""

    def __init__(self, data, step=777):
        self.data, self.pos, self.step = data, 0, step

    def readable(self):
        return True

    def seekable(self):
        return False

    def read(self, n=-1):
        n = self.step if n is None or n < 0 else min(n, self.step)
        out = self.data[self.pos:self.pos + n]
        self.pos += len(out)
        return out


def _big_tar():
    import hashlib
    buf = io.BytesIO()
    files = {"d/f%d" % i: os.urandom(i * 1000 + 1) for i in range(5)}
    files["d/big"] = os.urandom(St.CHUNK * 2 + 3)
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as t:
        for name, data in files.items():
            ti = tarfile.TarInfo(name)
            ti.size = len(data)
            t.addfile(ti, io.BytesIO(data))
    data = buf.getvalue()
    return data, files, "sha256:" + hashlib.sha256(data).hexdigest()


@pytest.mark.parametrize("source", ["bytesio", "trickle", "gzip"])
def test_safe_extract_hashes_the_tar_on_any_source(tmp_path, source):
    import gzip
    data, files, diff_id = _big_tar()
    if source == "bytesio":
        stream, comp = io.BytesIO(data), None
    elif source == "trickle":
        stream, comp = _Trickle(data), None
    else:
        stream, comp = io.BytesIO(gzip.compress(data)), "auto"
    rep = L.safe_extract(stream, tmp_path, whiteouts="keep", same_owner=False,
                         compression=comp, hash_tar=True)
    assert rep.tar_digest == diff_id and rep.tar_size == len(data)
    for name, content in files.items():
        assert (tmp_path / name).read_bytes() == content


def test_tarstream_seeks_forward_only():
    ts = St.TarStream(_Trickle(bytes(range(256)) * 10))
    assert ts.read(10) == bytes(range(10))
    ts.seek(5)                       # back within what is still buffered
    assert ts.read(3) == bytes([5, 6, 7])
    ts.seek(1000)
    assert ts.tell() == 1000 and ts.read(2) == bytes([1000 % 256, 1001 % 256])
    ts.drain()
    assert ts.count == 2560 and ts.read(1) == b""


def test_truncated_member_data_is_a_corrupt_tar(tmp_path):
    data, _, _ = _big_tar()
    with pytest.raises(InvalidArgument, match="corrupt layer tar"):
        L.safe_extract(io.BytesIO(data[:St.CHUNK]), tmp_path, whiteouts="keep", same_owner=False)


def test_layer_writer_stores_incompressible_pieces():
    import gzip
    rnd = os.urandom(Cz.LayerWriter.PIECE + 5000)
    text = b"glassbox " * 200000
    for data in (rnd, text, rnd + text, b""):
        out = io.BytesIO()
        w = Cz.LayerWriter(out)
        w.write(data)
        w.finish()
        blob = out.getvalue()
        assert gzip.decompress(blob) == data
        assert Cz.open_decompressed(io.BytesIO(blob)).read() == data
        assert len(blob) <= len(data) + len(data) // 10000 + 64   # stored: a few bytes bigger
        again = io.BytesIO()
        w2 = Cz.LayerWriter(again)
        w2.write(data)
        w2.finish()
        assert again.getvalue() == blob                           # still deterministic
    out = io.BytesIO()
    w = Cz.LayerWriter(out)
    w.write(rnd)
    w.finish()
    assert out.getvalue()[10] & 0b110 == 0   # the first deflate block is a stored one
