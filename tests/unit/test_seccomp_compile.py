"""The cBPF compiler, checked by running its programs in a small classic-BPF
interpreter written here (the kernel's semantics for the opcodes seccomp
allows), and — where libseccomp is installed — against libseccomp itself: the
same syscall numbers, and the same decision for the same call."""

from __future__ import annotations

import ctypes
import ctypes.util
import json
import os
import struct

import pytest

from glassbox.runtime.spec import DEFAULT_CAPS
from glassbox.seccomp import bpf
from glassbox.seccomp.cache import DEFAULT_PATH, cache_key, compile_choice, program_for
from glassbox.seccomp.compile import X32_BIT, compile_filter, syscall_tables
from glassbox.seccomp.profile import parse, resolve

X86_64, I386 = 0xC000003E, 0x40000003
ALLOW, KILL_PROCESS = 0x7FFF0000, 0x80000000


def errno_(n: int) -> int:
    return 0x00050000 | n


def run(code: bytes, nr: int, arch: int = X86_64, args=(0,) * 6) -> int:
    """Execute a classic BPF program on one ``seccomp_data``."""
    args = tuple(args) + (0,) * (6 - len(args))
    data = struct.pack("<iIQ6Q", nr, arch, 0, *[a & (2**64 - 1) for a in args])
    insns = bpf.decode(code)
    a, pc, steps = 0, 0, 0
    while True:
        op, jt, jf, k = insns[pc]
        steps += 1
        assert steps <= len(insns), "a loop in a forward-only program?"
        if op == bpf.LD_W_ABS:
            assert k % 4 == 0 and k + 4 <= len(data)
            a = struct.unpack_from("<I", data, k)[0]
            pc += 1
        elif op == bpf.ALU_AND_K:
            a &= k
            pc += 1
        elif op == bpf.RET_K:
            return k
        elif op == bpf.JA:
            pc += 1 + k
        else:
            cond = {bpf.JEQ: a == k, bpf.JGT: a > k, bpf.JGE: a >= k, bpf.JSET: a & k}[op]
            pc += 1 + (jt if cond else jf)


NR = syscall_tables()["x86_64"]
NR32 = syscall_tables()["x86"]


@pytest.fixture(scope="module")
def default_prog():
    return compile_choice("default", DEFAULT_CAPS)[0]


def test_default_program_answers_as_docker(default_prog):
    p = default_prog
    assert run(p, NR["read"]) == ALLOW and run(p, NR["execve"]) == ALLOW
    for name in ("add_key", "keyctl", "io_uring_setup", "unshare", "mount", "bpf",
                 "kexec_load", "init_module", "userfaultfd", "setns", "reboot",
                 "perf_event_open", "clock_settime", "open_by_handle_at"):
        assert run(p, NR[name]) == errno_(1), name
    assert run(p, NR["clone3"]) == errno_(38)                  # ENOSYS: libc falls back
    # clone: threads and forks yes, new namespaces no
    fork_flags = 0x01200011                                     # SIGCHLD|CHILD_SETTID|..
    thread_flags = 0x003D0F00
    assert run(p, NR["clone"], args=(fork_flags,)) == ALLOW
    assert run(p, NR["clone"], args=(thread_flags,)) == ALLOW
    for ns in (0x10000000, 0x20000000, 0x40000000, 0x00020000, 0x04000000, 0x08000000,
               0x02000000):
        assert run(p, NR["clone"], args=(fork_flags | ns,)) == errno_(1), hex(ns)
    # personality: only the five values Docker lets through
    for v in (0, 8, 0x20000, 0x20008, 0xFFFFFFFF):
        assert run(p, NR["personality"], args=(v,)) == ALLOW
    assert run(p, NR["personality"], args=(0x0040000,)) == errno_(1)   # ADDR_NO_RANDOMIZE
    assert run(p, NR["personality"], args=(0x1_0000_0000,)) == errno_(1)  # 64-bit compare
    # socket: everything but AF_ALG (38) and AF_VSOCK (40)
    for fam, want in ((1, ALLOW), (2, ALLOW), (10, ALLOW), (16, ALLOW), (37, ALLOW),
                      (38, errno_(1)), (39, ALLOW), (40, errno_(1)), (41, ALLOW)):
        assert run(p, NR["socket"], args=(fam, 1, 0)) == want, fam
    # newer than anything the profile names: ENOSYS, so libc falls back
    assert run(p, 470) == errno_(38) and run(p, 0x3FFFFFFF) == errno_(38)


