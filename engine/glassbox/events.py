"""What happened on a state root, as Docker's events (``docker events``).

Several front ends change the same state store — the CLI in a terminal, a
notebook, the daemon's API, the lab's buttons — and none of them is the one
place every change passes through. So events are not *sent* by the verbs: they
are *seen*. :func:`snapshot` reads the state four times a second through the
Engine's verbs (``ps``, ``image_list``, ``volume_list``, ``network_list``,
``removed_exit_codes``), and :func:`diff` turns the difference between two
snapshots into Docker's event objects — container ``create``/``start``/``die``/
``pause``/``unpause``/``rename``/``destroy``/``health_status``, image ``tag``/
``untag``/``delete``, network and volume ``create``/``destroy``. A container
started by ``glassbox run`` shows up like one started through the API.

What polling cannot see is said plainly: a container created and removed
between two looks makes no event; one that ran and was removed between two
looks still gets its ``die`` with the right code (``removed_exit_codes``).

:class:`EventWatcher` runs the loop and fans events out to subscribers (the
daemon's ``GET /events``, :mod:`glassbox.daemon.events`; the lab's hub,
:mod:`glassbox.lab.hub`); :func:`matches` is Docker's event ``filters``.
"""

from __future__ import annotations

import asyncio
import collections
import time

POLL = 0.25
HISTORY = 2000


def _container_snapshot(eng) -> dict:
    out = {}
    for c in eng.ps():
        out[c.id] = {"status": c.status, "name": c.name, "image": c.config["Config"]["Image"],
                     "exit": c.exit_code,
                     "labels": c.config["Config"].get("Labels") or {},
                     "restarts": c.state.get("RestartCount", 0), "health": _health(c)}
    return out


def _health(c) -> str | None:
    """The healthcheck's status (None: no check), for ``health_status`` events."""
    if not c.config["Config"].get("Healthcheck"):
        return None
    from .containers.health import current
    doc = current(c.dir, c.config)
    return doc["Status"] if doc else None


def snapshot(eng) -> dict:
    """Everything the watcher compares, read through the Engine's verbs: containers,
    image tags, networks, volumes (and the exit codes of containers just removed, for
    a ``die`` it did not see). Over a daemon (a ``RemoteEngine``: the lab on
    ``GLASSBOX_HOST``) the network records are not mapped back, so networks are not
    watched there."""
    snap = {"containers": _container_snapshot(eng), "images": {}, "networks": set(),
            "volumes": {v["Name"] for v in eng.volume_list()},
            "removed": eng.removed_exit_codes()}
    for img in eng.image_list():
        snap["images"][img.id] = set(img.repo_tags)
    if not getattr(eng, "remote", False):
        snap["networks"] = {n.name for n in eng.network_list()}
    return snap


def _event(kind: str, action: str, ident: str, attrs: dict, now: float) -> dict:
    ev = {"Type": kind, "Action": action, "Actor": {"ID": ident, "Attributes": attrs},
          "scope": "local", "time": int(now), "timeNano": int(now * 1e9)}
    if kind == "container":
        ev.update({"status": action, "id": ident, "from": attrs.get("image", "")})
    return ev


