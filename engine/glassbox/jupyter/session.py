"""One :class:`~glassbox.engine.Engine` per kernel.

Every magic, widget and plot in :mod:`glassbox.jupyter` asks :func:`engine` for
the engine it should talk to. The first call creates one on ``GLASSBOX_ROOT``
(default ``/var/lib/glassbox``) and ``GLASSBOX_CGROUP_PARENT``, read from the
kernel's environment; :func:`use_engine` swaps in another one (a test's private
root, a second state root to compare)::

    import glassbox.jupyter as gj
    gj.use_engine(Engine("/tmp/lab-root"))
"""

from __future__ import annotations

import threading

_lock = threading.Lock()
_engine = None


def engine():
    """The kernel's engine, created on first use."""
    global _engine
    with _lock:
        if _engine is None:
            from ..engine import Engine
            _engine = Engine()
        return _engine


def use_engine(eng):
    """Make ``eng`` the engine every magic and widget uses from now on; returns it."""
    global _engine
    with _lock:
        _engine = eng
    return eng


def resolve(eng=None):
    """``eng`` if given, else the kernel's engine (the ``engine=`` argument everywhere)."""
    return eng if eng is not None else engine()
