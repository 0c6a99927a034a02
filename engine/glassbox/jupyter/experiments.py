"""Resource-limit experiments: predict, then measure, then compare.

A cgroup limit is a physical law for the processes under it, and like any law it
can be tested. An *experiment* runs the same workload in fresh containers that
differ in one limit (a *sweep*), measures each one from its cgroup, and puts the
numbers side by side::

    import glassbox.jupyter as gj
    ALLOC = "x=; while :; do x=$x$(head -c 1048576 /dev/zero | tr '\\\\0' a); done"
    r = gj.experiment("busybox", ["sh", "-c", ALLOC],
                      sweep={"memory": ["16m", "32m", "64m"]}, memory_swap=None)
    r                       # the table and the plot
    r.trials[0].oom_killed  # True: the OOM killer ended it ...
    r.trials[0].peak_memory # ... when its usage reached the limit

    # two containers at once, pinned to one CPU: who gets how much?
    r = gj.experiment("busybox", ["sh", "-c", "while :; do :; done"],
                      sweep={"cpu_shares": [512, 1024]}, together=True,
                      cpuset_cpus="0", duration=4)
    [t.cpu_share for t in r.trials]     # about [0.33, 0.67]: 512 : 1024

What is measured, per trial, from the cgroup (the readings ``glassbox stats`` makes,
:meth:`~glassbox.cgroups.CgroupManager.stats`, sampled by
:class:`~glassbox.sampler.StatsSampler` every ``interval`` s):

- **peak memory**: the kernel's own high-water mark (v1 ``memory.max_usage_in_bytes``,
  v2 ``memory.peak``), page cache included: it is charged to the cgroup too;
- **CPU time**: ``cpuacct.usage`` (v1) / ``usage_usec`` in ``cpu.stat`` (v2);
- **throttling**: how long the CFS quota (``--cpus``) held the cgroup back
  (``throttled_time`` / ``throttled_usec`` in ``cpu.stat``);
- **OOM kills**: ``memory.oom_control`` (v1) / ``memory.events`` (v2), and the
  container's ``State.OOMKilled``;
- **pids peak**: the most processes seen at once (sampled: v1 keeps no peak);
- **wall time**: from start to exit (``State.StartedAt``/``FinishedAt``).

The last reading is taken at most ``interval`` s before a container exits (its
cgroup is removed with it), so CPU time can be short by that much; the peak
memory cannot go down, so it is exact up to that last reading.

Two ways to run the trials:

- one after another (the default): each trial has the machine to itself; a trial
  still running after ``duration`` s is stopped and measured as it was;
- ``together=True``: all trials start at once and run ``duration`` s, then are
  stopped. CPU time is counted over the same window for all of them, and
  ``cpu_share`` is each one's part of the total: the way to see ``cpu.shares``
  (v1) / ``cpu.weight`` (v2), which only matter when the CPU is contended.

``cpuset_cpus="0"`` pins every trial to CPU 0: each container is created with
Docker's ``--cpuset-cpus`` (the option ``cpuset_cpus``), so its cpuset cgroup
(``cpuset.cpus``, seeded from the parent on v1) lets its processes run on that CPU
only — ``Cpus_allowed_list`` in ``/proc/self/status`` shows it inside. Unlike
``taskset``, a process in the container cannot widen it again: the cgroup bounds
every ``sched_setaffinity`` it makes.

Each trial is a fresh container named ``<name>-<n>``, removed when it has been
measured (also on errors and interrupts): nothing is left behind. The result is
an :class:`ExperimentResult`: a table (a pandas ``DataFrame`` when pandas is
installed, a plain table otherwise) and a figure, in the notebook's language
(:func:`glassbox.jupyter.language`). Notebook: ``notebooks/en/12-limit-experiments.ipynb``.
"""

from __future__ import annotations

import itertools
import re
import time
import uuid
from dataclasses import dataclass, field

from .session import resolve

MIB = 1024 * 1024
BYTE_OPTIONS = ("memory", "memory_swap")
"""Options given in Docker's units (``"64m"``) and turned into bytes."""
DEFAULT_SHARES = 1024


