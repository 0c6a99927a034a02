"""Every create field of the Docker API is honoured or refused — never accepted and
ignored. The field list is moby's ``api/swagger.yaml`` (``HostConfig`` with its
``Resources``, and ``ContainerConfig``) at commit b985e23 (API 1.56; glassbox
advertises 1.43, whose fields are a subset), written here as data with its type."""

from __future__ import annotations

import pytest

from glassbox.daemon import fields
from glassbox.daemon.translate import create_options, update_changes
from glassbox.errors import InvalidArgument

HOST_CONFIG = {
    "CpuShares": "integer", "Memory": "integer", "CgroupParent": "string",
    "BlkioWeight": "integer", "BlkioWeightDevice": "array", "BlkioDeviceReadBps": "array",
    "BlkioDeviceWriteBps": "array", "BlkioDeviceReadIOps": "array",
    "BlkioDeviceWriteIOps": "array", "CpuPeriod": "integer", "CpuQuota": "integer",
    "CpuRealtimePeriod": "integer", "CpuRealtimeRuntime": "integer", "CpusetCpus": "string",
    "CpusetMems": "string", "Devices": "array", "DeviceCgroupRules": "array",
    "DeviceRequests": "array", "MemoryReservation": "integer", "MemorySwap": "integer",
    "MemorySwappiness": "integer", "NanoCpus": "integer", "OomKillDisable": "boolean",
    "Init": "boolean", "PidsLimit": "integer", "Ulimits": "array", "CpuCount": "integer",
    "CpuPercent": "integer", "IOMaximumIOps": "integer", "IOMaximumBandwidth": "integer",
    "Binds": "array", "ContainerIDFile": "string", "LogConfig": "object",
    "NetworkMode": "string", "PortBindings": "object", "RestartPolicy": "object",
    "AutoRemove": "boolean", "VolumeDriver": "string", "VolumesFrom": "array",
    "Mounts": "array", "ConsoleSize": "array", "Annotations": "object", "CapAdd": "array",
    "CapDrop": "array", "CgroupnsMode": "string", "Dns": "array", "DnsOptions": "array",
    "DnsSearch": "array", "ExtraHosts": "array", "GroupAdd": "array", "IpcMode": "string",
    "Cgroup": "string", "Links": "array", "OomScoreAdj": "integer", "PidMode": "string",
    "Privileged": "boolean", "PublishAllPorts": "boolean", "ReadonlyRootfs": "boolean",
    "SecurityOpt": "array", "StorageOpt": "object", "Tmpfs": "object", "UTSMode": "string",
    "UsernsMode": "string", "ShmSize": "integer", "Sysctls": "object", "Runtime": "string",
    "Isolation": "string", "MaskedPaths": "array", "ReadonlyPaths": "array"}
CONTAINER_CONFIG = {
    "Hostname": "string", "Domainname": "string", "User": "string", "AttachStdin": "boolean",
    "AttachStdout": "boolean", "AttachStderr": "boolean", "ExposedPorts": "object",
    "Tty": "boolean", "OpenStdin": "boolean", "StdinOnce": "boolean", "Env": "array",
    "Cmd": "array", "Healthcheck": "object", "ArgsEscaped": "boolean", "Image": "string",
    "Volumes": "object", "WorkingDir": "string", "Entrypoint": "array",
    "NetworkDisabled": "boolean", "OnBuild": "array", "Labels": "object",
    "StopSignal": "string", "StopTimeout": "integer", "Shell": "array"}

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
