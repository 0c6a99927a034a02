"""The live side of the panel: one source of events, one sampler per watched container.

Every browser tab opens one WebSocket and says what it watches. The :class:`Hub`
is shared by all of them, so ten tabs on the same container cost one reader:

- **Events** come from :class:`~glassbox.events.EventWatcher`, the daemon's too
  (the source of ``docker events``: it diffs snapshots of the state store four
  times a second), so a container started by a notebook, the CLI or a daemon
  appears in every panel the same way. The watcher runs while a socket is open.
- **Stats**: a container watched by at least one socket has one
  :class:`~glassbox.sampler.StatsSampler` — the reading ``glassbox stats``
  makes, CPU % from two consecutive readings — at 2 Hz, or 10 Hz while a notebook's
  live chart (:mod:`glassbox.jupyter.livechart`) shows it. The last socket to stop watching
  stops it. A sampler ends by itself when its container stops; a ``start``
  event for a container still watched starts a new one.
- **Logs**: a container whose log a socket follows has one follower thread
  (``containers.logs(follow=True)``) fanning new lines out.
- **Status** (the status-bar item): once a second, running count and the total
  CPU and memory of every container cgroup, from the same ``containers.stats``.

Threads only *read* and hand results to the server's event loop with
``call_soon_threadsafe``; sockets are written only from the loop.
"""

from __future__ import annotations

import asyncio
import os
import threading
import time
from concurrent.futures import ThreadPoolExecutor

STATS_INTERVAL = 0.5
"""Seconds between two readings of a watched container (2 Hz)."""
FAST_INTERVAL = 0.1
"""... for a container a notebook's live chart shows (10 Hz)."""
STATUS_INTERVAL = 1.0
KEEP_SAMPLES = 4
"""Samples a shared sampler keeps (the browser keeps the history it draws)."""


class _Daemonish:
    """What :class:`~glassbox.events.EventWatcher` needs of its daemon:
    ``eng`` and ``run(fn, *args)`` off the event loop."""

    def __init__(self, hub: "Hub"):
        self.hub = hub

    @property
    def eng(self):
        return self.hub.eng

    async def run(self, fn, *args):
        return await self.hub.run(fn, *args)


class _LogFollower(threading.Thread):
    """Reads ``containers.logs(id, follow=True, tail=0)`` and hands batches to the hub.
    The engine's follow ends when the container stops; ``cancel`` makes it drop
    what it reads from then on."""

    def __init__(self, hub: "Hub", cid: str):
        super().__init__(name=f"gbx-lab-logs-{cid[:12]}", daemon=True)
        self.hub, self.cid = hub, cid
        self.cancelled = False

    def run(self) -> None:
        try:
            for stream, text, ts in self.hub.eng.logs(self.cid, follow=True, tail=0):
                if self.cancelled:
                    return
                self.hub.from_thread(self.hub._fan_log, self.cid,
                                     {"stream": stream, "text": text, "time": ts})
        except Exception:  # noqa: BLE001 — removed meanwhile: the follow just ends
            pass
        finally:
            self.hub.from_thread(self.hub._log_ended, self)


