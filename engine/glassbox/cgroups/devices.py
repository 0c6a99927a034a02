"""Which device files a container may open: Docker's default device allow-list.

Why a container needs this even without CAP_SYS_ADMIN: container root keeps
``CAP_MKNOD`` (Docker's default set has it), and a device file is just an inode
naming a (type, major, minor) triple. Nothing stops ``mknod /tmp/x b 7 0`` from
creating a node for the *host's* ``/dev/loop0`` — or ``b 8 0`` for its first
disk — inside the container's rootfs, and opening it then reads and writes the
host's block device directly, bypassing every namespace and mount restriction.
The mount namespace hides the host's ``/dev``; it cannot hide the kernel's
devices, which are global.

The **devices cgroup** closes that hole: the kernel checks every ``open()`` (and
``mknod()``) of a device node against the cgroup's list, whoever made the node.
A rule is ``<type> <major>:<minor> <access>``: type ``c`` (char), ``b`` (block)
or ``a`` (all); ``*`` is any number; access is ``r`` read, ``w`` write, ``m``
mknod. On cgroup v1 the list lives in the ``devices`` hierarchy: writing ``a``
to ``devices.deny`` empties it and flips the default to deny, then each line
written to ``devices.allow`` (one rule per write) adds one exception. On v2
there are no files: a ``BPF_PROG_TYPE_CGROUP_DEVICE`` program attached to the
cgroup answers each access (not done here yet).

The list below is what Docker/runc give every non-privileged container: the
harmless character devices that ``/dev`` holds (see :mod:`glassbox.rootfs.dev`),
terminals, ``/dev/net/tun``, and ``m`` for everything — so ``mknod`` still
works (image builds and package installs create nodes) but opening the node
fails with ``EPERM`` ("Operation not permitted"). ``--privileged`` skips it.
"""

from __future__ import annotations

DENY_ALL = "a"
"""Written to v1 ``devices.deny`` first: drop the inherited allow-all, default deny."""

DEFAULT_ALLOW = (
    "c 1:3 rwm",      # /dev/null
    "c 1:5 rwm",      # /dev/zero
    "c 1:7 rwm",      # /dev/full
    "c 1:8 rwm",      # /dev/random
    "c 1:9 rwm",      # /dev/urandom
    "c 5:0 rwm",      # /dev/tty
    "c 5:1 rwm",      # /dev/console
    "c 5:2 rwm",      # /dev/ptmx
    "c 136:* rwm",    # /dev/pts/* (the container's own devpts)
    "c 10:200 rwm",   # /dev/net/tun
    "c *:* m",        # mknod of any char device is allowed ...
    "b *:* m",        # ... and of any block device: opening them is not
)
"""Then each of these, in order, to v1 ``devices.allow`` (Docker's default list)."""
