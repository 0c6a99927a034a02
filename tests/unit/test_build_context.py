"""Build context: .dockerignore rules, COPY source resolution, tar contexts, checksums."""

from __future__ import annotations

import gzip
import io
import os
import tarfile
from pathlib import Path

import pytest

from glassbox.build import context as c
from glassbox.errors import BuildError


def tree(root: Path, files: dict[str, str | None]) -> Path:
    """Create files (None: a directory)."""
    for rel, content in files.items():
        p = root / rel
        if content is None:
            p.mkdir(parents=True, exist_ok=True)
        else:
            p.parent.mkdir(parents=True, exist_ok=True)
            p.write_text(content)
    return root


# --- Go helpers ------------------------------------------------------------------------

@pytest.mark.parametrize("path,clean", [
    ("", "."), (".", "."), ("a/b/", "a/b"), ("a//b", "a/b"), ("./a/./b", "a/b"),
    ("a/../b", "b"), ("../a", "../a"), ("a/../../b", "../b"), ("/../a", "/a"),
    ("//a", "/a"), ("/", "/"), ("a/..", "."),
])
def test_go_clean(path, clean):
    assert c.go_clean(path) == clean


@pytest.mark.parametrize("pattern,name,ok", [
    ("*.txt", "a.txt", True), ("*.txt", "d/a.txt", False), ("*", "a/b", False),
    ("a?c", "abc", True), ("a?c", "a/c", False), ("[a-c]x", "bx", True),
    ("[^a-c]x", "bx", False), ("[^a-c]x", "dx", True), ("\\*", "*", True),
    ("\\*", "a", False), ("d/*/f", "d/e/f", True), ("d/*/f", "d/e/g/f", False),
    ("[]a]", "]", True), ("[a-]", "-", True),
])
def test_go_match(pattern, name, ok):
    assert c.go_match(pattern, name) is ok


@pytest.mark.parametrize("pattern", ["[", "[a", "a\\", "[]", "[^]"])
def test_go_match_bad_pattern(pattern):
    with pytest.raises(ValueError):
        c.go_match(pattern, "x")


# --- patternmatcher: single patterns (cases in the style of moby's table) --------------

@pytest.mark.parametrize("pattern,path,ok", [
    ("**", "file", True),
    ("**", "dir/file", True),
    ("**/", "file", True),
    ("**/**", "dir/file", True),
    ("dir/**", "dir/file", True),
    ("dir/**", "dir/dir2/file", True),
    ("**/dir", "dir", True),
    ("**/dir", "dir/file", True),            # via the parent directory
    ("**/dir2/*", "dir/dir2/file", True),
    ("**/dir2/**", "dir/dir2/dir3/file", True),
    ("**file", "file", True),
    ("**file", "dir/file", True),
    ("**/file", "dir/dir/file", True),
    ("**/file*", "dir/dir/file.txt", True),
    ("**/file*txt", "dir/dir/file.txt", True),
    ("**/**/*.txt", "dir/dir/file.txt", True),
    ("**/**/*.txt2", "dir/dir/file.txt", False),
    ("**/*.txt", "file.txt", True),
    ("**/**/*.txt", "file.txt", True),
    ("a**/*.txt", "a/file.txt", True),
    ("a**/*.txt", "a/dir/file.txt", True),
    ("a/*.txt", "a/dir/file.txt", False),
    ("a/*.txt", "a/file.txt", True),
    ("a/*.txt**", "a/file.txt", True),
    ("a[b-d]e", "ae", False),
    ("a[b-d]e", "ace", True),
    ("a[b-d]e", "aae", False),
    ("a[^b-d]e", "aze", True),
    (".*", ".foo", True),
    (".*", "foo", False),
    ("abc.def", "abcdef", False),
    ("abc.def", "abc.def", True),
    ("abc.def", "abcZdef", False),
    ("abc?def", "abcZdef", True),
    ("abc?def", "abcdef", False),
    ("a\\\\", "a\\", True),
    ("**/foo/bar", "foo/bar", True),
    ("**/foo/bar", "dir/dir2/foo/bar", True),
    ("abc/**", "abc", False),
    ("abc/**", "abc/def/ghi", True),
    ("**/.foo", ".foo", True),
    ("**/.foo", "bar.foo", False),
    ("a(b)c/def", "a(b)c/def", True),
    ("a(b)c/def", "a(b)c/xyz", False),
    ("a.|)$(}+{bc", "a.|)$(}+{bc", True),
    ("dist/*.whl", "dist/proxy.py-2.4.0rc3.dev36+g08acad9-py3-none-any.whl", True),
    ("secret", "sub/secret", False),          # anchored at the context root
    ("sub", "sub/deep/file", True),           # a directory excludes its content
    ("*", "any/thing", True),
    ("*/x", "a/x/y", True),
])
def test_single_pattern(pattern, path, ok):
    assert c.PatternMatcher([pattern]).matches(path) is ok


