"""``glassbox daemon``: serve the Docker Engine API (see :mod:`glassbox.daemon`)."""

from __future__ import annotations


def cmd_daemon(eng, args) -> int:
    from ..daemon import serve
    if getattr(eng, "remote", False):
        from ..errors import InvalidArgument
        raise InvalidArgument("glassbox daemon runs the engine itself: drop -H")
    serve(eng, args.socket, args.group or None)
    return 0


def register(cmd, sub) -> None:
    p = cmd("daemon", "Serve the Docker Engine API on a unix socket (foreground)", cmd_daemon)
    p.add_argument("--socket", default="/run/glassbox.sock",
                   help="Unix socket to listen on (default /run/glassbox.sock)")
    p.add_argument("--group", default="glassbox",
                   help="Group allowed to use the socket, if it exists (default glassbox; "
                        "'' for root only)")
