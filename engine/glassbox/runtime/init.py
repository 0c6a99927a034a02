"""The container's first moments: from a forked child to the user's command.

Runs in the child the shim forked — already pid 1 of a new PID namespace,
already in the container's cgroup. In order (after reading, for ``--link`` on the
default bridge, Docker's link variables from the state root: :func:`link_env`):

1. ``unshare`` the mount, UTS, IPC, network and cgroup namespaces
   (the cgroup namespace last-but-not-least: after joining the cgroup, so the
   container sees its own cgroup as ``/``);
2. bring up loopback in the fresh network stack; set the hostname;
3. build the root filesystem and ``pivot_root`` into it (:mod:`glassbox.rootfs`);
4. resolve the user from the image's own ``/etc/passwd``;
5. find the command in ``$PATH`` — 127 if missing, 126 if not executable;
6. drop capabilities to Docker's default set, set no_new_privs, switch user;
7. install the seccomp filter (Docker's default profile: ``mount``, ``unshare``,
   ``add_key``, ``bpf``, ``io_uring_setup``... answer ``EPERM``);
8. ``execve``. From here on the container *is* the user's process.

Two guards span the whole sequence (runc's two big CVEs). From its first
instruction the child is *non-dumpable*, so a container process cannot open
``/proc/<pid>/exe`` of this host-side Python and overwrite it (CVE-2019-5736);
``execve`` makes the user's program dumpable again, as for any exec. And no
host fd reaches the command (CVE-2024-21626): the working directory is entered
from ``/`` of the new root and checked to be inside it (a ``-w
/proc/self/fd/N`` through a leaked directory fd would land on the host), and
right before ``execve`` every fd above 2 is made close-on-exec
(:func:`seal_for_exec`).

Any failure is written as one JSON line to ``err_fd`` (close-on-exec, so a
successful exec closes it with nothing written) and the child exits with
Docker's code for it.
"""

from __future__ import annotations

import fcntl
import json
import os
import signal
import socket
import stat
import sys
import termios

from .. import namespaces
from .._sys import constants as _constants  # noqa: F401 — namespaces.create reads it
from .._sys.constants import CAP_NUMBER, CLOSE_RANGE_CLOEXEC, FD_MAX
from ..errors import ContainerExit, GlassboxError
from ..rootfs.setup import build_rootfs
from .spec import ProcessSpec

# Nothing may be imported lazily below: after pivot_root the host's Python
# library is no longer reachable from this process.



class User:
    """uid, gid, supplementary groups and home of the process user."""

    def __init__(self, uid: int, gid: int, groups: list[int], home: str):
        self.uid, self.gid, self.groups, self.home = uid, gid, groups, home


def _read_db(path: str) -> list[list[str]]:
    try:
        with open(path) as f:
            return [line.rstrip("\n").split(":") for line in f if line.strip() and
                    not line.startswith("#")]
    except OSError:
        return []


def resolve_user(user: str, passwd: str = "/etc/passwd", group: str = "/etc/group") -> User:
    """``-u``/``USER``: ``name``, ``uid``, ``name:group``, ``uid:gid`` — names are
    looked up in the *container's* /etc/passwd and /etc/group, as Docker does."""
    name, _, grp = (user or "0").partition(":")
    users = _read_db(passwd)
    entry = next((u for u in users if len(u) >= 7 and (u[0] == name or u[2] == name)), None)
    if entry:
        uid, gid, home = int(entry[2]), int(entry[3]), entry[5]
    elif name.isdigit():
        uid, gid, home = int(name), int(name) if name == "0" else 0, "/"
        if uid == 0:
            home = "/root"
    else:
        raise ContainerExit(f"unable to find user {name}: no matching entries in passwd file",
                            126)
    groups_db = _read_db(group)
    if grp:
        g = next((g for g in groups_db if len(g) >= 3 and (g[0] == grp or g[2] == grp)), None)
        if g:
            gid = int(g[2])
        elif grp.isdigit():
            gid = int(grp)
        else:
            raise ContainerExit(f"unable to find group {grp}: no matching entries in group file",
                                126)
    uname = entry[0] if entry else None
    supp = sorted({int(g[2]) for g in groups_db if len(g) >= 4 and uname and
                   uname in g[3].split(",")} - {gid})
    return User(uid, gid, supp, home)


