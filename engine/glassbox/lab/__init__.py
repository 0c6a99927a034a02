"""The JupyterLab panel's server part: glassbox as REST and one WebSocket in Jupyter.

The lab front end (``labext/``, TypeScript) shows the engine's state all the
time — containers with live CPU and memory against their limit, the layer tree,
networks, volumes, logs, namespaces, the R/W layer diff, a terminal into any
container. Everything it shows comes from here, and everything here comes from
one :class:`~glassbox.engine.Engine` (or a
:class:`~glassbox.daemon.client.RemoteEngine` when ``GLASSBOX_HOST`` /
``DOCKER_HOST`` names a daemon) — the same API the CLI and the magics call, so a
container a notebook started is a row in the panel within one event tick.

- :mod:`.connection` — which engine, and is it reachable (with the fix if not)
- :mod:`.views` — one function per thing the panel shows or does
- :mod:`.hub` — events, one stats sampler per watched container, log followers
- :mod:`.handlers` — the tornado routes, all behind Jupyter's login

Enabled by ``jupyter_server_config.d/glassbox.json`` (``{"ServerApp":
{"jpserver_extensions": {"glassbox.lab": true}}}``); ``jupyter server extension
list`` shows it. Notebook: ``notebooks/en/00-quickstart.ipynb`` (the panel beside it).
"""

from __future__ import annotations


def _jupyter_server_extension_points() -> list[dict]:
    return [{"module": "glassbox.lab"}]


def _load_jupyter_server_extension(serverapp) -> None:
    """Add the routes and one shared :class:`~.hub.Hub` to the server."""
    from .connection import choose, open_engine
    from .handlers import HUB_KEY, routes
    from .hub import Hub
    target = choose()
    hub = Hub(open_engine(target), target)
    web_app = serverapp.web_app
    web_app.settings[HUB_KEY] = hub
    web_app.add_handlers(".*$", routes(web_app.settings["base_url"]))
    # a module extension gets no stop hook: the hub's threads are daemon threads, and
    # its samplers stop as their sockets close (the last socket stops the watcher too)
    serverapp.log.info("glassbox.lab: %s engine at %s (%s)", target.kind, target.address,
                       target.via)

