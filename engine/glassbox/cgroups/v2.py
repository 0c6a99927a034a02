"""cgroup v2: one unified tree, every controller in the same directory.

``/sys/fs/cgroup/glassbox/<id>/`` holds ``memory.max``, ``cpu.max``,
``pids.max`` and ``cgroup.procs`` side by side. A controller only shows up in a
cgroup when its *parent* lists it in ``cgroup.subtree_control`` — so
:meth:`V2Cgroup.create` walks from the root down, writing ``+memory +cpu +pids``
at each level (only those the level offers in ``cgroup.controllers``), then makes
the leaf. Processes live only in leaves (the "no internal processes" rule): a
cgroup that holds processes cannot enable controllers for its children, so a
delegated subtree keeps its own processes in a leaf of its own (systemd's pattern).

There is no ``devices.allow`` on v2: device rules are an eBPF program attached to
the leaf (:meth:`V2Cgroup.restrict_devices`, :mod:`.bpf_device`).
"""

from __future__ import annotations

import errno
import os
import signal
import time

from ..errors import KernelError, NotFound
from . import _files
from .limits import CPU_PERIOD_US, Limits, cpu_quota_us, shares_to_weight
from .stats import Stats, memory_usage

WANTED = ("cpu", "memory", "pids", "cpuset")
"""Controllers enabled on the way down. v2's cpuset needs no seeding (unlike v1): an
empty ``cpuset.cpus`` means "whatever the parent has" (``cpuset.cpus.effective``)."""


