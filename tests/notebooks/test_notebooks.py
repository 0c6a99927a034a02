"""Every notebook under notebooks/ runs top to bottom in a real kernel (nbclient).

The kernel gets a private state root with busybox imported and its own cgroup
parent (the ``gbx`` fixture from tests/conftest.py, which also checks on teardown
that nothing leaked); /var/lib/glassbox is never touched. Notebooks that have
checks below get their outputs asserted too.
"""

import glob
import os

import pytest

pytestmark = pytest.mark.system

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
# the tour runs in test_tour.py, which checks its outputs between cells as it goes
NOTEBOOKS = sorted(p for p in glob.glob(os.path.join(REPO, "notebooks", "**", "*.ipynb"),
                                        recursive=True)
                   if not os.path.basename(p).startswith("00-tour"))


def _outputs(cell):
    texts, mimes = [], set()
    for o in cell.get("outputs", []):
        if o.get("output_type") == "stream":
            texts.append(o.get("text", ""))
        for mime, value in (o.get("data") or {}).items():
            mimes.add(mime)
            if isinstance(value, str):
                texts.append(value)
    return "".join(texts), mimes


def _cell(nb, source_start):
    return next(c for c in nb.cells if c.cell_type == "code" and
                c.source.lstrip().startswith(source_start))


def check_quickstart(nb):
    text, _ = _outputs(_cell(nb, "%container run --rm busybox echo hello"))
    assert "hello" in text and "exit code 0" in text
    text, mimes = _outputs(_cell(nb, "%container ps -a"))
    assert "text/html" in mimes and ("<table" in text or "(none)" in text)
    _, mimes = _outputs(_cell(nb, "import glassbox.jupyter as gj"))
    assert "image/png" in mimes                      # the layer diagram


def check_course(nb):
    """Every course notebook (01-11): its exercise check refused the untouched
    attempt cell (❌ with a hint, so the check is not vacuous), passed after the
    solution cell (✅), and the last cell found nothing of the notebook's left behind."""
    text = "".join(_outputs(c)[0] for c in nb.cells if c.cell_type == "code")
    assert "❌" in text, "the check passed before anything was done: it checks nothing"
    assert "✅" in text, "the exercise check never passed"
    assert text.index("❌") < text.rindex("✅"), "the check failed after the solution"
    assert "left behind: nothing" in text, text[-500:]
    assert "Traceback" not in text


CHECKS = {"00-quickstart.ipynb": check_quickstart}


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[os.path.relpath(p, REPO) for p in NOTEBOOKS])
def test_notebook_runs(path, gbx, tmp_path):
    import nbformat
    from nbclient import NotebookClient
    nb = nbformat.read(path, as_version=4)
    # the kernel runs in a copy of the notebook's folder: files it writes stay in tmp
    workdir = tmp_path / "nb"
    import shutil
    shutil.copytree(os.path.dirname(path), workdir)
    env = dict(gbx.env, MPLBACKEND="module://matplotlib_inline.backend_inline")
    client = NotebookClient(nb, timeout=300, kernel_name="python3",
                            resources={"metadata": {"path": str(workdir)}})
    client.execute(env=env)
    name = os.path.basename(path)
    check = CHECKS.get(name) or (check_course if name[:2].isdigit() and name[:2] != "00"
                                 else None)
    if check:
        check(nb)


def test_there_is_a_notebook():
    assert any(p.endswith("00-quickstart.ipynb") for p in NOTEBOOKS)
