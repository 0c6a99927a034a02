"""Pure translations between the Docker Engine API's JSON and glassbox values.

No I/O here: the server hands in parsed JSON or Engine objects and gets back
plain dicts. That keeps the mapping — the part most likely to be subtly wrong —
unit-testable without root (``tests/unit/test_daemon_translate.py``).

Reference: moby's ``api/swagger.yaml`` (``ContainerConfig``, ``HostConfig``,
``ContainerSummary``, ``ImageSummary``, ``ContainerStatsResponse``).
"""

from __future__ import annotations

import time

from ..containers.options import CreateOptions
from ..errors import InvalidArgument
from ..present import host_memory
from ..safejson import loads_json   # JSON from clients, with a depth limit (glassbox.safejson)


def _strslice(v, field: str) -> list[str] | None:
    """Docker's ``StrSlice``: null, a string (one element) or a list of strings."""
    if v is None:
        return None
    if isinstance(v, str):
        return [v]
    if isinstance(v, list) and all(isinstance(x, str) for x in v):
        return list(v)
    raise InvalidArgument(f"{field} must be a string or a list of strings")


def _list(v, field: str) -> list[str]:
    if v is None:
        return []
    if not isinstance(v, list) or not all(isinstance(x, str) for x in v):
        raise InvalidArgument(f"{field} must be a list of strings")
    return list(v)


def _int(v, field: str) -> int | None:
    if v is None:
        return None
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        raise InvalidArgument(f"{field} must be a number")
    try:
        return int(v)
    except (OverflowError, ValueError):
        raise InvalidArgument(f"{field} must be a finite number") from None


def _str(v, field: str) -> str | None:
    """An optional string field (null and "" -> None)."""
    if v is None or v == "":
        return None
    if not isinstance(v, str):
        raise InvalidArgument(f"{field} must be a string")
    return v


def _device_specs(v) -> list[str]:
    """HostConfig.Devices (``[{PathOnHost, PathInContainer, CgroupPermissions}]``) as
    ``--device`` values, so one parser (cgroups.devices.parse_device) checks both."""
    if v is None:
        return []
    if not isinstance(v, list) or not all(isinstance(d, dict) for d in v):
        raise InvalidArgument("HostConfig.Devices must be a list of objects")
    out = []
    for i, d in enumerate(v):
        field = f"HostConfig.Devices[{i}]"
        host = _str(d.get("PathOnHost"), field + ".PathOnHost")
        if host is None:
            raise InvalidArgument(f"{field}.PathOnHost is required")
        dst = _str(d.get("PathInContainer"), field + ".PathInContainer") or host
        perms = _str(d.get("CgroupPermissions"), field + ".CgroupPermissions") or "rwm"
        out.append(f"{host}:{dst}:{perms}")
    return out


def _obj(v, field: str) -> dict:
    """An optional JSON object (null -> {})."""
    if v is None:
        return {}
    if not isinstance(v, dict):
        raise InvalidArgument(f"{field} must be an object")
    return v


def _mount_spec(m: dict) -> str:
    """HostConfig.Mounts entry -> a ``--mount`` spec string."""
    if not isinstance(m, dict) or not m.get("Target"):
        raise InvalidArgument("each HostConfig.Mounts entry needs a Target")
    typ = _str(m.get("Type"), "Mounts.Type") or "volume"
    source = _str(m.get("Source"), "Mounts.Source")
    target = _str(m.get("Target"), "Mounts.Target")
    for what, val in (("Type", typ), ("Source", source), ("Target", target)):
        if val and "," in val:   # it would smuggle options into the --mount spec
            raise InvalidArgument(f"Mounts.{what} {val!r}: ',' is not allowed")
    parts = [f"type={typ}"]
    if source:
        parts.append(f"source={source}")
    parts.append(f"target={target}")
    if m.get("ReadOnly"):
        parts.append("readonly")
    bind = _obj(m.get("BindOptions"), "Mounts.BindOptions")
    vol = _obj(m.get("VolumeOptions"), "Mounts.VolumeOptions")
    tmpfs = _obj(m.get("TmpfsOptions"), "Mounts.TmpfsOptions")
    from .fields import check_mount_options
    check_mount_options(bind, vol, tmpfs, readonly=bool(m.get("ReadOnly")))
    prop = _str(bind.get("Propagation"), "Mounts.BindOptions.Propagation")
    sub = _str(vol.get("Subpath"), "Mounts.VolumeOptions.Subpath")
    labels = _obj(vol.get("Labels"), "Mounts.VolumeOptions.Labels")
    opts = [(f"volume-label={k}={v}", f"VolumeOptions.Labels[{k!r}]")
            for k, v in labels.items()]
    for what, val in (("BindOptions.Propagation", prop), ("VolumeOptions.Subpath", sub),
                      *((w, o) for o, w in opts)):
        if val and "," in val:
            raise InvalidArgument(f"Mounts.{what} {val!r}: ',' is not allowed")
    if prop:
        parts.append(f"bind-propagation={prop}")
    if sub:
        parts.append(f"volume-subpath={sub}")
    if vol.get("NoCopy"):
        parts.append("volume-nocopy")
    parts += [o for o, _ in opts]
    size = _int(tmpfs.get("SizeBytes"), "Mounts.TmpfsOptions.SizeBytes")
    if size:
        parts.append(f"tmpfs-size={size}")
    mode = _int(tmpfs.get("Mode"), "Mounts.TmpfsOptions.Mode")
    if mode:
        parts.append(f"tmpfs-mode={mode:o}")
    return ",".join(parts)


