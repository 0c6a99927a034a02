"""Pure rules of the runtime: command/env merging, capabilities, users, lookup."""

from __future__ import annotations

import os

import pytest

from glassbox.errors import ContainerExit, InvalidArgument
from glassbox.runtime.init import find_executable, resolve_user
from glassbox.runtime.spec import (DEFAULT_CAPS, DEFAULT_PATH, Mount, ProcessSpec, cap_set,
                                   merge_command, merge_env, parse_env_file)


@pytest.mark.parametrize("image, cmd, ep, expected", [
    ({"Cmd": ["sh"]}, None, None, ["sh"]),
    ({"Cmd": ["sh"]}, ["echo", "hi"], None, ["echo", "hi"]),
    ({"Entrypoint": ["/init"], "Cmd": ["--serve"]}, None, None, ["/init", "--serve"]),
    ({"Entrypoint": ["/init"], "Cmd": ["--serve"]}, ["--debug"], None, ["/init", "--debug"]),
    ({"Entrypoint": ["/init"], "Cmd": ["--serve"]}, None, ["echo"], ["echo"]),
    ({"Cmd": ["sh"]}, ["x"], ["echo"], ["echo", "x"]),
])
def test_merge_command_follows_docker(image, cmd, ep, expected):
    assert merge_command(image, cmd, ep) == expected


def test_merge_command_without_anything_is_an_error():
    with pytest.raises(InvalidArgument, match="no command specified"):
        merge_command({}, None, None)


def test_merge_env_overrides_keep_order_and_default_path():
    env = merge_env(["A=1", "B=2"], ["B=3", "C=4"])
    assert env == ["PATH=" + DEFAULT_PATH, "A=1", "B=3", "C=4"]
    assert merge_env(["PATH=/x"], []) == ["PATH=/x"]
    # a bare name stays bare (Docker's Config.Env), and never undoes a value
    assert merge_env(["PATH=/x", "A=1"], ["A", "B"]) == ["PATH=/x", "A=1", "B"]
    with pytest.raises(InvalidArgument):
        merge_env([], ["=oops"])


def test_env_file_parsing(monkeypatch):
    monkeypatch.setenv("FROM_HOST", "h")
    text = "# c\n\nA=1\nFROM_HOST\nMISSING_ONE\nB=x=y\n"
    assert parse_env_file(text) == ["A=1", "FROM_HOST=h", "B=x=y"]
    with pytest.raises(InvalidArgument, match="env:1"):
        parse_env_file("bad key=1", "env")


def test_cap_set_add_drop_all():
    assert cap_set([], []) == list(DEFAULT_CAPS)
    assert "CAP_CHOWN" not in cap_set([], ["chown"])
    assert "CAP_SYS_ADMIN" in cap_set(["SYS_ADMIN"], [])
    assert cap_set([], ["ALL"]) == []
    assert cap_set(["NET_ADMIN"], ["ALL"]) == ["CAP_NET_ADMIN"]
    with pytest.raises(InvalidArgument, match="unknown capability"):
        cap_set(["NOPE"], [])


def test_process_spec_round_trips_through_json():
    spec = ProcessSpec(id="x", args=["sh"], env=["A=1"],
                       mounts=[Mount("bind", "/a", "/b", True)])
    again = ProcessSpec.from_json(spec.to_json())
    assert again == spec and isinstance(again.mounts[0], Mount)


def test_resolve_user_from_the_containers_files(tmp_path):
    passwd = tmp_path / "passwd"
    group = tmp_path / "group"
    passwd.write_text("root:x:0:0:root:/root:/bin/sh\nalice:x:1000:1000::/home/alice:/bin/sh\n")
    group.write_text("root:x:0:\nalice:x:1000:\nstaff:x:50:alice,bob\n")
    u = resolve_user("alice", str(passwd), str(group))
    assert (u.uid, u.gid, u.groups, u.home) == (1000, 1000, [50], "/home/alice")
    u = resolve_user("alice:staff", str(passwd), str(group))
    assert u.gid == 50
    u = resolve_user("4242:77", str(passwd), str(group))
    assert (u.uid, u.gid) == (4242, 77)
    assert resolve_user("", str(passwd), str(group)).uid == 0
    with pytest.raises(ContainerExit, match="unable to find user bob"):
        resolve_user("bob", str(passwd), str(group))
    with pytest.raises(ContainerExit, match="unable to find group nogroup"):
        resolve_user("alice:nogroup", str(passwd), str(group))


def test_find_executable_codes(tmp_path):
    bindir = tmp_path / "bin"
    bindir.mkdir()
    tool = bindir / "tool"
    tool.write_text("#!/bin/sh\n")
    tool.chmod(0o755)
    data = bindir / "data"
    data.write_text("x")
    data.chmod(0o644)
    assert find_executable("tool", str(bindir)) == str(tool)
    with pytest.raises(ContainerExit) as e:
        find_executable("missing", str(bindir))
    assert e.value.exit_code == 127 and "executable file not found in $PATH" in e.value.message
    if os.geteuid() != 0:  # root may execute anything with an x bit only
        with pytest.raises(ContainerExit) as e:
            find_executable("data", str(bindir))
        assert e.value.exit_code == 126
    with pytest.raises(ContainerExit) as e:
        find_executable(str(data), "")
    assert e.value.exit_code == 126
    with pytest.raises(ContainerExit) as e:
        find_executable("/no/such/file", "")
    assert e.value.exit_code == 127
