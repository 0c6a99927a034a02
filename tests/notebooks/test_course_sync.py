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
    assert len([n for n in en if n[:2].isdigit() and n[:2] != "00"]) == 11
    assert "00-quickstart.ipynb" in en
    assert en == pt, sorted(en ^ pt)


def test_the_tour_has_a_portuguese_twin():
    for name in ("00-tour.ipynb", "00-tour.pt-BR.ipynb"):
        assert os.path.exists(os.path.join(REPO, "notebooks", name)), name