def find_executable(cmd: str, path_var: str) -> str:
    """Look ``cmd`` up like execvp, but with Docker's exit codes for failures."""
    if "/" in cmd:
        candidates = [cmd]
    else:
        candidates = [os.path.join(d or ".", cmd) for d in path_var.split(":")]
    denied = None
    for cand in candidates:
        try:
            st = os.stat(cand)
        except OSError:
            continue
        if stat.S_ISDIR(st.st_mode):
            denied = denied or cand
            continue
        if os.access(cand, os.X_OK):
            return cand
        denied = denied or cand
    if denied:
        raise ContainerExit(f'exec: "{cmd}": permission denied', 126)
    if "/" in cmd:
        raise ContainerExit(f'exec: "{cmd}": stat {cmd}: no such file or directory', 127)
    raise ContainerExit(f'exec: "{cmd}": executable file not found in $PATH', 127)


def drop_privileges(sys_, caps: list[str], user: User, no_new_privs: bool) -> None:
    """Keep only ``caps`` (bounding, permitted, effective), then become ``user``.

    A capability outside our own bounding set cannot be granted back, so ``caps`` is
    cut to it first: ``--privileged`` means "every capability this host lets us hold",
    as Docker's does, even where a sandbox has removed some from the host's set.
    """
    keep = sys_.drop_bounding_caps({CAP_NUMBER[c] for c in caps if c in CAP_NUMBER})
    try:
        os.setgroups(user.groups)
    except PermissionError:
        # a rootless single-id map denies setgroups: the image's supplementary groups
        # cannot be had there (glassbox info says so); anything else is an error
        if not _setgroups_denied():
            raise
    try:
        os.setgid(user.gid)
    except OSError as e:
        if e.errno != 22:
            raise
        raise ContainerExit(_unmapped("gid", user.gid), 125) from None
    if user.uid == 0:
        sys_.capset(keep, keep, set())
    if no_new_privs:
        sys_.set_no_new_privs()
    try:
        os.setuid(user.uid)
    except OSError as e:
        if e.errno != 22:
            raise
        raise ContainerExit(_unmapped("uid", user.uid), 125) from None


def _setgroups_denied() -> bool:
    """A rootless single-id map: ``/proc/self/setgroups`` says ``deny``."""
    try:
        with open("/proc/self/setgroups") as f:
            return f.read().strip() == "deny"
    except OSError:
        return False


def _unmapped(what: str, value) -> str:
    """EINVAL from setuid/setgid in a user namespace: the id is not mapped."""
    return (f"cannot switch to {what} {value}: it is not mapped in this rootless container's "
            "user namespace (a single-id map has only root: the user has no entry in "
            "/etc/subuid and /etc/subgid, or newuidmap cannot run). As root, "
            "`glassbox system setup-user USER` adds subordinate ids; or run as -u 0")


def enter_workdir(path: str | None, create: bool = False) -> None:
    """``chdir`` to the command's working directory — and prove it is inside the
    container's root.

    The host cwd is never inherited: we start from ``/`` (the container's, after
    pivot_root or setns) and resolve ``path`` to a plain path first, so a magic
    link such as ``/proc/self/fd/7`` (a host directory fd still open until exec)
    cannot be followed to create or enter a host directory. A cwd that is not
    reachable from our root makes ``getcwd`` fail (the kernel's "(unreachable)"):
    that is refused rather than handed to the command."""
    os.chdir("/")
    target = os.path.realpath(path or "/")
    if create:
        os.makedirs(target, exist_ok=True)
    os.chdir(target)
    try:
        here = os.getcwd()
    except OSError:
        here = ""
    if not here.startswith("/"):
        raise ContainerExit(f"working directory {path!r} is outside the container's root "
                            "(possible container breakout): use a path inside the image", 126)


