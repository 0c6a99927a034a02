"""The content-addressed image store: blobs, layers, tags, rmi, prune, gc, import."""

import gzip
import hashlib
import io
import json
import os
import tarfile

import pytest

from glassbox.errors import Conflict, InvalidArgument, NotFound, RegistryError
from glassbox.images import manifest as mf
from glassbox.images.changes import apply_changes
from glassbox.images.store import DigestMismatch, ImageStore, LayerRef


def rootfs_tar(files: dict, compress=None) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as t:
        for name, data in files.items():
            ti = tarfile.TarInfo(name)
            ti.mtime = 1_600_000_000
            if data is None:
                ti.type = tarfile.DIRTYPE
                ti.mode = 0o755
                t.addfile(ti)
            else:
                ti.size, ti.mode = len(data), 0o755
                t.addfile(ti, io.BytesIO(data))
    raw = buf.getvalue()
    if compress == "gzip":
        return gzip.compress(raw, mtime=0)
    if compress == "zstd":
        import zstandard
        return zstandard.ZstdCompressor().compress(raw)
    return raw


@pytest.fixture
def store(tmp_path):
    return ImageStore(tmp_path / "root", whiteouts="keep")


def imported(store, ref="base:1", files=None, changes=()):
    files = files or {"bin": None, "bin/sh": b"#!shell", "etc": None, "etc/os-release": b"ID=test\n"}
    return store.import_tarball(io.BytesIO(rootfs_tar(files, "gzip")), ref, list(changes))


def layer_from(store, tmp_path, files, name):
    up = tmp_path / name
    for rel, data in files.items():
        p = up / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        if data is None:
            p.mkdir(exist_ok=True)
        else:
            p.write_bytes(data)
    return store.create_layer(up)


# ----------------------------------------------------------------- blobs

def test_put_and_ingest_blob(store):
    d = store.put_blob(b"hello")
    assert d == "sha256:" + hashlib.sha256(b"hello").hexdigest()
    assert store.has_blob(d) and open(store.blob_path(d), "rb").read() == b"hello"
    seen = []
    d2, n = store.ingest_blob(io.BytesIO(b"x" * 3_000_000), expected_size=3_000_000,
                              expected_digest="sha256:" + hashlib.sha256(b"x" * 3_000_000).hexdigest(),
                              progress=seen.append)
    assert n == 3_000_000 and store.has_blob(d2) and seen[-1] == 3_000_000


@pytest.mark.parametrize("kw", [
    {"expected_digest": "sha256:" + "0" * 64},
    {"expected_size": 3},
    {"expected_size": 100},
])
def test_ingest_mismatch_leaves_nothing(store, kw):
    with pytest.raises(DigestMismatch) as e:
        store.ingest_blob(io.BytesIO(b"some data"), **kw)
    assert isinstance(e.value, RegistryError) and isinstance(e.value, InvalidArgument)
    assert os.listdir(store.blobs_dir) == [] and os.listdir(store.tmp_dir) == []


# ----------------------------------------------------------------- import / resolve

@pytest.mark.parametrize("compress", [None, "gzip", "zstd"])
def test_import_tarball(store, compress):
    data = rootfs_tar({"bin": None, "bin/sh": b"#!sh", "hello": b"hi"}, compress)
    im = store.import_tarball(io.BytesIO(data), "imp:1",
                              ['CMD ["sh"]', "ENV A=b C=d", "WORKDIR /srv", "EXPOSE 80 53/udp",
                               "LABEL k=v", "USER nobody", "ENTRYPOINT /bin/sh"], message="m1")
    c = im.config["config"]
    assert c["Cmd"] == ["sh"] and c["Env"] == ["A=b", "C=d"] and c["WorkingDir"] == "/srv"
    assert c["ExposedPorts"] == {"80/tcp": {}, "53/udp": {}} and c["Labels"] == {"k": "v"}
    assert c["User"] == "nobody" and c["Entrypoint"] == ["/bin/sh", "-c", "/bin/sh"]
    assert im.repo_tags == ("imp:1",)
    assert im.id == "sha256:" + hashlib.sha256(open(store.blob_path(im.id), "rb").read()).hexdigest()
    assert len(im.layers) == 1 and im.layers[0].media_type == mf.OCI_LAYER_GZIP
    raw = rootfs_tar({"bin": None, "bin/sh": b"#!sh", "hello": b"hi"})
    assert im.layers[0].diff_id == "sha256:" + hashlib.sha256(raw).hexdigest()
    assert open(os.path.join(im.layer_dirs[0], "hello")).read() == "hi"
    assert im.size == len(b"#!sh") + 2
    assert store.history("imp:1")[0]["Comment"] == "m1"
    assert os.listdir(store.tmp_dir) == []


