"""``glassbox exec``: one more process inside a running container.

There is no magic "enter container" call: the new process joins each of the
container's namespaces with ``setns(2)`` on the files in ``/proc/<pid>/ns/``
(the same files notebook 01 compares), joins its cgroup, then — because a
new PID namespace only applies to *children* — forks once more so the command
gets a pid inside the container. It gets the container's environment,
capabilities, no_new_privs and seccomp filter, and ``-u``/``-w``/``-e`` on top.

Like the container's init it is non-dumpable from before its first ``setns``
until ``execve`` (its ``/proc/<pid>/exe`` is the host's Python), enters its
working directory from the container's ``/`` and checks it is inside, and
reaches ``execve`` with every fd above 2 close-on-exec (see
:mod:`glassbox.runtime.init`).
"""

from __future__ import annotations

import json
import os
import sys

def exec_in(container, argv: list[str], *, env: list[str] = (), workdir: str | None = None,
            user: str | None = None, tty: bool = False, interactive: bool = False,
            privileged: bool = False, detach: bool = False, stdio: tuple | None = None) -> int:
    """Run ``argv`` in ``container``; returns its exit code (0 when detached)."""
    from ..errors import Conflict, InvalidArgument
    if not container.running:
        raise Conflict(f"Container {container.id} is not running")
    if container.status == "paused":
        raise Conflict(f"Container {container.id} is paused, unpause the container before exec")
    if not argv:
        raise InvalidArgument("exec needs a command to run")
    if len(os.listdir("/proc/self/task")) != 1:
        return _exec_via_fresh_process(container, argv, env=list(env), workdir=workdir,
                                       user=user, tty=tty, interactive=interactive,
                                       privileged=privileged, detach=detach)
    spec = container.config["Spec"]
    pid = container.pid
    from .. import namespaces
    ns_fds = []
    userns_at = ""          # where the user namespace goes in the order, if joined
    if os.geteuid() != 0:   # rootless (issue 14): the container's user namespace comes first
        from ..rootless.userns import in_other_userns
        if in_other_userns(pid):
            userns_at = "first"
    elif spec.get("userns") == "private":   # rootful --userns=private: last, as host root
        userns_at = "last"                  # may still join the others (rootless/private.py)
    for ns in namespaces.join_order(spec["namespaces"], userns_at):
        try:
            ns_fds.append((ns, os.open(f"/proc/{pid}/ns/{ns}", os.O_RDONLY | os.O_CLOEXEC)))
        except FileNotFoundError:
            for _, fd in ns_fds:
                os.close(fd)
            raise Conflict(f"Container {container.id} is not running") from None
    err_r, err_w = os.pipe2(os.O_CLOEXEC)
    console_parent = console_child = None
    if detach:
        tty = interactive = False   # `exec -d`: nobody is there to talk to
    if tty:
        # the terminal is opened *inside* the container's devpts (so `tty` can name
        # it), then its master side is handed back to us over this socket
        import socket
        console_parent, console_child = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
    in_fd, out_fd, err_fd = stdio or (0, 1, 2)
    child = os.fork()
    if child == 0:
        code = 125
        try:
            os.close(err_r)
            if detach:
                # `exec -d`: the process lives on its own (a new session, its output
                # to /dev/null); the caller returns as soon as it runs, and still
                # hears about a failure to start it (err_w closes at its execve)
                os.setsid()
                if os.fork():
                    os._exit(0)
                null = os.open("/dev/null", os.O_RDWR)
                # let go of the caller's pipes and sockets (its `$(...)` must end):
                # every other fd becomes /dev/null — overwritten, not closed, so a
                # Python object that still owns a number can never close a reused one
                keep = {null, err_w} | {fd for _, fd in ns_fds}
                for name in os.listdir("/proc/self/fd"):
                    if int(name) not in keep:
                        try:
                            os.dup2(null, int(name))
                        except OSError:
                            pass
                in_fd, out_fd, err_fd = 0, 1, 2
            if tty:
                console_parent.close()
            else:
                if not interactive:
                    null = os.open("/dev/null", os.O_RDONLY)
                    os.dup2(null, 0)
                else:
                    os.dup2(in_fd, 0)
                os.dup2(out_fd, 1)
                os.dup2(err_fd, 2)
            code = _enter_and_exec(container, spec, ns_fds, argv, list(env), workdir, user,
                                   console_child.fileno() if tty else None, privileged, err_w)
        except BaseException as e:  # noqa: BLE001
            try:
                os.write(err_w, json.dumps({"error": str(e), "code": 125}).encode())
            except OSError:
                pass
        finally:
            os._exit(code)
    os.close(err_w)
    for _, fd in ns_fds:
        os.close(fd)
    if tty:
        import socket
        console_child.close()
        try:
            _, fds, _, _ = socket.recv_fds(console_parent, 16, 1)
        except OSError:
            fds = []
        console_parent.close()
        if fds:
            _relay_tty(fds[0], child, in_fd if interactive else None, out_fd)
    _, status = os.waitpid(child, 0)
    code = os.WEXITSTATUS(status) if os.WIFEXITED(status) else 128 + os.WTERMSIG(status)
    if detach:
        code = 0
    err = b""
    while chunk := os.read(err_r, 65536):
        err += chunk
    os.close(err_r)
    if err:
        from ..errors import ContainerExit
        info = json.loads(err)
        raise ContainerExit(info["error"], info["code"])
    return code


