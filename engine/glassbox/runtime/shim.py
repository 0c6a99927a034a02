"""The per-container monitor ("shim"): the container's parent for its whole life.

The shim is started detached (its own session, reparented away from whoever
started it), so a container outlives the CLI, the notebook kernel or the
daemon that ran it. It:

1. creates the container's cgroup and applies the limits;
2. forks the container's first process into a new PID namespace and puts it
   in the cgroup before letting it go on (:mod:`.init` does the rest);
3. tells the starter on the *status pipe* either ``{"pid": N}`` or
   ``{"error": ..., "code": 127}``;
4. copies the container's stdout/stderr (or its pty) into the JSON-lines log
   and, when someone is attached, to their terminal too;
5. waits for the exit, records ``ExitCode``, ``OOMKilled`` and ``FinishedAt``,
   removes the cgroup (and the whole container for ``--rm``), and finally
   sends ``{"exit": code}`` on the status pipe.

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
    """Docker's json-file format: one ``{"log","stream","time"}`` object per line."""

    def __init__(self, path: str):
        self.fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_CLOEXEC, 0o640)
        self.partial: dict[str, bytes] = {}

    def write(self, stream: str, data: bytes) -> None:
        buf = self.partial.get(stream, b"") + data
        lines = buf.split(b"\n")
        self.partial[stream] = lines.pop()
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
        view = memoryview(data)
        while view:
            n = os.write(fd, view)
            view = view[n:]
        return fd
    except OSError:
        return None


