"""``glassbox``: the client. Parses Docker-style commands and calls the Engine.

Imports are lazy: ``glassbox run`` pays only for what ``run`` needs. Errors
print ``glassbox: Error: <message>`` and exit 125, as Docker's CLI does for
engine failures; a container's own exit code is passed through.
"""

from __future__ import annotations

import errno
import os
import sys


def _command_name(argv: list[str]) -> str | None:
    """The subcommand in ``argv`` (first word not an option or an option's value),
    so only its parser is built; None builds them all (for --help)."""
    takes_value = {"-H", "--host", "--root"}
    skip = False
    for word in argv:
        if skip:
            skip = False
            continue
        if word in takes_value:
            skip = True
            continue
        if word.startswith("-"):
            if word in ("-h", "--help"):
                return None
            continue
        return word
    return None


#: an Engine the warm agent built (and warmed) before forking, reused when the
#: request is for the same state root and cgroup parent
WARM_ENGINE = None


def _default_root() -> str:
    if os.geteuid() == 0:
        return "/var/lib/glassbox"
    from ..rootless.paths import state_root   # a rootless user's own (issue 14)
    return state_root()


def _engine_for(root: str | None):
    from ..engine import Engine
    warm = WARM_ENGINE
    if warm is not None:
        want_root = os.path.abspath(root or os.environ.get("GLASSBOX_ROOT")
                                    or _default_root())
        want_parent = os.environ.get("GLASSBOX_CGROUP_PARENT") or "glassbox"
        if warm.root == want_root and warm.cgroup_parent == want_parent:
            return warm
    return Engine(root)


def run_command(argv: list[str], *, out=None, capture: bool = False, engine=None) -> int:
    """Parse and run one command line. Used by ``main`` and the ``%container`` magic."""
    from . import parser as _parser
    args = (_parser.PREBUILT or _parser.build_parser(_command_name(argv))).parse_args(argv)
    if args.version:
        from .. import __version__
        (out or sys.stdout).write(f"glassbox version {__version__}\n")
        return 0
    if not getattr(args, "func", None):
        from .parser import build_parser
        build_parser().print_help(out or sys.stdout)
        return 0
    args._out = out
    args._capture = capture
    if engine is None and not getattr(args, "needs_engine", True):
        pass   # e.g. `doctor`: it must work where no state root can be made
    elif engine is None:
        args.host = args.host or os.environ.get("GLASSBOX_HOST")
        if args.host:
            from ..daemon.client import RemoteEngine  # the CLI as a client of a daemon
            engine = RemoteEngine(args.host)
        else:
            engine = _engine_for(args.root)
    if callable(args.func):
        func = args.func
    else:
        from . import commands
        func = getattr(commands, "cmd_" + args.func)
    return func(engine, args)


def main_code(argv: list[str]) -> int:
    """Run one command line, turning errors into Docker's exit codes."""
    from ..errors import ContainerExit, GlassboxError
    try:
        code = run_command(argv)
    except ContainerExit as e:
        print(f"glassbox: Error: {e}", file=sys.stderr)
        code = e.exit_code
    except GlassboxError as e:
        print(f"glassbox: Error: {e}", file=sys.stderr)
        code = e.exit_code
    except OSError as e:
        if e.errno != errno.ENOSPC:
            raise
        from ..quota import no_space_error   # the store is full: say whose and what to do
        err = no_space_error(os.environ.get("GLASSBOX_ROOT") or _default_root(),
                             e.filename or "")
        print(f"glassbox: Error: {err}", file=sys.stderr)
        code = err.exit_code
    except KeyboardInterrupt:
        code = 130
    except BrokenPipeError:
        code = 0
        try:
            sys.stdout = open(os.devnull, "w")
        except OSError:
            pass
    try:
        sys.stdout.flush()
    except (BrokenPipeError, ValueError):
        pass
    return code


def main(argv: list[str] | None = None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    if "GLASSBOX_AGENT" not in os.environ or os.environ["GLASSBOX_AGENT"] != "0":
        from .agent import try_client   # a warm agent runs the command, if one is up
        code = try_client(argv)
        if code is not None:
            sys.exit(code)
    sys.exit(main_code(argv))


if __name__ == "__main__":
    main()
