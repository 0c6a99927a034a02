"""The cgroup v2 device filter: a tiny eBPF program, assembled here in Python.

cgroup v2 has no ``devices.allow`` file. Instead the kernel runs a small program
of type ``BPF_PROG_TYPE_CGROUP_DEVICE`` attached to the cgroup every time a
process in it opens or ``mknod``s a device node. The program gets a three-word
context and answers 1 (allow) or 0 (deny, the caller sees ``EPERM``)::

    struct bpf_cgroup_dev_ctx {      /* <linux/bpf.h> */
        __u32 access_type;           /* (access << 16) | type */
        __u32 major;
        __u32 minor;
    };

``type`` is 1 block or 2 char; ``access`` is a bit set: 1 mknod, 2 read, 4 write.
runc, crun and systemd all generate such a program from the same rule list the
v1 controller takes; this module does the same, with no compiler at run time.

eBPF in one paragraph: eleven 64-bit registers (``r1`` holds the context pointer
on entry, ``r0`` is the return value) and fixed 8-byte instructions::

    opcode:8  dst_reg:4 src_reg:4 (little-endian: dst in the low nibble)  off:16  imm:32

The program below loads the context into r2..r5 once, then for each rule tests
type, access and numbers, jumping over the rule's ``r0 = 1; exit`` at the first
mismatch (``off`` counts instructions after the jump). Falling off the last rule
reaches ``r0 = 0; exit``: **deny by default**. For the rule ``c 1:3 rwm`` (with the
access test left out, since ``rwm`` allows any access)::

    r2 = *(u32 *)(r1 + 0)    ; access_type
    w2 &= 0xffff             ; the device type
    r3 = *(u32 *)(r1 + 0)
    w3 >>= 16                ; the access asked for
    r4 = *(u32 *)(r1 + 4)    ; major
    r5 = *(u32 *)(r1 + 8)    ; minor
    if r2 != 2 goto +4       ; not a char device: next rule
    if r4 != 1 goto +3
    if r5 != 3 goto +2
    r0 = 1
    exit
    r0 = 0                   ; no rule matched
    exit

A rule with less than ``rwm`` adds ``r1 = r3; r1 &= A; if r1 != r3 goto next``:
every access bit asked for must be in the rule. The verifier checks the program
when it is loaded (only forward jumps, every path ends in ``exit``, context
reads in bounds), so a bad one is refused, with its log, not run.

Everything here is pure (bytes in, bytes out); loading and attaching is
:meth:`glassbox.cgroups.v2.V2Cgroup.restrict_devices` through ``glassbox._sys``.
"""

from __future__ import annotations

import struct

from .devices import Rule

PROG_TYPE_CGROUP_DEVICE = 15
"""``BPF_PROG_TYPE_CGROUP_DEVICE`` (enum bpf_prog_type)."""
ATTACH_CGROUP_DEVICE = 6
"""``BPF_CGROUP_DEVICE`` (enum bpf_attach_type)."""
F_ALLOW_MULTI = 2
"""``BPF_F_ALLOW_MULTI``: ours runs *besides* an ancestor's (e.g. systemd's); every one must allow."""

DEV_TYPE = {"b": 1, "c": 2}
"""``BPF_DEVCG_DEV_BLOCK``, ``BPF_DEVCG_DEV_CHAR``."""
ACCESS = {"m": 1, "r": 2, "w": 4}
"""``BPF_DEVCG_ACC_MKNOD``, ``_READ``, ``_WRITE``."""

# opcode = operation | source (K immediate / X register) | class
_LDX_MEM_W = 0x61      # BPF_LDX | BPF_MEM | BPF_W: dst = *(u32 *)(src + off)
_ALU32_AND_K = 0x54    # BPF_ALU | BPF_AND | BPF_K: w(dst) &= imm
_ALU32_RSH_K = 0x74    # BPF_ALU | BPF_RSH | BPF_K: w(dst) >>= imm
_ALU64_MOV_K = 0xB7    # BPF_ALU64 | BPF_MOV | BPF_K: dst = imm
_ALU64_MOV_X = 0xBF    # BPF_ALU64 | BPF_MOV | BPF_X: dst = src
_ALU64_AND_K = 0x57    # BPF_ALU64 | BPF_AND | BPF_K: dst &= imm
_JMP_JNE_K = 0x55      # BPF_JMP | BPF_JNE | BPF_K: if dst != imm: pc += off
_JMP_JNE_X = 0x5D      # BPF_JMP | BPF_JNE | BPF_X: if dst != src: pc += off
_JMP_EXIT = 0x95       # BPF_JMP | BPF_EXIT: return r0

