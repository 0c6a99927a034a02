"""``%container`` and ``%%dockerfile``: the CLI, inside a notebook cell.

``%container <anything glassbox accepts>`` is parsed by the CLI's own parser
(:func:`glassbox.cli.parser.build_parser`), so flags never drift between the
terminal and the notebook. Commands that produce objects return them:

===========================  =====================================================
``run -d ...``, ``create``   a :class:`~glassbox.jupyter.objects.Container` handle
``run ...`` (attached)       output streamed into the cell, then an ``ExitStatus``
``ps``, ``images``           HTML tables (rows from ``ps_rows`` / ``image_rows``)
``inspect``                  a dict (a list for several names), shown as JSON
``commit``                   an :class:`~glassbox.jupyter.objects.Image` handle
``exec``, ``start``          output streamed, then an ``ExitStatus``
``logs``, ``pull``, ...      output streamed into the cell as it comes
anything else                its text output (a ``str``)
===========================  =====================================================

``%%dockerfile -t TAG`` builds the cell as a Dockerfile, streaming the step
log (CACHED steps marked) and drawing the new image's layers.

A user mistake (a bad flag, no such container, a Dockerfile error) shows a
short red message, not a traceback.
"""

from __future__ import annotations

import codecs
import io
import json
import os
import shlex
import sys

from IPython.core.magic import Magics, cell_magic, line_magic, magics_class
from IPython.display import display

from ..errors import BuildError, GlassboxError, InvalidArgument
from .display import ErrorMessage, ExitStatus, JSONDoc, JSONList, TextOutput, images_table, \
    ps_table
from .session import resolve

LIVE = {"logs", "pull", "push", "build", "load", "stats", "wait", "attach", "events"}
"""Commands whose output is streamed into the cell while they run."""


class LiveOut:
    """A text stream that writes through to the cell at once and keeps a copy."""

    def __init__(self, target=None):
        self.target = target
        self.parts: list[str] = []

    def write(self, text: str) -> int:
        out = self.target or sys.stdout
        out.write(text)
        out.flush()
        self.parts.append(text)
        return len(text)

    def flush(self) -> None:
        (self.target or sys.stdout).flush()

    def getvalue(self) -> str:
        return "".join(self.parts)


def _func_name(args) -> str:
    f = getattr(args, "func", None)
    return f if isinstance(f, str) else getattr(f, "__name__", "").removeprefix("cmd_")


def dockerfile_parser():
    """The ``%%dockerfile`` line: ``-t TAG [--build-arg K=V] [--no-cache] [--target T]
    [--context DIR] [--no-diagram]``."""
    from ..cli.parser import Parser
    p = Parser(prog="%%dockerfile", description="Build the cell as a Dockerfile.")
    p.add_argument("-t", "--tag", action="append", default=[],
                   help="Name and optionally a tag in the 'name:tag' format")
    p.add_argument("--build-arg", action="append", default=[], metavar="KEY=VAL",
                   help="Set build-time variables")
    p.add_argument("--no-cache", action="store_true", help="Do not use cache when building")
    p.add_argument("--target", help="Set the target build stage to build")
    p.add_argument("--context", help="Build context directory (default: the notebook's folder)")
    p.add_argument("--no-diagram", action="store_true", help="Do not draw the layer tree")
    return p


def parse_build_args(items: list[str]) -> dict[str, str]:
    """``K=V`` pairs; a bare ``K`` takes its value from the environment (as Docker)."""
    out = {}
    for item in items:
        k, sep, v = item.partition("=")
        if not k:
            raise InvalidArgument(f"invalid --build-arg {item!r}: expected KEY=VALUE")
        if not sep:
            if k not in os.environ:
                continue
            v = os.environ[k]
        out[k] = v
    return out