def test_i386_and_x32_programs_are_filtered_too(default_prog):
    p = default_prog
    assert run(p, NR32["read"], I386) == ALLOW
    assert run(p, NR32["socketcall"], I386) == ALLOW            # i386 only, in the list
    assert run(p, NR32["add_key"], I386) == errno_(1)
    assert run(p, NR32["unshare"], I386) == errno_(1)
    x32 = syscall_tables()["x32"]
    assert run(p, x32["read"]) == ALLOW and x32["read"] & X32_BIT
    assert run(p, x32["add_key"]) == errno_(1)
    assert run(p, NR["read"], 0xC00000B7) == KILL_PROCESS       # aarch64: not covered


def test_cap_sys_admin_program(default_prog):
    admin = compile_choice("default", [*DEFAULT_CAPS, "CAP_SYS_ADMIN"])[0]
    assert run(admin, NR["mount"]) == ALLOW and run(admin, NR["clone3"]) == ALLOW
    assert run(admin, NR["clone"], args=(0x10000000 | 17,)) == ALLOW
    assert run(admin, NR["add_key"]) == errno_(1)
    assert admin != default_prog


def cmp_profile(op, value, value_two=0, index=1):
    return {"defaultAction": "SCMP_ACT_ERRNO", "defaultErrnoRet": 13,
            "syscalls": [{"names": ["read"], "action": "SCMP_ACT_ALLOW",
                          "args": [{"index": index, "value": value, "valueTwo": value_two,
                                    "op": op}]}]}


VALUES = [0, 1, 5, 6, 7, 0xFFFFFFFF, 0x1_0000_0000, 0x1_0000_0005, 0x2_0000_0000, 2**64 - 1]


@pytest.mark.parametrize("op,fn", [
    ("SCMP_CMP_EQ", lambda a, v: a == v), ("SCMP_CMP_NE", lambda a, v: a != v),
    ("SCMP_CMP_LT", lambda a, v: a < v), ("SCMP_CMP_LE", lambda a, v: a <= v),
    ("SCMP_CMP_GT", lambda a, v: a > v), ("SCMP_CMP_GE", lambda a, v: a >= v)])
def test_64_bit_comparisons(op, fn):
    for v in (5, 0x1_0000_0005, 0xFFFFFFFF):
        prog = compile_filter(resolve(parse(json.dumps(cmp_profile(op, v))), []))
        for a in VALUES:
            want = ALLOW if fn(a, v) else errno_(13)
            assert run(prog, NR["read"], args=(0, a)) == want, (op, hex(v), hex(a))


def test_masked_eq_and_runc_s_and_or_rule():
    prog = compile_filter(resolve(parse(json.dumps(
        cmp_profile("SCMP_CMP_MASKED_EQ", 0xF0, 0x30))), []))
    assert run(prog, NR["read"], args=(0, 0x3F)) == ALLOW
    assert run(prog, NR["read"], args=(0, 0x4F)) == errno_(13)
    # two args, different indexes: AND; the same index twice: OR (runc)
    both = {"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [
        {"names": ["read"], "action": "SCMP_ACT_ALLOW",
         "args": [{"index": 0, "value": 1, "op": "SCMP_CMP_EQ"},
                  {"index": 1, "value": 2, "op": "SCMP_CMP_EQ"}]},
        {"names": ["write"], "action": "SCMP_ACT_ALLOW",
         "args": [{"index": 0, "value": 1, "op": "SCMP_CMP_EQ"},
                  {"index": 0, "value": 2, "op": "SCMP_CMP_EQ"}]}]}
    prog = compile_filter(resolve(parse(json.dumps(both)), []))
    assert run(prog, NR["read"], args=(1, 2)) == ALLOW
    assert run(prog, NR["read"], args=(1, 3)) == errno_(1)     # no errnoRet: EPERM
    assert run(prog, NR["write"], args=(1,)) == ALLOW
    assert run(prog, NR["write"], args=(2,)) == ALLOW
    assert run(prog, NR["write"], args=(3,)) == errno_(1)


