"""The small C programs glassbox ships as source, and how they are built.

* ``runtime/monitor/gbx-monitor.c`` — what a detached container's shim becomes
  once the container runs (a few hundred kB instead of a Python interpreter);
* ``cli/front/glassbox.c`` — the ``glassbox`` command's front door, the thin
  client of the warm agent (no interpreter start when an agent answers);
* ``network/proxy/gbx-proxy.c`` — the userland proxy of published ports (one
  epoll loop, splice(); ~0.3 MB instead of a Python interpreter).
* ``probe/gbx-probe.c`` — the escape corpus: a static program the tests run
  inside containers (glassbox's and docker's) to show what a container's root
  may not do to its host.

All are optional: without a C compiler the Python versions stay (the shim, the
pip console script, ``network/_proxy.py``). The set-up builds them
(``make lab`` / ``make test``).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys


def up_to_date(binary: str, source: str) -> bool:
    """Is ``binary`` there, executable and newer than its ``source``?"""
    try:
        return os.stat(binary).st_mtime >= os.stat(source).st_mtime and os.access(binary, os.X_OK)
    except OSError:
        return False


def compile_c(source: str, binary: str, defines: dict[str, str] | None = None,
              what: str = "", extra: tuple[str, ...] = ()) -> str | None:
    """``cc -O2 -Wall`` ``source`` into ``binary`` (atomically: a temp file renamed
    into place, so a running copy is never overwritten mid-way). ``extra`` are more
    cc flags (``("-static",)`` for a program that runs inside any image). None, with
    a note on stderr, when there is no C compiler."""
    cc = os.environ.get("CC") or shutil.which("cc") or shutil.which("gcc")
    if not cc:
        print(f"{os.path.basename(binary)}: no C compiler; {what or 'skipped'}", file=sys.stderr)
        return None
    flags = [f"-D{k}={v}" for k, v in (defines or {}).items()]
    tmp = binary + f".tmp{os.getpid()}"
    try:
        subprocess.run([cc, "-O2", "-Wall", *flags, *extra, "-o", tmp, source], check=True)
        os.replace(tmp, binary)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return binary
