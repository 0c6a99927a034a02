"""Hijacked connections: how ``attach`` and ``exec start`` leave HTTP behind.

The client sends ``POST .../attach`` with ``Connection: Upgrade`` and
``Upgrade: tcp``. The daemon answers ``101 UPGRADED`` and from then on the
socket is a raw, two-way byte pipe: the container's output flows to the
client (framed with :func:`~.translate.frame` headers unless the container has
a TTY) and whatever the client writes is the container's stdin. When the
client has no more input it half-closes (``shutdown(SHUT_WR)``); the daemon
must keep writing output until the container is done.

aiohttp parses the request; then :func:`hijack` swaps the transport's
protocol for a :class:`RawConn`, which keeps the socket open on half-close
(aiohttp's own protocol would close it) and tells aiohttp when the peer is
really gone, so its bookkeeping stays right.

**Detaching.** On a container or exec with a TTY, the client's input is scanned
for the *detach keys* (``ctrl-p,ctrl-q`` unless ``?detachKeys=`` or the exec's
``DetachKeys`` says otherwise: :mod:`glassbox.containers.detach`, which the CLI
shares): when they arrive the
daemon ends the attach and closes the connection, and the container (or exec'd
process) goes on running with its stdin left open, as dockerd does. Bytes that
begin the sequence are held back until it is clear whether they complete it
(``DetachScanner``). The docker CLI also watches for the keys on its side;
a raw-socket client (docker-py's ``attach_socket``) relies on the daemon's.
Without a TTY the keys are ordinary input, as in Docker.
"""

from __future__ import annotations

import asyncio
import os

from .._files import write_all
from ..containers.detach import DetachScanner
from .translate import frame


class RawConn(asyncio.Protocol):
    """A raw byte stream on a hijacked transport: ``read()`` and ``write()``."""

    def __init__(self, transport, tail: bytes, http_proto):
        self.transport = transport
        self.http_proto = http_proto
        self.incoming: asyncio.Queue = asyncio.Queue()
        self.closed = asyncio.Event()
        self._can_write = asyncio.Event()
        self._can_write.set()
        if tail:
            self.incoming.put_nowait(tail)

    # protocol callbacks
    def data_received(self, data: bytes) -> None:
        self.incoming.put_nowait(data)

    def eof_received(self) -> bool:
        self.incoming.put_nowait(b"")  # half-close: no more stdin, keep writing
        return True

    def connection_lost(self, exc) -> None:
        self.incoming.put_nowait(None)
        self.closed.set()
        self._can_write.set()
        try:
            self.http_proto.connection_lost(exc)
        except Exception:  # noqa: BLE001
            pass

    def pause_writing(self) -> None:
        self._can_write.clear()

    def resume_writing(self) -> None:
        self._can_write.set()

    # API
    async def read(self) -> bytes | None:
        """Next chunk from the client; ``b""`` once it half-closed, None when gone."""
        return await self.incoming.get()

    async def write(self, data: bytes) -> bool:
        if self.closed.is_set() or self.transport.is_closing():
            return False
        self.transport.write(data)
        await self._can_write.wait()
        return not self.closed.is_set()

    def close(self) -> None:
        if not self.transport.is_closing():
            self.transport.close()


async def hijack(request, content_type: str) -> RawConn:
    """Answer 101 (or 200 for a client that did not ask to upgrade) and take the socket."""
    proto = request.protocol
    transport = request.transport
    tail = getattr(proto, "_message_tail", b"") or b""
    try:
        proto._message_tail = b""
    except AttributeError:
        pass
    upgrade = request.headers.get("Upgrade", "").lower() == "tcp"
    if upgrade:
        head = ("HTTP/1.1 101 UPGRADED\r\n"
                f"Content-Type: {content_type}\r\n"
                "Connection: Upgrade\r\nUpgrade: tcp\r\n\r\n")
    else:
        head = f"HTTP/1.1 200 OK\r\nContent-Type: {content_type}\r\nConnection: close\r\n\r\n"
    raw = RawConn(transport, tail, proto)
    transport.set_protocol(raw)
    transport.write(head.encode())
    try:
        if not transport.is_reading():
            transport.resume_reading()  # aiohttp may have paused it
    except (AttributeError, RuntimeError):
        pass
    return raw


async def read_streams(fds, deliver) -> None:
    """The one read loop behind every output stream: read each fd as soon as the
    event loop says it is readable, and hand each chunk to ``await deliver(fd, data)``,
    until every fd has reached EOF or ``deliver`` returns False (the client is gone).

    The fds are made non-blocking and watched with ``loop.add_reader`` — no thread per
    pipe; a read error counts as EOF. A chunk read while ``deliver`` still awaits the
    previous one waits in a queue, in order. The caller owns (and closes) the fds; the
    readers are removed however this ends (EOF, False, or the task cancelled).

    Its two uses: :func:`pump_output` sends the chunks to a hijacked client, and a
    detached exec's drain (:mod:`.execs`) reads and drops them, so the process writing
    to the pipe neither blocks on a full pipe nor dies of SIGPIPE."""
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue = asyncio.Queue()
    open_fds = set(fds)

    def readable(fd):
        try:
            data = os.read(fd, 65536)
        except BlockingIOError:
            return
        except OSError:
            data = b""
        if not data:
            loop.remove_reader(fd)
        queue.put_nowait((fd, data))

    for fd in open_fds:
        os.set_blocking(fd, False)
        loop.add_reader(fd, readable, fd)
    try:
        while open_fds:
            fd, data = await queue.get()
            if not data:
                open_fds.discard(fd)
            elif not await deliver(fd, data):
                break
    finally:
        for fd in fds:
            try:
                loop.remove_reader(fd)
            except (ValueError, OSError):
                pass


async def pump_output(raw: RawConn, fds: dict[int, int], tty: bool) -> None:
    """Copy each fd (``{fd: stream id}``) to the client until all reach EOF or the
    client is gone. Without a TTY each chunk is framed with its stream id; with
    one it is sent raw. The caller owns (and closes) the fds."""
    async def send(fd: int, data: bytes) -> bool:
        return await raw.write(data if tty else frame(fds[fd], data))
    await read_streams(fds, send)


async def pump_input(raw: RawConn, in_fd: int | None, on_eof, *,
                     detach_keys: bytes | None = None, on_detach=None) -> bool:
    """Copy the client's bytes into ``in_fd`` (the container's stdin) until it
    half-closes or goes away; then call ``on_eof()`` (which closes ``in_fd``, so
    the container reads EOF).

    With ``detach_keys`` (a TTY's attach), the input is scanned for them: when they
    arrive, ``on_detach()`` is called instead of ``on_eof`` (stdin stays open, the
    program keeps running), the connection is closed, and True is returned."""
    loop = asyncio.get_running_loop()
    scanner = DetachScanner(detach_keys) if detach_keys else None
    detached = False
    try:
        while True:
            data = await raw.read()
            if not data:
                return False
            if scanner is not None:
                data, detached = scanner.feed(data)
                if detached:
                    if data and in_fd is not None:
                        await loop.run_in_executor(None, write_all, in_fd, data)
                    if on_detach is not None:
                        on_detach()
                    raw.close()
                    return True
                if not data:
                    continue
            if in_fd is None:
                continue
            try:
                await loop.run_in_executor(None, write_all, in_fd, data)
            except OSError:
                in_fd = None
                on_eof()
    finally:
        if not detached:
            on_eof()


__all__ = ["RawConn", "hijack", "pump_input", "pump_output", "read_streams"]
