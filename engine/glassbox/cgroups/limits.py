"""Resource limits as a pure value: what ``docker run --memory/--cpus/...`` asks for.

A :class:`Limits` says *what* a container may use; the v1 and v2 managers turn
it into the kernel's files (``memory.limit_in_bytes`` or ``memory.max``, ...).
Every field is optional: ``None`` means "leave the kernel's current value
alone", which is what ``docker update`` needs (see :meth:`Limits.merge`).

Units are Docker's: ``memory`` and ``memory_swap`` in bytes, where
``memory_swap`` is memory *plus* swap (``-1`` = unlimited swap); ``cpus`` in
cores (``1.5`` = one and a half cores of CPU time per wall second);
``cpu_shares`` the relative weight (default 1024); ``pids`` the maximum number
of processes (``-1`` = unlimited); ``cpuset_cpus``/``cpuset_mems`` the CPUs and
memory nodes the container may run on, in the kernel's list syntax (``"0-2,4"``,
Docker's ``--cpuset-cpus``/``--cpuset-mems``): not a share of time but a set of places.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, fields, replace

from ..errors import InvalidArgument

MIN_MEMORY = 6 * 1024 * 1024
"""Docker's floor for ``--memory``: below it a container cannot even start."""

_UNITS = {"": 1, "b": 1, "k": 1 << 10, "m": 1 << 20, "g": 1 << 30, "t": 1 << 40, "p": 1 << 50}
# go-units RAMInBytes: "64m", "64MB", "64 MiB", "1.5g", "1024".
_BYTES_RE = re.compile(r"^(\d+(?:\.\d+)?) ?([kmgtp]?)(?:i?b)?$|^(\d+) ?b$", re.IGNORECASE)


def parse_bytes(value: str | int, flag: str = "--memory") -> int:
    """Parse a Docker size ("64m", "1g", "512k", "1024", "64MB") into bytes.

    Units are binary (k = 1024) and case-insensitive, as in Docker. ``"-1"``
    is returned as ``-1`` (Docker's "unlimited", used by ``--memory-swap``).
    Anything else raises :class:`InvalidArgument` naming ``flag`` and the value.
    """
    if isinstance(value, bool):
        raise InvalidArgument(f"invalid value {value!r} for {flag}: expected a size like 64m or 1g")
    if isinstance(value, int):
        return value
    text = str(value).strip()
    if text == "-1":
        return -1
    m = _BYTES_RE.match(text)
    if not m:
        raise InvalidArgument(
            f"invalid value {value!r} for {flag}: expected a size like 1024, 512k, 64m or 1g "
            "(units b, k, m, g, t; case-insensitive)")
    if m.group(3) is not None:
        return int(m.group(3))
    number, unit = m.group(1), m.group(2).lower()
    return int(float(number) * _UNITS[unit])


