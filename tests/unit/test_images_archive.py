"""save/load round trips and hostile archives (no external tools needed)."""

import hashlib
import io
import json
import os
import tarfile

import pytest

from glassbox.errors import InvalidArgument
from glassbox.images import archive
from glassbox.images import manifest as mf
from glassbox.images.store import DigestMismatch, ImageStore


def rootfs(files):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as t:
        for name, data in files.items():
            ti = tarfile.TarInfo(name)
            ti.size = len(data)
            t.addfile(ti, io.BytesIO(data))
    return buf.getvalue()


def tar_of(entries):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as t:
        for name, data in entries.items():
            ti = tarfile.TarInfo(name)
            if isinstance(data, tuple):  # ("symlink", target)
                ti.type, ti.linkname = tarfile.SYMTYPE, data[1]
                t.addfile(ti)
            else:
                ti.size = len(data)
                t.addfile(ti, io.BytesIO(data))
    return buf.getvalue()


@pytest.fixture
def src(tmp_path):
    s = ImageStore(tmp_path / "src", whiteouts="keep")
    s.import_tarball(io.BytesIO(rootfs({"a": b"1"})), "base:1", ['CMD ["sh"]'])
    s.tag("base:1", "base:alias")
    return s


@pytest.mark.parametrize("fmt", ["docker", "oci"])
def test_roundtrip(src, tmp_path, fmt):
    im = src.resolve("base:1")
    buf = io.BytesIO()
    archive.save(src, ["base:1", "base:alias"], buf, format=fmt)
    dst = ImageStore(tmp_path / f"dst-{fmt}", whiteouts="keep")
    loaded = archive.load(dst, io.BytesIO(buf.getvalue()))
    assert {i.id for i in loaded} == {im.id}
    got = dst.resolve("base:1")
    assert set(got.repo_tags) == {"base:1", "base:alias"}
    assert open(os.path.join(got.layer_dirs[0], "a")).read() == "1"
    assert os.listdir(dst.tmp_dir) == []
    if fmt == "oci":
        assert got.manifest_digest == im.manifest_digest  # blobs and manifest kept byte for byte


def test_docker_archive_layout(src):
    buf = io.BytesIO()
    archive.save(src, ["base:1"], buf, format="docker")
    with tarfile.open(fileobj=io.BytesIO(buf.getvalue())) as t:
        names = t.getnames()
        manifest = json.load(t.extractfile("manifest.json"))
        im = src.resolve("base:1")
        layer = t.extractfile(manifest[0]["Layers"][0]).read()
        assert "sha256:" + hashlib.sha256(layer).hexdigest() == im.layers[0].diff_id
        assert json.load(t.extractfile("repositories")) == {
            "base": {"1": im.layers[0].diff_id[7:]}}
    assert manifest[0]["Config"] == im.id[7:] + ".json" and manifest[0]["RepoTags"] == ["base:1"]
    assert manifest[0]["Config"] in names


def test_docker_manifest_saved_as_oci(src, tmp_path):
    im = src.resolve("base:1")
    d = src.put_image(im.config, im.layers, ["dock:1"], mf.DOCKER_MANIFEST)
    buf = io.BytesIO()
    archive.save(src, ["dock:1"], buf, format="oci")
    with tarfile.open(fileobj=io.BytesIO(buf.getvalue())) as t:
        index = json.load(t.extractfile("index.json"))
        desc = index["manifests"][0]
        m = json.load(t.extractfile("blobs/sha256/" + desc["digest"][7:]))
    assert m["mediaType"] == mf.OCI_MANIFEST and m["config"]["mediaType"] == mf.OCI_CONFIG
    assert desc["annotations"][mf.REF_NAME_ANNOTATION] == "1"
    assert d.id == im.id


def test_save_by_id_is_untagged_and_unknown_format(src):
    im = src.resolve("base:1")
    buf = io.BytesIO()
    archive.save(src, [im.id], buf)
    with tarfile.open(fileobj=io.BytesIO(buf.getvalue())) as t:
        assert json.load(t.extractfile("manifest.json"))[0]["RepoTags"] is None
    with pytest.raises(InvalidArgument):
        archive.save(src, ["base:1"], io.BytesIO(), format="zip")


