"""Each package's docstring names the course notebook that shows it, by a path that exists."""

import ast
import pathlib
import re

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
PACKAGES = ["build", "cgroups", "containers", "daemon", "images", "jupyter", "namespaces",
            "network", "registry", "rootfs", "runtime", "volumes"]


@pytest.mark.parametrize("pkg", PACKAGES)
def test_package_docstring_names_an_existing_notebook(pkg):
    src = (ROOT / "engine" / "glassbox" / pkg / "__init__.py").read_text()
    doc = ast.get_docstring(ast.parse(src)) or ""
    paths = re.findall(r"``(notebooks/[^`]+\.ipynb)``", doc)
    assert paths, f"glassbox.{pkg}'s docstring names no notebook"
    for p in paths:
        assert (ROOT / p).is_file(), f"glassbox.{pkg} points at {p}, which does not exist"