def run(cdir: str, status_fd: int | None, attach: tuple[int | None, int | None, int | None]) -> int:
    """The shim's whole life for the container in ``cdir``. Returns the exit code."""
    from ..cgroups import open_cgroup
    from ..cgroups.limits import Limits
    from ..containers import state as cstate
    from .spec import ProcessSpec

    config = cstate.read_json(os.path.join(cdir, "config.json"))
    spec = ProcessSpec.from_json(config["Spec"])
    hc = config["HostConfig"]
    limits = Limits(**config["Limits"])
    in_fd, out_fd, err_fd = attach
    rootless = os.geteuid() != 0
    net_lock, bound = None, None
    if rootless:  # issue 14: root of our own user namespace first; it owns all the others
        try:
            if _needs_wiring(hc.get("NetworkMode") or "none"):
                # a network: the per-user netns holder's user namespace (rootless/netns.py)
                from ..rootless.netns import enter_for_network
                spec.userns, net_lock, bound = enter_for_network(cdir, config)
            else:
                from ..rootless.userns import enter_for_container
                spec.userns = enter_for_container(cdir)
        except Exception as e:  # noqa: BLE001
            msg = getattr(e, "message", None) or str(e)
            cstate.update_state(cdir, Status="created", ExitCode=125, Error=msg)
            _send(status_fd, {"error": msg, "code": 125})
            return 125
    seccomp = None
    if spec.seccomp != "unconfined" and not hc.get("Privileged"):
        # compiled (or read from the cache) here, while the host's library is still
        # reachable; init installs it right before execve (glassbox.seccomp)
        try:
            from ..seccomp import program_for
            seccomp = program_for(spec.seccomp, spec.caps, os.path.dirname(os.path.dirname(cdir)))
        except Exception as e:  # noqa: BLE001
            msg = getattr(e, "message", None) or str(e)
            cstate.update_state(cdir, Status="created", ExitCode=125, Error=msg)
            _send(status_fd, {"error": f"seccomp: {msg}", "code": 125})
            return 125
    cg = open_cgroup(config["Id"], parent=config["CgroupParent"])
    try:
        cg.create()
        # Docker's device allow-list plus --device/--device-cgroup-rule, before any
        # process is in (the mknod escape: cgroups/devices.py): v1 devices files, v2 eBPF
        if not hc.get("Privileged") and not rootless:  # rootless: the userns forbids mknod
            from ..cgroups.devices import container_rules
            cg.restrict_devices(container_rules(spec.devices, hc.get("DeviceCgroupRules") or ()))
        cg.apply(limits)
    except Exception as e:  # noqa: BLE001
        cg.destroy()
        cstate.update_state(cdir, Status="created", ExitCode=125, Error=str(e))
        _send(status_fd, {"error": f"cgroup setup failed: {e}", "code": 125})
        return 125

    # the container's stdio: a pty (opened by the child inside its own devpts and
    # handed back over a socket, as runc's console socket), or pipes we log
    console_parent = console_child = None
    if spec.tty:
        import socket
        console_parent, console_child = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        null = os.open("/dev/null", os.O_RDWR)
        child_stdio = (null, null, null)
        readers = {}
    else:
        out_r, out_w = os.pipe()
        err_r, err_w = os.pipe()
        if hc.get("OpenStdin") and in_fd is not None:
            cin = in_fd
        elif hc.get("OpenStdin"):        # nobody attached: stdin stays open (Docker's -di)
            from ..containers.stdin import open_for_container
            cin = open_for_container(cdir)
        else:
            cin = os.open("/dev/null", os.O_RDONLY)
        child_stdio = (cin, out_w, err_w)
        readers = {out_r: "stdout", err_r: "stderr"}
    sync_r, sync_w = os.pipe()
    err_r2, err_w2 = os.pipe2(os.O_CLOEXEC)
    mode = hc.get("NetworkMode") or "none"
    wire = _needs_wiring(mode)
    netns_r = netns_w = None
    if wire:
        netns_r, netns_w = os.pipe()
    elif mode.startswith("container:"):
        spec.netns_path = _container_netns(cdir, mode)

    own_pidns = None
    if "pid" in spec.namespaces:
        from .._sys import CLONE_NEWPID, real
        if not rootless:   # (rootless: setns back to the host's pidns is not ours to do)
            own_pidns = os.open("/proc/self/ns/pid", os.O_RDONLY | os.O_CLOEXEC)
        real.unshare(CLONE_NEWPID)      # our next child is pid 1 of a new namespace
    pid = os.fork()
    if pid == 0:  # ---- the container-to-be ----
        try:
            os.close(sync_w)
            os.close(err_r2)
            for target, fd in enumerate(child_stdio):
                os.dup2(fd, target)
            keep = {0, 1, 2, sync_r, err_w2}
            if netns_w is not None:
                keep.add(netns_w)
            if console_child is not None:
                keep.add(console_child.fileno())
            cloexec_others(keep)
            from .init import child_main, reset_signals
            reset_signals()
            child_main(spec, sync_r, err_w2,
                       console_fd=console_child.fileno() if console_child else None,
                       netns_fd=netns_w, seccomp=seccomp,
                       dumpable_until_wired=net_lock is not None)
        finally:
            os._exit(125)

    # ---- the shim ----
    if own_pidns is not None:
        # back to our own namespace for children: the kernel refuses new threads
        # (which the network code uses) while they differ
        real.setns(own_pidns, CLONE_NEWPID, "/proc/self/ns/pid")
        os.close(own_pidns)
    os.close(sync_r)
    os.close(err_w2)
    if netns_w is not None:
        os.close(netns_w)
    for fd in set(child_stdio):
        if fd not in (in_fd,):
            os.close(fd)
    try:
        cg.add(pid)
    except Exception as e:  # noqa: BLE001
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
        cg.destroy()
        cstate.update_state(cdir, Status="created", ExitCode=125, Error=str(e))
        _send(status_fd, {"error": f"cannot join cgroup: {e}", "code": 125})
        return 125
    os.write(sync_w, b"1")           # go: the child builds its rootfs while we write state
    _forget_early_exit(cdir)
    start_time = cstate.process_start_time(pid)
    cstate.update_state(cdir, Status="running", Running=True, Pid=pid, ShimPid=os.getpid(),
                        PidStartTime=start_time, StartedAt=_now(), ExitCode=0, Error="",
                        OOMKilled=False, FinishedAt="0001-01-01T00:00:00Z")
    if wire:
        if os.read(netns_r, 1):      # empty: the child died early; its error follows
            try:
                settings = _wire_network(cdir, config, pid, bound)
                cstate.update_state(cdir, NetworkSettings=settings)
            except Exception as e:  # noqa: BLE001
                os.kill(pid, signal.SIGKILL)
                os.waitpid(pid, 0)
                if net_lock is not None:    # let the release stop an idle holder
                    os.close(net_lock)
                    net_lock = None
                _release_network(cdir, config)
                cg.destroy()
                msg = getattr(e, "message", None) or str(e)
                cstate.update_state(cdir, Status="created", Running=False, Pid=0, ExitCode=125,
                                    Error=msg)
                _send(status_fd, {"error": msg, "code": 125})
                if hc.get("AutoRemove"):
                    cstate.remove_container_dir(cdir)
                return 125
            finally:
                if net_lock is not None:    # our endpoint is recorded: the holder may stop
                    os.close(net_lock)
                    net_lock = None
            try:
                os.write(sync_w, b"2")
            except BrokenPipeError:  # it failed building its rootfs: its error follows
                pass
        os.close(netns_r)
        if net_lock is not None:             # the child died before its netns was wired
            os.close(net_lock)
    os.close(sync_w)
    if console_parent is not None:
        console_child.close()
        master = _receive_console(console_parent, out_fd)
        console_parent.close()
        if master is not None:
            readers = {master: "stdout"}
    err = b""
    while True:
        chunk = os.read(err_r2, 65536)
        if not chunk:
            break
        err += chunk
    os.close(err_r2)
    if err:
        info = json.loads(err)
        os.waitpid(pid, 0)
        for fd in readers:
            os.close(fd)
        cg.destroy()
        if wire:
            _release_network(cdir, config)
        cstate.update_state(cdir, Status="created", Running=False, Pid=0, ExitCode=info["code"],
                            Error=info["error"])
        _send(status_fd, info)
        if hc.get("AutoRemove"):
            cstate.remove_container_dir(cdir)
        return info["code"]
    _send(status_fd, {"pid": pid})

    tty_in = in_fd if spec.tty and hc.get("OpenStdin") else None
    if out_fd is None and err_fd is None and tty_in is None:
        health = None
        if config["Config"].get("Healthcheck"):   # else spare the import: the usual start
            from ..containers.health import setup_failed, write_probe_spec
            try:
                health = write_probe_spec(cdir, config, pid, cg)
            except Exception as e:  # noqa: BLE001 — the container runs; its health says why
                setup_failed(cdir, str(e))
        _hand_over_to_monitor(cdir, pid, readers, status_fd, health)  # returns if unavailable
    watcher = _watch_health(cdir, config, pid, cg) if config["Config"].get("Healthcheck") \
        else None
    log = LogWriter(os.path.join(cdir, "container.log"))
    master = next(iter(readers), None) if spec.tty else None
    open_readers = dict(readers)
    while open_readers:
        watch = list(open_readers) + ([tty_in] if tty_in is not None else [])
        try:
            ready, _, _ = select.select(watch, [], [])
        except InterruptedError:
            continue
        for fd in ready:
            if fd == tty_in:
                try:
                    data = os.read(fd, 65536)
                except OSError:
                    data = b""
                if not data:
                    tty_in = None
                else:
                    _write_all(master, data)
                continue
            try:
                data = os.read(fd, 65536)
            except OSError:  # EIO: the pty's last slave closed
                data = b""
            if not data:
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
    _, status = os.waitpid(pid, 0)
    if watcher is not None:
        os.kill(watcher, signal.SIGKILL)     # its probes died with the container's pid ns
        os.waitpid(watcher, 0)
    code = os.WEXITSTATUS(status) if os.WIFEXITED(status) else 128 + os.WTERMSIG(status)
    return finish(cdir, code, status_fd, config=config, cg=cg)


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


