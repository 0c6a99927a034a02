"""A container's stdin kept open when nobody is attached (Docker's ``OpenStdin``),
and its terminal reached from outside.

``docker run -di busybox cat`` (docker-py ``stdin_open=True``) starts a container
whose stdin must stay open although no client is attached: ``cat`` or ``sh -i``
then wait for input instead of reading EOF and exiting, and clients ``exec`` into
the long-lived container. Docker keeps a pipe's write end in its shim. glassbox
keeps a FIFO in the container's directory (``<cdir>/stdin``):

* without a TTY, the container gets the FIFO opened read-write as fd 0
  (:func:`open_for_container`), so there is always a writer and a read blocks
  instead of returning EOF — with no process of glassbox having to stay around;
* with a TTY (``-it``), the container's stdin is its pty; the FIFO is read by its
  monitor — the Python shim while a terminal is attached, the C monitor after
  (``gbx-monitor --stdin``) — which copies it into the pty master, as if typed on
  the container's terminal (:func:`open_for_monitor`);
* either way, a later ``attach`` with stdin opens the FIFO for writing
  (:func:`open_for_writer`, ``Engine.open_stdin``) and what the client types
  reaches the container.

A terminal's size belongs to the pty; an attach sets it to the attaching
terminal's with :func:`set_winsize` (the kernel sends the program SIGWINCH).
The daemon's ``/resize`` and the CLI's attach share it (``Engine.resize``).
"""

from __future__ import annotations

import os

FIFO = "stdin"


def fifo_path(cdir: str) -> str:
    """The FIFO of the container in ``cdir``, made on first use (kept across restarts)."""
    path = os.path.join(cdir, FIFO)
    try:
        os.mkfifo(path, 0o600)
    except FileExistsError:
        pass
    return path


def open_for_container(cdir: str) -> int:
    """The fd to give a container without a TTY as stdin."""
    # O_RDWR: the container itself holds a writer, so its reads never see EOF
    return os.open(fifo_path(cdir), os.O_RDWR | os.O_CLOEXEC)


def open_for_monitor(cdir: str) -> int:
    """The fd a TTY container's monitor reads the FIFO from: read-write (writers
    that come and go are no EOF) and non-blocking (it is polled with the pty)."""
    return os.open(fifo_path(cdir), os.O_RDWR | os.O_NONBLOCK | os.O_CLOEXEC)


def open_for_writer(cdir: str) -> int | None:
    """A write fd on a running container's stdin FIFO; None when it has none."""
    try:
        fd = os.open(os.path.join(cdir, FIFO), os.O_WRONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError:
        return None
    os.set_blocking(fd, True)
    return fd


def set_winsize(pid: int, rows: int, cols: int) -> bool:
    """Size the terminal of the container whose first process is ``pid``.

    The pty is reached through ``/proc/<pid>/fd/0`` (its stdin is the pty's slave
    end), so no one has to hold the master for it. ``TIOCSWINSZ`` on the slave sets
    the size and signals the foreground process group. False when there is no
    terminal to size (the process is gone, its stdin is no tty, a size of 0)."""
    import fcntl
    import struct
    import termios
    if rows <= 0 or cols <= 0:
        return False
    try:
        fd = os.open(f"/proc/{pid}/fd/0", os.O_RDWR | os.O_NOCTTY | os.O_CLOEXEC)
    except OSError:
        return False
    try:
        if not os.isatty(fd):
            return False
        fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))
        return True
    except OSError:
        return False
    finally:
        os.close(fd)
