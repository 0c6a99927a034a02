"""The warm CLI agent: pay Python's start-up once, not on every command.

Starting CPython and importing the engine costs ~80 ms; starting a container
costs ~10. ``glassbox agent`` is a small *fork server* for one state root: a
single-threaded process that has already imported everything, listening on
``$GLASSBOX_ROOT/agent.sock`` (owner only; an ordinary user's in their runtime
directory: :func:`socket_path`). When it runs, the ``glassbox``
command becomes a thin client:

1. it connects and sends its argv, environment and working directory, and
   its stdin/stdout/stderr as file descriptors (``SCM_RIGHTS``);
2. the agent forks; the child adopts those descriptors as 0/1/2 and runs the
   command exactly as the CLI would (same parser, same Engine), so output goes
   straight to the user's terminal or pipe;
3. the client gets the child's pid (to forward Ctrl-C and friends) and then
   the exit code.

It is the same trick as the runtime's own start path (fork a warm,
single-threaded process instead of starting an interpreter) and what
``dockerd`` is to the ``docker`` CLI. Commands that need the controlling
terminal (``-t``) or that manage the agent itself run in-process as always.
Without a running agent nothing changes. The agent exits after
``--idle`` seconds without a request.
"""

from __future__ import annotations

import os
import struct
import sys

import _socket  # the low-level module: `socket` + `json` would cost the client ~15 ms

SOCKET_NAME = "agent.sock"
_LEN = struct.Struct("!I")
# commands that must own the terminal or are about long-lived processes themselves
_IN_PROCESS = {"agent", "daemon", "login"}


def socket_path(root: str | None = None, *, create: bool = False) -> str:
    """Where the agent of state root ``root`` listens: ``<root>/agent.sock`` — and for
    an ordinary user's own default root (``~/.local/share/glassbox``), their runtime
    directory, beside the daemon's socket (issue 14): ``$XDG_RUNTIME_DIR/glassbox``, or
    ``/tmp/glassbox-<uid>``, made when ``create`` and refused unless it is theirs and
    ``0700`` (someone else's directory could hold a fake agent, which would be handed
    our command line, environment and terminal). A logout deletes the runtime
    directory: commands then run in-process until the next ``agent start``.
    The C front door (cli/front) computes the same path."""
    explicit = root or os.environ.get("GLASSBOX_ROOT")
    if os.geteuid() != 0:
        from ..rootless.paths import check_private, runtime_dir, state_root
        if not explicit or os.path.abspath(explicit) == os.path.abspath(state_root()):
            d = runtime_dir(create=create)
            if not create and os.path.lexists(d):
                check_private(d, os.geteuid())
            return os.path.join(d, SOCKET_NAME)
    return os.path.join(explicit or "/var/lib/glassbox", SOCKET_NAME)


def _wants_terminal(argv: list[str]) -> bool:
    """``run -t``/``exec -it``...: the command needs the caller's controlling
    terminal, so it runs in-process. (``build -t`` is a tag: not this.) A ``-t``
    that belongs to the container's own command only costs the fast path."""
    words = [w for w in argv if not w.startswith("-")]
    if not words or words[0] not in ("run", "create", "exec", "start"):
        return False
    for word in argv:
        if word == "--":
            break
        if word == "--tty" or (word.startswith("-") and not word.startswith("--")
                               and "t" in word[1:] and word[1:].isalpha()):
            return True
    return False


# The wire format is plain enough for the C front (cli/front/glassbox.c) to
# speak it too. A request: u32 length, then u32 argc, u32 envc, then the
# NUL-terminated strings cwd, argv..., env... (network byte order), sent with
# the caller's stdin/stdout/stderr as SCM_RIGHTS. Replies: 8 bytes, a kind
# ('P': the child's pid, 'X': the exit code) and a signed value. The socket
# is root-only (0600) in the state root.
_SOL_SOCKET, _SCM_RIGHTS = _socket.SOL_SOCKET, _socket.SCM_RIGHTS
_HEAD = struct.Struct("!III")
_REPLY = struct.Struct("!Ii")
PID, EXIT = ord("P"), ord("X")


