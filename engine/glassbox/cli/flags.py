"""Small parsers for repeated flag values shared by the subcommands."""

from __future__ import annotations


def key_values(items, what: str) -> dict[str, str]:
    """``--label k=v`` / ``--opt k=v`` lists into a dict; a bare key maps to ``""``."""
    from ..errors import InvalidArgument
    out = {}
    for item in items or []:
        k, _, v = item.partition("=")
        if not k:
            raise InvalidArgument(f"invalid {what} {item!r}: expected key=value")
        out[k] = v
    return out
