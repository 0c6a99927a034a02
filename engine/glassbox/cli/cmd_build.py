"""``glassbox build``: Docker's classic ``docker build`` output over the builder's events.

::

    glassbox build -t app:1 .
    glassbox build -t app:2 -f Dockerfile.dev --build-arg V=2 --target runtime --no-cache ctx/
    glassbox build -q .                  # only the image id
    glassbox build - < ctx.tar           # a tar (or a bare Dockerfile) on stdin
    glassbox build --network mynet --add-host db:10.0.0.5 --cache-from app:1 .
    glassbox build --network none .      # RUN steps without a network (default: the bridge)
    glassbox build --add-host host.docker.internal:host-gateway .   # the host, by name

Prints ``Step 1/4 : FROM busybox``, `` ---> Using cache``, `` ---> Running in <id>``, the
RUN output (its stdout and stderr, as they come), ``Removing intermediate container
<id>``, `` ---> <image id>``, then ``Successfully built <id>`` / ``Successfully tagged
app:1``. A failed build exits 1
(as docker does) with the Dockerfile file:line and the quoted line.
"""

from __future__ import annotations

import os
import sys

from .flags import key_values

HELP = "Build an image from a Dockerfile"


def register(cmd, sub) -> None:
    p = cmd("build", HELP, cmd_build)
    p.add_argument("-t", "--tag", action="append", default=[],
                   help="Name and optionally a tag in the 'name:tag' format")
    p.add_argument("-f", "--file", help="Name of the Dockerfile (default: 'PATH/Dockerfile')")
    p.add_argument("--build-arg", action="append", default=[], metavar="KEY=VAL",
                   help="Set build-time variables")
    p.add_argument("--target", help="Set the target build stage to build")
    p.add_argument("--no-cache", action="store_true",
                   help="Do not use cache when building the image")
    p.add_argument("--cache-from", action="append", default=[],
                   help="Images to consider as cache sources")
    p.add_argument("-q", "--quiet", action="store_true",
                   help="Suppress the build output and print image ID on success")
    p.add_argument("--iidfile", help="Write the image ID to the file")
    p.add_argument("--progress", choices=["steps", "classic"], default=None,
                   help="'steps': one line per step, CACHED on hits (default; "
                   "$GLASSBOX_BUILD_PROGRESS); 'classic': docker's legacy builder text")
    p.add_argument("--label", action="append", default=[],
                   help="Set metadata for an image")
    p.add_argument("--pull", action="store_true",
                   help="Always attempt to pull a newer version of the image")
    p.add_argument("--network", help="Networking mode for the RUN instructions: "
                   "'default' (the default bridge, as Docker; isolated with a warning where "
                   "no bridge can be made), 'bridge', 'none' (an isolated network namespace), "
                   "a user network's name, or 'host'")
    p.add_argument("--add-host", action="append", default=[], metavar="HOST:IP",
                   help="Add a custom host-to-IP mapping (host:ip) to the RUN "
                   "instructions' /etc/hosts; host:host-gateway is the default bridge's "
                   "gateway (the host)")
    p.add_argument("--rm", action="store_true", default=True,
                   help="Remove intermediate containers after a successful build (always)")
    p.add_argument("--force-rm", action="store_true",
                   help="Always remove intermediate containers (always)")
    p.add_argument("path", metavar="PATH|-", help="The build context: a directory, or - "
                   "to read a tar (or a Dockerfile) from stdin")


class _Printer:
    """Turns builder events into the classic ``docker build`` text."""

    def __init__(self, out, err, quiet: bool):
        self.out, self.err, self.quiet = out, err, quiet
        self.at_line_start = True
        self.tags: list[str] = []

    def write(self, text: str) -> None:
        if self.quiet:
            return
        self.out.write(text)
        self.at_line_start = text.endswith("\n")
        self.out.flush()

    def line(self, text: str) -> None:
        if not self.at_line_start:
            self.write("\n")
        self.write(text + "\n")

    def __call__(self, ev: dict) -> None:
        t = ev.get("type")
        if t == "step":
            if ev.get("trigger"):
                self.line(f" ---> Running trigger: {ev['instruction']}")
            else:
                self.line(f"Step {ev['index']}/{ev['total']} : {ev['instruction']}")
            if ev.get("cached"):
                self.line(" ---> Using cache")
        elif t == "container":
            short = ev["id"][:12]
            if ev.get("action") == "start":
                self.line(f" ---> Running in {short}")
            else:
                self.line(f"Removing intermediate container {short}")
        elif t == "log":
            self.write(ev.get("text", ""))
        elif t == "result":
            self.line(f" ---> {ev['image_id'].split(':', 1)[-1][:12]}")
        elif t == "skip":
            self.line(f"Skipping stage {ev['stage']}: the target does not need it")
        elif t == "warning":
            if not self.at_line_start and not self.quiet:
                self.write("\n")
            self.err.write(f"{ev['text']}\n")
            self.err.flush()
        elif t == "done":
            self.line(f"Successfully built {ev['image_id'].split(':', 1)[-1][:12]}")
            for name in self.tags:
                self.line(f"Successfully tagged {name}")
        elif t == "tag":  # docker prints these after "Successfully built"
            from ..images.reference import familiar
            try:
                self.tags.append(familiar(ev["tag"]))
            except Exception:  # noqa: BLE001
                self.tags.append(ev["tag"])