class V2Cgroup:
    """A container's cgroup on the unified (v2) hierarchy mounted at ``root``."""

    version = 2

    def __init__(self, name: str, parent: str = "glassbox", root: str = "/sys/fs/cgroup"):
        self.name = name
        self.parent = parent
        self.root = root.rstrip("/") or "/"
        self.rel = _files.check_relpath(parent, name)
        self.path = os.path.join(self.root, self.rel)
        self.journal: list[tuple[str, str]] = []
        """Every (file, value) this manager wrote, in order — to see what the kernel was told."""
        self.warnings: list[str] = []
        self.not_enabled: dict[str, str] = {}
        """Controller → why :meth:`create` could not enable it on the way down."""
        self._created: list[str] = []
        self._preexisting: set[str] = set()

    def __repr__(self) -> str:
        return f"<V2Cgroup {self.path}>"

    # --- lifecycle ---------------------------------------------------------------

    def _enable_controllers(self, directory: str) -> None:
        """Write ``+c`` for each wanted controller the level offers but has not enabled.

        A write the kernel refuses does not stop the container, as in runc: a level
        glassbox does not own may hold processes (the "no internal processes" rule:
        ``EBUSY``) or belong to someone else (``EACCES``, ``EROFS``). The controller is
        then missing below, which is recorded here and said by the first limit that
        needs it (:meth:`_write`); a container asking for no such limit still runs.
        """
        available = (_files.read_text(os.path.join(directory, "cgroup.controllers")) or "").split()
        enabled = (_files.read_text(os.path.join(directory, "cgroup.subtree_control")) or "").split()
        missing = [c for c in WANTED if c in available and c not in enabled]
        if missing and directory != self.root and \
                _files.read_pids(os.path.join(directory, "cgroup.procs")):
            # Not even a try: the kernel would take the threaded cpu and pids, turning the
            # level into a "thread root" whose plain children can hold no process at all.
            why = (f"{directory} holds processes, so by cgroup v2's 'no internal processes' "
                   "rule it cannot enable controllers for its children (glassbox leaves its "
                   "cgroup.subtree_control alone): move those processes into a leaf cgroup of "
                   f"their own (e.g. {directory}/init, as systemd does)")
            for c in missing:
                self.not_enabled.setdefault(c, why)
            self.warnings.append(why)
            return
        for c in missing:
            try:
                self._write(os.path.join(directory, "cgroup.subtree_control"), f"+{c}")
            except KernelError as e:
                self.not_enabled.setdefault(c, str(e))
                self.warnings.append(f"the {c} controller is not enabled: {e}")

    def create(self) -> "V2Cgroup":
        """mkdir the parent chain and the leaf, enabling controllers top-down. Idempotent."""
        if not os.path.isdir(self.root):
            raise KernelError(errno.ENOENT, "create cgroup", self.root,
                              "no cgroup2 filesystem is mounted there")
        cur = self.root
        parts = self.rel.split("/")
        for i, part in enumerate(parts):
            self._enable_controllers(cur)
            cur = os.path.join(cur, part)
            made = _files.mkdir_chain(os.path.dirname(cur), part)
            self._created += made
            if not made and i < len(parts) - 1 and cur not in self._created:
                self._preexisting.add(cur)
        return self

    def exists(self) -> bool:
        return os.path.isdir(self.path)

    def _require(self) -> None:
        if not self.exists():
            raise NotFound(f"cgroup {self.path} does not exist: create it first "
                           "(or the container was already removed)")

    def destroy(self, remove_parent_if_empty: bool = False, timeout: float = 2.0) -> None:
        """rmdir the leaf (and any child cgroups in it), deepest first.

        With ``remove_parent_if_empty`` also remove the parent chain while it is
        empty — but never a parent this manager saw existing before it created
        anything, and never the hierarchy root.
        """
        if self.exists():
            for d in _files.subdirs_deepest_first(self.path) + [self.path]:
                _files.rmdir_retry(d, timeout)
        if remove_parent_if_empty:
            _files.remove_empty_parents(self.root, self.rel, self._preexisting)

    # --- limits and membership ---------------------------------------------------

    def _write(self, path: str, value) -> None:
        try:
            _files.write(path, value, cgroup_dir=os.path.dirname(path), journal=self.journal)
        except KernelError as e:
            controller = os.path.basename(path).split(".", 1)[0]
            if e.errno == errno.ENOENT and controller in self.not_enabled:
                raise KernelError(e.errno, e.op, e.path,
                                  f"the {controller} controller is not enabled for this cgroup, "
                                  f"because {self.not_enabled[controller]}") from None
            raise

    def _file(self, name: str) -> str:
        return os.path.join(self.path, name)

    def apply(self, limits: Limits) -> None:
        """Write the limits into the live cgroup; ``None`` fields are left untouched."""
        self._require()
        if limits.memory is not None:
            self._write(self._file("memory.max"), limits.memory)
        if limits.memory_swap is not None:
            swap_file = self._file("memory.swap.max")
            if not os.path.exists(swap_file):
                self.warnings.append("memory.swap.max is missing (no swap accounting): "
                                     "memory limited without swap limit")
            elif limits.memory_swap == -1:
                self._write(swap_file, "max")
            else:
                memory = limits.memory
                if memory is None:
                    memory = _files.read_int(self._file("memory.max"))
                if memory is None:
                    from ..errors import InvalidArgument
                    raise InvalidArgument("--memory-swap needs a --memory limit (swap = "
                                          "memory-swap minus memory)")
                self._write(swap_file, max(limits.memory_swap - memory, 0))
        if limits.cpus is not None:
            self._write(self._file("cpu.max"), f"{cpu_quota_us(limits.cpus)} {CPU_PERIOD_US}")
        if limits.cpu_shares is not None:
            self._write(self._file("cpu.weight"), shares_to_weight(limits.cpu_shares))
        if limits.pids is not None:
            self._write(self._file("pids.max"), "max" if limits.pids == -1 else limits.pids)
        if limits.cpuset_cpus is not None:
            self._write(self._file("cpuset.cpus"), limits.cpuset_cpus)
        if limits.cpuset_mems is not None:
            self._write(self._file("cpuset.mems"), limits.cpuset_mems)

    def restrict_devices(self, allow: tuple[str, ...] | None = None, sys_=None) -> None:
        """Default-deny device access, then allow ``allow`` (Docker's list by default).

        v2 has no devices files: the rules become an eBPF program
        (:func:`.bpf_device.assemble`), loaded with ``bpf(BPF_PROG_LOAD)`` and attached
        to this cgroup's directory (``BPF_PROG_ATTACH``, ``BPF_CGROUP_DEVICE``) with
        ``BPF_F_ALLOW_MULTI``, so a program an ancestor holds (systemd's) still runs
        too and both must allow. The cgroup keeps the program alive until it is
        removed, so the fd is closed here. Call it before the first process joins.
        """
        from .bpf_device import (ATTACH_CGROUP_DEVICE, F_ALLOW_MULTI, PROG_TYPE_CGROUP_DEVICE,
                                 assemble)
        from .devices import DEFAULT_ALLOW, DEFAULT_RULES, parse_rule
        self._require()
        if sys_ is None:
            from .._sys import real as sys_
        rules = DEFAULT_RULES if allow in (None, DEFAULT_ALLOW) else \
            tuple(parse_rule(r, "device rule") for r in allow)
        code = assemble(rules)
        dfd = os.open(self.path, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
        try:
            prog = sys_.bpf_prog_load(PROG_TYPE_CGROUP_DEVICE, code, "GPL", name="gbx_devices")
            try:
                sys_.bpf_prog_attach(dfd, prog, ATTACH_CGROUP_DEVICE, F_ALLOW_MULTI, self.path)
            finally:
                os.close(prog)
        finally:
            os.close(dfd)
        self.journal.append((self.path + " [bpf BPF_CGROUP_DEVICE]",
                             f"{len(code) // 8} instructions: " + ", ".join(map(str, rules))))

    def device_programs(self, sys_=None) -> list[int]:
        """The ids of the device programs attached to this cgroup (``BPF_PROG_QUERY``)."""
        from .bpf_device import ATTACH_CGROUP_DEVICE
        self._require()
        if sys_ is None:
            from .._sys import real as sys_
        dfd = os.open(self.path, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
        try:
            return sys_.bpf_prog_query(dfd, ATTACH_CGROUP_DEVICE, self.path) or []
        finally:
            os.close(dfd)

    def add(self, pid: int) -> None:
        """Move process ``pid`` (and its future children) into this cgroup."""
        self._require()
        self._write(self._file("cgroup.procs"), pid)

    def pids(self) -> list[int]:
        """Every process in the cgroup, including in child cgroups."""
        self._require()
        out: list[int] = []
        for d in [self.path] + _files.subdirs_deepest_first(self.path):
            out += _files.read_pids(os.path.join(d, "cgroup.procs"))
        return sorted(set(out))

    # --- observing ---------------------------------------------------------------

    def stats(self) -> Stats:
        self._require()
        cpu = _files.read_keyed(self._file("cpu.stat"))
        mstat = _files.read_keyed(self._file("memory.stat"))
        events = _files.read_keyed(self._file("memory.events"))
        throttled = cpu.get("throttled_usec")
        return Stats(
            cpu_usage_ns=cpu.get("usage_usec", 0) * 1000,
            memory_usage=memory_usage(_files.read_int(self._file("memory.current")) or 0,
                                      mstat.get("inactive_file")),
            memory_limit=_files.read_int(self._file("memory.max")),
            memory_max_usage=_files.read_int(self._file("memory.peak")),
            pids_current=_files.read_int(self._file("pids.current")) or 0,
            pids_limit=_files.read_int(self._file("pids.max")),
            oom_kills=events.get("oom_kill", 0),
            cpu_throttled_ns=throttled * 1000 if throttled is not None else None,
            timestamp=time.time(),
            cgroup_version=2,
        )

    def oom_killed(self) -> bool:
        """True when the kernel's OOM killer killed a process in this cgroup."""
        self._require()
        return _files.read_keyed(self._file("memory.events")).get("oom_kill", 0) > 0

    # --- freezing and killing ----------------------------------------------------

    def _frozen(self) -> bool:
        return _files.read_keyed(self._file("cgroup.events")).get("frozen") == 1

    def freeze(self, timeout: float = 5.0) -> None:
        """Stop every process (``cgroup.freeze`` 1) and wait until ``cgroup.events`` says frozen 1."""
        self._require()
        self._write(self._file("cgroup.freeze"), 1)
        if not _files.wait_for(self._frozen, timeout):
            raise KernelError(errno.ETIMEDOUT, "freeze", self.path,
                              "cgroup.events never reported 'frozen 1'")

    def thaw(self, timeout: float = 5.0) -> None:
        self._require()
        self._write(self._file("cgroup.freeze"), 0)
        if not _files.wait_for(lambda: not self._frozen(), timeout):
            raise KernelError(errno.ETIMEDOUT, "thaw", self.path,
                              "cgroup.events never reported 'frozen 0'")

    def kill_all(self, sig: int = signal.SIGKILL) -> None:
        """Send ``sig`` to every process; SIGKILL uses ``cgroup.kill`` (5.14+) when present."""
        self._require()
        if sig == signal.SIGKILL and os.path.exists(self._file("cgroup.kill")):
            self._write(self._file("cgroup.kill"), 1)
            return
        _files.signal_pids(self.pids(), sig)

    def paths(self) -> dict[str, str]:
        """Controller → directory. On v2 they are all the same directory."""
        out = {"unified": self.path}
        out.update({c: self.path for c in WANTED})
        return out

