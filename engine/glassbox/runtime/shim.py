"""The per-container monitor ("shim"): the container's parent for its whole life.

The shim is started detached (its own session, reparented away from whoever
started it), so a container outlives the CLI, the notebook kernel or the
daemon that ran it. It works from the container's pure spec
(:class:`~glassbox.runtime.spec.ProcessSpec` in config.json), never from
Docker's ``HostConfig``.

The start is a straight line of named steps (``START_STEPS``). Each records
in one :class:`Undo` stack how to give back what it acquired; when a step
fails, the stack unwinds newest first and the failure is reported once
(state.json ``ExitCode``/``Error``, ``{"error", "code"}`` on the status pipe)::

    step                      acquires                  undone by
    _enter_user_namespace     (rootless) holder lock    closing the lock
    _compile_seccomp          -                         -
    _create_cgroup            the cgroup, limits        cg.destroy()
    _open_stdio               pipes / console socket    closing them
    _fork_init                the init child            SIGKILL + waitpid
    _join_cgroup              child in the cgroup,      (the cgroup's undo)
                              state "running"           (the failure report)
    _wire_network_step        veth, address, ports      _release_network()
    _wait_ready               init's error, or exec     -
        |
        +-- ok: {"pid": N} to the starter, then _serve():
              nobody attached: exec the C monitor (it calls finish_main at the exit)
              attached: copy stdout/stderr (or the pty) to the JSON-lines log and
              the terminal ourselves, wait, then finish()

:func:`finish` is the other teardown, the one of a container that ran: it
records ``ExitCode``, ``OOMKilled`` and ``FinishedAt``, removes the cgroup and
the network endpoints (and the whole container for ``--rm``), and sends
``{"exit": code}``; :func:`supervise` then carries out a restart policy.

It imports only what this path needs, to keep start-up and memory small.
"""

from __future__ import annotations

import fcntl
import json
import os
import select
import signal
import sys
import time

from .. import processes
from .._files import write_all

TYPE_CHECKING = False   # (typing.TYPE_CHECKING without importing typing on this path)
if TYPE_CHECKING:
    import socket
    from collections.abc import Callable

    from ..cgroups.manager import CgroupManager
    from .spec import ProcessSpec

STATUS_TIMEOUT = 30.0


def _now() -> str:
    from .._files import timestamp
    return timestamp()


def _send(fd: int | None, msg: dict) -> None:
    if fd is None:
        return
    try:
        os.write(fd, (json.dumps(msg) + "\n").encode())
    except OSError:
        pass  # the starter went away: the container goes on without it


class LogWriter:
    """Docker's json-file format: one ``{"log","stream","time"}`` object per line.

    With ``tty`` a partial line is written as it comes (its own entry, without a
    newline), as the C monitor's ``--tty`` does: a shell's prompt must reach the
    log — which ``attach`` follows — before the user types."""

    def __init__(self, path: str, tty: bool = False):
        self.fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_CLOEXEC, 0o640)
        self.partial: dict[str, bytes] = {}
        self.tty = tty

    def write(self, stream: str, data: bytes) -> None:
        buf = self.partial.get(stream, b"") + data
        lines = buf.split(b"\n")
        self.partial[stream] = lines.pop()
        if self.tty and self.partial[stream]:
            lines = [line + b"\n" for line in lines] + [self.partial.pop(stream)]
            now = _now()
            out = "".join(json.dumps({"log": line.decode("utf-8", "replace"),
                                      "stream": stream, "time": now}) + "\n" for line in lines)
            os.write(self.fd, out.encode())
            return
        if lines:
            now = _now()
            out = "".join(json.dumps({"log": line.decode("utf-8", "replace") + "\n",
                                      "stream": stream, "time": now}) + "\n" for line in lines)
            os.write(self.fd, out.encode())

    def close(self) -> None:
        for stream, rest in self.partial.items():
            if rest:
                os.write(self.fd, (json.dumps({"log": rest.decode("utf-8", "replace"),
                                               "stream": stream, "time": _now()}) + "\n").encode())
        os.close(self.fd)


def _write_all(fd: int | None, data: bytes) -> int | None:
    """Write to an attached terminal; on failure detach it (return None)."""
    if fd is None:
        return None
    try:
        write_all(fd, data)
        return fd
    except OSError:
        return None


class _StartFailed(Exception):
    """A start step failed. ``error`` and ``code`` go to state.json; ``told`` is
    the message the starter reads on the status pipe (by default the same)."""

    def __init__(self, error: str, code: int = 125, told: dict | None = None):
        super().__init__(error)
        self.error, self.code = error, code
        self.told = told if told is not None else {"error": error, "code": code}


def _why(e: BaseException) -> str:
    """A glassbox error's message, or any exception's text."""
    return getattr(e, "message", None) or str(e)


class Undo:
    """The start's one teardown, recorded as it goes (``contextlib.ExitStack``'s
    idea, without its import on this path).

    Each step pushes (:meth:`push`) how to give back what it has just acquired —
    *before* acquiring it when a half-done acquisition must be undone too (a cgroup
    whose limits failed). :meth:`unwind` runs the callbacks newest first, each once;
    one that fails does not stop the others. :meth:`forget` is success: the
    resources now belong to the running container."""

    def __init__(self) -> None:
        self.steps: list[tuple[str, Callable[..., object], tuple]] = []

    def push(self, what: str, fn, *args) -> None:
        self.steps.append((what, fn, args))

    def unwind(self) -> None:
        while self.steps:
            _, fn, args = self.steps.pop()
            try:
                fn(*args)
            except Exception:  # noqa: BLE001 — undo the rest regardless
                pass

    def forget(self) -> None:
        self.steps.clear()