def seal_for_exec(sys_, seccomp: tuple[bytes, int] | None = None) -> None:
    """The last step before ``execve``: non-dumpable once more (a uid change may
    have reset it to ``fs.suid_dumpable``) and every fd above 2 close-on-exec, so
    whatever the shim or its caller had open dies with this program image.

    Then, last of all, the seccomp filter (``(program, flags)`` compiled by the
    shim before pivot_root: :mod:`glassbox.seccomp`). Last, because from here on
    every syscall — ours too — goes through it: set-up calls such as ``mount``,
    ``sethostname`` or ``capset`` are done, and only what Docker's profile allows
    (``execve``, ``fork`` for ``--init``, ``wait4``...) is left. It relies on
    no_new_privs, set by :func:`drop_privileges` for every filtered container."""
    sys_.set_dumpable(False)
    sys_.close_range(3, FD_MAX, CLOSE_RANGE_CLOEXEC)
    if seccomp is not None:
        sys_.seccomp_set_filter(*seccomp)


def enter_namespaces(sys_, spec: ProcessSpec) -> None:
    """The container's own namespaces (:func:`glassbox.namespaces.create`), then what
    is new in them set up: loopback up, the hostname."""
    namespaces.create(sys_, spec.namespaces, spec.netns_path)
    if "net" in spec.namespaces and not spec.netns_path:
        sys_.set_link_up("lo")
    if "uts" in spec.namespaces and spec.hostname:
        sys_.sethostname(spec.hostname)


def tiny_init(pid: int) -> None:
    """``--init``: stay as pid 1, forward signals to the command, reap orphans,
    and exit with the command's status."""

    def forward(signum, _frame):
        try:
            os.kill(pid, signum)
        except ProcessLookupError:
            pass
    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP, signal.SIGQUIT,
                signal.SIGUSR1, signal.SIGUSR2, signal.SIGWINCH):
        signal.signal(sig, forward)
    while True:
        try:
            done, status = os.wait()
        except ChildProcessError:
            os._exit(0)
        except InterruptedError:
            continue
        if done == pid:
            os._exit(os.waitstatus_to_exitcode(status) if os.WIFEXITED(status)
                     else 128 + os.WTERMSIG(status))


def reset_signals() -> None:
    """Every signal back to its default before exec. An *ignored* signal survives
    exec (Python itself ignores SIGPIPE and SIGXFSZ; the shim ignores SIGINT), and
    a shell cannot even ``trap`` a signal it started with ignored."""
    for sig in signal.valid_signals():
        if sig in (signal.SIGKILL, signal.SIGSTOP):
            continue
        try:
            signal.signal(sig, signal.SIG_DFL)
        except (OSError, ValueError):
            pass


def open_console(console_fd: int) -> None:
    """Allocate the container's terminal from *its own* devpts (so ``tty`` and
    ``ttyname`` work inside), make it our stdio and controlling terminal, and
    send the master side to the shim."""
    master, slave = os.openpty()
    for target in (0, 1, 2):
        os.dup2(slave, target)
    os.close(slave)
    sock = socket.socket(fileno=console_fd)
    socket.send_fds(sock, [b"M"], [master])
    sock.close()
    os.close(master)
    os.setsid()
    fcntl.ioctl(0, termios.TIOCSCTTY, 0)


