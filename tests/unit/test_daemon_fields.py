"""Every create field of the Docker API is honoured or refused — never accepted and
ignored. The field lists are those of the API version glassbox advertises
(:data:`glassbox.daemon.server.API_VERSION`, 1.45): moby's ``api/docs/v1.45.yaml`` at
commit b985e23, the ``properties`` of ``HostConfig`` (with its ``allOf`` ``Resources``),
``ContainerConfig``, ``HealthConfig`` and ``Mount``'s ``BindOptions``/``VolumeOptions``/
``TmpfsOptions``, written here as data with their type (``yaml.safe_load`` the file and
walk ``definitions[...]["properties"]``, following ``allOf`` references). Raising the
version means regenerating them from that version's file (1.45 differs from 1.44 in these
definitions by ``VolumeOptions.Subpath`` alone)."""

from __future__ import annotations

import pytest

from glassbox.daemon import fields, server
from glassbox.daemon.translate import create_options, update_changes
from glassbox.errors import InvalidArgument

HOST_CONFIG = {
    "CpuShares": "integer", "Memory": "integer", "CgroupParent": "string",
    "BlkioWeight": "integer", "BlkioWeightDevice": "array", "BlkioDeviceReadBps": "array",
    "BlkioDeviceWriteBps": "array", "BlkioDeviceReadIOps": "array",
    "BlkioDeviceWriteIOps": "array", "CpuPeriod": "integer", "CpuQuota": "integer",
    "CpuRealtimePeriod": "integer", "CpuRealtimeRuntime": "integer", "CpusetCpus": "string",
    "CpusetMems": "string", "Devices": "array", "DeviceCgroupRules": "array",
    "DeviceRequests": "array", "KernelMemoryTCP": "integer", "MemoryReservation": "integer",
    "MemorySwap": "integer", "MemorySwappiness": "integer", "NanoCpus": "integer",
    "OomKillDisable": "boolean", "Init": "boolean", "PidsLimit": "integer",
    "Ulimits": "array", "CpuCount": "integer", "CpuPercent": "integer",
    "IOMaximumIOps": "integer", "IOMaximumBandwidth": "integer", "Binds": "array",
    "ContainerIDFile": "string", "LogConfig": "object", "NetworkMode": "string",
    "PortBindings": "object", "RestartPolicy": "object", "AutoRemove": "boolean",
    "VolumeDriver": "string", "VolumesFrom": "array", "Mounts": "array",
    "ConsoleSize": "array", "Annotations": "object", "CapAdd": "array", "CapDrop": "array",
    "CgroupnsMode": "string", "Dns": "array", "DnsOptions": "array", "DnsSearch": "array",
    "ExtraHosts": "array", "GroupAdd": "array", "IpcMode": "string", "Cgroup": "string",
    "Links": "array", "OomScoreAdj": "integer", "PidMode": "string", "Privileged": "boolean",
    "PublishAllPorts": "boolean", "ReadonlyRootfs": "boolean", "SecurityOpt": "array",
    "StorageOpt": "object", "Tmpfs": "object", "UTSMode": "string", "UsernsMode": "string",
    "ShmSize": "integer", "Sysctls": "object", "Runtime": "string", "Isolation": "string",
    "MaskedPaths": "array", "ReadonlyPaths": "array"}
CONTAINER_CONFIG = {
    "Hostname": "string", "Domainname": "string", "User": "string", "AttachStdin": "boolean",
    "AttachStdout": "boolean", "AttachStderr": "boolean", "ExposedPorts": "object",
    "Tty": "boolean", "OpenStdin": "boolean", "StdinOnce": "boolean", "Env": "array",
    "Cmd": "array", "Healthcheck": "object", "ArgsEscaped": "boolean", "Image": "string",
    "Volumes": "object", "WorkingDir": "string", "Entrypoint": "array",
    "NetworkDisabled": "boolean", "MacAddress": "string", "OnBuild": "array",
    "Labels": "object", "StopSignal": "string", "StopTimeout": "integer", "Shell": "array"}
BIND_OPTIONS = {
    "Propagation": "string", "NonRecursive": "boolean", "CreateMountpoint": "boolean",
    "ReadOnlyNonRecursive": "boolean", "ReadOnlyForceRecursive": "boolean"}
