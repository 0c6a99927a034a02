"""save/load against the real tools: skopeo and umoci (Debian packages).

* an OCI layout saved by glassbox passes ``skopeo inspect oci:`` and
  ``umoci unpack`` gives exactly the files an overlay mount of our unpacked
  layers shows (whiteouts included);
* a docker-archive saved by glassbox passes ``skopeo inspect docker-archive:``
  and ``skopeo copy``-ing it to an OCI layout and loading that gives the same image;
* an OCI layout made by ``umoci init/new/insert`` loads, resolves and has the file.
"""

import io
import json
import os
import shutil
import stat
import subprocess
import tarfile

import pytest

from glassbox.images import ImageStore
from glassbox.images import archive

pytestmark = [
    pytest.mark.interop,
    pytest.mark.skipif(os.geteuid() != 0, reason="needs root (overlay whiteouts, umoci ownership)"),
    pytest.mark.skipif(not (shutil.which("skopeo") and shutil.which("umoci")),
                       reason="skopeo and umoci are needed"),
]


def run(*cmd, **kw):
    r = subprocess.run(list(cmd), capture_output=True, text=True, timeout=60, **kw)
    assert r.returncode == 0, f"{cmd}: {r.stderr}"
    return r.stdout


def tar_bytes(files):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as t:
        for name, (data, mode, uid) in files.items():
            ti = tarfile.TarInfo(name)
            ti.mtime, ti.mode, ti.uid, ti.gid = 1_600_000_000, mode, uid, uid
            if data is None:
                ti.type = tarfile.DIRTYPE
                t.addfile(ti)
            else:
                ti.size = len(data)
                t.addfile(ti, io.BytesIO(data))
    return buf.getvalue()


@pytest.fixture
def store(tmp_path):
    s = ImageStore(tmp_path / "root")
    yield s
    with open("/proc/self/mountinfo") as f:
        assert str(tmp_path) not in f.read()


@pytest.fixture
def two_layer_image(store, tmp_path):
    base = store.import_tarball(io.BytesIO(tar_bytes({
        "etc": (None, 0o755, 0), "etc/passwd": (b"root:x:0:0\n", 0o644, 0),
        "etc/motd": (b"hello\n", 0o644, 0), "srv": (None, 0o755, 0),
        "srv/data": (b"d" * 5000, 0o600, 1000), "bin": (None, 0o755, 0),
        "bin/tool": (b"\x7fELF tool", 0o755, 0),
    })), "base:1")
    up = tmp_path / "upper"
    (up / "etc").mkdir(parents=True)
    os.mknod(up / "etc" / "motd", stat.S_IFCHR, os.makedev(0, 0))  # rm /etc/motd
    (up / "srv").mkdir()
    os.setxattr(up / "srv", "trusted.overlay.opaque", b"y")           # rm -r /srv; mkdir /srv
    (up / "srv" / "new").write_text("new\n")
    (up / "hello").write_text("hi\n")
    layer = store.create_layer(up)
    return store.put_image({"config": {"Cmd": ["/bin/tool"], "Env": ["A=1"]}},
                           list(base.layers) + [layer], ["app:2"])


TREE = ("cd {root} && find . -mindepth 1 -printf '%p %y %m %U:%G\\n' | sort && "
        "find . -type f -exec sha256sum {{}} + | sort")


def merged_tree(im, tmp_path):
    merged = tmp_path / "merged"
    merged.mkdir()
    lower = ":".join(reversed(im.layer_dirs))
    return run("unshare", "-m", "--propagation", "private", "sh", "-c",
               f"mount -t overlay overlay -o lowerdir={lower} {merged} && " + TREE.format(root=merged))


def test_oci_layout_passes_skopeo_and_umoci(store, two_layer_image, tmp_path):
    im = two_layer_image
    with open(tmp_path / "oci.tar", "wb") as f:
        archive.save(store, ["app:2"], f, format="oci")
    layout = tmp_path / "layout"
    layout.mkdir()
    run("tar", "-xf", str(tmp_path / "oci.tar"), "-C", str(layout))

    info = json.loads(run("skopeo", "inspect", f"oci:{layout}:2"))
    assert info["Digest"] == im.manifest_digest
    assert info["Layers"] == [l.digest for l in im.layers]
    cfg = json.loads(run("skopeo", "inspect", "--config", f"oci:{layout}:2"))
    assert cfg["config"]["Cmd"] == ["/bin/tool"]

    bundle = tmp_path / "bundle"
    run("umoci", "unpack", "--image", f"{layout}:2", str(bundle))
    got = run("sh", "-c", TREE.format(root=bundle / "rootfs"))
    want = merged_tree(im, tmp_path)
    assert got == want
    assert "./etc/motd" not in got and "./srv/data" not in got and "./srv/new" in got


