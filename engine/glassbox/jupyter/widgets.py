"""Widgets: a live cgroup chart, limit sliders, a ps table with buttons, progress bars.

All of them talk to the engine only, with the calls the CLI uses:
``eng.stats`` (``glassbox stats``), ``eng.update``
(``glassbox update``), ``stop``/``remove`` (``glassbox stop``/``rm``).

The chart is drawn with matplotlib into PNG bytes (Agg, no pyplot) and shown in
an ``ipywidgets.Image`` that a background thread refreshes: the kernel keeps
running cells while the chart moves. (ipympl would allow zooming; it is not a
dependency, and a PNG also survives in a saved notebook via :meth:`Monitor.show`.)
In JupyterLab with the glassbox extension the browser draws the chart instead and
the kernel only samples (:mod:`.livechart`).
"""

from __future__ import annotations

import threading

from .display import ErrorMessage, badge, esc
from .messages import t
from .session import resolve

MIB = 1024 * 1024


def _w():
    import ipywidgets
    return ipywidgets


def _ref(c) -> str:
    return getattr(c, "id", None) or str(c)


# ---- live chart -------------------------------------------------------------------
class Monitor:
    """A live CPU % / memory chart of one container, sampled from its cgroup.

    ``monitor.sampler`` holds the data (:class:`~glassbox.sampler.StatsSampler`:
    ``samples``, ``oom``, ``exit_code``); ``monitor.widget`` is the kernel-drawn chart
    (a PNG the kernel redraws). Displayed in JupyterLab with the glassbox extension,
    the browser draws the chart instead (:mod:`~glassbox.jupyter.livechart`): it
    claims the monitor (``browser`` turns True) and the kernel stops redrawing.
    Sampling stops by itself when the container exits; :meth:`stop` stops it earlier.
    """

    def __init__(self, eng, container, interval: float = 0.2, redraw: float = 0.5,
                 render: bool = True):
        from ..errors import GlassboxError
        from ..sampler import StatsSampler
        W = _w()
        self.eng, self.redraw, self.render = eng, redraw, render
        self.error: str | None = None
        self.image = W.Image(format="png", layout=W.Layout(max_width="820px"))
        self.label = W.HTML()
        self.stop_button = W.Button(description=t("monitor.stop"), button_style="")
        self.stop_button.on_click(lambda _b: self.stop())
        self.widget = W.VBox([self.label, self.image, self.stop_button])
        self.draws = 0
        """PNGs drawn by the kernel so far."""
        self.browser = False
        """True once a browser chart (the lab's extension) draws this monitor."""
        self._shown_at: float | None = None
        self._comms: list = []          # one per browser chart: m.stop() tells them
        try:
            self.sampler = StatsSampler(eng, _ref(container), interval)
        except GlassboxError as e:
            self.sampler = None
            self.error = str(e)
            self.label.value = ErrorMessage(t("monitor.nothing", error=self.error))._repr_html_()
            self.stop_button.disabled = True
            return
        self._render_thread = None
        from .livechart import register
        self.token = register(self)
        self.label.value = t("monitor.watching", name=esc(self.sampler.name))
        self.sampler.start()
        self._render_thread = threading.Thread(target=self._render_loop, daemon=True,
                                               name=f"gbx-chart-{self.sampler.name}")
        self._render_thread.start()

    # ---- data ---------------------------------------------------------------
    @property
    def samples(self):
        return self.sampler.samples if self.sampler else []

    @property
    def oom(self) -> bool:
        return bool(self.sampler and self.sampler.oom)

    def wait(self, timeout: float | None = None) -> bool:
        """Block until the container stopped and the last chart is drawn."""
        if not self.sampler:
            return True
        ok = self.sampler.wait(timeout)
        if ok and self._render_thread:
            self._render_thread.join(timeout)
        return ok

    def stop(self) -> None:
        """Stop sampling (the container is left alone); a browser chart stops too."""
        if self.sampler:
            self.sampler.stop()
        for comm in list(self._comms):
            self._tell(comm, {"stop": True})
        if getattr(self, "_render_thread", None):
            self._render_thread.join(5)

    # ---- pictures -----------------------------------------------------------
    def figure(self):
        """The chart as a matplotlib Figure (of the samples so far)."""
        from .plots import figure_from_columns
        return figure_from_columns(self.sampler.columns())

    def save(self, path: str, **kw) -> str:
        self.figure().savefig(path, bbox_inches="tight", **kw)
        return path

    def show(self):
        """Display the current chart as a plain PNG (kept in a saved notebook)."""
        from IPython.display import Image, display
        from .plots import to_png
        display(Image(to_png(self.figure())))

    def _status_html(self) -> str:
        s = self.sampler
        if not s.samples and s.done.is_set():
            what = t("monitor.removed") if s.removed else f"{s.status}" + \
                (f" ({s.exit_code})" if s.exit_code is not None else "")
            return ErrorMessage(t("monitor.not_running", name=s.name, what=what))._repr_html_()
        last = s.samples[-1] if s.samples else None
        parts = [f"<b>{esc(s.name)}</b>"]
        if last:
            from ..present import bytes_size
            lim = bytes_size(last.memory_limit) if last.memory_limit else t("monitor.no_limit")
            parts.append(t("monitor.line", cpu=last.cpu_percent, mem=bytes_size(last.memory),
                           limit=lim, pids=last.pids, n=len(s.samples), rate=s.rate))
        if s.done.is_set():
            end = t("monitor.removed") if s.removed else t("monitor.exited", code=s.exit_code) \
                if s.exit_code is not None else t("monitor.stopped")
            parts.append(badge(end, "#757575"))
            if s.oom:
                parts.append(badge(t("chart.oom_killed"), "#b71c1c"))
        else:
            parts.append(badge(t("monitor.running"), "#2e7d32"))
        return " ".join(parts)

    def drawn_in_browser(self, comm=None) -> None:
        """The lab's chart draws this monitor now: the kernel stops redrawing its PNG
        (called from the comm a browser chart opens, :mod:`.livechart`). The comm
        stays open: :meth:`stop` says "stop" through it."""
        self.browser = True
        if comm is not None:
            self._comms.append(comm)
            if self.sampler and self.sampler.stop_requested:   # stopped before the claim
                self._tell(comm, {"stop": True})

    @staticmethod
    def _tell(comm, data: dict) -> None:
        try:
            comm.send(data)
        except Exception:  # noqa: BLE001 - the chart is gone (closed notebook): nothing to tell
            pass

    def _waiting_for_a_claim(self) -> bool:
        import time
        from .livechart import CLAIM_GRACE
        shown = self._shown_at
        return shown is not None and time.monotonic() - shown < CLAIM_GRACE

    def _draw(self) -> None:
        self.label.value = self._status_html()
        if self.render and not self.browser and self.sampler.samples:
            from .plots import to_png
            self.image.value = to_png(self.figure(), dpi=80)
            self.draws += 1

    def _render_loop(self) -> None:
        last = -1
        while True:
            finished = self.sampler.done.wait(self.redraw)
            if not finished and (self.browser or self._waiting_for_a_claim()):
                continue            # the browser draws (or may claim it in a moment)
            n = len(self.sampler.samples)
            try:
                if n != last or finished:
                    self._draw()
                    last = n
            except Exception as e:  # noqa: BLE001 - show, do not kill the thread silently
                self.label.value = ErrorMessage(t("monitor.failed", error=e))._repr_html_()
            if finished:
                self.stop_button.disabled = True
                return

    def _repr_mimebundle_(self, **kw):
        """The widget, and (when there is a container to watch) the browser chart's
        document, which JupyterLab with the glassbox extension renders instead."""
        data = self.widget._repr_mimebundle_(**kw)
        if self.sampler:
            import time
            from .livechart import bundle
            self._shown_at = time.monotonic()
            data.update(bundle(self.sampler.id, self.sampler.name, self.token))
        return data

    def __repr__(self):
        if not self.sampler:
            return f"<Monitor: {self.error}>"
        return (f"<Monitor {self.sampler.name}: {len(self.samples)} samples"
                f"{', OOM killed' if self.oom else ''}>")


