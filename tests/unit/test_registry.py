"""The registry client against the in-process fake registry (glassbox.registry.fake).

The fake stands in for what the real docker-registry (tests/interop) will not do on
demand: serve corrupt bytes, drop a connection mid-blob, die mid-pull, and run the
Bearer-token flow (distribution's token auth needs a signing PKI; here the fake's own
/token endpoint issues opaque tokens, as Docker Hub's auth.docker.io does).
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import stat
import tarfile

import pytest

from glassbox.errors import GlassboxError, InvalidArgument, NotFound, RegistryError
from glassbox.images import ImageStore
from glassbox.images import manifest as mf
from glassbox.images.store import DigestMismatch
from glassbox.registry import RegistryClient, parse_platform
from glassbox.registry.auth import (DOCKER_HUB_KEY, CredentialStore, Credentials,
                                    parse_challenge, registry_key)
from glassbox.registry.fake import FakeRegistry
from glassbox.registry.transport import Transport, is_loopback


def tar_bytes(files: dict) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as t:
        for name, data in files.items():
            ti = tarfile.TarInfo(name)
            ti.size, ti.mode, ti.mtime = len(data), 0o644, 1_600_000_000
            t.addfile(ti, io.BytesIO(data))
    return buf.getvalue()


def make_image(store: ImageStore, tag: str, layers: list[dict]):
    """An image with one layer per dict of files."""
    refs = [store.import_layer(io.BytesIO(tar_bytes(files))) for files in layers]
    return store.put_image({"config": {"Cmd": ["sh"]}}, refs, [tag])


BASE = {"etc/base.txt": b"base layer\n", "bin/blob": os.urandom(300_000)}


@pytest.fixture
def fake():
    with FakeRegistry() as reg:
        yield reg


@pytest.fixture
def src(tmp_path):
    return ImageStore(tmp_path / "src")


@pytest.fixture
def dst(tmp_path):
    return ImageStore(tmp_path / "dst")


def client(store, tmp_path, name="cfg", **kw):
    return RegistryClient(store, config_dir=str(tmp_path / name), **kw)


def assert_clean(store: ImageStore):
    assert os.listdir(store.tmp_dir) == [], "partial writes left in tmp/"


# ---------------------------------------------------------------- pure pieces

def test_parse_bearer_challenge():
    ch = parse_challenge('Bearer realm="https://auth.docker.io/token",service="registry.docker.io",'
                         'scope="repository:library/busybox:pull"')
    assert ch.scheme == "bearer"
    assert ch.realm == "https://auth.docker.io/token"
    assert ch.params["service"] == "registry.docker.io"
    assert ch.params["scope"] == "repository:library/busybox:pull"
    assert parse_challenge('Basic realm="x"').scheme == "basic"


def test_registry_key_normalizes_hub_and_urls():
    assert registry_key("docker.io") == DOCKER_HUB_KEY
    assert registry_key("https://index.docker.io/v1/") == DOCKER_HUB_KEY
    assert registry_key("http://127.0.0.1:5000/") == "127.0.0.1:5000"
    assert registry_key("myreg.example:443") == "myreg.example:443"


def test_credentials_are_docker_compatible_and_private(tmp_path):
    cfg = tmp_path / "cfg"
    cfg.mkdir()
    (cfg / "config.json").write_text(json.dumps({"credHelpers": {"x": "y"}}))
    cs = CredentialStore(str(cfg))
    cs.put("127.0.0.1:5001", Credentials("alice", "pa:ss"))
    data = json.loads((cfg / "config.json").read_text())
    assert data["credHelpers"] == {"x": "y"}, "other keys must be kept"
    assert data["auths"]["127.0.0.1:5001"]["auth"] == "YWxpY2U6cGE6c3M="  # base64 alice:pa:ss
    assert stat.S_IMODE(os.stat(cfg / "config.json").st_mode) == 0o600
    assert cs.get("127.0.0.1:5001") == Credentials("alice", "pa:ss")
    assert "pa:ss" not in repr(cs.get("127.0.0.1:5001"))
    assert cs.remove("127.0.0.1:5001") is True
    assert cs.get("127.0.0.1:5001") is None
    assert cs.remove("127.0.0.1:5001") is False


def test_platform_parsing():
    assert parse_platform("linux/arm64/v8") == {"os": "linux", "architecture": "arm64",
                                                "variant": "v8"}
    assert parse_platform("linux/x86_64") == {"os": "linux", "architecture": "amd64"}
    with pytest.raises(InvalidArgument):
        parse_platform("arm64")


def test_plain_http_only_for_loopback_or_insecure():
    assert is_loopback("127.0.0.1:5000") and is_loopback("localhost:5000")
    assert is_loopback("[::1]:5000")
    assert not is_loopback("registry.example.com:5000")
    assert Transport("registry.example.com").insecure is False
    assert Transport("registry.example.com", insecure=True).insecure is True


# ---------------------------------------------------------------- pull and push

def test_push_then_pull_roundtrip(fake, src, dst, tmp_path):
    im = make_image(src, f"{fake.host}/team/app:1", [BASE, {"app/hello.txt": b"hello\n"}])
    events = []
    digest = client(src, tmp_path).push(f"{fake.host}/team/app:1", progress=events.append)
    assert digest == im.manifest_digest
    statuses = [e.get("status") for e in events]
    assert statuses[0] == f"The push refers to repository [{fake.host}/team/app]"
    assert statuses.count("Pushed") == 2
    assert f"1: digest: {digest} size: {len(src.read_blob(digest))}" in statuses

    pulled_events = []
    got = client(dst, tmp_path, "cfg2").pull(f"{fake.host}/team/app:1",
                                             progress=pulled_events.append)
    assert got.id == im.id and got.manifest_digest == digest
    assert dst.resolve(f"{fake.host}/team/app:1").id == im.id
    with open(os.path.join(got.layer_dirs[1], "app", "hello.txt"), "rb") as f:
        assert f.read() == b"hello\n"
    by_status = [e["status"] for e in pulled_events]
    assert by_status.count("Pulling fs layer") == 2 and by_status.count("Pull complete") == 2
    assert f"Digest: {digest}" in by_status
    assert f"Status: Downloaded newer image for {fake.host}/team/app:1" in by_status
    dl = [e for e in pulled_events if e["status"] == "Downloading"]
    assert dl and all(e["progressDetail"]["total"] for e in dl)
    assert_clean(dst)


def test_second_push_skips_present_blobs(fake, src, tmp_path):
    make_image(src, f"{fake.host}/team/app:1", [BASE])
    c = client(src, tmp_path)
    c.push(f"{fake.host}/team/app:1")
    uploads = fake.count("POST", r"/uploads/")
    events = []
    c.push(f"{fake.host}/team/app:1", progress=events.append)
    assert fake.count("POST", r"/uploads/") == uploads, "a present blob was uploaded again"
    assert any(e.get("status") == "Layer already exists" for e in events)


def test_chunked_upload(fake, src, tmp_path):
    make_image(src, f"{fake.host}/team/app:1", [BASE])
    c = client(src, tmp_path, chunk_size=64 * 1024)
    digest = c.push(f"{fake.host}/team/app:1")
    assert fake.count("PATCH", r"/uploads/") >= 3
    body, _ = fake.manifests[("team/app", "1")]
    assert "sha256:" + hashlib.sha256(body).hexdigest() == digest


def test_cross_repository_mount(fake, src, tmp_path):
    make_image(src, f"{fake.host}/team/app:1", [BASE])
    c = client(src, tmp_path)
    c.push(f"{fake.host}/team/app:1")
    src.tag(f"{fake.host}/team/app:1", f"{fake.host}/team/other:1")
    events = []
    c.push(f"{fake.host}/team/other:1", progress=events.append)
    assert any(e.get("status") == "Mounted from team/app" for e in events)
    assert fake.count("PUT", r"/v2/team/other/blobs/uploads/") == 0, "mounted blobs are not uploaded"


def test_pull_skips_layers_already_present(fake, src, dst, tmp_path):
    app1 = make_image(src, f"{fake.host}/team/app1:1", [BASE, {"one": b"1"}])
    make_image(src, f"{fake.host}/team/app2:1", [BASE, {"two": b"2"}])
    c = client(src, tmp_path)
    c.push(f"{fake.host}/team/app1:1")
    c.push(f"{fake.host}/team/app2:1")
    puller = client(dst, tmp_path, "cfg2")
    puller.pull(f"{fake.host}/team/app1:1")
    base = app1.layers[0].digest
    assert fake.count("GET", base) == 1
    events = []
    puller.pull(f"{fake.host}/team/app2:1", progress=events.append)
    assert fake.count("GET", base) == 1, "the shared base layer was downloaded again"
    assert {"id": base[7:19], "status": "Already exists", "progressDetail": {}} in events
    again = []
    puller.pull(f"{fake.host}/team/app2:1", progress=again.append)
    assert again[-1]["status"] == f"Status: Image is up to date for {fake.host}/team/app2:1"


def test_pull_by_digest(fake, src, dst, tmp_path):
    im = make_image(src, f"{fake.host}/team/app:1", [BASE])
    d = client(src, tmp_path).push(f"{fake.host}/team/app:1")
    got = client(dst, tmp_path, "c2").pull(f"{fake.host}/team/app@{d}")
    assert got.id == im.id
    assert dst.resolve(f"{fake.host}/team/app@{d}").id == im.id


def test_pull_missing_tag_is_not_found(fake, dst, tmp_path):
    with pytest.raises(NotFound, match=r"manifest for .*/team/nope:9 not found"):
        client(dst, tmp_path).pull(f"{fake.host}/team/nope:9")


def test_connection_refused_is_a_clear_error(dst, tmp_path):
    import socket
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(RegistryError, match="connection refused"):
        client(dst, tmp_path).pull(f"127.0.0.1:{port}/team/app:1")


def test_corrupt_blob_is_rejected_and_nothing_stored(fake, src, dst, tmp_path):
    im = make_image(src, f"{fake.host}/team/app:1", [BASE, {"x": b"y"}])
    client(src, tmp_path).push(f"{fake.host}/team/app:1")
    bad = im.layers[1].digest
    good = fake.blobs[bad]
    fake.corrupt[bad] = good[:-30] + bytes(30)     # same size, wrong bytes
    with pytest.raises(DigestMismatch, match="digest mismatch"):
        client(dst, tmp_path, "c2").pull(f"{fake.host}/team/app:1")
    assert not dst.has_blob(bad)
    assert not dst.has_layer(im.layers[1].diff_id)
    assert not dst.exists(f"{fake.host}/team/app:1")
    assert_clean(dst)
    fake.corrupt.clear()                            # the registry is fixed: a retry completes
    assert client(dst, tmp_path, "c2").pull(f"{fake.host}/team/app:1").id == im.id


def test_dropped_connection_resumes_with_range(fake, src, dst, tmp_path):
    im = make_image(src, f"{fake.host}/team/app:1", [BASE])
    client(src, tmp_path).push(f"{fake.host}/team/app:1")
    d = im.layers[0].digest
    fake.drop_after[d] = 50_000
    got = client(dst, tmp_path, "c2").pull(f"{fake.host}/team/app:1")
    assert got.id == im.id
    assert fake.count("GET", d) == 2, "expected one resumed request"
    assert_clean(dst)


def test_resume_when_server_ignores_range(fake, src, dst, tmp_path):
    im = make_image(src, f"{fake.host}/team/app:1", [BASE])
    client(src, tmp_path).push(f"{fake.host}/team/app:1")
    fake.ignore_range = True
    fake.drop_after[im.layers[0].digest] = 70_000
    assert client(dst, tmp_path, "c2").pull(f"{fake.host}/team/app:1").id == im.id


def test_registry_dies_mid_pull_then_retry_completes(fake, src, dst, tmp_path):
    im = make_image(src, f"{fake.host}/team/app:1", [BASE, {"two": os.urandom(200_000)}])
    client(src, tmp_path).push(f"{fake.host}/team/app:1")
    fake.die_after_bytes = 120_000
    with pytest.raises(RegistryError):
        client(dst, tmp_path, "c2").pull(f"{fake.host}/team/app:1")
    assert not dst.exists(f"{fake.host}/team/app:1"), "a failed pull left an image"
    assert_clean(dst)
    for layer in im.layers:   # whatever is there is whole and verified
        if dst.has_blob(layer.digest):
            assert hashlib.sha256(dst.read_blob(layer.digest)).hexdigest() == layer.digest[7:]
    fake.die_after_bytes = None
    assert client(dst, tmp_path, "c2").pull(f"{fake.host}/team/app:1").id == im.id


def test_push_of_unknown_local_image(fake, src, tmp_path):
    with pytest.raises(NotFound, match="does not exist locally"):
        client(src, tmp_path).push(f"{fake.host}/team/ghost:1")


# ---------------------------------------------------------------- index / platforms

def _push_index(fake, src, tmp_path):
    """Two single-platform images behind one OCI index, tagged multi:1."""
    digests = {}
    for arch in ("amd64", "arm64"):
        layer = src.import_layer(io.BytesIO(tar_bytes({"arch": arch.encode()})))
        im = src.put_image({"architecture": arch, "os": "linux", "config": {}}, [layer],
                           [f"{fake.host}/team/multi:{arch}"])
        client(src, tmp_path).push(f"{fake.host}/team/multi:{arch}")
        digests[arch] = (im.manifest_digest, len(src.read_blob(im.manifest_digest)), im.id)
    index = {"schemaVersion": 2, "mediaType": mf.OCI_INDEX, "manifests": [
        {"mediaType": mf.OCI_MANIFEST, "digest": d, "size": n,
         "platform": {"os": "linux", "architecture": arch}}
        for arch, (d, n, _) in digests.items()]}
    fake.put_manifest("team/multi", "1", json.dumps(index).encode(), mf.OCI_INDEX)
    return digests


def test_index_resolves_host_platform_and_override(fake, src, dst, tmp_path, monkeypatch):
    digests = _push_index(fake, src, tmp_path)
    monkeypatch.setattr(mf, "host_platform", lambda: {"os": "linux", "architecture": "amd64"})
    c = client(dst, tmp_path, "c2")
    assert c.pull(f"{fake.host}/team/multi:1").id == digests["amd64"][2]
    got = c.pull(f"{fake.host}/team/multi:1", platform="linux/arm64")
    assert got.id == digests["arm64"][2]
    with open(os.path.join(got.layer_dirs[0], "arch"), "rb") as f:
        assert f.read() == b"arm64"


def test_index_without_the_platform(fake, src, dst, tmp_path):
    _push_index(fake, src, tmp_path)
    with pytest.raises(NotFound, match=r"no matching manifest for linux/s390x.*linux/amd64"):
        client(dst, tmp_path, "c2").pull(f"{fake.host}/team/multi:1", platform="linux/s390x")
    assert_clean(dst)


# ---------------------------------------------------------------- auth

def test_bearer_anonymous_pull_and_authenticated_push(src, dst, tmp_path):
    with FakeRegistry(auth="bearer", users={"alice": "wonder-pw"}) as reg:
        make_image(src, f"{reg.host}/team/app:1", [BASE])
        c = client(src, tmp_path)
        with pytest.raises(RegistryError, match="requires authentication"):
            c.push(f"{reg.host}/team/app:1")
        assert c.login(reg.host, "alice", "wonder-pw") == "Login Succeeded"
        d = c.push(f"{reg.host}/team/app:1")
        assert reg.count("GET", "/token") >= 2
        got = client(dst, tmp_path, "anon").pull(f"{reg.host}/team/app:1")   # anonymous token
        assert got.manifest_digest == d


def test_bearer_wrong_password_never_echoed(src, tmp_path):
    with FakeRegistry(auth="bearer", users={"alice": "right"}) as reg:
        c = client(src, tmp_path)
        with pytest.raises(RegistryError) as ei:
            c.login(reg.host, "alice", "Hunter2-secret")
        assert "rejected the credentials" in str(ei.value)
        assert "Hunter2-secret" not in str(ei.value)
        assert c.credentials.get(reg.host) is None, "a failed login must not be stored"


def test_basic_auth_login_push_logout(src, tmp_path):
    with FakeRegistry(auth="basic", users={"bob": "pw"}) as reg:
        make_image(src, f"{reg.host}/team/app:1", [BASE])
        c = client(src, tmp_path)
        with pytest.raises(RegistryError, match="rejected"):
            c.login(reg.host, "bob", "nope")
        c.login(reg.host, "bob", "pw")
        cfg = json.loads((tmp_path / "cfg" / "config.json").read_text())
        assert reg.host in cfg["auths"]
        c.push(f"{reg.host}/team/app:1")
        assert c.logout(reg.host) is True
        assert c.logout(reg.host) is False
        with pytest.raises(RegistryError, match="requires authentication"):
            c.push(f"{reg.host}/team/app:1")


def test_login_needs_user_and_password(src, tmp_path):
    with pytest.raises(InvalidArgument):
        client(src, tmp_path).login("127.0.0.1:1", "", "x")


# ---------------------------------------------------------------- CLI

def test_cli_push_pull_and_progress_lines(fake, tmp_path, monkeypatch):
    from glassbox.cli.main import run_command
    from glassbox.engine import Engine
    monkeypatch.setenv("GLASSBOX_CONFIG", str(tmp_path / "cfg"))
    eng = Engine(str(tmp_path / "root1"))
    make_image(eng.images, f"{fake.host}/team/app:1", [BASE])
    out = io.StringIO()
    assert run_command(["push", f"{fake.host}/team/app:1"], out=out, engine=eng) == 0
    text = out.getvalue()
    d = eng.images.resolve(f"{fake.host}/team/app:1").manifest_digest
    assert f"1: digest: {d} size: " in text
    eng2 = Engine(str(tmp_path / "root2"))
    out = io.StringIO()
    assert run_command(["pull", f"{fake.host}/team/app:1"], out=out, engine=eng2) == 0
    lines = out.getvalue().splitlines()
    assert lines[-1] == f"{fake.host}/team/app:1"
    assert any(ln.endswith(": Pull complete") for ln in lines)
    assert not any("Downloading" in ln for ln in lines[1:] if ln.count("Downloading") > 1)
    out = io.StringIO()
    assert run_command(["pull", "-q", f"{fake.host}/team/app:1"], out=out, engine=eng2) == 0
    assert out.getvalue() == f"{fake.host}/team/app:1\n"


def test_progress_view_tty_redraws_lines():
    from glassbox.cli.cmd_registry import ProgressView
    out = io.StringIO()
    v = ProgressView(out, tty=True)
    v({"id": "aaa", "status": "Pulling fs layer"})
    v({"id": "bbb", "status": "Pulling fs layer"})
    v({"id": "aaa", "status": "Downloading", "progressDetail": {"current": 50, "total": 100}})
    s = out.getvalue()
    assert "\x1b[2A" in s and "[=========================>" in s and "50B/100B" in s


def test_cli_errors_exit_125(fake, tmp_path, monkeypatch):
    from glassbox.cli.main import main
    monkeypatch.setenv("GLASSBOX_ROOT", str(tmp_path / "root"))
    monkeypatch.setenv("GLASSBOX_CONFIG", str(tmp_path / "cfg"))
    with pytest.raises(SystemExit) as ei:
        main(["pull", f"{fake.host}/team/missing:1"])
    assert ei.value.code == 125
    assert isinstance(NotFound("x"), GlassboxError)
