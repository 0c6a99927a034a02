"""State-file primitives shared by every store: atomic JSON writes and file locks.

A write goes to a temporary file in the same directory and is renamed over the
old one, so readers (and a crash) see the old file or the new one, never half
of one. ``durable=True`` also fsyncs first — for records whose loss on a power
cut would orphan kernel objects (networks, volumes); the container state on the
start path skips it. ``locked(path)`` holds an exclusive ``flock`` for a
read-modify-write; closing the descriptor drops it, even when the holder is
killed.
"""

from __future__ import annotations

import fcntl
import json
import os
from contextlib import contextmanager


def write_json(path: str, data, *, durable: bool = False, **dump_options) -> None:
    d, base = os.path.split(path)
    tmp = os.path.join(d, f".{base}.{os.getpid()}.tmp")
    with open(tmp, "w") as f:
        json.dump(data, f, **dump_options)
        if durable:
            f.flush()
            os.fsync(f.fileno())
    os.replace(tmp, path)


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