class _Start:
    """What the start steps share: the container, its spec, and what has been
    acquired so far (the shim's own ends of the pipes in :attr:`fds`)."""

    def __init__(self, cdir: str, status_fd: int | None,
                 attach: tuple[int | None, int | None, int | None]):
        from ..cgroups.limits import Limits
        from ..containers import state as cstate
        from .spec import ProcessSpec
        self.cdir, self.status_fd = cdir, status_fd
        self.in_fd, self.out_fd, self.err_fd = attach
        self.config = cstate.read_json(os.path.join(cdir, "config.json"))
        self.spec = ProcessSpec.for_container(self.config)
        self.limits = Limits(**self.config["Limits"])
        self.rootless = os.geteuid() != 0
        self.wire = _needs_wiring(self.spec.network_mode)
        self.net_lock: int | None = None   # rootless: holds the netns holder up
        self.bound: list | None = None     # rootless: ports its holder bound for us
        self.seccomp: tuple[bytes, int] | None = None   # compiled filter for init
        self.cg: CgroupManager | None = None
        self.fds: set[int] = set()         # ours to close if the start fails
        self.child_stdio: tuple[int, ...] = ()
        self.readers: dict[int, str] = {}  # fd -> "stdout"/"stderr": what we log
        self.console_parent: socket.socket | None = None   # tty: the console socket pair
        self.console_child: socket.socket | None = None
        self.stdin_fifo: int | None = None   # tty + OpenStdin: the FIFO we copy to the pty
        self.sync_r = self.sync_w = self.err_r = self.err_w = -1
        self.netns_r = self.netns_w = -1
        self.pid = 0

    def pipe(self, flags: int = 0) -> tuple[int, int]:
        r, w = os.pipe2(flags) if flags else os.pipe()   # (os.pipe: not inheritable)
        self.fds.update((r, w))
        return r, w

    def close(self, fd: int) -> None:
        if fd in self.fds:
            self.fds.discard(fd)
            os.close(fd)

    def close_all(self) -> None:
        for fd in list(self.fds):
            self.close(fd)
        for sock in (self.console_parent, self.console_child):
            if sock is not None:
                sock.close()

    def release_net_lock(self) -> None:
        """Our endpoint is recorded (or will never be): the holder may stop."""
        if self.net_lock is not None:
            os.close(self.net_lock)
            self.net_lock = None


# ---- the start, step by step (each raises _StartFailed; run() undoes and reports)

def _enter_user_namespace(st: _Start, undo: Undo) -> None:
    """Rootless (issue 14): become root of our own user namespace first; it owns
    all the others. With a network, it is the per-user netns holder's one.
    Rootful ``--userns=private``: the namespaces are made for the child to join
    (:mod:`glassbox.rootless.private`); the shim itself stays host root."""
    if not st.rootless:
        if st.spec.userns == "private":
            from ..rootless.private import prepare, release
            undo.push("private user namespace", release)
            try:
                prepare(st.cdir, st.config, st.spec)
            except Exception as e:  # noqa: BLE001
                raise _StartFailed(_why(e)) from None
        return
    try:
        if st.wire:
            from ..rootless.netns import enter_for_network
            st.spec.userns, st.net_lock, st.bound = enter_for_network(st.cdir, st.spec)
            undo.push("netns holder lock", st.release_net_lock)
        else:
            from ..rootless.userns import enter_for_container
            st.spec.userns = enter_for_container(st.cdir)
    except Exception as e:  # noqa: BLE001
        raise _StartFailed(_why(e)) from None


def _compile_seccomp(st: _Start, undo: Undo) -> None:
    """The seccomp program, compiled (or read from the cache) here, while the host's
    library is still reachable; init installs it right before execve."""
    if st.spec.seccomp == "unconfined" or st.spec.privileged:
        return
    try:
        from ..seccomp import program_for
        st.seccomp = program_for(st.spec.seccomp, st.spec.caps,
                                 os.path.dirname(os.path.dirname(st.cdir)))
    except Exception as e:  # noqa: BLE001
        msg = _why(e)
        raise _StartFailed(msg, told={"error": f"seccomp: {msg}", "code": 125}) from None


def _create_cgroup(st: _Start, undo: Undo) -> None:
    """The container's cgroup with its device allow-list and limits, before any
    process is in it (the mknod escape: cgroups/devices.py)."""
    from ..cgroups import open_cgroup
    st.cg = cg = open_cgroup(st.config["Id"], parent=st.config["CgroupParent"])
    undo.push("cgroup", cg.destroy)      # first: a half-made cgroup goes too
    try:
        cg.create()
        # Docker's list plus --device/--device-cgroup-rule: v1 devices files, v2 eBPF
        if not st.spec.privileged and not st.rootless:  # rootless: the userns forbids mknod
            from ..cgroups.devices import container_rules
            cg.restrict_devices(container_rules(st.spec.devices, st.spec.device_cgroup_rules))
        cg.apply(st.limits)
    except Exception as e:  # noqa: BLE001
        raise _StartFailed(str(e), told={"error": f"cgroup setup failed: {e}",
                                         "code": 125}) from None


