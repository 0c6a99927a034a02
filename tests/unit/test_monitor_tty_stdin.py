"""The C monitor's TTY mode: the container's stdin FIFO copied into the pty master,
and partial lines (a prompt) logged as they come — on a real pty and a real FIFO,
with ``cat`` standing in for the container's shell (no root needed)."""

from __future__ import annotations

import json
import os
import subprocess
import time

import pytest


@pytest.fixture(scope="module")
def monitor(tmp_path_factory) -> str:
    """The real gbx-monitor, built from its source into a temp dir."""
    from glassbox._native import compile_c
    from glassbox.runtime.monitor import SOURCE
    out = compile_c(SOURCE, str(tmp_path_factory.mktemp("mon") / "gbx-monitor"))
    if out is None:
        pytest.skip("no C compiler")
    return out


def _entries(log: str) -> list[dict]:
    try:
        with open(log) as f:
            return [json.loads(line) for line in f if line.strip()]
    except FileNotFoundError:
        return []


def _wait_for(log: str, pred, what: str) -> list[dict]:
    deadline = time.monotonic() + 20     # a bound against hanging, not a timing assert
    while time.monotonic() < deadline:
        es = _entries(log)
        if pred(es):
            return es
        time.sleep(0.02)
    raise AssertionError(f"{what}: the log has {_entries(log)!r}")


def _write_and_close(path: str, data: bytes) -> None:
    """One writer that comes and goes, as an attach does."""
    fd = os.open(path, os.O_WRONLY)
    try:
        os.write(fd, data)
    finally:
        os.close(fd)


def test_fifo_input_reaches_the_pty_and_partial_lines_are_logged(monitor, tmp_path):
    master, slave = os.openpty()
    fifo = str(tmp_path / "stdin")
    os.mkfifo(fifo, 0o600)
    log = str(tmp_path / "container.log")
    cat = subprocess.Popen(["cat"], stdin=slave, stdout=slave, stderr=slave)
    os.close(slave)
    mon = subprocess.Popen([monitor, str(cat.pid), log, f"{master}:stdout", "--tty",
                            "--stdin", fifo], pass_fds=(master,), cwd=tmp_path)
    os.close(master)
    try:
        _write_and_close(fifo, b"first-line\n")
        _wait_for(log, lambda es: sum("first-line" in e["log"] for e in es) >= 2,
                  "the pty's echo and cat's answer")
        # a writer closing the FIFO was no EOF: the next one's bytes still arrive
        _write_and_close(fifo, b"partial")
        es = _wait_for(log, lambda es: any(e["log"] == "partial" for e in es),
                       "the echoed partial line, logged without waiting for its newline")
        assert all(e["stream"] == "stdout" for e in es)
        assert "".join(e["log"] for e in es).count("first-line\r\n") == 2
    finally:
        cat.kill()
        cat.wait()
    # the slave's last holder is gone: the master reads EIO and the monitor ends
    # (125: the pid was not its child to wait for, as it never is outside a shim)
    assert mon.wait(timeout=20) == 125


def test_without_tty_a_partial_line_waits_for_its_newline(monitor, tmp_path):
    r, w = os.pipe()
    log = str(tmp_path / "container.log")
    sleeper = subprocess.Popen(["sleep", "600"])
    mon = subprocess.Popen([monitor, str(sleeper.pid), log, f"{r}:stdout", "--"],
                           pass_fds=(r,), cwd=tmp_path)
    os.close(r)
    try:
        os.write(w, b"no newline yet")
        os.write(w, b" - now\nnext")
    finally:
        os.close(w)
        sleeper.kill()
        sleeper.wait()
    assert mon.wait(timeout=20) == 125
    assert [e["log"] for e in _entries(log)] == ["no newline yet - now\n", "next"]
