"""``monitor(c)`` drawn by the browser, not by the kernel.

A chart that the kernel redraws costs the kernel CPU on every frame (matplotlib →
PNG → a widget message), and it is only as fresh as the last redraw. In JupyterLab
with the glassbox extension, :func:`glassbox.jupyter.monitor` needs none of that:

1. Its display carries, next to the ipywidgets fallback, one small JSON document
   under the MIME type :data:`MIME`: which container, and the monitor's ``token``.
   JupyterLab renders the richest type it has a renderer for; the extension's
   renderer ranks above the widget's, so the lab shows the extension's chart.
2. That chart is fed by the lab's own WebSocket (:mod:`glassbox.lab`), which samples
   the container's cgroup at 10 Hz while the chart is on screen — the reading
   ``glassbox stats`` makes. The kernel sends nothing for it.
3. Once the first sample arrived, the chart tells the kernel over a Jupyter *comm*
   (target :data:`COMM_TARGET`, data ``{"monitor": token}``): "I draw this one".
   The monitor then stops redrawing its PNG. Its own 5 Hz sampler keeps going:
   ``m.samples``, ``m.oom``, ``m.wait()`` and ``m.show()`` need the numbers. The comm
   stays open: ``m.stop()`` sends ``{"stop": true}`` and the chart stops too.

Where nothing renders :data:`MIME` — classic Notebook, VS Code, a lab without the
extension — the widget shows and the kernel redraws the PNG as before. nbclient /
nbconvert (CI, the course's executed notebooks) render nothing live: the picture
kept in a saved notebook is ``m.show()``, one PNG of the samples so far.

The comm arrives when the kernel is between cells (Jupyter handles comm messages
on the shell channel), so a monitor waits :data:`CLAIM_GRACE` seconds after its
display before drawing its first PNG: long enough for the lab's claim to land
when the cell ends. The lab and the kernel must see the same engine (the same
``GLASSBOX_ROOT``); the lab's chart says so when it does not know the container.

Notebook: ``notebooks/00-tour.ipynb`` (section 4).
"""

from __future__ import annotations

import uuid
import weakref

MIME = "application/vnd.glassbox.stats+json"
"""The MIME type the glassbox JupyterLab extension renders as a live chart."""
COMM_TARGET = "glassbox.monitor"
"""The comm target a browser chart opens to say it draws a monitor."""
CLAIM_GRACE = 1.0
"""Seconds a displayed monitor waits for the lab's claim before its first PNG."""

_monitors: "weakref.WeakValueDictionary[str, object]" = weakref.WeakValueDictionary()


def register(monitor) -> str:
    """A new token for ``monitor`` (an object with ``drawn_in_browser()``); the kernel's
    comm target is registered on first use (a no-op outside a kernel)."""
    token = uuid.uuid4().hex
    _monitors[token] = monitor
    _register_target()
    return token


def bundle(cid: str, name: str, token: str) -> dict:
    """The MIME entries of a monitor's display: the browser chart's document and a
    text line for front ends that render neither it nor the widget."""
    return {MIME: {"id": cid, "name": name, "monitor": token, "version": 2},
            "text/plain": f"monitor of {name} ({cid[:12]}): a live chart in JupyterLab "
                          "(glassbox extension) or an ipywidget; m.show() keeps a PNG"}


def _register_target() -> None:
    try:
        import comm
        manager = comm.get_comm_manager()     # ipykernel's, inside a kernel
        if COMM_TARGET not in manager.targets:
            manager.register_target(COMM_TARGET, _claimed)
    except Exception:  # noqa: BLE001 - no kernel (a script, a test): nothing will claim
        pass


def _claimed(comm, msg) -> None:
    """A browser chart opened the comm: the monitor it names stops drawing PNGs, and
    keeps the comm to tell the chart when it stops (``m.stop()``)."""
    data = (msg.get("content") or {}).get("data") or {}
    monitor = _monitors.get(str(data.get("monitor", "")))
    if monitor is not None:
        monitor.drawn_in_browser(comm)  # type: ignore[attr-defined]
