"""``glassbox build`` end to end: real RUN containers, the layer cache, the CLI output.

Every test gets its own state root with busybox imported (the ``gbx`` fixture), builds
with the real CLI (``gbx.cli``) or the Engine API (``gbx.engine.builder``), and the
fixture checks on teardown that no container, mount, cgroup or shim was left.
"""

from __future__ import annotations

import io
import json
import os
import tarfile
import uuid

import pytest

pytestmark = pytest.mark.system



@pytest.fixture(autouse=True)
def classic_output(gbx):
    """These tests read docker's legacy builder text (``--progress classic``)."""
    gbx.env["GLASSBOX_BUILD_PROGRESS"] = "classic"

def write_ctx(root, files: dict[str, str | bytes]) -> str:
    os.makedirs(root, exist_ok=True)
    for name, data in files.items():
        path = os.path.join(root, name)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "wb") as f:
            f.write(data.encode() if isinstance(data, str) else data)
    return str(root)


def tag() -> str:
    return f"t{uuid.uuid4().hex[:8]}:1"


def build_api(gbx, ctx, **kw):
    events = []
    img = gbx.engine.builder.build(ctx, progress=events.append, **kw)
    return img, events


def steps(events):
    return [e for e in events if e["type"] == "step"]


def cached_flags(events):
    return [(e["instruction"].split()[0], e["cached"]) for e in steps(events)]


def layers_of(gbx, ref) -> list[str]:
    doc = json.loads(gbx.out("image", "inspect", ref))
    doc = doc[0] if isinstance(doc, list) else doc
    return doc["RootFS"]["Layers"]


APP = """\
FROM busybox
ENV GREETING=hello
WORKDIR /app
COPY a.txt ./
COPY sub/ ./sub/
RUN echo "$GREETING from RUN" > /app/run.txt && cat /app/a.txt
CMD ["sh", "-c", "cat /app/run.txt /app/a.txt /app/sub/b.txt"]
"""


def test_build_then_run_and_second_build_fully_cached(gbx, tmp_path):
    ctx = write_ctx(tmp_path / "ctx", {"Dockerfile": APP, "a.txt": "file a\n",
                                       "sub/b.txt": "file b\n"})
    t = tag()
    first = gbx.cli("build", "-t", t, ctx)
    assert first.returncode == 0, first.stderr.decode()
    out = first.stdout.decode()
    assert "Step 1/7 : FROM busybox" in out
    assert "Step 6/7 : RUN" in out and " ---> Running in " in out
    assert "Removing intermediate container" in out
    assert "file a" in out                      # RUN output streamed
    assert "Using cache" not in out
    assert f"Successfully tagged {t}" in out
    built_id = out.split("Successfully built ")[1].split()[0]
    assert gbx.out("run", "--rm", t) == "hello from RUN\nfile a\nfile b\n"
    # a second CLI process: every step after FROM comes from the cache
    second = gbx.cli("build", "-t", t, ctx)
    assert second.returncode == 0, second.stderr.decode()
    out2 = second.stdout.decode()
    assert out2.count(" ---> Using cache") == 6
    assert "Running in" not in out2
    assert f"Successfully built {built_id}" in out2
    assert gbx.out("ps", "-a", "-q") == ""


def test_editing_one_copied_file_reruns_that_step_and_later_only(gbx, tmp_path):
    ctx = write_ctx(tmp_path / "ctx", {
        "Dockerfile": "FROM busybox\nCOPY a.txt /a.txt\nRUN cat /a.txt > /a.copy\n"
                      "COPY b.txt /b.txt\nRUN cat /b.txt > /b.copy\nCMD [\"cat\", \"/b.copy\"]\n",
        "a.txt": "a\n", "b.txt": "b1\n"})
    img1, ev1 = build_api(gbx, ctx)
    assert [c for _, c in cached_flags(ev1)] == [False] * 6
    img2, ev2 = build_api(gbx, ctx)
    assert img2.id == img1.id
    assert [c for _, c in cached_flags(ev2)] == [False, True, True, True, True, True]
    with open(os.path.join(ctx, "b.txt"), "w") as f:
        f.write("b2\n")
    img3, ev3 = build_api(gbx, ctx, tags=[tag()])
    assert cached_flags(ev3) == [("FROM", False), ("COPY", True), ("RUN", True),
                                 ("COPY", False), ("RUN", False), ("CMD", False)]
    assert img3.id != img1.id
    assert gbx.out("run", "--rm", img3.id) == "b2\n"
    # touching without changing content keeps the cache (mtime is not in the key)
    os.utime(os.path.join(ctx, "a.txt"), (1, 1))
    img4, ev4 = build_api(gbx, ctx)
    assert img4.id == img3.id


