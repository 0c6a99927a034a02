"""Presentation: how glassbox shows containers, images and numbers to people.

Every front end shows the same things in the same words. ``glassbox ps`` prints
``Up 3 minutes``; the daemon answers ``GET /containers/json`` with that very
``Status`` (the ``docker`` CLI prints it as it gets it); the ``%container ps``
magic, the ps widget and the lab's panel draw the same rows. So the words live
here, once, and the front ends (``cli``, ``daemon``, ``jupyter``, ``lab``)
import them from this module — never from one another.

What is here, and the Docker convention each follows:

* **tables** — :func:`table` pads columns like Go's ``tabwriter`` (the widest
  cell plus three spaces): what ``docker ps`` and ``docker images`` print.
* **sizes** — two unit systems, as Docker has: :func:`human_size` is decimal
  (``4.26MB``: image and disk sizes, ``docker images``/``system df``) and
  :func:`bytes_size` is binary (``1.5MiB``: memory, ``docker stats``), because
  the kernel counts memory in pages of 4 KiB and disks are sold in MB.
* **times** — the state files keep RFC 3339 UTC times (``StartedAt``); people
  read :func:`human_duration` (Docker's ``HumanDuration``: ``About a minute``,
  ``3 hours``) and :func:`ago`.
* **containers** — :func:`status_text` turns a record's state into
  ``Up 5 seconds (healthy)`` / ``Exited (137) 2 minutes ago``;
  :func:`ps_filters` and :func:`matches` are ``ps --filter``; :func:`ps_rows`
  and :func:`stats_row` are the rows of ``ps`` and ``stats`` (the shape of
  ``--format json``).
* **images** — :func:`shown_images` hides build steps as ``docker images`` does
  without ``-a``; :func:`image_rows` are its rows.

Everything takes what an ``Engine`` (or the daemon's ``RemoteEngine``) returned,
so it shows a remote daemon's containers the same way. The only reads of the
machine are :func:`host_memory` (``/proc/meminfo``: what "no memory limit"
means in ``stats``) and a container's healthcheck file for its status text.
"""

from __future__ import annotations

import json
import time

# ---- tables and JSON ---------------------------------------------------------------


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


def as_json(obj) -> str:
    """``docker inspect``'s layout: indented by four spaces."""
    return json.dumps(obj, indent=4)


def one_json_per_line(items) -> str:
    """``--format json`` of a list command: one compact object per line."""
    return "\n".join(json.dumps(i, separators=(",", ":")) for i in items)


# ---- sizes ---------------------------------------------------------------------------


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


def host_memory() -> int:
    """The machine's RAM in bytes (``MemTotal``; 0 when unreadable): a container
    without a memory limit may use all of it, so ``stats`` shows it as the limit."""
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemTotal:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


# ---- times ---------------------------------------------------------------------------


def parse_time(s: str) -> float | None:
    """An RFC 3339 UTC time (``2024-05-01T10:00:00.123456789Z``) as epoch seconds;
    None for an empty one or Go's zero time (``0001-01-01T00:00:00Z``: never)."""
    if not s or s.startswith("0001-"):
        return None
    from datetime import datetime, timezone
    base, _, frac = s.rstrip("Z").partition(".")
    dt = datetime.strptime(base, "%Y-%m-%dT%H:%M:%S").replace(tzinfo=timezone.utc)
    return dt.timestamp() + (float("0." + frac) if frac else 0.0)


def human_duration(seconds: float) -> str:
    """Docker's HumanDuration: exact below a minute, then ever coarser."""
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
    """``3 minutes ago`` for an RFC 3339 time; empty for none."""
    t = parse_time(ts)
    return "" if t is None else human_duration(time.time() - t) + " ago"


# ---- containers ------------------------------------------------------------------------


def status_text(c) -> str:
    """The STATUS column of ``docker ps``: ``Up 3 minutes``, ``Up 2 seconds
    (healthy)``, ``Up 1 hour (Paused)``, ``Exited (0) 5 seconds ago``,
    ``Restarting (1) Less than a second ago``, ``Created``."""
    st = c.status
    if st == "running" or st == "paused":
        t = parse_time(c.state.get("StartedAt", ""))
        up = "Up " + human_duration(time.time() - t) if t else "Up"
        if st == "paused":
            return up + " (Paused)"
        if c.config["Config"].get("Healthcheck"):      # "Up 3 seconds (healthy)", as docker
            from .containers.health import current, status_suffix
            up += status_suffix(current(c.dir, c.config))
        return up
    if st in ("restarting", "exited"):
        t = parse_time(c.state.get("FinishedAt", ""))
        word = "Restarting" if st == "restarting" else "Exited"
        return f"{word} ({c.exit_code}) " + (human_duration(time.time() - t) + " ago"
                                             if t else "")
    return st.capitalize()


PS_FILTERS = ("status", "name", "id", "label", "ancestor", "exited")
"""The ``ps --filter`` keys glassbox knows."""


