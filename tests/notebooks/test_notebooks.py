"""Every notebook under notebooks/ runs top to bottom in a real kernel (nbclient).

The kernel gets a private state root with busybox imported and its own cgroup
parent (the ``gbx`` fixture from tests/conftest.py, which also checks on teardown
that nothing leaked); /var/lib/glassbox is never touched. Notebooks that have
checks below get their outputs asserted too. Each course notebook runs twice: as the
student gets it (every exercise check must say ❌ with a hint) and with the hidden
solutions applied (every check must say ✅), and its key outputs are asserted.
"""

import glob
import os
import re

import pytest

pytestmark = pytest.mark.system

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
# the tour runs in test_tour.py, which checks its outputs between cells as it goes
NOTEBOOKS = sorted(p for p in glob.glob(os.path.join(REPO, "notebooks", "**", "*.ipynb"),
                                        recursive=True)
                   if not os.path.basename(p).startswith("00-tour"))


def _outputs(cell):
    """A cell's text: its streams as printed (one print may arrive in several pieces),
    each rich output (text/plain, text/html, …) on lines of its own."""
    texts, mimes = [], set()
    for o in cell.get("outputs", []):
        if o.get("output_type") == "stream":
            texts.append(o.get("text", ""))
        for mime, value in (o.get("data") or {}).items():
            mimes.add(mime)
            if isinstance(value, str):
                texts.append("\n" + value + "\n")
    return "".join(texts), mimes


def _cell(nb, source_start):
    return next(c for c in nb.cells if c.cell_type == "code" and
                c.source.lstrip().startswith(source_start))


def _cell_with(nb, fragment):
    return next(c for c in nb.cells if c.cell_type == "code" and fragment in c.source)


def check_quickstart(nb):
    text, mimes = _outputs(_cell_with(nb, "gj.doctor()"))
    assert "text/html" in mimes and "glassbox doctor" in text and "overlay" in text
    assert re.search(r"(tier|Nível \(tier\) deste laboratório):.*>full<", text), "no tier shown"
    text, _ = _outputs(_cell_with(nb, "%container run --rm busybox echo hello"))
    assert "hello" in text and ("exit code 0" in text or "código de saída 0" in text)
    text, mimes = _outputs(_cell(nb, "%container ps -a"))
    assert "text/html" in mimes and ("<table" in text or "(none)" in text or "(nenhum)" in text)
    _, mimes = _outputs(_cell_with(nb, "gj.layers("))
    assert "image/png" in mimes                      # the layer diagram


def _tagged(nb, tag):
    return [c for c in nb.cells if c.cell_type == "code" and tag in c.metadata.get("tags", [])]


def check_course(nb, solved: bool):
    """A course notebook (00-not-a-vm, 01-12) with exercises. As is (``solved`` False): every check
    said ❌ with its hint and nothing said ✅ (the checks are not vacuous, and Run All
    leaves the exercise to the student). With each attempt replaced by its hidden
    solution: every check said ✅. Both: no traceback, nothing left behind."""
    text = "".join(_outputs(c)[0] for c in nb.cells if c.cell_type == "code")
    checks = _tagged(nb, "check")
    assert checks, "no exercise check in this notebook"
    assert len(_tagged(nb, "solution")) == len(checks), "every exercise has a hidden solution"
    for c in _tagged(nb, "solution"):
        assert c.metadata["jupyter"]["source_hidden"] is True
    for c in checks:
        out = _outputs(c)[0]
        if solved:
            assert "✅" in out and "❌" not in out, f"the solution did not pass: {out}"
        else:
            assert "❌" in out and "✅" not in out, \
                f"the check passed before anything was done: it checks nothing ({out})"
            assert len(out.split("❌", 1)[1].strip()) > 10, f"❌ without a hint: {out}"
    if not solved:
        assert "✅" not in text, "something passed in the unsolved run"
    assert "left behind: nothing" in text or "ficou para trás: nada" in text, text[-500:]
    assert "Traceback" not in text


