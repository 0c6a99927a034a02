"""Each package's docstring names the notebook that teaches its concept, by a path
that exists.

A student who opens ``glassbox/cgroups`` from a notebook's link, or someone who
takes the project over, reads the package docstring first; it should send them to
the notebook where the concept is shown running, and that link must not rot when a
notebook is renamed (issue 17: registry's once pointed at a file that did not
exist). Paths are written from the repository root, ``notebooks/en/NN-name.ipynb``;
the Portuguese twin at ``notebooks/pt-BR/`` has the same name and is checked too.
"""

from __future__ import annotations

import ast
import os
import re

import glassbox

PKG = os.path.dirname(glassbox.__file__)
REPO = os.path.dirname(os.path.dirname(PKG))
NOTEBOOK = re.compile(r"notebooks/[\w./-]+?\.ipynb")

# packages that teach no concept of their own, each with the reason
EXEMPT = {
    "glassbox": "the package root: its docstring shows the Engine in three lines",
    "glassbox._sys": "the one door to libc (ctypes): a tool of the other packages, "
                     "taught where each call is used",
    "glassbox.cli.front": "the C front door of the CLI (a faster exec of the same "
                          "commands): the CLI's own notebook covers the commands",
    "glassbox.network.proxy": "the userland port proxy behind network's -p: "
                              "network's notebook teaches publishing",
    "glassbox.runtime.monitor": "the C monitor the shim execs: runtime's notebook "
                                "teaches the process model",
}


def packages() -> dict[str, str]:
    """Every package under engine/glassbox: dotted name -> its docstring ('' if none)."""
    out = {}
    for base, dirs, files in os.walk(PKG):
        dirs[:] = sorted(d for d in dirs if d != "__pycache__" and not d.startswith("."))
        if "__init__.py" not in files:
            continue
        rel = os.path.relpath(base, os.path.dirname(PKG))
        with open(os.path.join(base, "__init__.py")) as f:
            doc = ast.get_docstring(ast.parse(f.read())) or ""
        out[rel.replace(os.sep, ".")] = doc
    return out


def named_notebooks(doc: str) -> list[str]:
    return NOTEBOOK.findall(doc)


def test_every_notebook_a_package_names_exists():
    missing = []
    for pkg, doc in sorted(packages().items()):
        for path in named_notebooks(doc):
            twins = [path]
            if path.startswith("notebooks/en/"):
                twins.append(path.replace("notebooks/en/", "notebooks/pt-BR/", 1))
            missing += [f"{pkg}: {p}" for p in twins if not os.path.isfile(os.path.join(REPO, p))]
    assert not missing, "package docstrings name notebooks that do not exist:\n" + \
        "\n".join(missing)


def test_every_package_that_teaches_names_its_notebook():
    silent = [pkg for pkg, doc in sorted(packages().items())
              if pkg not in EXEMPT and not named_notebooks(doc)]
    assert not silent, ("these packages' docstrings name no notebook (add "
                        "'Notebook: notebooks/en/NN-name.ipynb', or list the package in "
                        f"EXEMPT with the reason): {silent}")


def test_the_exemptions_are_real_packages_that_name_none():
    pkgs = packages()
    assert set(EXEMPT) <= set(pkgs), set(EXEMPT) - set(pkgs)
    naming = [p for p in EXEMPT if named_notebooks(pkgs[p])]
    assert not naming, f"these name a notebook now: drop them from EXEMPT: {naming}"


def test_the_path_pattern_finds_paths_in_prose_and_markup():
    doc = ("Notebook: notebooks/en/02-cgroups.ipynb, and ``notebooks/en/10-networks.ipynb``"
           " (see `notebooks/pt-BR/04-images.ipynb`).")
    assert named_notebooks(doc) == ["notebooks/en/02-cgroups.ipynb",
                                    "notebooks/en/10-networks.ipynb",
                                    "notebooks/pt-BR/04-images.ipynb"]
    assert named_notebooks("notebook 07 (the registry)") == []
