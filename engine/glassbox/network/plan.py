"""A container's network plan, and the ``NetworkSettings`` document made from it.

Pure values, no store and no kernel: what a container *asked* for is kept in its
``config.json`` under Docker's own key ``NetworkingConfig.EndpointsConfig`` (the
primary network, ``HostConfig.NetworkMode``, first); :func:`planned` reads it,
:func:`check_mac` says which MAC addresses a veth may take, and
:func:`network_settings` writes what ``inspect`` shows from the plan and the live
endpoints. :mod:`glassbox.network.attach` does the wiring (at start, on a connect);
front ends such as the daemon's inspect and the ``-H`` client read these values
only, so they live here, apart from the code that changes anything.
"""

from __future__ import annotations

from ..errors import InvalidArgument

PRIMARY_ONLY = ("none", "host")


def planned(config: dict) -> dict[str, dict]:
    """network name → its planned EndpointSettings (``Aliases``, ``IPAMConfig``),
    the primary network first. Containers without a network of their own: empty.
    The primary network, its aliases and MAC come from the container's spec; the
    networks connected before start from ``NetworkingConfig`` (a connect changes it).
    A created container disconnected from its primary network (``EndpointsConfig``
    holds ``null`` for it, as compose does before reconnecting with its aliases)
    starts without it until a connect plans it again."""
    from ..runtime.spec import container_field
    mode = container_field(config, "network_mode")
    if mode in PRIMARY_ONLY or mode.startswith("container:"):
        return {}
    eps = ((config.get("NetworkingConfig") or {}).get("EndpointsConfig") or {})
    if mode in eps and eps[mode] is None:                 # disconnected before its start
        return {n: dict(e or {}) for n, e in eps.items() if n != mode}
    primary = dict(eps.get(mode) or {})
    if not primary.get("Aliases"):
        primary["Aliases"] = list(container_field(config, "network_aliases"))
    if not primary.get("MacAddress") and container_field(config, "mac_address"):
        primary["MacAddress"] = container_field(config, "mac_address")
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
