"""The Dockerfile: text → a pure AST with line numbers, and Docker's variable scoping.

A Dockerfile is a list of *instructions* (``FROM``, ``RUN``, ``COPY`` …), one per
logical line. A logical line may span several physical lines joined by the escape
character (``\\`` or, after ``# escape=`````, a backtick); comment lines inside it are
dropped. ``RUN``/``COPY``/``ADD`` may carry *heredocs* (``RUN <<EOF`` … ``EOF``) whose
bodies follow the line. Each ``FROM`` opens a *stage*; ``ARG`` lines before the first
``FROM`` are *global* and only visible to ``FROM`` lines unless a stage re-declares them.

Two halves live here:

- :func:`parse` turns text into :class:`Dockerfile` → :class:`Stage` →
  :class:`Instruction` (one dataclass per instruction, e.g. :class:`Copy`,
  :class:`Healthcheck`). Nothing is expanded at parse time: ``$VAR`` stays in the AST,
  exactly as Docker keeps it, because values depend on ``--build-arg`` and on the base
  image's ``ENV``.
- :class:`Substituter` (global scope: build args, global ``ARG``) and :class:`StageScope`
  (one per stage: ``ARG``/``ENV`` as they are met) expand an instruction step by step,
  the way the builder walks it: ``inst = scope.apply(inst)``. :func:`expand` is the bare
  word expander (moby/buildkit ``shell.Lex.ProcessWord`` semantics).

Why our own parser and not the ``dockerfile-parse`` PyPI library? That library is a
thin line splitter for editing Dockerfiles: it does not model stages, heredocs, flags,
the exec/shell form distinction per instruction, or ARG/ENV scoping, and its errors do
not carry a line to quote. The builder needs all of those, the errors are the teaching
surface of this project (file:line, the quoted line, "did you mean RUN?", the course
notes' ``FROM: busybox`` form), and the grammar is small. So: no dependency, Docker's
behaviour reproduced rule by rule (comments in the code name the rule), one table-driven
test per rule in ``tests/unit/test_dockerfile*.py``.

Shown in the notebook on images and Dockerfiles (``notebooks/``), section "Dockerfile".
"""

from __future__ import annotations

import dataclasses
import difflib
import fnmatch
import json
import re
from dataclasses import dataclass, field
from typing import Iterable, Mapping, Sequence

from glassbox.errors import BuildError

__all__ = [
    "Heredoc", "Instruction", "From", "Run", "Cmd", "Entrypoint", "Shell", "Copy", "Add",
    "Env", "Label", "Arg", "Expose", "Volume", "User", "Workdir", "Stopsignal", "Maintainer",
    "Onbuild", "Healthcheck", "Stage", "Dockerfile", "ParseWarning",
    "parse", "expand", "expand_words", "Substituter", "StageScope",
    "stage_for_target", "stages_needed", "resolve_stage_ref", "unused_build_args",
    "unused_build_args_warning", "parse_duration", "validate_port", "INSTRUCTIONS",
    "PROXY_ARGS", "KNOWN_DIRECTIVES",
]

# ---------------------------------------------------------------------------------------
# Values
# ---------------------------------------------------------------------------------------

#: Every instruction Docker knows, in the order of the Dockerfile reference.
INSTRUCTIONS = ("FROM", "RUN", "CMD", "LABEL", "MAINTAINER", "EXPOSE", "ENV", "ADD", "COPY",
                "ENTRYPOINT", "VOLUME", "USER", "WORKDIR", "ARG", "ONBUILD", "STOPSIGNAL",
                "HEALTHCHECK", "SHELL")

#: Predefined args: usable without an ``ARG`` line, passed to RUN, but kept out of the
#: cache key and the history unless the Dockerfile declares them (Docker's rule).
PROXY_ARGS = frozenset({"HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "https_proxy",
                        "FTP_PROXY", "ftp_proxy", "NO_PROXY", "no_proxy",
                        "ALL_PROXY", "all_proxy"})

#: Parser directives kept in :attr:`Dockerfile.directives`.
KNOWN_DIRECTIVES = ("syntax", "escape", "check")

# Flags each instruction accepts: name -> kind ("str", "bool", "list").
_FLAGS: dict[str, dict[str, str]] = {
    "FROM": {"platform": "str"},
    "RUN": {"mount": "list", "network": "str", "security": "str"},
    "COPY": {"from": "str", "chown": "str", "chmod": "str", "link": "bool", "parents": "bool",
             "exclude": "list"},
    "ADD": {"chown": "str", "chmod": "str", "link": "bool", "checksum": "str",
            "keep-git-dir": "bool", "exclude": "list"},
    "HEALTHCHECK": {"interval": "str", "timeout": "str", "start-period": "str",
                    "start-interval": "str", "retries": "str"},
}

# Instructions whose words the builder expands (Docker's list). RUN/CMD/ENTRYPOINT/SHELL/
# HEALTHCHECK are left to the shell; ONBUILD is expanded when it triggers.
EXPANDED = frozenset({"ADD", "COPY", "ENV", "EXPOSE", "FROM", "LABEL", "STOPSIGNAL", "USER",
                      "VOLUME", "WORKDIR", "ARG"})


@dataclass
class Heredoc:
    """A here-document: ``<<EOF`` on the instruction line, body on the following lines.

    ``expand`` is False when the delimiter was quoted (``<<"EOF"`` / ``<<'EOF'``): the
    body is then taken literally. ``chomp`` is ``<<-EOF``: leading tabs were stripped
    from each body line and from the terminator. ``fd`` is ``3<<EOF``'s 3 (else None).
    """

    name: str
    content: str = ""
    expand: bool = True
    chomp: bool = False
    fd: int | None = None


@dataclass(kw_only=True)
class Instruction:
    """One instruction as written: the generic view every subclass shares.

    ``args`` are the words after the flags (exec form: the JSON list; shell form of
    RUN/CMD/ENTRYPOINT: one string, the rest of the line). ``flags`` maps ``--name`` to
    a str, a bool, or a list (repeatable flags such as ``--mount``). ``original`` is the
    logical line (continuations joined) and ``line``..``end_line`` its physical span,
    heredoc bodies included. ``notes`` are non-fatal remarks (ignored flags, deprecations).
    """

    cmd: str
    args: list[str] = field(default_factory=list)
    flags: dict[str, object] = field(default_factory=dict)
    json_form: bool = False
    original: str = ""
    line: int = 0
    end_line: int = 0
    heredocs: list[Heredoc] = field(default_factory=list)
    file: str = "Dockerfile"
    notes: list[str] = field(default_factory=list)

    def error(self, message: str) -> BuildError:
        """A :class:`BuildError` at this instruction (file:line and the quoted line)."""
        return BuildError(message, file=self.file, line=self.line, text=self.original)

    @property
    def expandable(self) -> bool:
        """Does the builder expand ``$VAR`` in this instruction (Docker's list)?"""
        return self.cmd in EXPANDED


@dataclass(kw_only=True)
class From(Instruction):
    """``FROM [--platform=P] image [AS name]``; ``name`` is lower-cased as Docker does."""

    image: str = ""
    name: str | None = None
    platform: str | None = None


@dataclass(kw_only=True)
class _Command(Instruction):
    """RUN/CMD/ENTRYPOINT: exec form (``json_form``) or one shell string."""

    command: list[str] = field(default_factory=list)

    def argv(self, shell: Sequence[str] = ("/bin/sh", "-c")) -> list[str]:
        """The process argv: exec form as is, shell form prefixed by ``shell``."""
        return list(self.command) if self.json_form else [*shell, *self.command]


@dataclass(kw_only=True)
class Run(_Command):
    """``RUN [--mount=…] [--network=…] cmd``; heredocs feed the command (see ``heredocs``)."""

    mounts: list[str] = field(default_factory=list)
    network: str | None = None
    security: str | None = None


@dataclass(kw_only=True)
class Cmd(_Command):
    """``CMD``: the image's default command (or ENTRYPOINT's default args)."""


@dataclass(kw_only=True)
class Entrypoint(_Command):
    """``ENTRYPOINT``: the image's fixed executable."""


@dataclass(kw_only=True)
class Shell(Instruction):
    """``SHELL ["exe", "arg"]``: the shell for later shell-form instructions."""

    shell: list[str] = field(default_factory=list)