def test_docker_archive_passes_skopeo_and_roundtrips(store, two_layer_image, tmp_path):
    im = two_layer_image
    path = tmp_path / "docker.tar"
    with open(path, "wb") as f:
        archive.save(store, ["app:2"], f, format="docker")
    info = json.loads(run("skopeo", "inspect", f"docker-archive:{path}"))
    assert info["Layers"] == [l.diff_id for l in im.layers]  # uncompressed, like docker save
    cfg = json.loads(run("skopeo", "inspect", "--config", f"docker-archive:{path}"))
    assert cfg["rootfs"]["diff_ids"] == list(im.diff_ids)

    # skopeo rewrites it as an OCI layout (recompressing layers); glassbox loads that
    layout = tmp_path / "copied"
    run("skopeo", "copy", f"docker-archive:{path}", f"oci:{layout}:copied")
    other = ImageStore(tmp_path / "root2")
    [loaded] = archive.load(other, layout, repository="copied")
    # skopeo re-serializes the config when converting to OCI, so the ID may differ;
    # the filesystem (diff_ids) and the run config must not
    assert loaded.diff_ids == im.diff_ids
    assert loaded.config["config"]["Cmd"] == ["/bin/tool"]
    assert other.resolve("copied:copied").id == loaded.id
    assert os.path.isfile(os.path.join(loaded.layer_dirs[-1], "hello"))


def test_load_layout_made_by_umoci(store, tmp_path):
    layout = tmp_path / "umoci-layout"
    run("umoci", "init", "--layout", str(layout))
    run("umoci", "new", "--image", f"{layout}:v1")
    src = tmp_path / "hello.txt"
    src.write_text("from umoci\n")
    run("umoci", "insert", "--image", f"{layout}:v1", str(src), "/hello.txt")
    run("umoci", "config", "--image", f"{layout}:v1", "--config.cmd", "cat", "--config.cmd", "/hello.txt")

    # as a directory, with a repository for the bare tag
    [im] = archive.load(store, layout, repository="umoci/img")
    assert store.resolve("umoci/img:v1").id == im.id
    assert open(os.path.join(im.layer_dirs[-1], "hello.txt")).read() == "from umoci\n"
    assert im.config["config"]["Cmd"] == ["cat", "/hello.txt"]

    # as a tar stream, without a repository: loaded untagged, found by id
    data = subprocess.run(["tar", "-C", str(layout), "-cf", "-", "."], capture_output=True,
                          check=True).stdout
    other = ImageStore(tmp_path / "root3")
    [im2] = archive.load(other, io.BytesIO(data))
    assert im2.repo_tags == () and other.resolve(im2.id[7:19]).id == im.id
    # and our own save of it passes skopeo again
    with open(tmp_path / "again.tar", "wb") as f:
        archive.save(store, ["umoci/img:v1"], f, format="docker")
    json.loads(run("skopeo", "inspect", f"docker-archive:{tmp_path / 'again.tar'}"))


@pytest.mark.parametrize("fmt", ["docker", "oci"])
def test_metadata_first_archives_pass_skopeo_and_reload_from_the_store(
        store, two_layer_image, tmp_path, fmt, monkeypatch):
    """save writes manifests/configs before layers (skopeo still reads it); a second load
    into the same root reuses the stored layers and the overlay shows the same tree."""
    im = two_layer_image
    path = tmp_path / f"{fmt}.tar"
    with open(path, "wb") as f:
        archive.save(store, ["app:2"], f, format=fmt)
    transport = "docker-archive" if fmt == "docker" else "oci-archive"
    info = json.loads(run("skopeo", "inspect", f"{transport}:{path}"))
    assert len(info["Layers"]) == len(im.layers)
    (tmp_path / "want").mkdir()
    want = merged_tree(im, tmp_path / "want")

    other = ImageStore(tmp_path / f"root-{fmt}")
    with open(path, "rb") as f:
        [first] = archive.load(other, f)
    stamps = [os.stat(d).st_ino for d in first.layer_dirs]
    staged = []
    real = ImageStore.stage_layer
    monkeypatch.setattr(ImageStore, "stage_layer",
                        lambda s, *a, **kw: staged.append(1) or real(s, *a, **kw))
    with open(path, "rb") as f:
        [again] = archive.load(other, f)
    assert staged == [] and [os.stat(d).st_ino for d in again.layer_dirs] == stamps
    assert again.id == im.id and other.resolve("app:2").id == im.id
    (tmp_path / "got").mkdir()
    assert merged_tree(again, tmp_path / "got") == want
