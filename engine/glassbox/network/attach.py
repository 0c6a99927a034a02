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
network. On the default ``bridge`` (where ``--link`` alone puts a container, as
``-p`` does) they also set Docker's legacy link environment variables at each
start (:mod:`.links`); on a user network a link is only a name, as in Docker.
"""

from __future__ import annotations

import os

from ..errors import Conflict, InvalidArgument, NotFound
# the plan and the document it shows are values of their own (front ends read them)
from ..runtime.spec import container_field
from .plan import PRIMARY_ONLY, check_mac, fixed_ip, network_settings, planned

__all__ = ["PRIMARY_ONLY", "check_create", "check_endpoint", "check_mac", "connect",
           "create_fields", "disconnect", "endpoint_settings", "fixed_ip", "link_hosts",
           "links_doc", "network_settings", "parse_link", "plan", "planned",
           "refresh_settings", "wire"]


def _cdir(root: str, cid: str) -> str:
    return os.path.join(root, "containers", cid)


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
                                  f"--network {net_mode} (leave --network out for the "
                                  "default bridge, or give --network bridge or NAME)")
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
    """What a create records of them: in the spec (``mac_address``, the primary
    network's MAC read by :func:`planned`; ``links``, read by :func:`link_hosts`),
    and for ``inspect`` ``Config.MacAddress`` and ``HostConfig.Links`` in Docker's form."""
    if opts.mac_address:
        config["Config"]["MacAddress"] = opts.mac_address
        config["Spec"]["mac_address"] = opts.mac_address
    if opts.links:
        config["HostConfig"]["Links"] = links_doc(opts.links, name)
        config["Spec"]["links"] = list(opts.links)


def link_hosts(nm, config: dict) -> list[tuple[str, list[str]]]:
    """``/etc/hosts`` entries of this container's links: (address, [alias, name]).

    The linked container's address on a network both are on (the default
    ``bridge`` for classic links), else any it has; a linked container that is not
    running has no address and no entry (it gets one when it starts: it rewrites the
    hosts files of its networks' members, this container among them)."""
    specs = list(container_field(config, "links"))
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


def _plan(config: dict, network: str, settings: dict | None, *, primary: bool = False) -> None:
    """Change one network's entry in the plan: its settings, or gone (``None``). The
    primary network is implied by the network mode, so it is marked ``null`` instead."""
    nc = config.setdefault("NetworkingConfig", {})
    eps = dict(nc.get("EndpointsConfig") or {})
    if settings is None and primary:
        eps[network] = None
    elif settings is None:
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
    mode = container_field(container.config, "network_mode")
    _connectable(container.name, mode, container.running)
    if ip is not None and network in ("bridge", "default"):
        # said before the lookup: the default bridge may not exist yet
        raise InvalidArgument("user specified IP address is supported on user defined "
                              "networks only")
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
    mode = container_field(container.config, "network_mode")
    if mode == "host":
        _connectable(container.name, mode)
    net = nm.inspect(network)
    live = container.id in net.endpoints
    in_plan = net.name in planned(container.config)
    if not live and not in_plan:
        raise NotFound(f"container {container.name} is not connected to network {net.name}")
    if live:
        nm.disconnect(net.id, container.id)
    if in_plan and (net.name != mode or not container.running):
        # a created container's primary network too (dockerd allows it: compose
        # disconnects it, then connects it again with the service's aliases)
        container.config = _update_config(
            container.dir, lambda c: _plan(c, net.name, None, primary=net.name == mode))
    if net.name == mode:   # disconnected from its primary network while running
        ns = refresh_settings(nm, container)
        ns["Networks"].pop(net.name, None)
        from ..containers import state as cstate
        cstate.update_state(container.dir, NetworkSettings=ns)
    else:
        refresh_settings(nm, container)
    refresh_hosts(nm.root, net.name)
