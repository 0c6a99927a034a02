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
    base = s.import_tarball(io.BytesIO(rootfs({"a": b"1"})), "base:1", ['CMD ["sh"]'])
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
