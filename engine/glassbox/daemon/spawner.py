"""A warm, single-threaded helper that launches container shims for the daemon.

The daemon is multithreaded (an asyncio loop and a pool of Engine threads), and
a container's setup must never run in a child forked from a multithreaded
process (DESIGN §3). From such a process the containers manager starts each
shim as a fresh interpreter (``python -I -S``): that costs an interpreter start
per container, and, without ``site``, leaves out site-packages (pyroute2: a
container with ``--network``/``-p`` could not be wired).

So the daemon forks this helper *before* it starts any thread. The helper
imports what a shim needs once (the manager's prewarm), then waits on a
``SOCK_SEQPACKET`` socketpair: each request is a container directory plus its
file descriptors (the status pipe, attach pipes) sent with ``SCM_RIGHTS``. It
calls :func:`glassbox.containers.manager.launch_shim` — which, in a
single-threaded process, *forks* the shim from the warm interpreter — and
answers ``ok`` (or the error). The shim reports to the status pipe exactly as
it would otherwise, so ``Engine.containers.start`` is unchanged.

If the helper is gone (killed, crashed) the daemon falls back to the
manager's own launcher. The helper exits when the daemon closes its end.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import threading

log = logging.getLogger("glassbox.daemon")

_MAX_FDS = 8


class Spawner:
    """The daemon's side: :meth:`launch` has the signature of ``launch_shim``."""

    def __init__(self, sock: socket.socket, pid: int, fallback):
        self.sock = sock
        self.pid = pid
        self.fallback = fallback
        self.lock = threading.Lock()
        self.broken = False

    @classmethod
    def start(cls) -> "Spawner":
        """Fork the helper. Call while the process is still single-threaded."""
        from ..containers import manager
        fallback = manager.launch_shim
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        pid = os.fork()
        if pid == 0:  # the helper
            code = 0
            try:
                ours.close()
                _serve(theirs, fallback)
            except BaseException:  # noqa: BLE001
                code = 1
            finally:
                os._exit(code)
        theirs.close()
        return cls(ours, pid, fallback)

    def install(self) -> None:
        """Make this process's containers manager launch shims through the helper."""
        from ..containers import manager
        manager.launch_shim = self.launch

    def launch(self, cdir: str, status_w: int, attach: tuple) -> None:
        if self.broken:
            return self.fallback(cdir, status_w, attach)
        fds = [status_w] + [fd for fd in attach if fd is not None]
        msg = json.dumps({"cdir": cdir, "attach": [fd is not None for fd in attach]})
        with self.lock:
            try:
                socket.send_fds(self.sock, [msg.encode()], fds)
                reply = self.sock.recv(65536)
            except OSError as e:
                reply = b""
                log.warning("shim launcher helper failed (%s): launching directly", e)
            if not reply:
                self.broken = True
        if not reply:
            return self.fallback(cdir, status_w, attach)
        if reply != b"ok":
            from ..errors import GlassboxError
            raise GlassboxError(reply.decode(errors="replace"))

    def close(self) -> None:
        try:
            self.sock.close()
        except OSError:
            pass
        try:
            os.waitpid(self.pid, 0)
        except ChildProcessError:
            pass


def _serve(sock: socket.socket, launch) -> None:
    """The helper's loop: one request, one launch, one answer."""
    from ..containers.manager import _prewarm
    _prewarm(network=False)   # launch_shim warms the network code on first need
    while True:
        try:
            data, fds, _, _ = socket.recv_fds(sock, 65536, _MAX_FDS)
        except KeyboardInterrupt:   # Ctrl-C at the daemon's terminal: the daemon decides
            continue
        except OSError:
            return
        if not data:
            for fd in fds:
                os.close(fd)
            return
        try:
            req = json.loads(data)
            status_w, rest = fds[0], list(fds[1:])
            attach = tuple(rest.pop(0) if on else None for on in req["attach"])
            launch(req["cdir"], status_w, attach)
            reply = b"ok"
        except KeyboardInterrupt:
            reply = b"interrupted"
        except Exception as e:  # noqa: BLE001 - answer, and keep serving
            reply = f"cannot launch the container's shim: {type(e).__name__}: {e}".encode()
        finally:
            for fd in fds:
                try:
                    os.close(fd)
                except OSError:
                    pass
        try:
            sock.send(reply)
        except OSError:
            return
