"""cgroup v1: one tree (hierarchy) per controller, a directory in each.

On v1 the container's cgroup is really several directories with the same
relative path — ``/sys/fs/cgroup/memory/glassbox/<id>``,
``/sys/fs/cgroup/cpu/glassbox/<id>``, ``/sys/fs/cgroup/pids/glassbox/<id>``, … —
and a process must be written into ``cgroup.procs`` of *each* of them.
Controllers mounted together (``cpu,cpuacct``) share one directory.

v1 quirks handled here: ``memory.limit_in_bytes`` must always stay at or below
``memory.memsw.limit_in_bytes`` (memory + swap), so the order of the two writes
depends on whether the limits go up or down; freezing is asynchronous
(``FREEZING`` → ``FROZEN``); "unlimited" reads back as a huge number.

The ``cpuset`` hierarchy has one more: a new cpuset cgroup starts with *empty*
``cpuset.cpus`` and ``cpuset.mems`` (unless its parent sets ``cgroup.clone_children``),
and the kernel refuses to put a task into a cgroup with no CPU or no memory node to
run on (``ENOSPC``). So :meth:`V1Cgroup.create` copies both files from each parent,
top-down, into every level of ``glassbox/<id>`` that has them empty (Docker and runc
do the same); ``--cpuset-cpus`` then narrows the leaf.
"""

from __future__ import annotations

import errno
import os
import signal
import time

from ..errors import KernelError, NotFound
from . import _files
from .limits import CPU_PERIOD_US, Limits, cpu_quota_us
from .stats import Stats, memory_usage

CONTROLLERS = ("memory", "cpu", "cpuacct", "pids", "freezer", "devices")
"""The v1 hierarchies a container must join (a rootless user's delegated subtree has these)."""

OPTIONAL = ("cpuset",)
"""Hierarchies a container joins when it can: a cpuset cgroup needs its cpus/mems
seeded from the parent, which a rootless user's subtree (not delegated there) cannot.
When it fails the container runs without one, and only ``--cpuset-*`` is refused."""


