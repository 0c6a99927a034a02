"""Sampling a container's cgroup counters in the background: the data of the live chart.

:class:`StatsSampler` reads ``eng.stats(id)`` — the same reading
``glassbox stats`` prints — every ``interval`` seconds on its own thread, so
the kernel stays free to run the next cell. CPU % comes from two consecutive
readings (:func:`glassbox.cgroups.cpu_percent`). It stops by itself when the
container is no longer running (or is removed), then reads the container's
final state: exit code and ``State.OOMKilled``. An OOM kill is also noticed
while running, from the cgroup's ``oom_kills`` counter.

The thread only *reads*: no fork, no container setup (DESIGN §3).
"""

from __future__ import annotations

import os
import threading
import time
from dataclasses import dataclass

from . import processes


def settled(eng, ref, timeout: float = 3.0):
    """The container, once its exit is recorded in full.

    A container is reported *exited* as soon as its C monitor writes the exit code
    (so ``wait`` returns fast); the shim then reads the cgroup's OOM counter,
    removes the cgroup and records ``OOMKilled`` a moment later. Reading
    ``OOMKilled`` in between says False for a container the OOM killer did kill:
    this waits (at most ``timeout`` s) until the shim is gone.
    """
    c = eng.get(str(ref))
    deadline = time.monotonic() + timeout
    while not c.running and c.state.get("ShimPid") and processes.alive(c.state["ShimPid"]) \
            and time.monotonic() < deadline:
        time.sleep(0.02)
        c = eng.get(c.id)
    return c


@dataclass(frozen=True)
class Sample:
    t: float
    """Seconds since the sampler started."""
    cpu_percent: float
    """100.0 = one core busy the whole interval (Docker's convention)."""
    memory: int
    """Bytes, as ``docker stats`` counts them (usage minus inactive page cache)."""
    memory_limit: int | None
    """Bytes; None when unlimited."""
    pids: int
    oom_kills: int


class StatsSampler:
    """Collects :class:`Sample` s of one container until it stops (or :meth:`stop`)."""

    def __init__(self, eng, ref, interval: float = 0.2, on_sample=None,
                 max_samples: int | None = None):
        if interval <= 0:
            from .errors import InvalidArgument
            raise InvalidArgument(f"interval must be > 0 seconds (got {interval})")
        c = eng.get(str(ref))       # NotFound for a removed container
        self.eng, self.id, self.name = eng, c.id, c.name
        self.interval = interval
        self.on_sample = on_sample
        self.max_samples = max_samples
        self.samples: list[Sample] = []
        self.first_stats = None
        """The first raw :class:`~glassbox.cgroups.Stats` reading (cumulative counters)."""
        self.last_stats = None
        """The latest raw reading: CPU ns, peak memory, throttling, OOM kills so far."""
        self.oom = False
        """True once the kernel OOM-killed something in the container."""
        self.oom_at: float | None = None
        self.exit_code: int | None = None
        self.status = c.status
        self.removed = False
        self.error: str | None = None
        self.started_at = time.time()
        self.done = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._ncpus = os.cpu_count() or 1

    # ---- control ------------------------------------------------------------
    def start(self) -> "StatsSampler":
        self._thread = threading.Thread(target=self._run, name=f"gbx-monitor-{self.name}",
                                        daemon=True)
        self._thread.start()
        return self

    def stop(self, timeout: float = 5.0) -> None:
        """Stop sampling (the container keeps running)."""
        self._stop.set()
        if self._thread and self._thread is not threading.current_thread():
            self._thread.join(timeout)

    def wait(self, timeout: float | None = None) -> bool:
        """Block until sampling ended (the container stopped); True if it did."""
        return self.done.wait(timeout)

    @property
    def stop_requested(self) -> bool:
        """True once :meth:`stop` was called (not when the container exited by itself)."""
        return self._stop.is_set()

    @property
    def running(self) -> bool:
        return self._thread is not None and not self.done.is_set()

    @property
    def rate(self) -> float:
        """Samples per second over the collected samples."""
        if len(self.samples) < 2:
            return 0.0
        span = self.samples[-1].t - self.samples[0].t
        return (len(self.samples) - 1) / span if span > 0 else 0.0

    def columns(self) -> dict:
        """The samples as columns (what :func:`glassbox.jupyter.plots.stats_figure` takes)."""
        s = self.samples
        return {"t": [x.t for x in s], "cpu": [x.cpu_percent for x in s],
                "memory": [x.memory for x in s], "limit": [x.memory_limit for x in s],
                "pids": [x.pids for x in s], "oom_at": self.oom_at, "oom": self.oom,
                "exit_code": self.exit_code, "name": self.name, "status": self.status}

    # ---- the thread ---------------------------------------------------------
    def _read(self):
        """One reading, or None when the container is not running any more."""
        from .errors import GlassboxError, NotFound
        try:
            st = self.eng.stats(self.id)
            return st, st is not None
        except NotFound:
            return None, False
        except (GlassboxError, OSError):
            # the cgroup vanishes while the container exits: is it still running?
            try:
                return None, self.eng.get(self.id).running
            except NotFound:
                return None, False

    def _run(self) -> None:
        from .cgroups.stats import cpu_percent
        t0 = time.monotonic()
        next_t = t0
        prev = None
        oom_base = None
        try:
            while not self._stop.is_set():
                st, alive = self._read()
                if st is None:
                    if not alive:
                        break
                else:
                    if oom_base is None:
                        oom_base = st.oom_kills
                    cpu = cpu_percent(prev, st, self._ncpus) if prev else 0.0
                    sample = Sample(time.monotonic() - t0, cpu, st.memory_usage, st.memory_limit,
                                    st.pids_current, st.oom_kills)
                    self.samples.append(sample)
                    if st.oom_kills > oom_base and not self.oom:
                        self.oom, self.oom_at = True, sample.t
                    prev = st
                    if self.first_stats is None:
                        self.first_stats = st
                    self.last_stats = st
                    if self.on_sample:
                        try:
                            self.on_sample(sample)
                        except Exception:  # noqa: BLE001 - a drawing bug must not stop sampling
                            pass
                    if self.max_samples and len(self.samples) >= self.max_samples:
                        break
                next_t += self.interval
                now = time.monotonic()
                if next_t < now:          # we fell behind (a slow read): do not burst
                    next_t = now
                self._stop.wait(next_t - now)
            self._finish(time.monotonic() - t0)
        except Exception as e:  # noqa: BLE001
            self.error = f"{type(e).__name__}: {e}"
        finally:
            self.done.set()

    def _finish(self, t_end: float) -> None:
        from .errors import NotFound
        try:
            c = settled(self.eng, self.id)
        except NotFound:
            self.removed, self.status = True, "removed"
            return
        self.status = c.status
        if not c.running:
            self.exit_code = c.exit_code
            if c.state.get("OOMKilled") and not self.oom:
                self.oom, self.oom_at = True, t_end