def test_no_cache_reruns_everything(gbx, tmp_path):
    ctx = write_ctx(tmp_path / "ctx", {"Dockerfile": "FROM busybox\nRUN echo one\n"
                                                     "ENV X=1\n"})
    assert gbx.cli("build", ctx).returncode == 0
    out = gbx.out("build", "--no-cache", ctx)
    assert "Using cache" not in out
    assert "Running in" in out and "one" in out


def test_build_arg_used_in_run_and_part_of_the_cache_key(gbx, tmp_path):
    ctx = write_ctx(tmp_path / "ctx", {"Dockerfile": "FROM busybox\nARG V=default\n"
                                       "RUN echo \"v=$V\" > /v\nCMD [\"cat\", \"/v\"]\n"})
    t1, t2 = tag(), tag()
    gbx.out("build", "-t", t1, "--build-arg", "V=one", ctx)
    assert gbx.out("run", "--rm", t1) == "v=one\n"
    out = gbx.out("build", "-t", t2, "--build-arg", "V=two", ctx)
    assert "Running in" in out          # a different value: the RUN runs again
    assert gbx.out("run", "--rm", t2) == "v=two\n"
    again = gbx.out("build", "--build-arg", "V=one", ctx)
    assert again.count("Using cache") == 3 and "Running in" not in again
    hist = gbx.out("history", "--no-trunc", t2)
    assert "|1 V=two /bin/sh -c echo" in hist   # Docker's history form for build args
    unused = gbx.cli("build", "--build-arg", "NOPE=1", ctx)
    assert "[Warning] One or more build-args [NOPE] were not consumed" in \
        unused.stderr.decode()


MULTI = """\
FROM busybox AS builder
RUN echo "from builder" > /artifact
FROM busybox AS unused
RUN echo SHOULD-NOT-RUN > /nothing
FROM busybox AS runtime
COPY --from=builder /artifact /srv/artifact
CMD ["cat", "/srv/artifact"]
FROM runtime AS debug
RUN echo debug > /debug
"""


def test_multi_stage_target_only_target_tagged_unused_skipped(gbx, tmp_path):
    ctx = write_ctx(tmp_path / "ctx", {"Dockerfile": MULTI})
    t = tag()
    img, events = build_api(gbx, ctx, tags=[t], target="runtime")
    skipped = {e["stage"] for e in events if e["type"] == "skip"}
    assert skipped == {"unused", "debug"}
    logs = "".join(e["text"] for e in events if e["type"] == "log")
    assert "SHOULD-NOT-RUN" not in logs
    assert {e["stage"] for e in steps(events)} == {"builder", "runtime"}
    assert gbx.out("run", "--rm", t) == "from builder\n"
    tagged = [i for i in gbx.engine.images.list() if i.repo_tags]
    assert sorted(x for i in tagged for x in i.repo_tags) == sorted(["busybox:latest", t])
    # the CLI: default target is the last stage, which builds on runtime
    out = gbx.out("build", "-t", tag(), ctx)
    assert "Skipping stage unused" in out and "SHOULD-NOT-RUN" not in out


def test_copy_outside_context_is_an_error_with_file_and_line(gbx, tmp_path):
    outside = tmp_path / "secret.txt"
    outside.write_text("secret\n")
    ctx = write_ctx(tmp_path / "ctx", {"Dockerfile": "FROM busybox\nCOPY ../secret.txt /s\n"})
    r = gbx.cli("build", ctx)
    assert r.returncode == 1
    err = r.stderr.decode()
    assert "Dockerfile:2" in err and "COPY ../secret.txt /s" in err
    assert "outside the build context" in err
    ctx2 = write_ctx(tmp_path / "ctx2", {"Dockerfile": "FROM busybox\nRUN true\n"
                                                       "COPY link /s\n"})
    os.symlink(str(outside), os.path.join(ctx2, "link"))
    r2 = gbx.cli("build", ctx2)
    assert r2.returncode == 1
    err2 = r2.stderr.decode()
    assert "Dockerfile:3" in err2 and "outside the build context" in err2
    assert gbx.out("ps", "-a", "-q") == ""


