"""The daemon's pure mapping between Docker Engine API JSON and glassbox values."""

import pytest

from glassbox.containers.options import CreateOptions
from glassbox.daemon import translate as t
from glassbox.errors import InvalidArgument


def test_create_options_maps_the_docker_cli_body():
    body = {
        "Image": "busybox", "Cmd": ["echo", "hi"], "Entrypoint": None, "Env": ["A=1"],
        "WorkingDir": "/tmp", "User": "1000", "Hostname": "box", "Tty": True,
        "OpenStdin": True, "Labels": {"k": "v"}, "StopSignal": "SIGINT",
        "ExposedPorts": {"80/tcp": {}},
        "HostConfig": {"Memory": 64 << 20, "MemorySwap": -1, "NanoCpus": 1_500_000_000,
                       "CpuShares": 512, "PidsLimit": 50, "AutoRemove": True,
                       "CapAdd": ["NET_ADMIN"], "CapDrop": ["CHOWN"], "Init": True,
                       "ReadonlyRootfs": True, "Privileged": False, "Binds": ["/a:/b:ro"],
                       "Tmpfs": {"/run": "size=1m"},
                       "Mounts": [{"Type": "bind", "Source": "/x", "Target": "/y",
                                   "ReadOnly": True}],
                       "NetworkMode": "labnet",
                       "PortBindings": {"80/tcp": [{"HostIp": "127.0.0.1", "HostPort": "8080"}],
                                        "53/udp": [{"HostIp": "", "HostPort": ""}]},
                       "PublishAllPorts": True, "ExtraHosts": ["h:1.2.3.4"], "Dns": ["9.9.9.9"],
                       "VolumesFrom": ["other"]},
        "NetworkingConfig": {"EndpointsConfig": {"labnet": {"Aliases": ["db"]}}},
    }
    o = t.create_options(body, "web")
    assert (o.image, o.command, o.name, o.entrypoint) == ("busybox", ["echo", "hi"], "web", None)
    assert (o.env, o.workdir, o.user, o.hostname) == (["A=1"], "/tmp", "1000", "box")
    assert o.tty and o.interactive and o.auto_remove and o.init and o.read_only
    assert (o.memory, o.memory_swap, o.cpus, o.cpu_shares, o.pids_limit) == \
        (64 << 20, -1, 1.5, 512, 50)
    assert (o.cap_add, o.cap_drop) == (["NET_ADMIN"], ["CHOWN"])
    assert o.volumes == ["/a:/b:ro"] and o.tmpfs == ["/run:size=1m"]
    assert o.mounts == ["type=bind,source=/x,target=/y,readonly"]
    assert (o.network, o.network_aliases) == ("labnet", ["db"])
    assert o.publish == ["127.0.0.1:8080:80", "53/udp"] and o.publish_all
    assert o.expose == ["80/tcp"] and o.add_hosts == ["h:1.2.3.4"] and o.dns == ["9.9.9.9"]
    assert o.volumes_from == ["other"] and o.labels == {"k": "v"} and o.stop_signal == "SIGINT"


def test_create_options_defaults_and_docker_zero_values():
    o = t.create_options({"Image": "busybox", "Cmd": "sh", "HostConfig": {
        "Memory": 0, "PidsLimit": -1, "NetworkMode": "default"}})
    assert o.command == ["sh"]
    assert o.memory is None and o.pids_limit is None and o.network is None
    assert o.workdir is None and o.user is None and not o.tty


@pytest.mark.parametrize("body", [
    [], {"Cmd": ["x"]}, {"Image": "b", "Cmd": [1]}, {"Image": "b", "Env": "A=1"},
    {"Image": "b", "HostConfig": {"Memory": "lots"}}, {"Image": "b", "HostConfig": []},
    {"Image": "b", "Labels": ["x"]},
])
def test_create_options_rejects_bad_input(body):
    with pytest.raises(InvalidArgument):
        t.create_options(body)


def test_create_body_round_trips_through_create_options():
    opts = CreateOptions(image="busybox", command=["echo", "x"], name="n", env=["A=1"],
                         tty=True, interactive=True, auto_remove=True, memory=1 << 20,
                         cpus=0.5, pids_limit=10, cap_add=["SYS_TIME"], labels={"a": "b"},
                         volumes=["/h:/c"], tmpfs=["/t:size=1m"], publish=["127.0.0.1:1:2"],
                         add_hosts=["x:1.1.1.1"], dns=["1.1.1.1"], stop_signal="SIGUSR1",
                         mounts=["type=bind,source=/s,target=/d,readonly"])
    body, name = t.create_body(opts)
    back = t.create_options(body, name)
    for field in ("image", "command", "name", "env", "tty", "interactive", "auto_remove",
                  "memory", "cpus", "pids_limit", "cap_add", "labels", "volumes", "tmpfs",
                  "publish", "add_hosts", "dns", "stop_signal", "mounts"):
        assert getattr(back, field) == getattr(opts, field), field


def test_frame_and_unframe():
    data = t.frame(t.STDOUT, b"hello") + t.frame(t.STDERR, b"") + t.frame(t.STDERR, b"err")
    assert data[:8] == bytes([1, 0, 0, 0, 0, 0, 0, 5])
    frames, rest = t.unframe(data + b"\x01\x00\x00")
    assert frames == [(1, b"hello"), (2, b""), (2, b"err")] and rest == b"\x01\x00\x00"


def test_filters_both_shapes_and_bad_json():
    assert t.parse_filters('{"status": ["running"], "label": {"a=b": true, "c": false}}') == \
        {"status": ["running"], "label": ["a=b"]}
    assert t.parse_filters(None) == {}
    with pytest.raises(InvalidArgument):
        t.parse_filters("{nope")


def test_inspect_shapes_match_the_api():
    assert t._tmpfs_map(["/run:size=1m", "/tmp"]) == {"/run": "size=1m", "/tmp": ""}
    mp = t.mount_point({"type": "bind", "source": "/h", "target": "/c", "readonly": True})
    assert mp["Destination"] == "/c" and mp["RW"] is False and mp["Mode"] == "ro"


def test_version_tuple():
    assert t.version_tuple("1.43") > t.version_tuple("1.9")
    with pytest.raises(InvalidArgument):
        t.version_tuple("x")


def test_update_changes():
    assert t.update_changes({"Memory": 1 << 20, "NanoCpus": 2_000_000_000, "PidsLimit": 0}) == \
        {"memory": 1 << 20, "memory_swap": None, "cpus": 2.0, "cpu_shares": None, "pids": None}
