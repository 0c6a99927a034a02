"""Progress events, as the builder and the registry client send them.

Two shapes arrive here:

* **build** events (``eng.build(..., progress=cb)``)::

      {"type": "step", "index": 2, "total": 3, "instruction": "RUN echo hi", "cached": True}
      {"type": "log", "text": "hi\\n"}
      {"type": "done", "image_id": "sha256:..."}

* **docker-like pull/push** events (the JSON lines ``docker pull`` streams)::

      {"id": "3f4e...", "status": "Downloading", "progressDetail": {"current": 5, "total": 9}}
      {"id": "3f4e...", "status": "Pull complete"}
      {"status": "Digest: sha256:..."}

:class:`ProgressState` folds either shape into plain data (pure, unit-tested);
:class:`BuildLog` prints the build's step log into the cell as it happens;
:class:`glassbox.jupyter.widgets.ProgressBars` draws the state as bars.
"""

from __future__ import annotations

import sys
import threading

DONE_STATUSES = ("pull complete", "download complete", "already exists", "pushed",
                 "layer already exists", "mounted from", "verifying checksum")


class ProgressState:
    """What every progress line said so far, one entry per layer (or ``"build"``)."""

    def __init__(self):
        self.items: dict[str, dict] = {}
        self.messages: list[str] = []
        self.errors: list[str] = []
        self.done = False
        self.image_id: str | None = None
        self._lock = threading.Lock()

    def apply(self, event: dict) -> str | None:
        """Fold one event in; return the key of the entry it changed (None for messages)."""
        with self._lock:
            return self._apply(event)

    def _apply(self, ev: dict) -> str | None:
        kind = ev.get("type")
        if kind == "step":
            item = self.items.setdefault("build", {"status": "", "current": 0, "total": 0,
                                                   "done": False, "cached": 0})
            item["current"] = int(ev.get("index") or 0)
            item["total"] = int(ev.get("total") or 0)
            item["status"] = ("CACHED " if ev.get("cached") else "") + str(ev.get("instruction",
                                                                            ""))
            item["cached"] += 1 if ev.get("cached") else 0
            return "build"
        if kind in ("log", "warning"):
            self.messages.append(str(ev.get("text", "")))
            return None
        if kind in ("container", "layer", "result", "skip", "tag"):
            return None
        if kind == "done":
            self.done = True
            self.image_id = ev.get("image_id")
            if "build" in self.items:
                b = self.items["build"]
                b["done"], b["current"] = True, b["total"] or b["current"]
            return "build" if "build" in self.items else None
        if kind == "error" or "error" in ev or "errorDetail" in ev:
            msg = ev.get("error") or (ev.get("errorDetail") or {}).get("message") or \
                ev.get("message") or str(ev)
            self.errors.append(str(msg))
            return None
        status = str(ev.get("status", ""))
        key = ev.get("id")
        if not key:
            if status:
                self.messages.append(status)
            return None
        item = self.items.setdefault(key, {"status": "", "current": 0, "total": 0,
                                           "done": False})
        item["status"] = status
        detail = ev.get("progressDetail") or {}
        if detail.get("total"):
            item["total"] = int(detail["total"])
        if detail.get("current") is not None:
            item["current"] = int(detail["current"])
        if status.lower().startswith(DONE_STATUSES):
            item["done"] = True
            if item["total"]:
                item["current"] = item["total"]
        return key

    def fraction(self, key: str) -> float:
        item = self.items[key]
        if item["done"]:
            return 1.0
        return min(1.0, item["current"] / item["total"]) if item["total"] else 0.0


def step_line(ev: dict) -> str:
    """``[2/3] CACHED RUN echo hi`` — the line a build step prints (BuildKit's shape)."""
    mark = "CACHED " if ev.get("cached") else ""
    return f"[{ev.get('index', '?')}/{ev.get('total', '?')}] {mark}{ev.get('instruction', '')}"


class BuildLog:
    """The ``progress`` callback of a build: prints the step log into the cell as it
    arrives (CACHED steps marked) and forwards every event to ``bars`` if given."""

    def __init__(self, out=None, bars=None):
        self.out = out
        self.bars = bars
        self.events: list[dict] = []
        self.lines: list[str] = []
        self.state = ProgressState()
        self.tagged: list[str] = []
        self._bol = True
        self._lock = threading.Lock()

    def _write(self, text: str) -> None:
        if not text:
            return
        out = self.out or sys.stdout
        out.write(text)
        self._bol = text.endswith("\n")
        try:
            out.flush()
        except (AttributeError, ValueError):
            pass

    def _line(self, line: str) -> None:
        """A line of our own, starting on a fresh line even after partial RUN output."""
        self.lines.append(line)
        self._write(("" if getattr(self, "_bol", True) else "\n") + line + "\n")

    def __call__(self, event: dict) -> None:
        with self._lock:
            self.events.append(event)
            self.state.apply(event)
            kind = event.get("type")
            if kind == "step":
                self._line(step_line(event))
            elif kind == "log":
                text = str(event.get("text", ""))     # RUN output: chunks, as they arrive
                self.lines.append(text.rstrip("\n"))
                self._write(text)
            elif kind == "warning":
                self._line(f"WARNING: {event.get('text', '')}".rstrip())
            elif kind == "result":
                self._line(f" ---> {str(event.get('image_id') or '').split(':', 1)[-1][:12]}")
            elif kind == "skip":
                self._line(f"(stage {event.get('stage')} not needed for the target: skipped)")
            elif kind == "tag":
                self.tagged.append(str(event.get("tag")))
                self._line(f"Successfully tagged {event.get('tag')}")
            elif kind == "done":
                iid = str(event.get("image_id") or "")
                self._line(f"Successfully built {iid.split(':', 1)[-1][:12]}")
            elif kind in ("container", "layer"):
                pass                                   # bookkeeping, not for the log
            elif event.get("status") or event.get("error"):
                self._line(str(event.get("error") or event.get("status")))
        if self.bars is not None:
            self.bars(event)

    @property
    def cached_steps(self) -> int:
        return sum(1 for e in self.events if e.get("type") == "step" and e.get("cached"))
