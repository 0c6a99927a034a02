"""A recording stand-in for :class:`glassbox._sys.Sys` — for unit tests only.

Every call is appended to ``calls`` as ``(name, args)`` and succeeds; set
``fail_on = {"mount": errno.EPERM}`` to make an operation fail like the kernel
would.
"""

from __future__ import annotations

from ..errors import KernelError


class RecordingSys:
    def __init__(self, fail_on: dict[str, int] | None = None):
        self.calls: list[tuple[str, tuple]] = []
        self.fail_on = fail_on or {}

    def __getattr__(self, name: str):
        if name.startswith("_"):
            raise AttributeError(name)

        def record(*args, **kwargs):
            self.calls.append((name, args + tuple(kwargs.items())))
            if name in self.fail_on:
                raise KernelError(self.fail_on[name], name, str(args[1] if len(args) > 1 else ""))
            if name == "capget":
                return (0, 0, 0)
            if name == "drop_bounding_caps":   # a host whose bounding set is full
                return set(args[0])
            if name in ("bpf_prog_load", "open_tree"):   # a real fd stands in for it
                import os
                return os.open(os.devnull, os.O_RDONLY | os.O_CLOEXEC)
            if name == "bpf_prog_query":
                return []
            return None
        return record

    def names(self) -> list[str]:
        return [n for n, _ in self.calls]
