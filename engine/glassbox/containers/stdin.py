"""A container's stdin kept open when nobody is attached (Docker's ``OpenStdin``).

``docker run -di busybox cat`` (docker-py ``stdin_open=True``) starts a container
whose stdin must stay open although no client is attached: ``cat`` or ``sh -i``
then wait for input instead of reading EOF and exiting, and clients ``exec`` into
the long-lived container. Docker keeps a pipe's write end in its shim. glassbox
keeps a FIFO in the container's directory (``<cdir>/stdin``):

* the container gets the FIFO opened read-write as fd 0 (:func:`open_for_container`),
  so there is always a writer and a read blocks instead of returning EOF — with no
  process of glassbox having to stay around for it;
* a later ``attach`` with stdin opens the FIFO for writing (:func:`open_for_writer`)
  and what the client types reaches the container's stdin.
"""

from __future__ import annotations

import os

FIFO = "stdin"


def open_for_container(cdir: str) -> int:
    """The fd to give the container as stdin (made on first use, kept across restarts)."""
    path = os.path.join(cdir, FIFO)
    try:
        os.mkfifo(path, 0o600)
    except FileExistsError:
        pass
    # O_RDWR: the container itself holds a writer, so its reads never see EOF
    return os.open(path, os.O_RDWR | os.O_CLOEXEC)


def open_for_writer(cdir: str) -> int | None:
    """A write fd on a running container's stdin FIFO; None when it has none."""
    try:
        fd = os.open(os.path.join(cdir, FIFO), os.O_WRONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError:
        return None
    os.set_blocking(fd, True)
    return fd
