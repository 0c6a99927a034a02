"""A minimal /dev, as Docker gives one: a tmpfs with the six safe device nodes,
a private devpts for terminals, /dev/shm and /dev/mqueue."""

from __future__ import annotations

import os
import stat

from .._sys.constants import MS_NOEXEC, MS_NODEV, MS_NOSUID, MS_STRICTATIME

# name -> (major, minor)
DEVICES = {"null": (1, 3), "zero": (1, 5), "full": (1, 7), "random": (1, 8),
           "urandom": (1, 9), "tty": (5, 0)}
LINKS = {"fd": "/proc/self/fd", "stdin": "/proc/self/fd/0", "stdout": "/proc/self/fd/1",
         "stderr": "/proc/self/fd/2", "ptmx": "pts/ptmx", "core": "/proc/kcore"}


def make_dev(sys_, rootfs: str) -> None:
    dev = os.path.join(rootfs, "dev")
    os.makedirs(dev, exist_ok=True)
    sys_.mount("tmpfs", dev, "tmpfs", MS_NOSUID | MS_STRICTATIME, "mode=755,size=65536k")
    for name, (major, minor) in DEVICES.items():
        path = os.path.join(dev, name)
        sys_.mknod(path, stat.S_IFCHR | 0o666, os.makedev(major, minor))
    for sub in ("pts", "shm", "mqueue"):
        os.mkdir(os.path.join(dev, sub), 0o755)
    sys_.mount("devpts", os.path.join(dev, "pts"), "devpts", MS_NOSUID | MS_NOEXEC,
               "newinstance,ptmxmode=0666,mode=0620,gid=5")
    sys_.mount("shm", os.path.join(dev, "shm"), "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC,
               "mode=1777,size=65536k")
    sys_.mount("mqueue", os.path.join(dev, "mqueue"), "mqueue", MS_NOSUID | MS_NODEV | MS_NOEXEC)
    for name, target in LINKS.items():
        os.symlink(target, os.path.join(dev, name))