@magics_class
class GlassboxMagics(Magics):
    """The glassbox magics. ``engine`` pins an engine (tests); otherwise the kernel's."""

    def __init__(self, shell=None, engine=None, **kw):
        super().__init__(shell, **kw)
        self._engine = engine
        self.last_error: ErrorMessage | None = None
        self.builder = None
        """A builder to use instead of ``engine.builder`` (tests inject fakes here)."""

    @property
    def engine(self):
        return resolve(self._engine)

    def _fail(self, message: str, detail: str = ""):
        self.last_error = ErrorMessage(message, detail)
        display(self.last_error)
        return None

    # ---- %container ------------------------------------------------------------------
    @line_magic
    def container(self, line: str):
        """Run a glassbox command: ``%container run --rm busybox echo hi``,
        ``c = %container run -d busybox sleep 60``, ``%container ps -a``, ..."""
        self.last_error = None
        try:
            return self._container(line)
        except GlassboxError as e:
            return self._fail(str(e))

    def _container(self, line: str):
        from .. import present
        from ..cli.parser import UnknownCommand, build_parser
        try:
            argv = shlex.split(line)
        except ValueError as e:
            raise InvalidArgument(f"cannot split the command line: {e}") from None
        parser = build_parser()
        if not argv or argv[0] in ("help", "-h"):
            print(parser.format_help())
            return None
        try:
            args = parser.parse_args(argv)
        except SystemExit:          # --help printed the help
            return None
        except UnknownCommand as e:
            return self._fail(f"unknown command {e.name!r}: see the list below",
                              parser.format_help())
        name = _func_name(args)
        if not name:
            print(parser.format_help())
            return None
        if args.version or args.host:
            return self._text(argv, None)
        eng = self.engine
        if args.root:
            from ..engine import Engine
            eng = Engine(args.root)
        if name == "run":
            return self._run(eng, args)
        if name == "create":
            cid = self._text(argv, eng).strip().splitlines()[-1]
            from .objects import Container
            return Container(eng, cid)
        if name == "ps" and not (args.quiet or args.format):
            rows = present.ps_rows(eng, args.all, present.ps_filters(args.filter))
            if args.last and args.last > 0:
                rows = rows[:args.last]
            return ps_table(rows)
        if name == "images" and not (args.quiet or args.format):
            return images_table(present.image_rows(eng, args.all, args.reference))
        if name in ("inspect", "image_inspect") and not args.format:
            docs = json.loads(self._text(argv, eng) or "[]")
            return JSONDoc(docs[0]) if len(docs) == 1 else JSONList(JSONDoc(d) for d in docs)
        if name == "commit":
            iid = self._text(argv, eng).strip().splitlines()[-1]
            from .objects import Image
            return Image(eng, iid)
        if name == "save" and not args.output:
            raise InvalidArgument("in a notebook, save needs -o FILE (there is no terminal to "
                                  "pipe the archive to)")
        if name == "stats" and not args.no_stream:
            print("(one snapshot; for a live chart use glassbox.jupyter.monitor(c))")
            argv = argv + ["--no-stream"]
        if name in ("exec", "start"):
            code = self._live(argv, eng)
            return ExitStatus(code)
        if name in LIVE:
            code = self._live(argv, eng)
            return None if code == 0 else ExitStatus(code)
        text = self._text(argv, eng)
        return TextOutput(text) if text else None

    def _text(self, argv, eng) -> str:
        from ..cli.main import run_command
        buf = io.StringIO()
        run_command(argv, out=buf, capture=True, engine=eng)
        return buf.getvalue()

    def _live(self, argv, eng) -> int:
        from ..cli.main import run_command
        return run_command(argv, out=LiveOut(), capture=True, engine=eng)

    def _run(self, eng, args):
        from ..cli.commands import create_options
        from .objects import Container
        opts = create_options(args)
        if args.detach:
            res = eng.run(opts, detach=True)
            return Container(eng, res.id)
        decoders = {s: codecs.getincrementaldecoder("utf-8")(errors="replace")
                    for s in ("stdout", "stderr")}

        def on_output(stream, data):
            out = sys.stdout if stream == "stdout" else sys.stderr
            out.write(decoders[stream].decode(data))
            out.flush()
        before = {c.id for c in eng.ps()}
        try:
            res = eng.run(opts, capture=True, on_output=on_output)
        except KeyboardInterrupt:
            # like docker's sig-proxy: an interrupted cell stops its container
            for c in eng.ps():
                if c.id not in before and c.running:
                    try:
                        eng.stop(c.id, 2)
                    except GlassboxError:
                        pass
            print("\n(interrupted: container stopped)", file=sys.stderr)
            return None
        return ExitStatus(res.exit_code, id=res.id, oom_killed=res.oom_killed,
                          stdout=res.stdout, stderr=res.stderr)

    # ---- %%dockerfile ----------------------------------------------------------------
    @cell_magic
    def dockerfile(self, line: str, cell: str):
        """Build the cell as a Dockerfile: ``%%dockerfile -t hello:1``."""
        self.last_error = None
        try:
            return self._dockerfile(line, cell)
        except BuildError as e:
            detail = ""
            if e.line is not None:
                detail = f"(Dockerfile line {e.line} is line {e.line + 1} of this cell)"
            return self._fail(str(e), detail)
        except GlassboxError as e:
            return self._fail(str(e))

    def _dockerfile(self, line: str, cell: str):
        from .objects import Image
        try:
            argv = shlex.split(line)
        except ValueError as e:
            raise InvalidArgument(f"cannot split the %%dockerfile line: {e}") from None
        try:
            args = dockerfile_parser().parse_args(argv)
        except SystemExit:
            return None
        if not cell.strip():
            raise InvalidArgument("the cell is empty: write a Dockerfile under %%dockerfile "
                                  "(starting with FROM)")
        context = os.path.abspath(args.context or os.getcwd())
        if not os.path.isdir(context):
            raise InvalidArgument(f"--context {context}: not a directory")
        eng = self.engine
        builder = self.builder
        if builder is None:
            try:
                builder = eng.builder
            except (ModuleNotFoundError, AttributeError) as e:
                return self._fail("the image builder is not available in this glassbox "
                                  f"(glassbox.build.builder: {e}); %%dockerfile needs it")
        from .progress import BuildLog
        bars = None
        if _in_kernel():
            from .widgets import ProgressBars
            bars = ProgressBars("build")
            display(bars)
        log = BuildLog(bars=bars)
        result = builder.build(context, dockerfile_text=cell, tags=list(args.tag),
                               build_args=parse_build_args(args.build_arg), target=args.target,
                               no_cache=args.no_cache, progress=log)
        image_id = getattr(result, "id", None) or log.state.image_id
        if not image_id:
            return self._fail("the build finished without an image id")
        img = Image(eng, image_id)
        if args.tag and not log.tagged:
            print(f"Successfully tagged {', '.join(args.tag)}")
        if not args.no_diagram:
            from .diagrams import layers
            from .messages import t
            display(layers(args.tag[0] if args.tag else image_id, engine=eng,
                           title=t("build.layers_of", name=args.tag[0] if args.tag else img.short_id)))
        self.last_build = log
        return img


def _in_kernel() -> bool:
    """True inside a Jupyter kernel (widgets can be shown), False in terminal IPython."""
    try:
        from IPython import get_ipython
        ip = get_ipython()
    except ImportError:
        return False
    return ip is not None and getattr(ip, "kernel", None) is not None


def show_error(shell, etype, value, tb, tb_offset=None):
    """IPython custom exception handler: a GlassboxError raised by any cell code
    (``layers("nope")``) shows as a short red message instead of a traceback."""
    display(ErrorMessage(str(value)))
    return None