def _publish_specs(bindings) -> list[str]:
    """``{"80/tcp": [{"HostIp": "127.0.0.1", "HostPort": "8080"}]}`` -> ``-p`` specs."""
    out = []
    if not bindings:
        return out
    if not isinstance(bindings, dict):
        raise InvalidArgument("HostConfig.PortBindings must be an object")
    for port, binds in bindings.items():
        cport, _, proto = str(port).partition("/")
        suffix = f"/{proto}" if proto and proto != "tcp" else ""
        if binds is not None and not isinstance(binds, list):
            raise InvalidArgument(f"HostConfig.PortBindings[{port!r}] must be a list of "
                                  "{HostIp, HostPort} objects")
        for b in binds or [{}]:
            b = _obj(b, f"HostConfig.PortBindings[{port!r}] entry")
            ip = _str(b.get("HostIp"), "HostIp") or ""
            hp = b.get("HostPort")
            hp = str(_int(hp, "HostPort")) if isinstance(hp, (int, float)) else \
                (_str(hp, "HostPort") or "")
            if ip:
                out.append(f"{ip}:{hp}:{cport}{suffix}")
            elif hp:
                out.append(f"{hp}:{cport}{suffix}")
            else:
                out.append(f"{cport}{suffix}")
    return out


def _api_security_opts(values: list) -> list:
    """``seccomp=`` through the API takes the profile's JSON (the client read the
    file, as the docker CLI does), never a path: a request must not make the
    daemon read files of the host."""
    for v in values:
        key, _, val = str(v).partition("=")
        val = val.strip()
        if key.strip() == "seccomp" and val not in ("unconfined", "builtin") \
                and not val.startswith("{"):
            raise InvalidArgument("HostConfig.SecurityOpt: seccomp takes the profile's JSON "
                                  "(the client reads the file), not a path")
    return values


