"""Attaching a container to networks: planned while it is created, wired when it starts.

Docker's clients connect networks to a container *before* starting it: ``docker run
--network a --network b`` creates the container on ``a`` and connects ``b``, and
compose connects every network of a service between ``create`` and ``start``. So a
container has two kinds of network attachments:

* a **planned endpoint** — what was asked for (the network, aliases, a fixed
  ``IPv4Address``), kept in the container's ``config.json`` under Docker's own key
  ``NetworkingConfig.EndpointsConfig``. The primary network (``HostConfig.NetworkMode``)
  is planned there too when it was created with an ``IPAMConfig`` or aliases;
* a **live endpoint** — a veth pair and an address (:class:`~glassbox.network.Endpoint`),
  which exists only while the container's process does.

At every start the runtime calls :func:`wire`, which turns the plan into live
endpoints (primary first, so it gets ``eth0`` and the default route). Connecting a
running container makes a live endpoint at once *and* plans it, so a restart brings
it back, as Docker does; disconnecting drops both. After each change the container's
``NetworkSettings`` (what ``inspect`` shows) is rewritten from the live endpoints and
the plan (:func:`network_settings`), and the ``/etc/hosts`` of every peer is
refreshed.

Values are validated before anything is written: an ``IPv4Address`` outside the
network's subnet is an :class:`~glassbox.errors.InvalidArgument` (Docker's 400), a
fixed address on the default ``bridge`` network too (Docker allows them on
user-defined networks only).

A MAC address is derived from the IP unless one is asked for (``--mac-address``,
``EndpointSettings.MacAddress``; ``Config.MacAddress`` for the primary network): the
veth's container end gets it when it is made (:func:`check_mac` says which are
usable). Links (``--link NAME:ALIAS``, ``HostConfig.Links``; ``EndpointSettings.Links``
on a connect) are names in this container's ``/etc/hosts`` for the linked
container's address (:func:`link_hosts`), rewritten whenever either one (re)joins a
network; Docker's legacy link environment variables are not set.
"""

from __future__ import annotations

import os

from ..errors import Conflict, InvalidArgument, NotFound

PRIMARY_ONLY = ("none", "host")


def _cdir(root: str, cid: str) -> str:
    return os.path.join(root, "containers", cid)


def planned(config: dict) -> dict[str, dict]:
    """network name → its planned EndpointSettings (``Aliases``, ``IPAMConfig``),
    the primary network first. Containers without a network of their own: empty."""
    mode = (config.get("HostConfig") or {}).get("NetworkMode") or "none"
    if mode in PRIMARY_ONLY or mode.startswith("container:"):
        return {}
    eps = ((config.get("NetworkingConfig") or {}).get("EndpointsConfig") or {})
    primary = dict(eps.get(mode) or {})
    if not primary.get("Aliases"):
        primary["Aliases"] = list((config.get("HostConfig") or {}).get("NetworkAliases") or [])
    if not primary.get("MacAddress") and (config.get("Config") or {}).get("MacAddress"):
        primary["MacAddress"] = config["Config"]["MacAddress"]
    out = {mode: primary}
    out.update({n: dict(e or {}) for n, e in eps.items() if n != mode})
    return out


def fixed_ip(endpoint: dict) -> str | None:
    return ((endpoint.get("IPAMConfig") or {}).get("IPv4Address")) or None


def check_mac(mac: str, what: str = "--mac-address") -> str:
    """A MAC address a veth can take, normalised (``02:42:ac:11:00:09``); else
    :class:`InvalidArgument` naming ``what`` and the value.

    Six bytes as ``aa:bb:cc:dd:ee:ff`` (or with ``-``); not a multicast address (the
    lowest bit of the first byte: the kernel refuses it for an interface) and not
    all zeros. Pick a *locally administered* one (second-lowest bit set, e.g. ``02:``)
    so it cannot clash with a real card's."""
    text = str(mac).strip()
    parts = text.replace("-", ":").split(":")
    if len(parts) != 6 or not all(len(p) == 2 and all(c in "0123456789abcdefABCDEF" for c in p)
                                  for p in parts):
        raise InvalidArgument(f"invalid {what} {mac!r}: expected six hexadecimal bytes like "
                              "02:42:ac:11:00:09")
    octets = [int(p, 16) for p in parts]
    if octets[0] & 1:
        raise InvalidArgument(f"invalid {what} {mac!r}: it is a multicast address (the first "
                              "byte is odd), which no interface may have; use e.g. 02:...")
    if not any(octets):
        raise InvalidArgument(f"invalid {what} {mac!r}: the all-zero address is not usable")
    return ":".join(f"{o:02x}" for o in octets)


