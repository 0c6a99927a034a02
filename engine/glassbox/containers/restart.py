"""Restart policies: what happens when a container's first process ends.

``--restart no|always|unless-stopped|on-failure[:N]`` (``HostConfig.RestartPolicy``
in the API) is carried out by the container's own monitor — the shim process
that is its parent (:mod:`glassbox.runtime.shim`) — not by a daemon: when the
process exits, the shim records the exit and the policy's decision in one
locked write (:func:`record_exit`: ``exited``, or straight ``restarting``),
sleeps the backoff and starts the container once more, in the same process. A
crashed container comes back with no daemon, agent or CLI running.

The rules are Docker's (moby's ``restartmanager``):

* ``always`` restarts whatever the exit code; ``unless-stopped`` too;
  ``on-failure`` only after a non-zero exit, and at most ``N`` times when a
  count is given (``on-failure:2``: the third failure stays down).
* ``stop``, ``kill`` (with the stop signal or SIGKILL) and ``rm -f`` mark the
  container *manually stopped*: its monitor does not restart it.
* The delay before a restart starts at 100 ms and doubles each time, up to
  one minute; a run of 10 seconds or more resets it to 100 ms.
* ``RestartCount`` counts the restarts since the last manual ``start``.
* After a "reboot" of the state root (every glassbox process gone), the
  daemon or agent that starts first calls :func:`restore_after_boot`:
  ``always`` containers come back — even manually stopped ones, as Docker's
  do when dockerd starts — ``unless-stopped`` ones unless they were stopped,
  and ``on-failure`` ones whose last exit was a failure.

The rules themselves (:func:`parse`, :func:`should_restart`, :func:`backoff`,
:func:`next_delay`, :func:`wants_boot_start`) are pure; the state-file steps
around them are small. ``tests/unit/test_restart_policy.py`` checks both
without root, ``tests/system/test_restart.py`` on real containers.
"""

from __future__ import annotations

FIRST_DELAY = 0.1        # seconds (moby: defaultTimeout)
MAX_DELAY = 60.0         # seconds (moby: maxRestartTimeout)
RESET_AFTER = 10.0       # a run at least this long resets the delay


class RestartPolicy:
    """``{"Name": ..., "MaximumRetryCount": ...}`` as a value. Plain class
    (not a dataclass): it is read on the shim's exit path, where importing
    ``dataclasses`` would cost more than the decision itself."""

    __slots__ = ("name", "maximum_retry_count")

    def __init__(self, name: str = "no", maximum_retry_count: int = 0):
        self.name, self.maximum_retry_count = name, maximum_retry_count

    def __eq__(self, other) -> bool:
        return isinstance(other, RestartPolicy) and \
            (self.name, self.maximum_retry_count) == (other.name, other.maximum_retry_count)

    def __repr__(self) -> str:
        return f"RestartPolicy({self.name!r}, {self.maximum_retry_count})"

    @property
    def is_none(self) -> bool:
        return self.name in ("no", "")

    def to_json(self) -> dict:
        return {"Name": self.name or "no", "MaximumRetryCount": self.maximum_retry_count}

    @classmethod
    def from_json(cls, doc: dict | None) -> "RestartPolicy":
        """From ``HostConfig.RestartPolicy`` as stored (already validated)."""
        doc = doc or {}
        return cls(doc.get("Name") or "no", int(doc.get("MaximumRetryCount") or 0))


def parse(text: str | None) -> RestartPolicy:
    """``--restart`` text (``on-failure:3``) -> a validated policy; None/"" -> ``no``.
    Messages are the docker CLI's and dockerd's."""
    from ..errors import InvalidArgument
    if not text:
        return RestartPolicy()
    name, sep, count = text.partition(":")
    if sep and not name:
        raise InvalidArgument("invalid restart policy format: no policy provided before colon")
    maximum = 0
    if count:
        try:
            maximum = int(count)
        except ValueError:
            raise InvalidArgument("invalid restart policy format: maximum retry count must "
                                  "be an integer") from None
    return validate(RestartPolicy(name, maximum))


def validate(policy: RestartPolicy) -> RestartPolicy:
    """dockerd's ``ValidateRestartPolicy``."""
    from ..errors import InvalidArgument
    n, count = policy.name, policy.maximum_retry_count
    if n == "":      # what clients before API 1.44 send for "no", with any count
        return RestartPolicy()
    if n in ("always", "unless-stopped", "no"):
        if count:
            msg = "invalid restart policy: maximum retry count can only be used with 'on-failure'"
            raise InvalidArgument(msg + (" and cannot be negative" if count < 0 else ""))
        return RestartPolicy(n or "no", 0)
    if n == "on-failure":
        if count < 0:
            raise InvalidArgument("invalid restart policy: maximum retry count cannot be "
                                  "negative")
        return policy
    raise InvalidArgument(f"invalid restart policy: unknown policy '{n}'; use one of 'no', "
                          "'always', 'on-failure', or 'unless-stopped'")


