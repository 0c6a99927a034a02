"""Run one function in a forked child and hand its result back: the one copy of
"fork, do it there, answer on a pipe".

Some kernel steps cannot be undone by the process that takes them: ``unshare``
of a user namespace, ``setns`` into a container's mount namespace or into the
per-user network namespace. A short-lived child takes the step, does the work
and writes ``("ok", value)`` or ``("error", exception)`` (pickled) on a pipe;
the caller is never changed. The child ends with ``os._exit``, so nothing of the
parent's cleanup (atexit, buffered files, finally blocks) runs twice.

A process with threads may fork, but the child must not rely on another
thread's locks: the functions given here only make system calls and read files.
"""

from __future__ import annotations

import os
import pickle

from .errors import GlassboxError


def in_child(fn, *args, **kwargs):
    """``fn(*args, **kwargs)`` run in a forked child: its value, or its exception
    raised here (an exception that does not pickle becomes a GlassboxError with
    its text)."""
    r, w = os.pipe()
    child = os.fork()
    if child == 0:
        try:
            os.close(r)
            try:
                out = ("ok", fn(*args, **kwargs))
            except BaseException as e:  # noqa: BLE001 — re-raised by the caller
                out = ("error", e)
            try:
                data = pickle.dumps(out)
            except Exception:  # noqa: BLE001 — a value or exception that does not pickle
                data = pickle.dumps(("error", GlassboxError(str(out[1]))))
            view = memoryview(data)
            while view:
                view = view[os.write(w, view):]
        finally:
            os._exit(0)
    os.close(w)
    data = b""
    while chunk := os.read(r, 1 << 16):
        data += chunk
    os.close(r)
    os.waitpid(child, 0)
    if not data:
        raise GlassboxError("the child process died before it answered")
    try:
        kind, value = pickle.loads(data)
    except Exception as e:  # noqa: BLE001 — an exception class that does not unpickle
        raise GlassboxError(f"the child process's answer could not be read ({e})") from None
    if kind == "error":
        raise value
    return value
