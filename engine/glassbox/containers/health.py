"""Healthchecks: a command run inside the container every so often, whose exit
code says whether the service in it works.

The check comes from the image (``HEALTHCHECK``) or from ``run``
(``--health-cmd``, ``--health-interval``, ``--health-timeout``,
``--health-retries``, ``--health-start-period``, ``--health-start-interval``,
``--no-healthcheck``; ``Config.Healthcheck`` in the API), per field: what the
container sets wins, what it leaves at zero comes from the image.

Who runs it? Not a Python process per container, and not a daemon: the
container's C monitor (``runtime/monitor/gbx-monitor.c``), which is awake
anyway to copy the container's output, sleeps in ``poll`` until the next probe
is due — no CPU at all between probes — then forks the probe itself: it joins
the container's cgroup and namespaces (``setns``, as ``exec`` does), forks once
more into the PID namespace and becomes the check command with the container's
user, environment, working directory and capabilities. A probe that outlives
its timeout is killed (its whole process group); the container keeps running.

The monitor keeps Docker's state machine and writes it to ``health.json`` in
the container's directory, which :func:`read` returns as ``State.Health``:

* ``starting`` until the first success; ``healthy`` after a success;
  ``unhealthy`` once ``FailingStreak`` reaches ``Retries`` consecutive failures;
* a failure inside the start period does not count while still ``starting``;
  during the start period probes come every ``StartInterval``;
* ``Log`` holds the last 5 probes ``{Start, End, ExitCode, Output}`` (output
  cut at 4096 bytes; a timeout is ExitCode -1, "Health check exceeded timeout").

This module holds the configuration (parsing, Docker's validation messages,
the image merge), the probe's description the monitor reads
(:func:`write_probe_spec`), and the readers (``inspect``, ``ps``).
"""

from __future__ import annotations

import os

NS = 1_000_000_000
DEFAULTS = {"Interval": 30 * NS, "Timeout": 30 * NS, "StartPeriod": 0,
            "StartInterval": 5 * NS, "Retries": 3}
DURATIONS = ("Interval", "Timeout", "StartPeriod", "StartInterval")
FLAG_OF = {"Interval": "--health-interval", "Timeout": "--health-timeout",
           "StartPeriod": "--health-start-period", "StartInterval": "--health-start-interval",
           "Retries": "--health-retries"}
MAX_LOG = 5
SPEC_FILE = "health.probe"       # in the container's directory; read by gbx-monitor
STATE_FILE = "health.json"       # written by gbx-monitor


def _duration(text: str | None, flag: str) -> int:
    from ..build.dockerfile import parse_duration
    from ..errors import InvalidArgument
    if text is None or text == "":
        return 0
    try:
        return parse_duration(str(text))
    except ValueError as e:
        if "negative" in str(e):
            raise InvalidArgument(f"{flag} cannot be negative") from None
        raise InvalidArgument(f"invalid argument {text!r} for \"{flag}\" flag: {e}") from None


def from_flags(cmd: str | None = None, interval: str | None = None, timeout: str | None = None,
               retries: int | None = None, start_period: str | None = None,
               start_interval: str | None = None, none: bool = False) -> dict | None:
    """The ``run``/``create`` flags -> ``Config.Healthcheck`` (durations in ns), or
    None when no flag was given. Messages as the docker CLI's."""
    from ..errors import InvalidArgument
    given = cmd is not None or any(v not in (None, "") for v in
                                   (interval, timeout, retries, start_period, start_interval))
    if none:
        if given:
            raise InvalidArgument("--no-healthcheck conflicts with --health-* options")
        return {"Test": ["NONE"]}
    if not given:
        return None
    if retries is not None and retries < 0:
        raise InvalidArgument("--health-retries cannot be negative")
    doc = {"Test": ["CMD-SHELL", cmd] if cmd else [],
           "Interval": _duration(interval, FLAG_OF["Interval"]),
           "Timeout": _duration(timeout, FLAG_OF["Timeout"]),
           "StartPeriod": _duration(start_period, FLAG_OF["StartPeriod"]),
           "StartInterval": _duration(start_interval, FLAG_OF["StartInterval"]),
           "Retries": retries or 0}
    return validate(doc)


