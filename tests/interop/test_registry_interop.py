"""glassbox's registry client against real peers.

* Debian's ``docker-registry`` (distribution 2.8), started by the fixtures in
  registry_fixtures.py on 127.0.0.1 — an open instance and an htpasswd one;
* ``skopeo`` reads what glassbox pushed and pushes what glassbox pulls;
* ``umoci unpack`` of skopeo's copy gives the files glassbox pushed.

The Bearer-token flow is tested against the fake registry's token endpoint in
tests/unit/test_registry.py (distribution's token auth needs a signing PKI).
"""

from __future__ import annotations

import io
import json
import os
import shutil
import stat
import subprocess
import sys
import tarfile

import pytest

from glassbox.images import ImageStore
from glassbox.images import archive
from glassbox.registry import RegistryClient

GLASSBOX = os.path.join(os.path.dirname(sys.executable), "glassbox")

pytestmark = [
    pytest.mark.interop,
    pytest.mark.skipif(os.geteuid() != 0, reason="needs root (interop)"),
    pytest.mark.skipif(not (shutil.which("skopeo") and shutil.which("umoci")),
                       reason="skopeo and umoci are needed"),
]

FILES1 = {"etc/motd": b"welcome to glassbox\n", "data/random.bin": os.urandom(400_000)}
FILES2 = {"app/hello.txt": b"hello from layer two\n", "app/run.sh": b"#!/bin/sh\necho hi\n"}


def run(*cmd, **kw):
    r = subprocess.run(list(cmd), capture_output=True, text=True, timeout=120, **kw)
    assert r.returncode == 0, f"{cmd}: {r.stderr}"
    return r.stdout


def tar_bytes(files):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as t:
        for name, data in files.items():
            ti = tarfile.TarInfo(name)
            ti.size, ti.mode, ti.mtime = len(data), 0o755, 1_600_000_000
            t.addfile(ti, io.BytesIO(data))
    return buf.getvalue()


def make_image(store, tag, layer_files):
    layers = [store.import_layer(io.BytesIO(tar_bytes(f))) for f in layer_files]
    return store.put_image({"config": {"Cmd": ["sh"]}}, layers, [tag])


def cli(root, *args, input=None):
    env = dict(os.environ, GLASSBOX_ROOT=str(root))
    return subprocess.run([GLASSBOX, *args], capture_output=True, env=env, input=input,
                          timeout=120)


def test_glassbox_push_is_read_by_skopeo_and_umoci(registry, gbx_config, tmp_path):
    root = tmp_path / "root"
    store = ImageStore(root)
    ref = f"{registry.host}/team/app:1"
    im = make_image(store, ref, [FILES1, FILES2])
    p = cli(root, "push", ref)
    assert p.returncode == 0, p.stderr.decode()
    out = p.stdout.decode()
    size = len(store.read_blob(im.manifest_digest))
    assert f"1: digest: {im.manifest_digest} size: {size}" in out

    info = json.loads(run("skopeo", "inspect", "--tls-verify=false", f"docker://{ref}"))
    assert info["Digest"] == im.manifest_digest
    assert info["Layers"] == [l.digest for l in im.layers]

    run("skopeo", "copy", "--src-tls-verify=false", f"docker://{ref}", f"oci:{tmp_path}/oci:app")
    run("umoci", "unpack", "--image", f"{tmp_path}/oci:app", str(tmp_path / "bundle"))
    rootfs = tmp_path / "bundle" / "rootfs"
    for name, data in {**FILES1, **FILES2}.items():
        assert (rootfs / name).read_bytes() == data, name


