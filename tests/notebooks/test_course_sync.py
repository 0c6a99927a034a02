"""The course is generated from one cell list per notebook: the committed
notebooks must match the generator, and English and Portuguese must have the
same cells in the same order."""

from __future__ import annotations

import os
import subprocess
import sys

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def test_notebooks_match_their_generator_in_both_languages():
    p = subprocess.run([sys.executable, os.path.join(REPO, "notebooks", "_build",
                                                     "make_course.py"), "--check"],
                       capture_output=True, text=True, cwd=REPO)
    assert p.returncode == 0, p.stdout + p.stderr


def test_english_and_portuguese_hold_exactly_the_same_notebooks():
    """No exemption: the quick start (00) has its pt-BR twin like every chapter."""
    en = {n for n in os.listdir(os.path.join(REPO, "notebooks", "en")) if n.endswith(".ipynb")}
    pt = {n for n in os.listdir(os.path.join(REPO, "notebooks", "pt-BR"))
          if n.endswith(".ipynb")}
    # 01-14 and 10b (the installation chapter, between networks and hello world)
    assert len([n for n in en if n[:2].isdigit() and n[:2] != "00"]) == 15
    assert "00-quickstart.ipynb" in en
    assert en == pt, sorted(en ^ pt)


def test_the_tour_has_a_portuguese_twin():
    for name in ("00-tour.ipynb", "00-tour.pt-BR.ipynb"):
        assert os.path.exists(os.path.join(REPO, "notebooks", name)), name


def test_every_exercise_hides_its_solution_above_the_attempt():
    """Run All must leave the exercise unsolved: the solution cell only stores the code
    (collapsed), the attempt cell comes after it, and its check after that."""
    import nbformat
    for lang in ("en", "pt-BR"):
        folder = os.path.join(REPO, "notebooks", lang)
        for name in sorted(os.listdir(folder)):
            if not name[:2].isdigit() or name.startswith(("00-quickstart", "00-tour")):
                continue
            nb = nbformat.read(os.path.join(folder, name), 4)
            tags = [(c.metadata.get("tags") or [None])[0] for c in nb.cells]
            assert "check" in tags, f"{lang}/{name}: no exercise"
            for i, tag in enumerate(tags):
                if tag != "solution":
                    continue
                cell = nb.cells[i]
                n = cell.metadata["glassbox"]["exercise"]
                assert cell.metadata["jupyter"]["source_hidden"] is True, f"{lang}/{name}"
                assert cell.source.splitlines()[1].startswith(f"SOLUTIONS[{n}] = r'''"), cell.source
                assert tags[i + 1:i + 3] == ["attempt", "check"], f"{lang}/{name}: {tags[i:i + 3]}"
                assert all(c.metadata["glassbox"]["exercise"] == n for c in nb.cells[i + 1:i + 3])
