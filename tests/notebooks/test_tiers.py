"""The lab's tier in a notebook (glassbox.jupyter.tiers): ``%%needs`` runs a cell only
when the tier allows what it needs, and otherwise says why and skips it cleanly.

``GLASSBOX_TIER`` (tests only) forces a tier without probing: the unit tests force each
tier in a real IPython shell; the system test executes the quickstart with nbclient at
the user-space tier on this root machine and checks what a student there would see —
the labels, the refusal, no traceback, and a run that does not fail.
"""

from __future__ import annotations

import os

import pytest

from glassbox.errors import InvalidArgument
from glassbox.jupyter import messages, tiers


@pytest.fixture
def shell():
    # the process's one test shell, as the other IPython tests make it (a second
    # singleton of another class would break them: traitlets' MultipleInstanceError)
    from IPython import get_ipython
    from IPython.testing.globalipapp import start_ipython
    sh = start_ipython() or get_ipython()
    types = sh.display_formatter.active_types       # a terminal shell formats text only:
    sh.display_formatter.active_types = ["text/plain", "text/html"]   # a notebook's too
    sh.register_magics(tiers.TierMagics(sh))
    shown = []
    saved = sh.display_pub.publish
    sh.display_pub.publish = lambda data, **kw: shown.append(data)
    yield sh, shown
    sh.display_pub.publish = saved
    sh.display_formatter.active_types = types
    for name in ("x", "y"):
        sh.user_ns.pop(name, None)


@pytest.fixture
def lang():
    saved = messages._current
    yield messages.language
    messages._current = saved


def test_each_need_is_allowed_by_the_tiers_that_grant_it():
    assert [n for n in tiers.NEEDS if tiers.allows(n, "full")] == list(tiers.NEEDS)
    assert not [n for n in tiers.NEEDS if tiers.allows(n, "user-space")]
    assert tiers.allows("limits", "rootless (limits)") and not tiers.allows("limits", "rootless")
    assert tiers.allows("networks", "rootless") and not tiers.allows("root", "rootless (limits)")
    with pytest.raises(InvalidArgument, match="unknown need 'gpu'"):
        tiers.allows("gpu", "full")


def test_the_forced_tier_is_checked(monkeypatch):
    monkeypatch.setenv("GLASSBOX_TIER", "rootless")
    assert tiers.tier() == "rootless"
    monkeypatch.setenv("GLASSBOX_TIER", "vm")
    with pytest.raises(InvalidArgument, match="GLASSBOX_TIER='vm' is not a tier"):
        tiers.tier()


def test_an_allowed_cell_runs_as_if_the_line_were_not_there(shell, monkeypatch):
    sh, shown = shell
    monkeypatch.setenv("GLASSBOX_TIER", "rootless (limits)")
    res = sh.run_cell("%%needs limits\nx = 20\ny = x + 1\ny * 2")
    assert res.success and res.result == 42 and sh.user_ns["y"] == 21
    assert not shown                                   # silent


def test_a_failing_allowed_cell_still_fails(shell, monkeypatch):
    sh, _ = shell
    monkeypatch.setenv("GLASSBOX_TIER", "full")
    res = sh.run_cell("%%needs root\nx = 1\n1 / 0")
    assert not res.success and isinstance(res.error_in_exec, ZeroDivisionError)


def test_a_refused_cell_says_why_and_is_skipped_without_an_error(shell, monkeypatch, lang):
    sh, shown = shell
    monkeypatch.setenv("GLASSBOX_TIER", "rootless")
    lang("en")
    res = sh.run_cell("%%needs limits\nx = 1\nraise SystemExit('must not run')")
    assert res.success and "x" not in sh.user_ns            # skipped, and no error
    text = shown[-1]["text/plain"]
    assert "Cell skipped: it needs cgroup limits" in text and "tier is rootless" in text
    assert "Why: no cgroup subtree is delegated" in text and "Fix: as root: glassbox system" in text
    assert "🔒 needs cgroup limits" in shown[-1]["text/html"]
    lang("pt-BR")
    res = sh.run_cell("%%needs root\nx = 1")
    assert res.success and "x" not in sh.user_ns
    text = shown[-1]["text/plain"]
    assert "Célula pulada: ela precisa de root no host" in text and "Como resolver:" in text


