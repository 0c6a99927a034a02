"""A program run on the slave end of a fresh pty, driven from the master as a
terminal emulator would: what it prints is read, keys are written. Used by the
interactive TTY tests (``glassbox run -it``/``attach``, the docker CLI's
``attach`` against glassbox's daemon)."""

from __future__ import annotations

import fcntl
import os
import select
import struct
import subprocess
import termios
import time


class PtySession:
    def __init__(self, argv: list[str], env: dict, *, rows: int = 33, cols: int = 101):
        self.master, slave = os.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))
        self.tty = os.ttyname(slave)
        self.proc = subprocess.Popen(argv, stdin=slave, stdout=slave, stderr=slave, env=env,
                                     start_new_session=True)
        os.close(slave)
        self.seen = b""

    def send(self, data: bytes) -> None:
        os.write(self.master, data)

    def _read(self, wait: float) -> bool:
        """One read (False: nothing holds the slave any more)."""
        r, _, _ = select.select([self.master], [], [], wait)
        if not r:
            return True
        try:
            chunk = os.read(self.master, 65536)
        except OSError:                  # EIO: no process holds the slave any more
            return False
        self.seen += chunk
        return bool(chunk)

    def expect(self, needle: bytes, within: float = 60) -> None:
        """Read until ``needle`` was printed (a bound against hanging, not a timing
        assert: a slow machine only takes longer)."""
        deadline = time.monotonic() + within
        while needle not in self.seen:
            if time.monotonic() > deadline or not self._read(0.2):
                raise AssertionError(f"{needle!r} never came; the terminal shows "
                                     f"{self.seen[-2000:]!r}")

    def exit_code(self, within: float = 60) -> int:
        """Wait for the program's exit (reading what it prints meanwhile)."""
        deadline = time.monotonic() + within
        while self.proc.poll() is None and time.monotonic() < deadline:
            self._read(0.1)
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
            raise AssertionError(f"it did not exit; it shows {self.seen[-2000:]!r}")
        while self._read(0):
            pass
        return self.proc.returncode

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        os.close(self.master)