def test_import_from_a_pipe(store):
    data = rootfs_tar({"f": b"piped"}, "gzip")
    r, w = os.pipe()
    os.write(w, data)
    os.close(w)
    with os.fdopen(r, "rb") as f:
        im = store.import_tarball(f, None)
    assert im.repo_tags == ()
    assert open(os.path.join(im.layer_dirs[0], "f")).read() == "piped"


def test_resolve_forms(store):
    im = imported(store, "docker.io/library/base:1")
    for s in ("base:1", "docker.io/library/base:1", "library/base:1", im.id, im.id[7:],
              im.id[7:11], im.id[:11], f"base@{im.manifest_digest}"):
        assert store.resolve(s).id == im.id, s
    for s in ("base", "base:2", "other", im.id[7:10], "sha256:" + "f" * 64):
        with pytest.raises(NotFound, match="No such image"):
            store.resolve(s)


def test_ambiguous_prefix(store):
    base = imported(store, "base:1")
    # find two configs whose digests share their first 4 hex digits (birthday: ~300 tries)
    seen = {}
    for i in range(100_000):
        cfg = {"architecture": "amd64", "os": "linux", "config": {"Labels": {"n": str(i)}},
               "rootfs": {"type": "layers", "diff_ids": [base.layers[0].diff_id]}}
        h = hashlib.sha256(mf.canonical_json(cfg)).hexdigest()
        if h[:4] in seen:
            break
        seen[h[:4]] = cfg
    a = store.put_image(seen[h[:4]], base.layers)
    b = store.put_image(cfg, base.layers)
    assert a.id[7:11] == b.id[7:11] and a.id != b.id
    with pytest.raises(Conflict, match="ambiguous"):
        store.resolve(a.id[7:11])
    n = len(os.path.commonprefix([a.id, b.id]))
    assert store.resolve(a.id[:n + 1]).id == a.id


def test_image_fields(store):
    im = imported(store, "base:1")
    assert im.created and im.config["os"] == "linux" and im.config["rootfs"]["diff_ids"] == [
        im.layers[0].diff_id]
    assert im.layer_dirs == (store.layer_dir(im.layers[0].diff_id),)
    m = json.loads(store.read_blob(im.manifest_digest))
    assert m["mediaType"] == mf.OCI_MANIFEST and m["config"]["digest"] == im.id
    assert im.short_id == im.id[7:19]


# ----------------------------------------------------------------- layers / put_image