def test_user_space_refuses_every_need_and_points_at_the_doctor(shell, monkeypatch, lang):
    sh, shown = shell
    monkeypatch.setenv("GLASSBOX_TIER", "user-space")
    lang("en")
    for need in tiers.NEEDS:
        assert sh.run_cell(f"%%needs {need}\nx = 1").success and "x" not in sh.user_ns
        assert "no container can start on this machine" in shown[-1]["text/plain"]
        assert "glassbox doctor tells what is missing" in shown[-1]["text/plain"]


def test_a_needs_line_without_a_need_is_a_clear_error(shell):
    sh, _ = shell
    res = sh.run_cell("%%needs\nx = 1")
    assert isinstance(res.error_in_exec, InvalidArgument) and "say what the cell needs" in \
        str(res.error_in_exec)


@pytest.mark.system
def test_the_quickstart_at_the_user_space_tier_labels_and_skips(gbx, tmp_path):
    """The quickstart executed by nbclient (as CI does) with the tier forced to
    user-space: the run completes, the container cell is skipped with the reason, the
    doctor shows the forced tier, and the cells that need no container still work."""
    import shutil

    import nbformat
    from nbclient import NotebookClient

    from test_notebooks import REPO, _outputs

    path = os.path.join(REPO, "notebooks", "en", "00-quickstart.ipynb")
    nb = nbformat.read(path, as_version=4)
    workdir = tmp_path / "nb"
    shutil.copytree(os.path.dirname(path), workdir)
    env = dict(gbx.env, GLASSBOX_TIER="user-space", MPLBACKEND="module://matplotlib_inline.backend_inline")
    NotebookClient(nb, timeout=300, kernel_name="python3",
                   resources={"metadata": {"path": str(workdir)}}).execute(env=env)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert not [o for c in code for o in c.outputs if o.output_type == "error"]
    run = next(i for i, c in enumerate(nb.cells) if "%container run --rm" in c.source)
    assert "🔒 needs containers" in nb.cells[run - 1].source          # the label above it
    text, _ = _outputs(nb.cells[run])
    assert "Cell skipped: it needs a container to start" in text and "user-space" in text
    assert "hello" not in text                                       # it did not run
    text, _ = _outputs(next(c for c in code if "gj.doctor()" in c.source))
    assert "user-space" in text and "forced by GLASSBOX_TIER" in text
    _, mimes = _outputs(next(c for c in code if "gj.layers(" in c.source))
    assert "image/png" in mimes                       # a layer tree needs no container
    assert not gbx.engine.containers.list(all=True)


def test_every_gated_course_cell_has_its_label_above():
    """In every generated notebook, a cell that starts with ``%%needs NEED`` has the 🔒
    label of NEED, in the notebook's language, in the nearest markdown cell above it, and
    its need is one the magic knows."""
    import glob

    import nbformat

    from test_notebooks import REPO

    gated = 0
    for path in glob.glob(os.path.join(REPO, "notebooks", "**", "*.ipynb"), recursive=True):
        nb = nbformat.read(path, as_version=4)
        lang = nb.metadata.get("glassbox", {}).get("lang", "en")
        above = ""
        for c in nb.cells:
            if c.cell_type == "markdown":
                above = c.source
            elif c.source.startswith("%%needs"):
                need = c.source.split("\n", 1)[0].split()[1]
                assert need in tiers.NEEDS, f"{path}: %%needs {need}"
                want = messages.CATALOGUE[f"need.label.{need}"][lang]
                assert want in above, f"{os.path.relpath(path, REPO)}: no {want!r} above {c.id}"
                gated += 1
    assert gated >= 20, gated                   # nb01-03, 10, 12, 13 and the quickstart
