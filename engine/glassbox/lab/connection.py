"""Which engine the lab panel talks to, and whether it answers.

The panel is a front end like the CLI, so it finds its engine the way the CLI
does: ``GLASSBOX_HOST`` (or Docker's ``DOCKER_HOST`` convention) names a glassbox
daemon, reached with :class:`~glassbox.daemon.client.RemoteEngine`; otherwise it
opens the local state root (``GLASSBOX_ROOT``, default ``/var/lib/glassbox``, or a
rootless user's ``~/.local/share/glassbox``) with
:class:`~glassbox.engine.Engine`, the same one a notebook kernel on this machine
uses. :func:`probe` answers "is it there?" with a :class:`Reachability` the panel
shows as it is — what is wrong and the command that fixes it — instead of a blank
panel.
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass


@dataclass(frozen=True)
class Target:
    """Where the engine is: a local state root or a daemon's address."""

    kind: str          # "local" | "daemon"
    address: str       # the state root's path, or the daemon's unix:// / tcp:// URL
    via: str           # what chose it: "GLASSBOX_ROOT", "default", "GLASSBOX_HOST", "DOCKER_HOST"

    def as_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class Reachability:
    ok: bool
    error: str = ""
    fix: str = ""

    def as_dict(self) -> dict:
        return asdict(self)


def choose(env: dict | None = None) -> Target:
    """The engine the environment names (pure: reads ``env``, touches nothing)."""
    from ..engine import DEFAULT_ROOT
    env = os.environ if env is None else env
    for var in ("GLASSBOX_HOST", "DOCKER_HOST"):
        if env.get(var):
            return Target("daemon", env[var], var)
    if env.get("GLASSBOX_ROOT"):
        return Target("local", os.path.abspath(env["GLASSBOX_ROOT"]), "GLASSBOX_ROOT")
    if os.geteuid() != 0:       # a rootless user's own, ~/.local/share/glassbox (issue 14)
        from ..rootless.paths import state_root
        return Target("local", state_root(env), "default")
    return Target("local", DEFAULT_ROOT, "default")


def open_engine(target: Target, cgroup_parent: str | None = None):
    """An Engine (local) or RemoteEngine (daemon) for ``target``, or None when a local
    root cannot be opened. Opening a daemon does not connect yet; :func:`probe` does."""
    if target.kind == "daemon":
        from ..daemon.client import RemoteEngine
        return RemoteEngine(target.address)
    from ..engine import Engine
    try:
        if target.via == "default" and os.geteuid() != 0:
            from ..rootless.paths import state_root
            state_root(create=True)             # made 0700, as the CLI makes it
        return Engine(target.address, cgroup_parent=cgroup_parent)
    except OSError:             # not a directory, not creatable: probe() says so
        return None


def probe(eng, target: Target) -> Reachability:
    """Can the engine be read right now? Never raises. ``eng`` is None when it could
    not even be opened (a state root that is a file, or cannot be created)."""
    from ..errors import GlassboxError
    if target.kind == "local" and (eng is None or not os.path.isdir(target.address)):
        return Reachability(False, f"the state root {target.address} is not a directory this "
                            "server can open",
                            "point GLASSBOX_ROOT at a directory (glassbox creates it), then "
                            "restart JupyterLab")
    if target.kind == "local":
        cdir = os.path.join(target.address, "containers")
        where = cdir if os.path.isdir(cdir) else target.address
        if not os.access(where, os.R_OK | os.X_OK):
            return Reachability(False, f"the state root {where} cannot be read by this server "
                                f"(uid {os.geteuid()})",
                                "start JupyterLab as the user that owns the state root (root for "
                                "/var/lib/glassbox), or point GLASSBOX_ROOT at a root you own")
        return Reachability(True)
    try:
        eng.version()
        return Reachability(True)
    except (GlassboxError, OSError) as e:
        return Reachability(False, f"the glassbox daemon at {target.address} does not answer: {e}",
                            f"start the daemon (`glassbox daemon --socket PATH`) or unset "
                            f"{target.via} to use the local state root")