def test_dockerignore_is_respected(gbx, tmp_path):
    ctx = write_ctx(tmp_path / "ctx", {
        "Dockerfile": "FROM busybox\nCOPY . /app\nCMD [\"ls\", \"-R\", \"/app\"]\n",
        ".dockerignore": "*.log\nsecret/\n!keep.log\n",
        "app.py": "print(1)\n", "debug.log": "x\n", "keep.log": "k\n",
        "secret/key": "k\n"})
    t = tag()
    gbx.out("build", "-t", t, ctx)
    listing = gbx.out("run", "--rm", t)
    assert "app.py" in listing and "keep.log" in listing
    assert "debug.log" not in listing and "secret" not in listing


def test_failing_run_exits_1_quotes_line_tags_nothing_leaves_nothing(gbx, tmp_path):
    ctx = write_ctx(tmp_path / "ctx", {"Dockerfile": "FROM busybox\nENV A=1\n"
                                       "RUN echo about-to-fail && exit 3\nCMD [\"true\"]\n"})
    t = tag()
    r = gbx.cli("build", "-t", t, ctx)
    assert r.returncode == 1
    err = r.stderr.decode()
    assert ("The command '/bin/sh -c echo about-to-fail && exit 3' returned a non-zero "
            "code: 3") in err
    assert "Dockerfile:3" in err and "RUN echo about-to-fail && exit 3" in err
    assert "about-to-fail" in r.stdout.decode()
    assert not gbx.engine.images.exists(t)
    assert gbx.out("ps", "-a", "-q") == ""
    tmp = os.path.join(gbx.root, "build-tmp")
    assert not os.path.isdir(tmp) or os.listdir(tmp) == []


def _tar_of(files: dict[str, str]) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tf:
        for name, text in files.items():
            data = text.encode()
            ti = tarfile.TarInfo(name)
            ti.size, ti.mode = len(data), 0o644
            tf.addfile(ti, io.BytesIO(data))
    return buf.getvalue()


def test_build_context_tar_on_stdin_and_bare_dockerfile(gbx):
    t = tag()
    tar = _tar_of({"Dockerfile": "FROM busybox\nCOPY msg /msg\nCMD [\"cat\", \"/msg\"]\n",
                   "msg": "from a tar\n"})
    gbx.out("build", "-t", t, "-", input=tar)
    assert gbx.out("run", "--rm", t) == "from a tar\n"
    t2 = tag()
    gbx.out("build", "-t", t2, "-", input=b"FROM busybox\nCMD [\"echo\", \"bare\"]\n")
    assert gbx.out("run", "--rm", t2) == "bare\n"


def test_quiet_and_iidfile(gbx, tmp_path):
    ctx = write_ctx(tmp_path / "ctx", {"Dockerfile": "FROM busybox\nRUN echo noisy\n"})
    iid = tmp_path / "iid"
    out = gbx.out("build", "-q", "--iidfile", str(iid), ctx)
    assert out.startswith("sha256:") and out.strip() == iid.read_text()
    assert len(out.strip()) == 71 and "noisy" not in out and "Step" not in out


def test_metadata_steps_add_no_layers_and_history_shows_steps(gbx, tmp_path):
    ctx = write_ctx(tmp_path / "ctx", {"Dockerfile": """\
FROM busybox
LABEL org.example.team=lab
ENV A=1 B="two words"
EXPOSE 8080 53/udp
USER nobody
WORKDIR /srv
VOLUME /data
STOPSIGNAL SIGINT
HEALTHCHECK --interval=5s CMD true
ENTRYPOINT ["echo"]
CMD ["hi"]
MAINTAINER someone
""", "x": "x"})
    t = tag()
    gbx.out("build", "-t", t, "--label", "from.cli=yes", ctx)
    base_layers = layers_of(gbx, "busybox")
    assert layers_of(gbx, t) == base_layers
    cfg = gbx.engine.images.resolve(t).config
    c = cfg["config"]
    assert c["Labels"] == {"org.example.team": "lab", "from.cli": "yes"}
    assert "A=1" in c["Env"] and "B=two words" in c["Env"]
    assert c["ExposedPorts"] == {"8080/tcp": {}, "53/udp": {}}
    assert c["User"] == "nobody" and c["WorkingDir"] == "/srv"
    assert c["Volumes"] == {"/data": {}} and c["StopSignal"] == "SIGINT"
    assert c["Healthcheck"]["Test"] == ["CMD-SHELL", "true"]
    assert c["Healthcheck"]["Interval"] == 5_000_000_000
    assert c["Entrypoint"] == ["echo"] and c["Cmd"] == ["hi"]
    assert cfg["author"] == "someone"
    new = cfg["history"][-12:]
    assert all(h.get("empty_layer") for h in new)
    hist = gbx.out("history", "--no-trunc", t)
    for word in ("LABEL org.example.team=lab", "EXPOSE 8080/tcp 53/udp", "WORKDIR /srv",
                 "USER nobody", 'CMD ["hi"]'):
        assert word in hist
    # a layer step adds exactly one layer
    ctx2 = write_ctx(tmp_path / "ctx2", {"Dockerfile": "FROM busybox\nENV Z=1\nCOPY x /x\n"
                                        "RUN touch /y\nENV W=2\n", "x": "x"})
    t2 = tag()
    gbx.out("build", "-t", t2, ctx2)
    assert len(layers_of(gbx, t2)) == len(base_layers) + 2
    assert gbx.out("run", "--rm", "--user", "0", t, "x") == "x\n"   # ENTRYPOINT echo