@pytest.mark.parametrize("patterns,path,ok", [
    (["*.md", "!README.md"], "README.md", False),
    (["*.md", "!README.md"], "CHANGES.md", True),
    (["!a.txt", "*.txt"], "a.txt", True),          # the last matching line wins
    (["*.txt", "!a.txt", "a*"], "a.txt", True),
    (["docs", "!docs/keep.txt"], "docs/keep.txt", False),
    (["docs", "!docs/keep.txt"], "docs/other.txt", True),
    (["docs", "!docs"], "docs/x", False),
    (["**/*.log", "!important/*.log"], "important/a.log", False),
    (["**/*.log", "!important/*.log"], "x/important/a.log", True),
])
def test_exceptions(patterns, path, ok):
    assert c.PatternMatcher(patterns).matches(path) is ok


def test_read_dockerignore_rules():
    text = ("# comment\n\n  *.tmp  \n/abs/./x/\n!/abs/x/keep\n #notcomment\n"
            "a/../b\n! spaced\n\ufeffbom\n")
    assert c.read_dockerignore(text) == ["*.tmp", "abs/x", "!abs/x/keep", "#notcomment", "b",
                                         "!spaced", "\ufeffbom"]
    assert c.read_dockerignore(b"\xef\xbb\xbf# c\nx\n") == ["x"]


def test_illegal_exclusion_pattern():
    with pytest.raises(BuildError, match="illegal exclusion pattern"):
        c.PatternMatcher(["!"])
    with pytest.raises(BuildError, match="syntax error in pattern"):
        c.PatternMatcher(["a["])


def test_root_never_excluded():
    assert not c.PatternMatcher(["*", "**"]).matches(".")


# --- the context walk ------------------------------------------------------------------

FILES = {
    "Dockerfile": "FROM x\n", "README.md": "r", "CHANGES.md": "c", "app/main.py": "m",
    "app/test_main.py": "t", "app/__pycache__/x.pyc": "p", "docs/a.md": "a",
    "docs/keep.txt": "k", "vendor/lib/x.go": "g", "vendor/lib/y.c": "y", "sub/secret": "s",
    "secret": "s", "empty": None,
}


def ctx_with(tmp_path, ignore: str | None, files=FILES, **kw) -> c.BuildContext:
    tree(tmp_path, files)
    if ignore is not None:
        (tmp_path / ".dockerignore").write_text(ignore)
    return c.BuildContext.from_dir(tmp_path, **kw)


def test_no_dockerignore_sends_everything(tmp_path):
    ctx = ctx_with(tmp_path, None)
    assert "app/__pycache__/x.pyc" in ctx.files() and "empty" in ctx.files()
    assert ctx.ignore_file is None


def test_walk_with_rules(tmp_path):
    ctx = ctx_with(tmp_path, "*.md\n!README.md\n**/__pycache__\ndocs\n!docs/keep.txt\n"
                             "secret\nDockerfile\n.dockerignore\n")
    files = ctx.files()
    assert files == ctx.files()                      # deterministic order
    assert set(files) == {"README.md", "app", "app/main.py", "app/test_main.py",
                          "docs/keep.txt", "empty", "sub", "sub/secret", "vendor",
                          "vendor/lib", "vendor/lib/x.go", "vendor/lib/y.c"}
    assert ctx.read_dockerfile() == b"FROM x\n"      # excluded but still readable
    assert not ctx.is_included("Dockerfile") and ctx.is_included("README.md")


