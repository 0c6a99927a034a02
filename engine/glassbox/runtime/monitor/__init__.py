"""The compiled half of the shim (``gbx-monitor.c``) and how to build it.

A detached container is watched for its whole life; a Python interpreter per
container would cost ~5 MB of host memory each, so once the container runs
the Python shim ``exec``s this ~17 kB C program (same pid, same fds). It copies
output into the log and waits; at exit it ``exec``s Python again to record the
status and clean up. For a ``-it`` container it also keeps the pty master: it logs
the pty's output as it comes (``--tty``: a prompt without its newline too) and
copies the stdin FIFO into it (``--stdin``), so a later ``attach`` can type there.
The Python shim hands over to it at the start (nobody attached) or when the
attached terminal leaves (the detach keys). ``python -m glassbox.runtime.monitor`` compiles it (the
Makefile's set-up does); without a C compiler the Python shim simply stays.
"""

from __future__ import annotations

import os

from ..._native import compile_c, up_to_date

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE = os.path.join(HERE, "gbx-monitor.c")
BINARY = os.path.join(HERE, "gbx-monitor")


def binary() -> str | None:
    """The compiled monitor if it is there and up to date with its source."""
    return BINARY if up_to_date(BINARY, SOURCE) else None


def build() -> str | None:
    return compile_c(SOURCE, BINARY, what="detached containers keep the Python shim")


if __name__ == "__main__":
    print(build() or "not built")