def create_options(body: dict, name: str | None = None) -> CreateOptions:
    """``POST /containers/create`` JSON -> :class:`CreateOptions`."""
    if not isinstance(body, dict):
        raise InvalidArgument("the request body must be a JSON object (a container config)")
    from .fields import check_create
    check_create(body)   # a field glassbox does not implement: refused, never ignored
    image = body.get("Image")
    if image is not None and not isinstance(image, str):
        raise InvalidArgument("Image must be a string (an image reference)")
    if not image:
        raise InvalidArgument("config is missing the Image to create the container from")
    hc = body.get("HostConfig")
    hc = {} if hc is None else hc
    if not isinstance(hc, dict):
        raise InvalidArgument("HostConfig must be an object")
    entrypoint = _strslice(body.get("Entrypoint"), "Entrypoint")
    labels = body.get("Labels") or {}
    if not isinstance(labels, dict):
        raise InvalidArgument("Labels must be an object")
    tmpfs = hc.get("Tmpfs") or {}
    if not isinstance(tmpfs, dict):
        raise InvalidArgument("HostConfig.Tmpfs must be an object")
    mem_swap = _int(hc.get("MemorySwap"), "HostConfig.MemorySwap")
    pids = _int(hc.get("PidsLimit"), "HostConfig.PidsLimit")
    nano = _int(hc.get("NanoCpus"), "HostConfig.NanoCpus")
    network = _str(hc.get("NetworkMode"), "HostConfig.NetworkMode")
    if network == "default":
        network = None
    aliases: list[str] = []
    mac = _str(body.get("MacAddress"), "MacAddress")    # Config.MacAddress (API < 1.44)
    links = _list(hc.get("Links"), "HostConfig.Links")
    endpoints = _obj(_obj(body.get("NetworkingConfig"), "NetworkingConfig")
                     .get("EndpointsConfig"), "NetworkingConfig.EndpointsConfig")
    for net, ep in endpoints.items():
        ep = _obj(ep, f"NetworkingConfig.EndpointsConfig[{net!r}]")
        if network in (None, net) or len(endpoints) == 1:
            aliases += _list(ep.get("Aliases"), "Aliases")
            ep_mac = _str(ep.get("MacAddress"), "EndpointSettings.MacAddress")
            if ep_mac and mac and ep_mac.lower() != mac.lower():
                raise InvalidArgument(
                    f"Config.MacAddress {mac!r} and the EndpointSettings.MacAddress {ep_mac!r} "
                    f"of network {net!r} differ: give the address once (API 1.44 moved it "
                    "to the endpoint)")
            mac = ep_mac or mac
            links += _list(ep.get("Links"), "EndpointSettings.Links")
            if network is None and net not in ("bridge", "default"):
                network = net
    exposed = _obj(body.get("ExposedPorts"), "ExposedPorts")
    mounts = hc.get("Mounts") or []
    if not isinstance(mounts, list):
        raise InvalidArgument("HostConfig.Mounts must be a list")
    stop_timeout = _int(body.get("StopTimeout"), "StopTimeout")
    return CreateOptions(
        image=image,
        command=_strslice(body.get("Cmd"), "Cmd"),
        name=name or None,
        entrypoint=entrypoint,
        # "NAME" without "=": the client had no value for it. The engine would take one
        # from *its* environment — the daemon's secrets — so it is not passed on
        env=list(_list(body.get("Env"), "Env")),
        workdir=_str(body.get("WorkingDir"), "WorkingDir"),
        user=_str(body.get("User"), "User"),
        hostname=_str(body.get("Hostname"), "Hostname"),
        tty=bool(body.get("Tty")),
        interactive=bool(body.get("OpenStdin")),
        auto_remove=bool(hc.get("AutoRemove")),
        memory=_int(hc.get("Memory"), "HostConfig.Memory") or None,
        memory_swap=mem_swap if mem_swap else None,
        cpus=(nano / 1e9) if nano else None,
        cpu_shares=_int(hc.get("CpuShares"), "HostConfig.CpuShares") or None,
        cpuset_cpus=_str(hc.get("CpusetCpus"), "HostConfig.CpusetCpus"),
        cpuset_mems=_str(hc.get("CpusetMems"), "HostConfig.CpusetMems"),
        pids_limit=pids if pids and pids > 0 else None,
        cap_add=_list(hc.get("CapAdd"), "HostConfig.CapAdd"),
        cap_drop=_list(hc.get("CapDrop"), "HostConfig.CapDrop"),
        init=bool(hc.get("Init")),
        read_only=bool(hc.get("ReadonlyRootfs")),
        userns=_str(hc.get("UsernsMode"), "HostConfig.UsernsMode") or None,   # "private"
        privileged=bool(hc.get("Privileged")),
        devices=_device_specs(hc.get("Devices")),
        device_cgroup_rules=_list(hc.get("DeviceCgroupRules"), "HostConfig.DeviceCgroupRules"),
        security_opt=_api_security_opts(_list(hc.get("SecurityOpt"), "HostConfig.SecurityOpt")),
        labels={str(k): str(v) for k, v in labels.items()},
        # Binds, then Config.Volumes: `docker run -v /data` asks for an anonymous volume
        volumes=_list(hc.get("Binds"), "HostConfig.Binds") +
        [str(t) for t in _obj(body.get("Volumes"), "Volumes")
         if not any(str(b).split(":")[1:2] == [str(t)] for b in hc.get("Binds") or [])],
        mounts=[_mount_spec(m) for m in mounts],
        tmpfs=[f"{p}:{_str(o, 'HostConfig.Tmpfs options')}" if o else p
               for p, o in tmpfs.items()],
        volumes_from=_list(hc.get("VolumesFrom"), "HostConfig.VolumesFrom"),
        network=network,
        network_aliases=aliases,
        mac_address=mac,
        links=list(dict.fromkeys(links)),
        publish=_publish_specs(hc.get("PortBindings")),
        publish_all=bool(hc.get("PublishAllPorts")),
        expose=[str(k) for k in exposed],
        add_hosts=_list(hc.get("ExtraHosts"), "HostConfig.ExtraHosts"),
        dns=_list(hc.get("Dns"), "HostConfig.Dns"),
        stop_signal=_str(body.get("StopSignal"), "StopSignal"),
        stop_timeout=stop_timeout if stop_timeout is not None and stop_timeout >= 0 else None,
        restart=_restart_policy(hc),
        healthcheck=_healthcheck(body.get("Healthcheck")),
    )


def _restart_policy(hc: dict):
    """``HostConfig.RestartPolicy`` (dockerd's checks and messages), or None."""
    doc = hc.get("RestartPolicy")
    if doc is None:
        return None
    from ..containers.restart import check_auto_remove, from_api
    policy = from_api(doc)
    check_auto_remove(policy, bool(hc.get("AutoRemove")), api=True)
    return None if policy.is_none else policy