def test_wildcard_exception_does_not_reach_into_excluded_dir(tmp_path):
    # Docker skips an excluded directory unless an exception names a path under it.
    ctx = ctx_with(tmp_path, "vendor\n!**/*.go\n")
    assert "vendor/lib/x.go" not in ctx.files()
    # Even vendor/**/*.go stops at vendor/lib: the test is a plain prefix (moby #30018).
    ctx = ctx_with(tmp_path, "vendor\n!vendor/**/*.go\n")
    assert [f for f in ctx.files() if f.startswith("vendor")] == []
    ctx = ctx_with(tmp_path, "vendor\n!vendor/lib/x.go\n")
    assert [f for f in ctx.files() if f.startswith("vendor")] == ["vendor/lib/x.go"]
    ctx = ctx_with(tmp_path, "vendor\n!vendor/lib\n")
    assert [f for f in ctx.files() if f.startswith("vendor")] == [
        "vendor/lib", "vendor/lib/x.go", "vendor/lib/y.c"]


def test_per_dockerfile_ignore_file_wins(tmp_path):
    tree(tmp_path, {"build/app.Dockerfile": "FROM x\n", "a.txt": "a", "b.txt": "b"})
    (tmp_path / ".dockerignore").write_text("a.txt\n")
    (tmp_path / "build/app.Dockerfile.dockerignore").write_text("b.txt\n")
    ctx = c.BuildContext.from_dir(tmp_path, dockerfile="build/app.Dockerfile")
    assert ctx.ignore_file == "build/app.Dockerfile.dockerignore"
    assert ctx.is_included("a.txt") and not ctx.is_included("b.txt")
    assert c.BuildContext.from_dir(tmp_path).ignore_file == ".dockerignore"


def test_missing_dockerfile(tmp_path):
    ctx = c.BuildContext.from_dir(tmp_path)
    with pytest.raises(BuildError, match="cannot locate specified Dockerfile: Dockerfile"):
        ctx.read_dockerfile()


def test_context_must_be_a_directory(tmp_path):
    (tmp_path / "f").write_text("x")
    with pytest.raises(BuildError, match="is not a directory"):
        c.BuildContext.from_dir(tmp_path / "f")


# --- COPY sources ----------------------------------------------------------------------

@pytest.fixture
def src_ctx(tmp_path):
    tree(tmp_path, {"a.txt": "a", "b.txt": "b", "c.md": "c", "dir/x.txt": "x",
                    "dir/sub/y.txt": "y", "ignored.txt": "i", "d2/keep": "k", "d2/drop": "d"})
    (tmp_path / ".dockerignore").write_text("ignored.txt\nd2\n!d2/keep\n")
    os.symlink("a.txt", tmp_path / "link-a")
    os.symlink("dir", tmp_path / "link-dir")
    os.symlink("../../etc/passwd", tmp_path / "dir/escape")
    os.symlink("/etc/passwd", tmp_path / "abs-escape")
    os.symlink(str(tmp_path / "b.txt"), tmp_path / "abs-inside")
    os.symlink("/etc", tmp_path / "etc-link")
    os.symlink("loop2", tmp_path / "loop1")
    os.symlink("loop1", tmp_path / "loop2")
    return c.BuildContext.from_dir(tmp_path)


def rels(sources):
    return [(s.rel, s.is_dir) for s in sources]


@pytest.mark.parametrize("patterns,expected", [
    (["a.txt"], [("a.txt", False)]),
    (["/a.txt"], [("a.txt", False)]),               # "/" is the context root
    (["./dir/../a.txt"], [("a.txt", False)]),
    (["*.txt"], [("a.txt", False), ("b.txt", False)]),   # ignored.txt does not exist
    (["dir/*.txt"], [("dir/x.txt", False)]),
    (["*/*.txt"], [("dir/x.txt", False), ("link-dir/x.txt", False)]),
    (["dir"], [("dir", True)]),
    (["."], [(".", True)]),
    (["[ab].txt", "c.md"], [("a.txt", False), ("b.txt", False), ("c.md", False)]),
    (["d2"], [("d2", True)]),                       # excluded dir, but holds d2/keep
    (["d2/keep"], [("d2/keep", False)]),
    (["link-a"], [("link-a", False)]),
    (["link-dir/sub/y.txt"], [("link-dir/sub/y.txt", False)]),
    (["abs-inside"], [("abs-inside", False)]),
])
def test_resolve_sources(src_ctx, patterns, expected):
    assert rels(src_ctx.resolve_sources(patterns)) == expected


