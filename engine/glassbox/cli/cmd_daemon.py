"""``glassbox daemon``: serve the Docker Engine API (see :mod:`glassbox.daemon`)."""

from __future__ import annotations


def cmd_daemon(eng, args) -> int:
    from ..daemon import serve, tcp_listener
    if getattr(eng, "remote", False):
        from ..errors import InvalidArgument
        raise InvalidArgument("glassbox daemon runs the engine itself: drop -H")
    # checked before anything listens: a refused --tcp never opens the unix socket either
    tcp = tcp_listener(args.tcp, args.tlscacert, args.tlscert, args.tlskey)
    import os
    group = args.group or None
    if os.geteuid() != 0:     # rootless (issue 14): the user's own socket, owner only
        group = None
    if args.socket is None:   # root: /run/glassbox.sock; rootless: $XDG_RUNTIME_DIR/glassbox/
        from ..rootless.paths import daemon_socket
        args.socket = daemon_socket()
    serve(eng, args.socket, group, tcp=tcp)
    return 0


def register(cmd, sub) -> None:
    p = cmd("daemon", "Serve the Docker Engine API on a unix socket (foreground)", cmd_daemon)
    p.add_argument("--socket", default=None,
                   help="Unix socket to listen on (default /run/glassbox.sock; rootless: "
                        "$XDG_RUNTIME_DIR/glassbox/glassbox.sock)")
    p.add_argument("--group", default="docker",
                   help="Group allowed to use the socket, if it exists (default docker, as dockerd; "
                        "'' for root only)")
    p.add_argument("--tcp", metavar="HOST:PORT",
                   help="Also listen on TCP (none by default). Needs the three --tls* files "
                        "(clients must present a certificate signed by --tlscacert), or "
                        "127.0.0.1/localhost without TLS (warned: anyone reaching it is root)")
    p.add_argument("--tlscacert", metavar="FILE",
                   help="CA certificate that client certificates must be signed by")
    p.add_argument("--tlscert", metavar="FILE", help="The server's TLS certificate")
    p.add_argument("--tlskey", metavar="FILE", help="The server's TLS key")
