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
cgroup first (by writing its pid to ``cgroup.procs``), then the namespaces in
:data:`JOIN_ORDER`, then a fork, because joining a PID namespace also applies to the
next child only. The mount namespace is joined last: ``setns`` into it also moves the
caller's root and working directory into the container. A user namespace is joined
first by a rootless ``exec`` (the others belong to it: only inside it may the caller
join them) and last by a rootful one under ``--userns=private`` (host root joins the
others while it still is host root, then becomes the container's root).

This module holds the concept — the kinds and their order as data — and the three
operations, each a few system calls on the ``_sys`` door it is handed (so the unit
tests record them with the fake): :func:`new_pid_namespace_for_child` (the shim),
:func:`create` (the container's init), :func:`join` (``exec``); and the reading side,
:func:`read_table`, which the notebooks and the lab panel show.

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

JOIN_ORDER: tuple[str, ...] = ("ipc", "uts", "net", "pid", "cgroup", "mnt")
"""The order ``exec`` joins a container's namespaces in: ``mnt`` last (it moves the
caller's root), ``pid`` for the next child only."""


def _flag(kind: str) -> int:
    from .._sys import constants as c
    return {"mnt": c.CLONE_NEWNS, "uts": c.CLONE_NEWUTS, "ipc": c.CLONE_NEWIPC,
            "net": c.CLONE_NEWNET, "cgroup": c.CLONE_NEWCGROUP, "pid": c.CLONE_NEWPID}[kind]


def new_pid_namespace_for_child(sys_) -> None:
    """The shim's step before it forks init: ``unshare(CLONE_NEWPID)`` applies to the
    caller's *next child*, which becomes pid 1 of the new namespace."""
    sys_.unshare(_flag("pid"))


def create(sys_, kinds, netns_path: str = "") -> None:
    """The container's init, before it builds its root filesystem: its own ``kinds``
    (all but ``pid``, made for it by the shim) in one ``unshare``. With ``netns_path``
    (``--network container:X``) the network namespace is joined instead of made, first,
    so the unshare leaves it alone."""
    flags = 0
    for kind in kinds:     # pid: the shim's; user: made or joined before (rootless)
        if kind in ("pid", "user") or (kind == "net" and netns_path):
            continue
        flags |= _flag(kind)
    if netns_path:
        fd = os.open(netns_path, os.O_RDONLY)
        try:
            sys_.setns(fd, _flag("net"), netns_path)
        finally:
            os.close(fd)
    sys_.unshare(flags)


def join_order(kinds, user: str = "") -> tuple[str, ...]:
    """The namespaces ``exec`` (and a healthcheck's probe) joins, in order:
    :data:`JOIN_ORDER` limited to the container's own ``kinds`` (a ``--network host``
    container has no ``net`` of its own: it shares the host's), with ``user``
    ``"first"`` (rootless) or ``"last"`` (``--userns=private``)."""
    order = tuple(k for k in JOIN_ORDER if k in kinds)
    if user == "first":
        return ("user",) + order
    if user == "last":
        return order + ("user",)
    return order


def join(sys_, pid: int, fds) -> None:
    """``exec``'s step in its first child, after joining the cgroup: ``setns`` into
    each of ``fds`` (``(kind, fd)`` pairs opened on ``/proc/<pid>/ns/<kind>`` in
    :func:`join_order`) in that order."""
    for kind, fd in fds:
        sys_.setns(fd, 0, f"/proc/{pid}/ns/{kind}")


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
