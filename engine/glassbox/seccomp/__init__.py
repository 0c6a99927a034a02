"""Seccomp: which system calls a container may make at all.

Capabilities decide what a privileged call may *do*; seccomp decides whether
the call reaches the kernel. A container's root still holds a dozen
capabilities, and the kernel has ~450 system calls, some of them new, complex
and a steady source of privilege escalations (``io_uring_setup``, ``bpf``,
``userfaultfd``, ``keyctl``/``add_key``) or of ways out (``unshare(CLONE_NEWUSER)``
followed by ``mount``). Docker therefore runs every container under a
*filter*: a small program the kernel runs on each syscall, which allows the
~360 calls ordinary programs use and answers ``EPERM`` to everything else.

glassbox applies the same filter, from the same data:

* :file:`default.json` is the project's copy of Docker's default profile
  (moby ``profiles`` repository, ``seccomp/default.json`` at commit ``cd3bed8``,
  tag ``seccomp/v0.2.3`` + 8: no ``io_uring_*``, ``socket`` refused for
  ``AF_ALG`` and ``AF_VSOCK``), in Docker's own format;
* :mod:`.profile` parses and checks that format and resolves its conditional
  rules for one container (its capabilities, the host's arch and kernel);
* :mod:`.compile` turns the result into a classic BPF program (:mod:`.bpf`), in
  pure Python — the decision and its measurements are in docs/architecture.md;
* :mod:`.cache` keeps compiled programs so a start pays one file read;
* :mod:`glassbox.runtime.init` installs the program right before ``execve``
  (and :mod:`glassbox.runtime.exec` for every ``exec``), after no_new_privs,
  through ``_sys.seccomp_set_filter``. From then on the filter cannot be removed,
  only tightened, and it is inherited by every child.

``--security-opt seccomp=unconfined`` and ``--privileged`` run without a
filter; ``--security-opt seccomp=PROFILE.json`` uses that profile instead.
Notebook: notebooks/en/13-what-a-container-may-not-do.ipynb (issue 18), which runs
the escape corpus (:mod:`glassbox.probe`) with and without the filter.
"""

from __future__ import annotations

from .cache import program_for  # noqa: F401  (the start path: only `os` imported)

# Where default.json comes from (its content, re-indented; the data are moby's)
DEFAULT_SOURCE = ("github.com/moby/profiles seccomp/default.json at commit cd3bed8 "
                  "(seccomp/v0.2.3-8-gcd3bed8, 2026-06-30)")


def choice_from_option(value: str) -> str:
    """``--security-opt seccomp=VALUE`` -> what a container's spec records:
    ``"unconfined"``, ``"default"`` (also for ``builtin``, Docker's name for it)
    or the profile's compact JSON text (a path is read now, as the docker CLI
    does; an inline ``{...}`` comes from the Engine API). A profile that cannot
    be read or is invalid raises :class:`~glassbox.errors.InvalidArgument` naming
    the file and the field."""
    from ..errors import InvalidArgument
    if value == "unconfined":
        return "unconfined"
    if value in ("builtin", "default"):
        return "default"
    if not value:
        raise InvalidArgument("--security-opt seccomp=: give a profile path, "
                              "'unconfined' or 'builtin'")
    if value.lstrip().startswith("{"):
        text, source = value, "(inline)"
    else:
        try:
            with open(value, "rb") as f:
                raw = f.read()
        except OSError as e:
            raise InvalidArgument(f"--security-opt seccomp={value}: cannot read the profile: "
                                  f"{e.strerror}") from None
        try:
            text = raw.decode()
        except UnicodeDecodeError:
            raise InvalidArgument(f"seccomp profile {value}: invalid JSON: not UTF-8 text") \
                from None
        source = value
    import json
    from .profile import parse, resolve
    profile = parse(text, source)
    _warn_unknown(profile, resolve, source)
    return json.dumps(json.loads(text), separators=(",", ":"))


def _warn_unknown(profile, resolve, source: str) -> None:
    """Docker skips syscall names this kernel does not know, with a warning."""
    import sys
    from .compile import compile_filter
    from .._sys.constants import CAPS
    unknown: list[str] = []
    compile_filter(resolve(profile, CAPS), unknown)   # also proves it compiles
    for name in unknown:
        print(f"WARNING: seccomp profile {source}: syscall {name!r} is unknown on this "
              "host, ignored", file=sys.stderr)


def host_security_options() -> list[str]:
    """``SecurityOptions`` of ``/info`` and ``glassbox info``, as dockerd lists them
    (moby ``daemon/info.go``): ``name=seccomp,profile=builtin`` when the kernel has
    seccomp filters (asked as dockerd asks); ``name=rootless`` when glassbox runs
    as a user (issue 14); ``name=cgroupns``, since every glassbox container gets
    its own cgroup namespace (dockerd lists it when that is its default, on
    cgroup v2); ``name=no-new-privileges``, which glassbox sets for every
    non-privileged container, as ``dockerd --no-new-privileges`` does. No
    AppArmor, SELinux or userns-remap entry: glassbox applies none of them."""
    import os
    from .._sys import real
    out = []
    if real.seccomp_filter_supported():
        out.append("name=seccomp,profile=builtin")
    if os.geteuid() != 0:
        out.append("name=rootless")
    out += ["name=cgroupns", "name=no-new-privileges"]
    return out
