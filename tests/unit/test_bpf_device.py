"""The cgroup v2 device program as bytes (glassbox.cgroups.bpf_device), no root.

Three layers: single instructions against their hand-encoded bytes (``struct
bpf_insn``), one whole program against a golden dump, and the behaviour of the
programs — run on a tiny eBPF interpreter written here from the instruction set's
definition (only the opcodes the assembler may use; anything else fails the test),
which also checks the verifier's basic rules: every jump forward and inside the
program, every path ending in ``exit``. The kernel's own verifier and the real
effect are the system tests' job (tests/system/test_cgroups_system.py, test_devices.py).
"""

from __future__ import annotations

import struct

import pytest

from glassbox.cgroups import bpf_device as bpf
from glassbox.cgroups.devices import DEFAULT_RULES, Rule, parse_rule

BLOCK, CHAR = 1, 2
M, R, W = 1, 2, 4


# --- single instructions -------------------------------------------------------------

@pytest.mark.parametrize("made, hexbytes", [
    (bpf.insn(0xB7, dst=0, imm=1), "b700000001000000"),          # r0 = 1
    (bpf.insn(0x95), "9500000000000000"),                         # exit
    (bpf.insn(0x61, dst=2, src=1, off=0), "6112000000000000"),    # r2 = *(u32 *)(r1 + 0)
    (bpf.insn(0x61, dst=5, src=1, off=8), "6115080000000000"),    # r5 = *(u32 *)(r1 + 8)
    (bpf.insn(0x54, dst=2, imm=0xFFFF), "54020000ffff0000"),      # w2 &= 0xffff
    (bpf.insn(0x74, dst=3, imm=16), "7403000010000000"),          # w3 >>= 16
    (bpf.insn(0x55, dst=2, off=4, imm=2), "5502040002000000"),    # if r2 != 2 goto +4
    (bpf.insn(0x5D, dst=1, src=3, off=2), "5d31020000000000"),    # if r1 != r3 goto +2
])
def test_instruction_encoding(made, hexbytes):
    assert made.hex() == hexbytes
    assert len(made) == bpf.INSN_SIZE


def test_a_whole_program_byte_for_byte():
    code = bpf.assemble([parse_rule("c 1:3 rwm")])
    assert code.hex() == (
        "6112000000000000" "54020000ffff0000" "6113000000000000" "7403000010000000"
        "6114040000000000" "6115080000000000"                      # the prologue
        "5502040002000000" "5504030001000000" "5505020003000000"   # char? 1? 3? else skip 4/3/2
        "b700000001000000" "9500000000000000"                      # allow
        "b700000000000000" "9500000000000000")                     # deny by default
    assert bpf.disassemble(code)[6:9] == ["if r2 != 2 goto +4", "if r4 != 1 goto +3",
                                          "if r5 != 3 goto +2"]


def test_wildcards_and_full_access_leave_their_tests_out():
    def body(rule: str) -> list[str]:
        return bpf.disassemble(bpf.assemble([parse_rule(rule)]))[6:-2]
    assert body("a *:* rwm") == ["r0 = 1", "exit"]
    assert body("c 136:* rwm") == ["if r2 != 2 goto +3", "if r4 != 136 goto +2", "r0 = 1", "exit"]
    assert body("b *:* m") == ["if r2 != 1 goto +5", "r1 = r3", "r1 &= 1",
                               "if r1 != r3 goto +2", "r0 = 1", "exit"]
    assert body("c *:7 rw") == ["if r2 != 2 goto +6", "r1 = r3", "r1 &= 6",
                                "if r1 != r3 goto +3", "if r5 != 7 goto +2", "r0 = 1", "exit"]


def test_no_rules_is_deny_everything():
    assert bpf.disassemble(bpf.assemble([]))[6:] == ["r0 = 0", "exit"]


# --- behaviour, on an interpreter ----------------------------------------------------

