"""The lab's tier in a notebook: ``doctor()``, ``tier()``, ``allows()`` and ``%%needs``.

The same course runs on machines that grant different kernel features
(:mod:`glassbox.doctor`): root on a VM gets the **full** tier; a JupyterHub account
gets **rootless** (with cgroup **limits** when a subtree is delegated); a
mybinder.org pod gets **user-space** only, where no container can start. A cell
that needs more than the machine grants should say so, not fail with a
traceback::

    import glassbox.jupyter as gj
    gj.doctor()              # the doctor's table and the tier, as HTML
    gj.tier()                # "full" | "rootless (limits)" | "rootless" | "user-space"
    gj.allows("limits")      # True / False, silently

    %%needs root             # first line of a cell (after %load_ext glassbox)
    !ip -o link | grep veth  # runs only when the tier allows it

When the tier allows what a cell needs, ``%%needs`` is silent and the cell runs
as if the line were not there (its last value is shown, its errors fail it).
When not, it shows what the cell needs, why this machine does not allow it and
the fix, in the notebook's language, and **skips** the cell: no exception, so
"Run All" (and nbclient in CI) goes on to the next cell. A later cell that uses
what a skipped cell made is gated the same way.

What a cell may need (:data:`NEEDS`): ``containers`` (start one), ``networks``
(bridges and veths: rootless ones live in a network namespace of the user's own),
``limits`` (cgroup limits: ``-m``, ``--cpus``, ``--pids-limit``, ``update``) and
``root`` (the host's side of things: host veths, ``--privileged``, ``--device``).
The markdown above a gated cell carries :func:`label` (``🔒 needs root``), made by
the course generator from the same table.

The tier is worked out once per kernel (the doctor takes ≈0.1–0.5 s);
``tier(refresh=True)`` asks again. **For tests only**, ``GLASSBOX_TIER=<tier>``
in the kernel's environment forces a tier without probing, so a root CI machine
can show what a student on a lesser machine sees.
"""

from __future__ import annotations

import ast
import os

from IPython.core.magic import Magics, cell_magic, magics_class
from IPython.display import display

from ..errors import InvalidArgument
from .display import badge, esc, html_table
from .messages import t

TIERS = ("full", "rootless (limits)", "rootless", "user-space")
"""From the most to the least the lab can do (:func:`glassbox.doctor.pick_tier`)."""

NEEDS: dict[str, tuple[str, ...]] = {
    "containers": ("full", "rootless (limits)", "rootless"),
    "networks": ("full", "rootless (limits)", "rootless"),
    "limits": ("full", "rootless (limits)"),
    "root": ("full",),
}
"""What a cell may need → the tiers that allow it."""

FORCE_ENV = "GLASSBOX_TIER"
"""Tests only: the tier to pretend this machine has (one of :data:`TIERS`)."""

_report = None          # the doctor's Report, once per kernel (None while forced)
_tier: str | None = None


def _forced() -> str | None:
    value = os.environ.get(FORCE_ENV, "").strip()
    if not value:
        return None
    if value not in TIERS:
        raise InvalidArgument(f"{FORCE_ENV}={value!r} is not a tier: use one of "
                              f"{', '.join(TIERS)} (or unset it to probe this machine)")
    return value


def tier(refresh: bool = False) -> str:
    """This machine's tier (the doctor's pick), worked out once per kernel."""
    global _report, _tier
    forced = _forced()
    if forced:
        return forced
    if _tier is None or refresh:
        from ..doctor import diagnose
        _report = diagnose(storage=False)     # the tier needs no walk of the state root
        _tier = _report.tier
    return _tier


def allows(need: str, at: str | None = None) -> bool:
    """Whether tier ``at`` (default: this machine's) allows what ``need`` names."""
    if need not in NEEDS:
        raise InvalidArgument(f"unknown need {need!r}: use one of {', '.join(NEEDS)}")
    return (at or tier()) in NEEDS[need]


def label(need: str) -> str:
    """The markdown label of a cell that needs ``need`` (``🔒 needs root``), in the
    notebook's language."""
    allows(need, "full")             # validates the name
    return t(f"need.label.{need}")


def _why_and_fix(need: str, at: str) -> tuple[str, str]:
    """Why tier ``at`` refuses ``need``, and what would allow it: from the doctor's
    own lines when it probed this machine, from the tier alone when it was forced."""
    checks = {c.feature: c for c in _report.checks} if _report and not _forced() else {}
    if at == "user-space":
        bad = next((c for c in checks.values() if not c.ok), None)
        if bad:
            return t("need.why.user-space", why=f"{bad.feature}: {bad.detail}"), \
                bad.fix or t("need.fix.user-space")
        return t("need.why.user-space", why=t("need.why.forced", tier=at)), t("need.fix.user-space")
    if need == "limits":
        cg = checks.get("cgroups")
        return t("need.why.limits"), (cg.fix if cg and cg.fix else t("need.fix.limits"))
    return t("need.why.root"), t("need.fix.root")


