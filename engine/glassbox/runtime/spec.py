"""What to start: a pure, serialisable description of one container process.

``ProcessSpec`` is to glassbox what ``config.json`` is to runc: everything the
init code needs, decided up front. ``merge_command`` and ``merge_env`` encode
Docker's rules for combining the image config with ``run`` flags, and they are
unit-tested without root.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

from ..errors import InvalidArgument

DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

# Docker's default capability set (moby oci/caps/defaults.go).
DEFAULT_CAPS = (
    "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FSETID", "CAP_FOWNER", "CAP_MKNOD", "CAP_NET_RAW",
    "CAP_SETGID", "CAP_SETUID", "CAP_SETFCAP", "CAP_SETPCAP", "CAP_NET_BIND_SERVICE",
    "CAP_SYS_CHROOT", "CAP_KILL", "CAP_AUDIT_WRITE",
)

# Docker masks these /proc and /sys paths (bind /dev/null or an empty ro tmpfs on top)...
MASKED_PATHS = (
    "/proc/asound", "/proc/acpi", "/proc/kcore", "/proc/keys", "/proc/latency_stats",
    "/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug", "/proc/scsi",
    "/sys/firmware", "/sys/devices/virtual/powercap",
)
# ... and makes these read-only.
READONLY_PATHS = ("/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger")


@dataclass
class Mount:
    """A bind or tmpfs mount inside the container (volumes, ``-v``, ``--tmpfs``)."""

    type: str          # "bind" | "tmpfs"
    source: str        # host path (bind) or "" (tmpfs)
    target: str        # absolute path inside the container
    readonly: bool = False
    options: str = ""  # tmpfs data, e.g. "size=64m"
    propagation: str = ""  # bind: rprivate (default), rslave, rshared, private, slave, shared
    subpath: str = ""      # bind of a volume: this path inside it (volumes.subpath)


@dataclass
class ProcessSpec:
    """Everything ``runtime.init`` needs to turn a forked child into the container."""

    id: str
    args: list[str]
    env: list[str]
    cwd: str = "/"
    user: str = ""                       # "", "uid", "uid:gid", "name", "name:group"
    hostname: str = ""
    lower_dirs: list[str] = field(default_factory=list)   # image layers, bottom -> top
    upper_dir: str = ""
    work_dir: str = ""
    rootfs: str = ""                     # the merged mount point
    etc_files: dict[str, str] = field(default_factory=dict)  # /etc/hosts -> host file
    mounts: list[Mount] = field(default_factory=list)
    caps: list[str] = field(default_factory=lambda: list(DEFAULT_CAPS))
    no_new_privs: bool = True
    readonly_rootfs: bool = False
    tty: bool = False
    namespaces: list[str] = field(default_factory=lambda: ["pid", "mnt", "uts", "ipc", "net",
                                                           "cgroup"])
    netns_path: str = ""                 # join this netns instead of a new one (--network container:)
    network_ready: bool = False          # pause after unshare(NET) until the shim has wired eth0
    init: bool = False                   # --init: a tiny reaping pid 1
    userns: str = ""                     # rootless: "single"/"subids" id map (set by the shim)
    devices: list[dict] = field(default_factory=list)  # --device nodes (cgroups.devices.DeviceNode)
    privileged: bool = False             # host /dev nodes, /sys read-write, no masked paths
    seccomp: str = "default"             # "default" (Docker's profile), "unconfined" or a
                                         # profile's JSON text (glassbox.seccomp)
    # -- the container's side of the start, read by the shim (not by init); Docker
    # keeps these in HostConfig, which the shim no longer reads (issue 17)
    network_mode: str = "none"           # "bridge", a user network, "none", "host", "container:X"
    open_stdin: bool = False             # -i: stdin stays open (attached, or a FIFO)
    device_cgroup_rules: list[str] = field(default_factory=list)  # --device-cgroup-rule
    auto_remove: bool = False            # --rm: the container goes when its start fails or it exits
    # -- its network, read when it is wired (network.attach) and when peers' /etc/hosts
    # are written; a connect's plan stays in config.json's NetworkingConfig (it changes)
    publish: list[str] = field(default_factory=list)        # -p specs, as given
    publish_all: bool = False            # -P: every exposed port on a free host port
    exposed_ports: list[str] = field(default_factory=list)  # "80/tcp", image's and --expose
    network_aliases: list[str] = field(default_factory=list)  # --network-alias (primary network)
    mac_address: str = ""                # --mac-address (primary network), checked
    links: list[str] = field(default_factory=list)          # --link NAME:ALIAS, checked
    extra_hosts: list[str] = field(default_factory=list)    # --add-host NAME:IP

    def to_json(self) -> dict:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict) -> "ProcessSpec":
        data = dict(data)
        data["mounts"] = [Mount(**m) for m in data.get("mounts", [])]
        return cls(**data)

    @classmethod
    def for_container(cls, config: dict) -> "ProcessSpec":
        """The spec in a container's ``config.json``. One written before a field
        existed takes that field from Docker's ``HostConfig``/``Config``, where the
        same value has always been recorded (see :func:`container_field`)."""
        data = config["Spec"]
        missing = [k for k in _LEGACY if k not in data]
        if missing:
            old = _legacy_fields(config)
            data = {**data, **{k: old[k] for k in missing}}
        return cls.from_json(data)


def container_field(config: dict, name: str):
    """One field of a container's spec (``network_mode``, ``links``, ...), read from
    its ``config.json`` without building the whole spec: the spec's value, or for a
    container created before that field existed (or a record without a spec), the
    value Docker's ``HostConfig``/``Config`` has held all along."""
    spec = config.get("Spec") or {}
    if name in spec:
        return spec[name]
    return _legacy_fields(config)[name]