def test_onbuild_triggers_run_in_the_child_build(gbx, tmp_path):
    parent = write_ctx(tmp_path / "parent", {
        "Dockerfile": "FROM busybox\nONBUILD COPY msg /msg\nONBUILD RUN echo triggered > /t\n"})
    pt = f"onbuild{uuid.uuid4().hex[:6]}:base"
    gbx.out("build", "-t", pt, parent)
    assert gbx.engine.images.resolve(pt).config["config"]["OnBuild"] == [
        "COPY msg /msg", "RUN echo triggered > /t"]
    child = write_ctx(tmp_path / "child", {
        "Dockerfile": f"FROM {pt}\nCMD [\"cat\", \"/msg\", \"/t\"]\n", "msg": "child msg\n"})
    ct = tag()
    out = gbx.out("build", "-t", ct, child)
    assert "# Executing 2 build triggers" in out
    assert gbx.out("run", "--rm", ct) == "child msg\ntriggered\n"
    assert not gbx.engine.images.resolve(ct).config["config"].get("OnBuild")


def test_from_scratch_with_copy_and_copy_from_image(gbx, tmp_path):
    ctx = write_ctx(tmp_path / "ctx", {"Dockerfile": """\
FROM scratch
COPY --from=busybox /bin/busybox /bin/busybox
COPY hello.txt /hello.txt
ENTRYPOINT ["/bin/busybox"]
CMD ["cat", "/hello.txt"]
""", "hello.txt": "hello from scratch\n"})
    t = tag()
    gbx.out("build", "-t", t, ctx)
    assert len(layers_of(gbx, t)) == 2
    assert gbx.out("run", "--rm", t) == "hello from scratch\n"


def test_copy_chown_chmod_and_add_tar_and_offline_url(gbx, tmp_path):
    tar = _tar_of({"pkg/one.txt": "one\n", "pkg/two.txt": "two\n"})
    ctx = write_ctx(tmp_path / "ctx", {"Dockerfile": """\
FROM busybox
COPY --chown=nobody:nogroup --chmod=640 f.txt /data/f.txt
ADD bundle.tar.gz /opt/
RUN stat -c '%U:%G %a' /data/f.txt > /meta && cat /opt/pkg/one.txt /opt/pkg/two.txt >> /meta
CMD ["cat", "/meta"]
""", "f.txt": "f\n", "bundle.tar.gz": tar})
    t = tag()
    gbx.out("build", "-t", t, ctx)
    assert gbx.out("run", "--rm", t) == "nobody:nogroup 640\none\ntwo\n"
    bad = write_ctx(tmp_path / "bad", {"Dockerfile": "FROM busybox\n"
                                       "ADD http://127.0.0.1:1/x.tar /x\n"})
    r = gbx.cli("build", bad)
    assert r.returncode == 1
    err = r.stderr.decode()
    assert "Dockerfile:2" in err and "cannot download http://127.0.0.1:1/x.tar" in err


def test_cache_from_reuses_steps_of_an_image(gbx, tmp_path):
    ctx = write_ctx(tmp_path / "ctx", {"Dockerfile": "FROM busybox\nCOPY a /a\n"
                                       "RUN echo ran > /r\nENV E=1\n", "a": "a\n"})
    t = tag()
    gbx.out("build", "-t", t, ctx)
    # forget the local cache: as if the image had been pulled from a registry
    import shutil
    shutil.rmtree(os.path.join(gbx.root, "build-cache"))
    out = gbx.out("build", "--cache-from", t, ctx)
    assert out.count("Using cache") == 3 and "Running in" not in out
    shutil.rmtree(os.path.join(gbx.root, "build-cache"))
    out2 = gbx.out("build", ctx)
    assert "Using cache" not in out2 and "Running in" in out2