@dataclass(kw_only=True)
class Copy(Instruction):
    """``COPY [--from] [--chown] [--chmod] src… dest``.

    ``sources`` are paths/globs (in the context, or in ``from_`` when set); ``contents``
    are heredoc sources (``COPY <<EOF /dest``), inline files named by ``Heredoc.name``.
    """

    sources: list[str] = field(default_factory=list)
    dest: str = ""
    contents: list[Heredoc] = field(default_factory=list)
    from_: str | None = None
    chown: str | None = None
    chmod: str | None = None
    link: bool = False
    parents: bool = False
    exclude: list[str] = field(default_factory=list)


@dataclass(kw_only=True)
class Add(Copy):
    """``ADD``: COPY plus local tar auto-extraction and URLs (``checksum`` for URLs)."""

    checksum: str | None = None
    keep_git_dir: bool = False


@dataclass(kw_only=True)
class Env(Instruction):
    """``ENV k=v k2="v 2"`` or legacy ``ENV k v``: ordered (key, raw value) pairs."""

    pairs: list[tuple[str, str]] = field(default_factory=list)


@dataclass(kw_only=True)
class Label(Instruction):
    """``LABEL k=v …``: ordered (key, raw value) pairs."""

    pairs: list[tuple[str, str]] = field(default_factory=list)


@dataclass(kw_only=True)
class Arg(Instruction):
    """``ARG name[=default] …``: pairs of (name, raw default or None)."""

    pairs: list[tuple[str, str | None]] = field(default_factory=list)

    @property
    def name(self) -> str:
        return self.pairs[0][0]

    @property
    def default(self) -> str | None:
        return self.pairs[0][1]


@dataclass(kw_only=True)
class Expose(Instruction):
    """``EXPOSE 80 443/tcp 53/udp 8000-8010``."""

    ports: list[str] = field(default_factory=list)


@dataclass(kw_only=True)
class Volume(Instruction):
    """``VOLUME /data`` or ``VOLUME ["/a", "/b"]``."""

    paths: list[str] = field(default_factory=list)


@dataclass(kw_only=True)
class User(Instruction):
    """``USER name[:group]`` or ``uid[:gid]``."""

    user: str = ""


@dataclass(kw_only=True)
class Workdir(Instruction):
    """``WORKDIR /path`` (relative paths are joined to the previous WORKDIR by the builder)."""

    path: str = ""


@dataclass(kw_only=True)
class Stopsignal(Instruction):
    """``STOPSIGNAL SIGTERM`` / ``STOPSIGNAL 9``."""

    signal: str = ""


@dataclass(kw_only=True)
class Maintainer(Instruction):
    """``MAINTAINER name`` (deprecated: Docker suggests ``LABEL maintainer=…``)."""

    maintainer: str = ""


@dataclass(kw_only=True)
class Onbuild(Instruction):
    """``ONBUILD <instruction>``: kept in the image config, run by child builds.

    ``trigger`` is the parsed nested instruction (same line numbers); ``expression``
    is its text as Docker stores it in ``config.OnBuild``.
    """

    trigger: Instruction | None = None
    expression: str = ""


@dataclass(kw_only=True)
class Healthcheck(Instruction):
    """``HEALTHCHECK [--interval …] CMD …`` or ``HEALTHCHECK NONE``.

    ``test`` is Docker's config form: ``["NONE"]``, ``["CMD", argv…]`` (exec form) or
    ``["CMD-SHELL", "cmd"]``. Durations are nanoseconds (0 = Docker's default), as in
    the image config.
    """

    test: list[str] = field(default_factory=list)
    interval: int = 0
    timeout: int = 0
    start_period: int = 0
    start_interval: int = 0
    retries: int = 0


@dataclass
class ParseWarning:
    """A non-fatal finding (Docker prints these as build warnings / lint checks)."""

    line: int
    message: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.message}"


@dataclass
class Stage:
    """One build stage: ``FROM`` and the instructions after it up to the next ``FROM``.

    ``base`` is the raw image (may hold ``$ARG``); ``instructions`` exclude the ``FROM``
    itself, which is ``from_``.
    """

    index: int
    name: str | None
    base: str
    instructions: list[Instruction]
    line: int
    from_: From | None = None

    @property
    def platform(self) -> str | None:
        return self.from_.platform if self.from_ else None

    @property
    def ref(self) -> str:
        """How to name the stage in messages: its name, else its index."""
        return self.name if self.name is not None else str(self.index)


@dataclass
class Dockerfile:
    """A parsed Dockerfile: stages in order, global ARGs, directives, warnings."""

    stages: list[Stage]
    global_args: list[Arg] = field(default_factory=list)
    directives: dict[str, str] = field(default_factory=dict)
    filename: str = "Dockerfile"
    escape: str = "\\"
    warnings: list[ParseWarning] = field(default_factory=list)

    def stage(self, ref: str | int) -> Stage | None:
        """The stage named ``ref`` (case-insensitive) or with index ``ref``, or None."""
        if isinstance(ref, int) or (isinstance(ref, str) and ref.isdigit()):
            i = int(ref)
            return self.stages[i] if 0 <= i < len(self.stages) else None
        low = ref.lower()
        for s in self.stages:
            if s.name == low:
                return s
        return None


# ---------------------------------------------------------------------------------------
# Parsing
# ---------------------------------------------------------------------------------------

_DIRECTIVE = re.compile(r"^#\s*([a-zA-Z][a-zA-Z0-9]*)\s*=\s*(.+?)\s*$")
_HEREDOC = re.compile(r"^(\d*)<<(-?)([^<]*)$")
_STAGE_NAME = re.compile(r"^[a-z][a-z0-9\-_.]*$")
_HEREDOC_CMDS = ("RUN", "COPY", "ADD")


class _Ctx:
    """Per-parse state shared by the helpers: file name, escape char, warnings."""

    def __init__(self, filename: str, escape: str):
        self.filename, self.escape = filename, escape
        self.warnings: list[ParseWarning] = []

    def err(self, message: str, line: int, text: str) -> BuildError:
        return BuildError(message, file=self.filename, line=line, text=text)


def _decode(data: str | bytes, filename: str) -> str:
    """Bytes → text; a Dockerfile that is not text is refused with a clear error."""
    if isinstance(data, (bytes, bytearray, memoryview)):
        data = bytes(data)
        if data.startswith(b"\xef\xbb\xbf"):
            data = data[3:]
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as e:
            line = data[:e.start].count(b"\n") + 1
            raise BuildError("the Dockerfile is not UTF-8 text (invalid byte "
                             f"0x{data[e.start]:02x}): is -f pointing at a binary file?",
                             file=filename, line=line) from None
    else:
        text = data.removeprefix("\ufeff")
    if "\x00" in text:
        line = text[:text.index("\x00")].count("\n") + 1
        raise BuildError("the Dockerfile is not text (it contains NUL bytes): is -f "
                         "pointing at a binary file?", file=filename, line=line)
    return text