def test_symlink_source_reads_target(src_ctx):
    [s] = src_ctx.resolve_sources(["link-a"])
    assert s.path == src_ctx.root / "a.txt"


@pytest.mark.parametrize("pattern,needle", [
    ("../x", "forbidden path outside the build context: ../x"),
    ("a/../../x", "forbidden path outside the build context"),
    ("dir/escape", "forbidden path outside the build context"),
    ("abs-escape", "forbidden path outside the build context"),
    ("etc-link/passwd", "forbidden path outside the build context"),
    ("missing.txt", "file not found in build context or excluded by .dockerignore"),
    ("ignored.txt", "file not found in build context or excluded by .dockerignore"),
    ("d2/drop", "file not found in build context"),
    ("*.nope", "no source files were specified"),
    ("loop1", "too many levels of symbolic links"),
])
def test_resolve_source_errors(src_ctx, pattern, needle):
    with pytest.raises(BuildError) as ei:
        src_ctx.resolve_sources([pattern])
    assert needle in str(ei.value)


def test_errors_at_instruction_and_cmd_name(src_ctx):
    from glassbox.build import dockerfile as d
    inst = d.parse("FROM x\nADD ../secret /s\n").stages[0].instructions[0]
    with pytest.raises(BuildError) as ei:
        src_ctx.resolve_sources(inst.sources, cmd="ADD", instruction=inst)
    assert str(ei.value).startswith("Dockerfile:2: ADD failed: forbidden path outside the "
                                    "build context: ../secret")
    assert "2 | ADD ../secret /s" in str(ei.value)


def test_several_sources_need_a_directory_dest(src_ctx):
    with pytest.raises(BuildError, match="destination must be a directory and end with a /"):
        src_ctx.resolve_sources(["*.txt"], dest_is_dir=False)
    assert len(src_ctx.resolve_sources(["a.txt"], dest_is_dir=False)) == 1


def test_entries_of_directory_respect_ignore(src_ctx):
    [s] = src_ctx.resolve_sources(["d2"])
    assert [e[0] for e in src_ctx.entries(s)] == ["keep"]
    [s] = src_ctx.resolve_sources(["dir"])
    assert [e[0] for e in src_ctx.entries(s)] == [".", "escape", "sub", "sub/y.txt", "x.txt"]


# --- checksum --------------------------------------------------------------------------

def test_checksum_content_mode_not_mtime(tmp_path):
    tree(tmp_path, {"a.txt": "hello", "dir/b.txt": "b", "dir/c/d": "d"})
    ctx = c.BuildContext.from_dir(tmp_path)
    base = ctx.checksum(["a.txt", "dir"])
    assert base.startswith("sha256:") and len(base) == 71
    assert ctx.checksum(["dir", "a.txt"]) == base            # order of sources irrelevant

    os.utime(tmp_path / "dir/c/d", ns=(1, 1))                 # touch: mtime only
    os.utime(tmp_path / "a.txt", ns=(10**18, 10**18))
    assert ctx.checksum(["a.txt", "dir"]) == base

    st = os.stat(tmp_path / "dir/c/d")
    (tmp_path / "dir/c/d").write_text("D")                    # same size, mtime restored
    os.utime(tmp_path / "dir/c/d", ns=(st.st_atime_ns, st.st_mtime_ns))
    changed = ctx.checksum(["a.txt", "dir"])
    assert changed != base
    (tmp_path / "dir/c/d").write_text("d")
    assert ctx.checksum(["a.txt", "dir"]) == base

    os.chmod(tmp_path / "a.txt", 0o755)
    assert ctx.checksum(["a.txt", "dir"]) != base
    os.chmod(tmp_path / "a.txt", 0o644)
    os.chmod(tmp_path / "dir/c", 0o700)                       # a directory's mode counts
    assert ctx.checksum(["a.txt", "dir"]) != base


