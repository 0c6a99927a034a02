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
cgroup answers each access; :mod:`.bpf_device` assembles it from the same rules.

The list below is what Docker/runc give every non-privileged container: the
harmless character devices that ``/dev`` holds (see :mod:`glassbox.rootfs.dev`),
terminals, ``/dev/net/tun``, and ``m`` for everything — so ``mknod`` still
works (image builds and package installs create nodes) but opening the node
fails with ``EPERM`` ("Operation not permitted"). ``--privileged`` skips it.

Two ``run`` flags add to the list: ``--device HOST[:CONTAINER][:PERMS]`` makes a
node for a host device in the container's ``/dev`` and allows it (``PERMS`` ⊆
``rwm``, default ``rwm``), and ``--device-cgroup-rule 'c 1:3 rwm'`` allows a rule
without making a node. Both are parsed here into pure values
(:func:`parse_device`, :func:`parse_rule`); :func:`container_rules` gives the
whole list a container's cgroup gets.
"""

from __future__ import annotations

import os
import re
import stat
from dataclasses import dataclass

from ..errors import InvalidArgument

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


_RULE = re.compile(r"^([acb]) (\d+|\*):(\d+|\*) ([rwm]{1,3})$")


@dataclass(frozen=True)
class Rule:
    """One device rule: ``type`` ``a``/``b``/``c``; ``major``/``minor`` None for ``*``;
    ``access`` a subset of ``rwm``."""

    type: str
    major: int | None
    minor: int | None
    access: str

    def __str__(self) -> str:
        num = lambda n: "*" if n is None else str(n)  # noqa: E731
        return f"{self.type} {num(self.major)}:{num(self.minor)} {self.access}"


def valid_access(access: str) -> bool:
    """Docker's rule for a permission string: non-empty, only ``r``/``w``/``m``, none twice."""
    return bool(access) and set(access) <= set("rwm") and len(set(access)) == len(access)


def parse_rule(text: str, field: str = "--device-cgroup-rule") -> Rule:
    """``'c 1:3 rwm'`` → :class:`Rule` (the v1 kernel syntax, as Docker validates it)."""
    m = _RULE.match(text.strip())
    if not m or not valid_access(m.group(4)):
        raise InvalidArgument(f"{field} {text!r}: invalid device cgroup rule, expected "
                              "'TYPE MAJOR:MINOR ACCESS' with TYPE a, b or c, numbers or *, "
                              "ACCESS from rwm (e.g. 'c 1:3 rwm')")
    t, major, minor, access = m.groups()
    return Rule(t, None if major == "*" else int(major), None if minor == "*" else int(minor),
                access)


DEFAULT_RULES = tuple(parse_rule(r) for r in DEFAULT_ALLOW)


@dataclass(frozen=True)
class DeviceMapping:
    """``--device HOST[:CONTAINER][:PERMS]``, as Docker's HostConfig.Devices entry."""

    path_on_host: str
    path_in_container: str
    permissions: str = "rwm"

    def docker(self) -> dict:
        return {"PathOnHost": self.path_on_host, "PathInContainer": self.path_in_container,
                "CgroupPermissions": self.permissions}


def parse_device(text: str, field: str = "--device") -> DeviceMapping:
    """Docker's split: ``HOST``, ``HOST:PERMS`` (when it is a valid mode),
    ``HOST:CONTAINER`` or ``HOST:CONTAINER:PERMS``; CONTAINER defaults to HOST."""
    parts = text.split(":")
    if not 1 <= len(parts) <= 3 or not parts[0]:
        raise InvalidArgument(f"{field} {text!r}: invalid device specification, expected "
                              "HOST[:CONTAINER][:PERMS]")
    host, dst, perms = parts[0], "", "rwm"
    if len(parts) == 3:
        dst, perms = parts[1], parts[2]
        if not valid_access(perms):
            raise InvalidArgument(f"{field} {text!r}: bad permissions {perms!r}: use a "
                                  "combination of r, w and m (e.g. rw)")
    elif len(parts) == 2:
        if valid_access(parts[1]):
            perms = parts[1]
        else:
            dst = parts[1]
    dst = dst or host
    for what, path in (("host", host), ("container", dst)):
        if not path.startswith("/"):
            raise InvalidArgument(f"{field} {text!r}: the {what} path {path!r} must be absolute")
    if os.path.normpath(dst) in ("/", "/dev"):
        raise InvalidArgument(f"{field} {text!r}: cannot put a device node at {dst!r}")
    return DeviceMapping(host, dst, perms)


@dataclass(frozen=True)
class DeviceNode:
    """A node to make in the container: where, which device, its mode bits and owner,
    and the access its cgroup rule allows."""

    path: str
    type: str          # "c" or "b"
    major: int
    minor: int
    mode: int = 0o666  # permission bits
    uid: int = 0
    gid: int = 0
    access: str = "rwm"
    source: str = ""   # the host node (``--device``); empty: the same path as on the host

    def rule(self) -> Rule:
        return Rule(self.type, self.major, self.minor, self.access)


def _node(path: str, st: os.stat_result) -> DeviceNode | None:
    if stat.S_ISCHR(st.st_mode):
        kind = "c"
    elif stat.S_ISBLK(st.st_mode):
        kind = "b"
    else:
        return None
    return DeviceNode(path, kind, os.major(st.st_rdev), os.minor(st.st_rdev),
                      stat.S_IMODE(st.st_mode), st.st_uid, st.st_gid)


def resolve_device(mapping: DeviceMapping, field: str = "--device") -> DeviceNode:
    """Look the host node up (following symlinks, as Docker): its type and numbers."""
    try:
        st = os.stat(mapping.path_on_host)
    except OSError as e:
        raise InvalidArgument(f"{field} {mapping.path_on_host}: {e.strerror.lower()} (give the "
                              "path of a device node on this host, e.g. /dev/fuse)") from None
    node = _node(mapping.path_in_container, st)
    if node is None:
        raise InvalidArgument(f"{field} {mapping.path_on_host}: not a character or block device "
                              "node")
    return DeviceNode(node.path, node.type, node.major, node.minor, node.mode, node.uid,
                      node.gid, mapping.permissions, mapping.path_on_host)


HOST_DEV_SKIP = ("pts", "shm", "mqueue", ".lxc", ".udev")
"""Under the host's /dev, not walked for ``--privileged`` (the container has its own)."""


def host_devices(dev: str = "/dev") -> list[DeviceNode]:
    """Every char and block node under the host's ``dev`` (not following symlinks) —
    what ``--privileged`` shows in the container's /dev, as Docker does."""
    out = []
    for top, dirs, files in os.walk(dev):
        if top == dev:
            dirs[:] = [d for d in dirs if d not in HOST_DEV_SKIP]
        for name in sorted(files):
            full = os.path.join(top, name)
            try:
                node = _node(full, os.lstat(full))
            except OSError:
                continue
            if node is not None:
                out.append(node)
    return out


def container_rules(nodes=(), extra=()) -> tuple[str, ...]:
    """Docker's list, then one rule per ``--device`` node (:class:`DeviceNode`, or its
    dict form as stored in the container's spec), then the ``--device-cgroup-rule``
    values: the allow list one container's cgroup gets."""
    own = tuple(str((n if isinstance(n, DeviceNode) else DeviceNode(**n)).rule()) for n in nodes)
    return DEFAULT_ALLOW + own + tuple(str(parse_rule(r)) for r in extra)