# ---- values -----------------------------------------------------------------------------
@dataclass(frozen=True)
class Trial:
    """One container's measurement. Sizes in bytes, times in seconds."""

    label: str
    """What differs in this trial, e.g. ``memory=16m``."""
    options: dict
    """The run options of this trial (after the sweep was applied)."""
    ended: str
    """``exited``, ``oom`` (OOM-killed) or ``stopped`` (still running after ``duration``)."""
    exit_code: int | None
    oom_kills: int
    memory_limit: int | None
    peak_memory: int | None
    cpu_time: float
    throttled: float | None
    pids_peak: int
    wall_time: float
    cpu_share: float | None = None
    """Together: this trial's fraction of the CPU time all trials used (0..1)."""
    samples: tuple = field(default=(), repr=False, compare=False)
    """The :class:`~glassbox.sampler.Sample` s of the live chart."""

    @property
    def oom_killed(self) -> bool:
        return self.ended == "oom"


def _check_cpuset(cpus: str) -> str:
    import os
    from ..errors import InvalidArgument
    if not re.fullmatch(r"\d+(-\d+)?(,\d+(-\d+)?)*", str(cpus)):
        raise InvalidArgument(f"invalid cpuset_cpus {cpus!r}: use CPU numbers like '0', '0,1' "
                              "or '0-1' (as --cpuset-cpus)")
    wanted: set[int] = set()
    for part in str(cpus).split(","):
        lo, _, hi = part.partition("-")
        wanted |= set(range(int(lo), int(hi or lo) + 1))
    have = os.sched_getaffinity(0)
    if not wanted <= have:
        raise InvalidArgument(f"cpuset_cpus {cpus!r}: CPU(s) {sorted(wanted - have)} do not "
                              f"exist here (this machine has {', '.join(map(str, sorted(have)))})")
    return str(cpus)


def _value(key: str, value):
    if key in BYTE_OPTIONS and isinstance(value, str):
        from ..cgroups.limits import parse_bytes
        return parse_bytes(value, "--" + key.replace("_", "-"))
    return value


def _label_value(value) -> str:
    if isinstance(value, (list, tuple)):
        text = " ".join(str(v) for v in value)
        return text if len(text) <= 32 else text[:31] + "…"
    return str(value)


def plan(sweep: dict, fixed: dict) -> list[tuple[str, dict]]:
    """The trials of a sweep: ``[(label, options), ...]``, one per combination.

    ``sweep`` maps a run option (``memory``, ``cpu_shares``, ``cpus``,
    ``pids_limit``, … or ``command``) to the values to try; several keys give
    every combination. The values may be a dict ``{name: value}`` to give the
    trials short names (``{"command": {"disk": [...], "tmpfs": [...]}}``). A
    fixed option may be a function of the trial's options, e.g.
    ``memory_swap=lambda o: o["memory"]`` (no swap, whatever the machine has). ``fixed`` holds the options all trials share. Sizes may be
    written as Docker does (``"64m"``). Pure: nothing runs.
    """
    from ..containers.options import _FIELDS
    from ..errors import InvalidArgument
    allowed = set(_FIELDS) - {"name", "auto_remove", "tty", "interactive"}
    if not isinstance(sweep, dict) or not sweep:
        raise InvalidArgument("sweep needs at least one option and its values, e.g. "
                              "sweep={'memory': ['16m', '32m', '64m']}")
    for key, values in {**sweep, **fixed}.items():
        if key not in allowed:
            raise InvalidArgument(f"unknown run option {key!r} in the experiment: use one of "
                                  f"{', '.join(sorted(allowed))}")
    named: dict[str, list] = {}
    for key, values in sweep.items():
        if isinstance(values, dict) and values:
            named[key] = [(str(n), v) for n, v in values.items()]
        elif isinstance(values, (list, tuple)) and values:
            named[key] = [(_label_value(v), v) for v in values]
        else:
            raise InvalidArgument(f"sweep[{key!r}] must be a non-empty list of values "
                                  f"(or a dict name → value), got {values!r}")
    base = {k: _value(k, v) for k, v in fixed.items() if not callable(v)}
    derived = {k: v for k, v in fixed.items() if callable(v)}
    keys = list(sweep)
    out = []
    for combo in itertools.product(*(named[k] for k in keys)):
        opts = dict(base)
        opts.update({k: _value(k, v) for k, (_, v) in zip(keys, combo)})
        opts.update({k: _value(k, f(dict(opts))) for k, f in derived.items()})
        label = ", ".join(f"{k}={name}" for k, (name, _) in zip(keys, combo))
        out.append((label, opts))
    labels = [label for label, _ in out]
    if len(set(labels)) < len(labels):          # the same values twice: number the trials
        out = [(f"{label} #{i}", opts) for i, (label, opts) in enumerate(out, 1)]
    return out