ENGLISH_IN_PT = ["left behind", "listening on", "registry stopped", "daemon exited", "still there?",
                 "mount inside", "exit code", "cgroup version on this machine", "character device?",
                 "of one core", "host made:", "host queues", "from outside the network",
                 "what it allows", "tier as nobody", "you are uid", "Docker's pieces", "the chain of parents",
                 "from the lower layer", "written on the host", "machine B (empty)", "lost:"]
"""Phrases the course's own cells used to print in English in the pt-BR notebooks."""

LIVE_CHART_FALLBACK = re.compile(r"^monitor of \S+ \([0-9a-f]{12}\): a live chart in JupyterLab.*$", re.M)
"""The monitor's text/plain line for front ends without the lab's chart (livechart.py, not
yet in the catalogue): the one English line a pt-BR notebook may still show."""


def english_left(nb) -> list[str]:
    """What a pt-BR notebook's outputs still say in English: the English text of any
    message in the catalogue (glassbox.jupyter.messages), or a phrase the course's own cells
    used to print untranslated."""
    from test_messages import english_fragments
    text = LIVE_CHART_FALLBACK.sub("", _all_text(nb))
    def said(phrase):           # a whole phrase: "no limit" is not in "no limite"
        return re.search(r"(?<!\w)" + re.escape(phrase) + r"(?!\w)", text)
    found = [f"{key}: {frag!r}" for key, frag in english_fragments().items() if said(frag)]
    return found + [repr(p) for p in ENGLISH_IN_PT if said(p)]


def _all_text(nb) -> str:
    """Every output of the code cells: printed text, HTML tables and text/plain reprs."""
    return "\n".join(_outputs(c)[0] for c in nb.cells if c.cell_type == "code")


def key_02(nb):
    text = _all_text(nb)
    assert re.search(r"exit code: 137\s+OOMKilled: True", text) or \
        re.search(r"código de saída: 137\s+OOMKilled: True", text), "no exit 137 + OOMKilled"
    assert re.search(r"^true 137\s*$", text, re.M | re.I), "inspect did not say OOMKilled 137"
    # the live charts, drawn from the cgroup's own readings (v1 files here, v2 in the guest)
    charts = [c.source for c in nb.cells if c.cell_type == "code" and "image/png" in _outputs(c)[1]]
    assert any("OOM kill" in s for s in charts), "no PNG of memory used up to the OOM kill"
    assert any("--cpus" in s for s in charts), "no PNG of CPU % per --cpus"
    assert any("mon.show()" in s for s in charts), "no PNG of the live monitor"


def key_03(nb):
    text = _all_text(nb)
    assert re.search(r"(character device|dispositivo de caractere)\?\s*True.*\(0, 0\)", text), \
        "no 0,0 whiteout shown"


def key_04(nb):
    text = _all_text(nb)
    assert ("sha256 of its bytes matches: True" in text or "sha256 dos bytes confere: True" in text)
    assert ("matches: False" not in text and "confere: False" not in text)
    assert ("image id == config digest: True" in text or "id da imagem == digest da config: True"
            in text)


def key_05(nb):
    assert "CACHED" in _all_text(nb)


def key_12(nb):
    text = _all_text(nb)
    assert "OOM" in text and ("CPU share %" in text or "fatia da CPU" in text)


KEY_OUTPUTS = {"02": key_02, "03": key_03, "04": key_04, "05": key_05, "12": key_12}


def _solved(nb):
    """The notebook with every attempt cell replaced by a call of its hidden solution."""
    import copy
    nb = copy.deepcopy(nb)
    attempts = _tagged(nb, "attempt")
    assert attempts, "no attempt cell"
    for c in attempts:
        c.source = f"solution({c.metadata['glassbox']['exercise']})"
    return nb


CHECKS = {"00-quickstart.ipynb": check_quickstart}
COURSE = [p for p in NOTEBOOKS if os.path.basename(p)[:2].isdigit()
          and not os.path.basename(p).startswith(("00-quickstart", "00-tour"))]
"""The notebooks with exercises: 00-not-a-vm and 01-12."""


