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


def test_every_english_notebook_has_a_portuguese_twin():
    en = {n for n in os.listdir(os.path.join(REPO, "notebooks", "en")) if n.endswith(".ipynb")}
    pt = {n for n in os.listdir(os.path.join(REPO, "notebooks", "pt-BR"))
          if n.endswith(".ipynb")}
    assert len([n for n in en if n[:2].isdigit() and n[:2] != "00"]) == 11
    assert {n for n in en if n[:2] != "00"} == {n for n in pt if n[:2] != "00"}
