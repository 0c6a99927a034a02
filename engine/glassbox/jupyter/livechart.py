"""A live cgroup chart drawn by the browser, not by the kernel.

:func:`glassbox.jupyter.monitor` samples in the kernel and redraws a matplotlib PNG
twice a second: every frame costs the kernel CPU, and the picture is as fresh as the
last redraw. :func:`live` does none of that. It displays one small JSON document —
which container — under the MIME type :data:`MIME`; the glassbox JupyterLab
extension renders it as a chart fed by the lab's own WebSocket (``glassbox.lab``),
which samples the container's cgroup at 10 Hz while the chart is on screen, with the
same reader as ``glassbox stats``. The kernel is idle the whole time.

The lab and the kernel must see the same engine (the same ``GLASSBOX_ROOT``); the
chart says so when the lab does not know the container. Where no extension renders
the MIME type (nbconvert, CI, GitHub) the text/plain line shows instead; for a picture
kept in the notebook use ``monitor(c).show()`` (the PNG path).

Notebook: ``notebooks/en/00-quickstart.ipynb``.
"""

from __future__ import annotations

MIME = "application/vnd.glassbox.stats+json"


class LiveChart:
    """What :func:`live` returns: displays as the browser-drawn chart of one container."""

    def __init__(self, container, engine=None):
        from .session import resolve
        eng = resolve(engine)
        c = eng.get(getattr(container, "id", None) or str(container))
        self.id, self.name = c.id, c.name

    def _repr_mimebundle_(self, include=None, exclude=None) -> dict:
        return {MIME: {"id": self.id, "name": self.name, "version": 1},
                "text/plain": f"live chart of {self.name} ({self.id[:12]}): drawn by the "
                              "glassbox JupyterLab extension; monitor(c).show() for a PNG"}

    def __repr__(self) -> str:
        return f"LiveChart({self.name!r})"


def live(container, engine=None) -> LiveChart:
    """A live CPU / memory / pids chart of ``container`` drawn in the browser at 10 Hz."""
    return LiveChart(container, engine)
