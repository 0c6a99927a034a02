"""glassbox in Jupyter: magics, live cgroup charts, limit sliders, layer diagrams.

Load it in a notebook with ``%load_ext glassbox``; then::

    %%dockerfile -t hello:1            # the cell is the Dockerfile
    FROM busybox
    RUN echo hi > /hi

    %container run --rm hello:1 cat /hi           # output streams into the cell
    c = %container run -d -m 64m busybox sh -c 'while :; do :; done'
    %container ps -a                               # an HTML table

    import glassbox.jupyter as gj
    gj.monitor(c)                 # live CPU % / memory chart of its cgroup, limit as a line
    gj.limits(c)                  # sliders: glassbox update, live
    gj.layers("hello:1", "busybox", container=c)   # shared layers drawn once
    gj.ps()                       # container table with stop / rm buttons
    gj.pull("registry:5000/x")   # progress bars per layer (also gj.push)
    gj.experiment("busybox", cmd, sweep={"memory": ["16m", "32m"]})  # predict, measure
    reg = gj.local_registry("nb07")   # docker-registry on 127.0.0.1:<free port>; reg.address
    gj.language("pt-BR")          # charts, widgets and tables in Portuguese
    gj.doctor()                   # what this machine allows, and the lab's tier
    gj.tier(); gj.allows("limits")   # the tier; whether it allows a need

    %%needs root                  # a cell's first line: run only if the tier allows it

Modules: :mod:`.magics` (the magics), :mod:`.widgets` (monitor, limits, ps,
progress bars), :mod:`.plots` (pure figure functions), :mod:`.display` (HTML
reprs), :mod:`.objects` (Container / Image handles), :mod:`.sampler` (the
background stats sampler), :mod:`.layertree` (which layers images share),
:mod:`.progress` (build and pull/push progress events), :mod:`.experiments`
(resource-limit experiments), :mod:`.tiers` (the lab's tier, ``%%needs``),
:mod:`.localregistry` (a registry to push to, on this machine), :mod:`.messages` (every
shown string, en and pt-BR).
Every front end talks to one :class:`~glassbox.engine.Engine` per kernel
(:func:`use_engine` to change it). Notebook: ``notebooks/en/00-quickstart.ipynb``.
"""

from __future__ import annotations

from .session import engine, use_engine  # noqa: F401

__all__ = ["Container", "Image", "ProgressBars", "allows", "doctor", "engine", "experiment",
           "language", "layers", "local_registry",
           "limits", "load_ipython_extension", "monitor", "ps", "pull", "push", "tier", "use_engine"]

_LAZY = {"monitor": "widgets", "limits": "widgets", "ps": "widgets", "ProgressBars": "widgets",
         "Monitor": "widgets", "pull": "widgets", "push": "widgets", "LimitSliders": "widgets", "PsTable": "widgets",
         "layers": "diagrams", "Diagram": "diagrams",
         "Container": "objects", "Image": "objects", "GlassboxMagics": "magics",
         "experiment": "experiments", "ExperimentResult": "experiments", "language": "messages",
         "doctor": "tiers", "tier": "tiers", "allows": "tiers",
         "local_registry": "localregistry", "LocalRegistry": "localregistry"}


def __getattr__(name):
    if name in _LAZY:
        import importlib
        return getattr(importlib.import_module(f"{__name__}.{_LAZY[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def load_ipython_extension(ipython) -> None:
    """``%load_ext glassbox``: register ``%container``, ``%%dockerfile`` and ``%%needs``,
    and show glassbox errors raised in cells as short messages instead of tracebacks."""
    from ..errors import GlassboxError
    from .magics import GlassboxMagics, show_error
    from .tiers import TierMagics
    ipython.register_magics(GlassboxMagics(ipython))
    ipython.register_magics(TierMagics(ipython))
    ipython.set_custom_exc((GlassboxError,), show_error)


def unload_ipython_extension(ipython) -> None:
    ipython.set_custom_exc((), None)