def test_create_layer_and_put_image_sharing_base(store, tmp_path):
    base = imported(store, "base:1")
    l1 = layer_from(store, tmp_path, {"app": None, "app/one": b"1"}, "u1")
    l2 = layer_from(store, tmp_path, {"app": None, "app/two": b"2"}, "u2")
    cfg = {"config": {"Cmd": ["sh"]}, "history": [{"created_by": "base"}, {"created_by": "add"}]}
    a = store.put_image(cfg, list(base.layers) + [l1], ["app:a"])
    b = store.put_image(cfg, list(base.layers) + [l2], ["app:b"], mf.DOCKER_MANIFEST)
    assert a.layer_dirs[0] == b.layer_dirs[0] == base.layer_dirs[0]
    assert json.loads(store.read_blob(b.manifest_digest))["mediaType"] == mf.DOCKER_MANIFEST
    assert b.manifest["layers"][0]["mediaType"] == mf.DOCKER_LAYER_GZIP
    df = store.disk_usage()
    rows = {r["id"]: r for r in df["images"]}
    base_size = base.size
    assert rows[a.id]["shared_size"] == base_size and rows[a.id]["unique_size"] == 1
    assert df["layer_count"] == 3 and df["layers_size"] == base_size + 2
    shared = [r for r in df["layers"] if r["diff_id"] == base.layers[0].diff_id][0]
    assert set(shared["images"]) == {base.id, a.id, b.id}
    # the same upper dir content again gives the same layer
    again = layer_from(store, tmp_path, {"app": None, "app/one": b"1"}, "u1")
    assert again == l1


def test_put_image_validates(store, tmp_path):
    base = imported(store, "base:1")
    bogus = LayerRef("sha256:" + "1" * 64, "sha256:" + "2" * 64, 10, mf.OCI_LAYER_GZIP)
    with pytest.raises(NotFound):
        store.put_image({}, [bogus])
    with pytest.raises(InvalidArgument, match="diff_ids"):
        store.put_image({"rootfs": {"type": "layers", "diff_ids": []}}, list(base.layers))
    with pytest.raises(InvalidArgument, match="digest reference"):
        store.put_image({}, list(base.layers), ["x@sha256:" + "a" * 64])


def test_put_image_keeps_pulled_bytes(store):
    base = imported(store, "base:1")
    config_bytes = b'{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":["%s"]}}' % \
        base.layers[0].diff_id.encode()
    cfg_digest = "sha256:" + hashlib.sha256(config_bytes).hexdigest()
    m = mf.make_manifest(cfg_digest, len(config_bytes), base.layers, mf.DOCKER_MANIFEST)
    mbytes = json.dumps(m, indent=3).encode()
    im = store.put_image(config_bytes, base.layers, ["pulled:1"], manifest_bytes=mbytes)
    assert im.id == cfg_digest
    assert im.manifest_digest == "sha256:" + hashlib.sha256(mbytes).hexdigest()
    assert store.read_blob(im.manifest_digest) == mbytes


def test_unpack_layer_idempotent_and_verified(store):
    raw = rootfs_tar({"x": b"1"})
    d = store.put_blob(gzip.compress(raw, mtime=0))
    diff = store.unpack_layer(d, mf.OCI_LAYER_GZIP)
    assert diff == "sha256:" + hashlib.sha256(raw).hexdigest()
    marker = os.path.join(store.layer_dir(diff), "marker")
    open(marker, "w").close()
    assert store.unpack_layer(d, mf.OCI_LAYER_GZIP) == diff
    assert os.path.exists(marker)  # not unpacked again
    d2 = store.put_blob(gzip.compress(rootfs_tar({"y": b"2"}), mtime=0))
    with pytest.raises(DigestMismatch):
        store.unpack_layer(d2, mf.OCI_LAYER_GZIP, diff_id="sha256:" + "3" * 64)
    assert os.listdir(store.tmp_dir) == []
    assert store.layer_meta(diff)["size"] == 1


# ----------------------------------------------------------------- tag / rmi / prune / gc

def test_tag_untag(store):
    im = imported(store, "base:1")
    store.tag("base:1", "mine:2")
    store.tag(im.id[7:15], "localhost:5000/team/x")
    assert set(store.resolve("base:1").repo_tags) == {"base:1", "mine:2", "localhost:5000/team/x:latest"}
    store.untag("mine:2")
    with pytest.raises(NotFound):
        store.resolve("mine:2")
    with pytest.raises(NotFound):
        store.untag("mine:2")
    with pytest.raises(InvalidArgument):
        store.tag("base:1", "Bad:tag")
    with pytest.raises(NotFound):
        store.tag("nothing", "x")


