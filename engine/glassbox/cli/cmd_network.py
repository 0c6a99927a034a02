"""``glassbox network create|ls|inspect|rm|prune|connect|disconnect`` and ``glassbox port``.

Docker's network commands over :class:`glassbox.network.NetworkManager`
(``eng.networks``). Like Docker, three networks are *pre-defined* and always
listed: ``bridge`` (the default bridge, created on first use), ``host`` (share
the host's network namespace) and ``none`` (loopback only). Only ``bridge``
has a record and a device; ``host`` and ``none`` are modes of ``run``, shown
here so the listing reads like Docker's.

Each ``cmd_*`` takes the Engine and the parsed arguments and returns the exit
code. Imports stay inside the functions: ``glassbox run`` never pays for them.
"""

from __future__ import annotations

from .flags import key_values




def _filters(specs) -> dict[str, list[str]]:
    from ..errors import InvalidArgument
    out: dict[str, list[str]] = {}
    for spec in specs or []:
        k, sep, v = spec.partition("=")
        if not sep:
            raise InvalidArgument(f"bad format of filter (expected name=value): {spec}")
        if k not in ("name", "id", "driver", "label", "type", "scope"):
            raise InvalidArgument(f"invalid filter {k!r} (name, id, driver, label, type, "
                                  f"scope)")
        out.setdefault(k, []).append(v)
    return out


# ---- Docker-shaped documents (shared with the daemon: glassbox.network.docs) -------
def network_docs(eng) -> list[dict]:
    """Every network of the engine's root, pre-defined ones included, sorted by name."""
    from ..network.docs import network_docs as docs
    return docs(eng.networks)


def _inspect_one(eng, ref: str) -> dict:
    from ..network.docs import find_doc
    return find_doc(eng.networks, ref)


def _match(doc: dict, filters: dict[str, list[str]]) -> bool:
    from ..network.docs import matches
    return matches(doc, filters)


def network_rows(eng, filters=None) -> list[dict]:
    """``docker network ls --format json`` rows."""
    rows = []
    for d in network_docs(eng):
        if filters and not _match(d, filters):
            continue
        rows.append({"CreatedAt": d["Created"], "Driver": d["Driver"], "ID": d["Id"][:12],
                     "IPv6": "false", "Internal": str(d["Internal"]).lower(),
                     "Labels": ",".join(f"{k}={v}" for k, v in d["Labels"].items()),
                     "Name": d["Name"], "Scope": d["Scope"], "_Id": d["Id"]})
    return rows


# ---- commands ---------------------------------------------------------------------
def cmd_network_group(eng, args) -> int:
    from ..errors import InvalidArgument
    raise InvalidArgument("usage: glassbox network COMMAND (create, ls, inspect, rm, prune, "
                          "connect, disconnect); see 'glassbox network --help'")


def cmd_network_create(eng, args) -> int:
    from .commands import _print
    _print(args, eng.network_create(args.name, subnet=args.subnet, gateway=args.gateway,
                                    driver=args.driver, internal=args.internal,
                                    labels=key_values(args.label, "label")))
    return 0


def cmd_network_ls(eng, args) -> int:
    from .. import present
    from .commands import _print, _template
    rows = network_rows(eng, _filters(args.filter))
    if args.quiet:
        for r in rows:
            _print(args, r["_Id"] if args.no_trunc else r["ID"])
        return 0
    if args.no_trunc:
        for r in rows:
            r["ID"] = r["_Id"]
    if args.format == "json":
        if rows:
            _print(args, present.one_json_per_line(
                [{k: v for k, v in r.items() if not k.startswith("_")} for r in rows]))
        return 0
    if args.format and args.format != "table":
        for r in rows:
            _print(args, _template(args.format, r))
        return 0
    _print(args, present.table(["NETWORK ID", "NAME", "DRIVER", "SCOPE"],
                           [[r["ID"], r["Name"], r["Driver"], r["Scope"]] for r in rows]))
    return 0


def cmd_network_inspect(eng, args) -> int:
    from .commands import _emit_docs
    return _emit_docs(args, [_inspect_one(eng, n) for n in args.names])


def cmd_network_rm(eng, args) -> int:
    from .commands import _each
    return _each(args, args.names, eng.network_remove)


def cmd_network_prune(eng, args) -> int:
    import sys
    from .commands import _print
    if not args.force and not getattr(args, "_capture", False):
        sys.stderr.write("WARNING! This will remove all custom networks not used by at "
                         "least one container.\nAre you sure you want to continue? [y/N] ")
        sys.stderr.flush()
        if sys.stdin.readline().strip().lower() not in ("y", "yes"):
            return 0
    removed = eng.network_prune()
    if removed:
        _print(args, "Deleted Networks:")
        for name in removed:
            _print(args, name)
    return 0


def cmd_network_connect(eng, args) -> int:
    """A running container is wired now, a created one at its start (as Docker)."""
    eng.network_connect(args.network, args.container, aliases=args.alias, ip=args.ip or None)
    return 0


def cmd_network_disconnect(eng, args) -> int:
    eng.network_disconnect(args.network, args.container, force=args.force)
    return 0


