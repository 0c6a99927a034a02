"""Each student's glassbox storage on a disk of its own: the class's storage ceiling.

A class shares the machine's disk. A student's ``dd if=/dev/zero`` in a
container, or a huge image or build, writes into their glassbox state root
(``~/.local/share/glassbox``: layers, containers' writable layers, volumes).
So the spawner (root) gives that state root a filesystem of its own:

* a sparse file ``<disks>/<student>.ext4`` of the ceiling's size, made once
  (``mkfs.ext4`` with no reserved blocks, its root directory the student's);
  it outlives a server, so the student's images are still there next time;
* attached to a free loop device and mounted ``nosuid,nodev`` at the state
  root. The loop device is detached at once ("lazily"): the kernel frees it
  by itself when the filesystem is unmounted, so nothing can leak it.

When the disk is full only that student gets ``ENOSPC``; glassbox reports it
naming their quota and how to free space (``glassbox.quota``), and
``glassbox doctor`` shows the ceiling. The host's disk holds at most the sum
of the ceilings.

The mount point is under the student's home, a tree the student controls, so
the path is walked one component at a time without following symlinks
(``O_PATH | O_NOFOLLOW``) and the mount goes on the directory that walk
opened (``/proc/self/fd/N``): a student's symlink cannot redirect root's mount.
"""

from __future__ import annotations

import errno
import os
import subprocess

from glassbox._sys import real as sys_
from glassbox._sys.constants import MNT_DETACH, MS_NODEV, MS_NOSUID
from glassbox.errors import KernelError

UMOUNT_NOFOLLOW = 8


def image_path(disks: str, name: str) -> str:
    return os.path.join(disks, f"{name}.ext4")


def make_image(path: str, size: int, uid: int, gid: int) -> None:
    """A sparse ext4 image of ``size`` bytes whose root directory is ``uid:gid``."""
    os.makedirs(os.path.dirname(path), mode=0o700, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    try:
        os.ftruncate(fd, size)
    finally:
        os.close(fd)
    p = subprocess.run(["mkfs.ext4", "-q", "-F", "-m", "0", "-L", "glassbox",
                        "-E", f"root_owner={uid}:{gid}", path], capture_output=True, text=True)
    if p.returncode != 0:
        os.unlink(path)
        raise OSError(errno.EIO, f"mkfs.ext4 {path}: {p.stderr.strip()}")


def grow_image(path: str, size: int) -> None:
    """A raised ceiling: the image grows (``resize2fs`` works mounted); never shrinks."""
    if os.path.getsize(path) < size:
        os.truncate(path, size)


def _open_nofollow(path: str, uid: int, gid: int, home: str) -> int:
    """An ``O_PATH`` fd of ``path``, made (0700, the student's) where missing below
    ``home``; no component below ``home`` may be a symlink."""
    rel = os.path.relpath(path, home)
    if rel.startswith("..") or os.path.isabs(rel):
        raise OSError(errno.EXDEV, f"{path} is not under {home}")
    fd = os.open(home, os.O_PATH | os.O_DIRECTORY)
    try:
        for part in rel.split(os.sep):
            try:
                nxt = os.open(part, os.O_PATH | os.O_DIRECTORY | os.O_NOFOLLOW, dir_fd=fd)
            except FileNotFoundError:
                os.mkdir(part, 0o700, dir_fd=fd)
                os.chown(part, uid, gid, dir_fd=fd, follow_symlinks=False)
                nxt = os.open(part, os.O_PATH | os.O_DIRECTORY | os.O_NOFOLLOW, dir_fd=fd)
            os.close(fd)
            fd = nxt
        return fd
    except BaseException:
        os.close(fd)
        raise


def mounted_at(path: str) -> str | None:
    """The source of the mount at ``path`` in this namespace, if there is one."""
    with open("/proc/self/mountinfo") as f:
        for ln in f:
            fields = ln.split()
            if fields[4] == path:
                return fields[fields.index("-") + 2]
    return None


def mount_disk(image: str, target: str, uid: int, gid: int, home: str) -> bool:
    """Mount ``image`` at ``target`` (the student's state root). False (and nothing
    done) when ``target`` already holds files glassbox would hide: data from before
    the ceiling was turned on is the teacher's to move, not the spawner's to bury."""
    if mounted_at(target):
        return True                 # a server killed with -9 left it: still theirs
    fd = _open_nofollow(target, uid, gid, home)
    try:
        if os.listdir(f"/proc/self/fd/{fd}"):
            return False
        loop = subprocess.run(["losetup", "--find", "--show", image], capture_output=True,
                              text=True, check=True).stdout.strip()
        try:
            sys_.mount(loop, f"/proc/self/fd/{fd}", "ext4", MS_NOSUID | MS_NODEV)
        finally:
            subprocess.run(["losetup", "-d", loop], check=False)   # autoclear on unmount
    finally:
        os.close(fd)
    fd = _open_nofollow(target, uid, gid, home)      # now the disk's root directory
    try:
        os.chmod(f"/proc/self/fd/{fd}", 0o700)        # configs hold secrets (state_root)
    finally:
        os.close(fd)
    return True


def unmount_disk(target: str) -> bool:
    """Unmount the student's disk (its loop device goes with it). False if busy
    (a process of theirs still in it): then it is detached lazily."""
    if not mounted_at(target):
        return True
    try:
        sys_.umount(target, UMOUNT_NOFOLLOW)
        return True
    except KernelError as e:
        if e.errno != errno.EBUSY:
            raise
    sys_.umount(target, UMOUNT_NOFOLLOW | MNT_DETACH)
    return False
