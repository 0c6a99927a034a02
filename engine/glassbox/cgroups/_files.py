"""Reading and writing cgroup files, and finding cgroup mounts — shared by v1 and v2.

A cgroup *is* a directory; its knobs are small text files. Everything here is
plain file I/O (no syscalls beyond open/read/write/mkdir/rmdir), so unit tests
point it at a fake tree under ``tmp_path``. Writes never create files
(no ``O_CREAT``): in the real cgroupfs a missing file means a missing
controller, and the fake trees must say which files exist, just like the kernel.
"""

from __future__ import annotations

import errno
import os
import time
from dataclasses import dataclass

from ..errors import KernelError, NotFound

UNLIMITED_V1 = 1 << 60
"""v1 reports "no limit" as a huge page-rounded number (9223372036854771712)."""


# --- mountinfo -------------------------------------------------------------------

@dataclass(frozen=True)
class Mount:
    mount_point: str
    root: str
    fstype: str
    super_options: tuple[str, ...]


def _unescape(field: str) -> str:
    # mountinfo escapes space, tab, newline and backslash as \040 \011 \012 \134
    if "\\" not in field:
        return field
    out, i = [], 0
    while i < len(field):
        if field[i] == "\\" and i + 4 <= len(field) and field[i + 1:i + 4].isdigit():
            out.append(chr(int(field[i + 1:i + 4], 8)))
            i += 4
        else:
            out.append(field[i])
            i += 1
    return "".join(out)


def parse_mountinfo(text: str) -> list[Mount]:
    """Parse ``/proc/self/mountinfo`` (proc(5)): we need mount point, root, fs type, options."""
    mounts = []
    for line in text.splitlines():
        parts = line.split()
        if "-" not in parts:
            continue
        sep = parts.index("-")
        if sep < 5 or len(parts) < sep + 3:
            continue
        mounts.append(Mount(mount_point=_unescape(parts[4]), root=_unescape(parts[3]),
                            fstype=parts[sep + 1],
                            super_options=tuple(parts[sep + 3].split(","))
                            if len(parts) > sep + 3 else ()))
    return mounts


def read_mountinfo(path: str) -> list[Mount]:
    try:
        with open(path) as f:
            return parse_mountinfo(f.read())
    except OSError as e:
        raise KernelError(e.errno or errno.EIO, "read", path,
                          "cannot read the mount table to find the cgroup filesystem") from None


def under(path: str, root: str) -> bool:
    root = root.rstrip("/") or "/"
    return path == root or path.startswith(root + "/") or root == "/"


# --- reading ---------------------------------------------------------------------

def read_text(path: str) -> str | None:
    """The file's text, or None when the file does not exist (controller absent)."""
    try:
        with open(path) as f:
            return f.read()
    except FileNotFoundError:
        return None
    except OSError as e:
        raise KernelError(e.errno or errno.EIO, "read", path) from None


def read_int(path: str) -> int | None:
    """An integer file (``memory.current``); ``max`` → None; missing/empty → None."""
    text = read_text(path)
    if text is None:
        return None
    text = text.strip()
    if not text or text == "max":
        return None
    return int(text.split()[0])


def read_limit_v1(path: str) -> int | None:
    """A v1 limit: the huge "unlimited" value and -1 become None."""
    value = read_int(path)
    if value is None or value < 0 or value >= UNLIMITED_V1:
        return None
    return value


def read_keyed(path: str) -> dict[str, int]:
    """A flat keyed file (``memory.stat``, ``cpu.stat``, ``memory.events``) as {key: int}."""
    text = read_text(path)
    out: dict[str, int] = {}
    if not text:
        return out
    for line in text.splitlines():
        parts = line.split()
        if len(parts) == 2:
            try:
                out[parts[0]] = int(parts[1])
            except ValueError:
                pass
    return out


def read_pids(path: str) -> list[int]:
    text = read_text(path) or ""
    return [int(x) for x in text.split()]


# --- writing ---------------------------------------------------------------------

def hint_for(err: int, path: str) -> str | None:
    """A sentence telling the user what the errno most likely means for this file."""
    fname = os.path.basename(path)
    controller = fname.split(".", 1)[0]
    if err == errno.ENOENT:
        if fname.startswith("cgroup."):
            return None
        return (f"the {fname} file is missing: the {controller} controller is not "
                "mounted (v1) or not enabled in the parent's cgroup.subtree_control (v2)")
    if err == errno.EROFS:
        return ("the cgroup filesystem is mounted read-only (as inside a container): remount it "
                "read-write, or run glassbox where /sys/fs/cgroup is writable")
    if err in (errno.EACCES, errno.EPERM):
        return "changing cgroups needs root (or a delegated, writable cgroup tree)"
    if err == errno.EOPNOTSUPP and fname == "cgroup.subtree_control":
        return ("cgroup v2 'no internal processes' rule: this cgroup holds processes and has "
                "threaded controllers (cpu, pids) enabled, so a domain controller (memory, io) "
                "cannot be enabled for its children; move the processes to a leaf cgroup")
    if err == errno.EBUSY:
        if fname == "cgroup.subtree_control":
            return ("cgroup v2 'no internal processes' rule: a cgroup with processes in it "
                    "cannot enable controllers for children; move them to a leaf cgroup")
        if controller == "memory":
            return "the cgroup already uses more memory than the new limit and it cannot be reclaimed"
        return "the cgroup is busy (processes still inside?)"
    if err == errno.EINVAL and controller == "memory":
        return ("the kernel rejected the value: on v1 memory.limit_in_bytes must stay <= "
                "memory.memsw.limit_in_bytes (update --memory and --memory-swap together)")
    if err == errno.EINVAL and controller == "cpu":
        return "the kernel rejected the CPU quota (minimum 1000 µs per period)"
    return None