def ps_filters(specs: list[str]) -> dict[str, list[str]]:
    """``--filter k=v`` flags (repeatable) -> ``{k: [v, ...]}``; a malformed one or
    an unknown key is an :class:`~glassbox.errors.InvalidArgument` naming it."""
    from .errors import InvalidArgument
    out: dict[str, list[str]] = {}
    for spec in specs:
        k, sep, v = spec.partition("=")
        if not sep:
            raise InvalidArgument(f"bad format of filter (expected name=value): {spec}")
        if k not in PS_FILTERS:
            raise InvalidArgument(f"invalid filter '{k}'")
        out.setdefault(k, []).append(v)
    return out


def matches(c, filters: dict[str, list[str]]) -> bool:
    """Does container ``c`` pass ``filters``? Values of one key are alternatives
    (any may match); different keys must all match — Docker's rule."""
    for k, values in filters.items():
        if k == "status" and c.status not in values:
            return False
        if k == "name" and not any(v in c.name for v in values):
            return False
        if k == "id" and not any(c.id.startswith(v) for v in values):
            return False
        if k == "exited" and not (c.status == "exited" and str(c.exit_code) in values):
            return False
        if k == "ancestor" and not any(v in (c.config["Config"]["Image"], c.config["Image"])
                                       for v in values):
            return False
        if k == "label":
            labels = c.config["Config"].get("Labels") or {}
            for v in values:
                lk, sep, lv = v.partition("=")
                if lk not in labels or (sep and labels[lk] != lv):
                    return False
    return True


def ps_rows(eng, all_: bool, filters=None) -> list[dict]:
    """``docker ps`` rows as dicts (the ``--format json`` shape; keys starting with
    ``_`` are for the caller: the full id and the untruncated command)."""
    rows = []
    for c in eng.ps(all=True):
        # like docker: without -a only running ones, unless a status/exited
        # filter asks for others
        asks_status = filters and ("status" in filters or "exited" in filters)
        if not (all_ or c.running or c.status == "restarting" or asks_status):
            continue
        if filters and not matches(c, filters):
            continue
        argv = [c.config["Path"]] + c.config["Args"]
        cmd = " ".join(argv)
        rows.append({"ID": c.id[:12], "Image": c.config["Config"]["Image"],
                     "Command": f'"{cmd}"', "CreatedAt": c.config["Created"],
                     "RunningFor": ago(c.config["Created"]), "Status": status_text(c),
                     "State": c.status, "Ports": "", "Names": c.name,
                     "Labels": ",".join(f"{k}={v}" for k, v in
                                        (c.config["Config"].get("Labels") or {}).items()),
                     "_full_id": c.id, "_cmd": cmd})
    return rows


def stats_row(c, stats, prev=None) -> dict:
    """One ``docker stats`` row from two readings of the container's cgroup (CPU %
    is the CPU time used between ``prev`` and ``stats``; 0 without ``prev``)."""
    from .cgroups.stats import cpu_percent
    cpu = cpu_percent(prev, stats) if prev else 0.0
    limit = stats.memory_limit or host_memory()
    mem = stats.memory_usage
    return {"ID": c.id[:12], "Name": c.name, "CPUPerc": f"{cpu:.2f}%",
            "MemUsage": f"{bytes_size(mem)} / {bytes_size(limit)}",
            "MemPerc": f"{100.0 * mem / limit:.2f}%" if limit else "0.00%",
            "PIDs": str(stats.pids_current), "OOMKills": stats.oom_kills,
            "Cgroup": f"v{stats.cgroup_version}"}   # memory is v1 usage_in_bytes or v2 memory.current


# ---- images --------------------------------------------------------------------------


def shown_images(images: list, all_: bool = False) -> list:
    """The images ``docker images`` lists: without ``-a`` (``all_``), not the
    untagged build steps other images were built on
    (:func:`glassbox.images.graph.intermediate_ids`)."""
    if all_:
        return list(images)
    from .images.graph import intermediate_ids
    hidden = intermediate_ids(images)
    return [img for img in images if img.id not in hidden]


def image_rows(eng, all_: bool = False, reference: str | None = None) -> list[dict]:
    """``docker images`` rows as dicts, one per tag (``<none>`` for an untagged
    image); ``reference`` keeps the rows whose name or tag it names or starts."""
    rows = []
    for img in shown_images(eng.image_list(), all_):
        tags = list(img.repo_tags) or ["<none>:<none>"]
        for tag in tags:
            repo, _, t = tag.rpartition(":")
            if reference and not (tag == reference or repo == reference or
                                  tag.startswith(reference)):
                continue
            rows.append({"Repository": repo or "<none>", "Tag": t or "<none>",
                         "ID": img.id.split(":")[1][:12], "Digest": img.manifest_digest,
                         "CreatedSince": ago(img.created), "CreatedAt": img.created,
                         "Size": human_size(img.size), "_full_id": img.id})
    return rows