def _healthcheck(doc):
    """``Config.Healthcheck`` (dockerd's checks and messages), or None."""
    if doc is None:
        return None
    from ..containers.health import validate
    return validate(doc)


def endpoint_request(ep, where: str) -> tuple[list[str], str | None]:
    """A client's ``EndpointSettings`` (create's ``EndpointsConfig``, ``connect``'s
    ``EndpointConfig``) -> (aliases, fixed IPv4 address or None).

    What glassbox cannot honour on an endpoint (IPv6, driver options) is refused with
    the field named, never accepted and ignored; a chosen MAC and links are
    :func:`endpoint_extras`."""
    ep = _obj(ep, where)
    ipam_cfg = _obj(ep.get("IPAMConfig"), f"{where}.IPAMConfig")
    ip = _str(ipam_cfg.get("IPv4Address"), f"{where}.IPAMConfig.IPv4Address")
    for key, what in (("IPv6Address", "IPv6 addresses"), ("LinkLocalIPs", "link-local addresses")):
        if ipam_cfg.get(key):
            raise InvalidArgument(f"{where}.IPAMConfig.{key}: glassbox networks have no "
                                  f"{what} (IPv4 only)")
    for key, what in (("DriverOpts", "driver options"),):
        if ep.get(key):
            raise InvalidArgument(f"{where}.{key}: glassbox endpoints do not support {what}")
    return _list(ep.get("Aliases"), f"{where}.Aliases"), ip


def endpoint_extras(ep, where: str) -> dict:
    """An ``EndpointSettings``' ``MacAddress`` (checked) and ``Links`` as keywords of
    :meth:`Engine.network_connect <glassbox.engine.Engine.network_connect>`
    (``mac``, ``links``); only those given."""
    ep = _obj(ep, where)
    out: dict = {}
    mac = _str(ep.get("MacAddress"), f"{where}.MacAddress")
    if mac:
        from ..network.plan import check_mac
        out["mac"] = check_mac(mac, f"{where}.MacAddress")
    links = _list(ep.get("Links"), f"{where}.Links")
    if links:
        out["links"] = links
    return out


def create_endpoints(body: dict) -> dict[str, tuple[list[str], str | None]]:
    """``NetworkingConfig.EndpointsConfig`` of a create: network -> (aliases, ip)."""
    eps = _obj(_obj(body.get("NetworkingConfig"), "NetworkingConfig").get("EndpointsConfig"),
               "NetworkingConfig.EndpointsConfig")
    return {str(n): endpoint_request(ep, f"NetworkingConfig.EndpointsConfig[{n!r}]")
            for n, ep in eps.items()}


def create_endpoint_extras(body: dict) -> dict[str, dict]:
    """``NetworkingConfig.EndpointsConfig`` of a create: network -> :func:`endpoint_extras`."""
    eps = _obj(_obj(body.get("NetworkingConfig"), "NetworkingConfig").get("EndpointsConfig"),
               "NetworkingConfig.EndpointsConfig")
    return {str(n): endpoint_extras(ep, f"NetworkingConfig.EndpointsConfig[{n!r}]")
            for n, ep in eps.items()}


def network_create_request(body) -> dict:
    """``POST /networks/create`` JSON -> ``NetworkManager.create`` keywords.

    IPAM: the default driver with one IPv4 ``Config`` entry (``Subnet``,
    ``Gateway``, ``IPRange``). Anything glassbox does not build — IPv6, other
    drivers, auxiliary addresses, IPAM options, ingress or config-only networks —
    is refused with the field named."""
    if not isinstance(body, dict) or not body.get("Name"):
        raise InvalidArgument("network create needs a Name")
    name = _str(body.get("Name"), "Name")
    ipam_req = _obj(body.get("IPAM"), "IPAM")
    driver = _str(ipam_req.get("Driver"), "IPAM.Driver") or "default"
    if driver != "default":
        raise InvalidArgument(f"IPAM.Driver {driver!r} is not supported: only 'default'")
    if _obj(ipam_req.get("Options"), "IPAM.Options"):
        raise InvalidArgument("IPAM.Options are not supported by glassbox's IPAM")
    configs = ipam_req.get("Config") or []
    if not isinstance(configs, list):
        raise InvalidArgument("IPAM.Config must be a list")
    if len(configs) > 1:
        raise InvalidArgument("IPAM.Config: glassbox networks have one IPv4 subnet; "
                              f"{len(configs)} were given")
    cfg = _obj(configs[0] if configs else None, "IPAM.Config[0]")
    subnet = _str(cfg.get("Subnet"), "IPAM.Config[0].Subnet")
    if subnet and ":" in subnet:
        raise InvalidArgument(f"IPAM.Config[0].Subnet {subnet}: glassbox networks are IPv4 only")
    if _obj(cfg.get("AuxiliaryAddresses"), "IPAM.Config[0].AuxiliaryAddresses"):
        raise InvalidArgument("IPAM.Config[0].AuxiliaryAddresses are not supported")
    if body.get("EnableIPv6"):
        raise InvalidArgument("EnableIPv6: glassbox networks are IPv4 only")
    for key in ("Ingress", "ConfigOnly"):
        if body.get(key):
            raise InvalidArgument(f"{key}: glassbox has no swarm, so no {key.lower()} networks")
    if _obj(body.get("ConfigFrom"), "ConfigFrom").get("Network"):
        raise InvalidArgument("ConfigFrom: glassbox has no config-only networks")
    scope = _str(body.get("Scope"), "Scope")
    if scope not in (None, "local"):
        raise InvalidArgument(f"Scope {scope!r}: glassbox networks are local")
    labels = _obj(body.get("Labels"), "Labels")
    return {"name": name, "subnet": subnet, "gateway": _str(cfg.get("Gateway"), "Gateway"),
            "ip_range": _str(cfg.get("IPRange"), "IPAM.Config[0].IPRange"),
            "driver": _str(body.get("Driver"), "Driver") or "bridge",
            "internal": bool(body.get("Internal")), "attachable": bool(body.get("Attachable")),
            "labels": {str(k): str(v) for k, v in labels.items()},
            "options": _obj(body.get("Options"), "Options")}