def diff(old: dict, new: dict, now: float | None = None) -> list[dict]:
    """The Docker events that turn snapshot ``old`` into ``new`` (pure)."""
    now = time.time() if now is None else now
    out: list[dict] = []
    oc, nc = old["containers"], new["containers"]
    for cid, c in nc.items():
        attrs = {"image": c["image"], "name": c["name"], **c["labels"]}
        before = oc.get(cid)
        if before is None:
            out.append(_event("container", "create", cid, attrs, now))
            before = {"status": "created", "name": c["name"]}
        if before["name"] != c["name"]:
            out.append(_event("container", "rename", cid,
                              {**attrs, "oldName": "/" + before["name"]}, now))
        was, now_st = before["status"], c["status"]
        if c.get("health") in ("healthy", "unhealthy") and c.get("health") != before.get("health"):
            out.append(_event("container", f"health_status: {c['health']}", cid, attrs, now))
        if c.get("restarts", 0) > before.get("restarts", 0) and was == now_st == "running":
            # its monitor restarted it between two looks: the die and start we missed
            out.append(_event("container", "die", cid, {**attrs, "exitCode": str(c["exit"])},
                              now))
            out.append(_event("container", "start", cid, attrs, now))
        if was == now_st:
            continue
        if now_st == "running" and was in ("created", "exited", "restarting"):
            out.append(_event("container", "start", cid, attrs, now))
        elif now_st == "running" and was == "paused":
            out.append(_event("container", "unpause", cid, attrs, now))
        elif now_st == "paused":
            out.append(_event("container", "pause", cid, attrs, now))
        elif now_st in ("exited", "restarting") and was in ("running", "paused"):
            out.append(_event("container", "die", cid,
                              {**attrs, "exitCode": str(c["exit"])}, now))
    for cid, c in oc.items():
        if cid not in nc:
            attrs = {"image": c["image"], "name": c["name"], **c["labels"]}
            if c["status"] in ("running", "paused"):   # it ended and went between two looks
                code = new.get("removed", {}).get(cid, c["exit"])
                out.append(_event("container", "die", cid,
                                  {**attrs, "exitCode": str(code)}, now))
            out.append(_event("container", "destroy", cid, attrs, now))
    oi, ni = old["images"], new["images"]
    for iid, tags in ni.items():
        for tag in sorted(tags - oi.get(iid, set())):
            out.append(_event("image", "tag", iid, {"name": tag}, now))
        for tag in sorted(oi.get(iid, set()) - tags):
            out.append(_event("image", "untag", iid, {"name": tag}, now))
    for iid, tags in oi.items():
        if iid not in ni:
            for tag in sorted(tags):
                out.append(_event("image", "untag", iid, {"name": tag}, now))
            out.append(_event("image", "delete", iid, {"name": iid}, now))
    for kind, key in (("network", "networks"), ("volume", "volumes")):
        for name in sorted(new[key] - old[key]):
            out.append(_event(kind, "create", name, {"name": name}, now))
        for name in sorted(old[key] - new[key]):
            out.append(_event(kind, "destroy", name, {"name": name}, now))
    return out


def matches(ev: dict, filters: dict) -> bool:
    """Docker's event filters (each key: any of its values matches)."""
    attrs = ev["Actor"]["Attributes"]
    for key, values in filters.items():
        if key == "type" and ev["Type"] not in values:
            return False
        if key == "event" and ev["Action"] not in values and \
                ev["Action"].split(":", 1)[0] not in values:   # event=health_status
            return False
        if key in ("container", "image", "network", "volume"):
            if ev["Type"] != key and not (key == "image" and ev["Type"] == "container"):
                return False
            names = {ev["Actor"]["ID"], attrs.get("name", ""), attrs.get("image", "")}
            if not any(v in names or ev["Actor"]["ID"].startswith(v) for v in values):
                return False
        if key == "label":
            for v in values:
                k, sep, val = v.partition("=")
                if k not in attrs or (sep and attrs[k] != val):
                    return False
    return True


class EventWatcher:
    """Polls the state store, keeps a history, fans events out to subscribers."""

    def __init__(self, d):
        self.d = d
        self.history: collections.deque = collections.deque(maxlen=HISTORY)
        self.subscribers: set[asyncio.Queue] = set()
        self.last: dict | None = None
        self.task: asyncio.Task | None = None

    def start(self) -> None:
        if self.task is None:
            self.task = asyncio.get_running_loop().create_task(self._loop())

    async def _loop(self) -> None:
        while True:
            try:
                snap = await self.d.run(snapshot, self.d.eng)
            except Exception:  # noqa: BLE001 — a half-written state: try again next tick
                await asyncio.sleep(POLL)
                continue
            if self.last is not None:
                for ev in diff(self.last, snap):
                    self.history.append(ev)
                    for q in list(self.subscribers):
                        q.put_nowait(ev)
            self.last = snap
            await asyncio.sleep(POLL)