def _execute(nb, path, gbx, tmp_path):
    from nbclient import NotebookClient
    # the kernel runs in a copy of the notebook's folder: files it writes stay in tmp
    workdir = tmp_path / "nb"
    import shutil
    shutil.copytree(os.path.dirname(path), workdir)
    env = dict(gbx.env, MPLBACKEND="module://matplotlib_inline.backend_inline")
    client = NotebookClient(nb, timeout=300, kernel_name="python3",
                            resources={"metadata": {"path": str(workdir)}})
    client.execute(env=env)
    out = os.environ.get("GLASSBOX_NB_OUT")     # keep the executed notebook, to read its outputs
    if out:
        import nbformat
        os.makedirs(out, exist_ok=True)
        lang = os.path.basename(os.path.dirname(path))
        nbformat.write(nb, os.path.join(out, f"{lang}.{tmp_path.name}.{os.path.basename(path)}"))
    return nb


@pytest.mark.parametrize("path", [p for p in NOTEBOOKS if p not in COURSE],
                         ids=[os.path.relpath(p, REPO) for p in NOTEBOOKS if p not in COURSE])
def test_notebook_runs(path, gbx, tmp_path):
    import nbformat
    nb = _execute(nbformat.read(path, as_version=4), path, gbx, tmp_path)
    check = CHECKS.get(os.path.basename(path))
    if check:
        check(nb)
    if os.path.basename(os.path.dirname(path)) == "pt-BR":
        assert not english_left(nb), f"English in a pt-BR notebook's outputs: {english_left(nb)}"


@pytest.mark.parametrize("solved", [False, True], ids=["as-is", "solved"])
@pytest.mark.parametrize("path", COURSE, ids=[os.path.relpath(p, REPO) for p in COURSE])
def test_course_notebook(path, solved, gbx, tmp_path):
    """Each course notebook twice: as the student gets it, and with the solutions."""
    import nbformat
    nb = nbformat.read(path, as_version=4)
    nb = _execute(_solved(nb) if solved else nb, path, gbx, tmp_path)
    check_course(nb, solved)
    key = KEY_OUTPUTS.get(os.path.basename(path)[:2])
    if key:
        key(nb)
    if os.path.basename(os.path.dirname(path)) == "pt-BR":
        assert not english_left(nb), f"English in a pt-BR notebook's outputs: {english_left(nb)}"


def test_there_is_a_notebook():
    assert any(p.endswith("00-quickstart.ipynb") for p in NOTEBOOKS)


def test_the_final_projects_check_follows_the_push_and_the_pull(gbx, tmp_path):
    """14's check, step by step: everything but the shipping done → it asks for the push;
    pushed → it asks for the pull on machine B; pulled → ✅ with the pushed digest."""
    import nbformat
    path = os.path.join(REPO, "notebooks", "en", "14-final-project.ipynb")
    nb = nbformat.read(path, as_version=4)
    stored = _tagged(nb, "solution")[0].source.split("r'''", 1)[1].rsplit("'''", 1)[0]
    steps = stored.strip("\n").splitlines()
    assert steps[-2].startswith("!{GB} push") and steps[-1].startswith("!{GB} --root {MACHINE_B} pull")
    _tagged(nb, "attempt")[0].source = "\n".join(steps[:-2])          # built, run, not shipped
    at = nb.cells.index(_tagged(nb, "check")[0])
    nb.cells[at + 1:at + 1] = [
        nbformat.v4.new_code_cell("!{GB} push -q {REG}/{P}-web:1 > /dev/null\ncheck_14()"),
        nbformat.v4.new_code_cell("!{GB} --root {MACHINE_B} pull -q {REG}/{P}-web:1 > /dev/null\ncheck_14()")]
    nb = _execute(nb, path, gbx, tmp_path)
    said = [_outputs(c)[0] for c in nb.cells[at:at + 3]]
    assert "❌" in said[0] and "has no nb14-web:1" in said[0] and "push it" in said[0], said[0]
    assert "❌" in said[1] and "machine B has no" in said[1] and "pull it there" in said[1], said[1]
    assert "✅" in said[2] and "with the digest that was pushed" in said[2], said[2]
    assert "left behind: nothing" in _all_text(nb)