def parse(text: str | bytes, *, filename: str = "Dockerfile") -> Dockerfile:
    """Parse Dockerfile ``text`` (str or UTF-8 bytes) into a :class:`Dockerfile`.

    Raises :class:`BuildError` (with file:line and the quoted line) on any syntax error.
    Nothing is expanded: use :class:`Substituter` for ``$VAR``.
    """
    text = _decode(text, filename)
    lines = [ln[:-1] if ln.endswith("\r") else ln for ln in text.split("\n")]
    if lines and lines[-1] == "" and text.endswith("\n"):
        lines.pop()

    # -- parser directives: only at the very top, before any other line -------------
    directives: dict[str, str] = {}
    i = 0
    while i < len(lines):
        m = _DIRECTIVE.match(lines[i].strip())
        if not m or m.group(1).lower() not in KNOWN_DIRECTIVES:
            break  # an unknown directive is a comment, and ends the directives
        key, value = m.group(1).lower(), m.group(2)
        if key in directives:
            raise BuildError(f"only one {key} parser directive can be used",
                             file=filename, line=i + 1, text=lines[i])
        directives[key] = value
        i += 1
    escape = directives.get("escape", "\\")
    if escape not in ("\\", "`"):
        raise BuildError(f"invalid escape token {escape!r}: it must be ` or \\",
                         file=filename, line=1, text=lines[0])
    ctx = _Ctx(filename, escape)

    # -- logical lines ----------------------------------------------------------------
    instructions: list[Instruction] = []
    n = len(lines)

    def is_comment(s: str) -> bool:
        return s.lstrip().startswith("#")

    def strip_continuation(s: str) -> tuple[str, bool]:
        """(line without the trailing escape, continues?)."""
        t = s.rstrip(" \t")
        if t.endswith(escape):
            return t[:-1], True
        return s, False

    while i < n:
        raw = lines[i]
        start = i + 1
        i += 1
        if is_comment(raw) or not raw.strip():
            continue
        logical, cont = strip_continuation(raw.lstrip())
        empty_cont = False
        while cont and i < n:
            nxt = lines[i]
            i += 1
            if is_comment(nxt):
                continue  # comment lines inside a continuation are dropped
            if not nxt.strip():
                empty_cont = True  # Docker: allowed, deprecated
                continue
            part, cont = strip_continuation(nxt)
            logical += part
        if empty_cont:
            ctx.warnings.append(ParseWarning(start, "empty continuation line (Docker deprecates "
                                                "these: remove the blank line or the "
                                                f"trailing {escape})"))
        if not logical.strip():
            continue
        inst = _parse_instruction(ctx, logical.strip(), start, i)
        if inst.cmd in _HEREDOC_CMDS and "<<" in logical:
            heredocs = _heredocs_from_line(logical.strip())
            for hd in heredocs:
                body: list[str] = []
                terminated = False
                while i < n:
                    ln = lines[i]
                    i += 1
                    candidate = ln.lstrip("\t") if hd.chomp else ln
                    if candidate == hd.name:
                        terminated = True
                        break
                    body.append(candidate)
                if not terminated:
                    raise ctx.err(f"unterminated heredoc: no line {hd.name!r} closes "
                                  f"<<{hd.name} (the terminator must be alone on its line)",
                                  start, logical.strip())
                hd.content = "".join(b + "\n" for b in body)
            inst.end_line = i
            _attach_heredocs(ctx, inst, heredocs)
        instructions.append(inst)

    return _group_stages(ctx, instructions, directives)


def _heredocs_from_line(line: str) -> list[Heredoc]:
    """The heredocs a line opens, in order (buildkit: shell words matching ``N<<-WORD``)."""
    docs = []
    for word in _split_words_raw(line):
        m = _HEREDOC.match(word)
        if not m or not m.group(3):
            continue
        raw_name = m.group(3)
        try:
            name = "".join(_unquote(raw_name))
        except ValueError:
            continue
        if not name:
            continue
        docs.append(Heredoc(name=name, expand=(name == raw_name), chomp=m.group(2) == "-",
                            fd=int(m.group(1)) if m.group(1) else None))
    return docs


def _split_words_raw(line: str) -> list[str]:
    """Split on unquoted whitespace, keeping quotes and escapes in the words."""
    words, cur, quote, in_word = [], [], "", False
    k = 0
    while k < len(line):
        ch = line[k]
        if quote:
            cur.append(ch)
            if ch == quote:
                quote = ""
            elif ch == "\\" and quote == '"' and k + 1 < len(line):
                k += 1
                cur.append(line[k])
        elif ch in "'\"":
            quote = ch
            cur.append(ch)
            in_word = True
        elif ch == "\\" and k + 1 < len(line):
            cur.append(ch)
            cur.append(line[k + 1])
            k += 1
            in_word = True
        elif ch.isspace():
            if in_word:
                words.append("".join(cur))
                cur, in_word = [], False
        else:
            cur.append(ch)
            in_word = True
        k += 1
    if in_word:
        words.append("".join(cur))
    return words


def _unquote(word: str) -> list[str]:
    """Shell quote removal of one word (no expansion): list of pieces."""
    lx = _Lexer(word, lambda _n: None, "\\", no_dollar=True)
    return [s for s, _ in lx.process()[0]]


def _parse_words(rest: str, escape: str) -> list[str]:
    """Docker's ``parseWords``: split on unquoted whitespace, quotes/escapes kept."""
    words, cur, quote, k = [], [], "", 0
    while k < len(rest):
        ch = rest[k]
        if not quote and ch.isspace():
            if cur:
                words.append("".join(cur))
                cur = []
            k += 1
            continue
        cur.append(ch)
        if ch == escape and k + 1 < len(rest) and quote != "'":
            cur.append(rest[k + 1])
            k += 2
            continue
        if quote and ch == quote:
            quote = ""
        elif not quote and ch in "'\"":
            quote = ch
        k += 1
    if cur:
        words.append("".join(cur))
    return words


def _extract_flags(rest: str) -> tuple[list[str], str]:
    """Docker's ``extractBuilderFlags``: leading ``--x[=v]`` words (quotes processed)."""
    words: list[str] = []
    k, n = 0, len(rest)
    while True:
        while k < n and rest[k].isspace():
            k += 1
        if k >= n or not rest.startswith("--", k):
            return words, rest[k:]
        word, quote, blank_ok = [], "", False
        while k < n:
            ch = rest[k]
            if quote:
                if ch == quote:
                    quote = ""
                elif ch == "\\" and k + 1 < n:
                    k += 1
                    word.append(rest[k])
                else:
                    word.append(ch)
            elif ch.isspace():
                break
            elif ch in "'\"":
                quote, blank_ok = ch, True
            elif ch == "\\" and k + 1 < n:
                k += 1
                word.append(rest[k])
            else:
                word.append(ch)
            k += 1
        w = "".join(word)
        if w == "--":
            while k < n and rest[k].isspace():
                k += 1
            return words, rest[k:]
        if w or blank_ok:
            words.append(w)


def _parse_flags(ctx: _Ctx, cmd: str, words: list[str], line: int, text: str
                 ) -> dict[str, object]:
    allowed = _FLAGS.get(cmd, {})
    flags: dict[str, object] = {}
    for w in words:
        name, eq, value = w[2:].partition("=")
        kind = allowed.get(name)
        if kind is None:
            if cmd in ("COPY", "ADD") and name in ("from", "checksum", "keep-git-dir"):
                hint = (" (--from is COPY only: use COPY --from=…)" if name == "from" else
                        f" (--{name} is ADD only)")
            elif allowed:
                hint = f" ({cmd} accepts " + ", ".join("--" + f for f in allowed) + ")"
            else:
                hint = f" ({cmd} takes no flags)"
            raise ctx.err(f"unknown flag --{name} for {cmd}{hint}", line, text)
        if kind == "bool":
            if eq and value.lower() not in ("true", "false"):
                raise ctx.err(f"expecting boolean value for flag --{name}, not: {value}",
                              line, text)
            flags[name] = (value.lower() != "false") if eq else True
            continue
        if not eq:
            raise ctx.err(f"missing a value on flag --{name}: write --{name}=VALUE", line, text)
        if kind == "list":
            flags.setdefault(name, []).append(value)  # type: ignore[union-attr]
            continue
        if name in flags:
            raise ctx.err(f"duplicate flag specified: --{name}", line, text)
        if name == "from" and not value:
            raise ctx.err("--from needs a stage name, a stage index or an image", line, text)
        flags[name] = value
    return flags


def _maybe_json(rest: str) -> list[str] | None:
    """The JSON array of strings ``rest`` holds, or None (Docker then uses shell form)."""
    rest = rest.strip()
    if not rest.startswith("["):
        return None
    try:
        value = json.loads(rest)
    except ValueError:
        return None
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        return None
    return value


_COLON_FORM = re.compile(r"^([A-Za-z]+):(.*)$")


