"""State-file primitives shared by every store: atomic writes, file locks, timestamps.

A write goes to a temporary file in the same directory and is renamed over the
old one, so readers (and a crash) see the old file or the new one, never half
of one. ``durable=True`` also fsyncs first — for records whose loss on a power
cut would orphan kernel objects (networks, volumes); the container state on the
start path skips it. ``locked(path)`` holds an exclusive ``flock`` for a
read-modify-write; closing the descriptor drops it, even when the holder is
killed. ``timestamp()`` is Docker's time format (RFC 3339, UTC, nanoseconds), the
one every record and API answer uses. ``write_all(fd, data)`` is ``os.write`` until
everything is written (a pipe or a pty takes a little at a time).
"""

from __future__ import annotations

import fcntl
import json
import os
import time
from contextlib import contextmanager


def write_bytes(path: str, data: bytes, *, durable: bool = False, mode: int = 0o644) -> None:
    """Replace ``path`` with ``data`` atomically (a temp file in the same directory,
    renamed over it): readers see the old content or the new, never half."""
    d, base = os.path.split(path)
    tmp = os.path.join(d, f".{base}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, mode)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            if durable:
                f.flush()
                os.fsync(f.fileno())
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    os.replace(tmp, path)


def write_all(fd: int, data) -> None:
    """``os.write`` until all of ``data`` (bytes or memoryview) is written; an
    ``OSError`` (the reader gone: EPIPE, EIO) is the caller's to handle."""
    view = memoryview(data)
    while view:
        n = os.write(fd, view)
        view = view[n:]


def write_json(path: str, data, *, durable: bool = False, **dump_options) -> None:
    write_bytes(path, json.dumps(data, **dump_options).encode(), durable=durable)


def timestamp(t: float | None = None) -> str:
    """``2026-12-04T03:07:25.123456789Z``: Docker's format, for ``t`` (default: now)."""
    t = time.time() if t is None else t
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(t)) + f".{int(t % 1 * 1e9):09d}Z"


@contextmanager
def locked(path: str):
    """Hold an exclusive ``flock`` on ``path`` (created, with its directory, if missing)."""
    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)