def validate(doc) -> dict | None:
    """A ``Config.Healthcheck`` from a client, checked as dockerd does."""
    from ..errors import InvalidArgument
    if doc is None:
        return None
    if not isinstance(doc, dict):
        raise InvalidArgument("Config.Healthcheck must be an object")
    unknown = set(doc) - {"Test", *DURATIONS, "Retries"}
    if unknown:
        raise InvalidArgument(f"Config.Healthcheck: unknown field(s) {', '.join(sorted(unknown))}")
    test = doc.get("Test") or []
    if isinstance(test, str) or not isinstance(test, list) or \
            not all(isinstance(x, str) for x in test):
        raise InvalidArgument("Healthcheck.Test must be a list of strings")
    if test and test[0] not in ("NONE", "CMD", "CMD-SHELL"):
        raise InvalidArgument(f"Healthcheck.Test: unknown type {test[0]!r} (expected NONE, "
                              "CMD or CMD-SHELL)")
    if test[:1] in (["CMD"], ["CMD-SHELL"]) and len(test) < 2:
        raise InvalidArgument(f"Healthcheck.Test {test[0]} needs a command")
    out: dict = {"Test": list(test)}
    for key in (*DURATIONS, "Retries"):
        v = doc.get(key) or 0
        if isinstance(v, bool) or not isinstance(v, int):
            raise InvalidArgument(f"Healthcheck.{key} must be an integer"
                                  + (" (nanoseconds)" if key != "Retries" else ""))
        if key == "Retries" and v < 0:
            raise InvalidArgument("Retries in Healthcheck cannot be negative")
        if key != "Retries" and v != 0 and v < 1_000_000:
            raise InvalidArgument(f"{key} in Healthcheck cannot be less than 1ms")
        out[key] = v
    return out


def merge(container: dict | None, image: dict | None) -> dict | None:
    """Docker's merge: the container's check, with the image's for what it left
    empty (no Test: the image's command; a zero duration: the image's)."""
    if not container:
        return dict(image) if image else None
    if not image:
        return dict(container)
    out = dict(container)
    if not out.get("Test"):
        out["Test"] = list(image.get("Test") or [])
    for key in (*DURATIONS, "Retries"):
        if not out.get(key):
            out[key] = image.get(key) or 0
    return out


def effective(healthcheck: dict | None) -> dict | None:
    """The check to run with Docker's defaults filled in, or None (no check,
    or ``NONE``)."""
    if not healthcheck:
        return None
    test = healthcheck.get("Test") or []
    if not test or test[0] == "NONE":
        return None
    out = {k: (healthcheck.get(k) or DEFAULTS[k]) for k in DEFAULTS}
    out["argv"] = ["/bin/sh", "-c", test[1]] if test[0] == "CMD-SHELL" else list(test[1:])
    return out


# ---- the probe's description, for the C monitor ---------------------------------------
def _resolve_user(pid: int, user: str) -> tuple[int, int, list[int], str]:
    """The container's user as uid/gid/groups/home, looked up in *its* /etc/passwd:
    a short-lived child joins the container's mount namespace (so an absolute
    symlink in the image resolves inside it) and answers on a pipe."""
    from .._child import in_child
    return in_child(_user_in_mount_ns, pid, user)


def _user_in_mount_ns(pid: int, user: str) -> tuple[int, int, list[int], str]:
    """(In the child) join the container's mount namespace and resolve ``user``;
    ValueError with the reason when that fails."""
    from .._sys import CLONE_NEWNS, real
    from ..runtime.init import resolve_user
    try:
        fd = os.open(f"/proc/{pid}/ns/mnt", os.O_RDONLY | os.O_CLOEXEC)
        real.setns(fd, CLONE_NEWNS, f"/proc/{pid}/ns/mnt")
        u = resolve_user(user)
    except BaseException as e:  # noqa: BLE001
        raise ValueError(getattr(e, "message", None) or str(e)) from None
    return u.uid, u.gid, list(u.groups), u.home