def test_hostile_docker_archive_paths(tmp_path):
    dst = ImageStore(tmp_path / "dst", whiteouts="keep")
    (tmp_path / "secret").write_text("{}")
    for bad in ("../secret", "/etc/passwd", "link/passwd", "cfglink"):
        data = tar_of({
            "manifest.json": json.dumps([{"Config": bad, "RepoTags": ["x:1"], "Layers": []}]).encode(),
            "link": ("symlink", "/etc"),
            "cfglink": ("symlink", str(tmp_path / "secret")),
        })
        with pytest.raises(InvalidArgument):
            archive.load(dst, io.BytesIO(data))
    assert dst.list() == [] and os.listdir(dst.tmp_dir) == []


def test_tampered_oci_blob_is_refused(src, tmp_path):
    buf = io.BytesIO()
    archive.save(src, ["base:1"], buf, format="oci")
    layout = tmp_path / "layout"
    layout.mkdir()
    with tarfile.open(fileobj=io.BytesIO(buf.getvalue())) as t:
        t.extractall(layout)
    im = src.resolve("base:1")
    with open(layout / "blobs/sha256" / im.layers[0].digest[7:], "ab") as f:
        f.write(b"evil")
    dst = ImageStore(tmp_path / "dst", whiteouts="keep")
    with pytest.raises(DigestMismatch):
        archive.load(dst, layout)
    assert dst.list() == []


def test_not_an_archive(tmp_path):
    dst = ImageStore(tmp_path / "dst", whiteouts="keep")
    with pytest.raises(InvalidArgument, match="neither"):
        archive.load(dst, io.BytesIO(tar_of({"hello": b"x"})))


# --------------------------------------------------------------------------- streaming load