def parse_link(spec: str, what: str = "--link") -> tuple[str, str]:
    """``NAME[:ALIAS]`` (or Docker's stored ``/name:/this/alias``) → (name, alias)."""
    text = str(spec).strip()
    name, sep, alias = text.partition(":")
    name = name.lstrip("/")
    alias = alias.rsplit("/", 1)[-1] if sep else name
    if not name or not alias or any(c.isspace() for c in name + alias):
        raise InvalidArgument(f"invalid {what} {spec!r}: expected NAME or NAME:ALIAS")
    return name, alias


def links_doc(links, this: str) -> list[str] | None:
    """``HostConfig.Links`` as Docker shows it: ``/db:/web/alias``."""
    out = [f"/{n}:/{this}/{a}" for n, a in (parse_link(x) for x in links or ())]
    return out or None


def check_create(opts, net_mode: str, get) -> None:
    """``--mac-address`` and ``--link`` of a create, checked before anything is written
    and normalised in ``opts``: the MAC's format, links to containers that exist
    (``get``: the container manager's lookup; a missing one is NotFound naming it),
    and a network for them to be on."""
    no_net = net_mode in PRIMARY_ONLY or net_mode.startswith("container:")
    if opts.mac_address:
        if no_net:
            raise InvalidArgument(f"--mac-address {opts.mac_address} needs a network of the "
                                  f"container's own, not --network {net_mode} (glassbox's "
                                  "default is none: add --network bridge or NAME)")
        opts.mac_address = check_mac(opts.mac_address)
    if opts.links:
        if no_net:
            raise InvalidArgument(f"--link needs a network of the container's own, not "
                                  f"--network {net_mode} (add --network bridge or NAME)")
        out = []
        for spec in opts.links:
            name, alias = parse_link(spec)
            try:
                target = get(name)
            except NotFound:
                raise NotFound(f"could not get container for {name}: No such container: "
                               f"{name} (--link {spec})") from None
            out.append(f"{target.name}:{alias}")
        opts.links = out


def create_fields(config: dict, opts, name: str) -> None:
    """What a create records of them: ``Config.MacAddress`` (the primary network's MAC,
    read by :func:`planned`) and ``HostConfig.Links`` in Docker's form."""
    if opts.mac_address:
        config["Config"]["MacAddress"] = opts.mac_address
    if opts.links:
        config["HostConfig"]["Links"] = links_doc(opts.links, name)


def link_hosts(nm, config: dict) -> list[tuple[str, list[str]]]:
    """``/etc/hosts`` entries of this container's links: (address, [alias, name]).

    The linked container's address on a network both are on (the default
    ``bridge`` for classic links), else any it has; a linked container that is not
    running has no address and no entry (it gets one when it starts: it rewrites the
    hosts files of its networks' members, this container among them)."""
    specs = list((config.get("HostConfig") or {}).get("Links") or ())
    for ep in planned(config).values():
        specs += list(ep.get("Links") or ())
    if not specs:
        return []
    mine = {ep.network for ep in nm.endpoints(config["Id"])}
    by_name: dict[str, list] = {}
    for net in nm.list():
        for ep in net.endpoints.values():
            if ep.name:
                by_name.setdefault(ep.name, []).append(ep)
    out = []
    for spec in specs:
        try:
            name, alias = parse_link(spec)
        except InvalidArgument:
            continue
        eps = sorted(by_name.get(name, ()), key=lambda e: e.network not in mine)
        if eps:
            out.append((eps[0].ip, list(dict.fromkeys([alias, name]))))
    return out


def check_endpoint(net, ip: str | None, aliases) -> None:
    """Refuse what the network cannot give: a fixed address outside its subnet, on
    the default bridge, or reserved; aliases that are not strings."""
    if not isinstance(aliases, list) or not all(isinstance(a, str) for a in aliases):
        raise InvalidArgument("Aliases must be a list of strings")
    if ip is None:
        return
    if net.default:
        raise InvalidArgument("user specified IP address is supported on user defined "
                              "networks only")
    from ipaddress import IPv4Address
    try:
        want = IPv4Address(str(ip).strip())
    except ValueError:
        raise InvalidArgument(f"invalid IPv4Address {ip!r} in IPAMConfig") from None
    if want not in net.pool.subnet:
        raise InvalidArgument(f"invalid IPAMConfig: address {want} does not belong to any of "
                              f"network {net.name!r}'s subnets ({net.subnet})")
    if want in (net.pool.subnet.network_address, net.pool.subnet.broadcast_address,
                net.pool.gateway):
        raise InvalidArgument(f"invalid IPAMConfig: address {want} is the network, "
                              f"broadcast or gateway address of {net.subnet}")


def endpoint_settings(aliases=None, ip: str | None = None, mac: str | None = None,
                      links=None) -> dict:
    """A planned EndpointSettings as Docker stores it."""
    out = {"IPAMConfig": {"IPv4Address": ip} if ip else None, "Links": list(links or []) or None,
           "Aliases": list(aliases or []) or None, "DriverOpts": None}
    if mac:
        out["MacAddress"] = mac
    return out