def _parse_instruction(ctx: _Ctx, logical: str, line: int, end_line: int,
                       *, quote: str | None = None) -> Instruction:
    qt = quote or logical  # the text errors quote (ONBUILD quotes its whole line)
    parts = re.split(r"\s+", logical, maxsplit=1)
    word = parts[0]
    rest = parts[1] if len(parts) > 1 else ""
    cmd = word.upper()
    if cmd not in INSTRUCTIONS:
        m = _COLON_FORM.match(word)
        if m and m.group(1).upper() in INSTRUCTIONS:
            name = m.group(1).upper()
            arg = (m.group(2) + " " + rest).strip() or "…"
            raise ctx.err(f"Dockerfile instructions take no colon: {word!r} is not an "
                          f"instruction. Write `{name} {arg}` (the `{name}: ...` form in "
                          "course notes is shorthand, not Dockerfile syntax)", line, qt)
        close = difflib.get_close_matches(cmd, INSTRUCTIONS, n=1, cutoff=0.6)
        hint = f" (did you mean {close[0]}?)" if close else \
            " (instructions are: " + " ".join(INSTRUCTIONS) + ")"
        raise ctx.err(f"unknown instruction: {word}{hint}", line, qt)

    base = dict(cmd=cmd, original=logical, line=line, end_line=end_line, file=ctx.filename)

    def err(msg: str) -> BuildError:
        return ctx.err(msg, line, qt)

    if cmd == "ONBUILD":
        body = rest.strip()
        if not body:
            raise err("ONBUILD requires an instruction to trigger, e.g. ONBUILD COPY . /app")
        trigger = _parse_instruction(ctx, body, line, end_line, quote=qt)
        if trigger.cmd == "ONBUILD":
            raise err("chaining ONBUILD via `ONBUILD ONBUILD` isn't allowed")
        if trigger.cmd in ("FROM", "MAINTAINER"):
            raise err(f"{trigger.cmd} isn't allowed as an ONBUILD trigger")
        return Onbuild(**base, args=[body], trigger=trigger, expression=body)

    flag_words, rest = _extract_flags(rest)
    flags = _parse_flags(ctx, cmd, flag_words, line, qt)
    base["flags"] = flags
    rest = rest.strip()

    if cmd == "FROM":
        words = rest.split()
        if len(words) == 2 and words[1].lower() == "as":
            raise err(f"FROM {words[0]} AS needs a stage name after AS, e.g. "
                      f"`FROM {words[0]} AS build`")
        if len(words) not in (1, 3) or (len(words) == 3 and words[1].lower() != "as"):
            raise err("FROM requires either one or three arguments: FROM image [AS name]")
        name = None
        if len(words) == 3:
            name = words[2].lower()
            if not _STAGE_NAME.match(name):
                raise err(f"invalid name for build stage: {words[2]!r}, name can't start "
                          "with a number or contain symbols (use letters, digits, - _ .)")
        return From(**base, args=words, image=words[0], name=name,
                    platform=flags.get("platform"))  # type: ignore[arg-type]

    if cmd in ("RUN", "CMD", "ENTRYPOINT"):
        js = _maybe_json(rest)
        notes = []
        if js is None and rest.startswith("["):
            notes.append(f"{cmd} looks like exec form but is not a valid JSON array of "
                         "strings (use double quotes); Docker runs it in shell form")
        if js is None and not rest:
            raise err(f"{cmd} requires at least one argument")
        if cmd == "RUN" and js == []:
            raise err("RUN requires at least one argument")
        command = js if js is not None else [rest]
        kw = {}
        if cmd == "RUN":
            kw = dict(mounts=list(flags.get("mount", [])),  # type: ignore[arg-type]
                      network=flags.get("network"), security=flags.get("security"))
        cls = {"RUN": Run, "CMD": Cmd, "ENTRYPOINT": Entrypoint}[cmd]
        inst = cls(**base, args=list(command), json_form=js is not None, command=command,
                   notes=notes, **kw)
        for note in notes:
            ctx.warnings.append(ParseWarning(line, note))
        return inst

    if cmd == "SHELL":
        js = _maybe_json(rest)
        if js is None:
            raise err('SHELL requires the arguments to be in JSON form, e.g. '
                      'SHELL ["/bin/bash", "-c"]')
        if not js:
            raise err("SHELL requires at least one argument")
        return Shell(**base, args=js, json_form=True, shell=js)

    if cmd in ("COPY", "ADD"):
        js = _maybe_json(rest)
        words = js if js is not None else rest.split()
        if len(words) < 2:
            raise err(f"{cmd} requires at least two arguments: {cmd} <src>... <dest>")
        if "chown" in flags and not flags["chown"]:
            raise err("--chown needs a value: --chown=user[:group]")
        if "chmod" in flags and not re.fullmatch(r"[0-7]{3,4}|\$.*|[ugoa]*[+\-=].*",
                                                 str(flags["chmod"])):
            raise err(f"invalid --chmod={flags['chmod']}: use an octal mode such as 755")
        notes = []
        if flags.get("link"):
            notes.append("--link is accepted and ignored: glassbox always copies into a "
                         "new layer")
        kw = dict(chown=flags.get("chown"), chmod=flags.get("chmod"),
                  link=bool(flags.get("link")), exclude=list(flags.get("exclude", [])))
        if cmd == "COPY":
            return Copy(**base, args=words, json_form=js is not None, sources=words[:-1],
                        dest=words[-1], from_=flags.get("from"), parents=bool(
                            flags.get("parents")), notes=notes, **kw)
        return Add(**base, args=words, json_form=js is not None, sources=words[:-1],
                   dest=words[-1], checksum=flags.get("checksum"),
                   keep_git_dir=bool(flags.get("keep-git-dir")), notes=notes, **kw)

    if cmd == "VOLUME":
        js = _maybe_json(rest)
        words = js if js is not None else rest.split()
        if not words:
            raise err("VOLUME requires at least one argument: VOLUME /data")
        for w in words:
            if not w.strip():
                raise err("VOLUME specified can not be an empty string")
        return Volume(**base, args=words, json_form=js is not None, paths=words)

    if cmd in ("ENV", "LABEL"):
        pairs = _parse_name_val(ctx, cmd, rest, line, qt)
        cls2 = Env if cmd == "ENV" else Label
        notes = []
        if pairs and not _parse_words(rest, ctx.escape)[0].count("="):
            notes.append(f"legacy `{cmd} key value` form: prefer `{cmd} key=value`")
        return cls2(**base, args=[f"{k}={v}" for k, v in pairs], pairs=pairs, notes=notes)

    if cmd == "ARG":
        words = _parse_words(rest, ctx.escape)
        if not words:
            raise err("ARG requires at least one argument: ARG NAME[=default]")
        apairs: list[tuple[str, str | None]] = []
        for w in words:
            k, eq, v = w.partition("=")
            if not k:
                raise err("ARG names can not be blank")
            if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", k) and "$" not in k:
                # Docker accepts odd names; we only warn, as they can never be referenced.
                ctx.warnings.append(ParseWarning(line, f"ARG name {k!r} cannot be referenced "
                                                   "as $VAR"))
            apairs.append((k, v if eq else None))
        return Arg(**base, args=words, pairs=apairs)

    if cmd == "EXPOSE":
        ports = rest.split()
        if not ports:
            raise err("EXPOSE requires at least one argument: EXPOSE 80 or EXPOSE 53/udp")
        for p in ports:
            if "$" not in p:
                problem = validate_port(p)
                if problem:
                    raise err(problem)
        return Expose(**base, args=ports, ports=ports)

    if cmd == "HEALTHCHECK":
        return _parse_healthcheck(ctx, base, flags, rest, err)

    # Single-string instructions.
    if not rest:
        hint = {"USER": "USER name[:group]", "WORKDIR": "WORKDIR /path",
                "STOPSIGNAL": "STOPSIGNAL SIGTERM", "MAINTAINER": "MAINTAINER name"}[cmd]
        raise err(f"{cmd} requires exactly one argument: {hint}")
    if cmd == "USER":
        return User(**base, args=[rest], user=rest)
    if cmd == "WORKDIR":
        return Workdir(**base, args=[rest], path=rest)
    if cmd == "STOPSIGNAL":
        if len(rest.split()) != 1:
            raise err("STOPSIGNAL requires exactly one argument: STOPSIGNAL SIGTERM")
        if "$" not in rest and not _valid_signal(rest):
            raise err(f"invalid STOPSIGNAL {rest!r}: use a signal name (SIGTERM, SIGINT, "
                      "SIGQUIT…) or number")
        return Stopsignal(**base, args=[rest], signal=rest)
    if cmd == "MAINTAINER":
        note = "MAINTAINER is deprecated: use LABEL maintainer=\"…\""
        ctx.warnings.append(ParseWarning(line, note))
        return Maintainer(**base, args=[rest], maintainer=rest, notes=[note])
    raise AssertionError(cmd)  # pragma: no cover