class V1Cgroup:
    """A container's cgroup across the v1 hierarchies in ``mounts`` (controller → mount point)."""

    version = 1

    def __init__(self, name: str, parent: str, mounts: dict[str, str],
                 controllers: tuple[str, ...] = CONTROLLERS + OPTIONAL):
        self.name = name
        self.parent = parent
        self.rel = _files.check_relpath(parent, name)
        self.mounts = {c: mounts[c] for c in controllers if c in mounts}
        self.dirs = {c: os.path.join(mp, self.rel) for c, mp in self.mounts.items()}
        # co-mounted controllers (cpu,cpuacct) share one directory: visit each once
        self.hierarchies = list(dict.fromkeys(self.mounts.values()))
        self.journal: list[tuple[str, str]] = []
        """Every (file, value) this manager wrote, in order — to see what the kernel was told."""
        self.warnings: list[str] = []
        self.not_joined: dict[str, str] = {}
        """Optional controller → why :meth:`create` could not make its cgroup."""
        self._created: list[str] = []
        self._preexisting: set[str] = set()

    def __repr__(self) -> str:
        return f"<V1Cgroup {self.rel} in {len(self.hierarchies)} hierarchies>"

    # --- lifecycle ---------------------------------------------------------------

    def create(self) -> "V1Cgroup":
        """mkdir ``<parent>/<name>`` in every hierarchy. Idempotent."""
        if not self.hierarchies:
            raise KernelError(errno.ENOENT, "create cgroup", self.rel,
                              "no cgroup v1 controller is mounted (memory, cpu, pids, ...)")
        parent_parts = self.rel.split("/")[:-1]
        for mp in self.hierarchies:
            existing = {os.path.join(mp, *parent_parts[:i + 1]) for i in range(len(parent_parts))
                        if os.path.isdir(os.path.join(mp, *parent_parts[:i + 1]))}
            if self._optional(mp):
                made = self._create_optional(mp)
            else:
                made = _files.mkdir_chain(mp, self.rel)
            self._created += made
            self._preexisting |= existing - set(made) - set(self._created)
        return self

    def _optional(self, mp: str) -> str | None:
        """The optional controller mounted (alone) at ``mp``, else None."""
        for c in OPTIONAL:
            if self.mounts.get(c) == mp and list(self.mounts.values()).count(mp) == 1:
                return c
        return None

    def _create_optional(self, mp: str) -> list[str]:
        """mkdir and seed the cpuset chain; on failure undo what was made and note why."""
        made: list[str] = []
        try:
            made = _files.mkdir_chain(mp, self.rel)
            self._seed_cpuset(mp)
            return made
        except KernelError as e:
            for d in reversed(made):
                _files.rmdir_retry(d, 0.1)
            why = f"the cpuset cgroup could not be set up: {e}"
            self.not_joined["cpuset"] = why
            self.warnings.append(why)
            return []

    def _seed_cpuset(self, mp: str) -> None:
        """Copy ``cpuset.cpus``/``cpuset.mems`` from each parent into every empty level."""
        parent = mp
        for part in self.rel.split("/"):
            here = os.path.join(parent, part)
            for name in ("cpuset.cpus", "cpuset.mems"):
                if not (_files.read_text(os.path.join(here, name)) or "").strip():
                    value = (_files.read_text(os.path.join(parent, name)) or "").strip()
                    if not value:
                        raise KernelError(errno.ENOSPC, f"seed {name}", parent,
                                          "the parent cpuset cgroup has none to copy")
                    self._write(os.path.join(here, name), value)
            parent = here

    def exists(self) -> bool:
        return any(os.path.isdir(os.path.join(mp, self.rel)) for mp in self.hierarchies)

    def _require(self) -> None:
        if not self.exists():
            raise NotFound(f"cgroup {self.rel} does not exist in any v1 hierarchy: create it "
                           "first (or the container was already removed)")

    def destroy(self, remove_parent_if_empty: bool = False, timeout: float = 2.0) -> None:
        """rmdir the leaf in every hierarchy (child cgroups first).

        With ``remove_parent_if_empty`` also remove the parent chain while it is
        empty — never a parent this manager saw existing before it created
        anything, and never a hierarchy's root.
        """
        for mp in self.hierarchies:
            leaf = os.path.join(mp, self.rel)
            if os.path.isdir(leaf):
                for d in _files.subdirs_deepest_first(leaf) + [leaf]:
                    _files.rmdir_retry(d, timeout)
            if remove_parent_if_empty:
                _files.remove_empty_parents(mp, self.rel, self._preexisting)

    # --- limits and membership ---------------------------------------------------

    def _dir(self, controller: str) -> str:
        d = self.dirs.get(controller)
        if d is None:
            raise KernelError(errno.ENOENT, f"use {controller} controller", self.rel,
                              f"the {controller} cgroup v1 controller is not mounted: "
                              f"mount it (mount -t cgroup -o {controller} cgroup "
                              f"/sys/fs/cgroup/{controller}) or drop that limit")
        return d

    def _file(self, controller: str, name: str) -> str:
        return os.path.join(self._dir(controller), name)

    def _write(self, path: str, value) -> None:
        _files.write(path, value, cgroup_dir=os.path.dirname(path), journal=self.journal)

    def apply(self, limits: Limits) -> None:
        """Write the limits into the live cgroup; ``None`` fields are left untouched."""
        self._require()
        if limits.memory is not None or limits.memory_swap is not None:
            self._apply_memory(limits.memory, limits.memory_swap)
        if limits.cpus is not None:
            # period first: the quota is checked against it
            self._write(self._file("cpu", "cpu.cfs_period_us"), CPU_PERIOD_US)
            self._write(self._file("cpu", "cpu.cfs_quota_us"), cpu_quota_us(limits.cpus))
        if limits.cpu_shares is not None:
            self._write(self._file("cpu", "cpu.shares"), limits.cpu_shares or 1024)
        if limits.pids is not None:
            self._write(self._file("pids", "pids.max"), "max" if limits.pids == -1 else limits.pids)
        if limits.cpuset_cpus is not None or limits.cpuset_mems is not None:
            d = self._dir("cpuset")
            if not os.path.isdir(d):
                raise KernelError(errno.ENOENT, "use cpuset controller", d, self.not_joined.get(
                    "cpuset", "this container has no cpuset cgroup (it was started before "
                    "glassbox joined cpuset): restart it"))
            if limits.cpuset_cpus is not None:
                self._write(os.path.join(d, "cpuset.cpus"), limits.cpuset_cpus)
            if limits.cpuset_mems is not None:
                self._write(os.path.join(d, "cpuset.mems"), limits.cpuset_mems)

    def _apply_memory(self, memory: int | None, memsw: int | None) -> None:
        mem_file = self._file("memory", "memory.limit_in_bytes")
        sw_file = self._file("memory", "memory.memsw.limit_in_bytes")
        if memsw is not None and not os.path.exists(sw_file):
            self.warnings.append("memory.memsw.limit_in_bytes is missing (boot with "
                                 "swapaccount=1): memory limited without swap limit")
            memsw = None
        if memory is not None and memsw is not None:
            # The kernel keeps memory <= memsw at every instant. Raising: memsw first.
            # Lowering: memory first. (runc's setMemoryAndSwap does the same.)
            current = _files.read_int(mem_file)
            if memsw == -1 or (current is not None and current < memsw):
                self._write(sw_file, memsw)
                self._write(mem_file, memory)
            else:
                self._write(mem_file, memory)
                self._write(sw_file, memsw)
        elif memory is not None:
            self._write(mem_file, memory)
        elif memsw is not None:
            self._write(sw_file, memsw)

    def restrict_devices(self, allow: tuple[str, ...] | None = None) -> None:
        """Default-deny device access, then allow ``allow`` (Docker's list by default).

        Must run before the first process joins: the kernel checks the rules at
        ``open()`` time, so a device opened before they were written stays open.
        See :mod:`.devices` for why (the ``mknod`` escape). One rule per write,
        as the kernel parses them; ``a`` to ``devices.deny`` fails with EINVAL
        once the cgroup has child cgroups, so this is for a fresh leaf.
        """
        from .devices import DEFAULT_ALLOW, DENY_ALL
        self._write(self._file("devices", "devices.deny"), DENY_ALL)
        allow_file = self._file("devices", "devices.allow")
        for rule in DEFAULT_ALLOW if allow is None else allow:
            self._write(allow_file, rule)

    def add(self, pid: int) -> None:
        """Move process ``pid`` into this cgroup in every hierarchy.

        A container started before glassbox wrote device rules has no devices
        cgroup; an ``exec`` into it skips that one hierarchy rather than fail. The
        same goes for an optional one (cpuset) that :meth:`create` could not make."""
        self._require()
        skippable = {self.mounts.get("devices")} | {mp for mp in self.hierarchies
                                                    if self._optional(mp)}
        for mp in self.hierarchies:
            leaf = os.path.join(mp, self.rel)
            if mp in skippable and not os.path.isdir(leaf):
                continue
            self._write(os.path.join(leaf, "cgroup.procs"), pid)

    def _primary(self) -> str:
        for c in ("freezer", "pids", "memory", "cpu", "cpuacct"):
            if c in self.dirs and os.path.isdir(self.dirs[c]):
                return self.dirs[c]
        self._require()
        return os.path.join(self.hierarchies[0], self.rel)

    def pids(self) -> list[int]:
        """Every process in the cgroup (including child cgroups)."""
        self._require()
        top = self._primary()
        out: list[int] = []
        for d in [top] + _files.subdirs_deepest_first(top):
            out += _files.read_pids(os.path.join(d, "cgroup.procs"))
        return sorted(set(out))

    # --- observing ---------------------------------------------------------------

    def _opt(self, controller: str, name: str) -> str:
        """Path of a control file, or a path that does not exist when the controller is absent."""
        d = self.dirs.get(controller)
        return os.path.join(d, name) if d else os.path.join("/nonexistent-cgroup", name)

    def stats(self) -> Stats:
        self._require()
        mstat = _files.read_keyed(self._opt("memory", "memory.stat"))
        inactive = mstat.get("total_inactive_file", mstat.get("inactive_file"))
        throttled = _files.read_keyed(self._opt("cpu", "cpu.stat")).get("throttled_time")
        return Stats(
            cpu_usage_ns=_files.read_int(self._opt("cpuacct", "cpuacct.usage")) or 0,
            memory_usage=memory_usage(
                _files.read_int(self._opt("memory", "memory.usage_in_bytes")) or 0, inactive),
            memory_limit=_files.read_limit_v1(self._opt("memory", "memory.limit_in_bytes")),
            memory_max_usage=_files.read_int(self._opt("memory", "memory.max_usage_in_bytes")),
            pids_current=_files.read_int(self._opt("pids", "pids.current")) or 0,
            pids_limit=_files.read_int(self._opt("pids", "pids.max")),
            oom_kills=self._oom_kills(),
            cpu_throttled_ns=throttled,
            timestamp=time.time(),
            cgroup_version=1,
        )

    def _oom_kills(self) -> int:
        return _files.read_keyed(self._opt("memory", "memory.oom_control")).get("oom_kill", 0)

    def oom_killed(self) -> bool:
        """True when the OOM killer killed a process here (``oom_kill N`` in memory.oom_control)."""
        self._require()
        return self._oom_kills() > 0

    # --- freezing and killing ----------------------------------------------------

    def _state(self) -> str:
        return (_files.read_text(self._file("freezer", "freezer.state")) or "").strip()

    def freeze(self, timeout: float = 5.0) -> None:
        """Write FROZEN and wait until freezer.state stops saying FREEZING."""
        self._require()
        state_file = self._file("freezer", "freezer.state")
        self._write(state_file, "FROZEN")

        def frozen() -> bool:
            if self._state() == "FROZEN":
                return True
            # a task that forked mid-freeze can leave it FREEZING: ask again (as runc does)
            _files.write(state_file, "FROZEN")
            return False

        if not _files.wait_for(frozen, timeout):
            _files.write(state_file, "THAWED", journal=self.journal)
            raise KernelError(errno.EBUSY, "freeze", state_file,
                              "the cgroup stayed FREEZING (a process in uninterruptible sleep?)")

    def thaw(self, timeout: float = 5.0) -> None:
        self._require()
        self._write(self._file("freezer", "freezer.state"), "THAWED")
        if not _files.wait_for(lambda: self._state() == "THAWED", timeout):
            raise KernelError(errno.ETIMEDOUT, "thaw", self._file("freezer", "freezer.state"))

    def kill_all(self, sig: int = signal.SIGKILL) -> None:
        """Signal every process. For SIGKILL, freeze first so nothing can fork away."""
        self._require()
        if sig == signal.SIGKILL and "freezer" in self.dirs:
            try:
                self.freeze()
            except (KernelError, NotFound):
                _files.signal_pids(self.pids(), sig)
                return
            try:
                _files.signal_pids(self.pids(), sig)
            finally:
                self.thaw()
            return
        _files.signal_pids(self.pids(), sig)

    def paths(self) -> dict[str, str]:
        """Controller → this cgroup's directory in that controller's hierarchy (an
        optional one only when it was made)."""
        return {c: d for c, d in self.dirs.items() if c not in OPTIONAL or os.path.isdir(d)}


def mounts_from(mounts: list[_files.Mount], root: str) -> dict[str, str]:
    """controller → mount point for every v1 hierarchy mounted under ``root``."""
    generic = {"rw", "ro", "relatime", "noatime", "nosuid", "nodev", "noexec", "clone_children",
               "xattr", "noprefix", "sane_behavior", "cpuset_v2_mode", "favordynmods"}
    out: dict[str, str] = {}
    for m in mounts:
        if m.fstype != "cgroup" or not _files.under(m.mount_point, root):
            continue
        for opt in m.super_options:
            if opt in generic or "=" in opt:
                continue
            out.setdefault(opt, m.mount_point)
    return out