def _wire_network(cdir: str, config: dict, pid: int, bound=None) -> dict:
    """Connect the new netns to its network, publish ports, write /etc/hosts."""
    from ..network import NetworkManager, attach
    root = os.path.dirname(os.path.dirname(cdir))
    hc, cfg = config["HostConfig"], config["Config"]
    net = hc["NetworkMode"]
    nm = NetworkManager(root)
    live = attach.wire(nm, config, pid)     # the primary network, then those connected before start
    ep = live[net]
    bindings = []
    if hc.get("PublishSpecs") or hc.get("PublishAllPorts"):  # else spare the proxy imports
        from ..network import parse_publish, publish_all
        for spec_ in hc.get("PublishSpecs") or ():
            bindings += parse_publish(spec_)
        if hc.get("PublishAllPorts"):
            bindings += publish_all(list((cfg.get("ExposedPorts") or {}).keys()))
    ports: dict = {}
    if bindings:
        handle = nm.publish(config["Id"], bindings, ep.ip, watch_pid=pid, bound=bound)
        for p in handle.ports:
            ports.setdefault(f"{p.container_port}/{p.proto}", []).append(
                {"HostIp": p.host_ip, "HostPort": str(p.host_port)})
    for key in (cfg.get("ExposedPorts") or {}):
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
        extra = [dns.parse_add_host(h) for h in config["HostConfig"].get("ExtraHosts") or ()]
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
    if config["HostConfig"].get("AutoRemove"):
        _release_volumes(cdir, config)
        cstate.remove_container_dir(cdir)
    _send(status_fd, {"exit": code, "oom": oom})
    return code


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
                          health: list[str] | None = None) -> None:
    """Detached and nobody attached: exec the small C monitor in our place (it
    also runs the healthcheck: ``health`` are its ``--health`` arguments)."""
    from .monitor import binary
    monitor = binary()
    if monitor is None:
        return
    for fd in readers:
        os.set_inheritable(fd, True)
    if status_fd is not None:
        os.close(status_fd)   # the starter stopped listening after {"pid"}
    argv = [monitor, str(pid), os.path.join(cdir, "container.log")] + \
        [f"{fd}:{stream}" for fd, stream in readers.items()] + (health or []) + \
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