def update_changes(body: dict) -> dict:
    """``POST /containers/{id}/update`` JSON -> ``ContainerManager.update`` keywords."""
    if not isinstance(body, dict):
        raise InvalidArgument("the request body must be a JSON object")
    from .fields import check_update
    check_update(body)
    nano = _int(body.get("NanoCpus"), "NanoCpus")
    pids = _int(body.get("PidsLimit"), "PidsLimit")
    out = {"memory": _int(body.get("Memory"), "Memory") or None,
           "memory_swap": _int(body.get("MemorySwap"), "MemorySwap") or None,
           "cpus": nano / 1e9 if nano else None,
           "cpu_shares": _int(body.get("CpuShares"), "CpuShares") or None,
           "pids": pids if pids and pids > 0 else None}
    for key, field in (("cpuset_cpus", "CpusetCpus"), ("cpuset_mems", "CpusetMems")):
        if (value := _str(body.get(field), field)) is not None:   # "": unchanged, as dockerd
            out[key] = value
    if body.get("RestartPolicy") is not None:
        from ..containers.restart import from_api
        out["restart"] = from_api(body["RestartPolicy"])
    return out


# ---- filters -------------------------------------------------------------------
def parse_filters(raw: str | None) -> dict[str, list[str]]:
    """The ``filters`` query parameter: ``{"k": ["v"]}`` or the old ``{"k": {"v": true}}``."""
    if not raw:
        return {}
    try:
        data = loads_json(raw, "filters")
    except ValueError:
        raise InvalidArgument(f"invalid filters (not JSON): {raw[:100]}") from None
    if not isinstance(data, dict):
        raise InvalidArgument("filters must be a JSON object")
    out = {}
    for k, v in data.items():
        if isinstance(v, dict):
            out[k] = [x for x, on in v.items() if on]
        elif isinstance(v, list):
            out[k] = [str(x) for x in v]
        else:
            out[k] = [str(v)]
    return out


def epoch(iso: str | None) -> int:
    if not iso:
        return 0
    from ..present import parse_time
    t = parse_time(iso)
    return int(t) if t else 0


# ---- containers ------------------------------------------------------------------
def container_summary(c) -> dict:
    """One ``GET /containers/json`` entry (``ContainerSummary``)."""
    from ..present import status_text as _status_text
    cfg = c.config
    ns = (getattr(c, "state", None) or {}).get("NetworkSettings") or {}
    cmd = " ".join([cfg["Path"]] + list(cfg["Args"]))
    return {"Id": c.id, "Names": ["/" + c.name], "Image": cfg["Config"].get("Image", ""),
            "ImageID": cfg.get("Image", ""), "Command": cmd, "Created": epoch(cfg.get("Created")),
            "Ports": summary_ports(ns.get("Ports") if c.running else None),
            "Labels": cfg["Config"].get("Labels") or {}, "State": c.status,
            "Status": _status_text(c).strip(),
            "HostConfig": {"NetworkMode": cfg.get("HostConfig", {}).get("NetworkMode",
                                                                          "default")},
            "NetworkSettings": {"Networks": dict(ns.get("Networks") or {})},
            "Mounts": [mount_point(m) for m in cfg.get("Mounts") or [] if isinstance(m, dict)]}


