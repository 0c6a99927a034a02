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
_SYS_bpf = 321  # x86_64
_SYS_open_tree = 428      # the new mount API: same numbers on every architecture
_SYS_move_mount = 429
_SYS_mount_setattr = 442
_BPF_PROG_LOAD, _BPF_PROG_ATTACH, _BPF_PROG_QUERY = 5, 8, 16


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

    # --- the new mount API: idmapped mounts (--userns=private, glassbox.rootless.private) ---

    def open_tree(self, path: str, flags: int) -> int:
        """open_tree(2): with OPEN_TREE_CLONE, a *detached* copy of the mount at
        ``path`` (attached nowhere yet) as an fd; only a detached mount may be idmapped."""
        return _check(_libc.syscall(_SYS_open_tree, ctypes.c_int(-100), _b(path),
                                    ctypes.c_uint(flags)), "open_tree", path)

    def mount_setattr(self, fd: int, attr_set: int, userns_fd: int = -1, flags: int = 0,
                      path: str | None = None) -> None:
        """mount_setattr(2) on the mount ``fd`` itself (AT_EMPTY_PATH | ``flags``).
        With MOUNT_ATTR_IDMAP, ``userns_fd``'s uid/gid maps translate every owner
        seen through this mount: with ``0 100000 65536`` a file root owns on disk
        shows as uid 100000 on the host — root in that user namespace."""
        import struct
        from .constants import AT_EMPTY_PATH
        raw = struct.pack("<QQQQ", attr_set, 0, 0, userns_fd if userns_fd >= 0 else 0)
        buf = ctypes.create_string_buffer(raw, len(raw))
        _check(_libc.syscall(_SYS_mount_setattr, ctypes.c_int(fd), b"",
                             ctypes.c_uint(AT_EMPTY_PATH | flags), buf,
                             ctypes.c_size_t(len(raw))), "mount_setattr", path)

    def move_mount(self, fd: int, target: str) -> None:
        """move_mount(2): attach the detached mount ``fd`` at ``target``."""
        from .constants import MOVE_MOUNT_F_EMPTY_PATH
        _check(_libc.syscall(_SYS_move_mount, ctypes.c_int(fd), b"", ctypes.c_int(-100),
                             _b(target), ctypes.c_uint(MOVE_MOUNT_F_EMPTY_PATH)),
               "move_mount", target)

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

    def chown(self, path: str, uid: int, gid: int) -> None:
        """lchown: give a file (a device node made in a container's /dev) its owner."""
        try:
            os.lchown(path, uid, gid)
        except OSError as e:
            raise KernelError(e.errno, "lchown", path) from None

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


    # --- bpf(2): the cgroup v2 device program (glassbox.cgroups.bpf_device) ------------

    def _bpf(self, cmd: int, attr: bytes, op: str, path: str | None = None) -> int:
        buf = ctypes.create_string_buffer(attr, len(attr))
        return _check(_libc.syscall(_SYS_bpf, ctypes.c_int(cmd), buf, ctypes.c_uint(len(attr))),
                      op, path)

    def bpf_prog_load(self, prog_type: int, insns: bytes, license: str = "GPL",
                      expected_attach_type: int = 0, name: str = "") -> int:
        """bpf(BPF_PROG_LOAD): hand eBPF instructions to the verifier; return the program's fd.

        When the verifier refuses, the load is repeated with its log on, and the log
        goes into the :class:`KernelError` (what it refused and at which instruction).
        On kernels before 5.11 programs are charged to RLIMIT_MEMLOCK: an EPERM there
        raises the limit once and tries again (as runc does)."""
        import struct
        code = ctypes.create_string_buffer(insns, len(insns))
        lic = ctypes.create_string_buffer(license.encode())

        def attr(log=None) -> bytes:
            return struct.pack("<IIQQIIQII16sII", prog_type, len(insns) // 8,
                               ctypes.addressof(code), ctypes.addressof(lic),
                               1 if log is not None else 0, len(log) if log is not None else 0,
                               ctypes.addressof(log) if log is not None else 0, 0, 0,
                               name.encode()[:15], 0, expected_attach_type)
        try:
            return self._bpf(_BPF_PROG_LOAD, attr(), "bpf(BPF_PROG_LOAD)", name or None)
        except KernelError as e:
            first = e
        if first.errno == 1:  # EPERM: maybe the memlock limit (old kernels), maybe no CAP_BPF
            import resource
            try:
                resource.setrlimit(resource.RLIMIT_MEMLOCK,
                                   (resource.RLIM_INFINITY, resource.RLIM_INFINITY))
                return self._bpf(_BPF_PROG_LOAD, attr(), "bpf(BPF_PROG_LOAD)", name or None)
            except (OSError, ValueError, KernelError):
                raise first from None
        log = ctypes.create_string_buffer(1 << 16)
        try:
            return self._bpf(_BPF_PROG_LOAD, attr(log), "bpf(BPF_PROG_LOAD)", name or None)
        except KernelError as e:
            text = log.value.decode(errors="replace").strip()
            raise KernelError(e.errno, "bpf(BPF_PROG_LOAD)", name or None,
                              "the verifier said:\n" + text if text else None) from None

    def bpf_prog_attach(self, target_fd: int, prog_fd: int, attach_type: int, flags: int = 0,
                        path: str | None = None) -> None:
        """bpf(BPF_PROG_ATTACH): attach a loaded program to ``target_fd`` (a cgroup
        directory's fd). The cgroup then holds the program: the fd may be closed."""
        import struct
        self._bpf(_BPF_PROG_ATTACH, struct.pack("<IIIII", target_fd, prog_fd, attach_type, flags,
                                                0), "bpf(BPF_PROG_ATTACH)", path)

    def bpf_prog_query(self, target_fd: int, attach_type: int,
                       path: str | None = None) -> list[int]:
        """bpf(BPF_PROG_QUERY): the ids of the programs attached to this cgroup itself."""
        import struct
        ids = (ctypes.c_uint32 * 64)()
        buf = ctypes.create_string_buffer(struct.pack("<IIIIQI4x", target_fd, attach_type, 0, 0,
                                                      ctypes.addressof(ids), 64), 32)
        _check(_libc.syscall(_SYS_bpf, ctypes.c_int(_BPF_PROG_QUERY), buf, ctypes.c_uint(32)),
               "bpf(BPF_PROG_QUERY)", path)
        count = struct.unpack_from("<I", buf.raw, 24)[0]
        return list(ids[:min(count, 64)])

    def seccomp_set_filter(self, program: bytes, flags: int = 0) -> None:
        """seccomp(SECCOMP_SET_MODE_FILTER): from now on the kernel runs the classic
        BPF ``program`` (8-byte ``sock_filter``s, :mod:`glassbox.seccomp.bpf`) on
        every syscall of this thread and of all it starts. It needs no_new_privs
        (or CAP_SYS_ADMIN) and can never be removed. Kernels without seccomp(2)
        (before 3.17) get ``prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER)``."""
        buf = ctypes.create_string_buffer(program, len(program))
        prog = _SockFprog(len(program) // 8, ctypes.addressof(buf))
        ret = _libc.syscall(_SYS_seccomp, ctypes.c_uint(1), ctypes.c_uint(flags),
                            ctypes.byref(prog))        # SECCOMP_SET_MODE_FILTER
        if ret == 0:
            return
        err = ctypes.get_errno()
        if err == 38 and not flags:                    # ENOSYS
            ret = _libc.prctl(ctypes.c_int(_PR_SET_SECCOMP), ctypes.c_ulong(2),
                              ctypes.byref(prog), ctypes.c_ulong(0), ctypes.c_ulong(0))
            if ret == 0:
                return
            err = ctypes.get_errno()
        raise KernelError(err, "seccomp(SECCOMP_SET_MODE_FILTER)", f"{len(program) // 8} insns")

    def seccomp_filter_supported(self) -> bool:
        """Whether this kernel has seccomp filters (CONFIG_SECCOMP_FILTER), asked
        as dockerd does: ``prctl(PR_SET_SECCOMP, FILTER, NULL)`` fails EFAULT when
        filters exist (bad pointer) and EINVAL when they do not."""
        ret = _libc.prctl(ctypes.c_int(_PR_SET_SECCOMP), ctypes.c_ulong(2), ctypes.c_ulong(0),
                          ctypes.c_ulong(0), ctypes.c_ulong(0))
        return ret != 0 and ctypes.get_errno() == 14   # EFAULT


_SYS_seccomp = 317  # x86_64
_PR_SET_SECCOMP = 22


class _SockFprog(ctypes.Structure):
    """``struct sock_fprog``: instruction count and pointer to the program."""
    _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_void_p)]


real = Sys()
