"""notebooks/00-tour.ipynb, executed cell by cell with its outputs *and* the engine checked.

test_notebooks.py runs every other notebook top to bottom; this test runs the tour
one cell at a time so it can look at the state store between cells (the image
exists right after its build cell, the containers and images are gone after cleanup)
and assert on what each cell showed: the step log with CACHED, "hi" and exit code 0,
the limit changed live, a chart PNG per monitored container with the OOM kill, and
the layer diagram PNGs. The kernel gets the private root of the ``gbx`` fixture.
"""

import base64
import os
import shutil

import pytest

from test_notebooks import REPO, _outputs

pytestmark = pytest.mark.system

TOUR = os.path.join(REPO, "notebooks", "00-tour.ipynb")


def _find(nb, start: str) -> int:
    for i, c in enumerate(nb.cells):
        if c.cell_type == "code" and c.source.lstrip().startswith(start):
            return i
    raise AssertionError(f"00-tour has no code cell starting with {start!r}")


def _pngs(cell) -> list[bytes]:
    out = []
    for o in cell.get("outputs", []):
        data = (o.get("data") or {}).get("image/png")
        if data:
            out.append(base64.b64decode(data))
    return out


def _assert_png(blob: bytes, what: str) -> None:
    assert blob[:8] == b"\x89PNG\r\n\x1a\n", f"{what}: not a PNG"
    import struct
    w, h = struct.unpack(">II", blob[16:24])          # the IHDR chunk
    assert w >= 200 and h >= 100, f"{what}: a {w}x{h} picture is too small to be a chart"


def test_tour_notebook(gbx, tmp_path):
    import nbformat
    from nbclient import NotebookClient

    nb = nbformat.read(TOUR, as_version=4)
    workdir = tmp_path / "nb"            # the build context (the notebook's folder), in tmp
    workdir.mkdir()
    shutil.copy(TOUR, workdir)
    env = dict(gbx.env, MPLBACKEND="module://matplotlib_inline.backend_inline")
    eng = gbx.engine
    build1 = _find(nb, "%%dockerfile -t tour:1")
    build2 = _find(nb, "%%dockerfile -t tour:2")
    hog = _find(nb, "c = %container run -d")
    seen, problems = {}, []

    def after_cell(cell, cell_index, **_):
        """Look at the state store right after the cells that change it."""
        try:
            if cell_index == build1:
                seen["tour:1"] = eng.images.resolve("tour:1").id   # NotFound: no image
            elif cell_index == build2:
                seen["tour:2"] = eng.images.resolve("tour:2").id
            elif cell_index == hog:
                c = next(c for c in eng.containers.list() if c.name == "hog")
                seen["hog memory"] = (c.config.get("HostConfig") or {}).get("Memory")
        except Exception as e:  # noqa: BLE001 - reported below, after the kernel is gone
            problems.append(f"after cell {cell_index}: {type(e).__name__}: {e}")

    client = NotebookClient(nb, timeout=120, kernel_name="python3",
                            resources={"metadata": {"path": str(workdir)}},
                            on_cell_executed=after_cell)
    client.execute(env=env)
    assert not problems, problems
    assert seen["hog memory"] == 64 * 2**20

    # no cell showed a glassbox error box (magics display errors instead of raising)
    for c in nb.cells:
        text, _ = _outputs(c)
        assert "<b>Error:</b>" not in text, f"cell {c.source[:60]!r} showed an error: {text}"

    # 1. the build: step log, then the layer diagram
    text, mimes = _outputs(nb.cells[build1])
    assert "[2/3] RUN echo hi > /hi" in text and "Successfully tagged tour:1" in text
    assert seen["tour:1"].split(":")[-1][:12] in text
    for png in _pngs(nb.cells[build1]):
        _assert_png(png, "tour:1 layer diagram")
    assert _pngs(nb.cells[build1]), "no layer diagram after the build"

    # 2. run --rm: the output and the exit code
    text, _ = _outputs(nb.cells[_find(nb, "%container run --rm tour:1")])
    assert "hi" in text.split() and "exit code 0" in text

    # 3. the rebuild reuses the cached layer, and only the new step runs
    text, _ = _outputs(nb.cells[build2])
    assert "[2/4] CACHED RUN echo hi > /hi" in text
    assert "[3/4] RUN echo bye > /bye" in text and "CACHED RUN echo bye" not in text
    assert seen["tour:2"] != seen["tour:1"]

    # 4. the slider changed the running container's limit
    text, _ = _outputs(nb.cells[_find(nb, "sl.memory.value = 96")])
    assert "cgroup memory limit now: 96 MiB" in text

    # 5. the ps table lists hog
    text, mimes = _outputs(nb.cells[_find(nb, "%container ps -a")])
    assert "text/html" in mimes and "<table" in text and "hog" in text

    # 6. the layer diagram with three images and hog's R/W layer
    cell = nb.cells[_find(nb, 'glassbox.jupyter.layers("tour:1"')]
    text, _ = _outputs(cell)
    assert "R/W of hog" in text
    pngs = _pngs(cell)
    assert len(pngs) == 1
    _assert_png(pngs[0], "layer diagram")

    # the monitor chart of hog after it exited: exit code 0, not OOM killed
    cell = nb.cells[_find(nb, "m.wait(")]
    text, _ = _outputs(cell)
    assert "hog exited with code 0 - OOM killed: False" in text
    pngs = _pngs(cell)
    assert len(pngs) == 1
    _assert_png(pngs[0], "hog's chart")

    # 7. the OOM experiment: 137, OOMKilled, and its chart
    cell = nb.cells[_find(nb, "o = %container run -d -m 24m")]
    text, _ = _outputs(cell)
    assert "oom exited with code 137 - OOM killed: True" in text
    pngs = _pngs(cell)
    assert len(pngs) == 1
    _assert_png(pngs[0], "OOM chart")

    # 8. cleanup: nothing of the tour is left in the store
    names = {c.name for c in eng.containers.list()}
    assert not names & {"hog", "oom"}, f"containers left: {names}"
    tags = {t for img in eng.images.list() for t in img.repo_tags}
    assert "tour:1" not in tags and "tour:2" not in tags
    text, _ = _outputs(nb.cells[_find(nb, "%container images")])
    assert "busybox" in text and "tour" not in text
