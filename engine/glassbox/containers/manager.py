"""Container lifecycle: create, start, run, wait, stop, kill, restart, rm, logs,
ps, inspect, stats, top, update, rename, prune — Docker's semantics.

Start path: the manager writes the container's directory, then launches the
shim (:mod:`glassbox.runtime.shim`). When the calling process is truly
single-threaded (one entry in ``/proc/self/task``: the CLI) it forks the shim
directly — no second interpreter to start. A multithreaded caller (a Jupyter
kernel) must not fork, so it starts a fresh interpreter for the shim instead.
Either way the shim reports back on a status pipe: ``{"pid": N}`` once the
command is exec'd, or Docker's 126/127 error.
"""

from __future__ import annotations

import errno
import json
import os
import signal
import time

from .. import processes
from ..errors import Conflict, ContainerExit, InvalidArgument, NotFound
from . import state as cstate
from .names import check_name, new_id, random_name
from .options import CreateOptions, security_options

ZERO_TIME = "0001-01-01T00:00:00Z"


def now_iso() -> str:
    from .._files import timestamp
    return timestamp()


def parse_signal(sig: str | int | None, default: int = signal.SIGKILL) -> int:
    if sig is None or sig == "":
        return default
    if isinstance(sig, int) or str(sig).isdigit():
        n = int(sig)
        if not 0 < n < 65:
            raise InvalidArgument(f"invalid signal: {sig}")
        return n
    name = str(sig).upper()
    name = name if name.startswith("SIG") else "SIG" + name
    try:
        return int(signal.Signals[name])
    except KeyError:
        raise InvalidArgument(f"invalid signal: {sig}") from None


class Container:
    """A container as read from the state store (config + live state)."""

    __slots__ = ("id", "dir", "config", "state")

    def __init__(self, id: str, dir: str, config: dict, state: dict):  # noqa: A002
        self.id, self.dir, self.config, self.state = id, dir, config, state

    def __repr__(self) -> str:
        return f"Container(id={self.id[:12]!r}, name={self.name!r}, status={self.status!r})"

    @property
    def name(self) -> str:
        return self.config["Name"].lstrip("/")

    @property
    def status(self) -> str:
        return self.state.get("Status", "created")

    @property
    def running(self) -> bool:
        return self.status in ("running", "paused")

    @property
    def pid(self) -> int:
        return self.state.get("Pid", 0) or 0

    @property
    def exit_code(self) -> int:
        return self.state.get("ExitCode", 0)

    def inspect(self) -> dict:
        """Docker's ``inspect`` document (field names as Docker's where they exist)."""
        c = {k: v for k, v in self.config.items() if k not in ("Spec", "Limits", "CgroupParent")}
        restarting = self.status == "restarting"
        st = {"Status": self.status,   # Docker: paused and restarting containers are still running
              "Running": self.running or restarting,
              "Paused": self.status == "paused", "Restarting": restarting,
              "OOMKilled": self.state.get("OOMKilled", False), "Dead": False,
              "Pid": self.pid if self.running else 0, "ExitCode": self.exit_code,
              "Error": self.state.get("Error", ""),
              "StartedAt": self.state.get("StartedAt", ZERO_TIME),
              "FinishedAt": self.state.get("FinishedAt", ZERO_TIME)}
        if self.config["Config"].get("Healthcheck"):
            from .health import current
            health = current(self.dir, self.config)
            if health is not None:
                st["Health"] = health
        c["State"] = st
        c["RestartCount"] = self.state.get("RestartCount", 0)
        spec = self.config["Spec"]
        c["GraphDriver"] = {"Name": "overlay", "Data": {
            "LowerDir": ":".join(reversed(spec["lower_dirs"])), "UpperDir": spec["upper_dir"],
            "WorkDir": spec["work_dir"], "MergedDir": spec["rootfs"]}}
        try:
            from ..volumes import VolumeManager, inspect_mounts
            root = os.path.dirname(os.path.dirname(self.dir))
            c["Mounts"] = inspect_mounts(VolumeManager(root), self.config.get("Mounts") or [])
        except Exception:  # noqa: BLE001 — inspect must not fail on a volume's state
            pass
        c["LogPath"] = os.path.join(self.dir, "container.log")
        c["HostnamePath"] = os.path.join(self.dir, "hostname")
        c["HostsPath"] = os.path.join(self.dir, "hosts")
        c["ResolvConfPath"] = os.path.join(self.dir, "resolv.conf")
        if self.state.get("IdMap") or self.config.get("IdMap"):   # the user namespace's
            c["IdMap"] = self.state.get("IdMap") or self.config["IdMap"]   # maps (issue 14)
        c["Cgroup"] = {"Parent": self.config.get("CgroupParent"), "Name": self.id,
                       "Version": _cgroup_version()}   # 1 or 2: which files hold its limits
        ns = dict(self.state.get("NetworkSettings") or {})
        ns.setdefault("Networks", {})
        ns.setdefault("Ports", {k: None for k in
                                (self.config["Config"].get("ExposedPorts") or {})})
        ns.setdefault("IPAddress", "")
        ns["SandboxKey"] = f"/proc/{self.pid}/ns/net" if self.running else ""
        c["NetworkSettings"] = ns
        return c


def _expose_key(spec: str) -> str:
    port, _, proto = str(spec).partition("/")
    if not port.isdigit() or not 0 < int(port) < 65536 or proto not in ("", "tcp", "udp"):
        raise InvalidArgument(f"invalid port to expose: {spec!r}")
    return f"{int(port)}/{proto or 'tcp'}"


def _port_bindings(bindings) -> dict:
    out: dict = {}
    for b in bindings:
        out.setdefault(b.key, []).append({"HostIp": b.host_ip,
                                          "HostPort": str(b.host_port or "")})
    return out