def _docker_archive(members):
    """A tar of (name, bytes) in the given order (docker's own save puts manifest.json last)."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as t:
        for name, data in members:
            ti = tarfile.TarInfo(name)
            ti.size = len(data)
            t.addfile(ti, io.BytesIO(data))
    return buf.getvalue()


def _image_parts(layer_tars, tag="app:1"):
    diff_ids = ["sha256:" + hashlib.sha256(lt).hexdigest() for lt in layer_tars]
    config = json.dumps({"architecture": "amd64", "os": "linux", "config": {},
                         "rootfs": {"type": "layers", "diff_ids": diff_ids}}).encode()
    cfg_name = hashlib.sha256(config).hexdigest() + ".json"
    names = [f"{d[7:]}/layer.tar" for d in diff_ids]
    manifest = json.dumps([{"Config": cfg_name, "RepoTags": [tag], "Layers": names}]).encode()
    return manifest, (cfg_name, config), list(zip(names, layer_tars)), diff_ids


def _store_is_empty(dst):
    return (dst.list() == [] and os.listdir(dst.tmp_dir) == [] and os.listdir(dst.blobs_dir) == []
            and os.listdir(dst.layers_dir) == [])


@pytest.mark.parametrize("big", [False, True], ids=["small-layers", "streamed-layers"])
@pytest.mark.parametrize("manifest_first", [False, True], ids=["manifest-last", "manifest-first"])
def test_docker_archive_in_any_member_order(tmp_path, big, manifest_first):
    payload = os.urandom(archive.SMALL_MEMBER + 4096) if big else b"x" * 100
    layers = [rootfs({"a": payload}), rootfs({"b/c": b"2" * 3000})]
    manifest, cfg, layer_members, diff_ids = _image_parts(layers)
    members = [cfg] + layer_members
    members = ([("manifest.json", manifest)] + members) if manifest_first else \
        (members + [("manifest.json", manifest)])
    dst = ImageStore(tmp_path / "dst", whiteouts="keep")
    (im,) = archive.load(dst, io.BytesIO(_docker_archive(members)))
    assert im.repo_tags == ("app:1",) and list(im.diff_ids) == diff_ids
    with open(os.path.join(im.layer_dirs[0], "a"), "rb") as f:
        assert f.read() == payload
    assert open(os.path.join(im.layer_dirs[1], "b", "c")).read() == "2" * 3000
    for layer in im.layers:   # uncompressed docker layers: the blob is the tar itself
        assert layer.digest == layer.diff_id and dst.has_blob(layer.digest)
    assert os.listdir(dst.tmp_dir) == []


def test_docker_archive_drops_unreferenced_members(tmp_path):
    layer = rootfs({"a": b"1"})
    manifest, cfg, layer_members, _ = _image_parts([layer])
    stray = rootfs({"stray": os.urandom(archive.SMALL_MEMBER + 1)})   # looks like a layer
    members = [("junk/layer.tar", stray), cfg, ("notes.txt", b"hi")] + layer_members + \
        [("manifest.json", manifest)]
    dst = ImageStore(tmp_path / "dst", whiteouts="keep")
    (im,) = archive.load(dst, io.BytesIO(_docker_archive(members)))
    stray_digest = "sha256:" + hashlib.sha256(stray).hexdigest()
    assert not dst.has_blob(stray_digest) and not dst.has_layer(stray_digest)
    assert sorted(os.listdir(dst.layers_dir)) == sorted([im.diff_ids[0][7:], im.diff_ids[0][7:] + ".json"])
    assert os.listdir(dst.tmp_dir) == []


@pytest.mark.parametrize("big", [False, True], ids=["small-layer", "streamed-layer"])
def test_docker_layer_not_matching_its_diff_id_is_refused(tmp_path, big):
    payload = os.urandom(archive.SMALL_MEMBER + 10) if big else b"good"
    manifest, cfg, layer_members, _ = _image_parts([rootfs({"a": payload})])
    name, _ = layer_members[0]
    evil = rootfs({"a": payload[:-1] + b"!"})  # same size, other bytes
    members = [("manifest.json", manifest), cfg, (name, evil)]
    dst = ImageStore(tmp_path / "dst", whiteouts="keep")
    with pytest.raises(DigestMismatch, match="config says"):
        archive.load(dst, io.BytesIO(_docker_archive(members)))
    assert _store_is_empty(dst)


def test_gzip_docker_layer_not_matching_its_diff_id_is_refused(tmp_path):
    import gzip
    good = rootfs({"a": os.urandom(archive.SMALL_MEMBER)})
    manifest, cfg, layer_members, _ = _image_parts([good])
    evil = gzip.compress(rootfs({"a": os.urandom(archive.SMALL_MEMBER)}))
    members = [cfg, (layer_members[0][0], evil), ("manifest.json", manifest)]
    dst = ImageStore(tmp_path / "dst", whiteouts="keep")
    with pytest.raises(DigestMismatch, match="config says"):
        archive.load(dst, io.BytesIO(_docker_archive(members)))
    assert _store_is_empty(dst)


def test_corrupt_layer_in_archive_is_refused_and_nothing_stored(tmp_path):
    good = rootfs({"a": os.urandom(archive.SMALL_MEMBER)})
    manifest, cfg, layer_members, _ = _image_parts([good])
    broken = good[:512] + b"\xff" * (len(good) - 512)   # a tar header, then garbage headers
    members = [cfg, (layer_members[0][0], broken), ("manifest.json", manifest)]
    dst = ImageStore(tmp_path / "dst", whiteouts="keep")
    with pytest.raises(InvalidArgument):
        archive.load(dst, io.BytesIO(_docker_archive(members)))
    assert _store_is_empty(dst)


def test_truncated_archive_is_refused(src, tmp_path):
    buf = io.BytesIO()
    archive.save(src, ["base:1"], buf, format="oci")
    data = buf.getvalue()
    dst = ImageStore(tmp_path / "dst", whiteouts="keep")
    with pytest.raises(InvalidArgument):
        archive.load(dst, io.BytesIO(data[:len(data) // 2]))
    assert dst.list() == [] and os.listdir(dst.tmp_dir) == []


@pytest.mark.parametrize("fmt", ["docker", "oci"])
def test_load_from_a_pipe(src, tmp_path, fmt):
    """Read once, front to back: a non-seekable stream works (``glassbox load < x.tar``)."""
    buf = io.BytesIO()
    archive.save(src, ["base:1"], buf, format=fmt)
    r, w = os.pipe()
    import threading
    data = buf.getvalue()

    def feed():
        with open(w, "wb") as f:
            f.write(data)
    t = threading.Thread(target=feed)
    t.start()
    dst = ImageStore(tmp_path / "dst", whiteouts="keep")
    with open(r, "rb") as f:
        (im,) = archive.load(dst, f)
    t.join()
    assert im.id == src.resolve("base:1").id


def test_big_oci_roundtrip_streams_and_verifies(tmp_path):
    s = ImageStore(tmp_path / "src", whiteouts="keep")
    payload = os.urandom(3 * archive.SMALL_MEMBER)
    s.import_tarball(io.BytesIO(rootfs({"big": payload, "t": b"text " * 100000})), "big:1")
    buf = io.BytesIO()
    archive.save(s, ["big:1"], buf, format="oci")
    dst = ImageStore(tmp_path / "dst", whiteouts="keep")
    (im,) = archive.load(dst, io.BytesIO(buf.getvalue()))
    assert im.manifest_digest == s.resolve("big:1").manifest_digest
    with open(os.path.join(im.layer_dirs[0], "big"), "rb") as f:
        assert f.read() == payload
    assert dst.layer_meta(im.diff_ids[0])["tar_size"] == s.layer_meta(im.diff_ids[0])["tar_size"]
    assert os.listdir(dst.tmp_dir) == []


# --------------------------------------------------------------------------- known layers

def _names(data):
    with tarfile.open(fileobj=io.BytesIO(data)) as t:
        return [m.name for m in t.getmembers() if m.isfile()]


@pytest.fixture
def two_images(tmp_path):
    """base:1 (one layer) and app:1 (that layer plus one), both streamed-size layers."""
    s = ImageStore(tmp_path / "src2", whiteouts="keep")
    base = s.import_tarball(io.BytesIO(rootfs({"a": os.urandom(archive.SMALL_MEMBER + 100)})),
                            "base:1")
    top = s.import_layer(io.BytesIO(rootfs({"b": os.urandom(archive.SMALL_MEMBER + 200)})))
    s.put_image({"architecture": "amd64", "os": "linux", "config": {"Cmd": ["sh"]}},
                list(base.layers) + [top], ["app:1"])
    return s


def test_save_writes_metadata_before_layers(two_images):
    base, app = two_images.resolve("base:1"), two_images.resolve("app:1")
    buf = io.BytesIO()
    archive.save(two_images, ["base:1", "app:1"], buf, format="docker")
    names = _names(buf.getvalue())
    layer_names = [d[7:] + "/layer.tar" for d in app.diff_ids]
    meta = ["manifest.json", "repositories", base.id[7:] + ".json", app.id[7:] + ".json"]
    assert sorted(names) == sorted(meta + layer_names)     # shared layer written once
    assert set(names[:len(meta)]) == set(meta) and names[0] == "manifest.json"

    buf = io.BytesIO()
    archive.save(two_images, ["base:1", "app:1"], buf, format="oci")
    names = _names(buf.getvalue())
    layer_blobs = ["blobs/sha256/" + l.digest[7:] for l in app.layers]
    assert names[:2] == ["oci-layout", "index.json"]
    assert sorted(names[-len(layer_blobs):]) == sorted(layer_blobs)
    assert len(names) == 2 + 2 * 2 + len(layer_blobs)      # 2 manifests, 2 configs


class _Counter:
    """Counts ImageStore.stage_layer and layers.safe_extract calls (i.e. layers read in)."""

    def __init__(self, monkeypatch):
        from glassbox.images import layers
        self.staged = self.extracted = 0
        real_stage, real_extract = ImageStore.stage_layer, layers.safe_extract

        def stage(store, *a, **kw):
            self.staged += 1
            return real_stage(store, *a, **kw)

        def extract(*a, **kw):
            self.extracted += 1
            return real_extract(*a, **kw)
        monkeypatch.setattr(ImageStore, "stage_layer", stage)
        monkeypatch.setattr(layers, "safe_extract", extract)

    def reset(self):
        self.staged = self.extracted = 0


def _layer_stamp(store, im):
    return [(os.stat(d).st_ino, os.stat(d).st_mtime_ns) for d in im.layer_dirs]


@pytest.mark.parametrize("fmt", ["docker", "oci"])
def test_loading_twice_does_not_read_known_layers_again(two_images, tmp_path, monkeypatch, fmt):
    buf = io.BytesIO()
    archive.save(two_images, ["app:1"], buf, format=fmt)
    data = buf.getvalue()
    dst = ImageStore(tmp_path / "dst", whiteouts="keep")
    count = _Counter(monkeypatch)
    (first,) = archive.load(dst, io.BytesIO(data))
    assert count.staged == 2 and count.extracted == 2
    stamp = _layer_stamp(dst, first)
    count.reset()
    (again,) = archive.load(dst, io.BytesIO(data))
    assert count.staged == 0 and count.extracted == 0
    assert again.id == first.id and again.manifest_digest == first.manifest_digest
    assert again.layers == first.layers and _layer_stamp(dst, again) == stamp
    assert [i.repo_tags for i in dst.list()] == [("app:1",)]
    with open(os.path.join(again.layer_dirs[1], "b"), "rb") as f, \
            open(os.path.join(two_images.resolve("app:1").layer_dirs[1], "b"), "rb") as g:
        assert f.read() == g.read()
    assert os.listdir(dst.tmp_dir) == []
    # and it saves again byte for byte as the source does
    out, ref = io.BytesIO(), io.BytesIO()
    archive.save(dst, ["app:1"], out, format=fmt)
    archive.save(two_images, ["app:1"], ref, format=fmt)
    assert out.getvalue() == ref.getvalue()


@pytest.mark.parametrize("fmt", ["docker", "oci"])
def test_base_layer_already_present_is_not_read_again(two_images, tmp_path, monkeypatch, fmt):
    dst = ImageStore(tmp_path / "dst", whiteouts="keep")
    buf = io.BytesIO()
    archive.save(two_images, ["base:1"], buf, format=fmt)
    (base,) = archive.load(dst, io.BytesIO(buf.getvalue()))
    stamp = _layer_stamp(dst, base)
    count = _Counter(monkeypatch)
    buf = io.BytesIO()
    archive.save(two_images, ["app:1"], buf, format=fmt)
    (app,) = archive.load(dst, io.BytesIO(buf.getvalue()))
    assert count.staged == 1 and count.extracted == 1          # only the new top layer
    assert _layer_stamp(dst, app)[:1] == stamp
    assert app.id == two_images.resolve("app:1").id
    assert sorted(t for i in dst.list() for t in i.repo_tags) == ["app:1", "base:1"]
    assert os.path.exists(os.path.join(app.layer_dirs[1], "b"))


def test_docker_save_order_manifest_last_still_loads_twice(two_images, tmp_path, monkeypatch):
    """``docker save`` writes manifest.json last: nothing is known in advance, all is read."""
    buf = io.BytesIO()
    archive.save(two_images, ["app:1"], buf, format="docker")
    with tarfile.open(fileobj=io.BytesIO(buf.getvalue())) as t:
        members = [(n, t.extractfile(n).read()) for n in _names(buf.getvalue())]
    members = members[1:] + members[:1]
    assert members[-1][0] == "manifest.json"
    data = _docker_archive(members)
    dst = ImageStore(tmp_path / "dst", whiteouts="keep")
    count = _Counter(monkeypatch)
    (first,) = archive.load(dst, io.BytesIO(data))
    (again,) = archive.load(dst, io.BytesIO(data))
    assert count.staged == 4           # read both times (the second copy is dropped)
    assert again.id == first.id == two_images.resolve("app:1").id
    assert [i.repo_tags for i in dst.list()] == [("app:1",)]
    assert os.listdir(dst.tmp_dir) == []


@pytest.mark.parametrize("fmt", ["docker", "oci"])
def test_skipped_member_is_never_trusted(two_images, tmp_path, fmt):
    """A known layer's bytes are not used: a tampered copy in the archive changes nothing."""
    app = two_images.resolve("app:1")
    buf = io.BytesIO()
    archive.save(two_images, ["app:1"], buf, format=fmt)
    dst = ImageStore(tmp_path / "dst", whiteouts="keep")
    archive.load(dst, io.BytesIO(buf.getvalue()))
    with tarfile.open(fileobj=io.BytesIO(buf.getvalue())) as t:
        members = [(n, t.extractfile(n).read()) for n in _names(buf.getvalue())]
    name = (app.diff_ids[0][7:] + "/layer.tar") if fmt == "docker" \
        else "blobs/sha256/" + app.layers[0].digest[7:]
    # zeroed, and last (so a truncation inside it cuts no other member)
    members = [(n, d) for n, d in members if n != name] + [(name, b"\0" * len(dict(members)[name]))]
    (im,) = archive.load(dst, io.BytesIO(_docker_archive(members)))
    assert im.id == app.id and im.diff_ids == app.diff_ids
    with open(os.path.join(im.layer_dirs[0], "a"), "rb") as f, \
            open(os.path.join(app.layer_dirs[0], "a"), "rb") as g:
        assert f.read() == g.read()
    # a truncated archive is refused even inside a member that would be skipped
    data = _docker_archive(members)
    cut = data.index(b"\0" * 4096, data.index(name.encode()) + 512)
    with pytest.raises(InvalidArgument, match="corrupt"):
        archive.load(dst, io.BytesIO(data[:cut + 4096]))
    assert os.listdir(dst.tmp_dir) == []


