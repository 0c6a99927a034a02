"""What the magics return: handles on containers and images with rich reprs.

A :class:`Container` is a *handle*: it keeps the engine and the id, and every
property reads the state store afresh (the container lives in its own monitor
process, not in this kernel). Its methods are the CLI's verbs::

    c = %container run -d --name web busybox httpd -f
    c.status, c.logs(), c.stats(), c.stop(), c.rm()
    glassbox.jupyter.monitor(c)       # live chart of its cgroup

``str(c)`` is the full id, so ``%container logs {c}`` works.
"""

from __future__ import annotations

import time

from .display import badge, esc, html_table, short


class Container:
    """A container in the engine's state store."""

    def __init__(self, eng, id: str):
        self.eng, self.id = eng, id

    def _get(self):
        return self.eng.get(self.id)

    def __str__(self):
        return self.id

    @property
    def short_id(self) -> str:
        return self.id[:12]

    @property
    def name(self) -> str:
        return self._get().name

    @property
    def status(self) -> str:
        """running, paused, exited, created — or "removed" once it is gone."""
        from ..errors import NotFound
        try:
            return self._get().status
        except NotFound:
            return "removed"

    @property
    def exit_code(self) -> int | None:
        c = self._get()
        return None if c.running else c.exit_code

    def inspect(self) -> dict:
        return self._get().inspect()

    # ---- verbs ---------------------------------------------------------------
    def stop(self, timeout: int | None = None) -> "Container":
        self.eng.stop(self.id, timeout)
        return self

    def kill(self, signal: str | int = "KILL") -> "Container":
        self.eng.kill(self.id, signal)
        return self

    def rm(self, force: bool = False) -> str:
        return self.eng.remove(self.id, force=force)

    remove = rm

    def wait(self, timeout: float | None = None) -> int:
        return self.eng.wait(self.id, timeout)

    def logs(self, tail: int | None = None) -> str:
        """Everything it wrote so far (stdout and stderr, in order)."""
        return "".join(text for _, text, _ in self.eng.logs(self.id, tail=tail))

    def stats(self, interval: float = 0.25) -> dict | None:
        """One ``glassbox stats`` row (two readings ``interval`` apart for CPU %);
        None when it is not running."""
        from ..present import stats_row
        first = self.eng.stats(self.id)
        if first is None:
            return None
        time.sleep(interval)
        cur = self.eng.stats(self.id)
        if cur is None:
            return None
        row = stats_row(self._get(), cur, first)
        row["raw"] = cur.as_dict()
        return row

    def update(self, **changes) -> dict:
        """``glassbox update``: ``memory=`` (bytes), ``cpus=``, ``pids=``, ..."""
        return self.eng.update(self.id, **changes)

    def diff(self) -> list[tuple[str, str]]:
        return self.eng.diff(self.id)

    def top(self) -> dict:
        return self.eng.top(self.id)

    def monitor(self, **kw):
        from .widgets import monitor
        return monitor(self, engine=self.eng, **kw)

    def limits(self):
        from .widgets import limits
        return limits(self, engine=self.eng)

    # ---- display ---------------------------------------------------------------
    def _facts(self):
        from ..present import bytes_size
        from ..errors import NotFound
        try:
            c = self._get()
        except NotFound:
            return None
        hc = c.config.get("HostConfig") or {}
        cmd = " ".join([c.config.get("Path", "")] + list(c.config.get("Args") or []))
        limits = []
        if hc.get("Memory"):
            limits.append(f"memory {bytes_size(hc['Memory'])}")
        if hc.get("NanoCpus"):
            limits.append(f"cpus {hc['NanoCpus'] / 1e9:g}")
        if hc.get("PidsLimit") and hc["PidsLimit"] > 0:
            limits.append(f"pids {hc['PidsLimit']}")
        status = c.status
        if not c.running and c.status == "exited":
            status = f"exited ({c.exit_code})" + (" OOM killed" if c.state.get("OOMKilled")
                                                   else "")
        return {"name": c.name, "id": c.id[:12], "image": c.config["Config"].get("Image", ""),
                "command": cmd, "status": status, "state": c.status,
                "pid": c.pid if c.running else "", "limits": ", ".join(limits) or "none"}

    def _repr_html_(self) -> str:
        f = self._facts()
        if f is None:
            return f"<div>container {esc(self.short_id)} {badge('removed')}</div>"
        from .messages import t
        rows = [[t("obj.image"), f["image"]], [t("obj.command"), f["command"]],
                [t("obj.limits"), t("obj.none") if f["limits"] == "none" else f["limits"]]]
        if f["pid"]:
            rows.append([t("obj.pid"), f["pid"]])
        return ('<div style="border:1px solid #ccc;border-radius:6px;padding:6px 10px;'
                'display:inline-block">'
                f'<b>{esc(f["name"])}</b> <code>{esc(f["id"])}</code> '
                f'{badge(f["status"], None)}'
                + html_table(["", ""], rows) + "</div>")

    def __repr__(self) -> str:
        f = self._facts()
        if f is None:
            return f"<Container {self.short_id} removed>"
        return f"<Container {f['name']} {f['id']} {f['status']}>"


class Image:
    """An image in the store: id, tags, layers (with the instruction that made each)."""

    def __init__(self, eng, ref: str):
        self.eng = eng
        img = eng.image_resolve(ref)
        self.id = img.id
        self.ref = ref

    def __str__(self):
        return self.id

    def _img(self):
        return self.eng.image_resolve(self.id)

    @property
    def short_id(self) -> str:
        return short(self.id)

    @property
    def tags(self) -> list[str]:
        return list(self._img().repo_tags)

    @property
    def size(self) -> int:
        return self._img().size

    def history(self) -> list[dict]:
        return self.eng.image_history(self.id)

    def inspect(self) -> dict:
        return self.eng.image_inspect(self.id)

    def layers(self, *others, container=None):
        """The layer diagram of this image (and ``others``)."""
        from . import layers
        name = (self.tags or [self.id])[0]
        return layers(name, *others, container=container, engine=self.eng)

    def rm(self, force: bool = False):
        return self.eng.image_remove(self.id, force=force)

    def _repr_html_(self) -> str:
        from ..layertree import image_stack, human
        from .messages import t
        stack = image_stack(self.eng, self.id)
        rows = [[str(i + 1), short(l.diff_id), human(l.size), l.created_by[:80]]
                for i, l in enumerate(stack.layers)]
        tags = ", ".join(self.tags) or "<none>"
        return (f'<div><b>{esc(tags)}</b> <code>{esc(self.short_id)}</code> '
                f'{esc(human(self.size))}, {esc(t("obj.layers", n=len(rows)))}'
                + html_table(t("obj.layer_headers").split("|"), rows) + "</div>")

    def __repr__(self) -> str:
        return f"<Image {', '.join(self.tags) or '<none>'} {self.short_id}>"