def _parse_name_val(ctx: _Ctx, cmd: str, rest: str, line: int, text: str
                    ) -> list[tuple[str, str]]:
    """Docker's ``parseNameVal``: ``k=v k2=v2`` or the legacy ``k value with spaces``."""
    words = _parse_words(rest, ctx.escape)
    if not words:
        raise ctx.err(f"{cmd} requires at least one argument: {cmd} key=value", line, text)
    if "=" not in words[0]:
        parts = re.split(r"\s+", rest, maxsplit=1)
        if len(parts) < 2 or not parts[1]:
            raise ctx.err(f"{cmd} {parts[0]} needs a value: write {cmd} {parts[0]}=value",
                          line, text)
        return [(parts[0], parts[1])]
    pairs = []
    for w in words:
        if "=" not in w:
            raise ctx.err(f"syntax error - can't find = in {w!r}. Must be of the form: "
                          "name=value", line, text)
        k, _, v = w.partition("=")
        if not k:
            raise ctx.err(f"{cmd} names can not be blank", line, text)
        pairs.append((k, v))
    return pairs


def _parse_healthcheck(ctx, base, flags, rest, err) -> Healthcheck:
    words = rest.split(None, 1)
    if not words:
        raise err("HEALTHCHECK requires an argument: HEALTHCHECK CMD <command> or "
                  "HEALTHCHECK NONE")
    kind = words[0].upper()
    if kind == "NONE":
        if len(words) > 1 or flags:
            raise err("HEALTHCHECK NONE takes no arguments")
        return Healthcheck(**base, args=["NONE"], test=["NONE"])
    if kind != "CMD":
        raise err(f"unknown type {words[0]!r} in HEALTHCHECK (try CMD)")
    cmdline = words[1].strip() if len(words) > 1 else ""
    if not cmdline:
        raise err("HEALTHCHECK CMD requires a command")
    js = _maybe_json(cmdline)
    test = ["CMD", *js] if js is not None else ["CMD-SHELL", cmdline]
    kw = {}
    for fname in ("interval", "timeout", "start-period", "start-interval"):
        if fname in flags:
            try:
                d = parse_duration(str(flags[fname]))
            except ValueError as e:
                raise err(f"HEALTHCHECK --{fname}: {e}") from None
            if d != 0 and d < 1_000_000:
                raise err(f"HEALTHCHECK --{fname} cannot be less than 1ms")
            kw[fname.replace("-", "_")] = d
    if "retries" in flags:
        try:
            retries = int(str(flags["retries"]))
        except ValueError:
            raise err(f"HEALTHCHECK --retries={flags['retries']}: not an integer") from None
        if retries < 0:
            raise err("HEALTHCHECK --retries cannot be negative")
        kw["retries"] = retries
    return Healthcheck(**base, args=test[1:], json_form=js is not None, test=test, **kw)


_DURATION_UNITS = {"ns": 1, "us": 1_000, "µs": 1_000, "μs": 1_000, "ms": 1_000_000,
                   "s": 1_000_000_000, "m": 60_000_000_000, "h": 3_600_000_000_000}
_DURATION_PART = re.compile(r"(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h)")


def parse_duration(text: str) -> int:
    """Go's ``time.ParseDuration`` (``1m30s``, ``500ms``, ``1.5h``) → nanoseconds."""
    s = text.strip()
    sign = 1
    if s[:1] in "+-" and s:
        sign = -1 if s[0] == "-" else 1
        s = s[1:]
    if s == "0":
        return 0
    if not s:
        raise ValueError(f"invalid duration {text!r}")
    total, pos = 0.0, 0
    while pos < len(s):
        m = _DURATION_PART.match(s, pos)
        if not m:
            if re.fullmatch(r"[\d.]+", s[pos:]):
                raise ValueError(f"missing unit in duration {text!r} (e.g. 30s, 5m, 1h)")
            raise ValueError(f"invalid duration {text!r} (e.g. 30s, 1m30s, 500ms)")
        total += float(m.group(1)) * _DURATION_UNITS[m.group(2)]
        pos = m.end()
    if sign < 0:
        raise ValueError(f"invalid duration {text!r}: it cannot be negative")
    return int(round(total))


def validate_port(spec: str) -> str | None:
    """Why ``spec`` is not a valid EXPOSE port (``80``, ``80/tcp``, ``8000-8010/udp``), or None."""
    port, _, proto = spec.partition("/")
    if proto and proto.lower() not in ("tcp", "udp", "sctp"):
        return f"invalid protocol {proto!r} in EXPOSE {spec}: use tcp, udp or sctp"
    if ":" in port:
        return (f"invalid port {spec!r}: EXPOSE takes the container port only; publish "
                "with `run -p host:container`")
    lo, dash, hi = port.partition("-")
    for p in ([lo, hi] if dash else [lo]):
        if not p.isdigit() or not 0 < int(p) <= 65535:
            return f"invalid containerPort {spec!r}: a port is a number from 1 to 65535"
    if dash and int(hi) < int(lo):
        return f"invalid port range {spec!r}: the end is before the start"
    return None


_SIGNALS = {"ABRT", "ALRM", "BUS", "CHLD", "CLD", "CONT", "FPE", "HUP", "ILL", "INT", "IO",
            "IOT", "KILL", "PIPE", "POLL", "PROF", "PWR", "QUIT", "SEGV", "STKFLT", "STOP",
            "SYS", "TERM", "TRAP", "TSTP", "TTIN", "TTOU", "URG", "USR1", "USR2", "VTALRM",
            "WINCH", "XCPU", "XFSZ", "UNUSED"}


def _valid_signal(sig: str) -> bool:
    if sig.isdigit():
        return 0 < int(sig) <= 64
    name = sig.upper().removeprefix("SIG")
    return name in _SIGNALS or bool(re.fullmatch(r"RTM(IN|AX)([+-]\d+)?", name))


def _attach_heredocs(ctx: _Ctx, inst: Instruction, heredocs: list[Heredoc]) -> None:
    """Put the bodies on the instruction; COPY/ADD heredoc words become inline sources."""
    inst.heredocs = heredocs
    if not isinstance(inst, Copy):
        return
    by_word = {}
    for hd in heredocs:
        by_word.setdefault(hd.name, hd)
    srcs, contents = [], []
    for s in inst.sources:
        m = _HEREDOC.match(s)
        if m and m.group(3):
            name = "".join(_unquote(m.group(3)))
            if name in by_word:
                contents.append(by_word[name])
                continue
        srcs.append(s)
    inst.sources, inst.contents = srcs, contents


def _group_stages(ctx: _Ctx, instructions: list[Instruction], directives: dict[str, str]
                  ) -> Dockerfile:
    if not instructions:
        raise BuildError("the Dockerfile has no instructions: start it with FROM <image> "
                         "(e.g. FROM busybox)", file=ctx.filename)
    global_args: list[Arg] = []
    stages: list[Stage] = []
    names: dict[str, int] = {}
    for inst in instructions:
        if isinstance(inst, From):
            if inst.name is not None:
                if inst.name in names:
                    raise inst.error(f"duplicate stage name {inst.name!r}: already used by "
                                     f"the FROM on line {names[inst.name]}")
                names[inst.name] = inst.line
            stages.append(Stage(index=len(stages), name=inst.name, base=inst.image,
                                instructions=[], line=inst.line, from_=inst))
            continue
        if not stages:
            if isinstance(inst, Arg):
                global_args.append(inst)
                continue
            raise inst.error(f"{inst.cmd} before FROM: only ARG may come before the first "
                             "FROM (every build stage starts with FROM <image>)")
        stages[-1].instructions.append(inst)
    if not stages:
        raise BuildError("the Dockerfile has no FROM instruction: a build starts from an "
                         "image, e.g. FROM busybox (or FROM scratch for an empty one)",
                         file=ctx.filename, line=instructions[-1].line,
                         text=instructions[-1].original)
    return Dockerfile(stages=stages, global_args=global_args, directives=directives,
                      filename=ctx.filename, escape=ctx.escape, warnings=ctx.warnings)


# ---------------------------------------------------------------------------------------
# Variable substitution (buildkit's shell lexer, ProcessWord / ProcessWords)
# ---------------------------------------------------------------------------------------

class _SubstError(ValueError):
    pass


_SPECIAL_PARAMS = "@*#?-$!0"