def test_known_layer_under_a_config_that_disagrees_is_refused(two_images, tmp_path):
    """The store's copy still has to be what the config says (diff_ids are checked)."""
    app = two_images.resolve("app:1")
    buf = io.BytesIO()
    archive.save(two_images, ["app:1"], buf, format="docker")
    dst = ImageStore(tmp_path / "dst", whiteouts="keep")
    archive.load(dst, io.BytesIO(buf.getvalue()))
    # an OCI archive whose manifest names the stored base blob for a different diff_id
    layer0 = app.layers[0]
    config = json.dumps({"architecture": "amd64", "os": "linux", "config": {},
                         "rootfs": {"type": "layers", "diff_ids": [app.diff_ids[1]]}}).encode()
    cd = "sha256:" + hashlib.sha256(config).hexdigest()
    manifest = json.dumps({"schemaVersion": 2, "mediaType": mf.OCI_MANIFEST,
                           "config": {"mediaType": mf.OCI_CONFIG, "digest": cd, "size": len(config)},
                           "layers": [{"mediaType": mf.DOCKER_LAYER, "digest": layer0.digest,
                                       "size": layer0.size}]}).encode()
    md = "sha256:" + hashlib.sha256(manifest).hexdigest()
    index = json.dumps({"schemaVersion": 2, "manifests": [
        {"mediaType": mf.OCI_MANIFEST, "digest": md, "size": len(manifest)}]}).encode()
    members = [("oci-layout", b'{"imageLayoutVersion": "1.0.0"}'), ("index.json", index),
               ("blobs/sha256/" + md[7:], manifest), ("blobs/sha256/" + cd[7:], config),
               ("blobs/sha256/" + layer0.digest[7:], b"\0" * 1024)]
    with pytest.raises(DigestMismatch):
        archive.load(dst, io.BytesIO(_docker_archive(members)))
    assert [i.repo_tags for i in dst.list()] == [("app:1",)]
    assert os.listdir(dst.tmp_dir) == []


