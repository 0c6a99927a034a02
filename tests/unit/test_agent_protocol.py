"""The agent's wire format, which the C front (cli/front/glassbox.c) speaks too."""

from __future__ import annotations

import struct

import pytest

from glassbox.cli import agent


def test_a_request_round_trips_with_empty_and_non_ascii_words():
    argv = ["run", "--rm", "-e", "A=1", "busybox", "echo", "", "caf\u00e9", "x=y=z"]
    env = {"PATH": "/bin", "EMPTY": "", "EQ": "a=b", "BYTES": "\udcff"}
    wire = agent.encode_request(argv, "/tmp/d ir", env)
    (length,) = struct.unpack_from("!I", wire)
    assert length == len(wire) - 4
    assert agent.decode_request(wire[4:]) == (argv, "/tmp/d ir", env)


def test_the_layout_is_counts_then_nul_terminated_strings():
    wire = agent.encode_request(["ps"], "/", {"K": "V"})
    assert wire == struct.pack("!III", 8 + 2 + 3 + 4, 1, 1) + b"/\0ps\0K=V\0"


def test_a_request_whose_counts_lie_is_refused():
    wire = agent.encode_request(["ps", "-a"], "/", {})
    body = bytearray(wire[4:])
    body[3] = 5                        # argc 5, but only two words follow
    with pytest.raises(ValueError, match="malformed"):
        agent.decode_request(bytes(body))


def test_replies_are_eight_bytes_kind_and_value():
    assert agent._REPLY.pack(agent.EXIT, 137) == b"\0\0\0X\0\0\0\x89"
    assert agent._REPLY.size == 8