INSN_SIZE = 8


def insn(op: int, dst: int = 0, src: int = 0, off: int = 0, imm: int = 0) -> bytes:
    """One eBPF instruction, as the kernel reads ``struct bpf_insn``."""
    return struct.pack("<BBhi", op, (src << 4) | dst, off, imm)


def _prologue() -> list[bytes]:
    return [insn(_LDX_MEM_W, dst=2, src=1, off=0),
            insn(_ALU32_AND_K, dst=2, imm=0xFFFF),
            insn(_LDX_MEM_W, dst=3, src=1, off=0),
            insn(_ALU32_RSH_K, dst=3, imm=16),
            insn(_LDX_MEM_W, dst=4, src=1, off=4),
            insn(_LDX_MEM_W, dst=5, src=1, off=8)]


def _access_mask(access: str) -> int:
    return sum(ACCESS[a] for a in set(access))


def _rule_block(rule: Rule) -> list[bytes]:
    """The tests of one rule (each jumping to the block's end on mismatch), then allow."""
    tests: list[tuple[int, int, int, int]] = []       # (op, dst, src, imm) of each jump
    pre: dict[int, list[bytes]] = {}                  # instructions before test i
    if rule.type != "a":
        tests.append((_JMP_JNE_K, 2, 0, DEV_TYPE[rule.type]))
    mask = _access_mask(rule.access)
    if mask != 7:
        pre[len(tests)] = [insn(_ALU64_MOV_X, dst=1, src=3), insn(_ALU64_AND_K, dst=1, imm=mask)]
        tests.append((_JMP_JNE_X, 1, 3, 0))
    if rule.major is not None:
        tests.append((_JMP_JNE_K, 4, 0, rule.major))
    if rule.minor is not None:
        tests.append((_JMP_JNE_K, 5, 0, rule.minor))
    allow = [insn(_ALU64_MOV_K, dst=0, imm=1), insn(_JMP_EXIT)]
    # lay the block out, then fill in each jump's distance to the end
    layout: list[tuple[int, int, int, int] | bytes] = []
    for i, t in enumerate(tests):
        layout += pre.get(i, [])
        layout.append(t)
    layout += allow
    out = []
    for pos, item in enumerate(layout):
        if isinstance(item, bytes):
            out.append(item)
        else:
            op, dst, src, imm = item
            out.append(insn(op, dst=dst, src=src, off=len(layout) - pos - 1, imm=imm))
    return out


def assemble(rules: tuple[Rule, ...] | list[Rule]) -> bytes:
    """The whole program for ``rules`` (allow rules, first match wins), deny by default.

    An ``a *:* rwm`` rule allows everything (``--privileged`` attaches no program
    at all instead)."""
    prog = _prologue()
    for rule in rules:
        prog += _rule_block(rule)
    prog += [insn(_ALU64_MOV_K, dst=0, imm=0), insn(_JMP_EXIT)]
    return b"".join(prog)


def disassemble(code: bytes) -> list[str]:
    """The program as text, one line per instruction (for error messages and the course)."""
    names = {_LDX_MEM_W: "r{d} = *(u32 *)(r{s} {o:+d})", _ALU32_AND_K: "w{d} &= {i:#x}",
             _ALU32_RSH_K: "w{d} >>= {i}", _ALU64_MOV_K: "r{d} = {i}",
             _ALU64_MOV_X: "r{d} = r{s}", _ALU64_AND_K: "r{d} &= {i}",
             _JMP_JNE_K: "if r{d} != {i} goto {o:+d}", _JMP_JNE_X: "if r{d} != r{s} goto {o:+d}",
             _JMP_EXIT: "exit"}
    lines = []
    for pos in range(0, len(code), INSN_SIZE):
        op, regs, off, imm = struct.unpack_from("<BBhi", code, pos)
        fmt = names.get(op, f"op {op:#04x} r{{d}} r{{s}} {{o}} {{i}}")
        lines.append(fmt.format(d=regs & 0xF, s=regs >> 4, o=off, i=imm))
    return lines