def write(path: str, value: str | int, *, cgroup_dir: str | None = None,
          journal: list | None = None) -> None:
    """Write one value to one control file, the way ``echo value > file`` does.

    A missing ``cgroup_dir`` becomes :class:`NotFound`; any other failure a
    :class:`KernelError` with errno, the file and a hint.
    """
    data = str(value).encode()
    try:
        fd = os.open(path, os.O_WRONLY | os.O_TRUNC | os.O_CLOEXEC)
    except OSError as e:
        if e.errno == errno.ENOENT and cgroup_dir is not None and not os.path.isdir(cgroup_dir):
            raise NotFound(f"cgroup {cgroup_dir} does not exist: create it first "
                           "(or the container was removed)") from None
        raise KernelError(e.errno or errno.EIO, "open", path, hint_for(e.errno or 0, path)) \
            from None
    try:
        os.write(fd, data)
    except OSError as e:
        raise KernelError(e.errno or errno.EIO, f"write {value!s}", path,
                          hint_for(e.errno or 0, path)) from None
    finally:
        os.close(fd)
    if journal is not None:
        journal.append((path, str(value)))


# --- directories -----------------------------------------------------------------

def mkdir_chain(base: str, rel: str) -> list[str]:
    """``mkdir -p base/rel`` one component at a time; return the dirs *we* created."""
    created, cur = [], base
    for part in rel.split("/"):
        cur = os.path.join(cur, part)
        try:
            os.mkdir(cur)
            created.append(cur)
        except FileExistsError:
            pass
        except OSError as e:
            raise KernelError(e.errno or errno.EIO, "mkdir", cur,
                              hint_for(e.errno or 0, cur) if e.errno != errno.ENOENT else
                              "the cgroup hierarchy is not mounted there") from None
    return created


def rmdir_retry(path: str, timeout: float = 2.0) -> bool:
    """rmdir a cgroup, retrying on EBUSY while its last processes finish exiting.

    Returns False when it did not exist. rmdir of a cgroup only succeeds when it
    has no processes and no child cgroups, so it can never remove more than one
    empty cgroup.
    """
    deadline = time.monotonic() + timeout
    delay = 0.002
    while True:
        try:
            os.rmdir(path)
            return True
        except FileNotFoundError:
            return False
        except OSError as e:
            if e.errno in (errno.EBUSY, errno.ENOTEMPTY) and time.monotonic() < deadline:
                time.sleep(delay)
                delay = min(delay * 2, 0.05)
                continue
            hint = ("processes are still inside (or it has child cgroups): kill them first"
                    if e.errno in (errno.EBUSY, errno.ENOTEMPTY) else hint_for(e.errno or 0, path))
            raise KernelError(e.errno or errno.EIO, "rmdir", path, hint) from None


def remove_empty_parents(base: str, rel: str, keep: set[str]) -> None:
    """rmdir ``base/<parent chain of rel>`` deepest first while empty; stop at the first
    that is busy, missing, or known to have existed before us (``keep``)."""
    parts = rel.split("/")[:-1]
    for i in range(len(parts), 0, -1):
        d = os.path.join(base, *parts[:i])
        if d in keep:
            return
        try:
            os.rmdir(d)
        except FileNotFoundError:
            continue
        except OSError as e:
            if e.errno in (errno.EBUSY, errno.ENOTEMPTY):
                return  # other containers still live under it
            raise KernelError(e.errno or errno.EIO, "rmdir", d, hint_for(e.errno or 0, d)) \
                from None


def subdirs_deepest_first(path: str) -> list[str]:
    """Every directory below ``path`` (child cgroups), deepest first, excluding ``path``."""
    out = []
    for dirpath, dirnames, _ in os.walk(path, topdown=False):
        for d in dirnames:
            out.append(os.path.join(dirpath, d))
    return out


def wait_for(pred, timeout: float) -> bool:
    """Poll ``pred()`` with a short backoff until true or ``timeout`` seconds pass."""
    deadline = time.monotonic() + timeout
    delay = 0.001
    while True:
        if pred():
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(delay)
        delay = min(delay * 2, 0.05)


def signal_pids(pids: list[int], sig: int) -> None:
    for pid in pids:
        try:
            os.kill(pid, sig)
        except ProcessLookupError:
            pass
        except OSError as e:
            raise KernelError(e.errno or errno.EIO, f"kill({sig})", str(pid)) from None


def check_relpath(parent: str, name: str) -> str:
    """``parent/name`` relative to a hierarchy root, refusing anything that could escape it."""
    from ..errors import InvalidArgument
    if not name or "/" in name or name in (".", ".."):
        raise InvalidArgument(f"invalid cgroup name {name!r}: use one path component, e.g. a container id")
    parts = [p for p in parent.strip("/").split("/") if p] if parent else []
    if any(p in (".", "..") for p in parts):
        raise InvalidArgument(f"invalid cgroup parent {parent!r}: '.' and '..' are not allowed")
    return "/".join(parts + [name])