def test_oci_layout_dir_reuses_known_layers(two_images, tmp_path, monkeypatch):
    buf = io.BytesIO()
    archive.save(two_images, ["app:1"], buf, format="oci")
    layout = tmp_path / "layout"
    layout.mkdir()
    with tarfile.open(fileobj=io.BytesIO(buf.getvalue())) as t:
        t.extractall(layout)
    dst = ImageStore(tmp_path / "dst", whiteouts="keep")
    (first,) = archive.load(dst, layout)
    count = _Counter(monkeypatch)
    (again,) = archive.load(dst, layout)
    assert count.staged == 0 and again.layers == first.layers


# ---- save's own tar writer: byte for byte what tarfile's "w|" stream wrote

class _TarfileOut:
    """The writer ``save`` used before its own: tarfile's ``"w|"`` stream (the reference)."""

    def __init__(self, fileobj):
        self.tar = tarfile.open(fileobj=fileobj, mode="w|", format=tarfile.PAX_FORMAT,
                                bufsize=1 << 20)
        self.dirs = set()

    def _info(self, name, size=0, type_=tarfile.REGTYPE):
        ti = tarfile.TarInfo(name)
        ti.type, ti.size, ti.mtime = type_, size, 0
        ti.mode = 0o755 if type_ == tarfile.DIRTYPE else 0o644
        ti.uname = ti.gname = ""
        return ti

    def mkdirs(self, name):
        parts = name.split("/")[:-1]
        for i in range(1, len(parts) + 1):
            d = "/".join(parts[:i])
            if d not in self.dirs:
                self.dirs.add(d)
                self.tar.addfile(self._info(d, type_=tarfile.DIRTYPE))

    def add_bytes(self, name, data):
        self.mkdirs(name)
        self.tar.addfile(self._info(name, len(data)), io.BytesIO(data))

    def add_file(self, name, path):
        self.mkdirs(name)
        with open(path, "rb") as f:
            self.tar.addfile(self._info(name, os.path.getsize(path)), f)

    def add_hashed(self, name, size, stream):
        from glassbox.images.streams import HashingReader
        self.mkdirs(name)
        r = HashingReader(stream)
        self.tar.addfile(self._info(name, size), r)
        return None if r.read(1) else r.digest

    def close(self):
        self.tar.close()


