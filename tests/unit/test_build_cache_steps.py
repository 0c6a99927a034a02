"""Pure pieces of the builder that decide what a step is (and so its cache key):
the RUN script with heredocs, EXPOSE keys, the canonical instruction text, chown
lookup and the layered image view (on tmp dirs, no root)."""

from __future__ import annotations

import os

import pytest

from glassbox.build import builder as B
from glassbox.build.dockerfile import StageScope, Substituter, parse
from glassbox.errors import BuildError


def insts(text):
    return parse(text).stages[0].instructions


def test_run_script_plain_and_heredocs():
    run, lone, piped = insts("FROM x\nRUN echo hi\nRUN <<EOF\necho a\necho b\nEOF\n"
                             "RUN cat <<EOF > /f\nbody\nEOF\n")
    assert B._run_script(run) == "echo hi"
    assert B._run_script(lone) == "echo a\necho b\n"
    assert B._run_script(piped) == "cat <<EOF > /f\nbody\nEOF\n"


def test_expose_ports_are_docker_keys():
    assert B._expose_ports(["80", "53/UDP", "8000-8002/tcp"]) == \
        ["80/tcp", "53/udp", "8000/tcp", "8001/tcp", "8002/tcp"]


def _applied(text, build_args=None):
    df = parse(text)
    scope = Substituter.for_dockerfile(df, build_args or {}).stage([])
    return [scope.apply(i) for i in df.stages[0].instructions]


def test_canonical_text_is_expanded():
    env, label, expose, wd = _applied("FROM x\nENV A=1 B=\"two words\"\nLABEL k=$A\n"
                                      "EXPOSE 80\nWORKDIR /srv/$A\n")
    assert B._canonical(env) == 'ENV A=1 B="two words"'
    assert B._canonical(label) == "LABEL k=1"
    assert B._canonical(expose) == "EXPOSE 80/tcp"
    assert B._canonical(wd) == "WORKDIR /srv/1"


def test_set_env_replaces_in_place():
    assert B._set_env(["PATH=/bin", "A=1"], "A", "2") == ["PATH=/bin", "A=2"]
    assert B._set_env(None, "A", "1") == ["A=1"]


def test_dollar_escape_keeps_label_values_literal():
    df = parse("FROM x\nLABEL k=" + B._dollar_escape("$HOME\\x") + "\n")
    scope = StageScope(Substituter.for_dockerfile(df, {}), {"HOME": "/root"})
    (label,) = [scope.apply(i) for i in df.stages[0].instructions]
    assert label.pairs == [("k", "$HOME\\x")]


# ---- ImageView ------------------------------------------------------------------------

def _layers(tmp_path):
    low, up = tmp_path / "l0", tmp_path / "l1"
    (low / "etc").mkdir(parents=True)
    (low / "etc" / "passwd").write_text("root:x:0:0::/root:/bin/sh\napp:x:1000:1001::/h:/bin/sh\n")
    (low / "etc" / "group").write_text("root:x:0:\nstaff:x:50:\n")
    (low / "usr" / "bin").mkdir(parents=True)
    (low / "usr" / "bin" / "tool").write_text("v1")
    os.symlink("usr/bin", low / "bin")
    (up / "usr" / "bin").mkdir(parents=True)
    (up / "usr" / "bin" / "tool").write_text("v2")
    (up / "usr" / "bin" / "new").write_text("n")
    return [str(low), str(up)]


def test_image_view_merges_layers_top_wins(tmp_path):
    v = B.ImageView(_layers(tmp_path))
    assert v.read("/usr/bin/tool") == b"v2"
    assert v.read("/bin/tool") == b"v2"                 # symlink resolved inside the image
    assert v.listdir("/usr/bin") == ["new", "tool"]
    assert v.is_dir("/bin") and v.exists("/etc/passwd") and not v.exists("/nope")
    assert v.resolve("/bin/x/../new") == "/usr/bin/new"
    assert v.glob("/usr/bin/t*") == ["/usr/bin/tool"]
    assert sorted(s for s, _, _ in v.walk("/usr")) == [".", "bin", "bin/new", "bin/tool"]


def test_image_view_symlink_cannot_escape_to_host(tmp_path):
    d = tmp_path / "l"
    d.mkdir()
    os.symlink("/etc", d / "hostetc")     # inside the image, /etc of the *image*
    v = B.ImageView([str(d)])
    assert v.read("/hostetc/passwd") is None


def test_image_view_whiteout_hides_lower(tmp_path):
    if os.geteuid() != 0:
        pytest.skip("overlay whiteouts (char device 0:0) need CAP_MKNOD")
    low, up = tmp_path / "l0", tmp_path / "l1"
    (low / "d").mkdir(parents=True)
    (low / "d" / "gone").write_text("x")
    (low / "d" / "kept").write_text("x")
    (up / "d").mkdir(parents=True)
    os.mknod(up / "d" / "gone", 0o020000, os.makedev(0, 0))
    v = B.ImageView([str(low), str(up)])
    assert not v.exists("/d/gone") and v.listdir("/d") == ["kept"]


def test_resolve_chown_by_name_and_number(tmp_path):
    v = B.ImageView(_layers(tmp_path))
    (where,) = insts("FROM x\nCOPY --chown=app a /a\n")
    assert B.resolve_chown(v, "1:2", where) == (1, 2)
    assert B.resolve_chown(v, "7", where) == (7, 7)
    assert B.resolve_chown(v, "app:staff", where) == (1000, 50)
    with pytest.raises(BuildError) as e:
        B.resolve_chown(v, "ghost", where)
    assert "Dockerfile:2" in str(e.value) and "ghost" in str(e.value)
