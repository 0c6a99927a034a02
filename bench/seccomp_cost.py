"""Seccomp: what Docker's default filter costs, built two ways (issue 18).

    .venv/bin/python bench/seccomp_cost.py [-n 30]

The measurement behind the choice in docs/architecture.md ("Seccomp"):

* **pure Python** (:mod:`glassbox.seccomp`): parse + resolve + compile (paid
  once per profile/caps/kernel), then per start the cached program read from
  the state root and installed with seccomp(2);
* **libseccomp through ctypes** (what runc does through libseccomp-golang):
  per start ``dlopen`` + ``seccomp_init`` + one rule per syscall + ``seccomp_load``
  (which generates the program and installs it). The program it generates can
  be exported and cached as ours is, so its *cached* start cost is the same read
  + install; only the cold cost and the program differ.

Every install happens in a forked child (a filter cannot be removed). Not a
test: prints medians.
"""

from __future__ import annotations

import argparse
import ctypes
import ctypes.util
import os
import statistics
import sys
import tempfile
import time

from glassbox._sys import real
from glassbox.runtime.spec import DEFAULT_CAPS
from glassbox.seccomp import cache
from glassbox.seccomp.compile import action_value
from glassbox.seccomp.profile import parse, resolve

OPNUM = {"SCMP_CMP_NE": 1, "SCMP_CMP_LT": 2, "SCMP_CMP_LE": 3, "SCMP_CMP_EQ": 4,
         "SCMP_CMP_GE": 5, "SCMP_CMP_GT": 6, "SCMP_CMP_MASKED_EQ": 7}
SCMP_ARCH = {"SCMP_ARCH_X86_64": 0xC000003E, "SCMP_ARCH_X86": 0x40000003,
             "SCMP_ARCH_X32": 0x4000003E}


class _Cmp(ctypes.Structure):
    _fields_ = [("arg", ctypes.c_uint), ("op", ctypes.c_int), ("a", ctypes.c_uint64),
                ("b", ctypes.c_uint64)]


def in_child(fn) -> float:
    """Run ``fn`` in a forked child; return the seconds it reported."""
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:
        try:
            os.close(r)
            os.write(w, repr(fn()).encode())
        finally:
            os._exit(0)
    os.close(w)
    with os.fdopen(r) as f:
        out = f.read()
    os.waitpid(pid, 0)
    return float(out)


def libseccomp_start(resolved, install: bool = True, export_fd: int | None = None) -> float:
    t = time.perf_counter()
    lib = ctypes.CDLL(ctypes.util.find_library("seccomp") or "libseccomp.so.2")
    lib.seccomp_init.restype = ctypes.c_void_p
    lib.seccomp_init.argtypes = [ctypes.c_uint32]
    lib.seccomp_arch_add.argtypes = [ctypes.c_void_p, ctypes.c_uint32]
    lib.seccomp_arch_remove.argtypes = [ctypes.c_void_p, ctypes.c_uint32]
    lib.seccomp_attr_set.argtypes = [ctypes.c_void_p, ctypes.c_int, ctypes.c_uint32]
    lib.seccomp_rule_add_array.argtypes = [ctypes.c_void_p, ctypes.c_uint32, ctypes.c_int,
                                           ctypes.c_uint, ctypes.c_void_p]
    lib.seccomp_syscall_resolve_name.argtypes = [ctypes.c_char_p]
    lib.seccomp_load.argtypes = [ctypes.c_void_p]
    lib.seccomp_export_bpf.argtypes = [ctypes.c_void_p, ctypes.c_int]
    lib.seccomp_release.argtypes = [ctypes.c_void_p]
    default = action_value(resolved.default_action, resolved.default_errno)
    ctx = lib.seccomp_init(default)
    lib.seccomp_arch_remove(ctx, SCMP_ARCH["SCMP_ARCH_X86_64"])
    for a in resolved.architectures:
        lib.seccomp_arch_add(ctx, SCMP_ARCH[a])
    lib.seccomp_attr_set(ctx, 3, 0)          # SCMP_FLTATR_CTL_NNP: set by us already
    for rule in resolved.rules:
        value = action_value(rule.action, rule.errno)
        if value == default:
            continue
        cmps = (_Cmp * max(1, len(rule.args)))(
            *[_Cmp(a.index, OPNUM[a.op], a.value, a.value_two) for a in rule.args])
        for name in rule.names:
            nr = lib.seccomp_syscall_resolve_name(name.encode())
            if nr != -1:
                lib.seccomp_rule_add_array(ctx, value, nr, len(rule.args), cmps)
    if export_fd is not None:
        lib.seccomp_export_bpf(ctx, export_fd)
    if install:
        real.set_no_new_privs()
        if lib.seccomp_load(ctx) != 0:
            raise OSError("seccomp_load failed")
    lib.seccomp_release(ctx)
    return time.perf_counter() - t


def ours_cached(root: str) -> float:
    cache._MEMO.clear()
    t = time.perf_counter()
    prog = cache.program_for("default", DEFAULT_CAPS, root)
    real.set_no_new_privs()
    real.seccomp_set_filter(*prog)
    return time.perf_counter() - t


def ours_cold() -> float:
    t = time.perf_counter()
    cache.compile_choice("default", DEFAULT_CAPS)
    return time.perf_counter() - t


def ours_read(root: str) -> float:
    cache._MEMO.clear()
    t = time.perf_counter()
    cache.program_for("default", DEFAULT_CAPS, root)
    return time.perf_counter() - t


def install_only(prog) -> float:
    real.set_no_new_privs()
    t = time.perf_counter()
    real.seccomp_set_filter(*prog)
    return time.perf_counter() - t


def row(name: str, xs: list[float]) -> None:
    print(f"  {name:58s} median {statistics.median(xs) * 1e3:7.3f} ms  (n={len(xs)})")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("-n", type=int, default=30)
    a = ap.parse_args()
    with open(cache.DEFAULT_PATH) as f:
        resolved = resolve(parse(f.read()), DEFAULT_CAPS)
    root = tempfile.mkdtemp(prefix="gbx-bench-seccomp-")
    try:
        prog = cache.program_for("default", DEFAULT_CAPS, root)
        with tempfile.TemporaryFile() as tf:
            libseccomp_start(resolved, install=False, export_fd=tf.fileno())
            tf.seek(0)
            theirs = tf.read()
        print(f"== seccomp: Docker's default profile, caps {len(DEFAULT_CAPS)} (n={a.n}) ==")
        print(f"  program size: pure Python {len(prog[0]) // 8} insns, "
              f"libseccomp {len(theirs) // 8} insns")
        row("pure Python: parse + resolve + compile (cold, once)",
            [ours_cold() for _ in range(a.n)])
        row("pure Python: cached program read (per start)",
            [in_child(lambda: ours_read(root)) for _ in range(a.n)])
        row("pure Python: cached read + install (per start)",
            [in_child(lambda: ours_cached(root)) for _ in range(a.n)])
        row("kernel install of our program alone",
            [in_child(lambda: install_only(prog)) for _ in range(a.n)])
        row("kernel install of libseccomp's program alone",
            [in_child(lambda: install_only((theirs, 0))) for _ in range(a.n)])
        row("libseccomp via ctypes: dlopen + rules + seccomp_load (per start)",
            [in_child(lambda: libseccomp_start(resolved)) for _ in range(a.n)])
    finally:
        import shutil
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
