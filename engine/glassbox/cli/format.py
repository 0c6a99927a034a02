"""Docker-like output: aligned tables, human sizes, "Up 3 minutes", JSON."""

from __future__ import annotations

import json
import time


def table(headers: list[str], rows: list[list[str]]) -> str:
    """Columns padded to the widest cell plus three spaces, like docker's tabwriter."""
    widths = [len(h) for h in headers]
    for row in rows:
        for i, cell in enumerate(row):
            widths[i] = max(widths[i], len(str(cell)))
    lines = []
    for row in [headers] + rows:
        cells = [str(c).ljust(widths[i]) for i, c in enumerate(row)]
        lines.append("   ".join(cells).rstrip())
    return "\n".join(lines)


def human_size(n: float) -> str:
    """Docker's HumanSize: decimal units, 3 significant digits (``4.26MB``)."""
    units = ["B", "kB", "MB", "GB", "TB", "PB"]
    i = 0
    while n >= 1000 and i < len(units) - 1:
        n /= 1000.0
        i += 1
    return f"{n:.3g}{units[i]}"


def bytes_size(n: float) -> str:
    """Binary units, as ``docker stats`` prints memory (``1.5MiB``)."""
    units = ["B", "KiB", "MiB", "GiB", "TiB"]
    i = 0
    while n >= 1024 and i < len(units) - 1:
        n /= 1024.0
        i += 1
    return f"{n:.4g}{units[i]}" if i else f"{int(n)}B"


def parse_time(s: str) -> float | None:
    if not s or s.startswith("0001-"):
        return None
    from datetime import datetime, timezone
    base, _, frac = s.rstrip("Z").partition(".")
    dt = datetime.strptime(base, "%Y-%m-%dT%H:%M:%S").replace(tzinfo=timezone.utc)
    return dt.timestamp() + (float("0." + frac) if frac else 0.0)


def human_duration(seconds: float) -> str:
    """Docker's HumanDuration."""
    s = int(seconds)
    if s < 1:
        return "Less than a second"
    if s == 1:
        return "1 second"
    if s < 60:
        return f"{s} seconds"
    m = s // 60
    if m == 1:
        return "About a minute"
    if m < 60:
        return f"{m} minutes"
    h = round(s / 3600)
    if h == 1:
        return "About an hour"
    if h < 48:
        return f"{h} hours"
    if h < 24 * 7 * 2:
        return f"{h // 24} days"
    if h < 24 * 30 * 2:
        return f"{h // 24 // 7} weeks"
    if h < 24 * 365 * 2:
        return f"{h // 24 // 30} months"
    return f"{h // 24 // 365} years"


def ago(ts: str) -> str:
    t = parse_time(ts)
    return "" if t is None else human_duration(time.time() - t) + " ago"


def as_json(obj) -> str:
    return json.dumps(obj, indent=4)


def one_json_per_line(items) -> str:
    return "\n".join(json.dumps(i, separators=(",", ":")) for i in items)