VOLUME_OPTIONS = {
    "NoCopy": "boolean", "Labels": "object", "DriverConfig": "object", "Subpath": "string"}
TMPFS_OPTIONS = {
    "SizeBytes": "integer", "Mode": "integer"}
HEALTH_CONFIG = {
    "Test": "array", "Interval": "integer", "Timeout": "integer", "Retries": "integer",
    "StartPeriod": "integer", "StartInterval": "integer"}

SAMPLE = {"integer": 7, "string": "x", "boolean": True, "array": ["x"], "object": {"x": "y"}}


def _tables(honoured, client, defaults):
    return [set(honoured), set(client), set(defaults)]


@pytest.mark.parametrize("section,api,tables", [
    ("HostConfig", HOST_CONFIG, _tables(fields.HOST_HONOURED, fields.HOST_CLIENT_SIDE,
                                        fields.HOST_DEFAULTS)),
    ("Config", CONTAINER_CONFIG, _tables(fields.CONFIG_HONOURED, fields.CONFIG_CLIENT_SIDE,
                                         fields.CONFIG_DEFAULTS))])
def test_every_api_field_is_in_exactly_one_table(section, api, tables):
    for name in api:
        homes = [i for i, t in enumerate(tables) if name in t]
        assert len(homes) == 1, f"{section}.{name} is in {len(homes)} tables"


@pytest.mark.parametrize("name", sorted(n for n in HOST_CONFIG if n in fields.HOST_DEFAULTS))
def test_an_unimplemented_host_config_field_is_refused_by_name(name):
    with pytest.raises(InvalidArgument, match=f"HostConfig.{name} is not supported"):
        create_options({"Image": "busybox", "HostConfig": {name: SAMPLE[HOST_CONFIG[name]]}})


@pytest.mark.parametrize("name", sorted(n for n in CONTAINER_CONFIG
                                        if n in fields.CONFIG_DEFAULTS))
def test_an_unimplemented_config_field_is_refused_by_name(name):
    with pytest.raises(InvalidArgument, match=f"Config.{name} is not supported"):
        create_options({"Image": "busybox", name: SAMPLE[CONTAINER_CONFIG[name]]})


def test_what_a_docker_cli_sends_by_default_is_accepted():
    """The zero values the docker CLI and docker-py send on every create."""
    body = {"Image": "busybox", "Domainname": "", "NetworkDisabled": False, "OnBuild": None,
            "StdinOnce": False, "AttachStdout": True, "MacAddress": "",
            "HostConfig": {"CpuQuota": 0, "CpuPeriod": 0, "BlkioWeight": 0, "Links": None,
                           "MemorySwappiness": None, "OomKillDisable": False, "ShmSize": 0,
                           "LogConfig": {"Type": "", "Config": {}}, "IpcMode": "private",
                           "CgroupnsMode": "private", "Isolation": "", "ConsoleSize": [24, 80],
                           "Ulimits": None, "GroupAdd": [], "Sysctls": {}, "Runtime": "runc"}}
    assert create_options(body).image == "busybox"


def test_privileged_is_honoured_not_ignored():
    assert create_options({"Image": "busybox", "HostConfig": {"Privileged": True}}).privileged


def test_config_volumes_ask_for_anonymous_volumes():
    opts = create_options({"Image": "busybox", "Volumes": {"/data": {}, "/bound": {}},
                           "HostConfig": {"Binds": ["v1:/bound"]}})
    assert opts.volumes == ["v1:/bound", "/data"]


def test_update_refuses_what_it_cannot_change():
    assert update_changes({"Memory": 64 << 20})["memory"] == 64 << 20
    with pytest.raises(InvalidArgument, match="update.CpuQuota is not supported"):
        update_changes({"CpuQuota": 5000})
    with pytest.raises(InvalidArgument, match="update.BlkioWeight is not supported"):
        update_changes({"BlkioWeight": 300})
    assert update_changes({"CpuQuota": 0, "BlkioWeight": 0})["memory"] is None


def test_the_walked_fields_are_those_of_the_advertised_version():
    assert server.API_VERSION == "1.45", "regenerate the field lists from that version"


