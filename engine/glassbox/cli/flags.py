"""Small parsers for repeated flag values shared by the subcommands."""

from __future__ import annotations


def key_values(items, what: str, *, from_env: bool = False) -> dict[str, str]:
    """``--label k=v`` / ``--opt k=v`` lists into a dict; a bare key maps to ``""`` —
    or, with ``from_env`` (``--build-arg NAME``, as docker), to the caller's value of
    that variable, and is left out when the caller has none."""
    import os
    from ..errors import InvalidArgument
    out = {}
    for item in items or []:
        k, sep, v = item.partition("=")
        if not k:
            raise InvalidArgument(f"invalid {what} {item!r}: expected key=value")
        if not sep and from_env:
            if k not in os.environ:
                continue
            v = os.environ[k]
        out[k] = v
    return out
