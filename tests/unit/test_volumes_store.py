"""VolumeManager on a tmp root: create/get/list/remove/prune, users, atomic layout."""

from __future__ import annotations

import json
import os
import re
import time

import pytest

from glassbox.errors import Conflict, InvalidArgument, NotFound
from glassbox.volumes import VolumeManager
from glassbox.volumes.store import ANON_LABEL, REF_GRACE_SECONDS


@pytest.fixture
def vm(tmp_path):
    return VolumeManager(str(tmp_path / "root"))


def _container(root, cid, mounts, new=False):
    """A fake container record, as ContainerManager writes it."""
    d = os.path.join(root, "containers", (".new-" if new else "") + cid)
    os.makedirs(d)
    with open(os.path.join(d, "config.json"), "w") as f:
        json.dump({"Id": cid, "Mounts": mounts}, f)


def _bind(vm, name, target="/data"):
    return {"type": "bind", "source": vm.data_dir(name), "target": target,
            "readonly": False, "options": ""}


def test_create_layout_and_inspect_shape(vm):
    v = vm.create("data", labels={"course": "a4"})
    assert v["Name"] == "data" and v["Driver"] == "local" and v["Scope"] == "local"
    assert v["Labels"] == {"course": "a4"} and v["Options"] == {}
    assert v["Anonymous"] is False
    assert v["Mountpoint"] == os.path.join(vm.root, "volumes", "data", "_data")
    assert os.path.isdir(v["Mountpoint"])
    assert re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$", v["CreatedAt"])
    with open(os.path.join(vm.root, "volumes", "data", "meta.json")) as f:
        assert json.load(f) == v
    assert vm.get("data") == v
    assert not [n for n in os.listdir(vm.dir) if n.startswith(".new-")]


def test_create_is_idempotent_and_keeps_data(vm):
    v1 = vm.create("data")
    with open(os.path.join(v1["Mountpoint"], "f"), "w") as f:
        f.write("keep")
    v2 = vm.create("data", labels={"other": "x"})
    assert v2 == v1  # Docker returns the existing volume unchanged
    with open(os.path.join(v1["Mountpoint"], "f")) as f:
        assert f.read() == "keep"


def test_anonymous_volume_name_and_label(vm):
    v = vm.create()
    assert re.fullmatch(r"[0-9a-f]{64}", v["Name"])
    assert v["Anonymous"] is True and v["Labels"] == {ANON_LABEL: ""}
    assert vm.create()["Name"] != v["Name"]


@pytest.mark.parametrize("name", ["a", "bad/name", "../x", "-x", "a b", ".hidden"])
def test_bad_names(vm, name):
    with pytest.raises(InvalidArgument, match="includes invalid characters for a local "
                                              "volume name"):
        vm.create(name)
    assert vm.names() == []


def test_driver_and_options_refused(vm):
    with pytest.raises(InvalidArgument, match="only the 'local' driver"):
        vm.create("data", driver="nfs")
    with pytest.raises(InvalidArgument, match="not supported"):
        vm.create("data", options={"type": "tmpfs"})
    assert vm.names() == []


def test_get_missing(vm):
    for name in ("nope", "", "../etc", ".trash"):
        with pytest.raises(NotFound, match="No such volume"):
            vm.get(name)


def test_list_and_filters(vm):
    vm.create("alpha", labels={"tier": "db"})
    vm.create("beta", labels={"tier": "web"})
    anon = vm.create()["Name"]
    _container(vm.root, "c" * 64, [_bind(vm, "alpha")])
    assert [v["Name"] for v in vm.list()] == sorted(["alpha", "beta", anon])
    assert [v["Name"] for v in vm.list({"name": ["alp"]})] == ["alpha"]
    assert [v["Name"] for v in vm.list({"label": ["tier=web"]})] == ["beta"]
    assert [v["Name"] for v in vm.list({"label": ["tier"]})] == ["alpha", "beta"]
    assert sorted(v["Name"] for v in vm.list({"dangling": ["true"]})) == sorted([anon, "beta"])
    assert [v["Name"] for v in vm.list({"dangling": ["false"]})] == ["alpha"]
    assert vm.list({"driver": ["nfs"]}) == []
    with pytest.raises(InvalidArgument, match="invalid filter 'color'"):
        vm.list({"color": ["red"]})