def _open_stdio(st: _Start, undo: Undo) -> None:
    """The container's stdio — a pty (opened by the child inside its own devpts and
    handed back over a socket, as runc's console socket) or pipes we log — and the
    pipes the child and the shim talk over: *sync* (go / network ready), *err*
    (init's failure, or EOF at a successful execve), *netns* (ready to be wired)."""
    undo.push("pipes", st.close_all)
    spec = st.spec
    if spec.tty:
        import socket
        st.console_parent, st.console_child = socket.socketpair(socket.AF_UNIX,
                                                                socket.SOCK_STREAM)
        null = os.open("/dev/null", os.O_RDWR)
        st.fds.add(null)
        st.child_stdio = (null, null, null)
        if spec.open_stdin:   # -it: whoever attaches later types through the FIFO
            from ..containers.stdin import open_for_monitor
            st.stdin_fifo = open_for_monitor(st.cdir)
            st.fds.add(st.stdin_fifo)
    else:
        out_r, out_w = st.pipe()
        err_r, err_w = st.pipe()
        if spec.open_stdin and st.in_fd is not None:
            cin = st.in_fd                       # the attached terminal: not ours to close
        else:
            if spec.open_stdin:                  # nobody attached: stdin stays open (-di)
                from ..containers.stdin import open_for_container
                cin = open_for_container(st.cdir)
            else:
                cin = os.open("/dev/null", os.O_RDONLY)
            st.fds.add(cin)
        st.child_stdio = (cin, out_w, err_w)
        st.readers = {out_r: "stdout", err_r: "stderr"}
    st.sync_r, st.sync_w = st.pipe()
    st.err_r, st.err_w = st.pipe(os.O_CLOEXEC)
    if st.wire:
        st.netns_r, st.netns_w = st.pipe()
    elif spec.network_mode.startswith("container:"):
        try:
            spec.netns_path = _container_netns(st.cdir, spec.network_mode)
        except Exception as e:  # noqa: BLE001
            raise _StartFailed(_why(e)) from None


def _fork_init(st: _Start, undo: Undo) -> None:
    """Fork the container's first process — pid 1 of a new PID namespace — which
    waits on *sync* until it is in the cgroup (:mod:`.init` does the rest)."""
    own_pidns = None
    if "pid" in st.spec.namespaces:
        from .. import namespaces
        from .._sys import CLONE_NEWPID, real
        if not st.rootless:   # (rootless: setns back to the host's pidns is not ours to do)
            own_pidns = os.open("/proc/self/ns/pid", os.O_RDONLY | os.O_CLOEXEC)
        namespaces.new_pid_namespace_for_child(real)   # our next child: pid 1 of a new one
    pid = os.fork()
    if pid == 0:  # ---- the container-to-be ----
        try:
            os.close(st.sync_w)
            os.close(st.err_r)
            for target, fd in enumerate(st.child_stdio):
                os.dup2(fd, target)
            keep = {0, 1, 2, st.sync_r, st.err_w}
            if st.netns_w >= 0:
                keep.add(st.netns_w)
            console = st.console_child.fileno() if st.console_child is not None else None
            if console is not None:
                keep.add(console)
            cloexec_others(keep)
            from .init import child_main, reset_signals
            reset_signals()
            child_main(st.spec, st.sync_r, st.err_w, console_fd=console,
                       netns_fd=st.netns_w if st.netns_w >= 0 else None, seccomp=st.seccomp,
                       dumpable_until_wired=st.net_lock is not None)
        finally:
            os._exit(125)
    # ---- the shim ----
    st.pid = pid
    undo.push("init process", _kill_and_reap, pid)
    if st.spec.userns == "private" and not st.rootless:   # the child has its copies
        from ..rootless.private import release
        release()
    if own_pidns is not None:
        # back to our own namespace for children: the kernel refuses new threads
        # (which the network code uses) while they differ
        real.setns(own_pidns, CLONE_NEWPID, "/proc/self/ns/pid")
        os.close(own_pidns)
    for fd in (st.sync_r, st.err_w, st.netns_w, *st.child_stdio):
        st.close(fd)                     # the child's ends (never the attached stdin)


def _kill_and_reap(pid: int) -> None:
    os.kill(pid, signal.SIGKILL)
    os.waitpid(pid, 0)


def _join_cgroup(st: _Start, undo: Undo) -> None:
    """Put the child in the cgroup, let it go on, and record it as running."""
    from ..containers import state as cstate
    try:
        st.cg.add(st.pid)  # type: ignore[union-attr]
    except Exception as e:  # noqa: BLE001
        raise _StartFailed(str(e), told={"error": f"cannot join cgroup: {e}",
                                         "code": 125}) from None
    os.write(st.sync_w, b"1")         # go: the child builds its rootfs while we write state
    _forget_early_exit(st.cdir)
    cstate.update_state(st.cdir, Status="running", Running=True, Pid=st.pid,
                        ShimPid=os.getpid(), PidStartTime=processes.start_time(st.pid),
                        StartedAt=_now(), ExitCode=0, Error="", OOMKilled=False,
                        FinishedAt="0001-01-01T00:00:00Z")


