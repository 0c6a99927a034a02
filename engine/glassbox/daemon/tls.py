"""TLS in front of the API, done by hand so a half-closed connection stays open.

``docker attach``/``run``/``exec`` *half-close* their connection when they have
no more input (Go's ``tls.Conn.CloseWrite`` sends a TLS ``close_notify``) and
then keep reading the container's output. asyncio's own TLS transport treats
``close_notify`` as the end of the whole connection, so the output would be
lost. Here each TLS connection is terminated with an ``ssl.SSLObject`` over
memory buffers (:class:`TlsFront`): decrypted bytes go to the ordinary HTTP
server through a socketpair; the peer's ``close_notify`` becomes a
``shutdown(SHUT_WR)`` on that pair — the same half-close a unix-socket client
makes — and output keeps flowing back, encrypted, until the daemon closes.

The server context demands a client certificate (``ssl.CERT_REQUIRED``): a
client without one, or with one not signed by ``--tlscacert``, fails the
handshake and never reaches HTTP.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import ssl

log = logging.getLogger("glassbox.daemon")

HANDSHAKE_TIMEOUT = 10.0   # seconds a client gets to finish the TLS handshake
CHUNK = 1 << 16


class _Inner(asyncio.Protocol):
    """Our end of the socketpair: what the HTTP server answers goes to the front."""

    def __init__(self, front: "TlsFront"):
        self.front = front

    def connection_made(self, transport) -> None:
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        self.front.send_plain(data)

    def eof_received(self) -> bool:
        self.front.close()
        return False

    def connection_lost(self, exc) -> None:
        self.front.close()

    def pause_writing(self) -> None:    # the HTTP side is slow to read: stop the peer
        self.front.pause_peer()

    def resume_writing(self) -> None:
        self.front.resume_peer()


class TlsFront(asyncio.Protocol):
    """One TLS client connection, relayed in clear to ``serve_plain(sock)``."""

    def __init__(self, ctx: ssl.SSLContext, serve_plain):
        self.ctx = ctx
        self.serve_plain = serve_plain
        self.incoming = ssl.MemoryBIO()
        self.outgoing = ssl.MemoryBIO()
        self.sslobj = ctx.wrap_bio(self.incoming, self.outgoing, server_side=True)
        self.transport = None
        self.inner = None          # _Inner's transport, once connected
        self.pending = []          # clear bytes that arrived before the inner side was up
        self.handshaken = False
        self.peer_done = False     # close_notify (or EOF) received
        self.closed = False
        self.timer = None

    # ---- the TLS client side ----------------------------------------------------
    def connection_made(self, transport) -> None:
        self.transport = transport
        loop = asyncio.get_running_loop()
        self.timer = loop.call_later(HANDSHAKE_TIMEOUT, self._handshake_timeout)

    def _handshake_timeout(self) -> None:
        if not self.handshaken:
            log.info("TLS client %s: no handshake in %ss; closed", self._peer(),
                     HANDSHAKE_TIMEOUT)
            self.close()

    def _peer(self) -> str:
        try:
            return "%s:%s" % self.transport.get_extra_info("peername")[:2]
        except (TypeError, AttributeError):
            return "?"

    def data_received(self, data: bytes) -> None:
        self.incoming.write(data)
        if not self.handshaken:
            try:
                self.sslobj.do_handshake()
            except ssl.SSLWantReadError:
                self._flush()
                return
            except (ssl.SSLError, OSError) as e:
                log.warning("TLS client %s refused: %s", self._peer(),
                            getattr(e, "reason", None) or e)
                self._flush()
                self.close()
                return
            self.handshaken = True
            self.timer.cancel()
            self._flush()
            asyncio.ensure_future(self._connect_inner())
        self._read_clear()

    def _read_clear(self) -> None:
        while not self.peer_done:
            try:
                chunk = self.sslobj.read(CHUNK)
            except ssl.SSLWantReadError:
                break
            except ssl.SSLZeroReturnError:
                chunk = b""
            except (ssl.SSLError, OSError) as e:
                log.info("TLS client %s: %s", self._peer(), e)
                self.close()
                return
            if not chunk:
                self._peer_eof()
                break
            self._to_inner(chunk)
        self._flush()

    def eof_received(self) -> bool:
        self._peer_eof()
        return True   # keep writing the output (plain TCP half-close)

    def _peer_eof(self) -> None:
        """The client has no more to send: pass the half-close on to the HTTP side."""
        if self.peer_done:
            return
        self.peer_done = True
        self._to_inner(None)

    def _to_inner(self, data: bytes | None) -> None:
        if self.inner is None:
            self.pending.append(data)
        elif data is None:
            if self.inner.can_write_eof():
                self.inner.write_eof()
        elif not self.inner.is_closing():
            self.inner.write(data)

    def pause_writing(self) -> None:    # the client is slow to read: stop the HTTP side
        if self.inner is not None:
            self.inner.pause_reading()

    def resume_writing(self) -> None:
        if self.inner is not None and not self.inner.is_closing():
            self.inner.resume_reading()

    def pause_peer(self) -> None:
        if self.transport is not None and not self.transport.is_closing():
            self.transport.pause_reading()

    def resume_peer(self) -> None:
        if self.transport is not None and not self.transport.is_closing():
            self.transport.resume_reading()

    def connection_lost(self, exc) -> None:
        self.closed = True
        if self.timer:
            self.timer.cancel()
        if self.inner is not None:
            self.inner.close()

    # ---- the clear (HTTP) side --------------------------------------------------
    async def _connect_inner(self) -> None:
        loop = asyncio.get_running_loop()
        mine, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            await self.serve_plain(theirs)
            transport, _ = await loop.create_unix_connection(lambda: _Inner(self), sock=mine)
        except (OSError, RuntimeError) as e:
            log.warning("TLS client %s: cannot reach the API: %s", self._peer(), e)
            mine.close()
            theirs.close()
            self.close()
            return
        if self.closed:
            transport.close()
            return
        self.inner = transport
        for data in self.pending:
            self._to_inner(data)
        self.pending = []

    def send_plain(self, data: bytes) -> None:
        if self.closed:
            return
        try:
            self.sslobj.write(data)
        except (ssl.SSLError, OSError) as e:
            log.info("TLS client %s: %s", self._peer(), e)
            self.close()
            return
        self._flush()

    def _flush(self) -> None:
        data = self.outgoing.read()
        if data and self.transport is not None and not self.transport.is_closing():
            self.transport.write(data)

    def close(self) -> None:
        """The HTTP side is done (or the connection failed): say close_notify, close."""
        if self.closed:
            return
        self.closed = True
        if self.handshaken:
            try:
                self.sslobj.unwrap()
            except (ssl.SSLError, OSError):
                pass
            self._flush()
        if self.transport is not None:
            self.transport.close()
        if self.inner is not None:
            self.inner.close()


async def start_tls_server(host: str, port: int, ctx: ssl.SSLContext, runner):
    """Listen on ``host:port``; each TLS connection is relayed to ``runner``'s
    HTTP server (the same app the unix socket serves)."""
    loop = asyncio.get_running_loop()

    async def serve_plain(sock: socket.socket) -> None:
        await loop.connect_accepted_socket(runner.server, sock)

    return await loop.create_server(lambda: TlsFront(ctx, serve_plain), host, port,
                                    reuse_address=True)
