"""One error tree for every front end.

``GlassboxError`` is the root. Front ends catch it once: the CLI prints
``Error: <message>`` and exits 125 (Docker's "the engine failed" code), the
daemon turns it into an HTTP status (``http_status``), the Jupyter magics show
it in the cell. Messages say what was wrong *and* what to do about it.
"""

from __future__ import annotations

import errno as _errno
import os


class GlassboxError(Exception):
    """Root of all glassbox errors."""

    http_status = 500
    exit_code = 125

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


class NotFound(GlassboxError):
    """No such container, image, volume, network, layer or file."""

    http_status = 404


class Conflict(GlassboxError):
    """The name is taken, or the object is in use or in the wrong state."""

    http_status = 409


class InvalidArgument(GlassboxError):
    """The request itself is wrong: a bad flag value, reference, or option."""

    http_status = 400


class Forbidden(GlassboxError):
    """Well-formed, but not allowed here: Docker's 403 (an address pool that
    overlaps another network or a route of the host)."""

    http_status = 403


class BuildError(GlassboxError):
    """A Dockerfile step failed; carries the file, line and the line's text."""

    def __init__(self, message: str, *, file: str = "Dockerfile", line: int | None = None,
                 text: str | None = None):
        where = f"{file}:{line}" if line is not None else file
        full = f"{where}: {message}"
        if text is not None:
            full += f"\n    {line} | {text}"
        super().__init__(full)
        self.file, self.line, self.text = file, line, text


class RegistryError(GlassboxError):
    """The registry refused, failed, or answered with something invalid."""

    http_status = 502


class KernelError(GlassboxError):
    """A system call failed: carries ``errno``, the operation and the path."""

    def __init__(self, err: int, op: str, path: str | None = None, hint: str | None = None):
        self.errno, self.op, self.path = err, op, path
        name = _errno.errorcode.get(err, str(err))
        msg = f"{op}({path}) failed: {os.strerror(err)} [{name}]" if path else \
            f"{op} failed: {os.strerror(err)} [{name}]"
        if hint:
            msg += f" — {hint}"
        super().__init__(msg)


class ContainerExit(GlassboxError):
    """The container's command could not be started (exit 126/127 as Docker)."""

    def __init__(self, message: str, exit_code: int):
        super().__init__(message)
        self.exit_code = exit_code


def http_status(e: BaseException) -> int:
    """The HTTP status an error answers with (the daemon, the lab's routes): its
    class says (``http_status``); anything that is not a GlassboxError is the
    server's own fault, 500."""
    return e.http_status if isinstance(e, GlassboxError) else 500