class _Lexer:
    """One pass over a word. ``process`` returns (segments, found_stop) where a segment
    is (text, splittable): unquoted text and unquoted expansions split into words in
    ProcessWords mode; quoted and escaped text never does.

    ``raw`` (heredoc bodies): quotes are literal, only ``\\$`` and ``\\\\`` are escapes.
    """

    def __init__(self, text: str, lookup, escape: str = "\\", *, raw: bool = False,
                 no_dollar: bool = False):
        self.s, self.i, self.lookup = text, 0, lookup
        self.esc, self.raw, self.no_dollar = escape, raw, no_dollar

    def _peek(self) -> str:
        return self.s[self.i] if self.i < len(self.s) else ""

    def _next(self) -> str:
        ch = self._peek()
        self.i += 1
        return ch

    def process(self, stop: str = "") -> tuple[list[tuple[str, bool]], bool]:
        segs: list[tuple[str, bool]] = []
        s, n = self.s, len(self.s)
        while self.i < n:
            ch = s[self.i]
            if stop and ch == stop:
                self.i += 1
                return segs, True
            if ch == "$" and not self.no_dollar:
                segs.append((self._dollar(), True))
            elif ch == "'" and not self.raw:
                segs.append((self._single(), False))
            elif ch == '"' and not self.raw:
                segs.append((self._double(), False))
            else:
                self.i += 1
                if self.raw and ch == "\\":
                    nxt = self._peek()
                    if nxt in ("$", "\\"):
                        self.i += 1
                        segs.append((nxt, False))
                    else:
                        segs.append((ch, False))
                    continue
                if ch == self.esc:
                    if self.i >= n:
                        break  # a trailing escape is dropped
                    ch = s[self.i]
                    self.i += 1
                    segs.append((ch, False))
                    continue
                segs.append((ch, True))
        return segs, False

    def _single(self) -> str:
        self.i += 1
        end = self.s.find("'", self.i)
        if end < 0:
            raise _SubstError("unexpected end of statement while looking for matching "
                              "single-quote")
        out = self.s[self.i:end]
        self.i = end + 1
        return out

    def _double(self) -> str:
        self.i += 1
        out = []
        while True:
            if self.i >= len(self.s):
                raise _SubstError("unexpected end of statement while looking for matching "
                                  "double-quote")
            ch = self.s[self.i]
            if ch == '"':
                self.i += 1
                return "".join(out)
            if ch == "$" and not self.no_dollar:
                out.append(self._dollar())
                continue
            self.i += 1
            if ch == self.esc:
                nxt = self._peek()
                if nxt == "":
                    continue
                if nxt in ('"', "$", self.esc):
                    self.i += 1
                    out.append(nxt)
                    continue
            out.append(ch)

    def _name(self) -> str:
        s, start = self.s, self.i
        if self.i < len(s) and s[self.i].isdigit():
            while self.i < len(s) and s[self.i].isdigit():
                self.i += 1
            return s[start:self.i]
        if self.i < len(s) and s[self.i] in _SPECIAL_PARAMS:
            self.i += 1
            return s[start:self.i]
        while self.i < len(s) and (s[self.i].isalnum() or s[self.i] == "_"):
            self.i += 1
        return s[start:self.i]

    def _word_until(self, stop: str) -> str:
        segs, found = self.process(stop)
        if not found:
            raise _SubstError("syntax error: missing '}'")
        return "".join(t for t, _ in segs)

    def _dollar(self) -> str:
        self.i += 1  # the $
        if self._peek() != "{":
            name = self._name()
            if not name:
                return "$"
            v = self.lookup(name)
            return "" if v is None else v
        self.i += 1  # the {
        ch = self._peek()
        if ch == "":
            raise _SubstError("syntax error: missing '}'")
        if ch in "{}:":
            raise _SubstError("syntax error: bad substitution")
        name = self._name()
        if not name:
            raise _SubstError("syntax error: bad substitution")
        value = self.lookup(name)
        ch = self._next()
        if ch == "}":
            return "" if value is None else value
        if ch == "":
            raise _SubstError("syntax error: missing '}'")
        colon = ch == ":"
        if colon:
            ch = self._next()
            if ch not in ("-", "+", "?"):
                raise _SubstError(f"unsupported modifier (:{ch}) in substitution"
                                  if ch else "syntax error: missing '}'")
        if ch in ("-", "+", "?"):
            word = self._word_until("}")
            unset = value is None or (colon and value == "")
            if ch == "-":
                return word if unset else value  # type: ignore[return-value]
            if ch == "+":
                return "" if unset else word
            if unset:
                raise _SubstError(f"{name}: {word or 'is not allowed to be unset'}")
            return value  # type: ignore[return-value]
        if ch in ("#", "%"):
            longest = self._peek() == ch
            if longest:
                self.i += 1
            pattern = self._word_until("}")
            return _trim(value or "", pattern, prefix=ch == "#", longest=longest)
        if ch == "/":
            all_ = self._peek() == "/"
            if all_:
                self.i += 1
            segs, found = self.process("/")
            pattern = "".join(t for t, _ in segs)
            repl = self._word_until("}") if found else ""
            if not found:
                raise _SubstError("syntax error: missing '}'")
            return _replace(value or "", pattern, repl, all_)
        raise _SubstError(f"unsupported modifier ({ch}) in substitution: ${{{name}{ch}…}}")


def _glob_re(pattern: str) -> str:
    return fnmatch.translate(pattern).removeprefix("(?s:").removesuffix(")\\Z")


def _trim(value: str, pattern: str, *, prefix: bool, longest: bool) -> str:
    rx = re.compile(_glob_re(pattern), re.S)
    idx = range(len(value) + 1)
    if prefix:
        order = reversed(idx) if longest else idx
        for k in order:
            if rx.fullmatch(value[:k]):
                return value[k:]
    else:
        order = idx if longest else reversed(idx)
        for k in order:
            if rx.fullmatch(value[k:]):
                return value[:k]
    return value


def _replace(value: str, pattern: str, repl: str, all_: bool) -> str:
    if not pattern:
        return value
    rx = re.compile(_glob_re(pattern), re.S)
    out, k = [], 0
    while k <= len(value):
        m = None
        for end in range(len(value), k - 1, -1):  # longest match at k
            if rx.fullmatch(value[k:end]):
                m = end
                break
        if m is not None and m > k:
            out.append(repl)
            k = m
            if not all_:
                out.append(value[k:])
                return "".join(out)
            continue
        if k < len(value):
            out.append(value[k])
        k += 1
    return "".join(out)


def _lookup_in(env: Mapping[str, str] | Sequence[str]):
    if isinstance(env, Mapping):
        return env.get
    d: dict[str, str] = {}
    for kv in env:
        k, _, v = kv.partition("=")
        d[k] = v
    return d.get


def expand(word: str, env: Mapping[str, str] | Sequence[str] = (), *, escape: str = "\\",
           raw: bool = False, where: Instruction | None = None) -> str:
    """Expand ``$VAR``/``${VAR…}`` in ``word`` and remove quotes, as Docker's builder does.

    ``env`` is a mapping or ``["K=V", …]``. Unset variables expand to "". Supported:
    ``$V ${V} ${V:-w} ${V-w} ${V:+w} ${V+w} ${V:?msg} ${V?msg} ${V#p} ${V##p} ${V%p}
    ${V%%p} ${V/p/r} ${V//p/r}``; ``\\$`` escapes; nothing expands in single quotes.
    ``raw`` is heredoc-body mode (quotes kept). Errors raise :class:`BuildError` (at
    ``where`` when given).
    """
    try:
        segs, _ = _Lexer(word, _lookup_in(env), escape, raw=raw).process()
    except _SubstError as e:
        raise _subst_error(e, word, where) from None
    return "".join(t for t, _ in segs)


def expand_words(text: str, env: Mapping[str, str] | Sequence[str] = (), *,
                 escape: str = "\\", where: Instruction | None = None) -> list[str]:
    """Like :func:`expand` then split into words on unquoted whitespace (ProcessWords)."""
    try:
        segs, _ = _Lexer(text, _lookup_in(env), escape).process()
    except _SubstError as e:
        raise _subst_error(e, text, where) from None
    words: list[str] = []
    cur: list[str] = []
    in_word = False
    for t, splittable in segs:
        if not splittable:
            cur.append(t)
            in_word = True
            continue
        for ch in t:
            if ch.isspace():
                if in_word:
                    words.append("".join(cur))
                    cur, in_word = [], False
            else:
                cur.append(ch)
                in_word = True
    if in_word:
        words.append("".join(cur))
    return words


