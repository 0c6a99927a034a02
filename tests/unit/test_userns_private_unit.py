"""``--userns=private`` without root: the mode, root's range in subuid/subgid, the
recorded map, commit's owner shift, and the rootfs sequence (recording fake)."""

from __future__ import annotations

import os

import pytest

from glassbox._sys.constants import MOUNT_ATTR_IDMAP
from glassbox._sys.fake import RecordingSys
from glassbox.errors import InvalidArgument
from glassbox.rootless import private
from glassbox.rootless.idmap import IdMapPlan
from glassbox.runtime.spec import ProcessSpec


@pytest.mark.parametrize("value, mode", [(None, ""), ("", ""), ("host", ""),
                                         ("private", "private")])
def test_parse_mode(value, mode):
    assert private.parse_mode(value) == mode


@pytest.mark.parametrize("value", ["foo", "Private", "auto", "keep-id"])
def test_parse_mode_refuses_naming_the_value(value):
    with pytest.raises(InvalidArgument, match=f"invalid --userns value '{value}'"):
        private.parse_mode(value)


def _etc(tmp_path, subuid: str, subgid: str | None = None):
    (tmp_path / "subuid").write_text(subuid)
    (tmp_path / "subgid").write_text(subgid if subgid is not None else subuid)
    return str(tmp_path)


def test_host_range_takes_roots_first_large_enough_range(tmp_path):
    etc = _etc(tmp_path, "alice:100000:65536\nroot:300000:1000\nroot:400000:131072\n",
               "0:500000:65536\n")
    plan = private.host_range(etc)
    assert plan.mode == "private"
    assert [r.line() for r in plan.uids] == ["0 400000 65536"]
    assert [r.line() for r in plan.gids] == ["0 500000 65536"]   # root by its uid, too


@pytest.mark.parametrize("subuid", ["", "alice:100000:65536\n", "root:100000:100\n"])
def test_host_range_without_one_names_the_file_and_the_fix(tmp_path, subuid):
    etc = _etc(tmp_path, subuid)
    with pytest.raises(InvalidArgument) as e:
        private.host_range(etc)
    assert os.path.join(etc, "subuid") in e.value.message
    assert "usermod --add-subuids" in e.value.message


def test_host_range_with_no_file(tmp_path, monkeypatch):
    monkeypatch.setenv(private.SUBID_DIR_ENV, str(tmp_path))
    with pytest.raises(InvalidArgument, match="no such file"):
        private.host_range()


def test_the_recorded_map_reads_back():
    for plan in (IdMapPlan.from_json({"Mode": "private", "UidMap": ["0 400000 65536"],
                                      "GidMap": ["0 500000 65536"]}),):
        assert IdMapPlan.from_json(plan.to_json()) == plan
        assert plan.uids[0].outside == 400000 and plan.gids[0].outside == 500000
    subids = IdMapPlan.from_json({"Mode": "subids", "UidMap": ["0 1000 1", "1 100000 65536"],
                                  "GidMap": ["0 1000 1"]})
    assert subids.mode == "subids" and subids.helper and subids.size == 65537


class _Opts:
    def __init__(self, **kw):
        self.userns, self.privileged = kw.get("userns"), kw.get("privileged", False)


def test_check_create(tmp_path, monkeypatch):
    monkeypatch.setenv(private.SUBID_DIR_ENV, _etc(tmp_path, "root:100000:65536\n"))
    monkeypatch.setattr(os, "geteuid", lambda: 0)
    assert private.check_create(_Opts(userns="host")) is None
    assert private.check_create(_Opts(userns="private")).mode == "private"
    with pytest.raises(InvalidArgument, match="--privileged cannot be combined"):
        private.check_create(_Opts(userns="private", privileged=True))
    monkeypatch.setattr(os, "geteuid", lambda: 1000)
    with pytest.raises(InvalidArgument, match="for rootful glassbox"):
        private.check_create(_Opts(userns="private"))


