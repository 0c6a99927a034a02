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
``DetachKeys`` says otherwise, :func:`parse_detach_keys`): when they arrive the
daemon ends the attach and closes the connection, and the container (or exec'd
process) goes on running with its stdin left open, as dockerd does. Bytes that
begin the sequence are held back until it is clear whether they complete it
(:class:`DetachScanner`). The docker CLI also watches for the keys on its side;
a raw-socket client (docker-py's ``attach_socket``) relies on the daemon's.
Without a TTY the keys are ordinary input, as in Docker.
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


DEFAULT_DETACH_KEYS = b"\x10\x11"
"""ctrl-p ctrl-q: Docker's default detach sequence."""

_CTRL = {**{chr(c): c - ord("a") + 1 for c in range(ord("a"), ord("z") + 1)},
         "@": 0, "[": 27, "\\": 28, "]": 29, "^": 30, "_": 31}


def parse_detach_keys(text: str | None, what: str = "detachKeys") -> bytes:
    """Docker's ``--detach-keys`` syntax → the bytes the terminal sends.

    A comma-separated list of keys, each ``ctrl-<c>`` (``c`` a letter or one of
    ``@ [ \\ ] ^ _``: the control character) or one plain character: ``ctrl-p,ctrl-q``
    is ``b"\\x10\\x11"``, ``ctrl-a,d`` is ``b"\\x01d"``. Empty or None: the default.
    Anything else raises :class:`InvalidArgument` naming it."""
    from ..errors import InvalidArgument
    if not text:
        return DEFAULT_DETACH_KEYS
    out = bytearray()
    for key in text.split(","):
        k = key.strip()
        if len(k) == 6 and k.lower().startswith("ctrl-") and k[5:].lower() in _CTRL:
            out.append(_CTRL[k[5:].lower()])
        elif len(k) == 1 and k.isascii():
            out.append(ord(k))
        else:
            raise InvalidArgument(f"Invalid detach keys ({text}) provided in {what}: use keys "
                                  "like ctrl-p,ctrl-q (ctrl-<letter> or ctrl-@ [ \\ ] ^ _, or "
                                  "single characters, comma-separated)")
    return bytes(out)


class DetachScanner:
    """Finds the detach sequence in a stream of input chunks.

    :meth:`feed` returns ``(data to pass on, detached)``. A byte that continues the
    sequence is held back; when the next one does not, what was held goes on after
    all (so ``ctrl-p`` alone still reaches the program). Once the whole sequence is
    seen, everything held and anything after it in the chunk is dropped."""

    def __init__(self, keys: bytes = DEFAULT_DETACH_KEYS):
        self.keys = keys
        self.held = 0            # how many bytes of ``keys`` are matched and held back

    def feed(self, data: bytes) -> tuple[bytes, bool]:
        out = bytearray()
        for b in data:
            if b == self.keys[self.held]:
                self.held += 1
                if self.held == len(self.keys):
                    self.held = 0
                    return bytes(out), True
                continue
            if self.held:
                out += self.keys[:self.held]
                self.held = 0
                if b == self.keys[0]:
                    self.held = 1
                    continue
            out.append(b)
        return bytes(out), False


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
                        await loop.run_in_executor(None, _write_all, in_fd, data)
                    if on_detach is not None:
                        on_detach()
                    raw.close()
                    return True
                if not data:
                    continue
            if in_fd is None:
                continue
            try:
                await loop.run_in_executor(None, _write_all, in_fd, data)
            except OSError:
                in_fd = None
                on_eof()
    finally:
        if not detached:
            on_eof()


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        n = os.write(fd, view)
        view = view[n:]


__all__ = ["DEFAULT_DETACH_KEYS", "DetachScanner", "RawConn", "hijack", "parse_detach_keys",
           "pump_output", "pump_input"]
