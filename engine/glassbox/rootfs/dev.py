"""A minimal /dev, as Docker gives one: a tmpfs with the six safe device nodes,
a private devpts for terminals, /dev/shm and /dev/mqueue — plus the nodes
``--device`` asks for, or every host node for ``--privileged`` (whose device
cgroup allows them all; otherwise the cgroup still decides what opens)."""

from __future__ import annotations

import os
import stat

from .._sys.constants import MS_BIND, MS_NOEXEC, MS_NODEV, MS_NOSUID, MS_STRICTATIME

# name -> (major, minor)
DEVICES = {"null": (1, 3), "zero": (1, 5), "full": (1, 7), "random": (1, 8),
           "urandom": (1, 9), "tty": (5, 0)}
LINKS = {"fd": "/proc/self/fd", "stdin": "/proc/self/fd/0", "stdout": "/proc/self/fd/1",
         "stderr": "/proc/self/fd/2", "ptmx": "pts/ptmx", "core": "/proc/kcore"}


def make_dev(sys_, rootfs: str, userns: str = "") -> None:
    """``userns`` (rootless: "single"/"subids"): a user namespace may not mknod,
    so the six nodes are the host's, bind-mounted onto empty files (as runc
    does rootless); with a single-id map gid 5 (tty) does not exist for devpts."""
    dev = os.path.join(rootfs, "dev")
    os.makedirs(dev, exist_ok=True)
    sys_.mount("tmpfs", dev, "tmpfs", MS_NOSUID | MS_STRICTATIME, "mode=755,size=65536k")
    for name, (major, minor) in DEVICES.items():
        path = os.path.join(dev, name)
        if userns:
            os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_CLOEXEC, 0o666))
            sys_.mount(f"/dev/{name}", path, None, MS_BIND)
        else:
            sys_.mknod(path, stat.S_IFCHR | 0o666, os.makedev(major, minor))
    for sub in ("pts", "shm", "mqueue"):
        os.mkdir(os.path.join(dev, sub), 0o755)
    sys_.mount("devpts", os.path.join(dev, "pts"), "devpts", MS_NOSUID | MS_NOEXEC,
               "newinstance,ptmxmode=0666,mode=0620" + ("" if userns == "single" else ",gid=5"))
    sys_.mount("shm", os.path.join(dev, "shm"), "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC,
               "mode=1777,size=65536k")
    sys_.mount("mqueue", os.path.join(dev, "mqueue"), "mqueue", MS_NOSUID | MS_NODEV | MS_NOEXEC)
    for name, target in LINKS.items():
        os.symlink(target, os.path.join(dev, name))


def make_device_nodes(sys_, rootfs: str, nodes, privileged: bool = False,
                      userns: str = "") -> None:
    """mknod each ``--device`` node (a :class:`~glassbox.cgroups.devices.DeviceNode`
    or its dict) at its container path, with the host node's mode and owner; with
    ``privileged`` first every node of the host's /dev (read here, before
    ``pivot_root``, while the host's /dev is still in view), as Docker does.
    A host node whose path is already there (the six safe nodes, a symlink) is
    skipped; a ``--device`` node replaces what is there. In a user namespace
    (rootless) mknod is refused, so the host node is bind-mounted instead, as
    :func:`make_dev` does."""
    from ..cgroups.devices import DeviceNode, host_devices
    from .setup import _inside
    plan = [(n, False) for n in host_devices("/dev")] if privileged else []
    plan += [(n if isinstance(n, DeviceNode) else DeviceNode(**n), True) for n in nodes]
    for node, replace in plan:
        path = _inside(rootfs, node.path)
        if os.path.lexists(path):
            if not replace:
                continue
            os.unlink(path)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        if userns:
            os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_CLOEXEC, 0o600))
            sys_.mount(node.source or node.path, path, None, MS_BIND)
            continue
        kind = stat.S_IFCHR if node.type == "c" else stat.S_IFBLK
        sys_.mknod(path, kind | node.mode, os.makedev(node.major, node.minor))
        sys_.chown(path, node.uid, node.gid)