@pytest.fixture
def mixed(tmp_path):
    """app:1 with a gzip layer, a gzip layer whose tar size the store forgot (an older
    store) and an uncompressed layer (as ``load`` keeps a docker-archive's), sizes that
    are and are not multiples of 512, plus base:1 sharing the first layer."""
    s = ImageStore(tmp_path / "mixed", whiteouts="keep")
    base = s.import_tarball(io.BytesIO(rootfs({"a": os.urandom(3 * (1 << 20) + 7)})), "base:1")
    nosize = s.import_layer(io.BytesIO(rootfs({"b": b"text " * 300000})))
    os.unlink(s.layer_dir(nosize.diff_id) + ".json")
    plain_tar = rootfs({"c": os.urandom(5000)})
    buf = io.BytesIO()
    archive.save(s, ["base:1"], buf)    # a docker-archive: its layers are uncompressed
    other = ImageStore(tmp_path / "other", whiteouts="keep")
    other.import_tarball(io.BytesIO(plain_tar), "plain:1")
    pbuf = io.BytesIO()
    archive.save(other, ["plain:1"], pbuf)
    plain = archive.load(s, io.BytesIO(pbuf.getvalue()))[0].layers[0]
    assert plain.digest == plain.diff_id
    s.put_image({"architecture": "amd64", "os": "linux", "config": {"Cmd": ["sh"]}},
                list(base.layers) + [nosize, plain], ["app:1"])
    s = ImageStore(tmp_path / "mixed", whiteouts="keep")   # no cached layer metadata
    assert s.layer_meta(nosize.diff_id)["tar_size"] is None
    assert s.layer_meta(base.layers[0].diff_id)["tar_size"] is not None
    return s


