"""containers.archive without a container: Docker's path rules, the stat document,
and the in-root walk on a temporary tree with hostile symlinks."""

from __future__ import annotations

import io
import os
import stat
import tarfile

import pytest

from glassbox.containers import archive as A
from glassbox.errors import InvalidArgument, NotFound


@pytest.mark.parametrize("path,want", [
    ("etc", "/etc"), ("/etc/", "/etc/"), ("/etc/.", "/etc/."), ("/a/../b", "/b"),
    ("//x//y", "/x/y"), ("/", "/"), ("/../..", "/"), ("/x/./", "/x/"),
])
def test_abs_path_keeps_trailing_separator_and_dot(path, want):
    assert A.abs_path(path) == want


@pytest.mark.parametrize("bad", ["", "a\0b"])
def test_abs_path_refuses_empty_and_nul(bad):
    with pytest.raises(InvalidArgument):
        A.abs_path(bad)


@pytest.mark.parametrize("path,follows,top", [
    ("/etc/hosts", False, "hosts"), ("/etc/", True, "etc"), ("/etc/.", True, "."),
    ("/", True, "."), ("/data/link", False, "link"),
])
def test_follow_and_rebase_rules(path, follows, top):
    assert A.follows_last(path) is follows or path == "/"
    assert A.rebase_name(path) == top


def test_go_file_mode_bits():
    assert A.go_file_mode(stat.S_IFDIR | 0o755) == (1 << 31) | 0o755
    assert A.go_file_mode(stat.S_IFLNK | 0o777) == (1 << 27) | 0o777
    assert A.go_file_mode(stat.S_IFREG | 0o4755) == (1 << 23) | 0o755
    assert A.go_file_mode(stat.S_IFCHR | 0o666) == (1 << 26) | (1 << 21) | 0o666
    assert A.go_file_mode(stat.S_IFIFO | 0o600) == (1 << 25) | 0o600


@pytest.fixture
def tree(tmp_path):
    """A "container root" with links that point at the host, upwards and in loops."""
    root = tmp_path / "root"
    host = tmp_path / "host"
    host.mkdir()
    (host / "secret").write_text("host")
    (root / "etc").mkdir(parents=True)
    (root / "etc" / "passwd").write_text("root:x:0:0::/root:/bin/sh\nu:x:1000:1001::/:/bin/sh\n")
    (root / "etc" / "group").write_text("root:x:0:\nstaff:x:50:\n")
    (root / "data").mkdir()
    (root / "data" / "f").write_text("data")
    os.symlink(str(host), root / "abs")                    # absolute: a container path
    os.symlink("../../../../../../../../" + str(host).lstrip("/"), root / "data" / "up")
    os.symlink("/data", root / "dlink")
    os.symlink("loop2", root / "loop1")
    os.symlink("loop1", root / "loop2")
    fd = os.open(root, os.O_PATH | os.O_DIRECTORY)
    yield root, host, fd
    os.close(fd)


def test_links_resolve_inside_the_root(tree):
    root, host, fd = tree
    with pytest.raises(NotFound):
        A.stat_path(fd, "/abs/secret")
    with pytest.raises(NotFound):
        A.stat_path(fd, "/data/up/secret")
    inside = root / str(host).lstrip("/")
    inside.mkdir(parents=True)
    (inside / "secret").write_text("decoy")
    with A.resolve(fd, "/data/up/secret") as r:
        assert r.path == str(host) + "/secret"
        assert os.read(r.reopen(os.O_RDONLY), 10) == b"decoy"
    with pytest.raises(InvalidArgument, match="symbolic links"):
        A.stat_path(fd, "/loop1/x")


def test_stat_of_links_and_dirs(tree):
    _, _, fd = tree
    doc = A.stat_path(fd, "/dlink")
    assert doc["name"] == "dlink" and doc["linkTarget"] == "/data"
    assert doc["mode"] & (1 << 27)
    doc = A.stat_path(fd, "/dlink/")
    assert doc["mode"] & (1 << 31) and doc["linkTarget"] == ""
    with pytest.raises(InvalidArgument, match="not a directory"):
        A.stat_path(fd, "/data/f/x")


def test_write_archive_names(tree):
    _, _, fd = tree

    def names(path, **kw):
        b = io.BytesIO()
        A.write_archive(fd, path, b, **kw)
        b.seek(0)
        return tarfile.open(fileobj=b).getnames()
    assert names("/data") == ["data", "data/f", "data/up"]
    assert names("/data/.") == [".", "./f", "./up"]
    assert names("/dlink") == ["dlink"]                  # the link itself
    assert names("/dlink/") == ["dlink", "dlink/f", "dlink/up"]
    assert "etc/passwd" in names("/", top="")


def tar_of(**members) -> io.BytesIO:
    b = io.BytesIO()
    with tarfile.open(fileobj=b, mode="w") as t:
        for name, v in members.items():
            name = name.replace("__", "/").replace("DOTDOT", "..")
            ti = tarfile.TarInfo(name)
            if isinstance(v, str):
                ti.type, ti.linkname = tarfile.SYMTYPE, v
                t.addfile(ti)
            else:
                ti.size = len(v)
                t.addfile(ti, io.BytesIO(v))
    b.seek(0)
    return b


def test_extract_refuses_breakouts_and_writes_in_root(tree):
    root, host, fd = tree
    with pytest.raises(InvalidArgument, match="'..'"):
        A.extract_archive(fd, "/data", tar_of(DOTDOT__DOTDOT__x=b"x"))
    with pytest.raises(InvalidArgument, match="invalid symlink"):
        A.extract_archive(fd, "/data", tar_of(s="../../x"))
    # a link to a parent *inside* the destination is fine, an absolute one contained
    assert A.extract_archive(fd, "/data", tar_of(d__s="../f", a=str(host))) >= 2
    assert os.readlink(root / "data" / "a") == str(host)
    A.extract_archive(fd, "/data", tar_of(a__planted=b"x"))     # through the link: skipped
    assert sorted(os.listdir(host)) == ["secret"]
    with pytest.raises(InvalidArgument, match="not a directory"):
        A.extract_archive(fd, "/data/f", tar_of(x=b"x"))
    with pytest.raises(NotFound):
        A.extract_archive(fd, "/nope", tar_of(x=b"x"))


def test_no_overwrite_dir_non_dir(tree):
    root, _, fd = tree
    (root / "data" / "sub").mkdir()
    with pytest.raises(InvalidArgument, match="cannot overwrite directory"):
        A.extract_archive(fd, "/data", tar_of(sub=b"x"), no_overwrite_dir_non_dir=True)
    b = io.BytesIO()
    with tarfile.open(fileobj=b, mode="w") as t:
        ti = tarfile.TarInfo("f")
        ti.type = tarfile.DIRTYPE
        t.addfile(ti)
    b.seek(0)
    with pytest.raises(InvalidArgument, match="cannot overwrite non-directory"):
        A.extract_archive(fd, "/data", b, no_overwrite_dir_non_dir=True)
    A.extract_archive(fd, "/data", tar_of(sub=b"x"))             # default: replaced
    assert (root / "data" / "sub").read_text() == "x"


def test_container_user_from_its_own_passwd(tree):
    _, _, fd = tree
    assert A.container_user(fd, "") == (0, 0)
    assert A.container_user(fd, "u") == (1000, 1001)
    assert A.container_user(fd, "1000") == (1000, 1001)
    assert A.container_user(fd, "u:staff") == (1000, 50)
    assert A.container_user(fd, "77:88") == (77, 88)
    with pytest.raises(InvalidArgument, match="nobody"):
        A.container_user(fd, "nobody")