# spec field <- where Docker's inspect document has it (configs older than issue 17)
_LEGACY = ("network_mode", "open_stdin", "device_cgroup_rules", "auto_remove", "privileged",
           "publish", "publish_all", "exposed_ports", "network_aliases", "mac_address",
           "links", "extra_hosts")


def _legacy_fields(config: dict) -> dict:
    """The spec's fields from Docker's ``HostConfig`` and ``Config``."""
    hc = config.get("HostConfig") or {}
    cfg = config.get("Config") or {}
    return {"network_mode": hc.get("NetworkMode") or "none",
            "open_stdin": bool(hc.get("OpenStdin")),
            "device_cgroup_rules": list(hc.get("DeviceCgroupRules") or ()),
            "auto_remove": bool(hc.get("AutoRemove")),
            "privileged": bool(hc.get("Privileged")),
            "publish": list(hc.get("PublishSpecs") or ()),
            "publish_all": bool(hc.get("PublishAllPorts")),
            "exposed_ports": list(cfg.get("ExposedPorts") or {}),
            "network_aliases": list(hc.get("NetworkAliases") or ()),
            "mac_address": cfg.get("MacAddress") or "",
            "links": list(hc.get("Links") or ()),
            "extra_hosts": list(hc.get("ExtraHosts") or ())}


def merge_command(image_config: dict, cmd: list[str] | None,
                  entrypoint: list[str] | None) -> list[str]:
    """Docker's rule: argv = Entrypoint + Cmd, where ``run`` args replace Cmd and
    ``--entrypoint`` replaces Entrypoint (and then drops the image's Cmd)."""
    ep = image_config.get("Entrypoint") or []
    image_cmd = image_config.get("Cmd") or []
    if entrypoint is not None:
        ep = [e for e in entrypoint if e != ""]
        image_cmd = []
    argv = list(ep) + (list(cmd) if cmd else list(image_cmd))
    if not argv:
        raise InvalidArgument("no command specified: the image has no Cmd or Entrypoint; "
                              "give one after the image name")
    return argv


def merge_env(image_env: list[str] | None, extra: list[str]) -> list[str]:
    """Image Env, then ``-e``/``--env-file`` values overriding by name; PATH and
    HOSTNAME defaults as Docker sets them.

    A bare ``NAME`` (no ``=``) is kept as it was given, as Docker keeps it in
    ``Config.Env``: the *client* fills it from its own environment before it
    asks (the CLI does), never the engine — a daemon must not hand its own
    variables to a client's container. A bare name does not undo a value."""
    order: list[str] = []
    values: dict[str, str | None] = {}
    for item in list(image_env or []) + list(extra):
        key, sep, val = item.partition("=")
        if not key:
            raise InvalidArgument(f"invalid environment variable: {item!r}")
        if key not in values:
            order.append(key)
        values[key] = val if sep else values.get(key)
    if "PATH" not in values:
        order.insert(0, "PATH")
        values["PATH"] = DEFAULT_PATH
    return [k if values[k] is None else f"{k}={values[k]}" for k in order]


def parse_env_file(text: str, source: str = "env file") -> list[str]:
    """``--env-file``: KEY=VALUE lines, comments and blanks skipped; a bare KEY
    takes the caller's value like Docker."""
    import os
    out = []
    for n, line in enumerate(text.splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        key, sep, _ = line.partition("=")
        if not key or " " in key:
            raise InvalidArgument(f"{source}:{n}: invalid variable name {key!r}")
        if not sep:
            if key in os.environ:
                out.append(f"{key}={os.environ[key]}")
            continue
        out.append(line)
    return out


def cap_set(add: list[str], drop: list[str]) -> list[str]:
    """Docker's default capabilities with ``--cap-add``/``--cap-drop`` applied
    (``ALL`` accepted; names with or without the ``CAP_`` prefix)."""
    from .._sys.constants import CAPS

    def norm(name: str) -> str:
        n = name.upper()
        n = n if n.startswith("CAP_") or n == "ALL" else "CAP_" + n
        if n != "ALL" and n not in CAPS:
            raise InvalidArgument(f"unknown capability: {name!r}")
        return n

    add_n, drop_n = [norm(c) for c in add], [norm(c) for c in drop]
    caps = list(DEFAULT_CAPS)
    if "ALL" in drop_n:
        caps = []
    caps = [c for c in caps if c not in drop_n]
    if "ALL" in add_n:
        caps = list(CAPS)
    for c in add_n:
        if c != "ALL" and c not in caps:
            caps.append(c)
    return caps
