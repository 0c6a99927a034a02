"""cgroups: how the kernel limits and accounts what a container uses (course seed a.2).

A *namespace* decides what a process can **see**; a *control group* decides how
much it can **use**. A cgroup is a directory in a special filesystem; putting a
PID into its ``cgroup.procs`` file moves the process (and all its future
children) in, and writing numbers into its other files sets limits: ``echo
67108864 > memory.max`` and the kernel's OOM killer fires when the group goes
past 64 MiB. Reading files gives the accounting ``docker stats`` shows.

Two layouts exist, and glassbox speaks both through one :class:`CgroupManager`:

* **v2** (most current distros): one tree at ``/sys/fs/cgroup``; the container
  is ``/sys/fs/cgroup/glassbox/<id>/`` with ``memory.max``, ``cpu.max``,
  ``pids.max`` in it (:mod:`.v2`).
* **v1** (older hosts, and this lab's hybrid machine): one tree per controller,
  ``/sys/fs/cgroup/memory/glassbox/<id>/memory.limit_in_bytes``,
  ``/sys/fs/cgroup/cpu/glassbox/<id>/cpu.cfs_quota_us``, … (:mod:`.v1`).

:func:`open_cgroup` reads the mount table and picks the right one::

    cg = open_cgroup(container_id)          # <parent>/<id> in each hierarchy
    cg.create(); cg.add(pid)
    cg.apply(Limits(memory=parse_bytes("64m"), cpus=0.5, pids=100).validate())
    cg.stats(); cg.freeze(); cg.thaw(); cg.kill_all(); cg.destroy()
    cg.journal                                # every (file, value) written

The course notebook on cgroups (seed a.2) plots ``stats()`` live.
This package imports only the standard library: it runs in each container's monitor.

Notebook: ``notebooks/en/02-cgroups.ipynb``
"""

from __future__ import annotations

import errno
from typing import TYPE_CHECKING

from ..errors import KernelError
from .limits import Limits, parse_bytes  # noqa: F401  (public re-exports)
from .stats import Stats, cpu_percent  # noqa: F401

if TYPE_CHECKING:
    from .manager import CgroupManager

__all__ = ["CgroupManager", "Limits", "Stats", "cpu_percent", "detect_version", "open_cgroup",
           "parse_bytes"]


def __getattr__(name: str):
    # The Protocol needs ``typing`` (~15 ms to import): load it only when asked for,
    # so the per-container monitor that just reads stats never pays for it.
    if name == "CgroupManager":
        from .manager import CgroupManager
        return CgroupManager
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


_HOST_MOUNTS = None


def _mounts(mountinfo: str):
    """Parsed mountinfo; the host's own is read once per process (and inherited
    by forked shims), since cgroup hierarchies are not remounted under us."""
    global _HOST_MOUNTS
    from ._files import read_mountinfo
    if mountinfo != "/proc/self/mountinfo":
        return read_mountinfo(mountinfo)
    if _HOST_MOUNTS is None:
        _HOST_MOUNTS = read_mountinfo(mountinfo)
    return _HOST_MOUNTS


def _is_v2_root(mounts, root: str) -> bool:
    root = root.rstrip("/") or "/"
    at_root = [m for m in mounts if m.mount_point == root]
    return bool(at_root) and at_root[-1].fstype == "cgroup2"  # the last mount there wins


def detect_version(root: str = "/sys/fs/cgroup", mountinfo: str = "/proc/self/mountinfo") -> int:
    """2 when ``root`` itself is a cgroup2 mount; 1 when v1 controllers are mounted under it.

    A hybrid host (v1 controllers plus an empty cgroup2 at ``root/unified``) is v1:
    the controllers are where the limits are.
    """
    from .v1 import mounts_from
    mounts = _mounts(mountinfo)
    if _is_v2_root(mounts, root):
        return 2
    if mounts_from(mounts, root):
        return 1
    raise KernelError(errno.ENOENT, "find cgroup filesystem", root,
                      "no cgroup2 mount at it and no cgroup v1 controllers under it: "
                      "mount one (mount -t cgroup2 none /sys/fs/cgroup)")


def open_cgroup(name: str, *, parent: str | None = "glassbox", root: str = "/sys/fs/cgroup",
                mountinfo: str = "/proc/self/mountinfo") -> CgroupManager:
    """The manager for cgroup ``<parent>/<name>`` on this host's cgroup version.

    Nothing is created until :meth:`CgroupManager.create`. ``parent=None`` is a
    rootless user's container without a delegated cgroup: no cgroup at all
    (:class:`glassbox.rootless.cgroups.NoCgroup`).
    """
    if parent is None:
        from ..rootless.cgroups import NoCgroup
        return NoCgroup(name)  # type: ignore[return-value]
    from .v1 import V1Cgroup, mounts_from
    mounts = _mounts(mountinfo)
    if _is_v2_root(mounts, root):
        from .v2 import V2Cgroup
        return V2Cgroup(name, parent=parent, root=root)
    v1_mounts = mounts_from(mounts, root)
    if not v1_mounts:
        detect_version(root, mountinfo)  # raises the explanatory error
    return V1Cgroup(name, parent=parent, mounts=v1_mounts)
