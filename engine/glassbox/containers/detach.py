"""Detach keys: how a user leaves an attached container running (Docker's ``ctrl-p ctrl-q``).

Attached to a container with a TTY (``glassbox run -it``, ``glassbox attach``,
``docker attach`` through the daemon), everything typed goes to the container
— except the *detach sequence*. When it arrives, the attach ends, the terminal
is given back, and the container goes on running with its stdin still open; its
output keeps going to its log, and a later attach picks it up again.

The sequence is ``ctrl-p,ctrl-q`` unless ``--detach-keys`` (the API's
``?detachKeys=``, an exec's ``DetachKeys``) says otherwise, in Docker's syntax
(:func:`parse_detach_keys`). Input is scanned as it flows
(:class:`DetachScanner`): bytes that begin the sequence are held back until it
is clear whether they complete it, so a lone ``ctrl-p`` still reaches the
program. Without a TTY the keys are ordinary input, as in Docker.

This is a pure value module: the CLI and the daemon's hijacked connections
(:mod:`glassbox.daemon.hijack`) both scan with it.
"""

from __future__ import annotations

DEFAULT_DETACH_KEYS = b"\x10\x11"
"""ctrl-p ctrl-q: Docker's default detach sequence."""

_CTRL = {**{chr(c): c - ord("a") + 1 for c in range(ord("a"), ord("z") + 1)},
         "@": 0, "[": 27, "\\": 28, "]": 29, "^": 30, "_": 31}


def parse_detach_keys(text: str | None, what: str = "detachKeys") -> bytes:
    """Docker's ``--detach-keys`` syntax → the bytes the terminal sends.

    A comma-separated list of keys, each ``ctrl-<c>`` (``c`` a letter or one of
    ``@ [ \\ ] ^ _``: the control character) or one plain character: ``ctrl-p,ctrl-q``
    is ``b"\\x10\\x11"``, ``ctrl-a,d`` is ``b"\\x01d"``. Empty or None: the default.
    Anything else raises :class:`InvalidArgument` naming it (``what``: where it
    came from, e.g. ``--detach-keys``)."""
    from ..errors import InvalidArgument
    if not text:
        return DEFAULT_DETACH_KEYS
    out = bytearray()
    for key in text.split(","):
        k = key.strip()
        if len(k) == 6 and k.lower().startswith("ctrl-") and k[5:].lower() in _CTRL:
            out.append(_CTRL[k[5:].lower()])
        elif len(k) == 1 and k.isascii():
            out.append(ord(k))
        else:
            raise InvalidArgument(f"Invalid detach keys ({text}) provided in {what}: use keys "
                                  "like ctrl-p,ctrl-q (ctrl-<letter> or ctrl-@ [ \\ ] ^ _, or "
                                  "single characters, comma-separated)")
    return bytes(out)


class DetachScanner:
    """Finds the detach sequence in a stream of input chunks.

    :meth:`feed` returns ``(data to pass on, detached)``. A byte that continues the
    sequence is held back; when the next one does not, what was held goes on after
    all (so ``ctrl-p`` alone still reaches the program). Once the whole sequence is
    seen, everything held and anything after it in the chunk is dropped."""

    def __init__(self, keys: bytes = DEFAULT_DETACH_KEYS):
        self.keys = keys
        self.held = 0            # how many bytes of ``keys`` are matched and held back

    def feed(self, data: bytes) -> tuple[bytes, bool]:
        out = bytearray()
        for b in data:
            if b == self.keys[self.held]:
                self.held += 1
                if self.held == len(self.keys):
                    self.held = 0
                    return bytes(out), True
                continue
            if self.held:
                out += self.keys[:self.held]
                self.held = 0
                if b == self.keys[0]:
                    self.held = 1
                    continue
            out.append(b)
        return bytes(out), False


__all__ = ["DEFAULT_DETACH_KEYS", "DetachScanner", "parse_detach_keys"]
