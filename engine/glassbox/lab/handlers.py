"""The REST routes and the one WebSocket under ``<base_url>/glassbox/``.

Every handler needs Jupyter's login (``@tornado.web.authenticated``; the socket
refuses an unauthenticated upgrade with 403) and every POST passes Jupyter's
XSRF check (a token in the header, or the ``_xsrf`` cookie the lab sends). A
route does one thing: run one function of :mod:`.views` on the hub's threads and
answer its JSON. The engine's errors map to HTTP as the daemon maps them, by
their class's ``http_status`` (``NotFound`` 404, ``Conflict`` 409,
``InvalidArgument`` 400, ``Forbidden`` 403, ...; anything else 500) — each with
the engine's message — and an engine that cannot be reached is a 503 whose body
says how to fix it.

=========================================  ======  =========================================
route (under /glassbox)                    method  answer
=========================================  ======  =========================================
/status                                    GET     engine, reachability, running, CPU, memory
/containers                                GET     rows of ``ps -a``
/containers/<ref>                          GET     one row with pid and times
/containers/<ref>/inspect                  GET     inspect document + derived process spec
/containers/<ref>/logs?start=&limit=&q=    GET     one page of the log (last page by default)
/containers/<ref>/stats                    GET     one reading (as ``glassbox stats``)
/containers/<ref>/namespaces               GET     ``/proc/<pid>/ns`` vs the host's
/containers/<ref>/changes                  GET     ``glassbox diff``
/containers/<ref>/<action>                 POST    start stop kill restart rm update
/images                                    GET     image rows
/images/<ref>/rm                           POST    ``glassbox rmi``
/layers?image=a&image=b                    GET     layer-tree boxes (every image by default)
/networks  /volumes                        GET     rows
/events                                    WS      events, stats of watched ids, log lines
=========================================  ======  =========================================
"""

from __future__ import annotations

import json

import tornado.web
import tornado.websocket
from jupyter_server.base.handlers import APIHandler, JupyterHandler
from jupyter_server.base.websocket import WebSocketMixin

from . import views

HUB_KEY = "glassbox_hub"


def _status_of(err) -> int:
    from ..errors import http_status
    return http_status(err)


class _Base(APIHandler):
    """Runs a view off the loop; errors become short JSON answers."""

    @property
    def hub(self):
        return self.settings[HUB_KEY]

    async def answer(self, fn, *args, status: int = 200) -> None:
        from ..errors import GlassboxError
        reach = await self.hub.run(self.hub.reachability)
        if not reach.ok:
            return self._error(503, reach.error, reach.fix, state="unreachable")
        try:
            result = await self.hub.run(fn, self.hub.eng, *args)
        except GlassboxError as e:
            return self._error(_status_of(e), str(e))
        except OSError as e:        # the state root went away under us
            return self._error(503, f"{type(e).__name__}: {e}",
                               "check that the state root exists and is readable",
                               state="unreachable")
        self.set_status(status)
        self.set_header("Content-Type", "application/json")
        self.finish(json.dumps(result, default=str))

    def _error(self, code: int, message: str, fix: str = "", state: str = "error") -> None:
        self.set_status(code)
        self.set_header("Content-Type", "application/json")
        self.finish(json.dumps({"error": message, "fix": fix, "state": state,
                                "engine": self.hub.target.as_dict()}))

    def body(self) -> dict:
        from ..errors import InvalidArgument
        if not self.request.body:
            return {}
        try:
            doc = json.loads(self.request.body)
        except ValueError as e:
            raise InvalidArgument(f"the request body is not JSON: {e}") from None
        if not isinstance(doc, dict):
            raise InvalidArgument("the request body must be a JSON object")
        return doc

    def int_arg(self, name: str, default):
        from ..errors import InvalidArgument
        raw = self.get_argument(name, None)
        if raw is None or raw == "":
            return default
        try:
            return int(raw)
        except ValueError:
            raise InvalidArgument(f"{name} must be an integer (got {raw!r})") from None


class StatusHandler(_Base):
    @tornado.web.authenticated
    async def get(self):
        st = await self.hub.run(self.hub.status)
        self.finish(json.dumps(st))


class ContainersHandler(_Base):
    @tornado.web.authenticated
    async def get(self):
        await self.answer(views.containers)


class ContainerHandler(_Base):
    @tornado.web.authenticated
    async def get(self, ref: str):
        await self.answer(views.container_detail, ref)


class ContainerViewHandler(_Base):
    """GET /containers/<ref>/<view>."""

    @tornado.web.authenticated
    async def get(self, ref: str, view: str):
        from ..errors import GlassboxError
        if view == "logs":
            try:
                args = (self.int_arg("start", None), self.int_arg("limit", views.LOG_PAGE),
                        self.get_argument("q", ""))
            except GlassboxError as e:
                return self._error(400, str(e))
            return await self.answer(views.logs, ref, *args)
        fn = {"inspect": views.inspect, "namespaces": views.namespaces,
              "changes": views.changes, "stats": _stats}.get(view)
        if fn is None:
            return self._error(404, f"no view {view!r}: one of inspect, logs, stats, "
                                    "namespaces, changes")
        await self.answer(fn, ref)


