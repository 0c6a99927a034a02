"""The escape corpus: ``gbx-probe.c``, a static C program that tries, as a
container's root, what a container must not do to its host — and how to build
and read it (issue 18; the course's "what a container may not do", notebook
notebooks/en/13-what-a-container-may-not-do.ipynb).

Run inside a container it prints one line per attempt::

    loop-control    blocked  open c 10:237: EPERM
    add_key         allowed  EFAULT
    mount           blocked  mount tmpfs: EPERM

``blocked`` means some guard said no, and the detail says which one in the
kernel's own words: ``EPERM`` on opening a device node is the devices cgroup
(mknod itself is allowed, as in Docker); ``EPERM`` on mount/unshare(NET)/kexec_load/
init_module/clock_adjtime is a capability the container does not hold;
``EROFS`` is a read-only bind (``/proc/sys``, ``/proc/sysrq-trigger``, ``/sys``);
an empty ``/proc/kcore`` is a mask. ``EPERM`` on add_key, bpf, userfaultfd,
io_uring_setup, personality, unshare(USER) or an out-of-range clock_settime can
only be a seccomp filter: the kernel itself lets a capability-less root make
those calls. ``allowed`` means the call went through every guard — harmlessly:
each attempt passes arguments the kernel rejects only *after* its permission
checks (``EINVAL``/``EFAULT``/``ENOEXEC`` then say "got through"), writes
nothing, and undoes what it did.

The probe is built static, so the very same binary runs in glassbox's busybox
and in Docker's: tests/system/test_escape.py holds the expectation table (Docker's
behaviour) and tests/interop/test_escape_docker.py checks that glassbox blocks at
least everything a real dockerd blocks. ``python -m glassbox.probe`` builds it
(the set-up does); ``python -m glassbox.probe --run IMAGE`` shows the table of a
``glassbox run --rm``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from .._native import compile_c, up_to_date

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE = os.path.join(HERE, "gbx-probe.c")
BINARY = os.path.join(HERE, "gbx-probe")

#: the verdicts a line can carry ("info" lines report context, e.g. the seccomp mode)
VERDICTS = ("blocked", "allowed", "skipped", "info")


@dataclass(frozen=True)
class Attempt:
    """One line of the probe's output: what was tried, the verdict, the kernel's answer."""

    name: str
    verdict: str
    detail: str

    @property
    def blocked(self) -> bool:
        return self.verdict == "blocked"


def binary() -> str | None:
    """The compiled probe if it is there and up to date with its source."""
    return BINARY if up_to_date(BINARY, SOURCE) else None


def build() -> str | None:
    """Compile the probe statically (it must run in images without a libc). None,
    with cc's own message on stderr, where that cannot be done (no C compiler, no
    static libc): the escape-corpus tests then skip, nothing else needs the probe."""
    import subprocess
    try:
        return compile_c(SOURCE, BINARY, extra=("-static",),
                         what="the escape-corpus tests will skip")
    except subprocess.CalledProcessError:
        return None


def parse(output: str) -> dict[str, Attempt]:
    """The probe's lines as ``{name: Attempt}``; a malformed line is an
    InvalidArgument naming it (the probe's format is its contract with the tests)."""
    from ..errors import InvalidArgument
    table: dict[str, Attempt] = {}
    for line in output.splitlines():
        if not line.strip():
            continue
        parts = line.split("\t")
        if len(parts) != 3 or parts[1] not in VERDICTS:
            raise InvalidArgument(f"gbx-probe: malformed line {line!r} "
                             "(expected name<TAB>blocked|allowed|skipped|info<TAB>detail)")
        table[parts[0]] = Attempt(*parts)
    return table


def render(table: dict[str, Attempt]) -> str:
    """The table as aligned text (the course's picture)."""
    width = max((len(n) for n in table), default=0)
    return "\n".join(f"{a.name:<{width}}  {a.verdict:<7}  {a.detail}" for a in table.values())


def _main(argv: list[str]) -> int:
    import subprocess
    import sys
    if not argv:
        print(build() or "not built")
        return 0
    if argv[0] == "--run" and len(argv) == 2:
        probe = binary() or build()
        if not probe:
            return 1
        cli = os.path.join(os.path.dirname(sys.executable), "glassbox")
        proc = subprocess.run([cli if os.path.exists(cli) else "glassbox", "run", "--rm", "-v", f"{HERE}:/gbx-probe:ro",
                               argv[1], "/gbx-probe/gbx-probe"], capture_output=True, text=True)
        sys.stderr.write(proc.stderr)
        print(render(parse(proc.stdout)))
        return proc.returncode
    print("usage: python -m glassbox.probe [--run IMAGE]", file=sys.stderr)
    return 2