def _update_config(cdir: str, change) -> dict:
    """Read-modify-write ``config.json`` under the container's lock."""
    from ..containers import state as cstate
    with cstate.locked(os.path.join(cdir, "lock")):
        path = os.path.join(cdir, "config.json")
        config = cstate.read_json(path)
        change(config)
        cstate.write_json(path, config)
        return config


def _plan(config: dict, network: str, settings: dict | None) -> None:
    nc = config.setdefault("NetworkingConfig", {})
    eps = dict(nc.get("EndpointsConfig") or {})
    if settings is None:
        eps.pop(network, None)
    else:
        eps[network] = settings
    nc["EndpointsConfig"] = eps


def plan(nm, container, network: str, *, aliases=(), ip: str | None = None,
         mac: str | None = None, links=()) -> None:
    """Record an endpoint in a created container's plan without wiring anything (the
    daemon's create, for the primary network's ``IPAMConfig``); validated first."""
    if ip is not None and network in ("bridge", "default"):
        raise InvalidArgument("user specified IP address is supported on user defined "
                              "networks only")
    net = nm.inspect(network)
    aliases = list(aliases or [])
    check_endpoint(net, ip, aliases)
    _check_ip_free(nm, container.id, net, ip)
    settings = endpoint_settings(aliases, ip, check_mac(mac, "MacAddress") if mac else None,
                                 _links(nm, links))
    container.config = _update_config(container.dir,
                                      lambda c: _plan(c, net.name, settings))
    refresh_settings(nm, container)


def _links(nm, links) -> list[str]:
    """``EndpointSettings.Links`` checked: each linked container must exist."""
    out = []
    for spec in links or ():
        name, alias = parse_link(spec, "Links")
        _container_named(nm.root, name)
        out.append(f"{name}:{alias}")
    return out


def _container_named(root: str, ref: str):
    """The container ``ref`` (name or id) of the state root, else NotFound naming it."""
    from ..containers.manager import ContainerManager
    try:
        return ContainerManager(root, None).get(ref)
    except NotFound:
        raise NotFound(f"could not get container for {ref}: No such container: {ref} "
                       "(the container to link to must exist)") from None


def _check_ip_free(nm, cid: str, net, ip: str | None) -> None:
    if ip is None:
        return
    owner = net.pool.allocated.get(str(ip))
    if owner and owner != cid:
        raise Conflict(f"address {ip} is already in use by container {owner[:12]} on "
                       f"network {net.name}")


def _connectable(name: str, mode: str, running: bool = False) -> None:
    if mode == "host":
        raise InvalidArgument(f"container {name} uses the host network: it cannot be "
                              "connected to or disconnected from other networks")
    # "none" is glassbox's default when no --network is given (there is no default
    # bridge with NAT to the outside): a *running* one may be connected live, as it
    # always could; a created one has no plan to hold the network until its start
    if mode == "none" and not running:
        raise InvalidArgument(f"container {name} was created with --network none (glassbox's "
                              "default): start it first to connect it, or create it on the "
                              "network (--network NAME)")
    if mode.startswith("container:"):
        raise InvalidArgument(f"container {name} shares the network namespace of another "
                              "container: it cannot be connected to a network")


def wire(nm, config: dict, pid: int) -> dict:
    """The start path: every planned network connected to the netns of ``pid``.

    Returns network name → :class:`~glassbox.network.Endpoint`, the primary first.
    On an error the endpoints made so far are left for the caller's release
    (``NetworkManager.release_container``), as for any failed start.
    """
    name = config["Name"].lstrip("/")
    out = {}
    for network, ep in planned(config).items():
        if network == "bridge":
            nm.ensure_default()
        out[network] = nm.connect(network, config["Id"], pid, name=name,
                                  aliases=ep.get("Aliases") or (), ip=fixed_ip(ep),
                                  mac=ep.get("MacAddress") or None)
    return out


