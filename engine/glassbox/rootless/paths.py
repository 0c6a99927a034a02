"""Where a rootless user's glassbox keeps its state and its sockets.

Root keeps one state root for the machine, ``/var/lib/glassbox``. An ordinary
user gets their own, following the XDG base directory spec as podman does:

* state (images, layers, containers, volumes): ``$XDG_DATA_HOME/glassbox``,
  by default ``~/.local/share/glassbox`` — it survives logging out;
* runtime files (the daemon's socket): ``$XDG_RUNTIME_DIR/glassbox``
  (``/run/user/<uid>``, made by the login manager, gone at logout). Without
  ``XDG_RUNTIME_DIR`` a private directory ``/tmp/glassbox-<uid>`` is used —
  created ``0700`` and refused if someone else made it first or it is not
  private (``/tmp`` is shared: a name another user pre-created must never be
  trusted with our sockets).

Everything here is pure or touches only the directories it names, so it is
unit-tested with a fake environment.
"""

from __future__ import annotations

import os
import stat

from ..errors import InvalidArgument

ROOT_STATE = "/var/lib/glassbox"
ROOT_DAEMON_SOCKET = "/run/glassbox.sock"


def _home(env, uid: int) -> str:
    home = env.get("HOME")
    if home:
        return home
    import pwd
    try:
        return pwd.getpwuid(uid).pw_dir
    except KeyError:
        raise InvalidArgument(f"uid {uid} has no HOME and no passwd entry: set HOME or "
                              "GLASSBOX_ROOT to choose a state root") from None


def state_root(env=None, uid: int | None = None, *, create: bool = False) -> str:
    """The default state root: ``/var/lib/glassbox`` for root, else the user's
    ``$XDG_DATA_HOME/glassbox`` (``~/.local/share/glassbox``). ``create``
    makes it ``0700``: homes are often world-readable, and container configs
    hold environment variables (secrets) other users must not read."""
    env = os.environ if env is None else env
    uid = os.geteuid() if uid is None else uid
    if uid == 0:
        return ROOT_STATE
    data = env.get("XDG_DATA_HOME")
    if not data or not os.path.isabs(data):   # the spec: a relative value is ignored
        data = os.path.join(_home(env, uid), ".local", "share")
    path = os.path.join(data, "glassbox")
    if create and not os.path.isdir(path):
        os.makedirs(data, exist_ok=True)
        try:
            os.mkdir(path, 0o700)
        except FileExistsError:
            pass
    return path


def runtime_dir(env=None, uid: int | None = None, *, create: bool = True,
                tmp: str = "/tmp") -> str:
    """The user's runtime directory for glassbox (sockets), made if missing.

    ``$XDG_RUNTIME_DIR/glassbox`` when set (and absolute); otherwise
    ``/tmp/glassbox-<uid>``, which must be ours and ``0700``."""
    env = os.environ if env is None else env
    uid = os.geteuid() if uid is None else uid
    base = env.get("XDG_RUNTIME_DIR")
    if base and os.path.isabs(base):
        if not os.path.isdir(base):
            raise InvalidArgument(f"XDG_RUNTIME_DIR={base} does not exist: log in again (the "
                                  "login manager makes it) or unset it to use "
                                  f"{tmp}/glassbox-{uid}")
        path = os.path.join(base, "glassbox")
        if create:
            os.makedirs(path, mode=0o700, exist_ok=True)
        return path
    path = os.path.join(tmp, f"glassbox-{uid}")
    if create:
        try:
            os.mkdir(path, 0o700)
        except FileExistsError:
            pass
        check_private(path, uid)
    return path


def check_private(path: str, uid: int) -> None:
    """Refuse ``path`` unless it is a real directory owned by ``uid``, mode 0700."""
    st = os.lstat(path)
    if not stat.S_ISDIR(st.st_mode) or st.st_uid != uid or st.st_mode & 0o077:
        raise InvalidArgument(
            f"{path} is not a private directory of uid {uid} (owner {st.st_uid}, mode "
            f"{stat.filemode(st.st_mode)}): someone else may have made it. Remove it, or set "
            "XDG_RUNTIME_DIR to a directory of yours")


def daemon_socket(env=None, uid: int | None = None) -> str:
    """The daemon's default socket: ``/run/glassbox.sock`` for root, else
    ``$XDG_RUNTIME_DIR/glassbox/glassbox.sock`` (``DOCKER_HOST=unix://...``)."""
    uid = os.geteuid() if uid is None else uid
    if uid == 0:
        return ROOT_DAEMON_SOCKET
    return os.path.join(runtime_dir(env, uid), "glassbox.sock")
