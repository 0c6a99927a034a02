"""Pictures, as pure functions: data in, a matplotlib ``Figure`` out.

Nothing here reads the engine or needs a display: figures are made with
``matplotlib.figure.Figure`` and the Agg canvas (no pyplot global state, safe
from a background thread), so they render headless in tests and in the monitor's
thread alike. Artists that carry meaning have a ``gid`` so tests can find them:
``"cpu"``, ``"memory"``, ``"memory-limit"``, ``"oom"``, ``"layer:<diff_id>"``,
``"rw:<container>"``.
"""

from __future__ import annotations

import io

MIB = 1024 * 1024

LAYER_COLORS = ["#90caf9", "#a5d6a7", "#ffe082", "#ce93d8", "#ffab91", "#80deea", "#e6ee9c"]
SHARED_COLOR = "#b0bec5"
RW_COLOR = "#ef9a9a"


def new_figure(width: float, height: float):
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    fig = Figure(figsize=(width, height), dpi=100)
    FigureCanvasAgg(fig)
    return fig


def to_png(fig, dpi: int = 100) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi, bbox_inches="tight")
    return buf.getvalue()


def to_svg(fig) -> str:
    buf = io.StringIO()
    fig.savefig(buf, format="svg", bbox_inches="tight")
    return buf.getvalue()


# ---- live container chart ----------------------------------------------------------
def stats_figure(t, cpu, memory, limit=None, *, oom_at: float | None = None, title: str = "",
                 exit_code: int | None = None, width: float = 8, height: float = 4.5):
    """CPU % (top) and memory in MiB (bottom) over time.

    ``limit`` is a memory limit per sample (bytes or None = unlimited): drawn as
    a dashed red step line, so a limit changed live (``glassbox update``, the
    sliders) shows as a step. ``oom_at`` (seconds) marks an OOM kill with a
    vertical line on both axes.
    """
    from .messages import t as msg
    fig = new_figure(width, height)
    ax_cpu, ax_mem = fig.subplots(2, 1, sharex=True)
    ax_cpu.plot(t, cpu, color="#1565c0", lw=1.5, gid="cpu")
    ax_cpu.set_ylabel(msg("chart.cpu"))
    ax_cpu.set_ylim(bottom=0, top=max([100.0] + [c * 1.1 for c in cpu]))
    ax_cpu.grid(alpha=0.3)
    mem_mib = [m / MIB for m in memory]
    ax_mem.plot(t, mem_mib, color="#2e7d32", lw=1.5, gid="memory")
    ax_mem.fill_between(t, mem_mib, color="#2e7d32", alpha=0.15)
    top = max(mem_mib, default=1.0)
    limits = list(limit) if limit is not None else []
    if limits and any(v for v in limits):
        lt = [x for x, v in zip(t, limits) if v]
        lv = [v / MIB for v in limits if v]
        ax_mem.step(lt, lv, where="post", color="#c62828", ls="--", lw=1.5, gid="memory-limit",
                    label=msg("chart.limit", mib=lv[-1]))
        top = max(top, max(lv))
        ax_mem.legend(loc="upper left", fontsize=8, framealpha=1.0)   # opaque: an OOM line behind it
    ax_mem.set_ylim(bottom=0, top=top * 1.15 or 1.0)
    ax_mem.set_ylabel(msg("chart.memory"))
    ax_mem.set_xlabel(msg("chart.seconds"))
    ax_mem.grid(alpha=0.3)
    if oom_at is not None:
        for ax in (ax_cpu, ax_mem):
            ax.axvline(oom_at, color="#b71c1c", lw=2, gid="oom")
        # above the memory axes, over the line: clear of the legend in the upper left
        ax_mem.annotate(msg("chart.oom"), (oom_at, 1.02), xycoords=("data", "axes fraction"),
                        color="#b71c1c", fontweight="bold", ha="center", va="bottom",
                        gid="oom-label", annotation_clip=False)
    heading = title
    if exit_code is not None:
        heading += f"  ({msg('chart.exited', code=exit_code)}" + \
            (f", {msg('chart.oom_killed')})" if oom_at is not None else ")")
    if heading:
        ax_cpu.set_title(heading, fontsize=10)
    fig.tight_layout()
    return fig


def figure_from_columns(cols: dict, **kw):
    """:func:`stats_figure` from :meth:`StatsSampler.columns` output."""
    return stats_figure(cols["t"], cols["cpu"], cols["memory"], cols["limit"],
                        oom_at=cols.get("oom_at") if cols.get("oom") else None,
                        title=cols.get("name", ""), exit_code=cols.get("exit_code"), **kw)


