#!/usr/bin/env python
"""Generate the guided course: notebooks/en/NN-*.ipynb and notebooks/pt-BR/NN-*.ipynb
(and the tour, notebooks/00-tour.ipynb + 00-tour.pt-BR.ipynb: see PATHS in nb00_tour.py).

The cells live here as data (one module per notebook, ``nbNN_*.py``); each cell has
an English and a Portuguese text (code is shared, or translated where it prints
messages for the student), so both languages always have the same cells in the same
order. Outputs are left empty: the notebooks are executed by tests/notebooks.

    .venv/bin/python notebooks/_build/make_course.py          # write all
    .venv/bin/python notebooks/_build/make_course.py --check  # fail if out of date
"""

from __future__ import annotations

import importlib
import os
import sys

import nbformat

HERE = os.path.dirname(os.path.abspath(__file__))
NOTEBOOKS = os.path.dirname(HERE)
sys.path.insert(0, HERE)

MODULES = ["nb00_tour", "nb00_quickstart", "nb00_not_a_vm", "nb01_namespaces", "nb02_cgroups", "nb03_overlay", "nb04_images",
           "nb05_dockerfile", "nb06_rw_layer", "nb07_registry", "nb08_host_client",
           "nb09_volumes", "nb10_networks", "nb10b_installing", "nb11_hello_world", "nb12_limit_experiments",
           "nb13_may_not_do", "nb14_final_project"]

LANGS = {"en": 1, "pt-BR": 2}
KERNEL = {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"}


def make(mod, lang: str):
    idx = LANGS[lang]
    nb = nbformat.v4.new_notebook()
    nb.metadata = {"kernelspec": KERNEL, "language_info": {"name": "python"},
                   "glassbox": {"course": mod.SLUG, "lang": lang}}
    for i, cell in enumerate(mod.CELLS):
        meta = cell[-1] if isinstance(cell[-1], dict) else None
        if meta:
            cell = cell[:-1]
        kind = cell[0]
        text = cell[idx] if len(cell) > 2 else cell[1]
        cid = f"{mod.SLUG[:2]}-{i:03d}"
        if kind == "md":
            c = nbformat.v4.new_markdown_cell(text)
        else:
            c = nbformat.v4.new_code_cell(text)
        c["id"] = cid
        if meta:
            c.metadata.update(meta)
        nb.cells.append(c)
    nbformat.validate(nb)
    return nb


def main(argv) -> int:
    check = "--check" in argv
    stale = []
    for name in MODULES:
        try:
            mod = importlib.import_module(name)
        except ModuleNotFoundError as e:
            if e.name != name:
                raise
            print("not written yet:", name)
            continue
        for lang in LANGS:
            # a module may place its notebooks elsewhere (PATHS, relative to notebooks/)
            rel = getattr(mod, "PATHS", {}).get(lang) or os.path.join(lang, f"{mod.SLUG}.ipynb")
            path = os.path.join(NOTEBOOKS, rel)
            text = nbformat.writes(make(mod, lang)) + "\n"
            old = open(path).read() if os.path.exists(path) else None
            if old != text:
                stale.append(path)
                if not check:
                    os.makedirs(os.path.dirname(path), exist_ok=True)
                    with open(path, "w") as f:
                        f.write(text)
    # both languages: the same notebooks, with the same cells (ids and kinds) in the same order
    names = {lang: {n for n in os.listdir(os.path.join(NOTEBOOKS, lang)) if n.endswith(".ipynb")}
             for lang in LANGS}
    if names["en"] != names["pt-BR"]:
        print("en and pt-BR hold different notebooks:",
              *sorted(names["en"] ^ names["pt-BR"]), sep="\n  ")
        return 1
    for en in sorted(names["en"]):
        pt = os.path.join(NOTEBOOKS, "pt-BR", en)
        a = nbformat.read(os.path.join(NOTEBOOKS, "en", en), 4)
        b = nbformat.read(pt, 4)
        if [(c.id, c.cell_type, c.metadata) for c in a.cells] != \
                [(c.id, c.cell_type, c.metadata) for c in b.cells]:
            print("en and pt-BR differ in their cells:", en)
            return 1
    if check and stale:
        print("out of date (run notebooks/_build/make_course.py):", *stale, sep="\n  ")
        return 1
    print(("up to date" if check else "wrote") + f": {len(stale)} changed")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
