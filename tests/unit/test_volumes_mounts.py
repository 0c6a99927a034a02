"""resolve_mounts / VolumeHooks / copy-up with fake image layer dirs (no root needed)."""

from __future__ import annotations

import os
import stat
from types import SimpleNamespace

import pytest

from glassbox.containers.options import CreateOptions
from glassbox.errors import InvalidArgument, NotFound
from glassbox.runtime.spec import Mount
from glassbox.volumes import (VolumeHooks, VolumeManager, inspect_mounts,
                              release_container_volumes, resolve_mounts)
from glassbox.volumes.copyup import copy_image_content, image_dirs_at


def write(path, text="", mode=None):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        f.write(text)
    if mode is not None:
        os.chmod(path, mode)


def read(path):
    with open(path) as f:
        return f.read()


def tree(path):
    out = []
    for base, dirs, files in os.walk(path):
        for n in dirs + files:
            out.append(os.path.relpath(os.path.join(base, n), path))
    return sorted(out)


@pytest.fixture
def layers(tmp_path):
    """Two layers as the image store unpacks them (OCI whiteout spelling)."""
    l0, l1 = tmp_path / "l0", tmp_path / "l1"
    write(l0 / "data/a", "a0")
    write(l0 / "data/sub/b", "b0", mode=0o640)
    write(l0 / "data/gone", "bye")
    write(l0 / "other/x", "x")
    write(l0 / "etc/conf", "c")
    write(l1 / "data/a", "a1")
    write(l1 / "data/.wh.gone")
    write(l1 / "data/new", "n")
    write(l1 / "other/.wh..wh..opq")
    write(l1 / "other/only", "o")
    os.chmod(l0 / "data", 0o700)
    os.chmod(l1 / "data", 0o750)  # the top layer's directory metadata wins
    return [str(l0), str(l1)]


@pytest.fixture
def vm(tmp_path):
    return VolumeManager(str(tmp_path / "root"))


def opts(**kw):
    return CreateOptions(image="img", **kw)


# ---- copy-up --------------------------------------------------------------------------

def test_copy_up_merges_layers_with_whiteouts(layers, tmp_path):
    dest = tmp_path / "vol"
    dest.mkdir()
    n = copy_image_content(layers, "/data", str(dest))
    assert tree(dest) == ["a", "new", "sub", "sub/b"]
    assert n == 6  # entries written: 4 from l0 (incl. "gone"), then a and new from l1
    assert read(dest / "a") == "a1"                     # the top layer wins
    assert stat.S_IMODE(os.stat(dest / "sub/b").st_mode) == 0o640
    assert stat.S_IMODE(os.stat(dest).st_mode) == 0o750  # the volume takes the dir's mode


def test_copy_up_opaque_dir_hides_lower_layers(layers, tmp_path):
    dest = tmp_path / "vol"
    dest.mkdir()
    assert image_dirs_at(layers, "/other") == [os.path.join(layers[1], "other")]
    copy_image_content(layers, "/other", str(dest))
    assert tree(dest) == ["only"]


def test_copy_up_never_touches_a_non_empty_volume(layers, tmp_path):
    dest = tmp_path / "vol"
    write(dest / "mine", "keep")
    assert copy_image_content(layers, "/data", str(dest)) == 0
    assert tree(dest) == ["mine"]


def test_copy_up_nothing_at_path(layers, tmp_path):
    dest = tmp_path / "vol"
    dest.mkdir()
    assert copy_image_content(layers, "/nowhere", str(dest)) == 0
    assert copy_image_content(layers, "/etc/conf", str(dest)) == 0  # a file, not a dir
    assert tree(dest) == []


def test_deleted_or_replaced_target_hides_lower_content(tmp_path):
    l0, l1, l2 = (str(tmp_path / n) for n in ("l0", "l1", "l2"))
    write(os.path.join(l0, "data/old"), "old")
    write(os.path.join(l1, ".wh.data"))                 # data deleted in l1
    assert image_dirs_at([l0, l1], "/data") == []
    write(os.path.join(l2, "data/fresh"), "f")          # ... and re-created in l2
    assert image_dirs_at([l0, l1, l2], "/data") == [os.path.join(l2, "data")]
    l3 = str(tmp_path / "l3")
    write(os.path.join(l3, "data"), "now a file")
    assert image_dirs_at([l0, l3], "/data") == []
    l4 = str(tmp_path / "l4")
    write(os.path.join(l4, "srv"), "parent is a file")
    write(os.path.join(l0, "srv/data/x"), "x")
    assert image_dirs_at([l0, l4], "/srv/data") == []