def test_retag_leaves_old_image_dangling_and_prune(store):
    old = imported(store, "app:1", {"v": b"1"})
    new = imported(store, "app:1", {"v": b"2"})
    assert store.resolve("app:1").id == new.id
    listed = {im.id: im.repo_tags for im in store.list()}
    assert listed[old.id] == () and listed[new.id] == ("app:1",)
    assert store.prune() == [old.id]
    assert [im.id for im in store.list()] == [new.id]
    assert not store.has_layer(old.layers[0].diff_id) and not store.has_blob(old.layers[0].digest)
    assert store.has_layer(new.layers[0].diff_id)


def test_rmi_semantics(store):
    im = imported(store, "base:1")
    store.tag("base:1", "other:1")
    assert store.remove("base:1") == [{"Untagged": "base:1"}]
    assert store.resolve("other:1").id == im.id
    store.tag("other:1", "third:1")
    with pytest.raises(Conflict, match="multiple repositories"):
        store.remove(im.id)
    with pytest.raises(Conflict, match="must be forced"):
        store.remove(im.id[7:19], in_use=lambda i: i == im.id)
    res = store.remove(im.id, force=True)
    assert {"Untagged": "other:1"} in res and {"Untagged": "third:1"} in res
    assert {"Deleted": im.id} in res and {"Deleted": im.layers[0].diff_id} in res
    assert store.list() == [] and os.listdir(store.blobs_dir) == []
    assert not os.path.exists(im.layer_dirs[0])


def test_rmi_refused_while_in_use_unless_forced(store):
    im = imported(store, "busy:1")
    used = lambda i: i == im.id  # noqa: E731
    with pytest.raises(Conflict, match="container"):
        store.remove("busy:1", in_use=used)
    assert store.resolve("busy:1").id == im.id
    assert store.remove("busy:1", force=True, in_use=used) == [{"Untagged": "busy:1"}]
    # kept (dangling) while the container needs its layers
    assert [i.id for i in store.list()] == [im.id] and os.path.isdir(im.layer_dirs[0])
    assert store.prune(in_use=used) == []
    assert store.prune() == [im.id]


def test_prune_all(store):
    a = imported(store, "a:1", {"a": b"1"})
    b = imported(store, "b:1", {"b": b"1"})
    assert set(store.prune(all=True, in_use=lambda i: i == a.id)) == {b.id}
    assert [i.repo_tags for i in store.list()] == [("a:1",)]


def test_gc_removes_orphans_and_tmp(store, tmp_path):
    im = imported(store, "keep:1")
    orphan = store.put_blob(b"orphan")
    od = store.unpack_layer(store.put_blob(gzip.compress(rootfs_tar({"o": b"1"}))), mf.OCI_LAYER_GZIP)
    os.mkdir(os.path.join(store.tmp_dir, "layer-123-dead"))
    open(os.path.join(store.tmp_dir, "blob-123-dead"), "w").write("partial")
    rep = store.gc()
    assert orphan in rep["blobs"] and od in rep["layers"] and len(rep["tmp"]) == 2
    assert os.listdir(store.tmp_dir) == [] and not store.has_blob(orphan) and not store.has_layer(od)
    assert store.resolve("keep:1").id == im.id and os.path.isdir(im.layer_dirs[0])
    assert store.check() == []


def test_gc_waits_for_leases(store):
    with store.lease():
        with pytest.raises(Conflict):
            store.gc()


