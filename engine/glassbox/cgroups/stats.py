"""One reading of a container's cgroup counters — what ``docker stats`` shows.

The kernel keeps the counters; a :class:`Stats` is a snapshot of them at
``timestamp``. CPU is a running total of nanoseconds, so a *percentage* needs two
snapshots: :func:`cpu_percent` divides the CPU time used between them by the wall
time that passed (100% = one core busy the whole time, 200% = two cores).

Memory is shown the way ``docker stats`` computes it: the cgroup's usage minus
its *inactive* page cache (``inactive_file``), because the kernel drops that
cache first under pressure and it would otherwise make every container that
read a big file look close to its limit.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass


@dataclass
class Stats:
    cpu_usage_ns: int
    """Total CPU time used by every process in the cgroup, ever (ns)."""
    memory_usage: int
    """Bytes in use minus inactive page cache (as ``docker stats``)."""
    memory_limit: int | None
    """The memory limit in bytes, None when unlimited."""
    memory_max_usage: int | None
    """Peak usage (v1 ``memory.max_usage_in_bytes``, v2 ``memory.peak``), None if unknown."""
    pids_current: int
    pids_limit: int | None
    """None when unlimited."""
    oom_kills: int
    """How many processes the kernel's OOM killer has killed in this cgroup."""
    cpu_throttled_ns: int | None
    """CPU time the CFS quota held the cgroup back (ns), None if not available."""
    timestamp: float
    """``time.time()`` of the reading."""
    cgroup_version: int = 0
    """Which hierarchy the numbers came from: 1 (one tree per controller,
    ``memory.usage_in_bytes``) or 2 (the unified tree, ``memory.current``); 0 unknown."""

    def as_dict(self) -> dict:
        return asdict(self)


def cpu_percent(prev: Stats, cur: Stats, ncpus: int | None = None) -> float:
    """CPU use between two readings, Docker-style: 100.0 = one core fully busy.

    ``(cpu ns used between the readings) / (wall ns between them) * 100``. With
    ``ncpus`` the result is clamped to ``[0, ncpus * 100]`` (readings are not
    atomic, so a tiny overshoot is noise, not information). A counter that went
    backwards (the cgroup was recreated) or no wall time gives 0.0.
    """
    wall_ns = (cur.timestamp - prev.timestamp) * 1e9
    cpu_ns = cur.cpu_usage_ns - prev.cpu_usage_ns
    if wall_ns <= 0 or cpu_ns <= 0:
        return 0.0
    pct = cpu_ns / wall_ns * 100.0
    if ncpus:
        pct = min(pct, ncpus * 100.0)
    return pct


def memory_usage(usage: int, inactive_file: int | None) -> int:
    """``docker stats`` memory: usage minus inactive file cache (never below zero)."""
    if inactive_file is not None and inactive_file < usage:
        return usage - inactive_file
    return usage
