"""The per-user network namespace: where a rootless user's bridges and veths live.

An ordinary user may not make a bridge on the host: that needs
``CAP_NET_ADMIN`` in the host's network namespace, which belongs to the
host's (initial) user namespace. So glassbox does what rootlesskit and
podman's pause process do: one long-lived **holder** process per user (and
state root) makes a user namespace — the same id map a container gets,
:func:`~.idmap.host_plan` — and a network namespace owned by it, and then just
waits. Root in that user namespace *is* the user, and has every capability
over that network namespace, so :class:`~glassbox.network.NetworkManager`
runs there unchanged: bridges, IPAM, veth pairs, addresses and ``/etc/hosts``
are the rootful code, run in another place.

Why containers *join* the holder's user namespace
    Moving a veth's peer into a container's netns needs ``CAP_NET_ADMIN`` over
    *both* namespaces, checked against the user namespace that owns each one.
    Two sibling user namespaces (holder, container) never hold capabilities over
    each other, so a container with a network enters the holder's user namespace
    (``setns``, allowed: the user owns it) and makes its own pid, mount, uts,
    ipc, cgroup and net namespaces *under* it. Root in the container is still the
    user on the host, with the very same id map — only one kernel object is
    shared, as for every container of podman's rootless user. Containers on
    ``--network none`` keep a user namespace of their own.

Who does what
    * the shim, before anything else (single-threaded, so ``setns`` into a user
      namespace is allowed): :func:`enter_for_network` starts the holder if
      needed, binds the published host ports *in the host's network namespace*
      (a socket keeps the namespace it was made in) and joins the holder's user
      and network namespaces. Everything the rootful shim does next works:
      the veth's host end goes on a bridge in the holder, the port proxy it starts
      inherits the holder's netns, so it listens on the host's loopback and
      connects into the namespace;
    * the CLI, the daemon (``network create/ls/rm``, ``rm``, ``system check``):
      every kernel method of the manager is wrapped by :func:`in_holder`, which
      runs it in a forked child that joined the holder (a process with threads
      may not ``setns`` into a user namespace) and hands back its result;
    * when no container uses it and no user network is left, :func:`stop_if_idle`
      ends the holder; its namespaces, bridges and veths go with it. Networks
      remain as records and their bridges are made again on next use.

No NAT to the outside, as for root: nothing routes out of the holder, so
slirp4netns is not needed (it would only add outbound traffic).

The holder's record: ``<state root>/netns-holder.json`` (pid, start time, id
map); ``<state root>/netns-holder.lock`` orders starting, joining and stopping
it. They live in the state root, not in ``$XDG_RUNTIME_DIR``: the holder is
not a session process (it is in a session of its own, like the containers'
monitors), so it outlives a logout, and the login manager removes the runtime
dir then. A record there would be lost while the holder and the containers in
its namespace still run, and the next login would make a *second* namespace
where new containers cannot reach the running ones. (The monitor of a
container that exits after its user logged out also still has the old, gone
``XDG_RUNTIME_DIR`` in its environment.) The pid's start time tells a stale
record after a reboot.

Notebook: ``notebooks/en/10b-installing.ipynb`` (what rootless allows).
"""

from __future__ import annotations

import errno
import fcntl
import functools
import json
import os
import signal
import time

from .._sys.constants import CLONE_NEWNET, CLONE_NEWUSER
from ..errors import GlassboxError

HOLDER_MARK = "glassbox-netns-holder"
# the holder, once its namespaces exist: an interpreter doing nothing, named for ps
_HOLDER_PROGRAM = "import signal\nwhile True: signal.pause()"


def host_root() -> bool:
    """Root of the host's own user namespace (not an ordinary user, and not root
    of a user namespace such as the holder's, where ``geteuid()`` is 0 too)."""
    if os.geteuid() != 0:
        return False
    try:
        with open("/proc/self/uid_map") as f:
            return f.read().split() == ["0", "0", "4294967295"]
    except OSError:
        return True


def _paths(root: str) -> tuple[str, str]:
    """The holder's record and lock, in the state root (one holder per state root;
    the shim, joined to the holder's user namespace, still owns that directory)."""
    base = os.path.join(root, "netns-holder")
    return base + ".json", base + ".lock"