def run(code: bytes, dev_type: int, access: int, major: int, minor: int) -> int:
    """Execute ``code`` on ``struct bpf_cgroup_dev_ctx`` the way the kernel would."""
    assert len(code) % 8 == 0
    n = len(code) // 8
    ctx = struct.pack("<III", (access << 16) | dev_type, major, minor)
    reg = [0] * 11
    reg[1] = "ctx"                                   # a pointer: only loads through it
    mask64 = (1 << 64) - 1
    pc, steps = 0, 0
    while True:
        assert 0 <= pc < n, f"fell off the program at {pc}"
        steps += 1
        assert steps <= n, "a loop: only forward jumps are allowed"
        op, regs, off, imm = struct.unpack_from("<BBhi", code, pc * 8)
        dst, src = regs & 0xF, regs >> 4
        pc += 1
        if op == 0x61:
            assert reg[src] == "ctx" and off in (0, 4, 8), "load outside the context"
            reg[dst] = struct.unpack_from("<I", ctx, off)[0]
        elif op == 0x54:
            reg[dst] = (reg[dst] & imm) & 0xFFFFFFFF
        elif op == 0x74:
            reg[dst] = (reg[dst] & 0xFFFFFFFF) >> imm
        elif op == 0xB7:
            reg[dst] = imm & mask64
        elif op == 0xBF:
            reg[dst] = reg[src]
        elif op == 0x57:
            reg[dst] = reg[dst] & (imm & mask64)
        elif op in (0x55, 0x5D):
            assert off >= 0, "backward jump"
            other = (imm & mask64) if op == 0x55 else reg[src]
            if reg[dst] != other:
                pc += off
        elif op == 0x95:
            return reg[0]
        else:
            raise AssertionError(f"opcode {op:#x} is not one the assembler may emit")


DOCKER = bpf.assemble(DEFAULT_RULES)


@pytest.mark.parametrize("dev_type, major, minor, access, allowed", [
    (CHAR, 1, 3, R | W, 1),        # /dev/null
    (CHAR, 1, 9, R, 1),            # /dev/urandom
    (CHAR, 5, 2, R | W, 1),        # /dev/ptmx
    (CHAR, 136, 4, R | W, 1),      # /dev/pts/4
    (CHAR, 10, 200, R | W, 1),     # /dev/net/tun
    (BLOCK, 7, 0, M, 1),           # mknod /tmp/l b 7 0 ...
    (BLOCK, 7, 0, R, 0),           # ... but not open it
    (BLOCK, 8, 0, R | W, 0),       # the host's first disk
    (CHAR, 10, 237, R | W, 0),     # /dev/loop-control
    (CHAR, 10, 229, R | W, 0),     # /dev/fuse
    (CHAR, 10, 232, R | W, 0),     # /dev/kvm
    (CHAR, 1, 11, R, 0),           # /dev/kmsg
    (CHAR, 1, 1, R, 0),            # /dev/mem
    (CHAR, 120, 3, M, 1),          # mknod of any char node
    (CHAR, 1, 3, R | W | M, 1),
])
def test_dockers_list_as_a_program(dev_type, major, minor, access, allowed):
    assert run(DOCKER, dev_type, access, major, minor) == allowed


def test_partial_access_rule_allows_only_what_it_names():
    code = bpf.assemble([Rule("c", 120, None, "r")])
    assert run(code, CHAR, R, 120, 9) == 1
    assert run(code, CHAR, W, 120, 9) == 0
    assert run(code, CHAR, R | W, 120, 9) == 0          # every bit asked for must be allowed
    assert run(code, BLOCK, R, 120, 9) == 0
    assert run(code, CHAR, R, 121, 9) == 0


def test_rules_are_tried_in_order_and_a_match_anywhere_allows():
    code = bpf.assemble([parse_rule("b 8:0 r"), parse_rule("a *:* m"), parse_rule("c 4:* rw")])
    assert run(code, BLOCK, R, 8, 0) == 1
    assert run(code, BLOCK, R, 8, 1) == 0
    assert run(code, BLOCK, M, 8, 1) == 1 and run(code, CHAR, M, 99, 1) == 1
    assert run(code, CHAR, W, 4, 64) == 1


def test_large_device_numbers_fit_the_immediate():
    # majors are 12 bits and minors 20: both are positive in the signed 32-bit imm
    code = bpf.assemble([Rule("c", 4095, (1 << 20) - 1, "rwm")])
    assert run(code, CHAR, R, 4095, (1 << 20) - 1) == 1
    assert run(code, CHAR, R, 4095, 0) == 0
