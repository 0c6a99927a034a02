"""Image references are parsed and normalized exactly like the Docker CLI does."""

import pytest

from glassbox.errors import InvalidArgument
from glassbox.images.reference import Reference, familiar, parse, validate_digest

D = "sha256:" + "ab" * 32

VALID = [
    # input, normalized, familiar, repository
    ("busybox", "docker.io/library/busybox:latest", "busybox:latest", "docker.io/library/busybox"),
    ("busybox:1.36", "docker.io/library/busybox:1.36", "busybox:1.36", "docker.io/library/busybox"),
    ("library/busybox", "docker.io/library/busybox:latest", "busybox:latest", "docker.io/library/busybox"),
    ("docker.io/busybox", "docker.io/library/busybox:latest", "busybox:latest", "docker.io/library/busybox"),
    ("index.docker.io/library/busybox", "docker.io/library/busybox:latest", "busybox:latest",
     "docker.io/library/busybox"),
    ("team/app", "docker.io/team/app:latest", "team/app:latest", "docker.io/team/app"),
    ("team/sub/app:v2", "docker.io/team/sub/app:v2", "team/sub/app:v2", "docker.io/team/sub/app"),
    ("host:5000/team/app:1", "host:5000/team/app:1", "host:5000/team/app:1", "host:5000/team/app"),
    ("127.0.0.1:5000/team/app:1", "127.0.0.1:5000/team/app:1", "127.0.0.1:5000/team/app:1",
     "127.0.0.1:5000/team/app"),
    ("localhost/app", "localhost/app:latest", "localhost/app:latest", "localhost/app"),
    ("localhost:5000/app", "localhost:5000/app:latest", "localhost:5000/app:latest", "localhost:5000/app"),
    ("quay.io/org/img", "quay.io/org/img:latest", "quay.io/org/img:latest", "quay.io/org/img"),
    ("repo@" + D, "docker.io/library/repo@" + D, "repo@" + D, "docker.io/library/repo"),
    ("repo:tag@" + D, "docker.io/library/repo:tag@" + D, "repo:tag@" + D, "docker.io/library/repo"),
    ("a_b.c-d__e---f", "docker.io/library/a_b.c-d__e---f:latest", "a_b.c-d__e---f:latest",
     "docker.io/library/a_b.c-d__e---f"),
    ("[::1]:5000/app:x", "[::1]:5000/app:x", "[::1]:5000/app:x", "[::1]:5000/app"),
    ("Host.Example:5000/app", "Host.Example:5000/app:latest", "Host.Example:5000/app:latest",
     "Host.Example:5000/app"),
    ("app:" + "t" * 128, "docker.io/library/app:" + "t" * 128, "app:" + "t" * 128, "docker.io/library/app"),
]


@pytest.mark.parametrize("s,full,short,repo", VALID)
def test_valid_references(s, full, short, repo):
    r = parse(s)
    assert str(r) == full
    assert r.familiar == short
    assert r.repository == repo
    assert parse(str(r)) == r  # normal form is a fixed point
    assert familiar(s) == short


INVALID = [
    "", " busybox", "Busybox", "team/App", "busybox:", ":tag", "busybox:-bad", "busybox:" + "t" * 129,
    "a//b", "/a", "a/", "busybox@sha256:abc", "busybox@sha256:" + "A" * 64, "busybox@md5:" + "a" * 32,
    "ab" * 32, "bad chars!", "repo:tag:tag", "a" * 256, "_leading", "trailing-", "a..b",
    "busybox@", "host:port/app",
]


@pytest.mark.parametrize("s", INVALID)
def test_invalid_references(s):
    with pytest.raises(InvalidArgument, match="invalid reference format"):
        parse(s)


def test_uppercase_message_says_lowercase():
    with pytest.raises(InvalidArgument, match="must be lowercase"):
        parse("Busybox")


def test_long_tag_message():
    with pytest.raises(InvalidArgument, match="128"):
        parse("busybox:" + "t" * 129)


def test_fields_and_helpers():
    r = parse("host:5000/team/app:1")
    assert r == Reference("host:5000", "team/app", "1", None)
    assert r.registry == "host:5000"
    assert parse("busybox").registry == "registry-1.docker.io"
    assert parse("busybox", default_tag=False).tag is None
    assert str(r.with_tag("2")) == "host:5000/team/app:2"
    assert str(r.with_digest(D)) == "host:5000/team/app@" + D
    assert parse("repo@" + D).tag is None
    assert parse("team/library/x").familiar == "team/library/x:latest"
    assert parse("library/a/b").familiar == "library/a/b:latest"


def test_validate_digest():
    assert validate_digest(D) == D
    for bad in ("sha256:" + "a" * 63, "sha256:" + "g" * 64, "a" * 64, "sha1:" + "a" * 40):
        with pytest.raises(InvalidArgument):
            validate_digest(bad)