def monitor(container, interval: float = 0.2, *, redraw: float = 0.5, render: bool = True,
            engine=None) -> Monitor:
    """Live CPU % and memory chart of ``container`` (a handle, name or id), sampled
    every ``interval`` s (default 5 Hz) in a background thread. The memory limit is
    a dashed line; an OOM kill is marked. Stops when the container exits.

    In JupyterLab with the glassbox extension the browser draws it from the lab's
    10 Hz stream and the kernel only samples; elsewhere the kernel redraws a PNG
    every ``redraw`` s (``render=False``: never). ``m.show()`` displays the chart
    of the samples so far as a PNG that stays in the saved notebook."""
    return Monitor(resolve(engine), container, interval, redraw, render)


# ---- limit sliders ------------------------------------------------------------------
class LimitSliders:
    """Sliders for a container's memory (MiB), CPUs and pids, applied live.

    Moving a slider calls ``eng.update`` — ``glassbox update`` — which
    writes the cgroup files at once. Setting memory below what the container uses
    makes the kernel reclaim or refuse (or OOM-kill): the answer is shown in
    ``status`` (and in the chart of a :func:`monitor`).
    """

    def __init__(self, eng, container):
        import os
        W = _w()
        self.eng = eng
        c = eng.get(_ref(container))
        self.id, self.name = c.id, c.name
        hc = c.config.get("HostConfig") or {}
        mem = int(hc.get("Memory") or 0) // MIB
        from ..present import host_memory
        host = max(64, host_memory() // MIB)
        mem_max = max(min(host, 4096), mem * 2, 64)
        ncpu = os.cpu_count() or 1
        cpus = (hc.get("NanoCpus") or 0) / 1e9
        pids = hc.get("PidsLimit") or 0
        pids = pids if pids > 0 else 0
        style = {"description_width": "110px"}
        lay = W.Layout(width="480px")
        self.memory = W.IntSlider(value=mem or mem_max, min=6, max=mem_max, step=1,
                                  description=t("sliders.memory"), continuous_update=False,
                                  style=style, layout=lay)
        self.cpus = W.FloatSlider(value=cpus or ncpu, min=0.05, max=float(ncpu), step=0.05,
                                  description=t("sliders.cpus"), continuous_update=False, style=style,
                                  layout=lay)
        self.pids = W.IntSlider(value=pids or max(1024, pids), min=1, max=max(1024, pids),
                                description=t("sliders.pids"), continuous_update=False, style=style,
                                layout=lay)
        self.status = W.HTML(self._limits_text(mem, cpus, pids))
        self.history: list[tuple[dict, object]] = []
        self.last_error: str | None = None
        self.memory.observe(lambda ch: self.apply(memory=ch["new"] * MIB), names="value")
        self.cpus.observe(lambda ch: self.apply(cpus=round(ch["new"], 2)), names="value")
        self.pids.observe(lambda ch: self.apply(pids=ch["new"]), names="value")
        self.widget = W.VBox([W.HTML(t("sliders.title", name=esc(self.name))),
                              self.memory, self.cpus, self.pids, self.status])

    @staticmethod
    def _limits_text(mem_mib, cpus, pids) -> str:
        none = t("sliders.unlimited")
        return t("sliders.now", memory=f"{mem_mib} MiB" if mem_mib else none,
                 cpus=f"{cpus:g}" if cpus else none,
                 pids=str(pids) if pids and pids > 0 else none)

    def apply(self, **changes) -> dict | None:
        """``glassbox update`` with ``changes`` (memory in bytes); the result or None."""
        from ..errors import GlassboxError
        try:
            new = self.eng.update(self.id, **changes)
        except GlassboxError as e:
            self.last_error = str(e)
            self.history.append((changes, e))
            self.status.value = ErrorMessage(str(e))._repr_html_()
            return None
        self.last_error = None
        self.history.append((changes, new))
        mem = (new.get("memory") or 0) // MIB
        self.status.value = f"<span style='color:#2e7d32'>{t('sliders.applied')}</span> — " + \
            esc(self._limits_text(mem, new.get("cpus") or 0, new.get("pids") or 0))
        return new

    def _repr_mimebundle_(self, **kw):
        return self.widget._repr_mimebundle_(**kw)


def limits(container, *, engine=None) -> LimitSliders:
    """Sliders that change ``container``'s memory / CPU / pids limits while it runs."""
    return LimitSliders(resolve(engine), container)


# ---- ps table with buttons ---------------------------------------------------------
class PsTable:
    """``glassbox ps -a`` as a widget: one row per container with Stop and Rm buttons."""

    def __init__(self, eng, all: bool = True):  # noqa: A002 - docker's flag name
        W = _w()
        self.eng, self.all = eng, all
        self.rows: list[dict] = []
        self.buttons: dict[str, tuple] = {}
        self.status = W.HTML()
        self.refresh_button = W.Button(description=t("ps.refresh"), icon="refresh")
        self.refresh_button.on_click(lambda _b: self.refresh())
        self.body = W.VBox()
        self.widget = W.VBox([self.body, W.HBox([self.refresh_button, self.status])])
        self.refresh()

    def refresh(self) -> None:
        from ..present import ps_rows
        W = _w()
        self.rows = ps_rows(self.eng, self.all)
        self.buttons = {}
        lines = []
        for r in self.rows:
            cid = r["_full_id"]
            stop = W.Button(description="stop", button_style="warning",
                            disabled=r["State"] not in ("running", "paused"),
                            layout=W.Layout(width="70px"))
            rm = W.Button(description="rm", button_style="danger", layout=W.Layout(width="60px"))
            stop.on_click(lambda _b, cid=cid: self._act("stop", cid))
            rm.on_click(lambda _b, cid=cid: self._act("rm", cid))
            self.buttons[cid] = (stop, rm)
            text = (f"<code>{esc(r['ID'])}</code> <b>{esc(r['Names'])}</b> "
                    f"{esc(r['Image'])} <i>{esc(r['_cmd'][:40])}</i> "
                    f"{badge(r['Status'], None if r['State'] != 'exited' else '#757575')}")
            lines.append(W.HBox([W.HTML(text, layout=W.Layout(width="640px")), stop, rm]))
        if not lines:
            lines = [W.HTML(f"<i>{t('ps.none')}</i>")]
        self.body.children = lines

    def _act(self, what: str, cid: str) -> None:
        from ..errors import GlassboxError
        try:
            if what == "stop":
                self.eng.stop(cid)
            else:
                self.eng.remove(cid, force=True)
            self.status.value = t("ps.done", what=what, id=esc(cid[:12]))
        except GlassboxError as e:
            self.status.value = ErrorMessage(str(e))._repr_html_()
        self.refresh()

    def _repr_mimebundle_(self, **kw):
        return self.widget._repr_mimebundle_(**kw)


def ps(all: bool = True, *, engine=None) -> PsTable:  # noqa: A002
    """A container table with stop/rm buttons (``all=False``: running only)."""
    return PsTable(resolve(engine), all)


# ---- progress bars -------------------------------------------------------------------
class ProgressBars:
    """Bars for pull/push (one per layer) and build (one for the steps).

    Call it with each progress event (it is the ``progress=`` callback)::

        bars = ProgressBars(); display(bars)
        eng.pull("busybox", progress=bars)
    """

    def __init__(self, title: str = ""):
        from .progress import ProgressState
        W = _w()
        self.state = ProgressState()
        self.bars: dict[str, tuple] = {}
        self.title = W.HTML(f"<b>{esc(title)}</b>" if title else "")
        self.box = W.VBox()
        self.message = W.HTML()
        self.widget = W.VBox([self.title, self.box, self.message])
        self._lock = threading.Lock()

    def __call__(self, event: dict) -> None:
        W = _w()
        key = self.state.apply(event)
        with self._lock:
            if key is not None:
                item = self.state.items[key]
                if key not in self.bars:
                    bar = W.FloatProgress(value=0.0, min=0.0, max=1.0,
                                          layout=W.Layout(width="300px"))
                    label = W.HTML()
                    self.bars[key] = (bar, label)
                    self.box.children = tuple(self.box.children) + (
                        W.HBox([W.HTML(f"<code>{esc(key[:12])}</code>",
                                       layout=W.Layout(width="110px")), bar, label]),)
                bar, label = self.bars[key]
                bar.value = self.state.fraction(key)
                if item["done"]:
                    bar.bar_style = "success"
                size = ""
                if item["total"] and key != "build":
                    from ..present import bytes_size
                    size = f" {bytes_size(item['current'])}/{bytes_size(item['total'])}"
                elif key == "build":
                    size = f" step {item['current']}/{item['total']}"
                label.value = f"{esc(item['status'])}{esc(size)}"
            if self.state.errors:
                self.message.value = ErrorMessage(self.state.errors[-1])._repr_html_()
            elif self.state.messages:
                self.message.value = f"<code>{esc(self.state.messages[-1].strip())}</code>"

    def _repr_mimebundle_(self, **kw):
        return self.widget._repr_mimebundle_(**kw)


def _show(obj) -> None:
    from IPython.display import display
    display(obj)


def pull(ref: str, *, engine=None, show: bool = True):
    """``glassbox pull`` with one progress bar per layer; returns the Image handle."""
    from .objects import Image
    eng = resolve(engine)
    bars = ProgressBars(f"pull {ref}")
    if show:
        _show(bars)
    img = eng.pull(ref, progress=bars)
    return Image(eng, getattr(img, "id", None) or ref)


def push(ref: str, *, engine=None, show: bool = True) -> str:
    """``glassbox push`` with one progress bar per layer; returns the manifest digest."""
    eng = resolve(engine)
    bars = ProgressBars(f"push {ref}")
    if show:
        _show(bars)
    return eng.push(ref, progress=bars)
