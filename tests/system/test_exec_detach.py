"""``exec -d``: the process starts in the container and the command returns at once."""

from __future__ import annotations

import time

import pytest

pytestmark = pytest.mark.system


def test_exec_detach_returns_and_the_process_runs(gbx):
    gbx.out("run", "-d", "--name", "box", "busybox", "sleep", "600")
    p = gbx.cli("exec", "-d", "box", "sh", "-c", "echo started > /tmp/mark; exec sleep 300",
                timeout=30)   # the command runs 300 s: returning at all is the point
    assert p.returncode == 0 and p.stdout == b"", p.stderr
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if gbx.cli("exec", "box", "cat", "/tmp/mark").stdout == b"started\n":
            break
        time.sleep(0.1)
    assert gbx.out("exec", "box", "cat", "/tmp/mark") == "started\n"
    assert "sleep 300" in gbx.out("exec", "box", "ps")
    gbx.out("rm", "-f", "box")


def test_exec_detach_of_a_missing_command_still_says_so(gbx):
    gbx.out("run", "-d", "--name", "box2", "busybox", "sleep", "600")
    p = gbx.cli("exec", "-d", "box2", "no-such-command")
    assert p.returncode != 0 and b"no-such-command" in p.stderr, (p.returncode, p.stderr)
    gbx.out("rm", "-f", "box2")