def _cgroup_version() -> int | None:
    """This host's cgroup version (the mount table is read once per process)."""
    from ..cgroups import detect_version
    from ..errors import KernelError
    try:
        return detect_version()
    except KernelError:
        return None


def _devices(opts: CreateOptions) -> tuple[list, list]:
    """``--device`` and ``--device-cgroup-rule`` checked, and each host node looked
    up, before anything is written: (DeviceMappings, DeviceNodes) of cgroups.devices."""
    if not opts.devices and not opts.device_cgroup_rules:
        return [], []                                # the usual case: spare the import
    from ..cgroups.devices import parse_device, parse_rule, resolve_device
    for rule in opts.device_cgroup_rules:
        parse_rule(rule)
    mappings = [parse_device(d) for d in opts.devices]
    return mappings, [resolve_device(m) for m in mappings]


def _restart_policy(opts: CreateOptions) -> dict:
    """``--restart`` checked (and refused with ``--rm``): HostConfig.RestartPolicy."""
    if not opts.restart or opts.restart == "no":
        return {"Name": "no", "MaximumRetryCount": 0}   # the usual case: spare the import
    from .restart import RestartPolicy, check_auto_remove, parse
    policy = opts.restart if isinstance(opts.restart, RestartPolicy) else parse(opts.restart)
    check_auto_remove(policy, opts.auto_remove)
    return policy.to_json()


def _healthcheck(opts: CreateOptions, icfg: dict) -> dict | None:
    """``Config.Healthcheck``: the container's (checked) over the image's."""
    if not opts.healthcheck and not icfg.get("Healthcheck"):
        return None                                   # the usual case: spare the import
    from .health import merge, validate
    return merge(validate(opts.healthcheck), icfg.get("Healthcheck"))


def _resolv_conf(dns: list[str]) -> str:
    if dns:
        return "".join(f"nameserver {d}\n" for d in dns)
    try:
        with open("/etc/resolv.conf") as f:
            host = [ln for ln in f.read().splitlines()
                    if not (ln.startswith("nameserver") and
                            (ln.split()[1:2] or [""])[0].startswith(("127.", "::1")))]
    except OSError:
        host = []
    return "\n".join(host) + "\n" if host else ""


