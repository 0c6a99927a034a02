"""Detach keys (daemon/hijack.py): Docker's spelling, and the scanner that holds back
what may begin the sequence."""

from __future__ import annotations

import pytest

from glassbox.containers.detach import DEFAULT_DETACH_KEYS, DetachScanner, parse_detach_keys
from glassbox.errors import InvalidArgument


def test_parse_detach_keys_as_docker_spells_them():
    assert parse_detach_keys(None) == parse_detach_keys("") == DEFAULT_DETACH_KEYS == b"\x10\x11"
    assert parse_detach_keys("ctrl-p,ctrl-q") == b"\x10\x11"
    assert parse_detach_keys("ctrl-a,d") == b"\x01d"
    assert parse_detach_keys("CTRL-Z, ctrl-@ ,ctrl-_") == b"\x1a\x00\x1f"
    for bad in ("ctrl-", "ctrl-1", "ctrl-ab", "ab", "a,,b", "é"):
        with pytest.raises(InvalidArgument, match="Invalid detach keys") as ei:
            parse_detach_keys(bad, "DetachKeys")
        assert bad in str(ei.value) and "DetachKeys" in str(ei.value)


def test_scanner_detaches_across_chunks_and_drops_the_rest():
    s = DetachScanner(b"\x10\x11")
    assert s.feed(b"ls\r\x10") == (b"ls\r", False)          # ctrl-p held back ...
    assert s.feed(b"\x11after") == (b"", True)               # ... ctrl-q: detach


def test_scanner_gives_back_a_prefix_that_did_not_complete():
    s = DetachScanner(b"\x10\x11")
    assert s.feed(b"\x10") == (b"", False)
    assert s.feed(b"x") == (b"\x10x", False)                 # ctrl-p x: both go on
    assert s.feed(b"\x10\x10\x11") == (b"\x10", True)        # a prefix restarting the match


def test_scanner_with_a_longer_sequence():
    s = DetachScanner(parse_detach_keys("ctrl-a,d,q"))
    assert s.feed(b"\x01dx") == (b"\x01dx", False)
    assert s.feed(b"a\x01d") == (b"a", False)
    assert s.feed(b"q") == (b"", True)
