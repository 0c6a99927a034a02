"""``%container`` and ``%%dockerfile`` in a real IPython shell, on a tmp state root.

No containers are started here (that needs root: tests/system/test_jupyter_system.py);
these cover parsing, tables, inspect, errors, and ``%%dockerfile`` driven by a
FAKE builder that emits the builder's progress events (the real builder is
exercised by the system tests when it is present)."""

import gzip
import io
import tarfile

import matplotlib

matplotlib.use("Agg")

import pytest  # noqa: E402

from glassbox.errors import BuildError  # noqa: E402
from glassbox.jupyter.display import ExitStatus, JSONDoc, Table, TextOutput  # noqa: E402
from glassbox.jupyter.magics import GlassboxMagics, dockerfile_parser, parse_build_args  # noqa


def tiny_tar() -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as t:
        for name, data in (("bin", None), ("bin/sh", b"#!x"), ("etc/os-release", b"ID=t\n")):
            ti = tarfile.TarInfo(name)
            if data is None:
                ti.type, ti.mode = tarfile.DIRTYPE, 0o755
                t.addfile(ti)
            else:
                ti.size, ti.mode = len(data), 0o755
                t.addfile(ti, io.BytesIO(data))
    return gzip.compress(buf.getvalue(), mtime=0)


@pytest.fixture(scope="module")
def shell():
    from IPython import get_ipython
    from IPython.testing.globalipapp import start_ipython
    return start_ipython() or get_ipython()     # created once per process


@pytest.fixture
def eng(tmp_path):
    from glassbox.engine import Engine
    e = Engine(str(tmp_path / "root"), cgroup_parent="glassbox-unit")
    e.images.import_tarball(io.BytesIO(tiny_tar()), "base:1", ['CMD ["sh"]'])
    return e


@pytest.fixture
def magics(shell, eng):
    return GlassboxMagics(shell, engine=eng)


def test_load_ext_registers_both_magics(shell):
    shell.run_line_magic("load_ext", "glassbox")
    assert "container" in shell.magics_manager.magics["line"]
    assert "dockerfile" in shell.magics_manager.magics["cell"]


def test_images_is_a_table_with_the_image(magics):
    t = magics.container("images")
    assert isinstance(t, Table)
    assert [(r["Repository"], r["Tag"]) for r in t] == [("base", "1")]
    assert "base" in t._repr_html_()


def test_ps_is_an_html_table_and_flags_pass_through(magics):
    t = magics.container("ps -a")
    assert isinstance(t, Table) and len(t) == 0
    assert magics.container("ps -a -q") is None            # text mode, empty output
    assert magics.container("ps -a --filter status=running") is not None


def test_inspect_returns_a_dict(magics, eng):
    doc = magics.container("inspect base:1")
    assert isinstance(doc, JSONDoc) and isinstance(doc, dict)
    assert doc["Id"] == eng.images.resolve("base:1").id
    docs = magics.container("image inspect base:1 base:1")
    assert isinstance(docs, list) and len(docs) == 2


def test_text_commands_return_their_text(magics):
    out = magics.container("history base:1")
    assert isinstance(out, TextOutput) and "IMAGE" in out
    assert magics.container("version").startswith("glassbox")


def test_unknown_subcommand_shows_message_and_help(magics, capsys):
    assert magics.container("frobnicate now") is None
    err = magics.last_error
    assert err is not None and "unknown command 'frobnicate'" in err.message
    assert "run" in err.detail and "Create and run a new container" in err.detail
    assert "Traceback" not in capsys.readouterr().out


def test_bad_flag_and_missing_objects_are_red_messages(magics):
    assert magics.container("run --memory lots base:1 true") is None
    assert "invalid value 'lots' for --memory" in magics.last_error.message
    assert magics.container("inspect nope") is None
    assert "No such object: nope" in magics.last_error.message
    assert magics.container("run --no-such-flag base:1") is None
    assert "unrecognized arguments" in magics.last_error.message
    assert magics.container("logs 'unbalanced") is None
    assert "cannot split" in magics.last_error.message
    assert "#b71c1c" in magics.last_error._repr_html_()


def test_help_prints_usage(magics, capsys):
    assert magics.container("") is None
    assert "usage: glassbox" in capsys.readouterr().out
    assert magics.container("run --help") is None
    assert "--memory" in capsys.readouterr().out


def test_save_needs_output_file_in_a_notebook(magics):
    assert magics.container("save base:1") is None
    assert "-o FILE" in magics.last_error.message