def test_bad_input_errors_name_file_and_line(gbx, tmp_path):
    cases = {
        "FROM busybox\nRUNN echo\n": ("Dockerfile:2", "RUNN"),
        "FROM busybox\nCOPY missing.txt /m\n": ("Dockerfile:2", "missing.txt"),
        "FROM busybox\nCOPY --from=nostage /x /x\n": ("Dockerfile:2", "nostage"),
        "FROM busybox\nENV A=${B:?required}\n": ("Dockerfile:2", ""),
    }
    for i, (text, (where, word)) in enumerate(cases.items()):
        ctx = write_ctx(tmp_path / f"c{i}", {"Dockerfile": text})
        r = gbx.cli("build", ctx)
        assert r.returncode == 1, text
        err = r.stderr.decode()
        assert where in err and word in err, (text, err)
    binary = write_ctx(tmp_path / "bin", {"Dockerfile": b"\x00\x01\xff\xfe"})
    r = gbx.cli("build", binary)
    assert r.returncode == 1 and "not" in r.stderr.decode()
    assert gbx.out("ps", "-a", "-q") == ""


def test_run_network_bridge_by_default_none_isolated_host_on_request(gbx, tmp_path):
    ctx = write_ctx(tmp_path / "ctx", {"Dockerfile": "FROM busybox\n"
                    "RUN tail -n +3 /proc/net/dev | cut -d: -f1 | tr -d ' ' | sort > /ifs\n"
                    "CMD [\"cat\", \"/ifs\"]\n"})
    t0, t1, t2 = tag(), tag(), tag()
    gbx.out("build", "-t", t0, ctx)       # as docker build: the default bridge
    assert gbx.out("run", "--rm", "--network", "host", t0) == "eth0\nlo\n"
    gbx.out("build", "--no-cache", "--network", "none", "-t", t1, ctx)
    assert gbx.out("run", "--rm", "--network", "host", t1) == "lo\n"   # its own netns
    gbx.out("build", "--no-cache", "--network", "host", "-t", t2, ctx)
    seen = set(gbx.out("run", "--rm", t2).split())
    # the host's interfaces (other tests may add or remove veths meanwhile: compare loosely)
    assert "lo" in seen and len(seen) > 1


def test_rmi_of_a_built_image_removes_its_build_steps(gbx, tmp_path):
    """As docker: the untagged step images go with the tag that needed them, while
    a step another image still builds on stays."""
    ctx = tmp_path / "steps"
    ctx.mkdir()
    (ctx / "Dockerfile").write_text("FROM busybox\nRUN echo 1 > /a\nRUN echo 2 > /b\n")
    gbx.out("build", "-q", "-t", "steps:1", str(ctx))
    (ctx / "Dockerfile.2").write_text("FROM busybox\nRUN echo 1 > /a\nRUN echo 3 > /c\n")
    gbx.out("build", "-q", "-f", str(ctx / "Dockerfile.2"), "-t", "steps:2", str(ctx))
    before = set(gbx.out("images", "-a", "-q").split())
    out = gbx.out("rmi", "steps:1")
    after = set(gbx.out("images", "-a", "-q").split())
    assert "Untagged: steps:1" in out and len(before - after) == 1   # the shared step stays
    gbx.out("rmi", "steps:2")
    left = set(gbx.out("images", "-a", "-q").split())
    assert left == set(gbx.out("images", "-q", "busybox").split())  # only busybox is left


def test_default_view_is_one_line_per_step_with_cached_marks(gbx, tmp_path):
    gbx.env.pop("GLASSBOX_BUILD_PROGRESS", None)
    ctx = tmp_path / "steps-view"
    ctx.mkdir()
    (ctx / "Dockerfile").write_text('FROM busybox\nRUN echo built-here\nCMD ["true"]\n')
    first = gbx.out("build", "-t", "view:1", str(ctx)).splitlines()
    assert first[0] == "[1/3] FROM busybox"
    assert first[1] == "[2/3] RUN echo built-here" and first[2] == "    │ built-here"
    assert any(l.startswith("    ✔ ") for l in first)
    assert first[-2].startswith("Successfully built ") and first[-1] == "Successfully tagged view:1"
    again = gbx.out("build", "-t", "view:1", str(ctx)).splitlines()
    assert again[:3] == ["[1/3] FROM busybox", "[2/3] CACHED RUN echo built-here",
                         '[3/3] CACHED CMD ["true"]']