def test_remove(vm):
    v = vm.create("data")
    with open(os.path.join(v["Mountpoint"], "f"), "w") as f:
        f.write("x")
    vm.remove("data")
    assert not os.path.exists(vm.path("data"))
    assert os.listdir(os.path.join(vm.dir, ".trash")) == []
    with pytest.raises(NotFound, match="No such volume: data"):
        vm.remove("data")
    vm.remove("data", force=True)  # -f: a missing volume is not an error


def test_remove_in_use_is_a_conflict_even_with_force(vm):
    vm.create("data")
    cid = "a" * 64
    _container(vm.root, cid, [_bind(vm, "data")])
    assert vm.users("data") == [cid]
    for force in (False, True):
        with pytest.raises(Conflict) as e:
            vm.remove("data", force=force)
        assert str(e.value) == f"remove data: volume is in use - [{cid}]"
    assert vm.exists("data")
    with pytest.raises(Conflict, match=r"in use - \[x y\]"):
        vm.remove("data", in_use=lambda n: ["x", "y"])


def test_refs_mark_a_create_in_flight(vm):
    vm.create("data")
    cid = "b" * 64
    ref = os.path.join(vm.path("data"), "refs", cid)
    vm.add_ref("data", cid)
    assert vm.users("data") == [cid]                 # hooks ran, no container dir yet
    _container(vm.root, cid, [], new=True)
    assert vm.users("data") == [cid]                 # .new-<cid>: still being created
    os.rename(os.path.join(vm.root, "containers", ".new-" + cid),
              os.path.join(vm.root, "containers", cid))
    assert vm.users("data") == []                    # created: its config is the authority
    assert not os.path.exists(ref)                   # ... and the marker is swept


def test_stale_refs_are_swept(vm):
    vm.create("data")
    cid = "c" * 64
    ref = os.path.join(vm.path("data"), "refs", cid)
    vm.add_ref("data", cid)
    old = time.time() - REF_GRACE_SECONDS - 10
    os.utime(ref, (old, old))
    assert vm.users("data") == [] and not os.path.exists(ref)   # a create that failed
    vm.add_ref("data", cid)
    with open(ref, "w") as f:
        json.dump({"pid": 2 ** 22 + 12345, "start": 1}, f)    # its creator is gone
    assert vm.users("data") == [] and not os.path.exists(ref)
    vm.add_ref("data", cid)
    vm.drop_ref("data", cid)
    assert vm.users("data") == []
    with pytest.raises(NotFound):
        vm.add_ref("nope", cid)


def test_prune_anonymous_only_unless_all(vm):
    vm.create("named")
    used_anon = vm.create()["Name"]
    free_anon = vm.create()["Name"]
    _container(vm.root, "d" * 64, [_bind(vm, used_anon)])
    assert vm.prune() == [free_anon]
    assert sorted(vm.names()) == sorted(["named", used_anon])
    assert vm.prune(all=True) == ["named"]
    assert vm.names() == [used_anon]


def test_prune_with_label_filter(vm):
    vm.create("keep", labels={"k": "1"})
    vm.create("drop", labels={"k": "2"})
    assert vm.prune(all=True, filters={"label": ["k=2"]}) == ["drop"]
    assert vm.names() == ["keep"]


def test_name_of(vm):
    assert vm.name_of(vm.data_dir("data")) == "data"
    assert vm.name_of(vm.data_dir("data") + "/") == "data"
    assert vm.name_of("/srv/site") is None
    assert vm.name_of(os.path.join(vm.dir, "data")) is None


def test_size(vm):
    v = vm.create("data")
    with open(os.path.join(v["Mountpoint"], "f"), "wb") as f:
        f.write(b"x" * 1000)
    os.link(os.path.join(v["Mountpoint"], "f"), os.path.join(v["Mountpoint"], "g"))
    assert vm.size("data") == 1000


def test_second_manager_sees_same_state(vm):
    vm.create("shared")
    other = VolumeManager(vm.root)
    assert other.get("shared")["Name"] == "shared"
    other.remove("shared")
    assert not vm.exists("shared")
