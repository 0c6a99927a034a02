"""``--change`` / ``-c`` instructions for ``commit`` and ``import``.

``glassbox commit -c 'CMD ["cat","/hello"]' c1 mybox:2`` edits the new
image's config with a Dockerfile instruction. Docker accepts CMD, ENTRYPOINT,
ENV, EXPOSE, LABEL, ONBUILD, USER, VOLUME, WORKDIR here (plus STOPSIGNAL);
:func:`apply_changes` returns a new config dict and never mutates its input.
"""

from __future__ import annotations

import copy
import json
import posixpath
import shlex

from ..errors import InvalidArgument

SUPPORTED = ("CMD", "ENTRYPOINT", "ENV", "EXPOSE", "LABEL", "ONBUILD", "USER", "VOLUME",
             "WORKDIR", "STOPSIGNAL")


def _exec_form(args: str, instr: str) -> list[str]:
    s = args.strip()
    if s.startswith("["):
        try:
            v = json.loads(s)
        except ValueError:
            v = None
        if isinstance(v, list) and all(isinstance(x, str) for x in v):
            return v
    if instr == "VOLUME":
        return s.split()
    return ["/bin/sh", "-c", s]


def _pairs(args: str, instr: str) -> list[tuple[str, str]]:
    try:
        words = shlex.split(args, posix=True)
    except ValueError as e:
        raise InvalidArgument(f"{instr} {args!r}: {e}") from None
    if words and "=" not in words[0]:
        # legacy form: ENV NAME value with spaces
        if len(words) < 2 and instr == "ENV":
            raise InvalidArgument(f"ENV {args!r}: expected NAME=value")
        name, _, rest = args.strip().partition(" ")
        return [(name, rest.strip())]
    out = []
    for w in words:
        k, sep, v = w.partition("=")
        if not sep or not k:
            raise InvalidArgument(f"{instr} {args!r}: expected key=value pairs, got {w!r}")
        out.append((k, v))
    return out


def apply_change(config: dict, change: str) -> dict:
    """Apply one instruction to an image config dict (in place) and return it."""
    line = change.strip()
    instr, _, args = line.partition(" ")
    instr = instr.upper()
    args = args.strip()
    if instr not in SUPPORTED:
        raise InvalidArgument(f"{instr or change!r} is not a valid change command "
                              f"(use one of {', '.join(SUPPORTED)})")
    if not args:
        raise InvalidArgument(f"{instr} needs an argument")
    c = config.setdefault("config", {})
    if instr == "CMD":
        c["Cmd"] = _exec_form(args, instr)
    elif instr == "ENTRYPOINT":
        c["Entrypoint"] = _exec_form(args, instr)
    elif instr == "ENV":
        env = list(c.get("Env") or [])
        for k, v in _pairs(args, instr):
            env = [e for e in env if e.partition("=")[0] != k] + [f"{k}={v}"]
        c["Env"] = env
    elif instr == "LABEL":
        labels = dict(c.get("Labels") or {})
        labels.update(_pairs(args, instr))
        c["Labels"] = labels
    elif instr == "EXPOSE":
        ports = dict(c.get("ExposedPorts") or {})
        for p in args.split():
            port, _, proto = p.partition("/")
            if not port.replace("-", "").isdigit():
                raise InvalidArgument(f"EXPOSE {p!r}: expected PORT[/tcp|udp|sctp]")
            ports[f"{port}/{(proto or 'tcp').lower()}"] = {}
        c["ExposedPorts"] = ports
    elif instr == "VOLUME":
        vols = dict(c.get("Volumes") or {})
        for v in _exec_form(args, instr):
            vols[v] = {}
        c["Volumes"] = vols
    elif instr == "USER":
        c["User"] = args
    elif instr == "WORKDIR":
        c["WorkingDir"] = posixpath.normpath(posixpath.join(c.get("WorkingDir") or "/", args))
    elif instr == "STOPSIGNAL":
        c["StopSignal"] = args
    elif instr == "ONBUILD":
        c["OnBuild"] = list(c.get("OnBuild") or []) + [args]
    return config


def apply_changes(config: dict, changes) -> dict:
    """A copy of ``config`` with every instruction in ``changes`` applied in order."""
    new = copy.deepcopy(config)
    for ch in changes or ():
        apply_change(new, ch)
    return new