def _wire_network_step(st: _Start, undo: Undo) -> None:
    """Bridge or user network: once the child has its netns, wire it (veth, address,
    ports, /etc/hosts), then tell the child (``2``)."""
    if not st.wire:
        return
    from ..containers import state as cstate
    try:
        if os.read(st.netns_r, 1):    # empty: the child died early; its error follows
            undo.push("network", _release_network, st.cdir, st.config)  # a half-done one too
            try:
                settings = _wire_network(st.cdir, st.config, st.spec, st.pid, st.bound)
                cstate.update_state(st.cdir, NetworkSettings=settings)
            except Exception as e:  # noqa: BLE001
                raise _StartFailed(_why(e)) from None
            finally:
                st.release_net_lock()   # before any release: it may stop an idle holder
            try:
                os.write(st.sync_w, b"2")
            except BrokenPipeError:   # it failed building its rootfs: its error follows
                pass
    finally:
        st.release_net_lock()       # the child died before its netns was wired
        st.close(st.netns_r)


def _wait_ready(st: _Start, undo: Undo) -> None:
    """Wait until the command is exec'd: the *err* pipe ends empty (close-on-exec), or
    carries init's ``{"error", "code"}`` (126/127: Docker's codes). A pty comes first."""
    st.close(st.sync_w)
    if st.console_parent is not None:
        st.console_child.close()  # type: ignore[union-attr]
        master = _receive_console(st.console_parent, st.out_fd)
        st.console_parent.close()
        st.console_parent = st.console_child = None
        if master is not None:
            st.fds.add(master)
            st.readers = {master: "stdout"}
    err = b""
    while True:
        chunk = os.read(st.err_r, 65536)
        if not chunk:
            break
        err += chunk
    st.close(st.err_r)
    if err:
        info = json.loads(err)
        raise _StartFailed(info["error"], info["code"], told=info)


#: the start, in order; a failure in any undoes what the earlier ones did
START_STEPS = (_enter_user_namespace, _compile_seccomp, _create_cgroup, _open_stdio,
               _fork_init, _join_cgroup, _wire_network_step, _wait_ready)


def _report_failure(st: _Start, failed: _StartFailed) -> int:
    """The one report of a failed start: state.json, the starter, ``--rm``."""
    from ..containers import state as cstate
    cstate.update_state(st.cdir, Status="created", Running=False, Pid=0,
                        ExitCode=failed.code, Error=failed.error)
    _send(st.status_fd, failed.told)
    if st.spec.auto_remove:
        cstate.remove_container_dir(st.cdir)
    return failed.code


def run(cdir: str, status_fd: int | None, attach: tuple[int | None, int | None, int | None]) -> int:
    """The shim's whole life for the container in ``cdir``. Returns the exit code."""
    st = _Start(cdir, status_fd, attach)
    undo = Undo()
    try:
        for step in START_STEPS:
            step(st, undo)
    except _StartFailed as failed:
        undo.unwind()
        return _report_failure(st, failed)
    except BaseException:
        undo.unwind()           # shim_main reports it ("shim failed: ...")
        raise
    undo.forget()               # the container runs: what we hold is now its
    _send(status_fd, {"pid": st.pid})
    return _serve(st)


def _serve(st: _Start) -> int:
    """The running container: hand over to the C monitor when nobody is attached,
    else copy its output to the log and the terminal ourselves; then :func:`finish`.

    With a TTY, what the attacher sends (``in``) and what anyone writes into the
    stdin FIFO go into the pty master. When the attacher leaves — its output pipe
    has no reader any more (POLLERR), as after the CLI's detach keys or the end of
    the daemon's attach — we stop reading its input, give its fds back and hand
    the container over to the C monitor (the same pid; it keeps the pty master and
    the FIFO), so no Python process stays behind for a detached container."""
    cdir, config, spec, pid, cg = st.cdir, st.config, st.spec, st.pid, st.cg
    readers, out_fd, err_fd = st.readers, st.out_fd, st.err_fd
    tty_in = st.in_fd if spec.tty and spec.open_stdin else None
    fifo = st.stdin_fifo
    if out_fd is None and err_fd is None and tty_in is None:
        _detached_hand_over(st)        # returns only without a compiled monitor
    watcher = _watch_health(cdir, config, pid, cg) if config["Config"].get("Healthcheck") \
        else None
    log = LogWriter(os.path.join(cdir, "container.log"), tty=spec.tty)
    master = next(iter(readers), None) if spec.tty else None
    open_readers = dict(readers)
    poller = select.poll()
    for fd in open_readers:
        poller.register(fd, select.POLLIN)
    for extra in (tty_in, fifo):
        if extra is not None:
            poller.register(extra, select.POLLIN)
    attacher = out_fd if spec.tty else None
    if attacher is not None:
        poller.register(attacher, 0)      # only its POLLERR/POLLHUP: the reader is gone
    while open_readers:
        try:
            events = poller.poll()
        except InterruptedError:
            continue
        for fd, ev in events:
            if fd == attacher:
                if ev & (select.POLLERR | select.POLLHUP):
                    poller.unregister(fd)
                    attacher = out_fd = tty_in = None
                    _let_go_of_attacher(st, poller)
                    from .monitor import binary
                    if binary() is not None:
                        log.close()
                        if watcher is not None:
                            _stop_watcher(watcher)
                        _detached_hand_over(st, resume=True)   # does not return
                continue
            if fd == tty_in or fd == fifo:
                try:
                    data = os.read(fd, 65536)
                except BlockingIOError:
                    continue
                except OSError:
                    data = b""
                if not data:
                    poller.unregister(fd)
                    if fd == tty_in:
                        tty_in = None
                    else:
                        fifo = None
                else:
                    _write_all(master, data)
                continue
            if fd not in open_readers:        # an attacher's fd let go of in this round
                continue
            try:
                data = os.read(fd, 65536)
            except OSError:  # EIO: the pty's last slave closed
                data = b""
            if not data:
                poller.unregister(fd)
                os.close(fd)
                del open_readers[fd]
                continue
            stream = open_readers[fd]
            log.write(stream, data)
            if stream == "stdout":
                out_fd = _write_all(out_fd, data)
            else:
                err_fd = _write_all(err_fd, data)
    log.close()
    if fifo is not None:
        os.close(fifo)
    _, status = os.waitpid(pid, 0)
    if watcher is not None:
        _stop_watcher(watcher)           # its probes died with the container's pid ns
    code = os.WEXITSTATUS(status) if os.WIFEXITED(status) else 128 + os.WTERMSIG(status)
    return finish(cdir, code, st.status_fd, config=config, cg=cg)