@pytest.mark.skipif(os.geteuid() != 0, reason="overlay whiteouts need CAP_MKNOD")
def test_overlay_whiteout_spelling(tmp_path):
    l0, l1 = str(tmp_path / "l0"), str(tmp_path / "l1")
    write(os.path.join(l0, "data/gone"), "x")
    write(os.path.join(l0, "data/keep"), "k")
    os.makedirs(os.path.join(l1, "data"))
    os.mknod(os.path.join(l1, "data/gone"), stat.S_IFCHR, os.makedev(0, 0))
    dest = tmp_path / "vol"
    dest.mkdir()
    copy_image_content([l0, l1], "/data", str(dest))
    assert tree(dest) == ["keep"]


def test_copy_up_never_follows_symlinks_out(tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    l0, l1 = str(tmp_path / "l0"), str(tmp_path / "l1")
    os.makedirs(os.path.join(l0, "data"))
    os.symlink(str(outside), os.path.join(l0, "data/link"))
    write(os.path.join(l1, "data/link/passwd"), "pwned")   # link becomes a real dir in l1
    dest = tmp_path / "vol"
    dest.mkdir()
    copy_image_content([l0, l1], "/data", str(dest))
    assert os.listdir(outside) == []
    assert not os.path.islink(dest / "link") and read(dest / "link/passwd") == "pwned"
    dest2 = tmp_path / "vol2"
    dest2.mkdir()
    copy_image_content([l0], "/data", str(dest2))
    assert os.readlink(dest2 / "link") == str(outside)    # symlinks are copied as symlinks


# ---- resolve_mounts -------------------------------------------------------------------

def test_named_volume_created_on_first_use_with_copy_up(vm, layers):
    ms = resolve_mounts(vm, opts(volumes=["vol1:/data"]), {}, layer_dirs=layers)
    assert ms == [Mount("bind", vm.data_dir("vol1"), "/data", False, "")]
    assert vm.get("vol1")["Anonymous"] is False
    assert tree(vm.data_dir("vol1")) == ["a", "new", "sub", "sub/b"]
    # second use: the volume is not empty any more, nothing copied over the user's data
    os.unlink(os.path.join(vm.data_dir("vol1"), "a"))
    resolve_mounts(vm, opts(volumes=["vol1:/data:ro"]), {}, layer_dirs=layers)
    assert "a" not in os.listdir(vm.data_dir("vol1"))


def test_nocopy(vm, layers):
    resolve_mounts(vm, opts(volumes=["vol1:/data:nocopy"]), {}, layer_dirs=layers)
    resolve_mounts(vm, opts(mounts=["src=vol2,dst=/data,volume-nocopy"]), {},
                   layer_dirs=layers)
    assert tree(vm.data_dir("vol1")) == [] and tree(vm.data_dir("vol2")) == []


def test_image_volumes_become_anonymous_volumes(vm, layers):
    cfg = {"Volumes": {"/data": {}, "/other/": {}}}
    ms = resolve_mounts(vm, opts(), cfg, layer_dirs=layers)
    assert [m.target for m in ms] == ["/data", "/other"]
    for m in ms:
        name = vm.name_of(m.source)
        assert len(name) == 64 and vm.get(name)["Anonymous"] is True
    assert tree(ms[0].source) == ["a", "new", "sub", "sub/b"]
    assert tree(ms[1].source) == ["only"]


def test_user_mount_covers_image_volume(vm, tmp_path):
    ms = resolve_mounts(vm, opts(volumes=["keep:/data"], tmpfs=["/cache:size=1m"]),
                        {"Volumes": {"/data": {}, "/cache": {}, "/logs": {}}})
    assert [(m.type, m.target) for m in ms] == [("tmpfs", "/cache"), ("bind", "/data"),
                                                ("bind", "/logs")]
    assert len(vm.names()) == 2  # "keep" + one anonymous for /logs


def test_anonymous_from_v_and_mount(vm):
    ms = resolve_mounts(vm, opts(volumes=["/a"], mounts=["type=volume,dst=/b"]), {})
    assert all(vm.get(vm.name_of(m.source))["Anonymous"] for m in ms)
    assert len(set(m.source for m in ms)) == 2


def test_tmpfs_and_mount_tmpfs(vm):
    ms = resolve_mounts(vm, opts(tmpfs=["/run:size=64m,mode=1777"],
                                 mounts=["type=tmpfs,dst=/t,tmpfs-size=1m,tmpfs-mode=1770"]),
                        {})
    assert ms == [Mount("tmpfs", "", "/run", False, "size=64m,mode=1777"),
                  Mount("tmpfs", "", "/t", False, "mode=1770,size=1m")]
    assert vm.names() == []


@pytest.mark.parametrize("kw", [
    dict(volumes=["a1:/x", "a2:/x"]),
    dict(volumes=["a1:/x"], mounts=["src=a2,dst=/x"]),
    dict(mounts=["src=a2,dst=/x", "type=tmpfs,dst=/x/"]),
    dict(volumes=["/x"], tmpfs=["/x"]),
    dict(volumes=["a1:/x/"], tmpfs=["/x:size=1m"]),
])
def test_duplicate_mount_point(vm, kw):
    with pytest.raises(InvalidArgument) as e:
        resolve_mounts(vm, opts(**kw), {})
    assert str(e.value) == "Duplicate mount point: /x"
    assert vm.names() == []  # validated before anything was created


def test_parse_errors_create_nothing(vm, tmp_path):
    with pytest.raises(InvalidArgument, match="bind source path does not exist"):
        resolve_mounts(vm, opts(volumes=["v1:/a", "v2:/b"],
                                mounts=[f"type=bind,src={tmp_path}/nope,dst=/c"]), {})
    assert vm.names() == []
    with pytest.raises(InvalidArgument, match="invalid mode"):
        resolve_mounts(vm, opts(volumes=["v1:/a", "v2:/b:xx"]), {})
    assert vm.names() == []


def test_bind_v_creates_missing_host_dir_mount_does_not(vm, tmp_path):
    host = tmp_path / "site" / "deep"
    ms = resolve_mounts(vm, opts(volumes=[f"{host}:/www:ro"]), {})
    assert ms == [Mount("bind", str(host), "/www", True, "")]
    assert host.is_dir()
    with pytest.raises(InvalidArgument) as e:
        resolve_mounts(vm, opts(mounts=[f"type=bind,src={tmp_path}/other,dst=/www"]), {})
    assert str(e.value) == ('invalid mount config for type "bind": bind source path does '
                            f"not exist: {tmp_path}/other")


def test_bind_source_symlink_is_resolved_once(vm, tmp_path):
    real = tmp_path / "real"
    real.mkdir()
    os.symlink(real, tmp_path / "link")
    ms = resolve_mounts(vm, opts(mounts=[f"type=bind,src={tmp_path}/link,dst=/w"]), {})
    assert ms[0].source == str(real)  # what inspect shows is what gets mounted
    os.symlink(tmp_path / "missing", tmp_path / "dangling")
    with pytest.raises(InvalidArgument, match="bind source path does not exist"):
        resolve_mounts(vm, opts(mounts=[f"type=bind,src={tmp_path}/dangling,dst=/w"]), {})


class FakeContainers:
    def __init__(self, **by_name):
        self.by_name = by_name

    def get(self, ref):
        if ref not in self.by_name:
            raise NotFound(f"No such container: {ref}")
        return SimpleNamespace(id=ref * 8, config={"Mounts": self.by_name[ref]})


def test_volumes_from(vm, tmp_path):
    vm.create("shared")
    src = [Mount("bind", vm.data_dir("shared"), "/data").__dict__,
           Mount("bind", str(tmp_path), "/host", True).__dict__,
           Mount("tmpfs", "", "/scratch", False, "size=1m").__dict__]
    cs = FakeContainers(db=src)
    ms = resolve_mounts(vm, opts(volumes_from=["db"]), {}, cs)
    assert ms == [Mount("bind", vm.data_dir("shared"), "/data", False),
                  Mount("bind", str(tmp_path), "/host", True)]   # tmpfs stays private
    ms = resolve_mounts(vm, opts(volumes_from=["db:ro"]), {}, cs)
    assert all(m.readonly for m in ms)
    # -v overrides a volumes-from mount on the same target (no duplicate error)
    ms = resolve_mounts(vm, opts(volumes_from=["db"], volumes=["mine:/data"]), {}, cs)
    assert [m.source for m in ms if m.target == "/data"] == [vm.data_dir("mine")]
    with pytest.raises(NotFound, match="No such container: nope"):
        resolve_mounts(vm, opts(volumes_from=["nope"]), {}, cs)


def test_failure_removes_what_this_call_created(vm, layers, monkeypatch):
    vm.create("existing")
    import glassbox.volumes.mounts as mounts_mod
    calls = []

    def boom(*a):
        calls.append(a)
        if len(calls) == 3:
            raise OSError(28, "No space left on device")
        return 0
    monkeypatch.setattr(mounts_mod, "copy_image_content", boom)
    with pytest.raises(OSError):
        resolve_mounts(vm, opts(volumes=["existing:/a", "fresh:/b", "/c"]), {},
                       layer_dirs=layers, cid="f" * 64)
    assert vm.names() == ["existing"]
    assert vm.users("existing") == []


# ---- hooks ----------------------------------------------------------------------------

def test_hooks_mounts_refs_and_removed(vm, layers):
    image = SimpleNamespace(config={"config": {"Volumes": {"/data": {}}}}, layer_dirs=layers)
    hooks = VolumeHooks(vm, lambda: FakeContainers())
    cid = "c" * 64
    ms = hooks.mounts(opts(volumes=["named:/n"]), image, cid)
    anon = vm.name_of([m for m in ms if m.target == "/data"][0].source)
    assert tree(vm.data_dir(anon)) == ["a", "new", "sub", "sub/b"]
    assert hooks.in_use("named") == [cid] and hooks.in_use(anon) == [cid]
    container = SimpleNamespace(id=cid, config={"Mounts": [m.__dict__ for m in ms]})
    hooks.removed(container, remove_anonymous=False)
    assert sorted(vm.names()) == sorted(["named", anon])   # plain rm keeps volumes
    assert hooks.in_use("named") == []
    hooks.removed(container, remove_anonymous=True)
    assert vm.names() == ["named"]                       # rm -v: anonymous ones go


def test_rm_v_keeps_anonymous_volume_another_container_uses(vm, tmp_path):
    hooks = VolumeHooks(vm)
    a, b = "a" * 64, "b" * 64
    ms = hooks.mounts(opts(volumes=["/data"]), None, a)
    anon = vm.name_of(ms[0].source)
    vm.add_ref(anon, b)  # b took it with --volumes-from
    hooks.removed(SimpleNamespace(id=a, config={"Mounts": [m.__dict__ for m in ms]}), True)
    assert vm.names() == [anon]
    vm.drop_ref(anon, b)
    hooks.removed(SimpleNamespace(id=b, config={"Mounts": [m.__dict__ for m in ms]}), True)
    assert vm.names() == []


def test_hooks_discard(vm):
    hooks = VolumeHooks(vm)
    cid = "e" * 64
    ms = hooks.mounts(opts(volumes=["/x", "named:/y"]), None, cid)
    hooks.discard(ms, cid)
    assert vm.names() == ["named"] and vm.users("named") == []


def test_inspect_mounts(vm, tmp_path):
    vm.create("data")
    stored = [Mount("bind", vm.data_dir("data"), "/d").__dict__,
              Mount("bind", str(tmp_path), "/h", True).__dict__,
              Mount("tmpfs", "", "/t", False, "size=1m").__dict__]
    assert inspect_mounts(vm, stored) == [
        {"Type": "volume", "Name": "data", "Source": vm.data_dir("data"), "Destination": "/d",
         "Driver": "local", "Mode": "", "RW": True, "Propagation": ""},
        {"Type": "bind", "Source": str(tmp_path), "Destination": "/h", "Mode": "ro",
         "RW": False, "Propagation": "rprivate"},
        {"Type": "tmpfs", "Source": "", "Destination": "/t", "Mode": "size=1m", "RW": True,
         "Propagation": ""}]


def test_release_for_auto_remove(vm):
    cid = "9" * 64
    ms = VolumeHooks(vm).mounts(opts(volumes=["/x", "named:/y"]), None, cid)
    release_container_volumes(vm.root, cid, [m.__dict__ for m in ms])
    assert vm.names() == ["named"] and vm.users("named") == []
