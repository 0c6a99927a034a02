"""Which fields of a create or update request glassbox honours — and the rest refused.

A Docker client sends a full ``Config`` and ``HostConfig`` on every create, most
fields at their zero value. A daemon that silently drops a field it does not
implement lies to its client: ``HostConfig.Privileged: true`` answered 201 and
ran unprivileged, ``CpuQuota`` was accepted and never applied. So each field of
the API (moby's ``api/swagger.yaml``: ``ContainerConfig``, ``HostConfig`` and
its ``Resources``) is in exactly one of these tables:

* **honoured** — translated into :class:`~glassbox.containers.options.CreateOptions`
  (or ``update``'s changes) and visible in ``inspect``;
* **client-side** — meaning nothing to the engine (``ContainerIDFile`` is written
  by the CLI; ``AttachStdout`` says what the client will attach);
* **defaults only** — accepted at the values that ask for nothing (``0``,
  ``""``, ``[]``, ``null``, and a few named ones such as ``IpcMode: private``,
  which is what glassbox does anyway); any other value is refused with 400 and
  the field's name, before anything is created.

Fields not in the API at all are ignored, as dockerd's JSON decoder ignores them.
"""

from __future__ import annotations

from ..errors import InvalidArgument

_EMPTY = (None, 0, "", False, [], {})

CONFIG_HONOURED = frozenset({
    "Image", "Cmd", "Entrypoint", "Env", "WorkingDir", "User", "Hostname", "Labels", "Tty",
    "OpenStdin", "ExposedPorts", "StopSignal", "StopTimeout", "Healthcheck", "Volumes",
    "MacAddress"})
CONFIG_CLIENT_SIDE = frozenset({"AttachStdin", "AttachStdout", "AttachStderr", "StdinOnce",
                                "ArgsEscaped"})
CONFIG_DEFAULTS: dict[str, tuple] = {
    "Domainname": _EMPTY, "NetworkDisabled": _EMPTY, "OnBuild": _EMPTY, "Shell": _EMPTY,
}

HOST_HONOURED = frozenset({
    "AutoRemove", "Binds", "CapAdd", "CapDrop", "CpuShares", "CpusetCpus", "CpusetMems",
    "Devices", "DeviceCgroupRules", "Links",
    "Dns", "ExtraHosts", "Init", "Memory", "MemorySwap", "Mounts", "NanoCpus", "NetworkMode",
    "PidsLimit", "PortBindings", "Privileged", "PublishAllPorts", "ReadonlyRootfs",
    "RestartPolicy", "SecurityOpt", "Tmpfs", "UsernsMode", "VolumesFrom"})
HOST_CLIENT_SIDE = frozenset({"ContainerIDFile", "ConsoleSize"})
_SHM_DEFAULT = 64 << 20   # /dev/shm is a 64 MiB tmpfs, as Docker's default
HOST_DEFAULTS: dict[str, tuple] = {
    **{k: _EMPTY for k in (
        "Annotations", "BlkioDeviceReadBps", "BlkioDeviceReadIOps", "BlkioDeviceWriteBps",
        "BlkioDeviceWriteIOps", "BlkioWeight", "BlkioWeightDevice", "Cgroup", "CgroupParent",
        "CpuCount", "CpuPercent", "CpuPeriod", "CpuQuota", "CpuRealtimePeriod",
        "CpuRealtimeRuntime", "DeviceRequests", "DnsOptions",
        "DnsSearch", "GroupAdd", "IOMaximumBandwidth", "IOMaximumIOps",
        "MaskedPaths", "MemoryReservation", "OomKillDisable", "OomScoreAdj", "PidMode",
        "ReadonlyPaths", "StorageOpt", "Sysctls", "UTSMode", "Ulimits",
        "KernelMemory", "KernelMemoryTCP")},
    "MemorySwappiness": (None, -1),
    "CgroupnsMode": (None, "", "private"),       # glassbox: always a private cgroup namespace
    "IpcMode": (None, "", "private", "shareable"),  # always a private ipc namespace
    "Isolation": (None, "", "default"),
    "Runtime": (None, "", "runc"),
    "VolumeDriver": (None, "", "local"),
    "ShmSize": (None, 0, _SHM_DEFAULT),
    "LogConfig": (None, {}, {"Type": ""}, {"Type": "json-file"}, {"Type": "", "Config": {}},
                  {"Type": "json-file", "Config": {}}, {"Type": "", "Config": None},
                  {"Type": "json-file", "Config": None}),
}