def _let_go_of_attacher(st: _Start, poller) -> None:
    """The attacher left: drop our hold on its fds (never read its input again).
    Each number is pointed at /dev/null rather than closed: :func:`shim_main`
    closes the attached fds once more when the container is done, and a number
    closed here could belong to another file by then."""
    null = os.open("/dev/null", os.O_RDWR | os.O_CLOEXEC)
    try:
        for fd in {st.in_fd, st.out_fd, st.err_fd} - {None}:
            try:
                poller.unregister(fd)
            except KeyError:
                pass
            os.dup2(null, fd, inheritable=False)  # type: ignore[arg-type]
    finally:
        os.close(null)
    st.in_fd = st.out_fd = st.err_fd = None


def _stop_watcher(watcher: int) -> None:
    os.kill(watcher, signal.SIGKILL)
    os.waitpid(watcher, 0)


def _detached_hand_over(st: _Start, resume: bool = False) -> None:
    """Nobody is attached (any more): exec the C monitor in our place, with the
    healthcheck's arguments and, for a TTY, the pty master and the stdin FIFO.
    ``resume``: the check has run here already (an attached session that left):
    the new monitor goes on from its state. Returns only when no compiled monitor
    is there (the Python shim stays)."""
    health = None
    if st.config["Config"].get("Healthcheck"):   # else spare the import: the usual start
        from ..containers.health import setup_failed, write_probe_spec
        try:
            health = write_probe_spec(st.cdir, st.config, st.pid, st.cg, resume=resume)
        except Exception as e:  # noqa: BLE001 — the container runs; its health says why
            setup_failed(st.cdir, str(e))
    tty: list[str] = []
    if st.spec.tty:
        tty = ["--tty"]
        if st.stdin_fifo is not None:
            from ..containers.stdin import fifo_path
            tty += ["--stdin", fifo_path(st.cdir)]
    _hand_over_to_monitor(st.cdir, st.pid, st.readers, st.status_fd, health, tty)


def _watch_health(cdir: str, config: dict, pid: int, cg) -> int | None:
    """An attached container (we copy its output ourselves): its healthcheck runs
    in the C monitor's ``--watch`` mode, a child of ours. Returns its pid."""
    from .monitor import binary
    monitor = binary()
    if monitor is None:
        return None
    from ..containers.health import setup_failed, write_probe_spec
    try:
        args = write_probe_spec(cdir, config, pid, cg)
    except Exception as e:  # noqa: BLE001
        setup_failed(cdir, str(e))
        return None
    if not args:
        return None
    child = os.fork()
    if child == 0:
        try:
            os.execv(monitor, [monitor, "--watch", str(pid), *args])
        finally:
            os._exit(127)
    return child


def _forget_early_exit(cdir: str) -> None:
    """``exit.json`` (the C monitor's quick exit record) is only for the moment
    between the exit and the final state; a restart must not see an old one."""
    try:
        os.unlink(os.path.join(cdir, "exit.json"))
    except OSError:
        pass


def _needs_wiring(mode: str) -> bool:
    """Bridge and user networks need a veth wired in; none/host/container: don't."""
    return mode not in ("none", "host", "default", "") and not mode.startswith("container:")


def _container_netns(cdir: str, mode: str) -> str:
    """``--network container:X``: the netns file of X's first process."""
    from ..containers import state as cstate
    from ..errors import Conflict
    other = mode.split(":", 1)[1]
    path = os.path.join(os.path.dirname(cdir), other)
    st = cstate.read_json(os.path.join(path, "state.json"))
    if st.get("Status") != "running" or not st.get("Pid"):
        raise Conflict(f"cannot join network of a non running container: {other}")
    return f"/proc/{st['Pid']}/ns/net"


