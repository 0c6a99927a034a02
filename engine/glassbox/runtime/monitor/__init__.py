"""The compiled half of the shim (``gbx-monitor.c``) and how to build it.

A detached container is watched for its whole life; a Python interpreter per
container would cost ~5 MB of host memory each, so once the container runs
the Python shim ``exec``s this ~17 kB C program (same pid, same fds). It copies
output into the log and waits; at exit it ``exec``s Python again to record the
status and clean up. ``python -m glassbox.runtime.monitor`` compiles it (the
Makefile's set-up does); without a C compiler the Python shim simply stays.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE = os.path.join(HERE, "gbx-monitor.c")
BINARY = os.path.join(HERE, "gbx-monitor")


def binary() -> str | None:
    """The compiled monitor if it is there and up to date with its source."""
    try:
        if os.stat(BINARY).st_mtime >= os.stat(SOURCE).st_mtime and os.access(BINARY, os.X_OK):
            return BINARY
    except OSError:
        pass
    return None


def build(cc: str | None = None) -> str | None:
    cc = cc or os.environ.get("CC") or shutil.which("cc") or shutil.which("gcc")
    if not cc:
        print("gbx-monitor: no C compiler; detached containers keep the Python shim",
              file=sys.stderr)
        return None
    tmp = BINARY + f".tmp{os.getpid()}"
    subprocess.run([cc, "-O2", "-Wall", "-o", tmp, SOURCE], check=True)
    os.replace(tmp, BINARY)
    return BINARY


if __name__ == "__main__":
    print(build() or "not built")