def summary_ports(ports) -> list[dict]:
    """``NetworkSettings.Ports`` (``{"80/tcp": [{"HostIp", "HostPort"}]}``) -> the
    ``Port`` list of ``docker ps``: ``[{"IP", "PrivatePort", "PublicPort", "Type"}]``."""
    out = []
    for key, binds in (ports or {}).items():
        port, _, proto = str(key).partition("/")
        if not port.isdigit():
            continue
        if not binds:
            out.append({"PrivatePort": int(port), "Type": proto or "tcp"})
        for b in binds or []:
            hp = str((b or {}).get("HostPort") or "")
            entry = {"PrivatePort": int(port), "Type": proto or "tcp"}
            if hp.isdigit():
                entry.update(IP=(b.get("HostIp") or "0.0.0.0"), PublicPort=int(hp))
            out.append(entry)
    return out


def _tmpfs_map(v) -> dict:
    """glassbox keeps ``--tmpfs`` specs as a list; the API has ``{path: options}``."""
    if isinstance(v, dict):
        return v
    out = {}
    for spec in v or []:
        path, _, opts = str(spec).partition(":")
        out[path] = opts
    return out


def mount_point(m: dict) -> dict:
    """A glassbox mount record -> the API's ``MountPoint``."""
    if "Destination" in m:
        return m
    typ = m.get("type") or m.get("Type") or "bind"
    return {"Type": typ, "Name": m.get("name", ""), "Source": m.get("source", ""),
            "Destination": m.get("target", ""), "Driver": "local" if typ == "volume" else "",
            "Mode": "ro" if m.get("readonly") else "", "RW": not m.get("readonly"),
            "Propagation": (m.get("propagation") or "rprivate") if typ == "bind" else ""}


def container_inspect(c) -> dict:
    """``GET /containers/{id}/json``: the Engine's document plus what clients expect
    (shapes as the API's: a Go client refuses a list where a map belongs)."""
    doc = c.inspect()
    hc = dict(doc.get("HostConfig") or {})
    hc["Tmpfs"] = _tmpfs_map(hc.get("Tmpfs"))
    for k in ("Binds", "CapAdd", "CapDrop", "ExtraHosts", "Dns"):
        if not hc.get(k):
            hc[k] = None
    hc.setdefault("LogConfig", {"Type": "json-file", "Config": {}})
    hc.setdefault("RestartPolicy", {"Name": "no", "MaximumRetryCount": 0})
    hc.setdefault("PortBindings", {})
    # what every glassbox container is (the modes it has no flag for yet): its own
    # pid/uts/ipc/cgroup namespaces, all CPUs, the kernel's swappiness, no links
    spaces = ((doc.get("Spec") or c.config.get("Spec") or {}).get("namespaces")
              or ["pid", "uts", "ipc", "cgroup"])
    hc.setdefault("PidMode", "" if "pid" in spaces else "host")
    hc.setdefault("UTSMode", "" if "uts" in spaces else "host")
    hc.setdefault("IpcMode", "private" if "ipc" in spaces else "host")
    hc.setdefault("CgroupnsMode", "private" if "cgroup" in spaces else "host")
    for k, v in (("VolumesFrom", None), ("Links", None), ("CpusetCpus", ""),
                 ("CpusetMems", ""), ("MemorySwappiness", None), ("Isolation", ""),
                 ("Runtime", "glassbox"), ("GroupAdd", None), ("DeviceCgroupRules", None)):
        hc.setdefault(k, v)
    doc["HostConfig"] = hc
    cfg = dict(doc.get("Config") or {})
    cfg.setdefault("AttachStdout", True)
    cfg.setdefault("AttachStderr", True)
    cfg.setdefault("StdinOnce", False)
    cfg.setdefault("MacAddress", "")
    doc["Config"] = cfg
    doc.setdefault("NetworkSettings", {"Ports": {}, "Networks": {}, "IPAddress": "",
                                       "Gateway": "", "MacAddress": "", "SandboxKey": ""})
    if not c.running:
        # a created or stopped container is listed on its networks without addresses
        # (as Docker lists it); the plan also holds what was connected before start
        from ..network.plan import network_settings
        ns = network_settings(c.config, {}, {})
        doc["NetworkSettings"] = {**doc["NetworkSettings"], **ns, "SandboxKey": ""}
    doc["Mounts"] = [mount_point(m) for m in doc.get("Mounts") or [] if isinstance(m, dict)]
    doc.setdefault("RestartCount", 0)
    doc.setdefault("ExecIDs", None)
    return doc


def _proc_stat_system_ns() -> int:
    """``system_cpu_usage``: host CPU time in ns, as dockerd reads it from /proc/stat."""
    import os
    try:
        with open("/proc/stat") as f:
            for line in f:
                if line.startswith("cpu "):
                    ticks = sum(int(x) for x in line.split()[1:8])
                    return ticks * 1_000_000_000 // os.sysconf("SC_CLK_TCK")
    except OSError:
        pass
    return 0


