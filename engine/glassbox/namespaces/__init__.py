"""Namespaces: what a container's processes can *see* (course seed a.1).

A namespace wraps one kind of global resource so that the processes inside it get
their own copy. A container is nothing more than a process whose namespaces are new
ones, so ``ps`` inside shows only its own processes and ``hostname`` changes only there.
The kernel shows each process's namespaces as files in ``/proc/<pid>/ns/``; two
processes share a namespace exactly when those links name the same inode::

    $ readlink /proc/1/ns/uts /proc/$(glassbox inspect -f '{{.State.Pid}}' c)/ns/uts
    uts:[4026531838]
    uts:[4026532412]        ← a different inode: the container's own hostname

The kinds glassbox makes for every container, in the order they are made
(:data:`KINDS`), and why that order:

1. ``pid`` — the shim unshares it *before* forking, because a new PID namespace
   applies to the caller's next child: that child becomes pid 1.
2. ``mnt``, ``uts``, ``ipc``, ``net``, ``cgroup`` — unshared together in one call by
   the child (the container's init), before it builds the root filesystem, so its
   mounts never appear on the host. The shim has already put the child into the
   container's cgroup and made it wait until then, and that matters for ``cgroup``:
   a cgroup namespace's root is the cgroup the process is in *at unshare time*, so
   inside, ``/proc/self/cgroup`` says ``/``.

``exec`` joins them with ``setns(2)`` on the same files, in the same spirit: the
cgroup first (by writing its pid to ``cgroup.procs``), then the namespaces, then a
fork, because joining a PID namespace also applies to the next child only.

This module holds the concept as data and the reading side (:func:`read_table`,
used by the notebooks and the lab panel). The unshare/setns calls themselves are
still made in :mod:`glassbox.runtime.init`, :mod:`glassbox.runtime.shim` and
:mod:`glassbox.runtime.exec`.

Notebook: ``notebooks/en/01-namespaces.ipynb``
"""

from __future__ import annotations

import os
from dataclasses import dataclass

KINDS: tuple[tuple[str, str], ...] = (
    ("pid", "own process ids: the command is pid 1 and sees only its descendants"),
    ("mnt", "own mount table: the overlay root and /proc never appear on the host"),
    ("uts", "own hostname and domain name"),
    ("ipc", "own System V IPC objects and POSIX message queues"),
    ("net", "own interfaces, addresses, routes and ports (eth0 of a veth pair)"),
    ("cgroup", "own view of the cgroup tree: its cgroup looks like the root"),
)
"""The namespaces of every container, in creation order, each with what it isolates."""

NOT_UNSHARED: tuple[tuple[str, str], ...] = (
    ("user", "shared with the host: the container's root is the host's root (rootful mode)"),
    ("time", "shared with the host: the clocks are the host's"),
)
"""Kinds the kernel has that a rootful glassbox container shares with the host."""


@dataclass(frozen=True, slots=True)
class NamespaceEntry:
    """One line of a process's namespace table: the kind and the inode that names it."""

    kind: str
    inode: int | None     # None when the link could not be read (process gone, no permission)

    @property
    def label(self) -> str:
        return f"{self.kind}:[{self.inode}]" if self.inode is not None else f"{self.kind}:?"


def read_table(pid: int | str = "self", proc: str = "/proc") -> list[NamespaceEntry]:
    """Read ``/proc/<pid>/ns/*`` into entries, container kinds first, then the others.

    ``readlink`` of each file gives ``kind:[inode]``; comparing the inodes of two
    processes tells which namespaces they share.
    """
    base = os.path.join(proc, str(pid), "ns")
    try:
        names = set(os.listdir(base))
    except OSError:
        names = set()
    order = [k for k, _ in KINDS] + [k for k, _ in NOT_UNSHARED]
    kinds = [k for k in order if k in names] + sorted(names - set(order) - {"pid_for_children", "time_for_children"})
    if not names:
        kinds = [k for k, _ in KINDS]
    return [NamespaceEntry(k, _inode(os.path.join(base, k))) for k in kinds]


def _inode(path: str) -> int | None:
    try:
        link = os.readlink(path)
    except OSError:
        return None
    _, _, rest = link.partition(":[")
    return int(rest[:-1]) if rest.endswith("]") and rest[:-1].isdigit() else None


def shared(a: list[NamespaceEntry], b: list[NamespaceEntry]) -> dict[str, bool]:
    """For each kind both tables name: do the two processes share that namespace?"""
    other = {e.kind: e.inode for e in b}
    return {e.kind: e.inode is not None and other.get(e.kind) == e.inode for e in a if e.kind in other}