class ContainerManager:
    """All container operations on one state root."""

    def __init__(self, root: str, images, cgroup_parent: str = "glassbox"):
        self.root = root
        self.images = images
        self.cgroup_parent: str | None = cgroup_parent
        if os.geteuid() != 0:   # rootless (issue 14): under the delegated subtree, or no cgroup
            from ..rootless.cgroups import user_parent
            self.cgroup_parent = user_parent(cgroup_parent)
        self.dir = os.path.join(root, "containers")
        os.makedirs(self.dir, exist_ok=True)

    @property
    def hooks(self):
        """Volumes: what create and rm do with mounts (:class:`glassbox.volumes.VolumeHooks`)."""
        if getattr(self, "_hooks", None) is None:
            from ..volumes import VolumeHooks, VolumeManager
            self._hooks = VolumeHooks(VolumeManager(self.root), self)
        return self._hooks

    # ---- lookup -------------------------------------------------------------
    def _load(self, cid: str) -> Container | None:
        cdir = os.path.join(self.dir, cid)
        try:
            config = cstate.read_json(os.path.join(cdir, "config.json"))
        except (OSError, ValueError):
            return None
        try:
            st = cstate.read_json(os.path.join(cdir, "state.json"))
        except (OSError, ValueError):
            st = {"Status": "created"}
        c = Container(cid, cdir, config, st)
        self._reconcile(c)
        return c

    def _reconcile(self, c: Container) -> None:
        """A running container whose process and shim are both gone (kill -9 of the
        monitor, a host crash) is reported exited, not running forever. One whose
        C monitor already wrote ``exit.json`` is exited, even while the Python
        clean-up after it still runs."""
        if c.status == "restarting":     # in its backoff sleep: the shim must be there
            if not processes.alive(c.state.get("ShimPid", 0), None):
                c.state = cstate.update_state(c.dir, Status="exited", Running=False,
                                              Pid=0) or c.state
            return
        if c.status not in ("running", "paused"):
            return
        try:
            early = cstate.read_json(os.path.join(c.dir, "exit.json"))
        except (OSError, ValueError):
            early = None
        if early:
            status = "exited"
            if (c.config["HostConfig"].get("RestartPolicy") or {}).get("Name") not in \
                    (None, "", "no"):     # its monitor is about to restart it: say so
                from .restart import next_delay
                if next_delay(c.config, {**c.state, **early}, time.time()) is not None:
                    status = "restarting"
            st = {**c.state, "Status": status, "Running": False, "Pid": 0, **early}
            if not st.get("OOMKilled"):
                # the shim has not read the cgroup yet: read it here, so `wait` then
                # `inspect` sees an OOM kill at once (the shim records it before it
                # removes the cgroup)
                try:
                    st["OOMKilled"] = bool(self._cgroup(c).oom_killed())
                except Exception:  # noqa: BLE001
                    pass
            c.state = st
            return
        if processes.alive(c.pid, c.state.get("PidStartTime")):
            return
        if processes.alive(c.state.get("ShimPid", 0), None):
            return  # the shim is recording the exit right now
        gone = dict(Status="exited", Running=False, Pid=0,
                    ExitCode=c.state.get("ExitCode") or 137,
                    Error="container monitor is gone", FinishedAt=now_iso())
        try:
            c.state = cstate.update_state(c.dir, **gone) or c.state
        except OSError as e:
            if e.errno != errno.ENOSPC:
                raise
            # a full disk (the shim could not record the exit either): reading must
            # still work — ps, system df, rm are how the student frees space
            c.state = {**c.state, **gone}

    def list(self, all: bool = True) -> list[Container]:
        out = []
        for cid in os.listdir(self.dir):
            if cid.startswith("."):
                continue
            c = self._load(cid)
            if c and (all or c.running or c.status == "restarting"):   # as docker ps
                out.append(c)
        out.sort(key=lambda c: c.config.get("Created", ""), reverse=True)
        return out

    def get(self, ref: str) -> Container:
        """By full id, name, or unique id prefix — like Docker."""
        if not ref:
            raise InvalidArgument("container name or ID must not be empty")
        ref = ref.lstrip("/")
        if len(ref) == 64:
            c = self._load(ref)
            if c:
                return c
        owner = self._name_owner(ref) if "/" not in ref else None
        if owner:
            c = self._load(owner)
            if c:
                return c
        matches = [cid for cid in os.listdir(self.dir)
                   if not cid.startswith(".") and cid.startswith(ref)]
        if len(matches) == 1:
            c = self._load(matches[0])
            if c:
                return c
        if len(matches) > 1:
            raise InvalidArgument(f"multiple containers match the ID prefix {ref!r}; "
                                  "give more characters")
        raise NotFound(f"No such container: {ref}")

    # Names: containers/.names/<name> is a symlink to the owner's id, so finding a
    # name or proving it free is one readlink, not a scan of every container. A
    # link whose container is gone (a crash, ``--rm``) is stale and counts as free.
    def _names_dir(self) -> str:
        d = os.path.join(self.dir, ".names")
        if not os.path.isdir(d):
            self._index_names(d)
        return d

    def _index_names(self, d: str) -> None:
        """Build the name index from the containers' configs (a state root made
        before the index existed)."""
        tmp = f"{d}.tmp{os.getpid()}"
        os.makedirs(tmp, exist_ok=True)
        for cid in os.listdir(self.dir):
            if cid.startswith("."):
                continue
            try:
                with open(os.path.join(self.dir, cid, "config.json")) as f:
                    name = json.load(f)["Name"].lstrip("/")
                os.symlink(cid, os.path.join(tmp, name))
            except (OSError, ValueError, KeyError):
                continue
        try:
            os.rename(tmp, d)
        except OSError:   # another process indexed first
            import shutil
            shutil.rmtree(tmp, ignore_errors=True)

    def _name_owner(self, name: str) -> str | None:
        link = os.path.join(self._names_dir(), name)
        try:
            cid = os.readlink(link)
        except OSError:
            return None
        if os.path.isdir(os.path.join(self.dir, cid)):
            return cid
        return None

    def _claim_name(self, name: str, cid: str) -> None:
        link = os.path.join(self._names_dir(), name)
        try:
            os.unlink(link)   # stale (checked by the caller under the lock)
        except FileNotFoundError:
            pass
        os.symlink(cid, link)

    def _release_name(self, name: str, cid: str) -> None:
        link = os.path.join(self.dir, ".names", name)
        try:
            if os.readlink(link) == cid:
                os.unlink(link)
        except OSError:
            pass

    # ---- create -------------------------------------------------------------
    def create(self, opts: CreateOptions, *, hooks=None) -> Container:
        return self._create(opts, hooks)

    def _create(self, opts: CreateOptions, hooks) -> Container:
        """Validate everything first; only then write the container's directory
        (built under a temp name and renamed into place: all or nothing)."""
        from ..cgroups.limits import Limits
        from ..runtime.spec import cap_set, merge_command, merge_env, \
            parse_env_file

        image = self.images.resolve(opts.image)
        icfg = (image.config or {}).get("config") or {}
        argv = merge_command(icfg, opts.command, opts.entrypoint)
        limits = Limits(memory=opts.memory, memory_swap=opts.memory_swap, cpus=opts.cpus,
                        cpu_shares=opts.cpu_shares, pids=opts.pids_limit,
                        cpuset_cpus=opts.cpuset_cpus or None,
                        cpuset_mems=opts.cpuset_mems or None).validate()
        caps = cap_set(opts.cap_add, opts.cap_drop)
        secopts = security_options(opts.security_opt)  # refuse a bad one before anything is written
        devices = _devices(opts)                     # likewise --device, --device-cgroup-rule
        _restart_policy(opts)                        # and --restart (with --rm), --health-*
        _healthcheck(opts, icfg)
        if opts.privileged:
            from .._sys.constants import CAPS
            caps = list(CAPS)
        extra_env = []
        for path in opts.env_files:
            try:
                with open(path) as f:
                    extra_env += parse_env_file(f.read(), path)
            except OSError as e:
                raise InvalidArgument(f"cannot read env file {path}: {e.strerror}") from None
        extra_env += list(opts.env)   # bare NAMEs: the front end resolved what it could
        env = merge_env(icfg.get("Env"), extra_env)
        if opts.name is not None:
            name = check_name(opts.name)
        else:
            name = None
        cid = new_id()
        hostname = opts.hostname or cid[:12]
        if len(hostname) > 64:
            raise InvalidArgument(f"invalid hostname {hostname!r}: longer than 64 characters")
        net_mode, publish = self._network_mode(opts, icfg)
        if opts.mac_address or opts.links:   # --mac-address, --link (network.attach)
            from ..network.attach import check_create as check_endpoint
            check_endpoint(opts, net_mode, self.get)
        if os.geteuid() != 0:   # rootless (issue 14): what it cannot have, refused up front
            from ..rootless.policy import check_create
            check_create(opts, limits, net_mode, self.cgroup_parent, publish)
        if opts.userns:   # --userns=private (issue 14): checked before anything is written
            from ..rootless.private import check_create as check_userns
            check_userns(opts)
        if hooks is None and (opts.volumes or opts.mounts or opts.tmpfs or opts.volumes_from
                              or icfg.get("Volumes")):
            hooks = self.hooks          # the volumes package, only when there are mounts
        mounts = hooks.mounts(opts, image, cid) if hooks else []
        try:
            return self._write_new(opts, cid, name, hostname, image, icfg, argv, env, limits,
                                   caps, mounts, net_mode, publish, devices, secopts=secopts)
        except BaseException:
            if hooks:
                hooks.discard(mounts, cid)
            raise

    def _write_new(self, opts, cid, name, hostname, image, icfg, argv, env, limits, caps,
                   mounts, net_mode, publish, devices=((), ()), secopts=None) -> Container:
        from ..runtime.spec import ProcessSpec
        from .options import seccomp_choice
        if secopts is None:
            secopts = security_options(opts.security_opt)
        tmp = os.path.join(self.dir, f".new-{cid}")
        final = os.path.join(self.dir, cid)
        os.makedirs(tmp)
        try:
            for sub in ("upper", "work", "merged"):
                os.mkdir(os.path.join(tmp, sub))
            with open(os.path.join(tmp, "hostname"), "w") as f:
                f.write(hostname + "\n")
            extra_hosts = []
            if opts.add_hosts and net_mode != "host":   # host-gateway: see network.dns
                from ..network.dns import resolve_add_hosts
                extra_hosts = resolve_add_hosts(self.root, opts.add_hosts)
            with open(os.path.join(tmp, "hosts"), "w") as f:
                from ..network import dns
                f.write(dns.render_hosts(hostname, [], (),
                                         [dns.parse_add_host(h) for h in extra_hosts]))
            with open(os.path.join(tmp, "resolv.conf"), "w") as f:
                f.write(_resolv_conf(opts.dns))
            exposed = {**(icfg.get("ExposedPorts") or {}),
                       **{_expose_key(e): {} for e in opts.expose}}
            spec = ProcessSpec(
                id=cid, args=argv, env=env, cwd=opts.workdir or icfg.get("WorkingDir") or "/",
                user=opts.user if opts.user is not None else icfg.get("User", ""),
                hostname=hostname, lower_dirs=list(image.layer_dirs),
                upper_dir=os.path.join(final, "upper"), work_dir=os.path.join(final, "work"),
                rootfs=os.path.join(final, "merged"),
                etc_files={"/etc/hostname": os.path.join(final, "hostname"),
                           "/etc/hosts": os.path.join(final, "hosts"),
                           "/etc/resolv.conf": os.path.join(final, "resolv.conf")},
                mounts=mounts, caps=caps, readonly_rootfs=opts.read_only, tty=opts.tty,
                init=opts.init, no_new_privs=not opts.privileged,
                devices=[n.__dict__ for n in devices[1]], privileged=opts.privileged,
                seccomp=seccomp_choice(secopts, opts.privileged),
                network_mode=net_mode, open_stdin=opts.interactive,
                device_cgroup_rules=list(opts.device_cgroup_rules or ()),
                auto_remove=opts.auto_remove, publish=list(opts.publish or ()),
                publish_all=bool(opts.publish_all), exposed_ports=list(exposed),
                network_aliases=list(opts.network_aliases or ()),
                extra_hosts=extra_hosts)
            if net_mode == "host":
                spec.namespaces = [n for n in spec.namespaces if n != "net"]
                spec.etc_files.pop("/etc/hosts")
                spec.etc_files.pop("/etc/resolv.conf")
            spec.network_ready = net_mode not in ("none", "host") and \
                not net_mode.startswith("container:")
            config = {
                "Id": cid, "Created": now_iso(), "Path": argv[0], "Args": argv[1:],
                "Image": image.id, "Name": "/" + (name or ""),
                "Config": {"Hostname": hostname, "User": spec.user, "Tty": opts.tty,
                           "OpenStdin": opts.interactive, "AttachStdin": opts.interactive,
                           "Env": env, "Cmd": opts.command or icfg.get("Cmd"),
                           "Entrypoint": opts.entrypoint if opts.entrypoint is not None
                           else icfg.get("Entrypoint"),
                           "Image": opts.image, "WorkingDir": spec.cwd,
                           "Labels": {**(icfg.get("Labels") or {}), **opts.labels},
                           "StopSignal": opts.stop_signal or icfg.get("StopSignal") or "SIGTERM",
                           "StopTimeout": opts.stop_timeout,
                           "ExposedPorts": exposed,
                           "Volumes": icfg.get("Volumes"),
                           **({"Healthcheck": hc_} if (hc_ := _healthcheck(opts, icfg)) else {})},
                "HostConfig": {"Memory": limits.memory or 0, "MemorySwap": limits.memory_swap or 0,
                               "NanoCpus": int((limits.cpus or 0) * 1e9),
                               "CpuShares": limits.cpu_shares or 0,
                               "CpusetCpus": limits.cpuset_cpus or "",
                               "CpusetMems": limits.cpuset_mems or "",
                               "PidsLimit": limits.pids, "AutoRemove": opts.auto_remove,
                               "CapAdd": opts.cap_add, "CapDrop": opts.cap_drop,
                               "Init": opts.init, "ReadonlyRootfs": opts.read_only,
                               "Privileged": opts.privileged,
                               "Devices": [m.docker() for m in devices[0]],
                               "DeviceCgroupRules": opts.device_cgroup_rules,
                               "SecurityOpt": secopts or None,
                               "OpenStdin": opts.interactive, "Binds": opts.volumes,
                               "Tmpfs": opts.tmpfs, "NetworkMode": net_mode,
                               "PortBindings": _port_bindings(publish),
                               "PublishSpecs": opts.publish,
                               "PublishAllPorts": opts.publish_all,
                               "NetworkAliases": opts.network_aliases,
                               "ExtraHosts": opts.add_hosts, "Dns": opts.dns,
                               "RestartPolicy": _restart_policy(opts)},
                "Mounts": [m.__dict__ for m in mounts],
                "Limits": limits.__dict__, "CgroupParent": self.cgroup_parent,
                "Spec": spec.to_json(), "RestartCount": 0, "Driver": "overlay",
                "Platform": "linux",
            }
            if opts.userns and opts.userns != "host":   # issue 14: rootless/private.py
                from ..rootless.private import host_range
                config["Spec"]["userns"] = "private"
                config["HostConfig"]["UsernsMode"] = "private"
                config["IdMap"] = host_range().to_json()
            cstate.write_json(os.path.join(tmp, "state.json"),
                              {"Status": "created", "Running": False, "Pid": 0, "ExitCode": 0})
            with cstate.locked(os.path.join(self.dir, ".lock")):
                if name is None:
                    name = random_name()
                    while self._name_owner(name):
                        name = random_name() + str(int.from_bytes(os.urandom(1), "big"))
                else:
                    owner = self._name_owner(name)
                    if owner:
                        raise Conflict(f'The container name "/{name}" is already in use by '
                                       f'container "{owner}". You have to remove (or rename) '
                                       'that container to be able to reuse that name.')
                config["Name"] = "/" + name
                if opts.mac_address or opts.links:
                    from ..network.attach import create_fields
                    create_fields(config, opts, name)
                cstate.write_json(os.path.join(tmp, "config.json"), config)
                self._claim_name(name, cid)
                try:
                    os.rename(tmp, final)
                except BaseException:
                    self._release_name(name, cid)
                    raise
        except BaseException:
            import shutil
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        return self._load(cid)  # type: ignore[return-value]

    def _network_mode(self, opts: CreateOptions, icfg: dict):
        """Docker's --network choices, validated before anything is created."""
        if opts.add_hosts:
            from ..network.dns import check_add_host
            for h in opts.add_hosts:
                check_add_host(h)       # bad --add-host: an error before anything exists
        publish = []
        if opts.publish:
            from ..network.ports import parse_publish
            for spec in opts.publish:
                publish += parse_publish(spec)
        for e in opts.expose:
            _expose_key(e)
        # -p/-P and --link need a network: Docker's default bridge, then (no NAT out)
        mode = opts.network or ("bridge" if opts.publish or opts.publish_all or opts.links
                                else "none")
        if mode == "default":
            mode = "bridge"
        if mode.startswith("container:"):
            other = self.get(mode.split(":", 1)[1])
            if not other.running:
                raise Conflict(f"cannot join network of a non running container: {other.name}")
            if opts.publish or opts.publish_all:
                raise InvalidArgument("conflicting options: port publishing and the container "
                                      "type network mode")
            return f"container:{other.id}", publish
        if mode in ("none", "host"):
            if (opts.publish or opts.publish_all) and mode == "none":
                raise InvalidArgument("conflicting options: port publishing and --network none")
            return mode, publish
        if mode != "bridge":
            from ..network.store import NetworkStore  # light: JSON only, no netlink
            nets = NetworkStore(self.root).all()
            found = [n for n in nets if n.name == mode] or \
                [n for n in nets if n.id.startswith(mode)]
            if len(found) != 1:
                raise NotFound(f"network {mode} not found (see `glassbox network ls`)")
            mode = found[0].name
        return mode, publish

    # ---- start --------------------------------------------------------------
    def start(self, ref: str, attach: tuple = (None, None, None)) -> "Started":
        """Launch the shim; return once the command is exec'd (or raise
        ContainerExit with Docker's 126/127)."""
        c = self.get(ref)
        if c.status in ("running", "restarting"):    # restarting: its monitor starts it
            return Started(c.id, c.pid, None)
        if c.status == "paused":
            raise Conflict(f"cannot start a paused container {c.name}; unpause it first")
        if c.state.get("RestartCount") or c.state.get("ManuallyStopped"):
            # a start by hand: the policy starts over (Docker resets RestartCount)
            cstate.update_state(c.dir, RestartCount=0, RestartDelay=0, ManuallyStopped=False)
        else:
            with cstate.locked(os.path.join(c.dir, "lock")):
                pass
        status_r, status_w = os.pipe2(os.O_CLOEXEC)
        try:
            launch_shim(c.dir, status_w, attach)
        finally:
            os.close(status_w)
        reader = StatusReader(status_r)
        msg = reader.next()
        if msg is None:
            reader.close()
            raise ContainerExit(f"container {c.name}: the monitor exited before starting it", 125)
        if "error" in msg:
            reader.close()
            raise ContainerExit(msg["error"], msg.get("code", 125))
        return Started(c.id, msg["pid"], reader)

    # ---- wait / stop / kill -------------------------------------------------
    def wait(self, ref: str, timeout: float | None = None) -> int:
        c = self.get(ref)
        deadline = None if timeout is None else time.monotonic() + timeout
        while c.running or c.status == "restarting":
            if processes.alive(c.pid, c.state.get("PidStartTime")):
                _wait_pid_exit(c.pid, 0.2)      # the container's own process first
            else:
                time.sleep(0.002)               # then its monitor's exit record
            if deadline and time.monotonic() > deadline:
                raise Conflict(f"timed out waiting for container {c.name}")
            try:
                c = self.get(c.id)
            except NotFound:
                return 0
        return c.exit_code

    def kill(self, ref: str, sig: str | int | None = None) -> None:
        c = self.get(ref)
        if c.status == "restarting":          # nothing runs: only the restart to cancel
            parse_signal(sig)
            self._cancel_restart(c)
            return
        if c.status != "running" and c.status != "paused":
            raise Conflict(f"Cannot kill container: {c.name}: container {c.id[:12]} is not "
                           "running")
        signum = parse_signal(sig)
        if signum in (signal.SIGKILL, parse_signal(c.config["Config"].get("StopSignal"),
                                                   signal.SIGTERM)):
            self._mark_stopped(c)          # a kill that ends it is a manual stop (Docker's)
        try:
            os.kill(c.pid, signum)
        except ProcessLookupError:
            pass
        if c.status == "paused" and signum == signal.SIGKILL:
            self._cgroup(c).thaw()

    def stop(self, ref: str, timeout: int | None = None) -> None:
        c = self.get(ref)
        if c.status == "restarting":
            self._cancel_restart(c)
            return
        if not c.running:
            return
        if timeout is None:
            timeout = c.config["Config"].get("StopTimeout") or 10
        sig = parse_signal(c.config["Config"].get("StopSignal"), signal.SIGTERM)
        self._mark_stopped(c)
        self._signal_and_wait(c, sig, timeout)
        self._after_exit(c)

    def _mark_stopped(self, c: Container) -> None:
        """Tell the container's monitor not to restart it (``stop``, ``kill``,
        ``rm -f``: Docker's HasBeenManuallyStopped). Only a container with a
        restart policy pays for the state write."""
        policy = (c.config["HostConfig"].get("RestartPolicy") or {}).get("Name")
        if policy not in (None, "", "no"):
            c.state = cstate.update_state(c.dir, ManuallyStopped=True) or c.state

    def _cancel_restart(self, c: Container, timeout: float = 10) -> None:
        """Stop a container that is restarting: its monitor sleeps out the backoff
        (SIGTERM ends the sleep) or is starting it again (then it is stopped like
        any running one). Either way it ends exited, with no restart pending."""
        cstate.update_state(c.dir, ManuallyStopped=True)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            fresh = self._load(c.id)
            if fresh is None or fresh.status not in ("restarting", "running", "paused"):
                return
            if fresh.status == "restarting":
                shim = fresh.state.get("ShimPid", 0)
                try:
                    os.kill(shim, signal.SIGTERM)
                except (ProcessLookupError, PermissionError):
                    pass
                _wait_gone(shim, None, 0.2)
            else:
                self._signal_and_wait(fresh, signal.SIGKILL, 5)
                self._after_exit(fresh)
        fresh = self._load(c.id)
        if fresh is not None and fresh.status == "restarting":
            cstate.update_state(c.dir, Status="exited", Running=False, Pid=0)

    def _signal_and_wait(self, c: Container, sig: int, timeout: float) -> None:
        """Send ``sig`` to the container's first process (killing a PID namespace's
        pid 1 ends all of it); SIGKILL after ``timeout``; then wait for the shim
        to have recorded the exit."""
        if c.status == "paused":
            self._cgroup(c).thaw()
        try:
            os.kill(c.pid, sig)
        except ProcessLookupError:
            pass
        if not _wait_gone(c.pid, c.state.get("PidStartTime"), timeout):
            try:
                os.kill(c.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            _wait_gone(c.pid, c.state.get("PidStartTime"), 10)
        shim = c.state.get("ShimPid", 0)
        if shim:
            _wait_gone(shim, None, 5)

    def _after_exit(self, c: Container) -> None:
        """If the shim died with the container, do its bookkeeping ourselves."""
        fresh = self._load(c.id)
        if fresh and fresh.status in ("running", "paused"):
            cstate.update_state(c.dir, Status="exited", Running=False, Pid=0, ExitCode=137,
                                FinishedAt=now_iso())
            self._release_network(c)
        try:
            self._cgroup(c).destroy()
        except Exception:  # noqa: BLE001
            pass

    def _release_network(self, c: Container) -> None:
        from ..runtime.shim import _release_network
        _release_network(c.dir, c.config)

    def release_leftovers(self, c: Container) -> None:
        """What a container taken down with its monitor (a reboot) left: its
        cgroup and its network endpoints. Before it starts again."""
        try:
            self._cgroup(c).destroy()
        except Exception:  # noqa: BLE001
            pass
        self._release_network(c)

    def restart(self, ref: str, timeout: int | None = None) -> None:
        self.stop(ref, timeout)
        self.start(ref).detach()

    def pause(self, ref: str) -> None:
        c = self.get(ref)
        if c.status != "running":
            raise Conflict(f"Container {c.id} is not running")
        self._cgroup(c).freeze()
        cstate.update_state(c.dir, Status="paused")

    def unpause(self, ref: str) -> None:
        c = self.get(ref)
        if c.status != "paused":
            raise Conflict(f"Container {c.id} is not paused")
        self._cgroup(c).thaw()
        cstate.update_state(c.dir, Status="running")

    # ---- remove -------------------------------------------------------------
    def remove(self, ref: str, force: bool = False, hooks=None, volumes: bool = False) -> str:
        c = self.get(ref)
        if hooks is None and c.config.get("Mounts"):
            hooks = self.hooks
        if c.running or c.status == "restarting":
            if not force:
                raise Conflict(f"You cannot remove a {c.status} container {c.id}. Stop the "
                               "container before attempting removal or force remove")
            if c.status == "restarting":
                self._cancel_restart(c)
            else:
                self._mark_stopped(c)
                self._signal_and_wait(c, signal.SIGKILL, 10)
        try:
            self._cgroup(c).destroy()
        except Exception:  # noqa: BLE001
            pass
        self._release_network(c)
        if hooks:
            hooks.removed(c, volumes)
        cstate.remove_container_dir(c.dir)
        self._release_name(c.name, c.id)
        return c.id

    def prune(self, hooks=None) -> list[str]:
        return [self.remove(c.id, hooks=hooks, volumes=True) for c in self.list()
                if not c.running]

    def rename(self, ref: str, new: str) -> None:
        c = self.get(ref)
        new = check_name(new)
        with cstate.locked(os.path.join(self.dir, ".lock")):
            owner = self._name_owner(new)
            if owner and owner != c.id:
                raise Conflict(f'Error when allocating new name: The container name "/{new}" '
                               f'is already in use by container "{owner}".')
            self._claim_name(new, c.id)
            config = cstate.read_json(os.path.join(c.dir, "config.json"))
            config["Name"] = "/" + new
            cstate.write_json(os.path.join(c.dir, "config.json"), config)
            self._release_name(c.name, c.id)

    # ---- resources ----------------------------------------------------------
    def _cgroup(self, c: Container):
        from ..cgroups import open_cgroup
        return open_cgroup(c.id, parent=c.config.get("CgroupParent", self.cgroup_parent))

    def stats(self, ref: str):
        """The container's cgroup numbers, or None once it is not running (also in
        the instant between its exit and the shim recording it)."""
        c = self.get(ref)
        if not c.running:
            return None
        try:
            return self._cgroup(c).stats()
        except NotFound:
            return None

    def update(self, ref: str, restart=None, **changes) -> dict:
        """``glassbox update``: new limits, applied live to the running cgroup; a
        new restart policy (``restart``: ``--restart`` text or a RestartPolicy),
        which the container's monitor reads at its next exit."""
        from ..cgroups.limits import Limits
        c = self.get(ref)
        if restart is not None:
            self._update_restart(c, restart)
            if all(v is None for v in changes.values()):
                return dict(c.config["Limits"])
        old = Limits(**c.config["Limits"])
        new = old.merge(Limits(**{k: v for k, v in changes.items() if v is not None}))
        if new.memory and old.memory_swap and changes.get("memory_swap") is None and \
                old.memory_swap != -1 and new.memory > old.memory_swap:
            new = new.merge(Limits(memory_swap=new.memory * 2))
        new = new.validate()
        if c.running:
            self._cgroup(c).apply(new)
        with cstate.locked(os.path.join(c.dir, "lock")):
            config = cstate.read_json(os.path.join(c.dir, "config.json"))
            config["Limits"] = new.__dict__
            hc = config["HostConfig"]
            hc["Memory"], hc["MemorySwap"] = new.memory or 0, new.memory_swap or 0
            hc["NanoCpus"], hc["CpuShares"] = int((new.cpus or 0) * 1e9), new.cpu_shares or 0
            hc["PidsLimit"] = new.pids
            hc["CpusetCpus"], hc["CpusetMems"] = new.cpuset_cpus or "", new.cpuset_mems or ""
            cstate.write_json(os.path.join(c.dir, "config.json"), config)
        return new.__dict__

    def _update_restart(self, c: Container, restart) -> None:
        from .restart import RestartPolicy, parse
        policy = restart if isinstance(restart, RestartPolicy) else parse(restart)
        if c.config["HostConfig"].get("AutoRemove") and not policy.is_none:
            raise InvalidArgument("Restart policy cannot be updated because AutoRemove is "
                                  "enabled for the container")
        with cstate.locked(os.path.join(c.dir, "lock")):
            config = cstate.read_json(os.path.join(c.dir, "config.json"))
            config["HostConfig"]["RestartPolicy"] = policy.to_json()
            cstate.write_json(os.path.join(c.dir, "config.json"), config)
        c.config = config

    def top(self, ref: str) -> dict:
        """``docker top``: the container's processes, as the host sees them."""
        c = self.get(ref)
        if not c.running:
            raise Conflict(f"Container {c.id} is not running")
        pids = sorted(self._cgroup(c).pids())
        rows = []
        ticks = os.sysconf("SC_CLK_TCK")
        for pid in pids:
            try:
                with open(f"/proc/{pid}/stat") as f:
                    stat = f.read()
                with open(f"/proc/{pid}/cmdline", "rb") as f:
                    cmd = f.read().replace(b"\0", b" ").decode(errors="replace").strip()
                uid = os.stat(f"/proc/{pid}").st_uid
            except OSError:
                continue
            fields = stat.rsplit(")", 1)[1].split()
            cpu = (int(fields[11]) + int(fields[12])) // ticks
            rows.append([str(uid), str(pid), fields[1], "0",
                         f"{cpu // 3600:02d}:{cpu // 60 % 60:02d}:{cpu % 60:02d}",
                         cmd or stat.split("(", 1)[1].rsplit(")", 1)[0]])
        return {"Titles": ["UID", "PID", "PPID", "C", "TIME", "CMD"], "Processes": rows}

    # ---- logs ---------------------------------------------------------------
    def logs_count(self, ref: str) -> int:
        """How many entries the container's log holds (counted, not decoded)."""
        return _log_count(os.path.join(self.get(ref).dir, "container.log"))

    def logs(self, ref: str, follow: bool = False, tail: int | None = None,
             since: str | None = None):
        """Yield ``(stream, text, time)`` entries from the container's log."""
        c = self.get(ref)
        path = os.path.join(c.dir, "container.log")
        try:
            f = open(path, "rb")
        except FileNotFoundError:
            if not follow:
                return
            while not os.path.exists(path):
                if not self._still_running(c.id):
                    return
                time.sleep(0.05)
            f = open(path, "rb")
        from .logfile import last_lines, lines_from
        with f:                 # from the end for --tail; else a line at a time (logfile.py)
            lines = last_lines(f, tail) if tail is not None and tail >= 0 else lines_from(f)
            for raw in lines:
                yield _entry(raw)
            if not follow:
                return
            buf = b""
            while True:
                chunk = f.readline()
                if chunk:
                    buf += chunk
                    if buf.endswith(b"\n"):
                        yield _entry(buf)
                        buf = b""
                    continue
                if not self._still_running(c.id):
                    rest = f.read()
                    for raw in (buf + rest).splitlines():
                        if raw.strip():
                            yield _entry(raw)
                    return
                time.sleep(0.05)

    def _still_running(self, cid: str) -> bool:
        c = self._load(cid)
        return bool(c and c.running)


def _log_count(path: str) -> int:
    from .logfile import count_lines
    try:
        with open(path, "rb") as f:
            return count_lines(f)
    except FileNotFoundError:
        return 0


def _entry(raw: bytes) -> tuple[str, str, str]:
    d = json.loads(raw.decode("utf-8", "replace"))
    return d.get("stream", "stdout"), d.get("log", ""), d.get("time", "")


def _wait_pid_exit(pid: int, timeout: float) -> None:
    """Sleep until ``pid`` exits or ``timeout`` passes (pidfd: no busy polling)."""
    import select
    try:
        fd = os.pidfd_open(pid)
    except OSError:
        return
    try:
        select.select([fd], [], [], timeout)
    finally:
        os.close(fd)


def _wait_gone(pid: int, start_time, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while processes.alive(pid, start_time):
        left = deadline - time.monotonic()
        if left <= 0:
            return False
        _wait_pid_exit(pid, min(left, 0.5))
        # a zombie (not yet reaped by its parent) still counts as gone
    return True


class StatusReader:
    """Reads the shim's JSON-lines status pipe."""

    def __init__(self, fd: int):
        self.fd = fd
        self.buf = b""

    def next(self) -> dict | None:
        while b"\n" not in self.buf:
            try:
                chunk = os.read(self.fd, 4096)
            except InterruptedError:
                continue
            if not chunk:
                return None
            self.buf += chunk
        line, self.buf = self.buf.split(b"\n", 1)
        return json.loads(line)

    def close(self) -> None:
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1


class Started:
    """A started container: its id, its first process, and (when attached) the
    shim's status pipe that will carry the exit code."""

    __slots__ = ("id", "pid", "reader")

    def __init__(self, id: str, pid: int, reader: "StatusReader | None"):  # noqa: A002
        self.id, self.pid, self.reader = id, pid, reader

    def wait_exit(self) -> dict | None:
        """Block until the shim reports the exit (attached runs)."""
        if self.reader is None:
            return None
        try:
            return self.reader.next()
        finally:
            self.detach()

    def detach(self) -> None:
        if self.reader:
            self.reader.close()
            self.reader = None


def _single_threaded() -> bool:
    try:
        return len(os.listdir("/proc/self/task")) == 1
    except OSError:
        return False


def _prewarm(network: bool = False) -> None:
    """Import what the shim and the container's init need *before* forking, so
    each forked shim starts with it loaded (once per process, not per container).
    ``network``: also the netlink code (~200 ms, once) for a container to wire."""
    import socket  # noqa: F401
    import termios  # noqa: F401
    from ..cgroups import _mounts, v1, v2  # noqa: F401
    from ..rootfs import setup  # noqa: F401
    from ..runtime import init, shim  # noqa: F401
    from ..runtime.monitor import binary
    from ..seccomp import cache  # noqa: F401  (the filter's cache, read by every shim)
    _mounts("/proc/self/mountinfo")
    binary()
    if network:
        from ..network import manager, netlink  # noqa: F401
        netlink.preload()


def _needs_network(cdir: str) -> bool:
    try:
        return cstate.read_json(os.path.join(cdir, "config.json"))["Spec"].get(
            "network_ready", False)
    except (OSError, ValueError, KeyError):
        return False


_SHIMS: set[int] = set()   # shims we forked and have not reaped yet


def _reap_shims() -> None:
    """Collect the exit status of shims that have ended (so they are not zombies
    of a long-lived caller); a container outliving us is reparented anyway."""
    for pid in list(_SHIMS):
        try:
            done, _ = os.waitpid(pid, os.WNOHANG)
        except ChildProcessError:
            done = pid
        if done:
            _SHIMS.discard(pid)


def launch_shim(cdir: str, status_w: int, attach: tuple) -> None:
    """Start the shim in its own session. A single-threaded caller forks it (one
    fork: no interpreter start); others start a fresh interpreter, which forks
    once more so the shim is not its child."""
    if _single_threaded():
        _prewarm(network=_needs_network(cdir))
        _reap_shims()
        pid = os.fork()
        if pid == 0:
            try:
                os.setsid()
                from ..runtime.shim import shim_main
                shim_main(cdir, status_w, attach)
            finally:
                os._exit(125)
        _SHIMS.add(pid)
        return
    import subprocess
    import sys
    from ..runtime.shim import boot_path
    boot = ("import sys; sys.path[:0] = sys.argv[1].split(':'); del sys.argv[1]; "
            "from glassbox.runtime.shim import main; main()")
    fds = [fd for fd in (status_w, *attach) if fd is not None]
    args = [sys.executable, "-I", "-S", "-c", boot, boot_path(), cdir, str(status_w)] + \
        ["-" if fd is None else str(fd) for fd in attach]
    subprocess.run(args, pass_fds=fds, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL, start_new_session=True, check=False)
