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
"""

from __future__ import annotations

import asyncio
import os

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


async def pump_output(raw: RawConn, fds: dict[int, int], tty: bool) -> None:
    """Copy each fd (``{fd: stream id}``) to the client until all reach EOF or the
    client is gone. Without a TTY each chunk is framed with its stream id; with
    one it is sent raw. The caller owns (and closes) the fds."""
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue = asyncio.Queue()
    open_fds = dict(fds)

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
                open_fds.pop(fd, None)
                continue
            payload = data if tty else frame(open_fds[fd], data)
            if not await raw.write(payload):
                break
    finally:
        for fd in fds:
            try:
                loop.remove_reader(fd)
            except (ValueError, OSError):
                pass


async def pump_input(raw: RawConn, in_fd: int | None, on_eof) -> None:
    """Copy the client's bytes into ``in_fd`` (the container's stdin) until it
    half-closes or goes away; then call ``on_eof()`` (which closes ``in_fd``, so
    the container reads EOF)."""
    loop = asyncio.get_running_loop()
    try:
        while True:
            data = await raw.read()
            if not data:
                return
            if in_fd is None:
                continue
            try:
                await loop.run_in_executor(None, _write_all, in_fd, data)
            except OSError:
                in_fd = None
                on_eof()
    finally:
        on_eof()


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        n = os.write(fd, view)
        view = view[n:]


__all__ = ["RawConn", "hijack", "pump_output", "pump_input"]