class _StepPrinter(_Printer):
    """One line per step — ``[2/5] RUN make``, marked ``CACHED`` on a cache hit —
    the RUN output indented under it, the seconds each step took, and the final
    image id and tags (the compact view BuildKit made familiar)."""

    def __init__(self, out, err, quiet: bool):
        super().__init__(out, err, quiet)
        import time
        self._clock = time.monotonic
        self.started = self._clock()
        self.step_started = None
        self.had_output = False

    def _close_step(self) -> None:
        """A step that ran something (output, or time spent) ends with its time;
        cached and metadata steps stay one line."""
        if self.step_started is not None:
            took = self._clock() - self.step_started
            if self.had_output or took >= 0.05:
                self.line(f"    ✔ {took:.1f}s")
            self.step_started = None

    def __call__(self, ev: dict) -> None:
        t = ev.get("type")
        if t == "step":
            self._close_step()
            what = "ONBUILD " if ev.get("trigger") else ""
            mark = "CACHED " if ev.get("cached") else ""
            self.line(f"[{ev['index']}/{ev['total']}] {mark}{what}{ev['instruction']}")
            self.step_started = self._clock()
            self.had_output = False
        elif t == "log":
            text = ev.get("text", "")
            self.had_output = True
            if self.at_line_start:
                text = "    │ " + text
            self.write(text.replace("\n", "\n    │ ").rstrip(" │") if text.endswith("\n")
                       else text.replace("\n", "\n    │ "))
        elif t == "skip":
            self.line(f"[skip] stage {ev['stage']}: the target does not need it")
        elif t == "done":
            self._close_step()
            self.line(f"Successfully built {ev['image_id'].split(':', 1)[-1][:12]} "
                      f"in {self._clock() - self.started:.1f}s")
            for name in self.tags:
                self.line(f"Successfully tagged {name}")
        elif t in ("warning", "tag"):
            super().__call__(ev)


def _dockerfile_args(args) -> dict:
    """Docker's -f rule: a relative -f is relative to the *current directory*; inside the
    context it is named relative to the context, outside it is read directly."""
    if not args.file:
        return {}
    if args.file == "-":
        return {"dockerfile_text": sys.stdin.buffer.read()}
    if args.path == "-":
        return {"dockerfile": args.file}
    ctx = os.path.realpath(args.path)
    here = os.path.realpath(args.file)
    if not os.path.exists(here) and os.path.exists(os.path.join(ctx, args.file)):
        here = os.path.realpath(os.path.join(ctx, args.file))
    if here == ctx or here.startswith(ctx + os.sep):
        return {"dockerfile": os.path.relpath(here, ctx)}
    if os.path.isfile(here):
        with open(here, "rb") as f:
            return {"dockerfile": os.path.basename(here), "dockerfile_text": f.read()}
    return {"dockerfile": args.file}


def cmd_build(eng, args) -> int:
    from ..errors import BuildError
    out = getattr(args, "_out", None) or sys.stdout
    view = args.progress or os.environ.get("GLASSBOX_BUILD_PROGRESS") or "steps"
    printer = (_Printer if view == "classic" else _StepPrinter)(out, sys.stderr, args.quiet)
    kw = _dockerfile_args(args)
    context = sys.stdin.buffer if args.path == "-" else args.path
    if args.path == "-" and "dockerfile_text" in kw:
        from ..errors import InvalidArgument
        raise InvalidArgument("glassbox build: the context and the Dockerfile cannot both "
                              "come from stdin (-f - with PATH -)")
    try:
        image = eng.build(
            context, tags=args.tag,
            build_args=key_values(args.build_arg, "--build-arg", from_env=True),
            target=args.target, no_cache=args.no_cache, cache_from=args.cache_from,
            labels=key_values(args.label, "--label"), progress=printer, pull=args.pull,
            network=args.network, extra_hosts=args.add_host, **kw)
    except BuildError as e:
        if not printer.at_line_start and not args.quiet:
            out.write("\n")
        out.flush()
        print(f"glassbox: Error: {e}", file=sys.stderr)
        return 1
    if args.iidfile:
        with open(args.iidfile, "w") as f:
            f.write(image.id)
    if args.quiet:
        out.write(image.id + "\n")
    return 0
