"""A resolved profile -> one classic BPF seccomp program (pure Python).

The program has the shape libseccomp gives it::

    A = arch                              which calling convention?
    arch == X86_64 ? -> x86_64 section
    arch == I386   ? -> i386 section
    ret KILL_PROCESS                      an arch the profile does not cover
    x86_64 section:
      A = nr
      nr >= 0x40000000 ? -> x32 section   (x32 shares x86_64's audit arch)
      binary search over syscall numbers -> ret ACTION
                                         -> or argument checks, then ret

Each arch has its own numbers (``syscalls.json``): a name unknown to an arch
is skipped there, as libseccomp does, and a name unknown to all of them is
reported back (Docker: "unknown to this kernel, ignored").

The search tree is built over *ranges* of syscall numbers that end in the same
action, so a call costs about ``log2(ranges)`` comparisons (~9 for Docker's
profile), not a walk down a list of 350 names.

Argument rules follow runc (``libcontainer/seccomp``): the conditions of one
entry are ANDed, unless the entry tests the same argument twice, in which case
each condition is its own rule (ORed); entries for the same syscall are ORed.
Arguments are compared as 64-bit values, high word first.

Two errno conventions from Docker/runc: an ``SCMP_ACT_ERRNO`` without
``errnoRet`` returns ``EPERM``; and a syscall *newer* than every syscall the
profile names (for that arch) returns ``ENOSYS`` instead of the default action,
so a C library probing a new call (``clone3``, ``fchmodat2``) falls back to the
old one instead of failing with ``EPERM`` (runc's "ENOSYS stub").
"""

from __future__ import annotations

import json
import os
import sys

from .bpf import JEQ, JGE, JGT, Assembler, Label
from .profile import ACTIONS, ARCHES, FLAGS, NATIVE, Arg, Resolved

EPERM, ENOSYS = 1, 38
X32_BIT = 0x40000000
RET_KILL_PROCESS = 0x80000000
ARCH_TABLE = {"SCMP_ARCH_X86_64": "x86_64", "SCMP_ARCH_X86": "x86", "SCMP_ARCH_X32": "x32"}
_TABLES: dict | None = None


def syscall_tables() -> dict[str, dict[str, int]]:
    """Syscall name -> number, per arch (``syscalls.json``, from the kernel headers)."""
    global _TABLES
    if _TABLES is None:
        with open(os.path.join(os.path.dirname(__file__), "syscalls.json")) as f:
            _TABLES = json.load(f)["arches"]
    return _TABLES


def action_value(action: str, errno: int | None) -> int:
    """``SCMP_ACT_*`` -> the 32-bit ``SECCOMP_RET_*`` the program returns."""
    base = ACTIONS[action]
    if action in ("SCMP_ACT_ERRNO", "SCMP_ACT_TRACE"):
        return base | (EPERM if errno is None else errno)
    return base


def _conditions(args: tuple[Arg, ...]) -> list[tuple[Arg, ...]]:
    """runc's rule: one AND-ed group, or one group per condition when an
    argument index repeats."""
    if not args:
        return [()]
    indexes = [a.index for a in args]
    if len(set(indexes)) != len(indexes):
        return [(a,) for a in args]
    return [args]


class _Decision:
    """What one syscall number does: conditional rules in order, then a fallback."""

    __slots__ = ("cond", "uncond", "name")

    def __init__(self, name: str):
        self.cond: list[tuple[tuple[Arg, ...], int]] = []
        self.uncond: int | None = None
        self.name = name


def _decisions(resolved: Resolved, table: dict[str, int], arch: str,
               default: int) -> dict[int, _Decision]:
    out: dict[int, _Decision] = {}
    for rule in resolved.rules:
        value = action_value(rule.action, rule.errno)
        for name in rule.names:
            nr = table.get(name)
            if nr is None:
                continue
            d = out.setdefault(nr, _Decision(name))
            for group in _conditions(rule.args):
                if group:
                    d.cond.append((group, value))
                elif d.uncond is None or d.uncond == value:
                    d.uncond = value
                else:
                    from ..errors import InvalidArgument
                    raise InvalidArgument(f"seccomp profile: syscall {name!r} has two "
                                          f"unconditional rules with different actions ({arch})")
    return out


def _arg_offsets(index: int) -> tuple[int, int]:
    lo = 16 + 8 * index
    return (lo + 4, lo) if sys.byteorder == "little" else (lo, lo + 4)


def _emit_condition(asm: Assembler, arg: Arg, fail: Label) -> None:
    """Fall through when ``arg`` holds, jump to ``fail`` when it does not."""
    hi_off, lo_off = _arg_offsets(arg.index)
    v_hi, v_lo = arg.value >> 32, arg.value & 0xFFFFFFFF
    ok = asm.label()
    op = arg.op
    if op == "SCMP_CMP_EQ":
        asm.load(hi_off)
        asm.jump(JEQ, v_hi, None, fail)
        asm.load(lo_off)
        asm.jump(JEQ, v_lo, None, fail)
    elif op == "SCMP_CMP_MASKED_EQ":
        w_hi, w_lo = arg.value_two >> 32, arg.value_two & 0xFFFFFFFF
        asm.load(hi_off)
        asm.and_(v_hi)
        asm.jump(JEQ, w_hi, None, fail)
        asm.load(lo_off)
        asm.and_(v_lo)
        asm.jump(JEQ, w_lo, None, fail)
    elif op == "SCMP_CMP_NE":
        asm.load(hi_off)
        asm.jump(JEQ, v_hi, None, ok)
        asm.load(lo_off)
        asm.jump(JEQ, v_lo, fail, None)
    elif op in ("SCMP_CMP_GT", "SCMP_CMP_GE"):
        asm.load(hi_off)
        asm.jump(JGT, v_hi, ok, None)
        asm.jump(JEQ, v_hi, None, fail)
        asm.load(lo_off)
        asm.jump(JGT if op == "SCMP_CMP_GT" else JGE, v_lo, None, fail)
    elif op in ("SCMP_CMP_LT", "SCMP_CMP_LE"):   # not GE / not GT
        asm.load(hi_off)
        asm.jump(JGT, v_hi, fail, None)
        asm.jump(JEQ, v_hi, None, ok)
        asm.load(lo_off)
        asm.jump(JGE if op == "SCMP_CMP_LT" else JGT, v_lo, fail, None)
    else:  # pragma: no cover — parse() refuses other ops
        raise ValueError(op)
    asm.place(ok)