def link_env(spec: ProcessSpec) -> list[str]:
    """Docker's legacy ``--link`` variables (:mod:`glassbox.network.links`) of a
    container on the default bridge: worked out at each start from the state root,
    so before ``pivot_root`` (the one import here that may be lazy: the host's
    library is still reachable). ``[]`` without links, at no cost."""
    if not spec.links or spec.network_mode != "bridge":
        return []
    from ..network.links import container_env
    cdir = os.path.dirname(spec.upper_dir)            # <root>/containers/<id>
    with open(os.path.join(cdir, "config.json")) as f:
        config = json.load(f)
    return container_env(os.path.dirname(os.path.dirname(cdir)), config)


def with_links(env: list[str], links: list[str]) -> list[str]:
    """The link variables, then the container's own env — which wins on a clash, as
    dockerd's ``ReplaceOrAppendEnvValues`` of ``Config.Env`` over them."""
    own = {e.partition("=")[0] for e in env}
    return [e for e in links if e.partition("=")[0] not in own] + list(env)


def child_main(spec: ProcessSpec, sync_fd: int, err_fd: int, sys_=None,
               console_fd: int | None = None, netns_fd: int | None = None,
               seccomp: tuple[bytes, int] | None = None,
               dumpable_until_wired: bool = False) -> None:
    """Never returns: execs the command or exits with Docker's error code.

    ``dumpable_until_wired`` (rootless, in the per-user network namespace's user
    namespace): the shim must open our ``/proc/<pid>/ns/net`` to wire the veth,
    and with no ``CAP_SYS_PTRACE`` over the host it may only do so while we are
    dumpable. We stay so until wired — before any container process exists, and
    container root is the user, who may not write the host's binaries anyway —
    then become non-dumpable as always."""
    if sys_ is None:
        from .._sys import real as sys_
    code = 125
    try:
        # before any container process can see us (see dumpable_until_wired)
        sys_.set_dumpable(dumpable_until_wired and netns_fd is not None)
        os.read(sync_fd, 1)          # wait until the shim has put us in our cgroup
        links = link_env(spec)       # --link on the bridge: read while the host is here
        enter_namespaces(sys_, spec)
        if netns_fd is not None:     # our network namespace exists: let the shim wire it
            os.write(netns_fd, b"1")  # while we build the rootfs (/etc/hosts is
            os.close(netns_fd)        # rewritten in place, so it may come later)
        build_rootfs(sys_, spec)
        if netns_fd is not None:
            os.read(sync_fd, 1)      # wired: eth0 is up before the command starts
            sys_.set_dumpable(False)
        os.close(sync_fd)
        user = resolve_user(spec.user)
        env = with_links(spec.env, links)
        if not any(e.startswith("HOME=") for e in env):
            env.append(f"HOME={user.home}")
        if not any(e.startswith("HOSTNAME=") for e in env) and spec.hostname:
            env.append(f"HOSTNAME={spec.hostname}")
        enter_workdir(spec.cwd, create=True)
        path_var = next((e[5:] for e in env if e.startswith("PATH=")), "")
        exe = find_executable(spec.args[0], path_var)
        if console_fd is not None:
            open_console(console_fd)
        drop_privileges(sys_, spec.caps, user, spec.no_new_privs)
        seal_for_exec(sys_, seccomp)
        if spec.init:
            pid = os.fork()
            if pid:
                os.close(err_fd)
                tiny_init(pid)
        os.execve(exe, spec.args, dict(e.split("=", 1) for e in env))
    except ContainerExit as e:
        code, msg = e.exit_code, e.message
    except GlassboxError as e:
        msg = e.message
    except OSError as e:
        code = 126 if e.errno in (13, 8) else 127 if e.errno == 2 else 125
        msg = f'exec: "{spec.args[0]}": {e.strerror}'
    except BaseException as e:  # noqa: BLE001 — report anything, never fall back into the shim
        msg = f"container init failed: {type(e).__name__}: {e}"
    try:
        os.write(err_fd, json.dumps({"error": msg, "code": code}).encode())
    finally:
        os._exit(code)


if __name__ == "__main__":  # pragma: no cover
    sys.exit("glassbox.runtime.init is started by the shim, not by hand")