def stats_doc(c, cur, prev=None, prev_system: int = 0, system: int | None = None,
              ncpus: int | None = None) -> dict:
    """Docker's stats JSON from two :class:`~glassbox.cgroups.stats.Stats` readings.

    The docker CLI computes CPU % as ``Δtotal_usage / Δsystem_cpu_usage *
    online_cpus * 100`` and memory as ``usage - stats.inactive_file`` (our
    usage already has the inactive cache taken out, so that stat is 0).
    """
    import os
    ncpus = ncpus or os.cpu_count() or 1
    system = _proc_stat_system_ns() if system is None else system

    def cpu(s, sys_ns):
        if s is None:
            return {"cpu_usage": {"total_usage": 0, "usage_in_kernelmode": 0,
                                  "usage_in_usermode": 0}, "system_cpu_usage": sys_ns,
                    "online_cpus": ncpus, "throttling_data": {}}
        return {"cpu_usage": {"total_usage": s.cpu_usage_ns, "usage_in_kernelmode": 0,
                              "usage_in_usermode": 0},
                "system_cpu_usage": sys_ns, "online_cpus": ncpus,
                "throttling_data": {"periods": 0, "throttled_periods": 0,
                                    "throttled_time": s.cpu_throttled_ns or 0}}
    now = time.time()
    from .._files import timestamp
    read = timestamp(now)
    mem = {}
    pids = {}
    if cur is not None:
        mem = {"usage": cur.memory_usage, "limit": cur.memory_limit or host_memory(),
               "max_usage": cur.memory_max_usage or 0, "failcnt": 0,
               "stats": {"inactive_file": 0, "total_inactive_file": 0,
                         "oom_kill": cur.oom_kills}}
        pids = {"current": cur.pids_current}
        if cur.pids_limit:
            pids["limit"] = cur.pids_limit
    return {"read": read, "preread": read if prev is None else read,
            "id": c.id, "name": "/" + c.name, "num_procs": 0,
            "pids_stats": pids, "blkio_stats": {}, "storage_stats": {},
            "cpu_stats": cpu(cur, system), "precpu_stats": cpu(prev, prev_system),
            "memory_stats": mem, "networks": {}}


# ---- images ----------------------------------------------------------------------
def image_summary(img, containers: int = -1) -> dict:
    """One ``GET /images/json`` entry (``ImageSummary``)."""
    cfg = (img.config or {}).get("config") or {}
    return {"Id": img.id, "ParentId": "", "RepoTags": list(img.repo_tags),
            "RepoDigests": list(img.repo_digests or ()), "Created": epoch(img.created),
            "Size": img.size, "SharedSize": -1, "VirtualSize": img.size,
            "Labels": cfg.get("Labels") or {}, "Containers": containers}


def build_stream(ev: dict) -> dict | None:
    """A builder progress event -> the classic builder's JSON line (what the docker
    CLI prints: ``Step 2/3 : COPY ...``, `` ---> Using cache``, `` ---> 1a2b...``);
    None for events the CLI has no line for."""
    kind = ev.get("type")
    if kind == "step":
        line = f"Step {ev.get('index')}/{ev.get('total')} : {ev.get('instruction', '')}\n"
        if ev.get("cached"):
            line += " ---> Using cache\n"
        return {"stream": line}
    if kind == "result":
        return {"stream": f" ---> {str(ev.get('image_id', '')).split(':')[-1][:12]}\n"}
    if kind == "container":
        if ev.get("action") == "start":
            return {"stream": f" ---> Running in {str(ev.get('id', ''))[:12]}\n"}
        if ev.get("action") == "remove":
            return {"stream": f"Removing intermediate container {str(ev.get('id', ''))[:12]}\n"}
        return None
    if kind == "log":
        return {"stream": str(ev.get("text", ""))}
    if kind == "warning":
        return {"stream": f"[WARNING]: {ev.get('text', '')}\n"}
    if kind in ("layer", "skip", "tag", "done"):
        return None
    return ev


# ---- stream framing --------------------------------------------------------------
STDIN, STDOUT, STDERR, SYSTEMERR = 0, 1, 2, 3


def frame(stream: int, data: bytes) -> bytes:
    """Docker's multiplexed stream (``stdcopy``): an 8-byte header per chunk —
    the stream id, three zero bytes, then the payload length (big-endian u32)."""
    return bytes([stream, 0, 0, 0]) + len(data).to_bytes(4, "big") + data


