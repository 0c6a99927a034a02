"""The user's terminal, attached to a container with a TTY (``run -it``, ``start -ai``,
``attach``).

The terminal is put in raw mode, so every key — ctrl-c included — reaches the
container's shell, which has a terminal of its own (the pty its monitor holds)
that does the echoing and line editing. Two keys do not go through: the *detach
keys* (``ctrl-p,ctrl-q`` or ``--detach-keys``, :mod:`glassbox.containers.detach`).
When they are typed the CLI gives the terminal back (restores its mode) and
exits 0, and the container runs on, its output going to its log.

How the bytes flow, and why this way:

``run -it`` / ``start -ai``: the CLI starts the container with two pipes of its
own (not the terminal itself) and copies between them and the terminal
(:func:`pump`). The shim copies the pipes to and from the pty. On detach the
CLI closes its ends: the shim sees its output pipe lose its reader, lets go of
both and hands the container over to the C monitor. Had the shim been given the
terminal, it would have kept reading the user's keys after the CLI left.

``attach``: the container already runs under its monitor, which keeps no
terminal. The CLI follows its log (a TTY's is written as it comes, so a prompt
shows) and writes what is typed into the container's stdin FIFO
(``Engine.open_stdin``: the monitor copies it into the pty). The exit ends the
log; ``attach`` then exits with the container's code.

Either way the pty is sized like the terminal when the session starts and again
on every SIGWINCH (``Engine.resize``).
"""

from __future__ import annotations

import os
import select
import signal

from .._files import write_all


class RawTerminal:
    """``with RawTerminal(fd):`` raw mode while inside, the old mode restored after
    (also on an error). Nothing happens when ``fd`` is not a terminal."""

    def __init__(self, fd: int = 0, wanted: bool = True):
        self.fd = fd
        self.saved = None
        self.wanted = wanted

    def __enter__(self) -> "RawTerminal":
        if self.wanted and os.isatty(self.fd):
            import termios
            import tty
            self.saved = termios.tcgetattr(self.fd)
            tty.setraw(self.fd, termios.TCSANOW)   # (not TCSAFLUSH: keep what was typed ahead)
        return self

    def __exit__(self, *exc) -> None:
        if self.saved is not None:
            import termios
            termios.tcsetattr(self.fd, termios.TCSADRAIN, self.saved)
            self.saved = None


def terminal_size(fd: int = 1) -> tuple[int, int] | None:
    """(rows, cols) of the terminal on ``fd`` (else on stdin), None without one."""
    for f in (fd, 0):
        try:
            size = os.get_terminal_size(f)
        except OSError:
            continue
        return size.lines, size.columns
    return None


def follow_size(eng, cid: str):
    """Size the container's pty like our terminal now and on every SIGWINCH.
    Returns a function that puts the old SIGWINCH handler back."""
    def resize(*_):
        size = terminal_size()
        if size is not None:
            try:
                eng.resize(cid, *size)
            except Exception:  # noqa: BLE001 — a size is a courtesy, never an error
                pass
    resize()
    old = signal.signal(signal.SIGWINCH, resize)
    return lambda: signal.signal(signal.SIGWINCH, old)


DETACHED = "detached"
ENDED = "ended"


def pump(keys: bytes | None, in_fd: int | None, out_fd: int | None, *, term_in: int = 0,
         term_out: int = 1, done_fd: int | None = None) -> str:
    """Copy the terminal's input to ``in_fd`` (scanned for ``keys``) and ``out_fd``
    (the container's output) to the terminal.

    Returns :data:`DETACHED` when the keys were typed, :data:`ENDED` when the
    output ended (``out_fd`` at EOF, or ``done_fd`` readable: the log follower's
    end of the container). The terminal's EOF only stops the input. A container
    no longer reading its input (``in_fd`` gone) stops it too. ``keys`` None:
    nothing is scanned (without a TTY the keys are ordinary input, as in Docker)."""
    from ..containers.detach import DetachScanner
    scanner = DetachScanner(keys) if keys else None
    watch = [fd for fd in (term_in if in_fd is not None else None, out_fd, done_fd)
             if fd is not None]
    while watch:
        ready, _, _ = select.select(watch, [], [])
        for fd in ready:
            if fd == done_fd:
                return ENDED
            try:
                data = os.read(fd, 65536)
            except OSError:
                data = b""
            if fd == out_fd:
                if not data:
                    return ENDED
                _write_all(term_out, data)
                continue
            if not data:                  # the terminal's input ended: output goes on
                watch.remove(fd)
                continue
            detached = False
            if scanner is not None:
                data, detached = scanner.feed(data)
            if data and in_fd is not None and not _write_all(in_fd, data):
                in_fd = None
                watch.remove(fd)
            if detached:
                return DETACHED
    return ENDED


def _write_all(fd: int, data: bytes) -> bool:
    """Write everything; False when the reader is gone."""
    try:
        write_all(fd, data)
        return True
    except OSError:
        return False
