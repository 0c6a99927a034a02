"""``glassbox doctor`` — what this machine allows, one line per feature, and the tier.

The probes live in :mod:`glassbox.doctor`; this module only draws the table
(or ``--format json``). The doctor needs no state root: it runs before
anything else works, to say why.
"""

from __future__ import annotations


def cmd_doctor(eng, args) -> int:
    from .. import doctor
    from .. import present
    from .commands import _print
    report = doctor.diagnose(args.root)
    if args.format == "json":
        _print(args, present.as_json(report.as_dict()))
        return 0
    rows = [[c.feature, c.status, c.detail + (f"\n    fix: {c.fix}" if c.fix and not c.ok
                                                else "")] for c in report.checks]
    flat = []
    for feature, status, detail in rows:
        first, *rest = detail.split("\n")
        flat.append([feature, status, first])
        flat += [["", "", more] for more in rest]
    _print(args, present.table(["FEATURE", "STATUS", "DETAIL"], flat))
    _print(args, f"\ntier: {report.tier} — {doctor.TIER_MEANING[report.tier]}")
    return 0


def register(cmd, sub) -> None:
    """Add ``glassbox doctor`` to the parser (called by :mod:`.parser`)."""
    p = cmd("doctor", "Check what this machine allows (namespaces, overlay, cgroups, "
            "seccomp, bridges, ports) and pick the lab's tier", cmd_doctor)
    p.add_argument("--format", choices=["table", "json"], default="table",
                   help="'table' (default) or 'json'")
    p.set_defaults(needs_engine=False)