def _parse_time(iso: str | None) -> float | None:
    """``2026-12-04T02:02:09.579086065Z`` → epoch seconds (None for Docker's zero time)."""
    if not iso or iso.startswith("0001"):
        return None
    from datetime import datetime, timezone
    head, _, frac = iso.rstrip("Z").partition(".")
    t = datetime.strptime(head, "%Y-%m-%dT%H:%M:%S").replace(tzinfo=timezone.utc).timestamp()
    return t + (float("0." + frac) if frac else 0.0)


def measure(label: str, options: dict, sampler, container, *, stopped_after: float | None,
            wall: float, window=None) -> Trial:
    """A :class:`Trial` from what the sampler read and how the container ended.

    ``window`` = (first, last) raw readings bounding the common time window of a
    together run: CPU time is counted between them. Pure given its inputs.
    """
    last = sampler.last_stats
    state = container.state
    oom = bool(state.get("OOMKilled")) or sampler.oom
    if stopped_after is not None and not oom:
        ended = "stopped"
    else:
        ended = "oom" if oom else "exited"
    cpu_ns = last.cpu_usage_ns if last else 0
    if window is not None and window[0] is not None and window[1] is not None:
        cpu_ns = window[1].cpu_usage_ns - window[0].cpu_usage_ns
    if stopped_after is None:
        started, finished = _parse_time(state.get("StartedAt")), \
            _parse_time(state.get("FinishedAt"))
        if started and finished and finished >= started:
            wall = finished - started
    return Trial(
        label=label, options=dict(options), ended=ended,
        exit_code=None if ended == "stopped" else container.exit_code,
        oom_kills=max(last.oom_kills if last else 0, 1 if oom else 0),
        memory_limit=(last.memory_limit if last else None) or options.get("memory"),
        # the shim's final reading wins: a run shorter than the sampling interval
        # ends (and its cgroup goes) before the last sample sees the peak
        peak_memory=max((x for x in (last.memory_max_usage if last else None,
                                     state.get("MemoryMaxUsage")) if x is not None),
                        default=None),
        cpu_time=cpu_ns / 1e9,
        throttled=last.cpu_throttled_ns / 1e9 if last and last.cpu_throttled_ns is not None
        else None,
        pids_peak=max((s.pids for s in sampler.samples), default=0),
        wall_time=wall, samples=tuple(sampler.samples))


def with_shares(trials: list[Trial]) -> list[Trial]:
    """The trials with ``cpu_share`` filled in: each one's part of their total CPU time."""
    from dataclasses import replace
    total = sum(t.cpu_time for t in trials)
    return [replace(t, cpu_share=(t.cpu_time / total) if total > 0 else None) for t in trials]


def expected_shares(trials: list[Trial]) -> list[float]:
    """What CFS promises on a contended CPU: share_i = shares_i / Σ shares (default 1024)."""
    shares = [t.options.get("cpu_shares") or DEFAULT_SHARES for t in trials]
    return [s / sum(shares) for s in shares]


# ---- the result -----------------------------------------------------------------------------
_COLUMNS = ["trial", "ended", "exit", "oom", "peak", "limit", "cpu", "share", "throttled",
            "pids", "wall"]


def _mib(n) -> float | str:
    return round(n / MIB, 1) if n else ""


def _secs(x) -> float | str:
    return round(x, 2) if x is not None else ""