def _subst_error(e: _SubstError, word: str, where: Instruction | None) -> BuildError:
    msg = f"failed to process {word!r}: {e}"
    if where is not None:
        return where.error(msg)
    return BuildError(msg)


# ---------------------------------------------------------------------------------------
# ARG / ENV scopes
# ---------------------------------------------------------------------------------------

def _host_platform_args() -> dict[str, str]:
    import platform as _pf
    machine = _pf.machine().lower()
    arch = {"x86_64": "amd64", "amd64": "amd64", "aarch64": "arm64", "arm64": "arm64",
            "armv7l": "arm", "i686": "386", "i386": "386", "ppc64le": "ppc64le",
            "s390x": "s390x", "riscv64": "riscv64"}.get(machine, machine)
    variant = "v7" if machine == "armv7l" else ""
    plat = f"linux/{arch}" + (f"/{variant}" if variant else "")
    out = {}
    for prefix in ("BUILD", "TARGET"):
        out.update({f"{prefix}PLATFORM": plat, f"{prefix}OS": "linux",
                    f"{prefix}ARCH": arch, f"{prefix}VARIANT": variant})
    return out


class Substituter:
    """The global scope of one build: ``--build-arg`` values and global (pre-FROM) ARGs.

    Docker's rules reproduced here:

    - a global ``ARG V=x`` is visible in ``FROM`` lines only; a stage sees it after
      re-declaring ``ARG V`` (no value) — :meth:`stage` / :meth:`StageScope.apply`;
    - ``--build-arg`` only sets *declared* ARGs (global or in a stage); the rest are
      reported by :meth:`unused_build_args`;
    - the proxy args (:data:`PROXY_ARGS`) need no declaration;
    - ``TARGETPLATFORM``/``TARGETARCH``/``BUILDPLATFORM``… are predefined in the global
      scope (pass ``platform_args`` to override the host's).

    Typical builder loop::

        sub = Substituter.for_dockerfile(df, build_args)
        for stage in stages_needed(df, target):
            frm = sub.expand_from(stage.from_)          # image and --platform expanded
            scope = sub.stage(base_env=image_config_env)
            for inst in stage.instructions:
                inst = scope.apply(inst)                # expanded copy; ARG/ENV recorded
                if isinstance(inst, Run):
                    env = {**config_env, **scope.run_env()}
                    key_args = scope.cache_args()
        warning = unused_build_args_warning(sub.unused_build_args())
    """

    def __init__(self, build_args: Mapping[str, str] | None = None, *,
                 global_args: Sequence[Arg] = (), escape: str = "\\",
                 platform_args: Mapping[str, str] | None = None,
                 filename: str = "Dockerfile"):
        self.build_args: dict[str, str] = dict(build_args or {})
        self.escape, self.filename = escape, filename
        self.platform_args = dict(_host_platform_args() if platform_args is None
                                  else platform_args)
        self.consumed: set[str] = set()
        #: resolved global ARG values (None: declared without a value)
        self.values: dict[str, str | None] = {}
        for inst in global_args:
            for name, default in inst.pairs:
                self.consumed.add(name)
                if name in self.build_args:
                    self.values[name] = self.build_args[name]
                elif default is not None:
                    self.values[name] = expand(default, self.mapping(), escape=escape,
                                               where=inst)
                else:
                    self.values[name] = None

    @classmethod
    def for_dockerfile(cls, df: Dockerfile, build_args: Mapping[str, str] | None = None,
                       **kw) -> "Substituter":
        return cls(build_args, global_args=df.global_args, escape=df.escape,
                   filename=df.filename, **kw)

    def mapping(self) -> dict[str, str]:
        """What ``$VAR`` sees in a ``FROM`` line: platform args, then global ARGs."""
        m = dict(self.platform_args)
        m.update({k: v for k, v in self.values.items() if v is not None})
        return m

    def expand(self, word: str, where: Instruction | None = None) -> str:
        return expand(word, self.mapping(), escape=self.escape, where=where)

    def expand_from(self, inst: From) -> From:
        """``FROM`` with image and ``--platform`` expanded by the global scope."""
        image = self.expand(inst.image, inst)
        if not image:
            raise inst.error(f"FROM {inst.image} expands to an empty image name: pass "
                             "--build-arg or give the global ARG a default")
        platform = self.expand(inst.platform, inst) if inst.platform else inst.platform
        return dataclasses.replace(inst, image=image, platform=platform,
                                   args=[image, *inst.args[1:]])

    def stage(self, base_env: Mapping[str, str] | Sequence[str] = ()) -> "StageScope":
        """A fresh scope for one stage whose base image has ``base_env``."""
        return StageScope(self, base_env)

    def unused_build_args(self) -> list[str]:
        """``--build-arg`` names no ARG consumed so far (proxy args never count)."""
        return sorted(k for k in self.build_args
                      if k not in self.consumed and k not in PROXY_ARGS
                      and k not in self.platform_args)


class StageScope:
    """ARG and ENV in one stage, updated instruction by instruction (:meth:`apply`)."""

    def __init__(self, glob: Substituter, base_env: Mapping[str, str] | Sequence[str] = ()):
        self.glob = glob
        self.env: dict[str, str] = {}
        if isinstance(base_env, Mapping):
            self.env.update(base_env)
        else:
            for kv in base_env:
                k, _, v = kv.partition("=")
                self.env[k] = v
        #: ARGs declared in this stage → resolved value (None: declared, no value)
        self.args: dict[str, str | None] = {}

    @property
    def escape(self) -> str:
        return self.glob.escape

    def _build_arg_env(self) -> dict[str, str]:
        """Build args visible in this stage: declared ARGs with a value, provided proxies."""
        out = {k: v for k, v in self.glob.build_args.items()
               if k in PROXY_ARGS and k not in self.args}
        out.update({k: v for k, v in self.args.items() if v is not None})
        return out

    def mapping(self) -> dict[str, str]:
        """What ``$VAR`` sees now: build args in scope, overridden by ENV (Docker's rule)."""
        m = self._build_arg_env()
        m.update(self.env)
        return m

    def expand(self, word: str, where: Instruction | None = None) -> str:
        return expand(word, self.mapping(), escape=self.escape, where=where)

    def declare(self, name: str, default: str | None, where: Instruction | None = None
                ) -> str | None:
        """Record ``ARG name[=default]``; return the value now in scope (or None)."""
        self.glob.consumed.add(name)
        if name in self.glob.build_args:
            value: str | None = self.glob.build_args[name]
        elif default is not None:
            value = self.expand(default, where)
        elif name in self.glob.values:
            value = self.glob.values[name]  # re-declared global ARG inherits its value
        elif name in self.glob.platform_args:
            value = self.glob.platform_args[name]
        else:
            value = None
        self.args[name] = value
        return value

    def apply(self, inst: Instruction) -> Instruction:
        """Expand ``inst`` as Docker's builder would at this point of the stage.

        Returns a copy with words expanded (only for :data:`EXPANDED` instructions; RUN,
        CMD, ENTRYPOINT… come back unchanged). ``ARG`` and ``ENV`` also update the scope
        for the instructions after them. Raises :class:`BuildError` at ``inst``'s line on
        bad substitution or on a value invalid after expansion (EXPOSE port, …).
        """
        x = lambda w: self.expand(w, inst)  # noqa: E731
        if isinstance(inst, Arg):
            pairs = [(k, self.declare(k, v, inst)) for k, v in inst.pairs]
            return dataclasses.replace(inst, pairs=pairs)
        if isinstance(inst, Env):
            m = self.mapping()  # every pair sees the env from *before* this line
            pairs = [(expand(k, m, escape=self.escape, where=inst),
                      expand(v, m, escape=self.escape, where=inst)) for k, v in inst.pairs]
            for k, v in pairs:
                if not k:
                    raise inst.error("ENV names can not be blank")
                self.env[k] = v
            return dataclasses.replace(inst, pairs=pairs)
        if isinstance(inst, Label):
            pairs = [(x(k), x(v)) for k, v in inst.pairs]
            return dataclasses.replace(inst, pairs=pairs)
        if isinstance(inst, Copy):
            contents = [dataclasses.replace(h, content=expand(h.content, self.mapping(),
                                                               raw=True, where=inst))
                        if h.expand else h for h in inst.contents]
            kw = dict(sources=[x(s) for s in inst.sources], dest=x(inst.dest),
                      contents=contents,
                      chown=x(inst.chown) if inst.chown else inst.chown,
                      chmod=x(inst.chmod) if inst.chmod else inst.chmod,
                      from_=x(inst.from_) if inst.from_ else inst.from_)
            if kw["from_"] == "" and inst.from_:
                raise inst.error(f"--from={inst.from_} expands to an empty value")
            for raw, val in zip(inst.sources, kw["sources"]):
                if not val:
                    raise inst.error(f"{inst.cmd} source {raw} expands to an empty path "
                                     "(ARG/ENV values do not carry over from another stage: "
                                     "declare it in this one)")
            if not kw["dest"]:
                raise inst.error(f"{inst.cmd} destination {inst.dest} expands to an empty "
                                 "path")
            return dataclasses.replace(inst, **kw)
        if isinstance(inst, Expose):
            ports: list[str] = []
            for p in inst.ports:
                ports.extend(x(p).split())
            for p in ports:
                problem = validate_port(p)
                if problem:
                    raise inst.error(problem)
            return dataclasses.replace(inst, ports=ports)
        if isinstance(inst, Volume):
            paths = [x(p) for p in inst.paths]
            if any(not p.strip() for p in paths):
                raise inst.error("VOLUME specified can not be an empty string")
            return dataclasses.replace(inst, paths=paths)
        if isinstance(inst, User):
            user = x(inst.user)
            if not user:
                raise inst.error(f"USER {inst.user} expands to an empty user name")
            return dataclasses.replace(inst, user=user)
        if isinstance(inst, Workdir):
            path = x(inst.path)
            if not path:
                raise inst.error(f"WORKDIR {inst.path} expands to an empty path")
            return dataclasses.replace(inst, path=path)
        if isinstance(inst, Stopsignal):
            sig = x(inst.signal)
            if not _valid_signal(sig):
                raise inst.error(f"invalid STOPSIGNAL {sig!r}: use a signal name (SIGTERM…) "
                                 "or number")
            return dataclasses.replace(inst, signal=sig)
        if isinstance(inst, From):
            return self.glob.expand_from(inst)
        return inst

    def run_env(self) -> dict[str, str]:
        """Build args a RUN sees in its environment (those ENV does not already set)."""
        return {k: v for k, v in self._build_arg_env().items() if k not in self.env}

    def cache_args(self) -> list[str]:
        """``["K=V", …]`` sorted: the build args that belong in a RUN's cache key and
        history — :meth:`run_env` minus the proxy args this stage did not declare."""
        return sorted(f"{k}={v}" for k, v in self.run_env().items()
                      if k not in PROXY_ARGS or k in self.args)

    def run_history(self, command: str) -> str:
        """Docker's history line for a RUN: ``|2 A=1 B=2 /bin/sh -c …`` when args apply."""
        args = self.cache_args()
        return f"|{len(args)} {' '.join(args)} {command}" if args else command