def _procs_files(cg) -> list[str]:
    """``cgroup.procs`` of the container's cgroup in every hierarchy."""
    hierarchies = getattr(cg, "hierarchies", None)
    if hierarchies is not None:     # v1: one directory per mounted hierarchy
        return [os.path.join(mp, cg.rel, "cgroup.procs") for mp in hierarchies
                if os.path.isdir(os.path.join(mp, cg.rel))]
    path = getattr(cg, "path", None)
    return [os.path.join(path, "cgroup.procs")] if path else []   # rootless, no delegation


def _freezer_file(cg) -> str:
    dirs = getattr(cg, "dirs", None)
    if dirs is not None and "freezer" in dirs:
        return os.path.join(dirs["freezer"], "freezer.state")     # "FROZEN" when paused
    path = getattr(cg, "path", None)
    return os.path.join(path, "cgroup.freeze") if path else ""    # "1" when paused


SECCOMP_FILE = "health.seccomp"   # the container's compiled filter, for the probe


def _seccomp_section(cdir: str, config: dict) -> list[tuple[str, list[str]]]:
    """The container's seccomp filter, as ``exec`` installs it (:mod:`glassbox.seccomp`):
    written as raw ``sock_filter``s next to the spec; the probe loads it last."""
    spec = config["Spec"]
    choice = spec.get("seccomp")
    from ..runtime.spec import container_field
    if choice is None or choice == "unconfined" or container_field(config, "privileged"):
        return []
    from ..seccomp import program_for
    got = program_for(choice, spec["caps"], os.path.dirname(os.path.dirname(cdir)))
    if got is None:
        return []
    program, flags = got
    from .._files import write_bytes
    write_bytes(os.path.join(cdir, SECCOMP_FILE), program, mode=0o600)
    return [("seccomp", [os.path.join(cdir, SECCOMP_FILE), str(flags)])]   # absolute:
    # a rootless monitor's cwd is not the container's directory