#: ``HostConfig.Mounts[]`` options (API 1.44, and 1.45's ``Subpath``). A bind is always recursive (``MS_REC``)
#: and a read-only bind is read-only at its top mount only — what Docker calls
#: ``ReadOnlyNonRecursive``, and what dockerd does with a runtime that has no ``rro``.
BIND_HONOURED = frozenset({"Propagation", "ReadOnlyNonRecursive"})
BIND_DEFAULTS: dict[str, tuple] = {k: _EMPTY for k in (
    "NonRecursive", "CreateMountpoint", "ReadOnlyForceRecursive")}
VOLUME_HONOURED = frozenset({"NoCopy", "Labels", "Subpath"})
VOLUME_DEFAULTS: dict[str, tuple] = {
    "DriverConfig": (None, {}, {"Name": ""}, {"Name": "local"}, {"Name": "", "Options": None},
                     {"Name": "local", "Options": None}, {"Name": "", "Options": {}},
                     {"Name": "local", "Options": {}})}
TMPFS_HONOURED = frozenset({"SizeBytes", "Mode"})
TMPFS_DEFAULTS: dict[str, tuple] = {}

#: ``POST /containers/{id}/update``: the Resources glassbox changes live
UPDATE_HONOURED = frozenset({"Memory", "MemorySwap", "NanoCpus", "CpuShares", "PidsLimit",
                             "CpusetCpus", "CpusetMems", "RestartPolicy"})


def _is_default(value, allowed: tuple) -> bool:
    return any(_same(value, a) for a in allowed)


def _same(value, allowed) -> bool:
    if allowed is None or value is None:
        return value is allowed
    if isinstance(value, bool) or isinstance(allowed, bool):   # False is not 0 here
        return type(value) is type(allowed) and value == allowed
    return type(value) is type(allowed) and value == allowed or \
        isinstance(value, (int, float)) and isinstance(allowed, (int, float)) and value == allowed


def _check(doc: dict, where: str, honoured, client_side, defaults) -> None:
    for key, value in doc.items():
        if key in honoured or key in client_side:
            continue
        allowed = defaults.get(key)
        if allowed is None:
            continue          # not an API field: ignored, as dockerd ignores it
        if not _is_default(value, allowed):
            raise InvalidArgument(f"{where}.{key} is not supported by glassbox (got "
                                  f"{_short(value)}): leave it unset")


def _short(value) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def check_create(body: dict) -> None:
    """Refuse a create request that asks for something glassbox does not do."""
    _check(body, "Config", CONFIG_HONOURED, CONFIG_CLIENT_SIDE | {"HostConfig",
           "NetworkingConfig"}, CONFIG_DEFAULTS)
    hc = body.get("HostConfig")
    if isinstance(hc, dict):
        _check(hc, "HostConfig", HOST_HONOURED, HOST_CLIENT_SIDE, HOST_DEFAULTS)


def check_update(body: dict) -> None:
    """Refuse an update that would change a resource glassbox cannot change."""
    _check(body, "update", UPDATE_HONOURED, frozenset(), HOST_DEFAULTS)


def check_mount_options(bind: dict, volume: dict, tmpfs: dict, *, readonly: bool) -> None:
    """Refuse a ``Mounts[]`` option glassbox would not apply (``BindOptions``,
    ``VolumeOptions``, ``TmpfsOptions``), naming it."""
    _check(bind, "Mounts.BindOptions", BIND_HONOURED, frozenset(), BIND_DEFAULTS)
    _check(volume, "Mounts.VolumeOptions", VOLUME_HONOURED, frozenset(), VOLUME_DEFAULTS)
    _check(tmpfs, "Mounts.TmpfsOptions", TMPFS_HONOURED, frozenset(), TMPFS_DEFAULTS)
    if bind.get("ReadOnlyNonRecursive") and not readonly:
        raise InvalidArgument("Mounts.BindOptions.ReadOnlyNonRecursive needs ReadOnly: true "
                              "(it says how a read-only bind is made read-only)")
