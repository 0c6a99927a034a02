"""The agent's wire format, which the C front (cli/front/glassbox.c) speaks too."""

from __future__ import annotations

import os
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


def test_an_ordinary_users_agent_listens_in_their_private_runtime_dir(tmp_path, monkeypatch):
    """issue 14: beside the daemon's socket, not in the state root; and only in a
    directory of theirs with mode 0700 (a foreign one could hold a fake agent)."""
    from glassbox.cli import agent
    from glassbox.errors import InvalidArgument
    if os.geteuid() != 0:
        pytest.skip("makes a directory owned by another uid")
    uid = 54321
    run = tmp_path / "run"
    (run / "glassbox").mkdir(parents=True)
    os.chown(run / "glassbox", uid, uid)
    os.chmod(run / "glassbox", 0o700)
    monkeypatch.setattr(os, "geteuid", lambda: uid)
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(run))
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.delenv("XDG_DATA_HOME", raising=False)
    monkeypatch.delenv("GLASSBOX_ROOT", raising=False)
    own = str(tmp_path / "home" / ".local" / "share" / "glassbox")
    assert agent.socket_path() == agent.socket_path(own) == str(run / "glassbox" / "agent.sock")
    assert agent.socket_path(str(tmp_path / "other")) == str(tmp_path / "other" / "agent.sock")
    os.chmod(run / "glassbox", 0o755)                     # not private: refused
    with pytest.raises(InvalidArgument, match="not a private directory"):
        agent.socket_path()