@pytest.mark.parametrize("fmt", ["docker", "oci"])
def test_save_is_byte_identical_to_tarfile_stream(mixed, monkeypatch, fmt, tmp_path):
    refs = ["base:1", "app:1"]
    new = tmp_path / "new.tar"
    with open(new, "wb") as f:      # a real file: data straight to its descriptor
        archive.save(mixed, refs, f, format=fmt)
    buf = io.BytesIO()              # any writable object
    archive.save(mixed, refs, buf, format=fmt)
    assert buf.getvalue() == new.read_bytes()
    monkeypatch.setattr(archive, "_TarOut", _TarfileOut)
    ref = io.BytesIO()
    archive.save(mixed, refs, ref, format=fmt)
    assert new.read_bytes() == ref.getvalue()
    assert len(ref.getvalue()) % tarfile.RECORDSIZE == 0
    # and it is what it claims: every layer member hashes to its diff_id
    if fmt == "docker":
        app = mixed.resolve("app:1")
        with tarfile.open(new) as t:
            for d in app.diff_ids:
                data = t.extractfile(d[7:] + "/layer.tar").read()
                assert "sha256:" + hashlib.sha256(data).hexdigest() == d


@pytest.mark.parametrize("fmt", ["docker", "oci"])
def test_save_to_a_pipe(mixed, tmp_path, fmt):
    import threading
    new = tmp_path / "file.tar"
    with open(new, "wb") as f:
        archive.save(mixed, ["app:1"], f, format=fmt)
    r, w = os.pipe()
    errors = []

    def writer():
        try:
            with open(w, "wb") as f:
                archive.save(mixed, ["app:1"], f, format=fmt)
        except BaseException as e:  # noqa: BLE001
            errors.append(e)
    t = threading.Thread(target=writer)
    t.start()
    with open(r, "rb") as f:
        got = f.read()
    t.join()
    assert not errors and got == new.read_bytes()
    assert os.listdir(mixed.tmp_dir) == []