def unused_build_args(df: Dockerfile, build_args: Mapping[str, str],
                      stages: Iterable[Stage] | None = None) -> list[str]:
    """``--build-arg`` names not declared by any ARG (global, or in ``stages`` — default
    all), proxy args excepted: Docker warns about these."""
    declared = {name for a in df.global_args for name, _ in a.pairs}
    for st in (df.stages if stages is None else stages):
        for inst in st.instructions:
            if isinstance(inst, Arg):
                declared.update(name for name, _ in inst.pairs)
    return sorted(k for k in build_args if k not in declared and k not in PROXY_ARGS)


def unused_build_args_warning(names: Sequence[str]) -> str | None:
    """Docker's message: ``[Warning] One or more build-args [A B] were not consumed``."""
    if not names:
        return None
    return f"[Warning] One or more build-args [{' '.join(names)}] were not consumed"


# ---------------------------------------------------------------------------------------
# Targets and stage dependencies
# ---------------------------------------------------------------------------------------

def stage_for_target(df: Dockerfile, target: str | None = None) -> Stage:
    """The stage ``--target`` names (case-insensitive); the last stage when None."""
    if not target:
        return df.stages[-1]
    st = df.stage(target) if not target.isdigit() else None
    if st is None:
        names = [s.name for s in df.stages if s.name]
        close = difflib.get_close_matches(target.lower(), names, n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else \
            (f" (stages: {', '.join(names)})" if names else
             " (no stage has a name: add `AS <name>` to a FROM line)")
        raise BuildError(f"target stage {target!r} could not be found{hint}",
                         file=df.filename)
    return st


def resolve_stage_ref(df: Dockerfile, ref: str, current: Stage, where: Instruction
                      ) -> Stage | None:
    """What ``COPY --from=ref`` / ``--mount from=ref`` in ``current`` names: a stage
    (by name or index) or None, meaning an image reference. A numeric ref must be an
    existing stage other than ``current``."""
    if ref.isdigit():
        i = int(ref)
        if i >= len(df.stages):
            raise where.error(f"--from={ref}: there is no stage {i} (this Dockerfile has "
                              f"stages 0..{len(df.stages) - 1})")
        if i == current.index:
            raise where.error(f"--from={ref} refers to the stage it is in: a stage cannot "
                              "copy from itself")
        return df.stages[i]
    st = df.stage(ref)
    if st is not None and st.index == current.index:
        raise where.error(f"--from={ref} refers to the stage it is in: a stage cannot copy "
                          "from itself")
    return st


def _base_stage(df: Dockerfile, stage: Stage, image: str) -> Stage | None:
    """FROM <name> means an earlier stage named so (else it is an image)."""
    low = image.lower()
    for s in df.stages[:stage.index]:
        if s.name == low:
            return s
    return None


def _mount_from(spec: str) -> str | None:
    for part in spec.split(","):
        k, _, v = part.partition("=")
        if k.strip() == "from":
            return v.strip()
    return None


def stage_dependencies(df: Dockerfile, stage: Stage, sub: Substituter | None = None
                       ) -> list[Stage]:
    """Stages ``stage`` reads: its FROM base and every ``--from`` (COPY, RUN --mount)."""
    return [st for st, _ in _dependencies(df, stage, sub or Substituter.for_dockerfile(df))]


def _dependencies(df: Dockerfile, stage: Stage, sub: Substituter
                  ) -> list[tuple[Stage, Instruction]]:
    deps: list[tuple[Stage, Instruction]] = []
    if stage.from_ is not None:
        base = _base_stage(df, stage, sub.expand(stage.base, stage.from_))
        if base is not None:
            deps.append((base, stage.from_))
    scope = sub.stage()
    for inst in stage.instructions:
        if isinstance(inst, (Arg, Env)):
            scope.apply(inst)
        refs: list[str] = []
        if isinstance(inst, Copy) and inst.from_:
            refs.append(scope.expand(inst.from_, inst))
        elif isinstance(inst, Run):
            for m in inst.mounts:
                f = _mount_from(m)
                if f:
                    refs.append(scope.expand(f, inst))
        for ref in refs:
            st = resolve_stage_ref(df, ref, stage, inst)
            if st is not None and all(st is not s for s, _ in deps):
                deps.append((st, inst))
    return deps


def stages_needed(df: Dockerfile, target: str | None = None,
                  build_args: Mapping[str, str] | None = None) -> list[Stage]:
    """The stages building ``target`` needs, in Dockerfile order (target included).

    Stages nothing depends on are skipped, as BuildKit does. A cycle (stage a copies
    from b which copies from a) raises :class:`BuildError`.
    """
    goal = stage_for_target(df, target)
    sub = Substituter.for_dockerfile(df, build_args)
    needed: dict[int, Stage] = {}
    visiting: list[Stage] = []

    def visit(st: Stage, via: Instruction | None) -> None:
        if st.index in needed:
            return
        if st in visiting:
            chain = " -> ".join(s.ref for s in visiting[visiting.index(st):] + [st])
            msg = f"circular dependency detected on stage: {st.ref} ({chain})"
            raise via.error(msg) if via is not None else BuildError(msg, file=df.filename)
        visiting.append(st)
        for dep, where in _dependencies(df, st, sub):
            visit(dep, where)
        visiting.pop()
        needed[st.index] = st

    visit(goal, None)
    return [needed[i] for i in sorted(needed)]