def _wire_network(cdir: str, config: dict, spec: ProcessSpec, pid: int, bound=None) -> dict:
    """Connect the new netns to its network, publish ports, write /etc/hosts: the
    network, ports and names from the spec, the networks connected before start from
    the plan in ``config`` (``NetworkingConfig``, which a connect changes)."""
    from ..network import NetworkManager, attach
    root = os.path.dirname(os.path.dirname(cdir))
    nm = NetworkManager(root)
    live = attach.wire(nm, config, pid)     # the primary network, then those connected before start
    # ports go to the primary network's address; to the first one when the primary was
    # disconnected before the start; nowhere when no network is left (loopback only)
    ep = live.get(spec.network_mode) or next(iter(live.values()), None)
    bindings = []
    if spec.publish or spec.publish_all:    # else spare the proxy imports
        from ..network import parse_publish, publish_all
        for spec_ in spec.publish:
            bindings += parse_publish(spec_)
        if spec.publish_all:
            bindings += publish_all(list(spec.exposed_ports))
    ports: dict = {}
    if bindings and ep is not None:
        handle = nm.publish(config["Id"], bindings, ep.ip, watch_pid=pid, bound=bound)
        for p in handle.ports:
            ports.setdefault(f"{p.container_port}/{p.proto}", []).append(
                {"HostIp": p.host_ip, "HostPort": str(p.host_port)})
    for key in spec.exposed_ports:
        ports.setdefault(key, None)
    for joined in live:
        refresh_hosts(root, joined)
    return attach.network_settings(config, live, ports)


def refresh_hosts(root: str, net: str) -> None:
    """Rewrite, in place (they are bind-mounted), the /etc/hosts of every
    container on ``net``, so each resolves the others by name and alias —
    across *all* the user networks each of them is on."""
    from ..containers import state as cstate
    from ..network import NetworkManager
    from ..network import dns
    from .spec import container_field
    nm = NetworkManager(root)
    try:
        members = list(nm.inspect(net).endpoints)
    except Exception:  # noqa: BLE001 — the network is gone: nothing to refresh
        return
    for cid in members:
        cdir = os.path.join(root, "containers", cid)
        try:
            config = cstate.read_json(os.path.join(cdir, "config.json"))
        except (OSError, ValueError):
            continue
        eps = nm.endpoints(cid)
        peers = []
        for ep in eps:
            if ep.network != "bridge":
                peers += nm.hosts_entries(ep.network)
        extra = [dns.parse_add_host(h) for h in container_field(config, "extra_hosts")]
        if container_field(config, "links") or config.get("NetworkingConfig"):
            from ..network.attach import link_hosts   # --link: names for another container
            extra += link_hosts(nm, config)
        text = dns.render_hosts(config["Config"]["Hostname"], [ep.ip for ep in eps], peers,
                                extra)
        try:
            with open(os.path.join(cdir, "hosts"), "r+") as f:
                f.truncate(0)
                f.write(text)
        except OSError:
            continue


def _release_volumes(cdir: str, config: dict) -> None:
    """``--rm`` also removes the container's anonymous volumes, as Docker does."""
    if not config.get("Mounts"):
        return
    try:
        from ..volumes import release_container_volumes
        release_container_volumes(os.path.dirname(os.path.dirname(cdir)), config["Id"],
                                  config["Mounts"], True)
    except Exception:  # noqa: BLE001
        pass


def _release_network(cdir: str, config: dict) -> None:
    """Give back the container's endpoints, addresses and port proxies — also
    networks joined later with ``network connect`` — and refresh its peers'
    hosts files. A plain scan of the network files comes first, so a container
    that never had a network pays for no imports at all."""
    root = os.path.dirname(os.path.dirname(cdir))
    cid = config["Id"]
    if not _mentioned_in_networks(root, cid):
        return
    try:
        from ..network.store import NetworkStore
        store = NetworkStore(root)
        nets = [n.name for n in store.all() if cid in n.endpoints]
        if not nets and cid not in store.proxies():
            return
        from ..network import NetworkManager
        NetworkManager(root).release_container(cid)
        for net in nets:
            refresh_hosts(root, net)
    except Exception:  # noqa: BLE001 — best effort: `system check` finds the rest
        pass


def _mentioned_in_networks(root: str, cid: str) -> bool:
    ndir = os.path.join(root, "networks")
    if os.path.exists(os.path.join(ndir, "proxies", cid + ".json")):
        return True
    try:
        names = os.listdir(ndir)
    except OSError:
        return False
    needle = cid.encode()
    for name in names:
        if name.endswith(".json"):
            try:
                with open(os.path.join(ndir, name), "rb") as f:
                    if needle in f.read():
                        return True
            except OSError:
                continue
    return False