class ExperimentResult:
    """The trials of one experiment: :attr:`trials`, :attr:`table`, :meth:`figure`.

    In a notebook it shows itself as the table and the figure (both kept in the
    saved notebook).
    """

    def __init__(self, name: str, trials: list[Trial], together: bool, duration: float | None):
        self.name, self.trials, self.together, self.duration = name, trials, together, duration

    def __len__(self) -> int:
        return len(self.trials)

    def __getitem__(self, i) -> Trial:
        return self.trials[i]

    def __iter__(self):
        return iter(self.trials)

    def headers(self) -> list[str]:
        from .messages import t
        keys = {"trial": "exp.col.trial", "ended": "exp.col.ended", "exit": "exp.col.exit",
                "oom": "exp.col.oom", "peak": "exp.col.peak", "limit": "exp.col.limit",
                "cpu": "exp.col.cpu", "share": "exp.col.share",
                "throttled": "exp.col.throttled", "pids": "exp.col.pids", "wall": "exp.col.wall"}
        return [t(keys[c]) for c in self._columns()]

    def _columns(self) -> list[str]:
        return [c for c in _COLUMNS if c != "share" or self.together]

    def rows(self) -> list[list]:
        """The table as plain rows (one list per trial, in :meth:`headers` order)."""
        from .messages import t
        out = []
        for tr in self.trials:
            ended = {"oom": t("exp.ended.oom"), "exited": t("exp.ended.exited")}.get(tr.ended) \
                or t("exp.ended.stopped", s=round(tr.wall_time, 1))
            cells = {"trial": tr.label, "ended": ended,
                     "exit": "" if tr.exit_code is None else tr.exit_code, "oom": tr.oom_kills,
                     "peak": _mib(tr.peak_memory), "limit": _mib(tr.memory_limit),
                     "cpu": _secs(tr.cpu_time),
                     "share": "" if tr.cpu_share is None else round(tr.cpu_share * 100, 1),
                     "throttled": _secs(tr.throttled), "pids": tr.pids_peak,
                     "wall": _secs(tr.wall_time)}
            out.append([cells[c] for c in self._columns()])
        return out

    @property
    def table(self):
        """A pandas ``DataFrame`` when pandas is importable, else a plain table."""
        try:
            import pandas
        except ImportError:
            from .display import Table
            heads = self.headers()
            return Table(heads, heads, [dict(zip(heads, r)) for r in self.rows()])
        return pandas.DataFrame(self.rows(), columns=self.headers())

    def figure(self):
        """Memory over time per trial (limits dashed, OOM kills marked), and CPU per trial."""
        from .messages import t
        from .plots import experiment_figure
        expected = expected_shares(self.trials) if self.together else None
        return experiment_figure(self.trials, together=self.together, expected=expected,
                                 title=t("exp.title", name=self.name, n=len(self.trials)))

    def show(self) -> None:
        from IPython.display import display
        display(self)

    def _repr_mimebundle_(self, include=None, exclude=None):
        from .plots import to_png
        from .display import html_table
        import base64
        png = to_png(self.figure())
        html = html_table(self.headers(), self.rows()) + \
            f'<img src="data:image/png;base64,{base64.b64encode(png).decode()}"/>'
        return {"text/html": html, "image/png": png, "text/plain": repr(self)}

    def __repr__(self) -> str:
        from ..present import table
        return table([h.upper() for h in self.headers()],
                     [[str(c) for c in r] for r in self.rows()])


# ---- running it ---------------------------------------------------------------------------------
def _watch(eng, cid: str, interval: float, live: bool):
    """A sampler on ``cid``; with ``live``, inside a monitor widget shown in the cell."""
    if live:
        from .magics import _in_kernel
        if _in_kernel():
            from IPython.display import display
            from .widgets import Monitor
            mon = Monitor(eng, cid, interval)
            display(mon)
            return mon.sampler, mon
    from ..sampler import StatsSampler
    return StatsSampler(eng, cid, interval).start(), None


def _stop(eng, cid: str) -> None:
    from ..errors import GlassboxError
    try:
        eng.kill(cid)
    except GlassboxError:
        pass                      # it exited on its own in the meantime


def _remove(eng, ids: list[str]) -> None:
    from ..errors import NotFound
    for cid in ids:
        try:
            eng.remove(cid, force=True)
        except NotFound:
            pass