def _stats(eng, ref: str) -> dict | None:
    st = eng.stats(ref)
    return st.as_dict() if st is not None else None


class ContainerActionHandler(_Base):
    """POST /containers/<ref>/<action> (start, stop, kill, restart, rm, update)."""

    @tornado.web.authenticated
    async def post(self, ref: str, action: str):
        from ..errors import GlassboxError
        if action not in views.ACTIONS:
            return self._error(404, f"no action {action!r}: one of {', '.join(views.ACTIONS)}")
        try:
            body = self.body()
        except GlassboxError as e:
            return self._error(400, str(e))
        await self.answer(views.act, ref, action, body)


class ImagesHandler(_Base):
    @tornado.web.authenticated
    async def get(self):
        await self.answer(views.images)


class ImageRemoveHandler(_Base):
    @tornado.web.authenticated
    async def post(self, ref: str):
        from ..errors import GlassboxError
        try:
            force = bool(self.body().get("force"))
        except GlassboxError as e:
            return self._error(400, str(e))
        await self.answer(views.remove_image, ref, force)


class LayersHandler(_Base):
    @tornado.web.authenticated
    async def get(self):
        await self.answer(views.layer_tree, self.get_arguments("image"))


class NetworksHandler(_Base):
    @tornado.web.authenticated
    async def get(self):
        await self.answer(views.networks)


class VolumesHandler(_Base):
    @tornado.web.authenticated
    async def get(self):
        await self.answer(views.volumes)


class EventsSocket(WebSocketMixin, JupyterHandler, tornado.websocket.WebSocketHandler):
    """One per browser tab. The client sends ``{"watch": [ids], "fast": [ids]}`` (the
    containers whose stats it wants, at 2 Hz / 10 Hz, replacing the previous sets) and
    ``{"follow": [ids]}``
    (whose new log lines it wants); the server sends ``hello``, ``status``,
    ``event``, ``stats``, ``log`` and ``error`` messages."""

    @property
    def hub(self):
        return self.settings[HUB_KEY]

    async def get(self, *args, **kwargs):
        if self.current_user is None:           # no login: refuse the upgrade
            raise tornado.web.HTTPError(403)
        return await super().get(*args, **kwargs)

    def open(self, *args, **kwargs):
        self.hub.attach(self)
        self.send({"type": "hello", "engine": self.hub.target.as_dict()})
        if self.hub.last_status is not None:
            self.send(self.hub.last_status)

    def on_message(self, message):
        try:
            msg = json.loads(message)
            if not isinstance(msg, dict):
                raise ValueError("not an object")
        except ValueError as e:
            return self.send({"type": "error", "error": f"a message must be a JSON object: {e}"})
        if "watch" in msg or "fast" in msg:
            ids, fast = msg.get("watch", []), msg.get("fast", [])
            if not all(isinstance(x, list) and all(isinstance(i, str) for i in x)
                       for x in (ids, fast)):
                return self.send({"type": "error", "error": "watch takes a list of container ids"})
            for bad in self.hub.set_watch(self, ids, fast):
                self.send({"type": "error", "id": bad, "error": f"No such container: {bad}"})
        if "follow" in msg:
            ids = msg["follow"]
            if not isinstance(ids, list) or not all(isinstance(i, str) for i in ids):
                return self.send({"type": "error", "error": "follow takes a list of container ids"})
            self.hub.set_follow(self, ids)

    def on_close(self):
        self.hub.detach(self)

    def send(self, msg: dict) -> None:
        if self.ws_connection is None or self.ws_connection.is_closing():
            return
        try:
            self.write_message(json.dumps(msg, default=str))
        except tornado.websocket.WebSocketClosedError:
            pass


def routes(base_url: str) -> list[tuple]:
    from jupyter_server.utils import url_path_join as join
    ref = r"([^/]+)"
    p = join(base_url, "glassbox")
    return [
        (join(p, "status"), StatusHandler),
        (join(p, "containers"), ContainersHandler),
        (join(p, "containers", ref), ContainerHandler),
        (join(p, "containers", ref, "(inspect|logs|stats|namespaces|changes)"),
         ContainerViewHandler),
        (join(p, "containers", ref, r"([a-z]+)"), ContainerActionHandler),
        (join(p, "images"), ImagesHandler),
        (join(p, "images", r"(.+)", "rm"), ImageRemoveHandler),
        (join(p, "layers"), LayersHandler),
        (join(p, "networks"), NetworksHandler),
        (join(p, "volumes"), VolumesHandler),
        (join(p, "events"), EventsSocket),
    ]