def finish(cdir: str, code: int, status_fd: int | None, *, config: dict | None = None,
           cg=None) -> int:
    """After the container's first process is gone: OOM?, cgroup removal, the
    final state, ``--rm``, and the exit message to whoever is attached."""
    from ..containers import state as cstate
    if config is None:
        config = cstate.read_json(os.path.join(cdir, "config.json"))
    if cg is None:
        from ..cgroups import open_cgroup
        cg = open_cgroup(config["Id"], parent=config["CgroupParent"])
    oom = False
    try:
        oom = cg.oom_killed()
    except Exception:  # noqa: BLE001
        pass
    if oom:   # recorded before the cgroup goes: `wait` may already have returned (exit.json)
        cstate.update_state(cdir, OOMKilled=True)
    peak = None   # the kernel's memory high-water mark, kept past the cgroup's removal
    try:
        peak = cg.stats().memory_max_usage
    except Exception:  # noqa: BLE001
        pass
    try:
        cg.destroy()
    except Exception:  # noqa: BLE001
        pass
    _release_network(cdir, config)
    exited = dict(Running=False, Pid=0, ExitCode=code, OOMKilled=oom, FinishedAt=_now())
    if peak is not None:   # (not Docker's: experiments read the true peak of a short run)
        exited["MemoryMaxUsage"] = peak
    if _has_restart_policy(cdir):       # exited, or straight to restarting
        from ..containers.restart import record_exit
        record_exit(cdir, time.time(), exited)
    else:
        cstate.update_state(cdir, Status="exited", **exited)
    _forget_early_exit(cdir)
    if _auto_remove(config):
        _release_volumes(cdir, config)
        cstate.remove_container_dir(cdir)
    _send(status_fd, {"exit": code, "oom": oom})
    return code


def _auto_remove(config: dict) -> bool:
    """``--rm``, from the spec (configs written before issue 17: ``HostConfig``)."""
    spec = config["Spec"]
    if "auto_remove" in spec:
        return bool(spec["auto_remove"])
    return bool(config["HostConfig"].get("AutoRemove"))


def supervise(cdir: str, code: int) -> int:
    """The restart policy, carried out here in the container's own monitor: when
    :func:`finish` recorded the exit as ``restarting`` (the policy's decision,
    :mod:`glassbox.containers.restart`), sleep the backoff and start the
    container again, for as long as the policy says. ``run`` may exec the C monitor again: then this never returns
    and the C monitor's exit comes back to :func:`finish_main`."""
    from ..containers import state as cstate
    while True:
        try:
            st = cstate.read_json(os.path.join(cdir, "state.json"))
        except (OSError, ValueError):
            break
        if st.get("Status") != "restarting":     # finish() decided: no restart
            break
        if not _sleep_unless_stopped(cdir, float(st.get("RestartDelay") or 0.1)):
            break
        code = run(cdir, None, (None, None, None))
    return code


def _has_restart_policy(cdir: str) -> bool:
    """A look at config.json before the restart module is loaded (read afresh:
    ``update --restart`` may have changed it while the container ran)."""
    try:
        with open(os.path.join(cdir, "config.json"), "rb") as f:
            policy = json.load(f)["HostConfig"].get("RestartPolicy") or {}
    except (OSError, ValueError, KeyError):
        return False
    return policy.get("Name") not in (None, "", "no")


class _Stopped(Exception):
    pass


def _stop_requested(signum, frame):
    raise _Stopped


def _sleep_unless_stopped(cdir: str, delay: float) -> bool:
    """The backoff sleep. ``stop``/``rm`` of a restarting container send us
    SIGTERM: the sleep ends and the container stays down. SIGTERM is ignored
    again while the container starts (a half-made start must not be cut off)."""
    from ..containers import restart
    signal.signal(signal.SIGTERM, _stop_requested)
    try:
        time.sleep(delay)
    except _Stopped:
        pass
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
    return restart.end_restart_wait(cdir)


def _hand_over_to_monitor(cdir: str, pid: int, readers: dict, status_fd: int | None,
                          health: list[str] | None = None, tty: list[str] | None = None) -> None:
    """Detached and nobody attached: exec the small C monitor in our place (it
    also runs the healthcheck: ``health`` are its ``--health`` arguments; ``tty``
    its ``--tty [--stdin FIFO]``)."""
    from .monitor import binary
    monitor = binary()
    if monitor is None:
        return
    for fd in readers:
        os.set_inheritable(fd, True)
    if status_fd is not None:
        os.close(status_fd)   # the starter stopped listening after {"pid"} (or detached)
    argv = [monitor, str(pid), os.path.join(cdir, "container.log")] + \
        [f"{fd}:{stream}" for fd, stream in readers.items()] + (tty or []) + (health or []) + \
        ["--", sys.executable, "-I", "-S", "-c", _FINISH_BOOT, boot_path(), cdir]
    os.execv(monitor, argv)


_FINISH_BOOT = ("import sys; sys.path[:0] = sys.argv[1].split(':'); "
                "from glassbox.runtime.shim import finish_main; finish_main(sys.argv[2:])")


def boot_path() -> str:
    """``sys.path`` for a fresh ``python -I -S`` helper: the package itself plus
    the site-packages of this environment (pyroute2 and friends), without
    paying for ``site`` and its .pth files at every start."""
    import glassbox
    pkg_parent = os.path.dirname(os.path.dirname(glassbox.__file__))
    return ":".join([pkg_parent] + [p for p in sys.path
                                    if p.endswith(("site-packages", "dist-packages"))])


def finish_main(argv: list[str]) -> None:
    """Entry point the C monitor execs at exit: ``CDIR CODE``."""
    cdir, code = argv[0], int(argv[1])
    _set_comm(b"gbx-shim")
    try:
        os.chdir(cdir)
    except OSError:
        pass
    try:
        code = supervise(cdir, finish(cdir, code, None))
    finally:
        os._exit(code & 0xFF)


