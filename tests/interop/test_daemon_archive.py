"""``/containers/{id}/archive`` and ``/export`` with real clients: the docker CLI's
``docker cp`` (both directions, ``-`` for tar streams, ``-a``) and ``docker export``,
docker-py's ``put_archive``/``get_archive``, and curl for the raw statuses and the
``X-Docker-Container-Path-Stat`` header."""

from __future__ import annotations

import base64
import io
import json
import os
import subprocess
import tarfile
import uuid

import pytest

from test_daemon_docker import DOCKER

pytestmark = [pytest.mark.interop]
needs_docker = pytest.mark.skipif(not os.path.exists(DOCKER), reason="docker CLI not installed")



def name() -> str:
    return "a" + uuid.uuid4().hex[:10]


def tar_bytes(entries: dict) -> bytes:
    b = io.BytesIO()
    with tarfile.open(fileobj=b, mode="w") as t:
        for n, data in entries.items():
            ti = tarfile.TarInfo(n)
            if isinstance(data, tuple):
                ti.type, ti.linkname = tarfile.SYMTYPE, data[1]
                t.addfile(ti)
            else:
                ti.size = len(data)
                t.addfile(ti, io.BytesIO(data))
    return b.getvalue()


@needs_docker
def test_docker_cp_both_ways_and_export(daemon, tmp_path):
    c = name()
    daemon.docker("run", "-d", "--name", c, "busybox", "sleep", "300")
    src = tmp_path / "src"
    (src / "sub").mkdir(parents=True)
    (src / "sub" / "f").write_text("from host\n")
    daemon.docker("cp", str(src), f"{c}:/copied")
    daemon.docker("cp", f"{src}/sub/f", f"{c}:/tmp/")
    assert daemon.out("exec", c, "cat", "/copied/sub/f", "/tmp/f") == "from host\nfrom host\n"
    daemon.docker("exec", c, "sh", "-c", "mkdir /made && echo in > /made/x && "
                  "ln -s x /made/l")
    out = tmp_path / "out"
    daemon.docker("cp", f"{c}:/made", str(out))
    assert (out / "x").read_text() == "in\n" and os.readlink(out / "l") == "x"
    into = tmp_path / "into"
    into.mkdir()
    daemon.docker("cp", f"{c}:/made/.", str(into))      # contents only
    assert sorted(os.listdir(into)) == ["l", "x"]
    # tar streams
    p = daemon.docker("cp", f"{c}:/made/x", "-")
    assert tarfile.open(fileobj=io.BytesIO(p.stdout)).getnames() == ["x"]
    daemon.docker("cp", "-", f"{c}:/tmp", input=tar_bytes({"streamed": b"s"}))
    assert daemon.out("exec", c, "cat", "/tmp/streamed") == "s"
    # errors as docker prints them
    p = daemon.docker("cp", f"{c}:/no/such", str(tmp_path / "x"), check=False)
    assert p.returncode != 0 and b"Could not find the file /no/such" in p.stderr
    p = daemon.docker("cp", str(src), f"{c}:/etc/hostname", check=False)
    assert p.returncode != 0
    p = daemon.docker("cp", str(src), "nosuch:/x", check=False)
    assert p.returncode != 0 and b"No such container" in p.stderr
    # a stopped container, and export
    daemon.docker("stop", "-t", "1", c)
    daemon.docker("cp", f"{src}/sub/f", f"{c}:/stopped-f")
    exported = daemon.docker("export", c).stdout
    names = tarfile.open(fileobj=io.BytesIO(exported)).getnames()
    assert "stopped-f" in names and "copied/sub/f" in names and "bin/busybox" in names
    daemon.docker("rm", c)


def test_docker_py_put_get_archive_and_stat_header(daemon):
    docker = pytest.importorskip("docker")
    client = docker.DockerClient(base_url=daemon.url)
    try:
        ctr = client.containers.run("busybox", ["sleep", "300"], detach=True, name=name())
        assert ctr.put_archive("/tmp", tar_bytes({"hello.txt": b"hi there"})) is True
        stream, st = ctr.get_archive("/tmp/hello.txt")
        data = b"".join(stream)
        t = tarfile.open(fileobj=io.BytesIO(data))
        assert t.extractfile("hello.txt").read() == b"hi there"
        assert st["name"] == "hello.txt" and st["size"] == 8 and st["mode"] == 0o644
        _, st = ctr.get_archive("/tmp")
        assert st["mode"] & (1 << 31)                      # os.ModeDir
        with pytest.raises(docker.errors.NotFound):
            ctr.get_archive("/no/such/file")
        with pytest.raises(docker.errors.APIError) as ei:  # '..' entries: 400
            ctr.put_archive("/tmp", tar_bytes({"../../escape": b"x"}))
        assert ei.value.status_code == 400
        with pytest.raises(docker.errors.APIError) as ei:  # onto a file: 400
            ctr.put_archive("/etc/hostname", tar_bytes({"x": b"x"}))
        assert ei.value.status_code == 400
        ctr.remove(force=True)
    finally:
        client.close()


def test_head_archive_header_and_statuses(daemon):
    api = daemon.gbx.engine
    c = name()
    daemon.gbx.out("run", "-d", "--name", c, "busybox", "sleep", "300")
    p = subprocess.run(["curl", "-sS", "-I", "--unix-socket", daemon.path,
                        f"http://localhost/v1.43/containers/{c}/archive?path=/etc/hostname"],
                       capture_output=True, timeout=30)
    head = p.stdout.decode()
    assert head.startswith("HTTP/1.1 200")
    line = [ln for ln in head.splitlines() if ln.lower().startswith("x-docker-container-path-stat")]
    doc = json.loads(base64.b64decode(line[0].split(":", 1)[1].strip()))
    assert doc["name"] == "hostname" and doc["size"] == 13 and doc["linkTarget"] == ""
    code, _ = daemon.curl("-I", f"http://localhost/containers/{c}/archive?path=/nope")
    assert code == 404
    code, body = daemon.curl("-X", "PUT", "--data-binary", "@-",
                             f"http://localhost/containers/{c}/archive")
    assert code == 400 and "path" in body
    code, _ = daemon.curl("http://localhost/containers/nosuch/export")
    assert code == 404
    api.containers.remove(c, force=True)


def test_glassbox_cli_over_the_daemon_cp_and_export(daemon, tmp_path):
    """``glassbox -H unix://... cp`` / ``export``: the same client rules, the daemon's
    archive endpoints underneath (RemoteEngine)."""
    gbx = daemon.gbx
    c = name()
    gbx.out("run", "-d", "--name", c, "busybox", "sleep", "300")
    host = ["-H", daemon.url]
    src = tmp_path / "f.txt"
    src.write_text("over the socket\n")
    gbx.out(*host, "cp", str(src), f"{c}:/tmp/")
    assert gbx.out("exec", c, "cat", "/tmp/f.txt") == "over the socket\n"
    gbx.out(*host, "cp", f"{c}:/tmp/f.txt", str(tmp_path / "back.txt"))
    assert (tmp_path / "back.txt").read_text() == "over the socket\n"
    p = gbx.cli(*host, "cp", f"{c}:/nope", str(tmp_path / "x"))
    assert p.returncode == 125 and b"Could not find the file /nope" in p.stderr
    out = gbx.cli(*host, "export", c)
    assert out.returncode == 0 and "tmp/f.txt" in tarfile.open(
        fileobj=io.BytesIO(out.stdout)).getnames()
    gbx.out("rm", "-f", c)