def from_api(doc) -> RestartPolicy:
    """``HostConfig.RestartPolicy`` from a client (``{"Name": "", ...}`` is ``no``)."""
    from ..errors import InvalidArgument
    if doc is None:
        return RestartPolicy()
    if not isinstance(doc, dict):
        raise InvalidArgument("HostConfig.RestartPolicy must be an object")
    name = doc.get("Name") or ""
    count = doc.get("MaximumRetryCount") or 0
    if not isinstance(name, str):
        raise InvalidArgument("RestartPolicy.Name must be a string")
    if isinstance(count, bool) or not isinstance(count, int):
        raise InvalidArgument("RestartPolicy.MaximumRetryCount must be an integer")
    return validate(RestartPolicy(name, count))


def check_auto_remove(policy: RestartPolicy, auto_remove: bool, *, api: bool = False) -> None:
    """``--rm`` removes the container at the very exit a policy acts on: refused."""
    from ..errors import InvalidArgument
    if auto_remove and not policy.is_none:
        raise InvalidArgument("can't create 'AutoRemove' container with restart policy" if api
                              else "conflicting options: cannot specify both --restart and --rm")


def should_restart(policy: RestartPolicy, exit_code: int, restart_count: int,
                   manually_stopped: bool) -> bool:
    """The decision after an exit (moby's ``ShouldRestart``). The live monitor
    never restarts a manually stopped container (``stop`` cancels it); at boot
    ``always`` ignores a manual stop (see :func:`restore_after_boot`)."""
    if policy.name == "always":
        return True
    if policy.name == "unless-stopped":
        return not manually_stopped
    if policy.name == "on-failure":
        limit = policy.maximum_retry_count
        return exit_code != 0 and (limit == 0 or restart_count < limit)
    return False


def backoff(previous: float, ran_for: float) -> float:
    """The delay before the next restart: 100 ms, doubled each time up to a
    minute, back to 100 ms after a run of 10 s or more (``previous`` = 0: none yet)."""
    if ran_for >= RESET_AFTER:
        previous = 0.0
    if previous <= 0:
        return FIRST_DELAY
    return min(previous * 2, MAX_DELAY)


def _epoch(iso: str | None) -> float | None:
    """``2026-12-04T02:00:00.123456789Z`` -> seconds (UTC), without importing much."""
    if not iso or iso.startswith("0001-"):
        return None
    import calendar
    import time
    try:
        whole = calendar.timegm(time.strptime(iso[:19], "%Y-%m-%dT%H:%M:%S"))
    except ValueError:
        return None
    frac = iso[19:].rstrip("Z")
    return whole + (float(frac) if frac.startswith(".") and frac[1:].isdigit() else 0.0)


def next_delay(config: dict, state: dict, now: float) -> float | None:
    """What the monitor does after recording an exit: None (stay down) or the
    seconds to wait before starting again (pure: the state is passed in)."""
    policy = RestartPolicy.from_json(config["HostConfig"].get("RestartPolicy"))
    if policy.is_none or state.get("ManuallyStopped"):
        return None
    if not should_restart(policy, int(state.get("ExitCode") or 0),
                          int(state.get("RestartCount") or 0), False):
        return None
    started = _epoch(state.get("StartedAt"))
    ran_for = now - started if started is not None else 0.0
    return backoff(float(state.get("RestartDelay") or 0.0), ran_for)


def record_exit(cdir: str, now: float, exit_fields: dict) -> float | None:
    """In the monitor, when the container's first process is gone: record the
    exit and decide, in one write under the container's lock (so a concurrent
    ``stop`` is either seen or sees us). When it comes back the state goes
    straight to ``restarting`` with one more ``RestartCount`` (never a moment of
    ``exited``); else to ``exited``. Returns the delay to sleep, or None."""
    import os
    from . import state as cstate
    try:
        config = cstate.read_json(os.path.join(cdir, "config.json"))
    except (OSError, ValueError):
        config = {"HostConfig": {}}          # removed meanwhile: just record it
    with cstate.locked(os.path.join(cdir, "lock")):
        path = os.path.join(cdir, "state.json")
        try:
            st = cstate.read_json(path)
        except (OSError, ValueError):
            st = {}
        st.update(exit_fields)
        delay = next_delay(config, st, now)
        if delay is None:
            st["Status"] = "exited"
        else:
            st.update(Status="restarting", RestartDelay=delay,
                      RestartCount=int(st.get("RestartCount") or 0) + 1)
        if os.path.isdir(cdir):
            cstate.write_json(path, st)
    return delay


