"""Reading a container's log file (``container.log``: one JSON object a line, as
Docker's json-file driver writes) without holding all of it in memory.

A log can be hundreds of megabytes. ``glassbox logs --tail N`` and the lab's last
page need only the end: :func:`last_lines` seeks to the end and reads fixed-size
blocks backwards until it has seen N line ends — the work is proportional to what
is shown, not to the file. Everything else (paging forward, search) streams the
file a line at a time (:func:`lines_from`), so memory stays one line plus a buffer,
and :func:`count_lines` counts a log's lines without decoding any of them.
"""

from __future__ import annotations

import os

BLOCK = 64 * 1024
"""Bytes read per step of the backwards scan."""


def last_lines(f, n: int, block: int = BLOCK) -> list[bytes]:
    """The last ``n`` lines of the binary file ``f`` (a last line without its
    newline counts), read backwards ``block`` bytes at a time; ``f`` is left at the
    end it measured, so a follower goes on from there."""
    end = f.seek(0, os.SEEK_END)
    if n <= 0 or end == 0:
        return []
    pos, chunks, ends = end, [], 0
    f.seek(end - 1)
    trailing = f.read(1) == b"\n"        # the last line's own newline ends no earlier line
    while pos > 0 and ends < n + trailing:
        step = min(block, pos)
        pos -= step
        f.seek(pos)
        chunk = f.read(step)
        ends += chunk.count(b"\n")
        chunks.append(chunk)
    f.seek(end)
    data = b"".join(reversed(chunks))
    lines = data.splitlines(keepends=True)
    if pos > 0:                          # the first piece is the tail of an older line
        lines = lines[1:]
    return lines[-n:]


def lines_from(f):
    """Every line of ``f`` from where it is, one at a time (nothing read ahead)."""
    return iter(f.readline, b"")


def count_lines(f, block: int = BLOCK) -> int:
    """How many lines ``f`` holds from its start (a last line without its newline
    counts): newlines counted a block at a time, in C, no line decoded — what a
    pager needs to know where the last page starts."""
    f.seek(0)
    n, last = 0, b"\n"
    while chunk := f.read(block):
        n += chunk.count(b"\n")
        last = chunk[-1:]
    return n + (last != b"\n")
