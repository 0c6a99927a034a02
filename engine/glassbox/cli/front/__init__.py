"""The ``glassbox`` command's compiled front door (``glassbox.c``).

pip installs ``glassbox`` as a Python console script: every command then pays
an interpreter start (10-20 ms) even when the warm agent would run it. The
set-up replaces that script in the venv with this small C client of the agent
(``python -m glassbox.cli.front``): when an agent answers it forwards the
command there, otherwise it exec()s the venv's Python with the same arguments,
so behaviour is identical either way. The venv's Python path is compiled in.

``python -m glassbox.cli.front`` builds and installs it; ``--remove`` puts the
plain console script back (as ``pip install`` would).
"""

from __future__ import annotations

import os
import sys

from ..._native import compile_c, up_to_date

SOURCE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "glassbox.c")
MAGIC = b"\x7fELF"


def target(prefix: str | None = None) -> str:
    """Where the command lives: ``<venv>/bin/glassbox``."""
    return os.path.join(prefix or sys.prefix, "bin", "glassbox")


def installed(path: str | None = None) -> bool:
    """Is ``path`` (default: the venv's ``glassbox``) the compiled front, up to date?"""
    path = path or target()
    try:
        with open(path, "rb") as f:
            if f.read(4) != MAGIC:
                return False
    except OSError:
        return False
    return up_to_date(path, SOURCE)


def install(path: str | None = None, python: str | None = None) -> str | None:
    """Compile the front into ``path`` with ``python`` as its fallback interpreter."""
    path = path or target()
    python = python or os.path.join(os.path.dirname(path), "python")
    return compile_c(SOURCE, path, {"GLASSBOX_PYTHON": f'"{python}"'},
                     what="the Python console script stays")


SCRIPT = """#!{python}
import sys
from glassbox.cli.main import main
if __name__ == '__main__':
    sys.argv[0] = sys.argv[0].removesuffix('.exe')
    sys.exit(main())
"""


def remove(path: str | None = None, python: str | None = None) -> str:
    """Put back the console script pip writes."""
    path = path or target()
    python = python or os.path.join(os.path.dirname(path), "python")
    tmp = path + f".tmp{os.getpid()}"
    with open(tmp, "w") as f:
        f.write(SCRIPT.format(python=python))
    os.chmod(tmp, 0o755)
    os.replace(tmp, path)
    return path


def main(argv: list[str]) -> int:
    if argv[:1] == ["--remove"]:
        print(remove())
        return 0
    if installed():
        print(target())
        return 0
    built = install()
    print(built or "not built")
    return 0