def _corrupt(store, ref, how):
    import gzip
    layer = store.resolve(ref).layers[0]
    path = store.blob_path(layer.digest)
    os.chmod(path, 0o644)
    data = open(path, "rb").read()
    if how == "other":          # a valid gzip of something else
        data = gzip.compress(rootfs({"a": b"not the layer"}))
    elif how == "flipped":      # a byte of the data changed: the CRC fails
        i = len(data) // 2
        data = data[:i] + bytes([data[i] ^ 0xFF]) + data[i + 1:]
    elif how == "truncated":
        data = data[:len(data) // 2]
    elif how == "longer":       # inflates to the layer and more
        data += gzip.compress(b"x" * 1024)
    with open(path, "wb") as f:
        f.write(data)


@pytest.mark.parametrize("how", ["other", "flipped", "truncated", "longer"])
@pytest.mark.parametrize("known_size", [True, False])
def test_save_of_a_corrupt_blob_fails_and_leaves_no_file(mixed, tmp_path, how, known_size):
    from types import SimpleNamespace

    from glassbox.cli.commands import cmd_save
    if not known_size:
        os.unlink(mixed.layer_dir(mixed.resolve("base:1").diff_ids[0]) + ".json")
    _corrupt(mixed, "base:1", how)
    out = tmp_path / "out.tar"
    args = SimpleNamespace(images=["base:1"], output=str(out), format="docker")
    eng = SimpleNamespace(image_save=lambda refs, f, format: archive.save(mixed, refs, f,
                                                                          format=format))
    with pytest.raises(DigestMismatch):
        cmd_save(eng, args)
    assert not out.exists() and os.listdir(mixed.tmp_dir) == []
    assert sorted(os.listdir(tmp_path)) == ["mixed", "other"]   # no out.tar.tmp either
    out.write_bytes(b"an older archive")
    with pytest.raises(DigestMismatch):
        cmd_save(eng, args)
    assert out.read_bytes() == b"an older archive"              # left as it was
    # the OCI format copies blobs as they are: nothing to inflate, nothing to check here
    archive.save(mixed, ["base:1"], io.BytesIO(), format="oci")