def _receive_console(sock, out_fd: int | None) -> int | None:
    """Take the pty master the child sends; size it like the attached terminal."""
    import socket
    try:
        _, fds, _, _ = socket.recv_fds(sock, 16, 1)
    except OSError:
        return None
    if not fds:
        return None
    master = fds[0]
    if out_fd is not None and os.isatty(out_fd):
        import termios
        try:
            ws = fcntl.ioctl(out_fd, termios.TIOCGWINSZ, b"\0" * 8)
            fcntl.ioctl(master, termios.TIOCSWINSZ, ws)
        except OSError:
            pass
    return master


def detach_stdio() -> None:
    """Point 0/1/2 at /dev/null so the shim never holds the starter's terminal or
    pipes open (``out=$(glassbox run -d ...)`` must not hang)."""
    null = os.open("/dev/null", os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(null, fd)
    if null > 2:
        os.close(null)


def cloexec_others(keep: set[int]) -> None:
    """Mark every inherited fd but ``keep`` close-on-exec.

    Not ``close``: in a forked Python process, a file object inherited from the
    parent may still close "its" fd number later, when it is garbage-collected
    — by then that number can belong to one of our pipes. Close-on-exec lets
    the kernel drop them at the next exec (the container's, or the monitor's)."""
    for fd in os.listdir("/proc/self/fd"):
        fd = int(fd)
        if fd > 2 and fd not in keep:
            try:
                fcntl.fcntl(fd, fcntl.F_SETFD, fcntl.fcntl(fd, fcntl.F_GETFD) | fcntl.FD_CLOEXEC)
            except OSError:
                pass


def _drop_peer_ends(attached: set[int], keep: set[int]) -> None:
    """Let go of the starter's ends of our attach pipes.

    A starter that forks us (the CLI) holds the other end of each pipe it attaches
    — and so, after the fork, do we. Our copy of the reader of the output pipe
    would hide that the attacher left (:func:`_serve` watches for the pipe losing
    its last reader), and our copy of the writer of the input pipe would keep it
    from ever ending. Each such fd is pointed at /dev/null (not closed: see
    :func:`cloexec_others`)."""
    ours = {}
    for fd in attached:
        try:
            link = os.readlink(f"/proc/self/fd/{fd}")
        except OSError:
            continue
        if link.startswith("pipe:"):
            ours[link] = fd
    if not ours:
        return
    null = os.open("/dev/null", os.O_RDWR | os.O_CLOEXEC)
    try:
        for name in os.listdir("/proc/self/fd"):
            fd = int(name)
            if fd in keep or fd == null:
                continue
            try:
                link = os.readlink(f"/proc/self/fd/{fd}")
            except OSError:
                continue
            if link in ours:
                os.dup2(null, fd, inheritable=False)
    finally:
        os.close(null)


def _set_comm(name: bytes) -> None:
    """Name the process (``ps -o comm``) so people and leak checks can find shims."""
    try:
        with open("/proc/self/comm", "wb") as f:
            f.write(name)
    except OSError:
        pass


def shim_main(cdir: str, status_fd: int | None, attach: tuple) -> None:
    """Entry point in the (already double-forked) shim process. Never returns."""
    code = 125
    try:
        _set_comm(b"gbx-shim")
        os.chdir(cdir)   # so `ls -l /proc/<pid>/cwd` tells which container a shim watches
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGPIPE, signal.SIG_IGN)
        signal.signal(signal.SIGHUP, signal.SIG_IGN)
        # move the attached fds out of 0-2 before pointing 0-2 at /dev/null
        attach = tuple(None if fd is None else fcntl.fcntl(fd, fcntl.F_DUPFD_CLOEXEC, 10)
                       for fd in attach)
        keep = {fd for fd in (status_fd, *attach) if fd is not None}
        _drop_peer_ends({fd for fd in attach if fd is not None}, keep)
        cloexec_others(keep)
        detach_stdio()
        code = run(cdir, status_fd, attach)
        for fd in {status_fd, *attach} - {None}:
            try:
                os.close(fd)          # a restart is nobody's attached run any more
            except OSError:
                pass
        status_fd = None
        code = supervise(cdir, code)
    except BaseException as e:  # noqa: BLE001
        try:
            from ..containers import state as cstate
            cstate.update_state(cdir, Status="exited", Running=False, Pid=0, ExitCode=125,
                                Error=f"shim failed: {type(e).__name__}: {e}")
        except Exception:  # noqa: BLE001
            pass
        _send(status_fd, {"error": f"shim failed: {type(e).__name__}: {e}", "code": 125})
    finally:
        os._exit(code & 0xFF)


def _fd(s: str) -> int | None:
    return None if s == "-" else int(s)


def main(argv: list[str] | None = None) -> None:
    """``python -m glassbox.runtime.shim CDIR STATUS_FD IN OUT ERR`` (fds or ``-``).

    Used when the starter cannot fork safely (a multithreaded Jupyter kernel):
    a fresh interpreter forks once more so it is not the starter's child."""
    argv = sys.argv[1:] if argv is None else argv
    cdir, status, fin, fout, ferr = argv
    if os.fork():
        os._exit(0)
    os.setsid()
    shim_main(cdir, _fd(status), (_fd(fin), _fd(fout), _fd(ferr)))


if __name__ == "__main__":
    main()