def test_checksum_names_and_structure(tmp_path):
    tree(tmp_path, {"a": "same", "b": "same", "d/x": "1"})
    ctx = c.BuildContext.from_dir(tmp_path)
    assert ctx.checksum(["a"]) != ctx.checksum(["b"])        # the name lands in the image
    before = ctx.checksum(["d"])
    (tmp_path / "d/y").write_text("")                         # a new empty file
    assert ctx.checksum(["d"]) != before
    (tmp_path / "d/y").unlink()
    assert ctx.checksum(["d"]) == before
    (tmp_path / "d/x").rename(tmp_path / "d/z")
    assert ctx.checksum(["d"]) != before


def test_checksum_symlink_target_and_ignored_files(tmp_path):
    tree(tmp_path, {"d/t1": "1", "d/t2": "2", "d/ignored.log": "x"})
    (tmp_path / ".dockerignore").write_text("**/*.log\n")
    os.symlink("t1", tmp_path / "d/link")
    ctx = c.BuildContext.from_dir(tmp_path)
    before = ctx.checksum(["d"])
    (tmp_path / "d/ignored.log").write_text("changed")        # not in the context
    assert ctx.checksum(["d"]) == before
    os.unlink(tmp_path / "d/link")
    os.symlink("t2", tmp_path / "d/link")                     # the link itself is copied
    assert ctx.checksum(["d"]) != before


def test_checksum_memoises_file_hashes(tmp_path, monkeypatch):
    tree(tmp_path, {"big": "x" * 100_000, "small": "y"})
    ctx = c.BuildContext.from_dir(tmp_path)
    c._HASH_CACHE.clear()
    first = ctx.checksum(["big", "small"])
    opened = []
    real_open = open
    monkeypatch.setattr(c, "open", lambda *a, **k: opened.append(a[0]) or real_open(*a, **k),
                        raising=False)
    assert ctx.checksum(["big", "small"]) == first
    assert opened == []                                       # all served from the memo
    (tmp_path / "small").write_text("z")
    ctx.checksum(["big", "small"])
    assert opened == [str(tmp_path / "small")]


def test_checksum_accepts_sources(src_ctx):
    srcs = src_ctx.resolve_sources(["*.txt"])
    assert src_ctx.checksum(srcs) == src_ctx.checksum(["*.txt"])


# --- tar contexts ----------------------------------------------------------------------