def write_probe_spec(cdir: str, config: dict, pid: int, cg,
                     resume: bool = False) -> list[str] | None:
    """Describe the probe for the C monitor; return the monitor's ``--health``
    arguments, or None when the container has no check.

    ``resume``: the container already ran under another watcher (a ``run -it``
    whose terminal detached hands over to a new monitor): the state so far — status,
    failing streak and the last probes' log — is passed on (``resume`` and ``log``
    sections), so ``State.Health`` goes on where it was instead of "starting" again.

    ``health.probe`` is a list of NUL-terminated strings in sections, each a tag
    then its items then an empty string: ``ns`` (namespaces to join, in order),
    ``cg`` (cgroup.procs files), ``frz`` (the freezer file), ``argv``, ``env``,
    ``ids`` (uid, gid, groups...), ``caps`` (the kept capability mask), ``nnp``,
    ``cwd``, ``seccomp`` (the filter's file and flags) — or ``error`` when the probe
    cannot run at all (an unknown user)."""
    hc = effective(config["Config"].get("Healthcheck"))
    if hc is None:
        return None
    from .._sys.constants import CAP_NUMBER
    spec = config["Spec"]
    sections: list[tuple[str, list[str]]] = []
    try:
        uid, gid, groups, home = _resolve_user(pid, spec.get("user") or "")
    except Exception as e:  # noqa: BLE001 — every probe will report it
        sections.append(("error", [str(e)]))
        uid, gid, groups, home = 0, 0, [], "/"
    env = list(spec.get("env") or [])
    if not any(e.startswith("HOME=") for e in env):
        env.append(f"HOME={home}")
    mask = 0
    for c in spec.get("caps") or ():
        if c in CAP_NUMBER:
            mask |= 1 << CAP_NUMBER[c]
    kinds = set(spec.get("namespaces") or ())
    try:
        sections += _seccomp_section(cdir, config)
    except Exception as e:  # noqa: BLE001 — never run a probe less confined than exec
        sections.append(("error", [f"healthcheck: cannot load the container's seccomp "
                                   f"filter: {e}"]))
    from .. import namespaces          # the order exec joins them in
    user = ""
    if _own_userns(pid):   # rootless: the container's user namespace is joined first;
        user = "last" if os.geteuid() == 0 else "first"   # --userns=private: last
    sections += [("ns", list(namespaces.join_order(kinds, user))),
                 ("cg", _procs_files(cg)), ("frz", [f for f in [_freezer_file(cg)] if f]),
                 ("argv", hc["argv"]), ("env", env),
                 ("ids", [str(uid), str(gid), *map(str, groups)]), ("caps", [str(mask)]),
                 ("nnp", ["1" if spec.get("no_new_privs", True) else "0"]),
                 ("cwd", [spec.get("cwd") or "/"])]
    if resume:
        sections += _resume_sections(cdir)
    blob = b"".join(tag.encode() + b"\0" + b"".join(i.encode() + b"\0" for i in items) + b"\0"
                    for tag, items in sections)
    from .._files import write_bytes
    write_bytes(os.path.join(cdir, SPEC_FILE), blob, mode=0o600)
    ms = 1_000_000
    return ["--health", os.path.join(cdir, SPEC_FILE), str(hc["Interval"] // ms), str(hc["Timeout"] // ms),
            str(hc["StartPeriod"] // ms), str(hc["StartInterval"] // ms), str(hc["Retries"])]


_STATUS_INDEX = {"starting": 0, "healthy": 1, "unhealthy": 2}   # the C monitor's H_ names


def _resume_sections(cdir: str) -> list[tuple[str, list[str]]]:
    """``State.Health`` so far as the monitor's ``resume`` and ``log`` sections: one
    item per probe, ``START\\tEND\\tCODE\\tOUTPUT`` (never empty, so never read as a
    section's end; NULs, which would split it, dropped)."""
    doc = read(cdir)
    if not doc or doc.get("Status") not in _STATUS_INDEX:
        return []
    log = [f"{e.get('Start', '')}\t{e.get('End', '')}\t{int(e.get('ExitCode', -1))}\t"
           f"{e.get('Output', '')}".replace("\0", "")
           for e in (doc.get("Log") or [])[-5:]]
    return [("resume", [str(_STATUS_INDEX[doc["Status"]]), str(int(doc.get("FailingStreak") or 0))]),
            ("log", log)]


def _own_userns(pid: int) -> bool:
    """Is ``pid`` in a user namespace other than ours (a rootless container)?"""
    try:
        return os.stat(f"/proc/{pid}/ns/user").st_ino != os.stat("/proc/self/ns/user").st_ino
    except OSError:
        return False


def setup_failed(cdir: str, message: str) -> None:
    """The probe could not even be described: say so in ``State.Health``."""
    from .._files import timestamp, write_json
    now = timestamp()
    doc = {"Status": "unhealthy", "FailingStreak": 0,
           "Log": [{"Start": now, "End": now, "ExitCode": -1,
                    "Output": f"healthcheck could not be set up: {message}"}]}
    write_json(os.path.join(cdir, STATE_FILE), doc)


# ---- readers ----------------------------------------------------------------------------
def read(cdir: str) -> dict | None:
    """``State.Health`` as the monitor last wrote it (None: no check)."""
    import json
    try:
        with open(os.path.join(cdir, STATE_FILE)) as f:
            doc = json.load(f)
    except (OSError, ValueError):
        return None
    return {"Status": doc.get("Status", "starting"),
            "FailingStreak": int(doc.get("FailingStreak") or 0),
            "Log": list(doc.get("Log") or [])[-MAX_LOG:]}


def current(cdir: str, config: dict) -> dict | None:
    """``State.Health`` of a container: what its monitor wrote, ``starting``
    before its first write, None when it has no check."""
    if not effective(config["Config"].get("Healthcheck")):
        return None
    return read(cdir) or {"Status": "starting", "FailingStreak": 0, "Log": []}


def status_suffix(health: dict | None) -> str:
    """What ``docker ps`` adds to ``Up 3 seconds``: `` (healthy)``,
    `` (unhealthy)`` or `` (health: starting)``."""
    if not health:
        return ""
    st = health.get("Status")
    if st == "starting":
        return " (health: starting)"
    if st in ("healthy", "unhealthy"):
        return f" ({st})"
    return ""
