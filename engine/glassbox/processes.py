"""Is it still the process we recorded? The one liveness check.

A pid names a process only until it exits: then the kernel hands the number out
again. So wherever glassbox remembers a process — a container's init and its shim,
a port proxy, the per-user network holder, a volume's user — it records the pid
*and* the process's start time (field 22 of ``/proc/<pid>/stat``: clock ticks after
boot), and later asks :func:`alive`: is there a process with this pid, started at
that time, that has not exited (a zombie has: it only waits to be reaped)?
"""

from __future__ import annotations


def _stat_fields(pid: int) -> list[bytes] | None:
    """The fields of ``/proc/<pid>/stat`` after the command name (which may hold
    spaces and parentheses: it ends at the *last* ``)``), or None if it is gone."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            data = f.read()
    except OSError:
        return None
    return data.rsplit(b")", 1)[1].split()


def start_time(pid: int) -> int | None:
    """When ``pid`` started (clock ticks after boot), or None if there is no such process."""
    fields = _stat_fields(pid) if pid and pid > 0 else None
    return int(fields[19]) if fields else None


def alive(pid: int, start: int | None = None) -> bool:
    """Is ``pid`` running, and (when ``start`` is given and not 0) the very process
    that started at ``start``? A zombie is not alive."""
    if not pid or pid <= 0:
        return False
    fields = _stat_fields(pid)
    if not fields:
        return False
    if start and int(fields[19]) != start:
        return False
    return fields[0] != b"Z"