def unframe(buf: bytes) -> tuple[list[tuple[int, bytes]], bytes]:
    """Split a buffer into complete ``(stream, payload)`` frames and the remainder."""
    out = []
    while len(buf) >= 8:
        n = int.from_bytes(buf[4:8], "big")
        if len(buf) < 8 + n:
            break
        out.append((buf[0], buf[8:8 + n]))
        buf = buf[8 + n:]
    return out, buf


def version_tuple(v: str) -> tuple[int, int]:
    try:
        major, minor = v.split(".", 1)
        return int(major), int(minor)
    except ValueError:
        raise InvalidArgument(f"invalid API version {v!r}") from None


def create_body(opts: CreateOptions) -> tuple[dict, str | None]:
    """:class:`CreateOptions` -> ``POST /containers/create`` JSON and the name
    (the reverse of :func:`create_options`, for ``glassbox -H``)."""
    if opts.env_files:
        raise InvalidArgument("--env-file is not supported over -H yet: pass -e instead")
    from ..cgroups.devices import parse_device
    port_bindings: dict[str, list] = {}
    for spec in opts.publish:
        parts = spec.split(":")
        cport = parts[-1]
        if "/" not in cport:
            cport += "/tcp"
        ip = parts[0] if len(parts) == 3 else ""
        hp = parts[-2] if len(parts) >= 2 else ""
        port_bindings.setdefault(cport, []).append({"HostIp": ip, "HostPort": hp})
    tmpfs = {}
    for spec in opts.tmpfs:
        p, _, o = spec.partition(":")
        tmpfs[p] = o
    hc = {"Memory": opts.memory or 0, "MemorySwap": opts.memory_swap or 0,
          "NanoCpus": int((opts.cpus or 0) * 1e9), "CpuShares": opts.cpu_shares or 0,
          "CpusetCpus": opts.cpuset_cpus or "", "CpusetMems": opts.cpuset_mems or "",
          "PidsLimit": opts.pids_limit, "AutoRemove": opts.auto_remove,
          "CapAdd": opts.cap_add or None, "CapDrop": opts.cap_drop or None,
          "Init": opts.init or None, "ReadonlyRootfs": opts.read_only,
          "Privileged": opts.privileged,
          "Devices": [parse_device(d).docker() for d in opts.devices] or None,
          "DeviceCgroupRules": opts.device_cgroup_rules or None,
          "UsernsMode": opts.userns or "",
          "SecurityOpt": opts.security_opt or None, "Binds": opts.volumes or None, "Tmpfs": tmpfs or None,
          "Mounts": [_parse_mount(m) for m in opts.mounts] or None,
          "NetworkMode": opts.network or "default", "PortBindings": port_bindings or None,
          "PublishAllPorts": opts.publish_all, "ExtraHosts": opts.add_hosts or None,
          "Dns": opts.dns or None, "VolumesFrom": opts.volumes_from or None}
    if opts.restart:
        from ..containers.restart import RestartPolicy, parse
        hc["RestartPolicy"] = (opts.restart if isinstance(opts.restart, RestartPolicy)
                               else parse(opts.restart)).to_json()
    body = {"Image": opts.image, "Cmd": opts.command, "Entrypoint": opts.entrypoint,
            "Env": list(opts.env) or None, "WorkingDir": opts.workdir or "",
            "User": opts.user or "", "Hostname": opts.hostname or "", "Tty": opts.tty,
            "OpenStdin": opts.interactive, "AttachStdin": opts.interactive,
            "AttachStdout": True, "AttachStderr": True, "Labels": opts.labels or {},
            "StopSignal": opts.stop_signal, "StopTimeout": opts.stop_timeout,
            "ExposedPorts": {p if "/" in p else p + "/tcp": {} for p in opts.expose} or None,
            "HostConfig": hc, **({"Healthcheck": opts.healthcheck} if opts.healthcheck else {})}
    if opts.mac_address:
        body["MacAddress"] = opts.mac_address
    if opts.links:
        hc["Links"] = list(opts.links)
    if opts.network and (opts.network_aliases or opts.ip):
        ep: dict = {"Aliases": list(opts.network_aliases)}
        if opts.ip:
            ep["IPAMConfig"] = {"IPv4Address": opts.ip}
        body["NetworkingConfig"] = {"EndpointsConfig": {opts.network: ep}}
    return body, opts.name


def _parse_mount(spec: str) -> dict:
    m: dict = {"Type": "volume"}
    for part in spec.split(","):
        k, _, v = part.partition("=")
        k = k.strip().lower()
        if k == "type":
            m["Type"] = v
        elif k in ("source", "src"):
            m["Source"] = v
        elif k in ("target", "dst", "destination"):
            m["Target"] = v
        elif k in ("readonly", "ro"):
            m["ReadOnly"] = v.lower() not in ("0", "false") if v else True
        elif k == "tmpfs-size":
            m["TmpfsOptions"] = {"SizeBytes": int(v)}
    return m