def experiment(image: str = "busybox", command: list[str] | None = None, *, sweep: dict,
               together: bool = False, duration: float | None = None,
               cpuset_cpus: str | None = None, interval: float = 0.05, live: bool = True,
               name: str | None = None, engine=None, **fixed) -> ExperimentResult:
    """Run ``command`` in one fresh container per value of the ``sweep``, measure each.

    ``sweep``: run option → values, e.g. ``{"memory": ["16m", "32m", "64m"]}`` or
    ``{"cpu_shares": [512, 1024]}`` or ``{"command": [cmd_a, cmd_b]}``.
    ``fixed``: options every trial gets (``memory_swap="32m"``, ``cpus=0.5``, …).
    ``together``: start all trials at once and stop them after ``duration`` s
    (default 3); otherwise one after another, each stopped after ``duration`` s
    (default 30) if still running. ``cpuset_cpus``: pin every trial to these CPUs
    (``--cpuset-cpus``, see the module docstring). ``live``: show each trial's live chart in the cell.
    """
    from ..errors import InvalidArgument
    eng = resolve(engine)
    trials = plan(sweep, fixed)
    if interval <= 0:
        raise InvalidArgument(f"interval must be > 0 seconds (got {interval})")
    duration = duration if duration is not None else (3.0 if together else 30.0)
    if duration <= 0:
        raise InvalidArgument(f"duration must be > 0 seconds (got {duration})")
    cpus = _check_cpuset(cpuset_cpus) if cpuset_cpus is not None else None
    name = name or "exp-" + uuid.uuid4().hex[:6]
    runs = []
    for label, opts in trials:
        cmd = opts.pop("command", command)
        if cpus is not None:
            opts["cpuset_cpus"] = cpus      # the container's cpuset cgroup pins it
        runs.append((label, opts, cmd))
    if together:
        done = _run_together(eng, image, runs, duration, interval, live, name)
    else:
        done = _run_one_by_one(eng, image, runs, duration, interval, live, name)
    return ExperimentResult(name, done, together, duration)


def _say(key: str, **kw) -> None:
    from .messages import t
    print(t(key, **kw), flush=True)


def _run_one_by_one(eng, image, runs, duration, interval, live, name) -> list[Trial]:
    from ..sampler import settled
    out = []
    for i, (label, opts, cmd) in enumerate(runs, 1):
        _say("exp.running", i=i, n=len(runs), label=label)
        ids: list[str] = []
        try:
            cid = eng.run(image, cmd, name=f"{name}-{i}", detach=True, **opts).id
            ids.append(cid)
            t0 = time.monotonic()
            sampler, _mon = _watch(eng, cid, interval, live)
            stopped = None
            if not sampler.wait(duration):
                stopped = duration
                _stop(eng, cid)
                sampler.wait(10)
            wall = time.monotonic() - t0
            out.append(measure(label, opts, sampler, settled(eng, cid), stopped_after=stopped,
                               wall=wall))
        finally:
            _remove(eng, ids)
    return out


def _run_together(eng, image, runs, duration, interval, live, name) -> list[Trial]:
    from ..sampler import settled
    _say("exp.running_together", n=len(runs), s=duration,
         labels="; ".join(label for label, _, _ in runs))
    ids: list[str] = []
    try:
        for i, (_label, opts, cmd) in enumerate(runs, 1):
            ids.append(eng.run(image, cmd, name=f"{name}-{i}", detach=True, **opts).id)
        samplers = [_watch(eng, cid, interval, live)[0] for cid in ids]
        first = [eng.stats(cid) for cid in ids]     # the common window starts
        t0 = time.monotonic()
        time.sleep(duration)
        last = [eng.stats(cid) for cid in ids]      # … and ends, for all at once
        wall = time.monotonic() - t0
        for cid in ids:
            _stop(eng, cid)
        for s in samplers:
            s.wait(10)
        out = []
        for (label, opts, _cmd), cid, s, a, b in zip(runs, ids, samplers, first, last):
            ended_early = b is None            # it ended inside the window: its last reading
            out.append(measure(label, opts, s, settled(eng, cid),
                               stopped_after=None if ended_early else duration, wall=wall,
                               window=(a, s.last_stats if ended_early else b)))
        return with_shares(out)
    finally:
        _remove(eng, ids)