def test_far_jumps_are_routed_through_ja():
    """Hundreds of conditional syscalls: the tree's jumps outgrow 8 bits."""
    table = syscall_tables()["x86_64"]
    many = sorted(table, key=table.get)[:300]
    doc = {"defaultAction": "SCMP_ACT_ERRNO", "architectures": ["SCMP_ARCH_X86_64"],
           "syscalls": [{"names": [n], "action": "SCMP_ACT_ALLOW",
                         "args": [{"index": 2, "value": table[n], "op": "SCMP_CMP_EQ"}]}
                        for n in many]}
    prog = compile_filter(resolve(parse(json.dumps(doc)), []))
    assert any(op == bpf.JA for op, *_ in bpf.decode(prog))
    for n in many[::7]:
        assert run(prog, table[n], args=(0, 0, table[n])) == ALLOW, n
        assert run(prog, table[n], args=(0, 0, table[n] + 1)) == errno_(1), n


def test_unknown_names_are_reported_and_skipped():
    doc = {"defaultAction": "SCMP_ACT_ERRNO",
           "syscalls": [{"names": ["read", "frobnicate"], "action": "SCMP_ACT_ALLOW"}]}
    unknown: list[str] = []
    prog = compile_filter(resolve(parse(json.dumps(doc)), []), unknown)
    assert unknown == ["frobnicate"] and run(prog, NR["read"]) == ALLOW


def test_cache_compiles_once_and_refuses_a_broken_file(tmp_path, monkeypatch):
    from glassbox.seccomp import cache
    calls = []
    real = cache.compile_choice
    monkeypatch.setattr(cache, "compile_choice", lambda c, k: calls.append(1) or real(c, k))
    monkeypatch.setattr(cache, "_MEMO", {})
    first = program_for("default", DEFAULT_CAPS, str(tmp_path))
    cache._MEMO.clear()                        # a new process: only the disk is left
    assert program_for("default", DEFAULT_CAPS, str(tmp_path)) == first
    assert len(calls) == 1
    path = tmp_path / "seccomp" / (cache_key("default", DEFAULT_CAPS) + ".bpf")
    path.write_bytes(b"garbage")
    cache._MEMO.clear()
    assert program_for("default", DEFAULT_CAPS, str(tmp_path)) == first
    assert len(calls) == 2
    assert program_for("unconfined", DEFAULT_CAPS, str(tmp_path)) is None
    assert cache_key("default", DEFAULT_CAPS) != cache_key("default", ["CAP_SYS_ADMIN"])


# ---- libseccomp as the reference -------------------------------------------

def _libseccomp():
    name = ctypes.util.find_library("seccomp")
    if not name:
        return None
    lib = ctypes.CDLL(name)
    lib.seccomp_init.restype = ctypes.c_void_p
    lib.seccomp_init.argtypes = [ctypes.c_uint32]
    lib.seccomp_syscall_resolve_name_arch.argtypes = [ctypes.c_uint32, ctypes.c_char_p]
    lib.seccomp_arch_add.argtypes = [ctypes.c_void_p, ctypes.c_uint32]
    lib.seccomp_arch_remove.argtypes = [ctypes.c_void_p, ctypes.c_uint32]
    lib.seccomp_export_bpf.argtypes = [ctypes.c_void_p, ctypes.c_int]
    lib.seccomp_release.argtypes = [ctypes.c_void_p]
    lib.seccomp_syscall_resolve_name.argtypes = [ctypes.c_char_p]
    lib.seccomp_rule_add_array.argtypes = [ctypes.c_void_p, ctypes.c_uint32, ctypes.c_int,
                                           ctypes.c_uint, ctypes.c_void_p]
    return lib


LIB = _libseccomp()
needs_lib = pytest.mark.skipif(LIB is None, reason="libseccomp is not installed")
SCMP = {"SCMP_ARCH_X86_64": 0xC000003E, "SCMP_ARCH_X86": 0x40000003,
        "SCMP_ARCH_X32": 0x4000003E}


@needs_lib
@pytest.mark.parametrize("arch", ["x86_64", "x86", "x32"])
def test_syscall_numbers_match_libseccomp(arch):
    token = SCMP[{"x86_64": "SCMP_ARCH_X86_64", "x86": "SCMP_ARCH_X86",
                  "x32": "SCMP_ARCH_X32"}[arch]]
    checked = 0
    for name, nr in syscall_tables()[arch].items():
        theirs = LIB.seccomp_syscall_resolve_name_arch(token, name.encode())
        if theirs < 0:
            continue        # newer than this libseccomp
        assert theirs == nr, (arch, name, theirs, nr)
        checked += 1
    assert checked > 300


class _Cmp(ctypes.Structure):
    _fields_ = [("arg", ctypes.c_uint), ("op", ctypes.c_int), ("a", ctypes.c_uint64),
                ("b", ctypes.c_uint64)]


