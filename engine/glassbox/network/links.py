"""Docker's legacy links: the environment variables ``--link`` sets on the default bridge.

Before user-defined networks had names, ``docker run --link db:store web`` was how
``web`` found ``db``: a line in ``web``'s ``/etc/hosts`` (:func:`glassbox.network.
attach.link_hosts`) *and* a set of environment variables describing ``db`` — its
address, every port it exposes, its name and its own environment. Docker still sets
them on the default ``bridge`` network (moby ``daemon/links/links.go``); on a
user-defined network a link is only another name for the container (no variables).
For ``--link db:store`` into a container named ``web``, with ``db`` at 172.17.0.2
exposing ``5432/tcp`` and created with ``-e POSTGRES_DB=app``::

    STORE_PORT=tcp://172.17.0.2:5432               the lowest exposed port (tcp first)
    STORE_PORT_5432_TCP=tcp://172.17.0.2:5432      per port: the URL,
    STORE_PORT_5432_TCP_ADDR=172.17.0.2            the address,
    STORE_PORT_5432_TCP_PORT=5432                  the port,
    STORE_PORT_5432_TCP_PROTO=tcp                  the protocol
    STORE_NAME=/web/store                          the link's name: /<this>/<alias>
    STORE_ENV_POSTGRES_DB=app                      db's Config.Env (not HOME, PATH)

Consecutive ports of one protocol add ``_START``/``_END`` (``STORE_PORT_8000_TCP_START``,
``..._PORT_START``, ``..._END``, ``..._PORT_END``). The alias is upper-cased, ``-``
becomes ``_``.

They are worked out at every start (the linked container's address may have changed
since the last), not at create: ``inspect``'s ``Config.Env`` does not show them, ``env``
inside does; the container's own ``Config.Env`` wins over a variable of the same name.
A link to a container that is not running fails the start, as dockerd's ``Cannot link
to a non running container``. ``exec`` gets them too (dockerd computes them for each
exec); there a link that is down is left out instead of failing the exec.

Docker 29 stopped setting these variables unless dockerd runs with
``DOCKER_KEEP_DEPRECATED_LEGACY_LINKS_ENV_VARS=1``; glassbox sets them as Docker 28
and older always did (a container's own ``-e`` overrides any).

Notebook: ``notebooks/en/10-networks.ipynb`` (names between containers).
"""

from __future__ import annotations

import json
import os

from ..errors import Conflict, InvalidArgument, NotFound

__all__ = ["container_env", "link_env"]


def _ports(exposed) -> list[tuple[int, str]]:
    """``{"80/tcp": {}, "53/udp": {}}`` (or a list of keys) → (port, proto), sorted as
    moby's ``withTCPPriority``: tcp first, then by protocol, each by number."""
    out = []
    for key in exposed or ():
        num, _, proto = str(key).partition("/")
        try:
            out.append((int(num), (proto or "tcp").lower()))
        except ValueError:
            continue
    return sorted(set(out), key=lambda p: (p[1] != "tcp", p[1], p[0]))


def link_env(name: str, ip: str, env, exposed) -> list[str]:
    """moby's ``Link.ToEnv``: the variables of one link, pure.

    ``name``: the link's full name (``/web/store``), ``ip``: the linked container's
    address on the default bridge, ``env``: its ``Config.Env``, ``exposed``: its
    ``Config.ExposedPorts``."""
    alias = name.rstrip("/").rsplit("/", 1)[-1].upper().replace("-", "_")
    out: list[str] = []
    ports = _ports(exposed)
    start = end = ports[0] if ports else (0, "")
    for i, (num, proto) in enumerate(ports):
        if i == 0:
            out.append(f"{alias}_PORT={proto}://{ip}:{num}")
        prefix = f"{alias}_PORT_{num}_{proto.upper()}"
        out += [f"{prefix}={proto}://{ip}:{num}", f"{prefix}_ADDR={ip}",
                f"{prefix}_PORT={num}", f"{prefix}_PROTO={proto}"]
        if num == end[0] + 1 and proto == end[1]:      # the range goes on
            end = (num, proto)
            if i < len(ports) - 1:
                continue
        if end != start:
            prefix = f"{alias}_PORT_{start[0]}_{start[1].upper()}"
            out += [f"{prefix}_START={start[1]}://{ip}:{start[0]}",
                    f"{prefix}_PORT_START={start[0]}",
                    f"{prefix}_END={end[1]}://{ip}:{end[0]}", f"{prefix}_PORT_END={end[0]}"]
        start = end = (num, proto)
    out.append(f"{alias}_NAME={name}")
    for item in env or ():
        key, sep, value = str(item).partition("=")
        if sep and key not in ("HOME", "PATH"):   # moby: build-time noise, not the peer's
            out.append(f"{alias}_ENV_{key}={value}")
    return out


def container_env(root: str, config: dict, *, strict: bool = True) -> list[str]:
    """The link variables of the container whose ``config.json`` is ``config``.

    Only for a container on the default ``bridge`` network with ``--link``s (its
    spec's ``links``, ``NAME:ALIAS``): ``[]`` otherwise, at the cost of no import.
    Each linked container must be running and on the default bridge: else a
    :class:`~glassbox.errors.Conflict` with dockerd's words (``strict``), or the
    link is left out (``strict=False``: ``exec``)."""
    from ..runtime.spec import container_field
    links = container_field(config, "links")
    if not links or container_field(config, "network_mode") not in ("bridge", "default"):
        return []
    from .attach import parse_link
    from .store import NetworkStore
    bridge = next((n for n in NetworkStore(root).all() if n.default), None)
    on_bridge = {ep.name: ep for ep in (bridge.endpoints.values() if bridge else ()) if ep.name}
    this = str(config.get("Name") or "").lstrip("/")
    out: list[str] = []
    for spec in links:
        try:
            name, alias = parse_link(spec)
        except InvalidArgument:
            continue
        full = f"/{this}/{alias}"
        ep = on_bridge.get(name)
        peer = _peer_config(root, ep.container_id) if ep is not None else None
        if ep is None or peer is None:
            if strict:
                raise _not_linkable(root, name, full)
            continue
        cfg = peer.get("Config") or {}
        out += link_env(full, ep.ip, cfg.get("Env"), cfg.get("ExposedPorts"))
    return out


def _peer_config(root: str, cid: str) -> dict | None:
    try:
        with open(os.path.join(root, "containers", cid, "config.json")) as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


def _not_linkable(root: str, name: str, full: str) -> Conflict:
    """Why a link has no peer on the default bridge, in dockerd's words."""
    from ..containers.manager import ContainerManager
    try:
        peer = ContainerManager(root, None).get(name)
    except NotFound:
        return Conflict(f"Cannot link to /{name}, as it does not exist (--link {name}:"
                        f"{full.rsplit('/', 1)[-1]})")
    if not peer.running:
        return Conflict(f"Cannot link to a non running container: /{peer.name} AS {full}")
    return Conflict(f"container {peer.id} not attached to default bridge network (--link "
                    f"{name}: a legacy link needs both containers on the bridge network)")