class Hub:
    """Shared by every socket of one server. ``eng`` is an Engine or RemoteEngine."""

    def __init__(self, eng, target, reach=None):
        self.eng, self.target = eng, target
        self._reach = reach
        self.pool = ThreadPoolExecutor(4, thread_name_prefix="gbx-lab")
        self.sockets: set = set()
        self.watching: dict = {}        # socket -> set of container ids
        self.fast: dict = {}            # socket -> the ids of those it wants at 10 Hz
        self.samplers: dict = {}        # id -> StatsSampler
        self.following: dict = {}       # socket -> set of ids whose log it follows
        self.followers: dict = {}       # id -> _LogFollower
        self.loop: asyncio.AbstractEventLoop | None = None
        self._events = None
        self._pump: asyncio.Task | None = None
        self._status_task: asyncio.Task | None = None
        self._prev: dict = {}           # id -> last Stats (status-bar CPU %)
        self.last_status: dict | None = None

    # ---- plumbing -------------------------------------------------------------
    async def run(self, fn, *args):
        """``fn(*args)`` on the hub's threads (the Engine blocks)."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self.pool, fn, *args)

    def from_thread(self, fn, *args) -> None:
        loop = self.loop
        if loop is not None and not loop.is_closed():
            try:
                loop.call_soon_threadsafe(fn, *args)
            except RuntimeError:       # the loop closed between the check and the call
                pass

    def reachability(self):
        from .connection import probe
        return probe(self.eng, self.target)

    # ---- sockets ----------------------------------------------------------------
    def attach(self, sock) -> None:
        self.loop = asyncio.get_running_loop()
        self.sockets.add(sock)
        self.watching[sock] = set()
        self.following[sock] = set()
        if self._events is None:
            from ..events import EventWatcher
            self._events = EventWatcher(_Daemonish(self))
            self._queue: asyncio.Queue = asyncio.Queue()
            self._events.subscribers.add(self._queue)
            self._events.start()
            self._pump = self.loop.create_task(self._pump_events())
            self._status_task = self.loop.create_task(self._status_loop())

    def detach(self, sock) -> None:
        self.sockets.discard(sock)
        self.set_watch(sock, [])
        self.set_follow(sock, [])
        self.watching.pop(sock, None)
        self.fast.pop(sock, None)
        self.following.pop(sock, None)
        if not self.sockets:
            self._stop_background()

    def _stop_background(self) -> None:
        if self._events is not None:
            if self._events.task is not None:
                self._events.task.cancel()
            self._events = None
        for task in (self._pump, self._status_task):
            if task is not None:
                task.cancel()
        self._pump = self._status_task = None

    # ---- watching stats -------------------------------------------------------------
    def set_watch(self, sock, ids, fast=()) -> list[str]:
        """``sock`` now watches exactly ``ids`` (and ``fast``, which it wants at
        :data:`FAST_INTERVAL`: a live chart); returns the ids that are not containers."""
        want = set(ids) | set(fast)
        old = self.watching.get(sock, set())
        self.watching[sock] = want
        self.fast[sock] = set(fast)
        for cid in old - want:
            if not self._watched(cid):
                s = self.samplers.pop(cid, None)
                if s is not None:
                    s.stop(timeout=0)      # no join on the loop: it ends within one interval
        bad = []
        for cid in want | old:
            if cid in want and not self._ensure_sampler(cid):
                bad.append(cid)
            elif cid in self.samplers:
                self.samplers[cid].interval = self._interval(cid)
        return bad

    def _interval(self, cid: str) -> float:
        return FAST_INTERVAL if any(cid in f for f in self.fast.values()) else STATS_INTERVAL

    def _watched(self, cid: str) -> bool:
        return any(cid in ids for ids in self.watching.values())

    def _ensure_sampler(self, cid: str) -> bool:
        """A running sampler for ``cid`` if it is running; False if it is no container."""
        from ..errors import GlassboxError
        if self.eng is None:                 # the state root could not be opened
            return False
        s = self.samplers.get(cid)
        if s is not None and not s.done.is_set():
            return True
        from ..sampler import StatsSampler
        try:
            s = StatsSampler(self.eng, cid, interval=self._interval(cid),
                             on_sample=lambda sample, cid=cid: self._on_sample(cid, sample))
        except GlassboxError:
            self.samplers.pop(cid, None)
            return False
        if s.status not in ("running", "paused"):
            self.samplers.pop(cid, None)     # nothing to read until it starts
            return True
        self.samplers[cid] = s.start()
        return True

    def _on_sample(self, cid: str, sample) -> None:
        s = self.samplers.get(cid)
        if s is not None and len(s.samples) > KEEP_SAMPLES:
            del s.samples[:-KEEP_SAMPLES]   # on the sampler's own thread: no race
        msg = {"type": "stats", "id": cid, "t": time.time(), "cpu": sample.cpu_percent,
               "memory": sample.memory, "limit": sample.memory_limit, "pids": sample.pids,
               "oom_kills": sample.oom_kills}
        self.from_thread(self._send_watchers, cid, msg)

    def _send_watchers(self, cid: str, msg: dict) -> None:
        for sock, ids in list(self.watching.items()):
            if cid in ids:
                sock.send(msg)

    @property
    def sampler_count(self) -> int:
        return len([s for s in self.samplers.values() if not s.done.is_set()])

    # ---- following logs -----------------------------------------------------------
    def set_follow(self, sock, ids) -> None:
        want = set(ids)
        old = self.following.get(sock, set())
        self.following[sock] = want
        for cid in old - want:
            if not any(cid in f for f in self.following.values()):
                f = self.followers.pop(cid, None)
                if f is not None:
                    f.cancelled = True
        for cid in want:
            self._ensure_follower(cid)

    def _ensure_follower(self, cid: str) -> None:
        if cid not in self.followers:
            f = _LogFollower(self, cid)
            self.followers[cid] = f
            f.start()

    def _fan_log(self, cid: str, line: dict) -> None:
        for sock, ids in list(self.following.items()):
            if cid in ids:
                sock.send({"type": "log", "id": cid, "line": line})

    def _log_ended(self, follower: _LogFollower) -> None:
        if self.followers.get(follower.cid) is follower:
            del self.followers[follower.cid]

    # ---- events and status ----------------------------------------------------------
    async def _pump_events(self) -> None:
        while True:
            ev = await self._queue.get()
            if ev.get("Type") == "container" and ev.get("Action") == "start":
                cid = ev["Actor"]["ID"]
                if self._watched(cid):
                    self._ensure_sampler(cid)
                if any(cid in f for f in self.following.values()):
                    self._ensure_follower(cid)
            for sock in list(self.sockets):
                sock.send({"type": "event", "event": ev})

    def status(self) -> dict:
        """Running containers and the sum of their cgroups' CPU % and memory (blocking)."""
        from ..cgroups.stats import cpu_percent
        from ..errors import GlassboxError
        reach = self.reachability()
        base = {"type": "status", "engine": self.target.as_dict(), **reach.as_dict()}
        if not reach.ok:
            return {**base, "running": 0, "total": 0, "cpu": None, "memory": None}
        try:
            cs = self.eng.ps(all=True)
        except (GlassboxError, OSError) as e:
            return {**base, "ok": False, "error": str(e), "fix": reach.fix or
                    "check the state root / daemon, then reload the panel",
                    "running": 0, "total": 0, "cpu": None, "memory": None}
        cpu, mem, seen = 0.0, 0, {}
        ncpus = os.cpu_count() or 1
        stats_ok = True
        for c in cs:
            if not c.running:
                continue
            try:
                st = self.eng.stats(c.id)
            except GlassboxError:
                stats_ok = False      # the daemon could not give them
                continue
            except OSError:
                continue
            if st is None:
                continue
            prev = self._prev.get(c.id)
            if prev is not None:
                cpu += cpu_percent(prev, st, ncpus)
            mem += st.memory_usage
            seen[c.id] = st
        self._prev = seen
        return {**base, "running": len([c for c in cs if c.running]), "total": len(cs),
                "cpu": cpu if stats_ok else None, "memory": mem if stats_ok else None}

    async def _status_loop(self) -> None:
        while True:
            try:
                st = await self.run(self.status)
            except Exception as e:  # noqa: BLE001 — shown, never a dead status bar
                st = {"type": "status", "ok": False, "error": f"{type(e).__name__}: {e}",
                      "fix": "see the JupyterLab server log", "engine": self.target.as_dict()}
            self.last_status = st
            for sock in list(self.sockets):
                sock.send(st)
            await asyncio.sleep(STATUS_INTERVAL)
