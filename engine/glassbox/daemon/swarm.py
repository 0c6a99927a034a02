"""Swarm and plugin endpoints, answered as a dockerd that is not in a swarm and
has no plugins installed.

glassbox has no orchestrator and no plugin system. Clients still ask: ``docker
info`` tooling, docker-py's ``client.swarm``, compose probing for secrets and
configs. A bare 404 "page not found" reads as "this is not a Docker engine";
dockerd itself answers every swarm-family call (``/swarm``, ``/services``,
``/nodes``, ``/tasks``, ``/secrets``, ``/configs``) with **503** and the
message below, and clients know what that means. Likewise ``GET /plugins`` is
an empty list, and a named plugin is ``plugin "x" not found`` (404).
"""

from __future__ import annotations

from ..errors import NotFound
from .server import json_response
from .translate import parse_filters

NOT_A_MANAGER = ('This node is not a swarm manager. Use "docker swarm init" or '
                 '"docker swarm join" to connect this node to swarm and try again.')

SWARM_PREFIXES = ("/swarm", "/services", "/nodes", "/tasks", "/secrets", "/configs")


async def not_a_manager(d, request):
    """Every swarm-family request: 503, as dockerd outside a swarm."""
    return json_response({"message": NOT_A_MANAGER}, 503)


async def plugin_list(d, request):
    """``GET /plugins``: no plugins (bad ``filters`` JSON is still a 400)."""
    parse_filters(request.query.get("filters"))
    return json_response([])


async def plugin_not_found(d, request):
    """Any call on a named plugin: there is none by that name."""
    raise NotFound(f'plugin "{request.match_info["name"]}" not found')


async def plugin_unsupported(d, request):
    """Installing a plugin (pull, create, privileges): not something glassbox can do."""
    from aiohttp import web
    raise web.HTTPNotImplemented(
        text=f"glassbox does not support Docker Engine plugins ({request.method} "
             f"{request.path}); use volumes and networks glassbox provides")


ROUTES = [r for p in SWARM_PREFIXES for r in (("*", p, not_a_manager),
                                              ("*", p + "/{_rest:.*}", not_a_manager))]
ROUTES += [
    ("GET", "/plugins", plugin_list),
    ("GET", "/plugins/privileges", plugin_unsupported),
    ("POST", "/plugins/pull", plugin_unsupported),
    ("POST", "/plugins/create", plugin_unsupported),
    ("GET", "/plugins/{name:.+}/json", plugin_not_found),
    ("DELETE", "/plugins/{name:.+}", plugin_not_found),
]
ROUTES += [("POST", f"/plugins/{{name:.+}}/{verb}", plugin_not_found)
           for verb in ("enable", "disable", "push", "set", "upgrade")]
