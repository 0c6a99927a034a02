"""JSON from outside, read with a depth limit.

A document from a client or a registry is data an attacker may shape. Python's
``json`` parses nesting recursively, so ``[[[[...]]]]`` a few hundred kilobytes
deep either fails with ``RecursionError`` (a 500 instead of a 400) or parses and
then blows the stack of whatever walks it next. :func:`loads_json` refuses both
with :class:`~glassbox.errors.InvalidArgument`; the daemon's routes and the
engine's registry reads use it.
"""

from __future__ import annotations

import json

from .errors import InvalidArgument

MAX_JSON_DEPTH = 100   # Docker API documents nest < 10 deep; this is generous


def loads_json(raw, what: str = "the request body"):
    """``json.loads`` for input from outside (a client's body, a registry's document), refusing nesting deeper than
    :data:`MAX_JSON_DEPTH` with :class:`InvalidArgument` (a 400).

    ``[[[[...]]]]`` 100,000 levels deep is a few hundred kilobytes: the C
    decoder gives up with ``RecursionError`` and, left alone, that surfaces as
    a 500. A document just under the interpreter's limit would parse and then
    blow the stack in whatever walks it next, so the depth is also checked
    (iteratively) on what was parsed. Malformed JSON still raises ``ValueError``
    for the caller to word.
    """
    too_deep = InvalidArgument(f"JSON in {what} is nested too deeply "
                               f"(more than {MAX_JSON_DEPTH} levels)")
    try:
        data = json.loads(raw)
    except RecursionError:
        raise too_deep from None
    stack = [(data, 1)]
    while stack:
        v, depth = stack.pop()
        if isinstance(v, (dict, list)):
            if depth > MAX_JSON_DEPTH:
                raise too_deep
            stack.extend((x, depth + 1) for x in (v.values() if isinstance(v, dict) else v))
    return data
