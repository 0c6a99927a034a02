"""``glassbox system setup-user NAME`` — root prepares a user for rootless glassbox.

The other ``system`` subcommands (df, check, info) live in :mod:`.commands`;
this one is :mod:`glassbox.rootless.setup` (subordinate ids, a delegated
cgroup subtree), registered under ``system`` by :func:`register_system`.
"""

from __future__ import annotations


def cmd_system_setup_user(eng, args) -> int:
    from ..rootless import setup
    from .commands import _print
    lines = setup.remove(args.name) if args.remove else setup.setup_user(args.name)
    for line in lines:
        _print(args, line)
    if not args.remove:
        _print(args, f"{args.name} can now run glassbox rootless with limits "
                     "(see `glassbox info` as that user)")
    return 0


def register_system(ssub) -> None:
    """Add ``setup-user`` to the ``system`` subparsers (called by :mod:`.parser`)."""
    sp = ssub.add_parser("setup-user", help="As root: prepare a user for rootless glassbox "
                         "(subordinate ids, a delegated cgroup subtree)")
    sp.add_argument("name", metavar="NAME", help="the login name")
    sp.add_argument("--remove", action="store_true",
                    help="remove the user's delegated cgroup subtree again")
    sp.set_defaults(func=cmd_system_setup_user)
