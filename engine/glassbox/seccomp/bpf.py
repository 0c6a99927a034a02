"""Classic BPF, the little language seccomp filters are written in.

A seccomp filter is a program of 8-byte instructions (``struct sock_filter``:
``u16 code, u8 jt, u8 jf, u32 k``) that the kernel runs on every system call
with a read-only ``struct seccomp_data`` as its packet::

    offset 0   int   nr        the syscall number
    offset 4   u32   arch      AUDIT_ARCH_* of the calling convention
    offset 8   u64   ip
    offset 16  u64   args[6]   (little-endian here: low word first)

It has one accumulator ``A``, loads 32-bit words, compares, jumps *forward
only* and ends with ``ret K``: the action (``SECCOMP_RET_ALLOW``,
``SECCOMP_RET_ERRNO | errno``, ...). Conditional jumps encode their targets in
8 bits (at most 255 instructions ahead), so :class:`Assembler` lets the
compiler jump to labels and, where a target is too far, routes the jump
through an unconditional ``ja`` (32-bit offset) — the fix-up every cBPF
generator needs (libseccomp does the same).
"""

from __future__ import annotations

import struct

# opcodes (linux/filter.h, linux/bpf_common.h)
LD_W_ABS = 0x20     # A = data[k] (32 bits)
ALU_AND_K = 0x54    # A &= k
JA = 0x05           # pc += k
JEQ = 0x15          # pc += (A == k) ? jt : jf
JGT = 0x25          # A >  k (unsigned)
JGE = 0x35          # A >= k (unsigned)
JSET = 0x45         # A & k
RET_K = 0x06        # return k

MAX_INSNS = 4096    # BPF_MAXINSNS
_INSN = struct.Struct("=HBBI")


class Label:
    """A jump target; placed with :meth:`Assembler.place`."""

    __slots__ = ("pos",)

    def __init__(self):
        self.pos = -1


class Assembler:
    """Collects instructions with symbolic jump targets and lays them out.

    ``jump(op, k, jt, jf)``: ``jt``/``jf`` are :class:`Label` or ``None`` (the next
    instruction)."""

    def __init__(self) -> None:
        self.items: list = []   # ("i", code, k) | ("j", op, k, jt, jf) | ("a", label) | Label

    def label(self) -> Label:
        return Label()

    def place(self, label: Label) -> None:
        self.items.append(label)

    def load(self, offset: int) -> None:
        self.items.append(("i", LD_W_ABS, offset))

    def and_(self, mask: int) -> None:
        self.items.append(("i", ALU_AND_K, mask))

    def ret(self, action: int) -> None:
        self.items.append(("i", RET_K, action))

    def jump(self, op: int, k: int, jt: Label | None, jf: Label | None) -> None:
        if jt is None and jf is None:
            return              # both ways the same: no instruction needed
        self.items.append(("j", op, k, jt, jf))

    def goto(self, label: Label) -> None:
        self.items.append(("a", label))

    def assemble(self) -> bytes:
        """Lay out, fix up far jumps, and return the program as bytes."""
        items = self.items
        while True:
            pos = 0
            for it in items:
                if isinstance(it, Label):
                    it.pos = pos
                else:
                    pos += 1
            far = False
            out: list = []
            pc = 0
            for it in items:
                if isinstance(it, Label):
                    out.append(it)
                    continue
                if it[0] == "j":
                    _, op, k, jt, jf = it
                    if _far(jt, pc) or _far(jf, pc):
                        far = True
                        # jcond k -> ja jt / ja jf, each one instruction away
                        if jt is not None and jf is not None:
                            out += [("j", op, k, _Rel(0), _Rel(1)), ("a", jt), ("a", jf)]
                        elif jt is not None:
                            out += [("j", op, k, _Rel(0), _Rel(1)), ("a", jt)]
                        else:
                            out += [("j", op, k, _Rel(1), _Rel(0)), ("a", jf)]
                        pc += 1
                        continue
                out.append(it)
                pc += 1
            items = out
            if not far:
                break
        code = bytearray()
        pc = 0
        for it in items:
            if isinstance(it, Label):
                continue
            kind = it[0]
            if kind == "i":
                code += _INSN.pack(it[1], 0, 0, it[2])
            elif kind == "a":
                off = it[1].pos - pc - 1
                if off < 0:
                    raise AssertionError("cBPF jumps forward only")
                code += _INSN.pack(JA, 0, 0, off)
            else:
                _, op, k, jt, jf = it
                code += _INSN.pack(op, _offset(jt, pc), _offset(jf, pc), k)
            pc += 1
        if pc > MAX_INSNS:
            from ..errors import InvalidArgument
            raise InvalidArgument(f"seccomp profile too large: {pc} BPF instructions "
                                  f"(the kernel's limit is {MAX_INSNS})")
        return bytes(code)


class _Rel:
    """A jump a fixed number of instructions ahead (used by the far-jump fix-up)."""

    __slots__ = ("n",)

    def __init__(self, n: int):
        self.n = n


def _far(target, pc: int) -> bool:
    return isinstance(target, Label) and target.pos - pc - 1 > 255


def _offset(target, pc: int) -> int:
    if target is None:
        return 0
    if isinstance(target, _Rel):
        return target.n
    off = target.pos - pc - 1
    if not 0 <= off <= 255:
        raise AssertionError(f"jump offset {off} out of range after fix-up")
    return off


def decode(code: bytes) -> list[tuple[int, int, int, int]]:
    """The program as ``(code, jt, jf, k)`` tuples (tests, teaching)."""
    return [_INSN.unpack_from(code, i) for i in range(0, len(code), _INSN.size)]