def _lock(root: str, kind: int) -> int:
    fd = os.open(_paths(root)[1], os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    fcntl.flock(fd, kind)
    return fd


def holder_pid(root: str) -> int | None:
    """The running holder's pid for this state root, None if there is none."""
    from .. import processes
    try:
        with open(_paths(root)[0]) as f:
            rec = json.load(f)
    except (OSError, ValueError):
        return None
    pid = int(rec.get("Pid", 0))
    if pid and processes.alive(pid, rec.get("StartTime")):
        return pid
    return None


def _spawn(record: str) -> int:
    """Fork the holder: new user namespace (the container's id map), new netns,
    loopback up, then an idle interpreter. Returns its pid once it is ready."""
    from .. import processes
    ready_r, ready_w = os.pipe()
    first = os.fork()
    if first == 0:   # ---- detach: the holder's parent becomes init
        try:
            os.close(ready_r)
            os.setsid()
            if os.fork():
                os._exit(0)
            _become_holder(ready_w)
        finally:
            os._exit(125)
    os.close(ready_w)
    os.waitpid(first, 0)
    data = b""
    while chunk := os.read(ready_r, 65536):
        data += chunk
    os.close(ready_r)
    try:
        msg = json.loads(data or b"{}")
    except ValueError:
        msg = {}
    if "Pid" not in msg:
        raise GlassboxError("cannot start the per-user network namespace: "
                            f"{msg.get('Error') or 'the holder process died'}")
    msg["StartTime"] = processes.start_time(msg["Pid"]) or 0
    with open(record + ".tmp", "w") as f:
        json.dump(msg, f)
    os.replace(record + ".tmp", record)
    return int(msg["Pid"])


def _become_holder(ready_w: int) -> None:
    from .._sys import real as sys_
    from .idmap import host_plan
    from .userns import enter
    try:
        plan = host_plan()
        enter(plan, sys_)
        sys_.unshare(CLONE_NEWNET)
        from ..network import rtnl
        with rtnl.Rtnl() as nl:
            rtnl.Rtnl.check(nl.send([(rtnl.setlink_request(ifname="lo", up=True),
                                      "set up", "lo")]))
        out = {"Pid": os.getpid(), "IdMap": plan.to_json()}
    except Exception as e:  # noqa: BLE001 — reported to the starter
        os.write(ready_w, json.dumps({"Error": getattr(e, "message", None) or str(e)}).encode())
        os._exit(125)
    null = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(null, fd)
    os.write(ready_w, json.dumps(out).encode())
    os.close(ready_w)
    import sys
    os.execv(sys.executable, [sys.executable, "-S", "-E", "-c", _HOLDER_PROGRAM, HOLDER_MARK])


def ensure_holder(root: str) -> tuple[int, int]:
    """Start the holder if needed; (its pid, a shared lock fd the caller closes
    once its endpoint is recorded — so the holder is not stopped meanwhile)."""
    fd = _lock(root, fcntl.LOCK_EX)
    try:
        pid = holder_pid(root)
        if pid is None:
            pid = _spawn(_paths(root)[0])
        fcntl.flock(fd, fcntl.LOCK_SH)
    except BaseException:
        os.close(fd)
        raise
    return pid, fd


def join(pid: int) -> None:
    """``setns`` into the holder's user namespace, then its network namespace
    (the calling process must be single-threaded)."""
    from .._sys import real as sys_
    # both opened first, as nsenter does: once in the user namespace, this process
    # may no longer open the holder's /proc entries (they are the host's view)
    fds = []
    try:
        for ns, flag in (("user", CLONE_NEWUSER), ("net", CLONE_NEWNET)):
            path = f"/proc/{pid}/ns/{ns}"
            fds.append((os.open(path, os.O_RDONLY | os.O_CLOEXEC), flag, path))
        for fd, flag, path in fds:
            sys_.setns(fd, flag, path)
    finally:
        for fd, _, _ in fds:
            os.close(fd)
    try:
        os.setgroups([])        # the host's groups would show as nogroup
    except OSError:
        pass                    # a single-id map: setgroups is denied


def inside(pid: int) -> bool:
    """Is the calling process already in the holder's network namespace?"""
    try:
        return os.stat(f"/proc/{pid}/ns/net").st_ino == os.stat("/proc/self/ns/net").st_ino
    except OSError:
        return False


def _joined_call(pid: int, fn, args, kwargs):
    try:
        join(pid)
    except BaseException as e:  # noqa: BLE001
        raise GlassboxError(f"cannot enter the per-user network namespace: {e}") from None
    return fn(*args, **kwargs)


def _run_joined(root: str, fn, args, kwargs):
    """Run ``fn(*args, **kwargs)`` in a forked child inside the holder."""
    from .._child import in_child
    pid, lock = ensure_holder(root)
    try:
        return in_child(_joined_call, pid, fn, args, kwargs)
    finally:
        os.close(lock)


def in_holder(idle_after: bool = False):
    """Decorate a :class:`NetworkManager` method that touches the kernel: rootless,
    run it inside the holder's namespaces. Root, or already inside: a plain call.
    ``idle_after``: then stop the holder if nothing uses it any more. A call that
    fails does so too: ``network rm nosuch`` must not leave behind a holder it
    started only to find out."""
    def wrap(fn):
        @functools.wraps(fn)
        def wrapper(self, *args, **kwargs):
            if host_root():
                return fn(self, *args, **kwargs)
            try:
                if os.geteuid() == 0:   # already root of a user namespace: the shim, joined
                    out = fn(self, *args, **kwargs)
                else:
                    pid = holder_pid(self.root)
                    if pid is not None and inside(pid):
                        out = fn(self, *args, **kwargs)
                    else:
                        out = _run_joined(self.root, fn, (self, *args), kwargs)
            except BaseException:
                try:
                    stop_if_idle(self.root)
                except Exception:  # noqa: BLE001 — the call's own error is the one to tell
                    pass
                raise
            if idle_after:
                stop_if_idle(self.root)
            return out
        return wrapper
    return wrap


def idle(root: str) -> bool:
    """No user network and no endpoint or port proxy on any network of ``root``."""
    from ..network.store import NetworkStore
    store = NetworkStore(root)
    return not any(not n.default or n.endpoints for n in store.all()) and not store.proxies()


def stop(root: str, timeout: float = 5.0) -> bool:
    """End the holder (its namespaces, bridges and veths go with it); False if none."""
    from .. import processes
    record = _paths(root)[0]
    try:
        with open(record) as f:
            rec = json.load(f)
    except (OSError, ValueError):
        return False
    pid, start = int(rec.get("Pid", 0)), rec.get("StartTime")
    stopped = False
    if pid and processes.alive(pid, start):
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                ours = HOLDER_MARK.encode() in f.read().split(b"\0")
        except OSError:
            ours = False
        if ours:
            os.kill(pid, signal.SIGTERM)
            deadline = time.monotonic() + timeout
            while processes.alive(pid, start) and time.monotonic() < deadline:
                time.sleep(0.005)
            stopped = True
    try:
        os.unlink(record)
    except FileNotFoundError:
        pass
    return stopped


def stop_if_idle(root: str) -> bool:
    """Stop the holder when nothing uses it; never while a container is joining
    it (that one holds the lock shared until its endpoint is recorded)."""
    if holder_pid(root) is None or not idle(root):
        return False
    try:
        fd = _lock(root, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError as e:
        if e.errno in (errno.EWOULDBLOCK, errno.EAGAIN):
            return False
        raise
    try:
        return idle(root) and stop(root)
    finally:
        os.close(fd)


def enter_for_network(cdir: str, spec) -> tuple[str, int, list]:
    """The rootless shim's first step when its container has a network: bind the
    published host ports here, on the host, then join the holder. Returns the id
    map's mode, the lock fd to close once wired, and the bound sockets."""
    from ..containers import state as cstate
    root = os.path.dirname(os.path.dirname(cdir))
    bound = bind_published(spec)
    try:
        pid, lock = ensure_holder(root)
        try:
            join(pid)
        except BaseException:
            os.close(lock)
            raise
    except BaseException:
        for s, _ in bound:
            s.close()
        raise
    with open(_paths(root)[0]) as f:
        idmap = json.load(f).get("IdMap") or {}
    cstate.update_state(cdir, IdMap=idmap)
    return idmap.get("Mode", ""), lock, bound


def bind_published(spec) -> list:
    """The host's listening sockets for the container's ``-p``/``-P`` ports (its
    :class:`~glassbox.runtime.spec.ProcessSpec`'s ``publish``/``publish_all``)."""
    if not (spec.publish or spec.publish_all):
        return []
    from ..network import parse_publish, publish_all
    from ..network.ports import bind_all
    bindings = []
    for text in spec.publish:
        bindings += parse_publish(text)
    if spec.publish_all:
        bindings += publish_all(list(spec.exposed_ports))
    return bind_all(bindings)


def unprivileged_port_start(proc_sys: str = "/proc/sys") -> int:
    """``net.ipv4.ip_unprivileged_port_start``: the lowest port a user may bind."""
    try:
        with open(f"{proc_sys}/net/ipv4/ip_unprivileged_port_start") as f:
            return int(f.read())
    except (OSError, ValueError):
        return 1024