# ---- layer stacks --------------------------------------------------------------------
def layers_figure(stacks, rw=(), *, title: str = ""):
    """Image layer stacks as a tree: shared layers once, each image's own on top.

    ``stacks``: :class:`~glassbox.layertree.ImageStack` s; ``rw``:
    :class:`~glassbox.layertree.RWLayer` s (drawn above their image).
    """
    from matplotlib.patches import FancyBboxPatch
    from ..layertree import layout
    boxes, columns = layout(list(stacks), list(rw))
    ncols = max(1, len(columns))
    levels = max([b.level for b in boxes], default=0) + 1
    col_w = 3.6
    fig = new_figure(max(4.5, col_w * ncols + 0.5), max(2.0, 0.75 * levels + 1.0))
    ax = fig.add_subplot(1, 1, 1)
    color_of: dict[int, str] = {}
    for b in boxes:
        shared = b.x1 - b.x0 > 1
        if b.kind == "rw":
            color = RW_COLOR
        elif shared:
            color = SHARED_COLOR
        else:
            color = color_of.setdefault(b.x0, LAYER_COLORS[b.x0 % len(LAYER_COLORS)])
        x, w = b.x0 * col_w + 0.08, (b.x1 - b.x0) * col_w - 0.16
        y, h = b.level * 0.75 + 0.06, 0.63
        patch = FancyBboxPatch((x, y), w, h, boxstyle="round,pad=0,rounding_size=0.08",
                               facecolor=color, edgecolor="#37474f",
                               lw=1.5 if b.kind == "rw" else 1.0,
                               ls="--" if b.kind == "rw" else "-", gid=b.key if b.kind == "rw"
                               else "layer:" + b.key)
        ax.add_patch(patch)
        ax.text(x + w / 2, y + h / 2, b.label, ha="center", va="center", fontsize=7.5,
                family="monospace", gid="label:" + b.key, clip_on=True)
    # image names under their columns
    for i, name in enumerate(columns):
        ax.text(i * col_w + col_w / 2, -0.25, name, ha="center", va="top", fontsize=9,
                fontweight="bold", gid="image:" + name)
    ax.set_xlim(0, ncols * col_w)
    ax.set_ylim(-0.6, levels * 0.75 + 0.1)
    ax.axis("off")
    from .messages import t
    ax.set_title(title or t("layers.title"), fontsize=10)
    return fig


# ---- experiments -----------------------------------------------------------------------
def experiment_figure(trials, *, together: bool = False, expected=None, title: str = "",
                      width: float = 10, height: float = 3.6):
    """An experiment's trials side by side (:class:`~glassbox.jupyter.experiment.Trial` s).

    Left: memory over time, one line per trial, its limit dashed in the same colour,
    an ``x`` where the OOM killer ended it (gids ``memory:<i>``, ``limit:<i>``,
    ``oom:<i>``). Right: bars of CPU seconds per trial, or (``together``) of each
    one's share of the CPU time, with ``expected`` shares (0..1) as black ticks
    (gids ``bar:<i>``, ``expected:<i>``).
    """
    from .messages import t
    fig = new_figure(width, height)
    ax_mem, ax_cpu = fig.subplots(1, 2, gridspec_kw={"width_ratios": [3, 2]})
    dark = ["#1565c0", "#2e7d32", "#ef6c00", "#6a1b9a", "#c62828", "#00838f", "#9e9d24"]
    top = 1.0
    for i, tr in enumerate(trials):
        color = dark[i % len(dark)]
        ts = [s.t for s in tr.samples]
        mem = [s.memory / MIB for s in tr.samples]
        if ts:
            ax_mem.plot(ts, mem, color=color, lw=1.5, label=tr.label, gid=f"memory:{i}")
            top = max(top, max(mem))
        if tr.memory_limit:
            ax_mem.axhline(tr.memory_limit / MIB, color=color, ls="--", lw=1, gid=f"limit:{i}")
            top = max(top, tr.memory_limit / MIB)
        if tr.oom_killed and ts:
            ax_mem.plot([ts[-1]], [mem[-1]], marker="x", ms=10, mew=2.5, color="#b71c1c",
                        gid=f"oom:{i}")
    ax_mem.set_ylim(0, top * 1.15)
    ax_mem.set_xlabel(t("chart.seconds"))
    ax_mem.set_ylabel(t("chart.memory"))
    ax_mem.set_title(t("exp.memory_over_time"), fontsize=9)
    ax_mem.grid(alpha=0.3)
    if trials:
        ax_mem.legend(loc="upper left", fontsize=7)
    xs = list(range(len(trials)))
    if together:
        vals = [(tr.cpu_share or 0.0) * 100 for tr in trials]
        ax_cpu.set_ylabel(t("exp.share_pct"))
        ax_cpu.set_title(t("exp.share_bars"), fontsize=9)
        ax_cpu.set_ylim(0, 100)
    else:
        vals = [tr.cpu_time for tr in trials]
        ax_cpu.set_ylabel(t("exp.cpu_seconds"))
        ax_cpu.set_title(t("exp.cpu_bars"), fontsize=9)
    for i, v in enumerate(vals):
        ax_cpu.bar([i], [v], color=dark[i % len(dark)], alpha=0.8, gid=f"bar:{i}")
        ax_cpu.text(i, v, f"{v:.1f}", ha="center", va="bottom", fontsize=8)
    for i, e in enumerate(expected or []):
        ax_cpu.plot([i - 0.4, i + 0.4], [e * 100] * 2, color="black", lw=2, gid=f"expected:{i}")
    ax_cpu.set_xticks(xs)
    ax_cpu.set_xticklabels([tr.label for tr in trials], fontsize=7, rotation=15)
    ax_cpu.grid(alpha=0.3, axis="y")
    if title:
        fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    return fig