def encode_request(argv: list[str], cwd: str, env: dict[str, str]) -> bytes:
    strings = [cwd, *argv, *(f"{k}={v}" for k, v in env.items())]
    body = b"".join(s.encode("utf-8", "surrogateescape") + b"\0" for s in strings)
    return _HEAD.pack(len(body) + 8, len(argv), len(env)) + body


def decode_request(data: bytes) -> tuple[list[str], str, dict[str, str]]:
    """The inverse of :func:`encode_request` (``data`` without the length word)."""
    argc, envc = struct.unpack_from("!II", data)
    words = [w.decode("utf-8", "surrogateescape") for w in data[8:].split(b"\0")[:-1]]
    if len(words) != 1 + argc + envc:
        raise ValueError("malformed agent request")
    env = dict(w.partition("=")[::2] for w in words[1 + argc:])
    return words[1:1 + argc], words[0], env


def _recv_exact(sock, n: int) -> bytes:
    buf = b""
    while len(buf) < n:
        chunk = sock.recv(n - len(buf))
        if not chunk:
            raise ConnectionError("agent connection closed")
        buf += chunk
    return buf


def _recv_reply(sock, kind: int) -> int:
    got, value = _REPLY.unpack(_recv_exact(sock, _REPLY.size))
    if got != kind:
        raise ValueError(f"unexpected agent reply {got}")
    return value


# ---- client ------------------------------------------------------------------
def try_client(argv: list[str]) -> int | None:
    """Run ``argv`` through a running agent; None when there is none (or the
    command must run in-process)."""
    if os.environ.get("GLASSBOX_AGENT") == "0" or not argv:
        return None
    root = None
    if "--root" in argv:
        i = argv.index("--root")
        root = argv[i + 1] if i + 1 < len(argv) else None
    if any(a in ("-H", "--host") for a in argv) or os.environ.get("GLASSBOX_HOST") or \
            set(argv) & _IN_PROCESS or \
            _wants_terminal(argv):
        return None
    try:
        path = socket_path(root)
    except Exception:  # noqa: BLE001 — no runtime dir, or not a private one: in-process
        return None
    sock = _socket.socket(_socket.AF_UNIX, _socket.SOCK_STREAM)
    try:
        sock.connect(path)
    except OSError:
        sock.close()
        return None
    try:
        sock.sendmsg([encode_request(argv, os.getcwd(), dict(os.environ))],
                     [(_SOL_SOCKET, _SCM_RIGHTS, struct.pack("3i", 0, 1, 2))])
        child = _recv_reply(sock, PID)
    except (OSError, ConnectionError, ValueError, EOFError):
        sock.close()
        return None
    import _signal  # `signal` would import `enum`

    def forward(signum, _frame):
        try:
            os.kill(child, signum)
        except ProcessLookupError:
            pass
    for sig in (_signal.SIGINT, _signal.SIGTERM, _signal.SIGHUP, _signal.SIGQUIT):
        _signal.signal(sig, forward)
    try:
        return _recv_reply(sock, EXIT)
    except (OSError, ConnectionError, ValueError, EOFError):
        return 125
    finally:
        sock.close()


# ---- server ------------------------------------------------------------------
def _preload(root: str | None = None) -> None:
    """Import everything a command may need, once, before serving; with ``root``
    also build and warm the Engine the requests will use."""
    from ..cli import commands, main, parser  # noqa: F401
    from ..containers.manager import _prewarm
    from ..engine import Engine  # noqa: F401
    from ..images import archive, store  # noqa: F401
    from ..build import builder  # noqa: F401
    from ..registry import client  # noqa: F401
    from ..volumes import VolumeManager  # noqa: F401
    for feature in parser.FEATURES:
        try:
            __import__(f"glassbox.cli.cmd_{feature}")
        except ImportError:
            pass
    parser.PREBUILT = parser.build_parser()
    _prewarm(network=True)
    if root is not None:
        from . import main as cli_main
        eng = Engine(root)
        eng.containers.list()
        eng.images.list()
        cli_main.WARM_ENGINE = eng
    import gc
    gc.collect()
    gc.freeze()   # forked children must not touch (copy) every object when they collect