def _fmt_bytes(n: int) -> str:
    for unit, size in (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if n >= size and n % size == 0:
            return f"{n // size}{unit}"
    return f"{n}B"


@dataclass(frozen=True)
class Limits:
    """What a container may use. ``None`` = not set (keep whatever is there)."""

    memory: int | None = None
    memory_swap: int | None = None
    cpus: float | None = None
    cpu_shares: int | None = None
    pids: int | None = None
    cpuset_cpus: str | None = None
    cpuset_mems: str | None = None

    def validate(self, ncpus: int | None = None, online_cpus: str | None = None,
                 online_mems: str | None = None) -> "Limits":
        """Check the values like ``docker run`` does; return self or raise InvalidArgument.

        ``online_cpus``/``online_mems`` (list syntax) are what the machine has; by
        default they are read from ``/sys/devices/system/{cpu,node}/online``."""
        ncpus = ncpus or os.cpu_count() or 1
        if self.cpuset_cpus is not None:
            check_cpuset(self.cpuset_cpus, "--cpuset-cpus",
                         online_cpus or _online("/sys/devices/system/cpu/online",
                                                f"0-{ncpus - 1}"), "CPUs")
        if self.cpuset_mems is not None:
            check_cpuset(self.cpuset_mems, "--cpuset-mems",
                         online_mems or _online("/sys/devices/system/node/online", "0"),
                         "memory nodes")
        if self.memory is not None and self.memory < MIN_MEMORY:
            raise InvalidArgument(
                f"Minimum memory limit allowed is 6MB (got --memory={self.memory} bytes): "
                "use e.g. --memory 64m")
        if self.memory_swap is not None and self.memory_swap != -1:
            if self.memory is None:
                raise InvalidArgument(
                    "You should always set the Memory limit when using Memoryswap limit: "
                    "add --memory (memory-swap is memory plus swap)")
            if self.memory_swap < self.memory:
                raise InvalidArgument(
                    f"Minimum memoryswap limit should be larger than memory limit "
                    f"(--memory-swap={_fmt_bytes(self.memory_swap)} < "
                    f"--memory={_fmt_bytes(self.memory)}): memory-swap is memory plus swap; "
                    "use -1 for unlimited swap")
        if self.cpus is not None and not (0.01 <= self.cpus <= ncpus):
            raise InvalidArgument(
                f"Range of CPUs is from 0.01 to {ncpus}.00, as there are only {ncpus} CPUs "
                f"available (got --cpus={self.cpus})")
        if self.cpu_shares is not None and self.cpu_shares != 0 and self.cpu_shares < 2:
            raise InvalidArgument(
                f"The minimum allowed cpu-shares is 2 (got --cpu-shares={self.cpu_shares}); "
                "use 0 for the default (1024)")
        if self.pids is not None and (self.pids == 0 or self.pids < -1):
            raise InvalidArgument(
                f"invalid --pids-limit={self.pids}: use a positive number of processes, "
                "or -1 for unlimited")
        return self

    def merge(self, other: "Limits") -> "Limits":
        """A new Limits: ours, overridden by every field ``other`` sets (``docker update``)."""
        changes = {f.name: getattr(other, f.name) for f in fields(other)
                   if getattr(other, f.name) is not None}
        return replace(self, **changes)

    def with_docker_defaults(self) -> "Limits":
        """Fill in what Docker implies: ``--memory`` alone means memory-swap = 2 × memory."""
        if self.memory is not None and self.memory_swap is None:
            return replace(self, memory_swap=2 * self.memory)
        return self

    def is_empty(self) -> bool:
        return all(getattr(self, f.name) is None for f in fields(self))


def parse_cpu_list(text: str, flag: str = "--cpuset-cpus") -> frozenset[int]:
    """The kernel's list syntax (``"0-2,4"``: numbers and ranges, comma-separated) as a set.

    This is the format of ``cpuset.cpus``, of ``/sys/devices/system/cpu/online`` and of
    ``Cpus_allowed_list`` in ``/proc/PID/status``. Anything else raises
    :class:`InvalidArgument` naming ``flag`` and the value."""
    out: set[int] = set()
    for item in str(text).strip().split(","):
        lo, dash, hi = item.strip().partition("-")
        if not lo.isdigit() or (dash and not hi.isdigit()) or (dash and int(hi) < int(lo)):
            raise InvalidArgument(
                f"Invalid value {text!r} for {flag}: expected CPU or memory node numbers and "
                "ranges like 0, 0-2 or 0,2-3")
        out.update(range(int(lo), int(hi if dash else lo) + 1))
    return frozenset(out)


def check_cpuset(text: str, flag: str, online: str, what: str = "CPUs") -> frozenset[int]:
    """Parse ``text`` and check every number is in ``online`` (what the machine has)."""
    wanted = parse_cpu_list(text, flag)
    missing = sorted(wanted - parse_cpu_list(online, "the online list"))
    if missing:
        raise InvalidArgument(
            f"Requested {what} are not available - requested {text} ({flag}), available: "
            f"{online} (missing: {','.join(map(str, missing))})")
    return wanted


def _online(path: str, fallback: str) -> str:
    try:
        with open(path) as f:
            return f.read().strip() or fallback
    except OSError:
        return fallback


# --- conversions shared by the v1 and v2 managers (pure, unit-tested) ---

CPU_PERIOD_US = 100_000
"""The CFS period Docker uses: quota is CPU time per 100 ms of wall time."""


def cpu_quota_us(cpus: float, period_us: int = CPU_PERIOD_US) -> int:
    """``--cpus 1.5`` → 150000 µs of CPU time per 100000 µs period (Docker's NanoCPUs math)."""
    nano = int(round(cpus * 1e9))
    return nano * period_us // 1_000_000_000


def shares_to_weight(shares: int) -> int:
    """cgroup v1 ``cpu.shares`` [2, 262144] → v2 ``cpu.weight`` [1, 10000], as runc converts."""
    if shares == 0:
        return 100  # v2's default weight
    return 1 + ((shares - 2) * 9999) // 262142
