"""Real system calls through libc (ctypes), each raising KernelError on failure."""

from __future__ import annotations

import ctypes
import os

from ..errors import KernelError
from .constants import (CAPS, CLOSE_RANGE_CLOEXEC, PR_CAPBSET_DROP, PR_CAPBSET_READ,
                        PR_SET_DUMPABLE, PR_SET_NO_NEW_PRIVS)

_libc = ctypes.CDLL(None, use_errno=True)
_SYS_pivot_root = 155  # x86_64
_SYS_capset = 126
_SYS_capget = 125
_SYS_setns = 308
_SYS_close_range = 436  # same number on every architecture


def _check(ret: int, op: str, path: str | None = None) -> int:
    if ret < 0:
        err = ctypes.get_errno()
        raise KernelError(err, op, path)
    return ret


def _b(s: str | bytes | None) -> bytes | None:
    if s is None:
        return None
    return s if isinstance(s, bytes) else os.fsencode(s)


class _CapHeader(ctypes.Structure):
    _fields_ = [("version", ctypes.c_uint32), ("pid", ctypes.c_int)]


class _CapData(ctypes.Structure):
    _fields_ = [("effective", ctypes.c_uint32), ("permitted", ctypes.c_uint32),
                ("inheritable", ctypes.c_uint32)]


_LINUX_CAPABILITY_VERSION_3 = 0x20080522


class Sys:
    """The syscall seam. Every method is one kernel operation."""

    def unshare(self, flags: int) -> None:
        _check(_libc.unshare(ctypes.c_int(flags)), "unshare", hex(flags))

    def setns(self, fd: int, nstype: int = 0, path: str | None = None) -> None:
        _check(_libc.setns(ctypes.c_int(fd), ctypes.c_int(nstype)), "setns", path)

    def mount(self, source: str | None, target: str, fstype: str | None = None,
              flags: int = 0, data: str | None = None) -> None:
        _check(_libc.mount(_b(source), _b(target), _b(fstype), ctypes.c_ulong(flags),
                           _b(data)), "mount", f"{fstype or source} on {target}")

    def umount(self, target: str, flags: int = 0) -> None:
        _check(_libc.umount2(_b(target), ctypes.c_int(flags)), "umount2", target)

    def pivot_root(self, new_root: str, put_old: str) -> None:
        _check(_libc.syscall(_SYS_pivot_root, _b(new_root), _b(put_old)), "pivot_root",
               new_root)

    def sethostname(self, name: str) -> None:
        raw = name.encode()
        _check(_libc.sethostname(raw, ctypes.c_size_t(len(raw))), "sethostname", name)

    def prctl(self, option: int, arg2: int = 0, arg3: int = 0, arg4: int = 0,
              arg5: int = 0) -> int:
        return _check(_libc.prctl(ctypes.c_int(option), ctypes.c_ulong(arg2),
                                  ctypes.c_ulong(arg3), ctypes.c_ulong(arg4),
                                  ctypes.c_ulong(arg5)), "prctl", str(option))

    def set_no_new_privs(self) -> None:
        self.prctl(PR_SET_NO_NEW_PRIVS, 1)

    def set_dumpable(self, dumpable: bool) -> None:
        """PR_SET_DUMPABLE. A non-dumpable process's ``/proc/<pid>`` files belong
        to root and need CAP_SYS_PTRACE to open — so a container process cannot
        ``open("/proc/<pid>/exe")`` of a host binary that has joined its
        namespaces (runc CVE-2019-5736). ``execve`` resets it for the new program."""
        self.prctl(PR_SET_DUMPABLE, 1 if dumpable else 0)

    def close_range(self, first: int, last: int, flags: int = 0) -> None:
        """close_range(2): close (or, with CLOSE_RANGE_CLOEXEC, mark close-on-exec)
        every fd in ``[first, last]``. On kernels without it (before 5.9/5.11)
        the same is done one fd at a time from ``/proc/self/fd``."""
        ret = _libc.syscall(_SYS_close_range, ctypes.c_uint(first), ctypes.c_uint(last),
                            ctypes.c_uint(flags))
        if ret == 0:
            return
        err = ctypes.get_errno()
        if err not in (38, 22):  # ENOSYS, EINVAL (flag unknown to this kernel)
            raise KernelError(err, "close_range", f"{first}-{last}")
        import fcntl
        for name in os.listdir("/proc/self/fd"):
            fd = int(name)
            if not first <= fd <= last:
                continue
            try:
                if flags & CLOSE_RANGE_CLOEXEC:
                    fcntl.fcntl(fd, fcntl.F_SETFD,
                                fcntl.fcntl(fd, fcntl.F_GETFD) | fcntl.FD_CLOEXEC)
                else:
                    os.close(fd)
            except OSError:
                pass  # the listing's own fd, gone by now

    def drop_bounding_caps(self, keep: set[int]) -> set[int]:
        """Remove every capability not in ``keep`` from the bounding set; return the
        ones of ``keep`` it still holds (a sandbox may have removed some already)."""
        held = set()
        for cap in range(len(CAPS)):
            if _libc.prctl(PR_CAPBSET_READ, ctypes.c_ulong(cap), 0, 0, 0) != 1:
                continue
            if cap in keep:
                held.add(cap)
            else:
                self.prctl(PR_CAPBSET_DROP, cap)
        return held

    def capset(self, effective: set[int], permitted: set[int], inheritable: set[int]) -> None:
        """Set this thread's capability sets (64-bit, version 3)."""
        hdr = _CapHeader(_LINUX_CAPABILITY_VERSION_3, 0)
        data = (_CapData * 2)()
        for idx in (0, 1):
            lo = 32 * idx
            def mask(s: set[int]) -> int:
                return sum(1 << (c - lo) for c in s if lo <= c < lo + 32)
            data[idx].effective = mask(effective)
            data[idx].permitted = mask(permitted)
            data[idx].inheritable = mask(inheritable)
        _check(_libc.syscall(_SYS_capset, ctypes.byref(hdr), data), "capset")

    def capget(self) -> tuple[int, int, int]:
        """Return (effective, permitted, inheritable) as 64-bit masks."""
        hdr = _CapHeader(_LINUX_CAPABILITY_VERSION_3, 0)
        data = (_CapData * 2)()
        _check(_libc.syscall(_SYS_capget, ctypes.byref(hdr), data), "capget")
        return tuple(data[0].__getattribute__(f) | (data[1].__getattribute__(f) << 32)
                     for f in ("effective", "permitted", "inheritable"))  # type: ignore

    def mknod(self, path: str, mode: int, device: int) -> None:
        """mknod with the exact mode asked (mknod itself is subject to the umask)."""
        try:
            os.mknod(path, mode, device)
            os.chmod(path, mode & 0o7777)
        except OSError as e:
            raise KernelError(e.errno, "mknod", path) from None

    def set_link_up(self, ifname: str = "lo") -> None:
        """Bring a network interface up (SIOCSIFFLAGS) — used for loopback."""
        import fcntl
        import socket
        import struct
        SIOCGIFFLAGS, SIOCSIFFLAGS, IFF_UP = 0x8913, 0x8914, 0x1
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            req = struct.pack("16sh", ifname.encode(), 0)
            try:
                flags = struct.unpack("16sh", fcntl.ioctl(s, SIOCGIFFLAGS, req))[1]
                fcntl.ioctl(s, SIOCSIFFLAGS, struct.pack("16sh", ifname.encode(), flags | IFF_UP))
            except OSError as e:
                raise KernelError(e.errno, "ioctl(SIOCSIFFLAGS)", ifname) from None


real = Sys()