def make_tar(members, *, gz=False) -> io.BytesIO:
    """members: list of (name, kind, payload) with kind file|dir|sym|hard|dev."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tf:
        for name, kind, payload in members:
            ti = tarfile.TarInfo(name)
            data = b""
            if kind == "file":
                data = payload.encode() if isinstance(payload, str) else payload
                ti.size, ti.mode = len(data), 0o640
            elif kind == "exe":
                data = payload.encode()
                ti.size, ti.mode = len(data), 0o755
            elif kind == "dir":
                ti.type, ti.mode = tarfile.DIRTYPE, 0o755
            elif kind == "sym":
                ti.type, ti.linkname = tarfile.SYMTYPE, payload
            elif kind == "hard":
                ti.type, ti.linkname = tarfile.LNKTYPE, payload
            elif kind == "dev":
                ti.type, ti.devmajor, ti.devminor = tarfile.CHRTYPE, 1, 3
            elif kind == "fifo":
                ti.type = tarfile.FIFOTYPE
            tf.addfile(ti, io.BytesIO(data) if data else None)
    raw = buf.getvalue()
    return io.BytesIO(gzip.compress(raw) if gz else raw)


GOOD = [("./", "dir", None), ("./Dockerfile", "file", "FROM busybox\nCOPY . /app\n"),
        ("./.dockerignore", "file", "**/*.log\n"), ("./src", "dir", None),
        ("./src/app.sh", "exe", "echo hi\n"), ("./src/debug.log", "file", "x"),
        ("./src/link", "sym", "app.sh"), ("./src/abs", "sym", "/usr/bin/env"),
        ("./src/hard", "hard", "./src/app.sh"), ("./dev/null", "dev", None),
        ("./fifo", "fifo", None)]


@pytest.mark.parametrize("gz", [False, True])
def test_tar_context(tmp_path, gz):
    with c.BuildContext.from_tar(make_tar(GOOD, gz=gz), tmp_dir=str(tmp_path)) as ctx:
        root = ctx.root
        assert ctx.read_dockerfile().startswith(b"FROM busybox")
        assert set(ctx.files()) == {".dockerignore", "Dockerfile", "dev", "src",
                                    "src/abs", "src/app.sh", "src/hard", "src/link"}
        assert (root / "src/app.sh").stat().st_mode & 0o777 == 0o755
        assert os.readlink(root / "src/abs") == "/usr/bin/env"   # kept as is
        assert (root / "src/hard").stat().st_ino == (root / "src/app.sh").stat().st_ino
        assert not (root / "dev/null").exists() and not (root / "fifo").exists()
        assert rels(ctx.resolve_sources(["src/link"])) == [("src/link", False)]
    assert not root.exists()                                     # close() cleans up


@pytest.mark.parametrize("members,needle", [
    ([("../evil", "file", "x")], "contains '..'"),
    ([("a/../../evil", "file", "x")], "contains '..'"),
    ([("/abs-evil", "file", "x")], "absolute path"),
    ([("link", "sym", "{outside}"), ("link/evil", "file", "x")], "through the symlink"),
    ([("link", "sym", "."), ("link/x", "file", "x")], "through the symlink"),
    ([("f", "file", "x"), ("f/evil", "file", "x")], "non-directory"),
    ([("h", "hard", "../../etc/passwd")], "contains '..'"),
    ([("h", "hard", "/etc/passwd")], "absolute path"),
    ([("link", "sym", "{outside}"), ("h", "hard", "link/target")], "through the symlink"),
    ([("h", "hard", "missing")], "missing"),
    ([("s", "sym", "{outside}/target"), ("h", "hard", "s")], "does not name a regular"),
])
def test_hostile_tar_members(tmp_path, members, needle):
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "target").write_text("secret")
    work = tmp_path / "work"
    work.mkdir()
    members = [(n, k, p.format(outside=outside) if isinstance(p, str) else p)
               for n, k, p in members]
    with pytest.raises(BuildError) as ei:
        c.BuildContext.from_tar(make_tar(members), tmp_dir=str(work))
    assert needle in str(ei.value) and "refusing the build context tar" in str(ei.value)
    assert sorted(p.name for p in outside.iterdir()) == ["target"]     # nothing written
    assert (outside / "target").read_text() == "secret"
    assert list(work.iterdir()) == []                                   # tmp dir removed
    assert not (tmp_path / "evil").exists() and not Path("/abs-evil").exists()


def test_tar_later_member_replaces_earlier(tmp_path):
    t = make_tar([("a", "file", "one"), ("a", "file", "two"), ("d", "file", "x"),
                  ("d", "dir", None), ("d/f", "file", "in")])
    with c.BuildContext.from_tar(t, tmp_dir=str(tmp_path)) as ctx:
        assert (ctx.root / "a").read_text() == "two"
        assert (ctx.root / "d/f").read_text() == "in"


def test_tar_size_limit_and_garbage(tmp_path):
    with pytest.raises(BuildError, match="larger than the 3-byte limit"):
        c.BuildContext.from_tar(make_tar([("a", "file", "1234")]), tmp_dir=str(tmp_path),
                                max_bytes=3)
    with pytest.raises(BuildError, match="not a valid tar archive"):
        c.BuildContext.from_tar(io.BytesIO(b"\x1f\x8bnot really gzip" * 40),
                                tmp_dir=str(tmp_path))
    assert list(tmp_path.iterdir()) == []


def test_from_stream_tar_or_bare_dockerfile(tmp_path):
    with c.BuildContext.from_stream(make_tar(GOOD, gz=True), tmp_dir=str(tmp_path)) as ctx:
        assert "src/app.sh" in ctx.files()
    with c.BuildContext.from_stream(make_tar(GOOD), tmp_dir=str(tmp_path)) as ctx:
        assert "src/app.sh" in ctx.files()
    with c.BuildContext.from_stream(io.BytesIO(b"FROM busybox\nRUN true\n"),
                                    tmp_dir=str(tmp_path)) as ctx:
        assert ctx.files() == ["Dockerfile"]
        assert ctx.read_dockerfile() == b"FROM busybox\nRUN true\n"
    assert list(tmp_path.iterdir()) == []