def test_skopeo_push_then_glassbox_pull_and_run(registry, gbx, gbx_config, tmp_path, busybox_tar):
    # an image made elsewhere: busybox + one layer, saved as an OCI layout, pushed by skopeo
    other = ImageStore(tmp_path / "elsewhere")
    with open(busybox_tar, "rb") as f:
        base = other.import_layer(f)
    extra = other.import_layer(io.BytesIO(tar_bytes({"hello.txt": b"pushed by skopeo\n"})))
    other.put_image({"config": {"Cmd": ["sh"]}}, [base, extra], ["team/bb:1"])
    with open(tmp_path / "oci.tar", "wb") as f:
        archive.save(other, ["team/bb:1"], f, format="oci")
    (tmp_path / "layout").mkdir()
    run("tar", "-xf", str(tmp_path / "oci.tar"), "-C", str(tmp_path / "layout"))
    ref = f"{registry.host}/team/bb:1"
    tag = json.load(open(tmp_path / "layout" / "index.json"))["manifests"][0]["annotations"][
        "org.opencontainers.image.ref.name"]
    run("skopeo", "copy", "--dest-tls-verify=false", f"oci:{tmp_path}/layout:{tag}",
        f"docker://{ref}")

    # glassbox pulls it into the gbx root (which already has busybox): the base is skipped
    p = gbx.cli("pull", ref)
    assert p.returncode == 0, p.stderr.decode()
    assert "Already exists" in p.stdout.decode()
    assert registry.count("GET", f"/blobs/{base.digest}") == 0, "the base layer was fetched"
    im = gbx.engine.images.resolve(ref)
    assert os.path.isfile(os.path.join(im.layer_dirs[1], "hello.txt"))
    res = gbx.engine.run(ref, ["cat", "/hello.txt"])
    assert res.exit_code == 0 and res.stdout == b"pushed by skopeo\n"


def test_second_pull_fetches_no_shared_blob(registry, gbx_config, tmp_path):
    src = ImageStore(tmp_path / "src")
    a = make_image(src, f"{registry.host}/team/a:1", [FILES1, {"a.txt": b"a"}])
    make_image(src, f"{registry.host}/team/b:1", [FILES1, {"b.txt": b"b"}])
    c = RegistryClient(src, config_dir=gbx_config)
    c.push(f"{registry.host}/team/a:1")
    events = []
    c.push(f"{registry.host}/team/b:1", progress=events.append)
    assert any(e.get("status") == "Mounted from team/a" for e in events)
    shared = a.layers[0].digest
    dst = RegistryClient(ImageStore(tmp_path / "dst"), config_dir=gbx_config)
    dst.pull(f"{registry.host}/team/a:1")
    assert registry.count("GET", shared) == 1
    dst.pull(f"{registry.host}/team/b:1")
    assert registry.count("GET", shared) == 1, "the shared base blob was downloaded twice"
    assert registry.count("GET", "/team/b/blobs/") == 2   # config + its own layer


def test_pull_missing_tag_not_found(registry, gbx_config, tmp_path):
    p = cli(tmp_path / "root", "pull", f"{registry.host}/team/nothing:here")
    assert p.returncode == 125
    assert b"not found: manifest unknown" in p.stderr
    assert not os.listdir(tmp_path / "root" / "tmp")


def test_login_logout_with_htpasswd_registry(auth_registry, gbx_config, tmp_path):
    root = tmp_path / "root"
    host = auth_registry.host
    make_image(ImageStore(root), f"{host}/team/app:1", [FILES2])
    p = cli(root, "push", f"{host}/team/app:1")
    assert p.returncode == 125 and b"requires authentication" in p.stderr

    p = cli(root, "login", "-u", "alice", "--password-stdin", host, input=b"wrong-password\n")
    assert p.returncode == 125
    assert b"rejected the credentials of user 'alice'" in p.stderr
    assert b"wrong-password" not in p.stderr + p.stdout
    assert not os.path.exists(os.path.join(gbx_config, "config.json"))

    p = cli(root, "login", "-u", "alice", "--password-stdin", host, input=b"s3cret-pw\n")
    assert p.returncode == 0, p.stderr.decode()
    assert p.stdout.decode().strip() == "Login Succeeded"
    cfg_path = os.path.join(gbx_config, "config.json")
    assert stat.S_IMODE(os.stat(cfg_path).st_mode) == 0o600
    assert json.load(open(cfg_path))["auths"][host]["auth"] == "YWxpY2U6czNjcmV0LXB3"

    p = cli(root, "push", f"{host}/team/app:1")
    assert p.returncode == 0, p.stderr.decode()
    fresh = tmp_path / "fresh"
    p = cli(fresh, "pull", f"{host}/team/app:1")
    assert p.returncode == 0, p.stderr.decode()

    p = cli(root, "logout", host)
    assert p.returncode == 0 and f"Removing login credentials for {host}" in p.stdout.decode()
    assert host not in json.load(open(cfg_path)).get("auths", {})
    p = cli(tmp_path / "fresh2", "pull", f"{host}/team/app:1")
    assert p.returncode == 125 and b"requires authentication" in p.stderr
