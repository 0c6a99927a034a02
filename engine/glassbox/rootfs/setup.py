"""Building a container's root filesystem as a straight line of named steps.

Runs in the container's child process, after ``unshare(CLONE_NEWNS)``:
private propagation -> overlay -> volumes -> /proc -> /sys -> /dev ->
/etc files -> masks -> read-only paths -> pivot_root -> read-only root.

What the mounts keep from the container's root (``glassbox.probe`` shows each):
``/sys`` is read-only (no ``uevent_helper`` or other host knob to write);
``/proc/sys`` and ``/proc/sysrq-trigger`` are read-only binds (no
``core_pattern`` — a host program run as root on the next crash — and no sysrq);
``/proc/kcore`` and the other masked paths read as empty; ``/dev`` is a fresh
tmpfs with a handful of safe nodes, and a node the container makes itself with
mknod still cannot be opened (the devices cgroup). ``--privileged`` drops the
read-only binds and masks, as Docker does.

``--read-only`` (``readonly_rootfs``) remounts the new ``/`` read-only as the
last step, after ``pivot_root``. The remount touches that one mount, so what
Docker leaves writable stays writable: ``/dev`` (with ``/dev/shm`` and
``/dev/mqueue``), ``/proc``, volumes, binds and ``--tmpfs`` mounts. The
generated ``/etc/hostname``, ``/etc/hosts`` and ``/etc/resolv.conf`` are bound
read-only then too, as Docker does (moby's ``NetworkMounts``: writable is
``!ReadonlyRootfs``); a ``-v`` onto one of them keeps its own mode.
"""

from __future__ import annotations

import os

from .._sys.constants import (MS_BIND, MS_NODEV, MS_NOEXEC, MS_NOSUID, MS_RDONLY, MS_REC,
                              MS_REMOUNT)
from ..runtime.spec import MASKED_PATHS, READONLY_PATHS, ProcessSpec
from .dev import make_dev, make_device_nodes
from .masks import mask_paths, readonly_paths
from .overlay import mount_overlay
from .pivot import make_private, pivot


def _inside(rootfs: str, path: str) -> str:
    """Resolve ``path`` inside ``rootfs`` without letting a symlink in the image
    point the mount at the host (each component resolved relative to rootfs)."""
    parts = [p for p in path.split("/") if p not in ("", ".")]
    cur = rootfs
    for depth, part in enumerate(parts):
        if part == "..":
            cur = os.path.dirname(cur) if cur != rootfs else rootfs
            continue
        nxt = os.path.join(cur, part)
        hops = 0
        while os.path.islink(nxt) and hops < 40:
            target = os.readlink(nxt)
            nxt = _inside(rootfs, target) if target.startswith("/") else \
                _inside(rootfs, os.path.relpath(os.path.join(cur, target), rootfs))
            hops += 1
        cur = nxt
    return cur


def _locked_flags(source: str) -> int:
    """nosuid/nodev/noexec/noatime of the mount ``source`` is on. In a user
    namespace the kernel *locks* them on a bind of a host mount: a read-only
    remount must repeat them or it is refused (EPERM)."""
    # statvfs's ST_NOSUID/NODEV/NOEXEC/NOATIME/NODIRATIME equal the MS_ flags
    return os.statvfs(source).f_flag & (MS_NOSUID | MS_NODEV | MS_NOEXEC | 1024 | 2048)


def _bind_file(sys_, rootfs: str, source: str, target: str, readonly: bool = False,
               userns: bool = False) -> None:
    dest = _inside(rootfs, target)
    if os.path.isdir(source):
        os.makedirs(dest, exist_ok=True)
    else:
        os.makedirs(os.path.dirname(dest), exist_ok=True)
        if not os.path.exists(dest):
            open(dest, "a").close()
    sys_.mount(source, dest, None, MS_BIND | MS_REC)
    if readonly:
        sys_.mount(source, dest, None, MS_BIND | MS_REC | MS_REMOUNT | MS_RDONLY |
                   (_locked_flags(source) if userns else 0))


def mount_volumes(sys_, spec: ProcessSpec) -> None:
    for m in spec.mounts:
        if m.type == "tmpfs":
            dest = _inside(spec.rootfs, m.target)
            os.makedirs(dest, exist_ok=True)
            sys_.mount("tmpfs", dest, "tmpfs",
                       MS_NOSUID | MS_NODEV | (MS_RDONLY if m.readonly else 0),
                       m.options or "mode=1777")
        else:
            _bind_file(sys_, spec.rootfs, m.source, m.target, m.readonly, bool(spec.userns))


def mount_proc_sys(sys_, rootfs: str, privileged: bool = False) -> None:
    """/proc, and /sys read-only (read-write for ``--privileged``, as Docker)."""
    for name in ("proc", "sys"):
        os.makedirs(os.path.join(rootfs, name), exist_ok=True)
    sys_.mount("proc", os.path.join(rootfs, "proc"), "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC)
    sys_.mount("sysfs", os.path.join(rootfs, "sys"), "sysfs",
               MS_NOSUID | MS_NODEV | MS_NOEXEC | (0 if privileged else MS_RDONLY))


def build_rootfs(sys_, spec: ProcessSpec) -> None:
    """Everything from a bare mount namespace to the container's own ``/``."""
    rootfs = spec.rootfs
    make_private(sys_)
    mount_overlay(sys_, rootfs, spec.lower_dirs, spec.upper_dir, spec.work_dir,
                  userxattr=bool(spec.userns))
    mount_proc_sys(sys_, rootfs, spec.privileged)
    make_dev(sys_, rootfs, spec.userns)
    if spec.devices or spec.privileged:
        make_device_nodes(sys_, rootfs, spec.devices, spec.privileged, spec.userns)
    for target, source in spec.etc_files.items():
        _bind_file(sys_, rootfs, source, target, readonly=spec.readonly_rootfs)
    mount_volumes(sys_, spec)
    if not spec.privileged:      # Docker masks nothing for --privileged
        mask_paths(sys_, rootfs, MASKED_PATHS)
        readonly_paths(sys_, rootfs, READONLY_PATHS)
    pivot(sys_, rootfs)
    if spec.readonly_rootfs:
        sys_.mount(None, "/", None, MS_BIND | MS_REMOUNT | MS_RDONLY | MS_REC)