OPNUM = {"SCMP_CMP_NE": 1, "SCMP_CMP_LT": 2, "SCMP_CMP_LE": 3, "SCMP_CMP_EQ": 4,
         "SCMP_CMP_GE": 5, "SCMP_CMP_GT": 6, "SCMP_CMP_MASKED_EQ": 7}


def libseccomp_program(resolved, tmp_path) -> bytes:
    """What runc would load: the same resolved rules through libseccomp."""
    from glassbox.seccomp.compile import action_value
    ctx = LIB.seccomp_init(action_value(resolved.default_action, resolved.default_errno))
    LIB.seccomp_arch_remove(ctx, SCMP["SCMP_ARCH_X86_64"])
    for a in resolved.architectures:
        assert LIB.seccomp_arch_add(ctx, SCMP[a]) == 0
    default = action_value(resolved.default_action, resolved.default_errno)
    for rule in resolved.rules:
        value = action_value(rule.action, rule.errno)
        if value == default:
            continue
        for name in rule.names:
            nr = LIB.seccomp_syscall_resolve_name(name.encode())
            if nr == -1:
                continue
            cmps = (_Cmp * max(1, len(rule.args)))(
                *[_Cmp(a.index, OPNUM[a.op], a.value if a.op != "SCMP_CMP_MASKED_EQ" else a.value,
                       a.value_two) for a in rule.args])
            assert LIB.seccomp_rule_add_array(ctx, value, nr, len(rule.args), cmps) == 0, name
    path = tmp_path / "lib.bpf"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    assert LIB.seccomp_export_bpf(ctx, fd) == 0
    os.close(fd)
    LIB.seccomp_release(ctx)
    return path.read_bytes()


@needs_lib
@pytest.mark.parametrize("caps", [DEFAULT_CAPS, (*DEFAULT_CAPS, "CAP_SYS_ADMIN")],
                         ids=["default-caps", "sys-admin"])
def test_same_decisions_as_libseccomp(caps, tmp_path):
    """Every syscall number of each arch, with argument values around the rules'
    constants: our program and libseccomp's answer alike (except the numbers past
    the last one named, where we add runc's ENOSYS stub and libseccomp does not)."""
    with open(DEFAULT_PATH) as f:
        resolved = resolve(parse(f.read()), caps, "amd64", (6, 1))
    ours = compile_filter(resolved)
    theirs = libseccomp_program(resolved, tmp_path)
    probes = [(0,), (17,), (0x01200011,), (0x10000011,), (38, 1), (39,), (40,), (41,), (8,),
              (0x40000,), (0xFFFFFFFF,), (0x20008,)]
    tables = syscall_tables()
    tokens = {"x86_64": SCMP["SCMP_ARCH_X86_64"], "x86": SCMP["SCMP_ARCH_X86"],
              "x32": SCMP["SCMP_ARCH_X32"]}
    for arch, audit in (("x86_64", X86_64), ("x86", I386), ("x32", X86_64)):
        table = tables[arch]
        named = max(table[n] for r in resolved.rules for n in r.names if n in table)
        known = [nr for name, nr in table.items()
                 if LIB.seccomp_syscall_resolve_name_arch(tokens[arch], name.encode()) >= 0]
        assert len(known) > 300
        with_args = {table[n] for r in resolved.rules if r.args for n in r.names if n in table}
        for nr in known + [named + 1, named + 2]:
            for args in probes if nr in with_args else probes[:1]:
                mine, ref = run(ours, nr, audit, args), run(theirs, nr, audit, args)
                if mine == errno_(38) and ref == errno_(1):
                    assert nr > named, (arch, nr)           # runc's ENOSYS stub
                else:
                    assert mine == ref, (arch, nr, args, hex(mine), hex(ref))


def test_native_arch_always_in_foreign_ones_left_out():
    """As libseccomp under runc: the host's arch is filtered even when a profile
    lists only others; an arch this kernel cannot run is never matched anyway."""
    doc = {"defaultAction": "SCMP_ACT_ERRNO", "architectures": ["SCMP_ARCH_AARCH64"],
           "syscalls": [{"names": ["write"], "action": "SCMP_ACT_ALLOW"}]}
    prog = compile_filter(resolve(parse(json.dumps(doc)), [], "amd64"))
    assert run(prog, NR["write"]) == ALLOW and run(prog, NR["read"]) == errno_(1)
    assert run(prog, NR32["write"], I386) == KILL_PROCESS      # i386 not asked for
    assert run(prog, syscall_tables()["x32"]["write"]) == KILL_PROCESS