def _emit_leaf(asm: Assembler, leaf) -> None:
    if isinstance(leaf, int):
        asm.ret(leaf)
        return
    rules, fallback = leaf
    for group, value in rules:
        nxt = asm.label()
        for arg in group:
            _emit_condition(asm, arg, nxt)
        asm.ret(value)
        asm.place(nxt)
    asm.ret(fallback)


def _emit_tree(asm: Assembler, starts: list[int], leaves: list) -> None:
    """Binary search: A holds nr; segment i covers [starts[i], starts[i+1])."""
    if len(leaves) == 1:
        _emit_leaf(asm, leaves[0])
        return
    mid = len(leaves) // 2
    right = asm.label()
    asm.jump(JGE, starts[mid], right, None)
    _emit_tree(asm, starts[:mid], leaves[:mid])
    asm.place(right)
    _emit_tree(asm, starts[mid:], leaves[mid:])


def _segments(decisions: dict[int, _Decision], base: int, default: int,
              beyond: int) -> tuple[list[int], list]:
    """Cut [base, 2^32) into ranges of equal outcome."""
    starts: list[int] = []
    leaves: list = []

    def add(start: int, leaf) -> None:
        if leaves and isinstance(leaf, int) and leaves[-1] == leaf:
            return
        starts.append(start)
        leaves.append(leaf)

    nxt = base
    for nr in sorted(decisions):
        d = decisions[nr]
        if nr > nxt:
            add(nxt, default)
        fallback = d.uncond if d.uncond is not None else default
        rules = [(g, v) for g, v in d.cond if v != fallback]
        add(nr, (rules, fallback) if rules else fallback)
        nxt = nr + 1
    add(nxt, beyond)
    if not starts:
        starts, leaves = [base], [default]
    return starts, leaves


def compile_filter(resolved: Resolved, unknown: list[str] | None = None) -> bytes:
    """The BPF program for ``resolved``. Names no arch table knows are appended
    to ``unknown`` (the caller warns about them)."""
    tables = syscall_tables()
    # the native arch is always in (libseccomp starts with it, runc never removes it);
    # arches this kernel cannot run (aarch64 on an x86_64 host) can never match: left out
    native = NATIVE.get(_host_go_arch(), "")
    if native not in ARCH_TABLE:
        from ..errors import InvalidArgument
        raise InvalidArgument(f"seccomp: glassbox has no syscall table for {native or 'this host'}"
                              " (x86 family only); run with --security-opt seccomp=unconfined")
    archs = list(dict.fromkeys([a for a in resolved.architectures if a in ARCH_TABLE] +
                               [native]))
    if unknown is not None:
        known = set().union(*(tables[ARCH_TABLE[a]] for a in archs))
        for rule in resolved.rules:
            unknown.extend(n for n in rule.names if n not in known and n not in unknown)
    default = action_value(resolved.default_action, resolved.default_errno)
    stub = resolved.default_action not in ("SCMP_ACT_ALLOW", "SCMP_ACT_LOG")
    asm = Assembler()
    bad_arch = asm.label()
    sections: dict[int, Label] = {}
    asm.load(4)
    for a in archs:
        audit = ARCHES[a]
        if audit not in sections:
            sections[audit] = asm.label()
            asm.jump(JEQ, audit, sections[audit], None)
    asm.ret(RET_KILL_PROCESS)      # an arch the profile does not cover

    def section(name: str, base: int) -> None:
        table = tables[ARCH_TABLE[name]]
        dec = _decisions(resolved, table, name, default)
        beyond = action_value("SCMP_ACT_ERRNO", ENOSYS) if stub and dec else default
        starts, leaves = _segments(dec, base, default, beyond)
        _emit_tree(asm, starts, leaves)

    for audit, lab in sections.items():
        asm.place(lab)
        asm.load(0)
        names = [a for a in archs if ARCHES[a] == audit]
        if audit == ARCHES["SCMP_ARCH_X86_64"]:
            has64, has32 = "SCMP_ARCH_X86_64" in names, "SCMP_ARCH_X32" in names
            x32 = asm.label() if has32 else bad_arch
            if has64:
                asm.jump(JGE, X32_BIT, x32, None)
                section("SCMP_ARCH_X86_64", 0)
            else:
                asm.jump(JGE, X32_BIT, None, bad_arch)
            if has32:
                asm.place(x32)
                section("SCMP_ARCH_X32", X32_BIT)
        else:
            section(names[0], 0)
    asm.place(bad_arch)            # x86_64 without x32 (or the reverse): the other half
    asm.ret(RET_KILL_PROCESS)
    return asm.assemble()


def filter_flags(resolved: Resolved) -> int:
    """The ``seccomp(2)`` flags the profile asks for (TSYNC is moot: one thread)."""
    return sum(FLAGS[f] for f in set(resolved.flags))


def _host_go_arch() -> str:
    from .profile import host_arch
    return host_arch()