def _serve_one(conn) -> None:
    """In the forked child: become the CLI for this one request."""
    import gc
    gc.disable()  # short-lived: collecting would only copy the agent's pages
    import signal
    import socket
    from .main import main_code
    msg, fds, _, _ = socket.recv_fds(conn, 1 << 20, 3)
    length = _LEN.unpack(msg[:_LEN.size])[0]
    body = msg[_LEN.size:]
    while len(body) < length:
        more = conn.recv(length - len(body))
        if not more:
            raise ConnectionError("agent request cut short")
        body += more
    argv, cwd, env = decode_request(body)
    for target, fd in enumerate(fds[:3]):
        os.dup2(fd, target)
        os.close(fd)
    os.chdir(cwd)
    os.environ.clear()
    os.environ.update(env)
    sys.stdin = open(0, "r", closefd=False)
    sys.stdout = open(1, "w", closefd=False)
    sys.stderr = open(2, "w", closefd=False)
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT, signal.SIGCHLD):
        signal.signal(sig, signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    conn.sendall(_REPLY.pack(PID, os.getpid()))
    code = 125
    try:
        code = main_code(argv)
    finally:
        for stream in (sys.stdout, sys.stderr):
            try:
                stream.flush()
            except (OSError, ValueError):
                pass
        try:
            conn.sendall(_REPLY.pack(EXIT, code))
        except OSError:
            pass
        os._exit(code & 0xFF)


def _restore_after_boot(root: str) -> None:
    """A boot of the state root (issue 20): containers whose restart policy says so
    come back, as when dockerd starts. Never keeps the agent from serving."""
    try:
        from ..containers.restart import restore_after_boot
        from . import main as cli_main
        eng = cli_main.WARM_ENGINE
        if eng is None:
            from ..engine import Engine
            eng = Engine(root)
        restore_after_boot(eng.containers)
    except Exception:  # noqa: BLE001
        pass


def serve(root: str, idle: float = 600.0) -> None:
    """The agent's loop (single-threaded: it forks for every request)."""
    import selectors
    import signal
    import socket
    import time
    os.makedirs(root, exist_ok=True)
    path = socket_path(root, create=True)
    _preload(root)
    _restore_after_boot(root)   # before the socket exists: forked shims cannot hold it
    srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass
    old_umask = os.umask(0o077)
    try:
        srv.bind(path)
    finally:
        os.umask(old_umask)
    srv.listen(64)
    stop = []
    signal.signal(signal.SIGTERM, lambda *_: stop.append(1))
    signal.signal(signal.SIGINT, lambda *_: stop.append(1))
    sel = selectors.DefaultSelector()
    sel.register(srv, selectors.EVENT_READ)
    last = time.monotonic()
    try:
        while not stop and time.monotonic() - last < idle:
            if not sel.select(timeout=1.0):
                _reap()
                continue
            try:
                conn, _ = srv.accept()
            except InterruptedError:
                continue
            last = time.monotonic()
            pid = os.fork()
            if pid == 0:
                try:
                    sel.close()
                    srv.close()
                    _serve_one(conn)
                finally:
                    os._exit(125)
            conn.close()
            _reap()
    finally:
        sel.close()
        srv.close()
        try:
            if os.path.exists(path):
                os.unlink(path)
        except OSError:
            pass


def _reap() -> None:
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return


def stop_agent(root: str | None = None) -> bool:
    import signal
    """Ask a running agent to exit (connect-and-close is not enough: SIGTERM by
    the pid that owns the socket, found through /proc/net/unix would be
    fragile — so the agent records its pid next to its socket)."""
    try:
        pidfile = socket_path(root) + ".pid"
    except Exception:  # noqa: BLE001 — its runtime dir is gone (a logout): no agent there
        return False
    try:
        with open(pidfile) as f:
            pid = int(f.read().strip())
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            if b"agent" not in f.read():
                return False
        os.kill(pid, signal.SIGTERM)
        return True
    except (OSError, ValueError):
        return False