def test_dockerfile_line_parsing(tmp_path, monkeypatch):
    monkeypatch.setenv("FROM_ENV", "v")
    a = dockerfile_parser().parse_args(["-t", "a:1", "-t", "b", "--build-arg", "X=1",
                                        "--no-cache", "--target", "build", "--context", "ctx"])
    assert a.tag == ["a:1", "b"] and a.no_cache and a.target == "build" and a.context == "ctx"
    assert parse_build_args(["X=1", "Y=a=b", "FROM_ENV", "UNSET_ONE"]) == \
        {"X": "1", "Y": "a=b", "FROM_ENV": "v"}


class FakeBuilder:
    """A FAKE builder (stands in for glassbox.build.builder until it lands): emits the
    builder's progress events and tags the store's existing image."""

    def __init__(self, eng, fail=None):
        self.eng, self.fail, self.calls = eng, fail, []

    def build(self, context, *, dockerfile_text, tags, build_args, target, no_cache, progress):
        self.calls.append(dict(context=context, dockerfile_text=dockerfile_text, tags=tags,
                               build_args=build_args, target=target, no_cache=no_cache))
        lines = [ln for ln in dockerfile_text.splitlines() if ln.strip()]
        for i, ln in enumerate(lines, 1):
            if self.fail and self.fail in ln:
                raise BuildError("unknown instruction: " + ln.split()[0], line=i + 0, text=ln)
            progress({"type": "step", "index": i, "total": len(lines), "instruction": ln,
                      "cached": i == 1 and not no_cache})
            if ln.startswith("RUN echo"):
                progress({"type": "log", "text": ln.split("echo", 1)[1].strip() + "\n"})
        img = self.eng.images.resolve("base:1")
        for t in tags:
            self.eng.images.tag("base:1", t)
        progress({"type": "done", "image_id": img.id})
        return img


def test_dockerfile_streams_steps_marks_cached_and_draws_layers(magics, eng, tmp_path, capsys,
                                                                monkeypatch):
    shown = []
    monkeypatch.setattr("glassbox.jupyter.magics.display", shown.append)
    monkeypatch.chdir(tmp_path)
    magics.builder = FakeBuilder(eng)
    cell = "FROM base:1\nRUN echo hi\nCMD [\"cat\", \"/hi\"]\n"
    img = magics.dockerfile("-t hello:1 --build-arg A=1", cell)
    out = capsys.readouterr().out
    assert "[1/3] CACHED FROM base:1" in out
    assert "[2/3] RUN echo hi" in out and "CACHED RUN echo hi" not in out
    assert "\nhi\n" in out and "Successfully tagged hello:1" in out
    call = magics.builder.calls[0]
    assert call["context"] == str(tmp_path) and call["tags"] == ["hello:1"]
    assert call["build_args"] == {"A": "1"} and call["dockerfile_text"] == cell
    assert img.tags and "hello:1" in img.tags
    diagrams = [d for d in shown if type(d).__name__ == "Diagram"]
    assert len(diagrams) == 1 and diagrams[0]._repr_png_().startswith(b"\x89PNG")
    assert "<table" in img._repr_html_()
    magics.dockerfile("-t hello:1 --no-cache --no-diagram", cell)
    assert "CACHED" not in capsys.readouterr().out


def test_dockerfile_error_points_at_the_cell_line(magics, eng, capsys):
    magics.builder = FakeBuilder(eng, fail="BOGUS")
    assert magics.dockerfile("-t bad:1", "FROM base:1\nBOGUS thing\n") is None
    err = magics.last_error
    assert "Dockerfile:2" in err.message and "BOGUS thing" in err.message
    assert "line 3 of this cell" in err.detail


def test_dockerfile_empty_cell_and_missing_context(magics, eng):
    magics.builder = FakeBuilder(eng)
    assert magics.dockerfile("-t x", "  \n") is None
    assert "cell is empty" in magics.last_error.message
    assert magics.dockerfile("-t x --context /no/such/dir", "FROM base:1") is None
    assert "not a directory" in magics.last_error.message


def test_dockerfile_without_a_builder_says_so(shell, eng):
    class NoBuilderEngine:
        images = eng.images

        @property
        def builder(self):
            raise ModuleNotFoundError("No module named 'glassbox.build.builder'")
    m = GlassboxMagics(shell, engine=NoBuilderEngine())
    assert m.dockerfile("-t x", "FROM base:1") is None
    assert "builder is not available" in m.last_error.message


def test_exit_status_value():
    assert ExitStatus(0, id="x").ok
