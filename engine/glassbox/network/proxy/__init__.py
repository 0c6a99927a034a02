"""The compiled port proxy (``gbx-proxy.c``) and how to build it.

A published port is served by one proxy process per container. The Python one
(:mod:`glassbox.network._proxy`: two threads per connection, every byte through
the interpreter) costs a whole interpreter (~9 MB) and ~0.6 ms per request;
this ~25 kB C program does the same in one epoll loop and copies with
``splice()`` (the bytes never enter user space). Same command line, same
behaviour: :func:`glassbox.network.ports.start_proxy` runs it when it is built
and up to date with its source, else the Python script.
``python -m glassbox.network.proxy`` compiles it (the Makefile's set-up does).
"""

from __future__ import annotations

import os

from ..._native import compile_c, up_to_date

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE = os.path.join(HERE, "gbx-proxy.c")
BINARY = os.path.join(HERE, "gbx-proxy")


def binary() -> str | None:
    """The compiled proxy if it is there and up to date with its source."""
    return BINARY if up_to_date(BINARY, SOURCE) else None


def build() -> str | None:
    return compile_c(SOURCE, BINARY, what="published ports keep the Python proxy")