def network_settings(config: dict, live: dict, ports: dict | None) -> dict:
    """Docker's ``NetworkSettings`` from the live endpoints (name → Endpoint) and the
    plan. Planned networks without a live endpoint (a stopped container) are listed
    with empty addresses, as Docker lists them."""
    from .docs import endpoint_id
    name = config["Name"].lstrip("/")
    nets = {}
    # live endpoints outside the plan too: a running container of glassbox's default
    # (--network none) connected with `network connect`
    plan = planned(config)
    wanted = {**plan, **{n: {"Aliases": list(getattr(ep, "aliases", None) or [])}
                         for n, ep in live.items() if n not in plan}}
    for network, want in wanted.items():
        ep = live.get(network)
        # Docker (API < 1.44) lists the short id among a user network's aliases; compose
        # reads it to tell an endpoint it made from one it must make again
        aliases = [a for a in [name, *(want.get("Aliases") or []), config["Id"][:12]] if a]
        entry = {"IPAMConfig": want.get("IPAMConfig"), "Links": want.get("Links"),
                 "Aliases": list(dict.fromkeys(aliases)) if network != "bridge" else None,
                 "DriverOpts": want.get("DriverOpts"), "NetworkID": "", "EndpointID": "",
                 "Gateway": "", "IPAddress": "", "IPPrefixLen": 0, "IPv6Gateway": "",
                 "GlobalIPv6Address": "", "GlobalIPv6PrefixLen": 0,
                 "MacAddress": want.get("MacAddress") or ""}
        if ep is not None:
            entry.update({"NetworkID": ep.network_id,
                          "EndpointID": endpoint_id(ep.network_id, config["Id"]),
                          "Gateway": ep.gateway, "IPAddress": ep.ip,
                          "IPPrefixLen": ep.prefixlen, "MacAddress": ep.mac})
        nets[network] = entry
    first = next(iter(nets.values()), None) or {}
    ns = {"IPAddress": first.get("IPAddress", ""), "IPPrefixLen": first.get("IPPrefixLen", 0),
          "Gateway": first.get("Gateway", ""), "MacAddress": first.get("MacAddress", ""),
          "Networks": nets}
    if ports is not None:
        ns["Ports"] = ports
    return ns


def refresh_settings(nm, container) -> dict:
    """Rewrite the container's ``NetworkSettings`` (state.json) from what is live now."""
    from ..containers import state as cstate
    from ..containers.state import read_json
    cdir = container.dir
    live = {ep.network: ep for ep in nm.endpoints(container.id)} if container.running else {}
    try:
        ports = (read_json(os.path.join(cdir, "state.json")).get("NetworkSettings")
                 or {}).get("Ports")
    except (OSError, ValueError):
        ports = None
    ns = network_settings(container.config, live, ports)
    cstate.update_state(cdir, NetworkSettings=ns)
    return ns


def connect(nm, container, network: str, *, aliases=(), ip: str | None = None,
            mac: str | None = None, links=()) -> None:
    """``network connect``: a live endpoint now if the container runs, and in its
    plan either way (a created container gets it at start, a running one again
    after a restart). Peers' /etc/hosts and inspect follow."""
    from ..runtime.shim import refresh_hosts
    mode = (container.config.get("HostConfig") or {}).get("NetworkMode") or "none"
    _connectable(container.name, mode, container.running)
    net = nm.inspect(network)
    if container.running and container.id in net.endpoints:
        raise Conflict(f"endpoint with name {container.name} already exists in network "
                       f"{net.name} ({container.name} is already connected to it)")
    aliases = list(aliases or [])
    check_endpoint(net, ip, aliases)
    mac = check_mac(mac, "MacAddress") if mac else None
    links = _links(nm, links)
    if container.running:
        nm.connect(net.id, container.id, container.pid, name=container.name,
                   aliases=aliases, ip=ip, mac=mac)
    else:
        _check_ip_free(nm, container.id, net, ip)
    try:
        # not running: a network already planned takes the new settings (as Docker's
        # connect to a created container); the primary's settings too
        if net.name != mode or not container.running:
            settings = endpoint_settings(aliases, ip, mac, links)
            container.config = _update_config(
                container.dir, lambda c: _plan(c, net.name, settings))
    except BaseException:
        if container.running:
            nm.disconnect(net.id, container.id)
        raise
    refresh_settings(nm, container)
    if container.running:
        refresh_hosts(nm.root, net.name)


def disconnect(nm, container, network: str) -> None:
    """``network disconnect``: the live endpoint (if any) and the plan entry go."""
    from ..runtime.shim import refresh_hosts
    mode = (container.config.get("HostConfig") or {}).get("NetworkMode") or "none"
    if mode == "host":
        _connectable(container.name, mode)
    net = nm.inspect(network)
    live = container.id in net.endpoints
    in_plan = net.name in planned(container.config)
    if not live and not in_plan:
        raise NotFound(f"container {container.name} is not connected to network {net.name}")
    if net.name == mode and not container.running:
        raise InvalidArgument(f"network {net.name} is the network container {container.name} "
                              "was created on: it cannot be disconnected before it starts")
    if live:
        nm.disconnect(net.id, container.id)
    if in_plan and net.name != mode:
        container.config = _update_config(container.dir,
                                          lambda c: _plan(c, net.name, None))
    if net.name == mode:   # disconnected from its primary network while running
        ns = refresh_settings(nm, container)
        ns["Networks"].pop(net.name, None)
        from ..containers import state as cstate
        cstate.update_state(container.dir, NetworkSettings=ns)
    else:
        refresh_settings(nm, container)
    refresh_hosts(nm.root, net.name)