def test_history_rows(store, tmp_path):
    base = imported(store, "base:1")
    l1 = layer_from(store, tmp_path, {"f": b"12345"}, "u")
    cfg = dict(base.config)
    cfg.pop("rootfs")
    cfg["history"] = list(base.config["history"]) + [
        {"created": "2024-01-02T03:04:05.123456789Z", "created_by": "/bin/sh -c #(nop) CMD", "empty_layer": True},
        {"created": "2024-01-02T03:04:06Z", "created_by": "COPY f /f"}]
    im = store.put_image(cfg, list(base.layers) + [l1], ["hist:1"])
    rows = store.history("hist:1")
    assert [r["CreatedBy"] for r in rows] == ["COPY f /f", "/bin/sh -c #(nop) CMD", ""]
    assert rows[0]["Id"] == im.id and rows[0]["Tags"] == ["hist:1"] and rows[0]["Size"] == 5
    assert rows[1]["Size"] == 0 and rows[1]["Id"] == "<missing>"
    assert rows[1]["Created"] == 1704164645


def test_index_is_json_and_survives_a_second_store_object(store, tmp_path):
    im = imported(store, "base:1")
    again = ImageStore(store.root, whiteouts="keep")
    assert again.resolve("base:1").id == im.id
    idx = json.load(open(store.index_path))
    assert idx["tags"]["docker.io/library/base:1"] == im.manifest_digest


# ----------------------------------------------------------------- changes

def test_apply_changes_does_not_mutate():
    cfg = {"config": {"Env": ["A=1"], "WorkingDir": "/a"}}
    new = apply_changes(cfg, ["ENV A=2 B=3", "WORKDIR b", "VOLUME /data /logs", "STOPSIGNAL SIGINT",
                              'CMD echo "hi there"', "ENV LEGACY value with spaces"])
    assert cfg == {"config": {"Env": ["A=1"], "WorkingDir": "/a"}}
    c = new["config"]
    assert c["Env"] == ["A=2", "B=3", "LEGACY=value with spaces"]
    assert c["WorkingDir"] == "/a/b" and c["Volumes"] == {"/data": {}, "/logs": {}}
    assert c["Cmd"] == ["/bin/sh", "-c", 'echo "hi there"'] and c["StopSignal"] == "SIGINT"
    for bad in ("RUN echo", "FROM x", "CMD", "EXPOSE http"):
        with pytest.raises(InvalidArgument):
            apply_changes(cfg, [bad])


def test_select_manifest_by_platform():
    idx = {"manifests": [
        {"digest": "sha256:a", "platform": {"os": "linux", "architecture": "arm64", "variant": "v8"}},
        {"digest": "sha256:b", "platform": {"os": "linux", "architecture": "amd64"}},
    ]}
    assert mf.select_manifest(idx, {"os": "linux", "architecture": "amd64"})["digest"] == "sha256:b"
    assert mf.select_manifest(idx, {"os": "linux", "architecture": "arm64", "variant": "v8"})["digest"] == "sha256:a"
    with pytest.raises(InvalidArgument, match="available"):
        mf.select_manifest(idx, {"os": "linux", "architecture": "s390x"})


def test_create_layer_failure_leaves_nothing(store, tmp_path):
    up = tmp_path / "up"
    up.mkdir()
    (up / "ok").write_bytes(b"x" * 3_000_000)
    os.mkfifo(up / "zz-fifo")
    os.symlink("/nonexistent", up / "dangling")
    ref = store.create_layer(up)  # fifos and dangling symlinks are fine
    assert os.path.islink(os.path.join(store.layer_dir(ref.diff_id), "dangling"))
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "a").write_bytes(b"y" * 3_000_000)
    import unittest.mock as um
    from glassbox.images import layers as L
    real = L.write_layer_tar

    def boom(upper, out, **kw):
        out.write(b"\0" * 2_000_000)
        raise OSError(5, "simulated read error")

    with um.patch.object(L, "write_layer_tar", boom):
        with pytest.raises(OSError):
            store.create_layer(bad)
    assert L.write_layer_tar is real
    assert os.listdir(store.tmp_dir) == []
    assert sorted(os.listdir(store.blobs_dir)) == [ref.digest[7:]]