# ---- glassbox port ----------------------------------------------------------------
def port_mappings(eng, ref: str) -> list[tuple[str, str, str]]:
    """[(``"80/tcp"``, host ip, host port)] of a container, sorted by port."""
    c = eng.get(ref)
    out = []
    ports = (c.inspect().get("NetworkSettings") or {}).get("Ports") or {}
    for key, binds in ports.items():
        for b in binds or []:
            if b.get("HostPort"):
                out.append((key, b.get("HostIp") or "0.0.0.0", str(b["HostPort"])))

    def order(m):
        port, _, proto = m[0].partition("/")
        return (int(port) if port.isdigit() else 0, proto, m[1], int(m[2]))
    return sorted(set(out), key=order)


def cmd_port(eng, args) -> int:
    import sys
    from ..errors import InvalidArgument
    from .commands import _print
    maps = port_mappings(eng, args.container)
    if args.private_port is None:
        for key, ip, port in maps:
            _print(args, f"{key} -> {ip}:{port}")
        return 0
    port, _, proto = args.private_port.partition("/")
    if not port.isdigit() or not 0 < int(port) < 65536 or proto not in ("", "tcp", "udp"):
        raise InvalidArgument(f"invalid port {args.private_port!r}: expected PORT[/tcp|udp]")
    key = f"{int(port)}/{proto or 'tcp'}"
    hits = [(ip, p) for k, ip, p in maps if k == key]
    if not hits:
        print(f"Error: No public port '{key}' published for {args.container}",
              file=sys.stderr)
        return 1
    for ip, p in hits:
        _print(args, f"{ip}:{p}")
    return 0


def register(cmd, sub) -> None:
    """Add ``glassbox network ...`` and ``glassbox port`` (called by :mod:`.parser`)."""
    p = cmd("network", "Manage networks (create, ls, inspect, rm, prune, connect, "
            "disconnect)", cmd_network_group)
    nsub = p.add_subparsers(dest="subcmd", metavar="COMMAND", parser_class=type(p))

    c = nsub.add_parser("create", help="Create a network")
    c.add_argument("-d", "--driver", default="bridge", help="Driver to manage the Network "
                   "(only 'bridge')")
    c.add_argument("--subnet", help="Subnet in CIDR format, e.g. 10.10.0.0/24")
    c.add_argument("--gateway", help="IPv4 gateway for the subnet (needs --subnet)")
    c.add_argument("--internal", action="store_true",
                   help="Restrict external access to the network (no default route)")
    c.add_argument("--label", action="append", default=[], help="Set metadata on a network")
    c.add_argument("name", metavar="NETWORK")
    c.set_defaults(func=cmd_network_create)

    c = nsub.add_parser("ls", aliases=["list"], help="List networks")
    c.add_argument("-q", "--quiet", action="store_true", help="Only display network IDs")
    c.add_argument("-f", "--filter", action="append", default=[],
                   help="Provide filter values (e.g. 'name=lab', 'driver=bridge', "
                   "'type=custom', 'label=k=v')")
    c.add_argument("--format", help="'table' (default), 'json', or a Go-like template such "
                   "as '{{.Name}}'")
    c.add_argument("--no-trunc", action="store_true", help="Do not truncate the output")
    c.set_defaults(func=cmd_network_ls)

    c = nsub.add_parser("inspect", help="Display detailed information on one or more "
                        "networks")
    c.add_argument("-f", "--format", help="Format the output using a template or 'json'")
    c.add_argument("names", nargs="+", metavar="NETWORK")
    c.set_defaults(func=cmd_network_inspect)

    c = nsub.add_parser("rm", aliases=["remove"], help="Remove one or more networks")
    c.add_argument("names", nargs="+", metavar="NETWORK")
    c.set_defaults(func=cmd_network_rm)

    c = nsub.add_parser("prune", help="Remove all unused networks")
    c.add_argument("-f", "--force", action="store_true", help="Do not prompt for "
                   "confirmation")
    c.set_defaults(func=cmd_network_prune)

    c = nsub.add_parser("connect", help="Connect a running container to a network")
    c.add_argument("--alias", action="append", default=[],
                   help="Add network-scoped alias for the container")
    c.add_argument("--ip", help="IPv4 address (e.g., 172.30.100.104)")
    c.add_argument("network", metavar="NETWORK")
    c.add_argument("container", metavar="CONTAINER")
    c.set_defaults(func=cmd_network_connect)

    c = nsub.add_parser("disconnect", help="Disconnect a container from a network")
    c.add_argument("-f", "--force", action="store_true",
                   help="Force the container to disconnect from a network")
    c.add_argument("network", metavar="NETWORK")
    c.add_argument("container", metavar="CONTAINER")
    c.set_defaults(func=cmd_network_disconnect)

    p = cmd("port", "List port mappings or a specific mapping for the container", cmd_port)
    p.add_argument("container", metavar="CONTAINER")
    p.add_argument("private_port", nargs="?", metavar="PRIVATE_PORT[/PROTO]")
