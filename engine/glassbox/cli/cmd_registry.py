"""``glassbox pull | push | login | logout`` — the registry commands.

The Engine's :class:`~glassbox.registry.RegistryClient` does the work and
reports Docker's JSON-message events; :class:`ProgressView` draws them as
per-layer bars on a terminal (cursor-up redraws, like ``docker pull``) or as
plain status lines when the output is a file or a pipe. Imports stay inside
the functions: ``glassbox ps`` must not pay for the registry code.
"""

from __future__ import annotations

import sys


def _out(args):
    return getattr(args, "_out", None) or sys.stdout


def _human(n: float) -> str:
    for unit in ("B", "kB", "MB", "GB"):
        if abs(n) < 1000 or unit == "GB":
            return f"{n:.3g}{unit}" if unit != "B" else f"{int(n)}B"
        n /= 1000
    return f"{n}"


def progress_bar(current: int, total: int | None, width: int = 50) -> str:
    """``[=====>      ]  12.3MB/45.6MB`` — the bar Docker draws."""
    if not total:
        return _human(current)
    frac = max(0.0, min(1.0, current / total))
    filled = int(frac * width)
    bar = "=" * filled + (">" if filled < width else "") + " " * max(0, width - filled - 1)
    return f"[{bar}] {_human(current):>8}/{_human(total)}"


class ProgressView:
    """Turns registry progress events into terminal output.

    On a TTY every layer owns one line, rewritten in place; elsewhere only
    status changes are printed (no per-chunk noise in logs and CI).
    """

    _NOISY = {"Downloading", "Pushing", "Extracting"}

    def __init__(self, out, tty: bool | None = None, quiet: bool = False):
        self.out = out
        if tty is None:
            try:
                tty = out.isatty()
            except (AttributeError, ValueError):
                tty = False
        self.tty, self.quiet = tty, quiet
        self.rows: dict[str, int] = {}       # layer id -> line number
        self.lines = 0
        self.last: dict[str, str] = {}

    def __call__(self, ev: dict) -> None:
        if self.quiet:
            return
        status = ev.get("status")
        if not status:
            return
        ident = ev.get("id")
        detail = ev.get("progressDetail") or {}
        text = f"{ident}: {status}" if ident else status
        if detail.get("current") is not None and self.tty:
            text += " " + progress_bar(detail["current"], detail.get("total"))
        if not self.tty:
            if status in self._NOISY and ident in self.last:
                return
            if ident and self.last.get(ident) == status:
                return
            if ident:
                self.last[ident] = status
            self.out.write(text + "\n")
            self.out.flush()
            return
        is_layer = ident is not None and not status.startswith("Pulling from")
        if is_layer and ident in self.rows:
            up = self.lines - self.rows[ident]
            self.out.write(f"\x1b[{up}A\r\x1b[2K{text}\x1b[{up}B\r")
        else:
            if is_layer:
                self.rows[ident] = self.lines
            self.out.write(text + "\n")
            self.lines += 1
        self.out.flush()


def _allow_insecure(eng, args) -> None:
    for h in getattr(args, "insecure_registry", None) or ():
        add = getattr(eng.registry, "add_insecure_registry", None)
        if add:
            add(h)


def cmd_pull(eng, args) -> int:
    from ..images.reference import parse
    out = _out(args)
    ref = parse(args.reference)
    _allow_insecure(eng, args)
    view = ProgressView(out, quiet=args.quiet)
    eng.pull(str(ref), progress=view, platform=args.platform)
    out.write(f"{ref}\n")
    return 0


def cmd_push(eng, args) -> int:
    from ..images.reference import parse
    out = _out(args)
    ref = parse(args.reference)
    _allow_insecure(eng, args)
    view = ProgressView(out, quiet=args.quiet)
    digest = eng.push(str(ref), progress=view)
    if args.quiet:
        out.write(f"{ref.familiar}@{digest}\n")
    return 0


def _read_stdin_password() -> str:
    data = sys.stdin.read()
    return data[:-1] if data.endswith("\n") else data


def cmd_login(eng, args) -> int:
    from ..errors import InvalidArgument
    out = _out(args)
    server = args.server or "docker.io"
    user, password = args.username, args.password
    if args.password_stdin:
        if args.password is not None:
            raise InvalidArgument("--password and --password-stdin are mutually exclusive")
        if not user:
            raise InvalidArgument("Must provide --username with --password-stdin")
        password = _read_stdin_password().rstrip("\r\n")
    elif password is not None:
        sys.stderr.write("WARNING! Using --password via the CLI is insecure. "
                         "Use --password-stdin.\n")
    if not user:
        if not sys.stdin.isatty():
            raise InvalidArgument("login: no username given (-u) and stdin is not a terminal")
        user = input("Username: ").strip()
    if password is None:
        if not sys.stdin.isatty():
            raise InvalidArgument("login: no password given: use -p or --password-stdin")
        import getpass
        password = getpass.getpass("Password: ")
    _allow_insecure(eng, args)
    out.write(eng.login(server, user, password) + "\n")
    return 0


def cmd_logout(eng, args) -> int:
    out = _out(args)
    server = args.server or "docker.io"
    if eng.logout(server):
        out.write(f"Removing login credentials for {server}\n")
    else:
        out.write(f"Not logged in to {server}\n")
    return 0


def register(cmd, sub) -> None:
    """Add pull, push, login and logout to the CLI grammar (called by parser.py)."""
    insecure_help = ("Allow plain http / unverified TLS to this registry (repeatable; "
                     "also $GLASSBOX_INSECURE_REGISTRIES)")
    p = cmd("pull", "Download an image from a registry", cmd_pull)
    p.add_argument("--platform", help="Set platform if server is multi-platform capable "
                   "(os/arch[/variant], e.g. linux/arm64)")
    p.add_argument("-q", "--quiet", action="store_true", help="Suppress verbose output")
    p.add_argument("--insecure-registry", action="append", default=[], metavar="HOST",
                   help=insecure_help)
    p.add_argument("reference", metavar="NAME[:TAG|@DIGEST]")

    p = cmd("push", "Upload an image to a registry", cmd_push)
    p.add_argument("-q", "--quiet", action="store_true", help="Suppress verbose output")
    p.add_argument("--insecure-registry", action="append", default=[], metavar="HOST",
                   help=insecure_help)
    p.add_argument("reference", metavar="NAME[:TAG]")

    p = cmd("login", "Log in to a registry", cmd_login)
    p.add_argument("-u", "--username", help="Username")
    p.add_argument("-p", "--password", help="Password")
    p.add_argument("--password-stdin", action="store_true", help="Take the password from stdin")
    p.add_argument("--insecure-registry", action="append", default=[], metavar="HOST",
                   help=insecure_help)
    p.add_argument("server", nargs="?", metavar="SERVER")

    p = cmd("logout", "Log out from a registry", cmd_logout)
    p.add_argument("server", nargs="?", metavar="SERVER")