def _enter_and_exec(container, spec, ns_fds, argv, env, workdir, user, console_fd,
                    privileged, err_w) -> int:
    """In the first child: join cgroup + namespaces, fork into the pid ns, exec."""
    from .._sys import real as sys_
    from .._sys.constants import CAPS
    from ..cgroups import open_cgroup
    from .init import (ContainerExit, drop_privileges, enter_workdir, find_executable,
                       open_console, reset_signals, resolve_user, seal_for_exec)
    from .spec import container_field, merge_env
    sys_.set_dumpable(False)   # inherited by the child forked into the pid namespace
    seccomp = None             # the container's filter, from the cache, before we leave the host
    if spec.get("seccomp", "default") != "unconfined" and \
            not container_field(container.config, "privileged"):
        from ..seccomp import program_for
        seccomp = program_for(spec.get("seccomp", "default"), spec["caps"],
                              os.path.dirname(os.path.dirname(container.dir)))
    cg = open_cgroup(container.id, parent=container.config["CgroupParent"])
    cg.add(os.getpid())
    links = []                 # --link on the bridge: Docker's variables, as at the start
    if container_field(container.config, "links"):
        from ..network.links import container_env
        links = container_env(os.path.dirname(os.path.dirname(container.dir)),
                              container.config, strict=False)
    from .. import namespaces
    namespaces.join(sys_, container.pid, ns_fds)
    pid = os.fork()
    if pid:
        os.close(err_w)   # only the process itself reports; the caller hears EOF at its execve
        _, status = os.waitpid(pid, 0)
        return os.WEXITSTATUS(status) if os.WIFEXITED(status) else 128 + os.WTERMSIG(status)
    code = 125
    try:
        u = resolve_user(user if user is not None else spec.get("user", ""))
        full_env = merge_env(links + spec["env"], env)
        if not any(e.startswith("HOME=") for e in full_env):
            full_env.append(f"HOME={u.home}")
        enter_workdir(workdir or spec.get("cwd") or "/")
        path_var = next((e[5:] for e in full_env if e.startswith("PATH=")), "")
        exe = find_executable(argv[0], path_var)
        if console_fd is not None:
            open_console(console_fd)
        drop_privileges(sys_, list(CAPS) if privileged else spec["caps"], u,
                        spec.get("no_new_privs", True))
        reset_signals()
        seal_for_exec(sys_, seccomp)
        os.execve(exe, argv, dict(e.split("=", 1) for e in full_env))
    except ContainerExit as e:
        code, msg = e.exit_code, e.message
    except OSError as e:
        code = 126 if e.errno in (13, 8) else 127
        msg = f'exec: "{argv[0]}": {e.strerror}'
    except BaseException as e:  # noqa: BLE001
        msg = f"exec failed: {e}"
    os.write(err_w, json.dumps({"error": msg, "code": code}).encode())
    os._exit(code)


def _relay_tty(master: int, child: int, in_fd: int | None, out_fd: int) -> None:
    import select
    import termios
    import tty as ttymod
    saved = None
    if in_fd is not None and os.isatty(in_fd):
        saved = termios.tcgetattr(in_fd)
        ttymod.setraw(in_fd)
    try:
        while True:
            fds = [master] + ([in_fd] if in_fd is not None else [])
            ready, _, _ = select.select(fds, [], [])
            if master in ready:
                try:
                    data = os.read(master, 65536)
                except OSError:
                    data = b""
                if not data:
                    break
                os.write(out_fd, data)
            if in_fd is not None and in_fd in ready:
                data = os.read(in_fd, 65536)
                if not data:
                    in_fd = None
                else:
                    os.write(master, data)
    finally:
        if saved is not None:
            termios.tcsetattr(0, termios.TCSADRAIN, saved)
        os.close(master)


def _exec_via_fresh_process(container, argv, **kw) -> int:
    """From a multithreaded caller (a notebook kernel) setns/fork is unsafe: do
    the same in a fresh single-threaded interpreter."""
    import subprocess
    payload = json.dumps({"root": os.path.dirname(os.path.dirname(container.dir)),
                          "id": container.id, "argv": argv, "kw": kw})
    proc = subprocess.run([sys.executable, "-m", "glassbox.runtime.exec", payload],
                          stdin=None if kw.get("interactive") else subprocess.DEVNULL)
    return proc.returncode


def main() -> None:
    data = json.loads(sys.argv[1])
    from ..containers.manager import ContainerManager
    mgr = ContainerManager(data["root"], None)
    c = mgr.get(data["id"])
    sys.exit(exec_in(c, data["argv"], **data["kw"]))


if __name__ == "__main__":
    main()