class Refusal:
    """What a gated cell shows instead of running: the need, the why, the fix."""

    def __init__(self, need: str, at: str):
        self.need, self.tier = need, at
        self.why, self.fix = _why_and_fix(need, at)

    def _lines(self) -> list[str]:
        forced = t("tier.forced", var=FORCE_ENV) if _forced() else ""
        return [t("need.skipped", what=t(f"need.what.{self.need}"), tier=self.tier) + forced,
                t("need.because", why=self.why), t("need.fix", fix=self.fix)]

    def _repr_html_(self) -> str:
        a, b, c = (esc(x) for x in self._lines())
        return ('<div style="border-left:4px solid #757575;background:#f5f5f5;padding:6px 10px">'
                f'{badge(t(f"need.label.{self.need}"), "#616161")} <b>{a}</b><br>{b}<br>{c}</div>')

    def __repr__(self) -> str:
        return "\n".join(self._lines())


class Doctor:
    """``glassbox doctor`` as a notebook value: the table of features, then the tier."""

    def __init__(self, report, forced: str | None = None):
        self.report, self.forced = report, forced

    @property
    def tier(self) -> str:
        return self.forced or self.report.tier

    def _meaning(self) -> str:
        return t(f"tier.meaning.{self.tier}")

    def _repr_html_(self) -> str:
        rows = [[c.feature, badge(c.status, "#2e7d32" if c.ok else "#c62828"), c.detail, c.fix]
                for c in self.report.checks]
        table = html_table(t("doctor.headers").split("|"), rows, title=t("doctor.title"),
                           raw_columns=(1,))
        forced = esc(t("tier.forced", var=FORCE_ENV)) if self.forced else ""
        return (f'{table}<p style="margin-top:6px">{esc(t("tier.label"))} '
                f'{badge(self.tier, "#1565c0")}{forced} — {esc(self._meaning())}</p>')

    def __repr__(self) -> str:
        from ..present import table
        text = table([h.upper() for h in t("doctor.headers").split("|")],
                     [[c.feature, c.status, c.detail, c.fix] for c in self.report.checks])
        forced = t("tier.forced", var=FORCE_ENV) if self.forced else ""
        return f"{text}\n{t('tier.label')} {self.tier}{forced} — {self._meaning()}"


def doctor() -> Doctor:
    """Probe this machine and show the doctor's table (storage included) and the tier;
    the probes of :func:`tier` are kept for the rest of the kernel's life."""
    global _report, _tier
    from ..doctor import diagnose
    report = diagnose()
    if not _forced():
        _report, _tier = report, report.tier
    return Doctor(report, forced=_forced())


def run_cell_body(shell, cell: str):
    """Run ``cell`` as the body of the current cell: IPython syntax (``!cmd``,
    ``%magic``) transformed, statements run in the notebook's namespace, and the
    value of a last expression returned (the cell then shows it). Errors propagate,
    so a gated cell that fails still fails its run."""
    src = shell.transform_cell(cell)
    filename = shell.compile.cache(src, shell.execution_count)
    tree = ast.parse(src, filename)
    last = tree.body.pop() if tree.body and isinstance(tree.body[-1], ast.Expr) else None
    exec(compile(tree, filename, "exec"), shell.user_ns)  # noqa: S102 - the user's own cell
    if last is not None and not src.rstrip().endswith(";"):
        return eval(compile(ast.Expression(last.value), filename, "eval"), shell.user_ns)
    return None


@magics_class
class TierMagics(Magics):
    """``%%needs NEED``: run the cell only when this machine's tier allows NEED."""

    @cell_magic
    def needs(self, line: str, cell: str):
        """``%%needs root`` (or containers, networks, limits) as a cell's first line."""
        wanted = line.split()
        if not wanted:
            raise InvalidArgument(f"%%needs: say what the cell needs: one of {', '.join(NEEDS)}")
        at = tier()
        refused = [w for w in wanted if not allows(w, at)]
        if refused:
            display(Refusal(refused[0], at))
            return None
        return run_cell_body(self.shell, cell)


def load_ipython_extension(ipython) -> None:
    """``%load_ext glassbox.jupyter.tiers``: only ``%%needs`` (``%load_ext glassbox``
    registers it too, with ``%container``)."""
    ipython.register_magics(TierMagics(ipython))


__all__ = ["NEEDS", "TIERS", "Doctor", "Refusal", "TierMagics", "allows", "doctor", "label",
           "tier"]