def test_commit_shifts_owners_back_by_the_containers_recorded_map(tmp_path):
    import json
    assert private.owner_shift(str(tmp_path / "upper")) is None          # no config.json
    (tmp_path / "config.json").write_text(json.dumps({"Id": "x"}))
    assert private.owner_shift(str(tmp_path / "upper")) is None          # not private
    (tmp_path / "config.json").write_text(json.dumps({"IdMap": {
        "Mode": "private", "UidMap": ["0 400000 65536"], "GidMap": ["0 500000 65536"]}}))
    assert private.owner_shift(str(tmp_path / "upper")) == (400000, 500000)
    shift = (400000, 500000)
    st = os.stat_result((0o100644, 0, 0, 1, 401000, 500005, 0, 0, 0, 0))
    assert private.container_owner(st, shift) == (1000, 5)
    st = os.stat_result((0o100644, 0, 0, 1, 7, 500000 + 65536, 0, 0, 0, 0))
    assert private.container_owner(st, shift) == (65534, 65534)   # outside: nobody


def test_the_rootfs_is_built_by_host_root_with_idmapped_layers_then_entered(tmp_path,
                                                                           monkeypatch):
    rootfs = tmp_path / "merged"
    (rootfs / "proc").mkdir(parents=True)
    layers = [str(tmp_path / "l1"), str(tmp_path / "l2")]
    spec = ProcessSpec(id="c", args=["sh"], env=[], lower_dirs=layers,
                       upper_dir=str(tmp_path / "upper"), work_dir=str(tmp_path / "work"),
                       rootfs=str(rootfs), userns="private")
    import glassbox.rootfs.setup as setup
    monkeypatch.setattr(setup, "pivot", lambda sys_, r: sys_.pivot_root(r, r))
    ids = []
    for name in ("setgroups", "setresgid", "setresuid"):
        monkeypatch.setattr(os, name, lambda *a, _n=name: ids.append((_n, a)))
    fds = {ns: os.open(os.devnull, os.O_RDONLY) for ns in ("user", "uts", "ipc")}
    monkeypatch.setattr(private, "_held", dict(fds))
    monkeypatch.setattr(private, "_root", [os.getuid(), os.getgid()])
    fake = RecordingSys()
    try:
        setup.build_rootfs(fake, spec)
    finally:
        for fd in fds.values():
            try:
                os.close(fd)
            except OSError:
                pass
    names = fake.names()
    # UTS/IPC of the user namespace first, then every layer idmapped onto itself ...
    assert [a[0] for n, a in fake.calls if n == "setns"][:2] == [fds["uts"], fds["ipc"]]
    assert names.count("open_tree") == names.count("mount_setattr") == 2
    setattr_calls = [a for n, a in fake.calls if n == "mount_setattr"]
    assert all(a[1] == MOUNT_ATTR_IDMAP and a[2] == fds["user"] for a in setattr_calls)
    assert [a[1] for n, a in fake.calls if n == "move_mount"] == layers
    # ... before the overlay, which host root mounts without userxattr
    overlay = next(i for i, (n, a) in enumerate(fake.calls) if n == "mount" and a[2] == "overlay")
    assert overlay > max(i for i, (n, _) in enumerate(fake.calls) if n == "move_mount")
    assert "userxattr" not in fake.calls[overlay][1][4]
    assert names.count("mknod") == 6                      # host root makes the nodes
    # and the very last step: into the user namespace, as its root
    assert fake.calls[-1][0] == "setns" and fake.calls[-1][1][0] == fds["user"]
    assert names.index("pivot_root") < len(names) - 1
    assert ids == [("setgroups", ([],)), ("setresgid", (0, 0, 0)), ("setresuid", (0, 0, 0))]


def test_the_api_field_maps_both_ways():
    from glassbox.containers.options import CreateOptions
    from glassbox.daemon.fields import check_create as check_fields
    from glassbox.daemon.translate import create_body, create_options
    body = {"Image": "busybox", "HostConfig": {"UsernsMode": "private"}}
    check_fields(body)                                   # honoured, not refused as unknown
    assert create_options(body).userns == "private"
    assert create_options({"Image": "busybox", "HostConfig": {"UsernsMode": ""}}).userns is None
    sent, _ = create_body(CreateOptions("busybox", userns="private"))
    assert sent["HostConfig"]["UsernsMode"] == "private"
    assert create_body(CreateOptions("busybox"))[0]["HostConfig"]["UsernsMode"] == ""


def test_the_cli_flag():
    from glassbox.cli.commands import create_options
    from glassbox.cli.parser import build_parser
    args = build_parser().parse_args(["run", "--userns=private", "busybox"])
    assert create_options(args).userns == "private"
    assert create_options(build_parser().parse_args(["create", "busybox"])).userns is None
