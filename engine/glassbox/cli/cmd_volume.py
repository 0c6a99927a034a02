"""``glassbox volume create|ls|inspect|rm|prune`` — Docker's volume commands.

Each function takes the Engine and the parsed arguments and returns the exit
code; the Engine's ``volume_*`` verbs (:class:`~glassbox.volumes.VolumeManager`
locally, the daemon's API over ``-H``) do the work.
"""

from __future__ import annotations

from .flags import key_values




def _filters(specs: list[str]) -> dict[str, list[str]]:
    from ..errors import InvalidArgument
    out: dict[str, list[str]] = {}
    for spec in specs or []:
        k, sep, v = spec.partition("=")
        if not sep:
            raise InvalidArgument(f"bad format of filter (expected name=value): {spec}")
        out.setdefault(k, []).append(v)
    return out


def cmd_volume_group(eng, args) -> int:
    from ..errors import InvalidArgument
    raise InvalidArgument("usage: glassbox volume COMMAND (create, ls, inspect, rm, prune); "
                          "see 'glassbox volume --help'")


def cmd_volume_create(eng, args) -> int:
    from ..errors import InvalidArgument
    from .commands import _print
    if args.name and args.volume_name and args.name != args.volume_name:
        raise InvalidArgument("conflicting options: either specify --name or provide "
                              "positional arg, not both")
    name = args.name or args.volume_name
    meta = eng.volume_create(name or None, labels=key_values(args.label, "label"),
                             driver=args.driver, options=key_values(args.opt, "option"))
    _print(args, meta["Name"])
    return 0


def volume_rows(eng, filters=None) -> list[dict]:
    """``docker volume ls`` rows (the ``--format json`` shape)."""
    rows = []
    for v in eng.volume_list(filters):
        rows.append({"Availability": "N/A", "Driver": v.get("Driver", "local"), "Group": "N/A",
                     "Labels": ",".join(f"{k}={val}" for k, val in
                                        (v.get("Labels") or {}).items()),
                     "Links": "N/A", "Mountpoint": v["Mountpoint"], "Name": v["Name"],
                     "Scope": v.get("Scope", "local"), "Size": "N/A", "Status": "N/A"})
    return rows


def cmd_volume_ls(eng, args) -> int:
    from .. import present
    from .commands import _print, _template
    rows = volume_rows(eng, _filters(args.filter))
    if args.quiet:
        for r in rows:
            _print(args, r["Name"])
        return 0
    if args.format == "json":
        if rows:
            _print(args, present.one_json_per_line(rows))
        return 0
    if args.format and args.format != "table":
        for r in rows:
            _print(args, _template(args.format, r))
        return 0
    _print(args, present.table(["DRIVER", "VOLUME NAME"], [[r["Driver"], r["Name"]] for r in rows]))
    return 0


def cmd_volume_inspect(eng, args) -> int:
    from .commands import _emit_docs
    return _emit_docs(args, [eng.volume_inspect(n) for n in args.names])


def cmd_volume_rm(eng, args) -> int:
    from .commands import _each
    return _each(args, args.names, lambda n: eng.volume_remove(n, force=args.force))


def cmd_volume_prune(eng, args) -> int:
    from .. import present
    from .commands import _print
    pruned = eng.volume_prune(all=args.all, filters=_filters(args.filter))
    removed = pruned["VolumesDeleted"]
    if removed:
        _print(args, "Deleted Volumes:")
        for name in removed:
            _print(args, name)
        _print(args, "")
    _print(args, "Total reclaimed space: " + present.human_size(pruned["SpaceReclaimed"]))
    return 0


def register(cmd, sub) -> None:
    """Add ``glassbox volume ...`` to the parser (called by :mod:`.parser`)."""
    p = cmd("volume", "Manage volumes (create, ls, inspect, rm, prune)", cmd_volume_group)
    vsub = p.add_subparsers(dest="subcmd", metavar="COMMAND", parser_class=type(p))

    c = vsub.add_parser("create", help="Create a volume")
    c.add_argument("-d", "--driver", default="local", help="Specify volume driver name")
    c.add_argument("--label", action="append", default=[], help="Set metadata for a volume")
    c.add_argument("-o", "--opt", action="append", default=[],
                   help="Set driver specific options")
    c.add_argument("--name", help="Specify volume name")
    c.add_argument("volume_name", nargs="?", metavar="VOLUME")
    c.set_defaults(func=cmd_volume_create)

    for name, aliases in (("ls", ["list"]),):
        c = vsub.add_parser(name, aliases=aliases, help="List volumes")
        c.add_argument("-q", "--quiet", action="store_true", help="Only display volume names")
        c.add_argument("-f", "--filter", action="append", default=[],
                       help="Provide filter values (e.g. 'dangling=true', 'name=', 'label=')")
        c.add_argument("--format", help="'table' (default), 'json', or a Go-like template "
                       "such as '{{.Name}}'")
        c.set_defaults(func=cmd_volume_ls)

    c = vsub.add_parser("inspect", help="Display detailed information on one or more volumes")
    c.add_argument("-f", "--format", help="Format the output using a template or 'json'")
    c.add_argument("names", nargs="+", metavar="VOLUME")
    c.set_defaults(func=cmd_volume_inspect)

    c = vsub.add_parser("rm", aliases=["remove"], help="Remove one or more volumes")
    c.add_argument("-f", "--force", action="store_true",
                   help="Force the removal of one or more volumes")
    c.add_argument("names", nargs="+", metavar="VOLUME")
    c.set_defaults(func=cmd_volume_rm)

    c = vsub.add_parser("prune", help="Remove unused local volumes")
    c.add_argument("-a", "--all", action="store_true",
                   help="Remove all unused volumes, not just anonymous ones")
    c.add_argument("-f", "--force", action="store_true", help="Do not prompt for confirmation")
    c.add_argument("--filter", action="append", default=[],
                   help="Provide filter values (e.g. 'label=<label>')")
    c.set_defaults(func=cmd_volume_prune)
