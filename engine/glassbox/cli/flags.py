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


def client_env(items) -> list[str]:
    """``-e NAME`` takes NAME's value from the caller's environment, as the docker CLI
    does (``-e NAME=value`` is kept; an unset NAME is passed bare, and the
    container does not get it)."""
    import os
    out = []
    for item in items or []:
        name, sep, _ = item.partition("=")
        out.append(item if sep or name not in os.environ else f"{name}={os.environ[name]}")
    return out