def end_restart_wait(cdir: str) -> bool:
    """After the backoff sleep: go on (True) unless a ``stop``/``rm`` came in
    meanwhile, in which case the container is recorded exited (False)."""
    import os
    from . import state as cstate
    with cstate.locked(os.path.join(cdir, "lock")):
        path = os.path.join(cdir, "state.json")
        try:
            st = cstate.read_json(path)
        except (OSError, ValueError):
            return False
        if st.get("ManuallyStopped") or st.get("Status") != "restarting":
            if st.get("Status") == "restarting":
                st["Status"] = "exited"
                cstate.write_json(path, st)
            return False
    return True


def wants_boot_start(config: dict, state: dict) -> bool:
    """At boot: does this container come back? (moby: restore + ``ShouldRestart``)."""
    policy = RestartPolicy.from_json(config["HostConfig"].get("RestartPolicy"))
    if policy.is_none or not state.get("StartedAt") or \
            str(state.get("StartedAt")).startswith("0001-"):
        return False       # never started: a created container stays created
    return should_restart(policy, int(state.get("ExitCode") or 0),
                          int(state.get("RestartCount") or 0),
                          bool(state.get("ManuallyStopped")))


BOOT_FILE = ".boot"      # containers/.boot: the kernel boot id the last restore saw


def _kernel_boot_id() -> str:
    try:
        with open("/proc/sys/kernel/random/boot_id") as f:
            return f.read().strip()
    except OSError:
        return ""


def _taken_down(cdir: str) -> bool:
    """Does the state still say running/restarting while its process and its
    monitor are both gone? That is what a reboot (or ``kill -9`` of everything)
    leaves behind."""
    import os

    from .. import processes
    from . import state as cstate
    try:
        st = cstate.read_json(os.path.join(cdir, "state.json"))
    except (OSError, ValueError):
        return False
    if st.get("Status") not in ("running", "paused", "restarting"):
        return False
    if os.path.exists(os.path.join(cdir, "exit.json")):
        return False        # the C monitor recorded a normal exit; Python finishes it
    return not (processes.alive(st.get("Pid") or 0, st.get("PidStartTime"))
                or processes.alive(st.get("ShimPid") or 0, None))


def is_boot(containers_dir: str) -> bool:
    """Is this daemon/agent start a "boot" of the state root? Yes when the
    kernel was rebooted since the last look, or when some container was taken
    down with its monitor (every glassbox process of the root killed). An agent
    that merely idled out and starts again is not: its containers' monitors live."""
    import os
    try:
        with open(os.path.join(containers_dir, BOOT_FILE)) as f:
            seen = f.read().strip()
    except OSError:
        seen = ""
    boot_id = _kernel_boot_id()
    if seen and boot_id and seen != boot_id:
        return True
    try:
        names = [n for n in os.listdir(containers_dir) if not n.startswith(".")]
    except OSError:
        return False
    return any(_taken_down(os.path.join(containers_dir, n)) for n in names)


def _remember_boot(containers_dir: str) -> None:
    import os
    from .._files import write_bytes
    try:
        write_bytes(os.path.join(containers_dir, BOOT_FILE), (_kernel_boot_id() + "\n").encode())
    except OSError:
        pass


def restore_after_boot(containers) -> list[str]:
    """Called when the daemon or the agent starts: if this is a boot of the state
    root (:func:`is_boot`), start the containers their policy brings back and
    return their ids; otherwise do nothing. ``containers`` is a
    :class:`~.manager.ContainerManager`.

    A container whose state still says running while its process and monitor
    are gone is first marked exited by the manager's reconcile; its stale cgroup
    and network endpoints are released; then it starts afresh, like any other."""
    if not is_boot(containers.dir):
        _remember_boot(containers.dir)
        return []
    started = []
    for c in containers.list():          # reconciles: taken-down containers read exited
        if c.running or c.status == "restarting":
            continue
        if not wants_boot_start(c.config, c.state):
            continue
        try:
            containers.release_leftovers(c)
            containers.start(c.id).detach()
        except Exception:  # noqa: BLE001 — one broken container must not keep the rest down
            continue
        started.append(c.id)
    _remember_boot(containers.dir)
    return started