MOUNT_TABLES = {"BindOptions": (BIND_OPTIONS, fields.BIND_HONOURED, fields.BIND_DEFAULTS),
                "VolumeOptions": (VOLUME_OPTIONS, fields.VOLUME_HONOURED,
                                  fields.VOLUME_DEFAULTS),
                "TmpfsOptions": (TMPFS_OPTIONS, fields.TMPFS_HONOURED, fields.TMPFS_DEFAULTS)}
MOUNT_TYPE = {"BindOptions": "bind", "VolumeOptions": "volume", "TmpfsOptions": "tmpfs"}


@pytest.mark.parametrize("section", sorted(MOUNT_TABLES))
def test_every_mount_option_is_honoured_or_refused(section):
    api, honoured, defaults = MOUNT_TABLES[section]
    for name in api:
        assert (name in honoured) + (name in defaults) == 1, f"{section}.{name}"


@pytest.mark.parametrize("section,name", sorted(
    (s, n) for s, (api, _, defaults) in MOUNT_TABLES.items() for n in api if n in defaults))
def test_an_unimplemented_mount_option_is_refused_by_name(section, name):
    api = MOUNT_TABLES[section][0]
    value = {"Name": "nfs"} if name == "DriverConfig" else SAMPLE[api[name]]
    mount = {"Type": MOUNT_TYPE[section], "Source": "/srv" if section == "BindOptions" else "v",
             "Target": "/d", "ReadOnly": True, section: {name: value}}
    with pytest.raises(InvalidArgument, match=f"Mounts.{section}.{name} is not supported"):
        create_options({"Image": "busybox", "HostConfig": {"Mounts": [mount]}})


def test_mount_options_are_carried_into_the_mount():
    opts = create_options({"Image": "busybox", "HostConfig": {"Mounts": [
        {"Type": "volume", "Source": "v", "Target": "/d", "VolumeOptions": {
            "NoCopy": True, "Labels": {"team": "a"}, "Subpath": "sub",
            "DriverConfig": {"Name": "local"}}},
        {"Type": "tmpfs", "Target": "/t", "TmpfsOptions": {"SizeBytes": 1 << 20, "Mode": 0o700}},
        {"Type": "bind", "Source": "/srv", "Target": "/b", "ReadOnly": True,
         "BindOptions": {"ReadOnlyNonRecursive": True, "NonRecursive": False}}]}})
    vol, tmp, bind = opts.mounts
    assert {"volume-nocopy", "volume-label=team=a", "volume-subpath=sub"} <= set(vol.split(","))
    assert {"tmpfs-size=1048576", "tmpfs-mode=700"} <= set(tmp.split(","))
    assert "readonly" in bind.split(",")


def test_read_only_non_recursive_needs_read_only():
    with pytest.raises(InvalidArgument, match="ReadOnlyNonRecursive needs ReadOnly"):
        create_options({"Image": "busybox", "HostConfig": {"Mounts": [
            {"Type": "bind", "Source": "/srv", "Target": "/b",
             "BindOptions": {"ReadOnlyNonRecursive": True}}]}})


def test_every_health_config_field_is_honoured():
    second = 1_000_000_000
    doc = {"Test": ["CMD", "true"], "Interval": 2 * second, "Timeout": 3 * second,
           "Retries": 4, "StartPeriod": 5 * second, "StartInterval": 6 * second}
    assert set(doc) == set(HEALTH_CONFIG)
    hc = create_options({"Image": "busybox", "Healthcheck": doc}).healthcheck
    assert {k: hc[k] for k in doc} == doc


def test_config_and_endpoint_mac_addresses_must_agree():
    ep = {"NetworkingConfig": {"EndpointsConfig": {"n1": {"MacAddress": "02:42:ac:11:00:09"}}}}
    opts = create_options({"Image": "busybox", "HostConfig": {"NetworkMode": "n1"}, **ep})
    assert opts.mac_address == "02:42:ac:11:00:09"
    with pytest.raises(InvalidArgument, match="Config.MacAddress .* differ"):
        create_options({"Image": "busybox", "MacAddress": "02:42:ac:11:00:0a",
                        "HostConfig": {"NetworkMode": "n1"}, **ep})
