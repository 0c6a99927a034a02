"""The daemon under attack and on the network: TCP/TLS, hostile input, networks.

* ``--tcp``: TLS with client certificates (made here with ``openssl``) for the
  real docker CLI; a client without a certificate is refused; plain TCP only on
  loopback, with a loud warning; any other host without TLS is an error.
* Hostile input: build contexts and docker-archives that try to write outside
  (``../``, absolute names, symlink and hardlink escapes, device nodes), JSON
  of the wrong types, oversized headers, clients that vanish mid-exec. Each
  ends in an error or a safe extraction; nothing is written outside; the
  daemon answers ``_ping`` afterwards.
* ``docker network create`` / ``run --network`` / ``-p 127.0.0.1:PORT:8080``
  through the daemon (traffic on loopback and on the test's own bridge only).
"""

from __future__ import annotations

import hashlib
import http.client
import importlib.util
import io
import json
import os
import socket
import ssl
import subprocess
import tarfile
import time
import uuid

import pytest

from glassbox.daemon.server import API_VERSION
from test_daemon_docker import DOCKER, Daemon, needs_docker  # noqa: F401

pytestmark = [pytest.mark.interop]

_spec = importlib.util.spec_from_file_location(
    "_network_cli_helpers", os.path.join(os.path.dirname(__file__), "..", "system",
                                         "test_network_cli.py"))
_netmod = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_netmod)
net = _netmod.net                     # the leak-checking network fixture (system tests')
free_port, wait_http, httpd = _netmod.free_port, _netmod.wait_http, _netmod.httpd


def name() -> str:
    return "t" + uuid.uuid4().hex[:10]


# ---- helpers ------------------------------------------------------------------------------
class UnixHTTP(http.client.HTTPConnection):
    def __init__(self, path: str):
        super().__init__("localhost", timeout=120)
        self.unix_path = path

    def connect(self):
        self.sock = socket.socket(socket.AF_UNIX)
        self.sock.settimeout(120)
        self.sock.connect(self.unix_path)


def request(d, method: str, path: str, body=None, ctype="application/json"):
    c = UnixHTTP(d.path)
    try:
        c.request(method, path, body=body, headers={"Content-Type": ctype})
        r = c.getresponse()
        return r.status, r.read()
    finally:
        c.close()


def ping(d) -> bool:
    return request(d, "GET", "/_ping") == (200, b"OK")


def member(t: tarfile.TarFile, path: str, data: bytes = b"evil\n", **kw) -> None:
    ti = tarfile.TarInfo(path)
    for k, v in kw.items():
        setattr(ti, k, v)
    if ti.type == tarfile.REGTYPE:
        ti.size = len(data)
        t.addfile(ti, io.BytesIO(data))
    else:
        t.addfile(ti)


def hostile_members(t: tarfile.TarFile, outside: str, tag: str) -> None:
    """Every way a tar member may try to land in ``outside`` (or read the host)."""
    member(t, "../" * 40 + outside.lstrip("/") + f"/{tag}-dotdot")   # any depth of ../
    member(t, f"{outside}/{tag}-abs")                                 # absolute name
    member(t, "esc", type=tarfile.SYMTYPE, linkname=outside)          # symlink, then
    member(t, f"esc/{tag}-through")                                   # a write through it
    member(t, "hl", type=tarfile.LNKTYPE, linkname="/etc/shadow")     # hardlink escape
    member(t, "dev", type=tarfile.BLKTYPE, devmajor=8, devminor=0)    # a device node


def written_outside(outside) -> list[str]:
    return sorted(os.listdir(outside))


# ---- TCP and TLS --------------------------------------------------------------------------
def _openssl(*args, cwd):
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True)


@pytest.fixture
def certs(tmp_path):
    """A CA, a server certificate for 127.0.0.1 and a client certificate, in the
    file names DOCKER_CERT_PATH expects (ca.pem, cert.pem, key.pem)."""
    d = tmp_path / "certs"
    d.mkdir()
    days = ["-days", "2"]
    _openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca-key.pem",
             "-out", "ca.pem", *days, "-subj", "/CN=glassbox-test-ca", cwd=d)
    (d / "server.ext").write_text("subjectAltName=IP:127.0.0.1,DNS:localhost\n"
                                  "extendedKeyUsage=serverAuth\n")
    (d / "client.ext").write_text("extendedKeyUsage=clientAuth\n")
    for who, key, cert in (("server", "server-key.pem", "server-cert.pem"),
                           ("client", "key.pem", "cert.pem")):
        _openssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out",
                 f"{who}.csr", "-subj", f"/CN={who}", cwd=d)
        _openssl("x509", "-req", "-in", f"{who}.csr", "-CA", "ca.pem", "-CAkey", "ca-key.pem",
                 "-CAcreateserial", "-out", cert, *days, "-extfile", f"{who}.ext", cwd=d)
    return d


def _wait_tcp(port: int, d: Daemon) -> None:
    deadline = time.monotonic() + 30
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            if time.monotonic() > deadline or d.proc.poll() is not None:
                raise AssertionError("TCP listener did not come up: " + d.logs())
            time.sleep(0.05)


def _stop(d: Daemon) -> None:
    d.stop()
    assert d.proc.returncode == 0, d.logs()
    assert not os.path.exists(d.path)


@needs_docker
def test_tcp_tls_with_client_certificates(gbx, tmp_path, certs):
    port = free_port()
    d = Daemon(gbx, str(tmp_path / "d.sock"), "--tcp", f"127.0.0.1:{port}",
               "--tlscacert", str(certs / "ca.pem"), "--tlscert", str(certs / "server-cert.pem"),
               "--tlskey", str(certs / "server-key.pem"))
    try:
        _wait_tcp(port, d)
        d.env.update(DOCKER_HOST=f"tcp://127.0.0.1:{port}", DOCKER_TLS_VERIFY="1",
                     DOCKER_CERT_PATH=str(certs))
        assert d.out("run", "--rm", "busybox", "echo", "over tls") == "over tls\n"
        # stdin, then the CLI's half-close (a TLS close_notify): the output still comes back
        p = d.docker("run", "-i", "--rm", "busybox", "sh", "-c", "cat; echo done",
                     input=b"piped\n")
        assert p.stdout == b"piped\ndone\n"
        assert d.out("version", "--format", "{{.Server.APIVersion}}").strip() == API_VERSION

        # a client that trusts the server but has no certificate of its own: refused
        ctx = ssl.create_default_context(cafile=str(certs / "ca.pem"))
        with pytest.raises((ssl.SSLError, ConnectionError, http.client.HTTPException)):
            c = http.client.HTTPSConnection("127.0.0.1", port, context=ctx, timeout=10)
            try:
                c.request("GET", "/_ping")
                c.getresponse().read()
            finally:
                c.close()
        # plain HTTP to the TLS port gets no HTTP answer
        with pytest.raises((ConnectionError, http.client.HTTPException)):
            c = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
            try:
                c.request("GET", "/_ping")
                c.getresponse().read()
            finally:
                c.close()
        # with the client certificate it works, and the daemon survived the rejects
        ctx.load_cert_chain(str(certs / "cert.pem"), str(certs / "key.pem"))
        c = http.client.HTTPSConnection("127.0.0.1", port, context=ctx, timeout=10)
        c.request("GET", "/_ping")
        assert c.getresponse().read() == b"OK"
        c.close()
        assert "WITHOUT TLS" not in d.logs()
    finally:
        _stop(d)


@needs_docker
def test_tcp_plain_on_loopback_warns(gbx, tmp_path):
    port = free_port()
    d = Daemon(gbx, str(tmp_path / "d.sock"), "--tcp", f"127.0.0.1:{port}")
    try:
        _wait_tcp(port, d)
        d.env["DOCKER_HOST"] = f"tcp://127.0.0.1:{port}"
        assert d.out("run", "--rm", "busybox", "echo", "plain") == "plain\n"
        p = d.docker("run", "-i", "--rm", "busybox", "cat", input=b"in\n")
        assert p.stdout == b"in\n"
        assert f"WITHOUT TLS on tcp://127.0.0.1:{port}" in d.logs()
    finally:
        _stop(d)


def test_tcp_refused_without_tls_off_loopback(gbx, tmp_path, certs):
    sock = str(tmp_path / "d.sock")
    port = free_port()
    p = gbx.cli("daemon", "--socket", sock, "--tcp", f"0.0.0.0:{port}", timeout=30)
    assert p.returncode == 125
    assert b"refusing to serve the API without TLS on 0.0.0.0" in p.stderr
    p = gbx.cli("daemon", "--socket", sock, "--tcp", f"127.0.0.1:{port}",
                "--tlscert", str(certs / "server-cert.pem"), timeout=30)
    assert p.returncode == 125 and b"needs all three" in p.stderr
    p = gbx.cli("daemon", "--socket", sock, "--tlscacert", str(certs / "ca.pem"), timeout=30)
    assert p.returncode == 125 and b"need --tcp" in p.stderr
    p = gbx.cli("daemon", "--socket", sock, "--tcp", "nonsense", timeout=30)
    assert p.returncode == 125 and b"invalid --tcp" in p.stderr
    assert not os.path.exists(sock)  # refused before anything listened


# ---- hostile archives -----------------------------------------------------------------------
def test_build_context_cannot_write_outside(daemon, tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as t:
        member(t, "Dockerfile", b"FROM busybox\nCOPY . /ctx/\n")
        member(t, "fine.txt", b"fine\n")
        hostile_members(t, str(outside), "ctx")
    tag = name()
    status, body = request(daemon, "POST", f"/build?t={tag}", buf.getvalue(),
                           "application/x-tar")
    assert status in (200, 400, 500), body
    assert written_outside(outside) == []
    assert ping(daemon)
    if b'"error"' not in body and status == 200:   # safe extraction: what got in is inert
        listing = daemon.out("run", "--rm", tag, "sh", "-c",
                             "ls -a /ctx; cat /ctx/hl 2>/dev/null; readlink /ctx/esc; true")
        assert "fine.txt" in listing
        assert "ctx-dotdot" not in listing and "ctx-through" not in listing
        assert "root:" not in listing            # no /etc/shadow of the host
        assert written_outside(outside) == []


def test_load_hostile_archive(daemon, tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    layer = io.BytesIO()
    with tarfile.open(fileobj=layer, mode="w") as t:
        member(t, "ok.txt", b"fine\n")
        hostile_members(t, str(outside), "layer")
    layer = layer.getvalue()
    diff_id = "sha256:" + hashlib.sha256(layer).hexdigest()
    config = json.dumps({"architecture": "amd64", "os": "linux", "config": {"Cmd": ["sh"]},
                         "rootfs": {"type": "layers", "diff_ids": [diff_id]}}).encode()
    config_name = hashlib.sha256(config).hexdigest() + ".json"
    tag = name() + ":latest"
    manifest = json.dumps([{"Config": config_name, "RepoTags": [tag],
                            "Layers": ["l/layer.tar"]}]).encode()
    archive = io.BytesIO()
    with tarfile.open(fileobj=archive, mode="w") as t:
        member(t, "manifest.json", manifest)
        member(t, config_name, config)
        member(t, "l/layer.tar", layer)
        hostile_members(t, str(outside), "archive")     # the archive itself, too
    status, body = request(daemon, "POST", "/images/load", archive.getvalue(),
                           "application/x-tar")
    assert status in (200, 400, 500), body
    assert written_outside(outside) == []
    assert ping(daemon)
    if b"Loaded image" in body:   # loaded with the escapes dropped; a container is inert
        cid = daemon.out("create", tag, "true").strip()
        daemon.docker("rm", cid)
        assert written_outside(outside) == []
    # an archive that is not one: an error, and the daemon goes on
    status, body = request(daemon, "POST", "/images/load", b"not a tar at all" * 100,
                           "application/x-tar")
    assert status >= 400 or b'"error"' in body
    assert ping(daemon)


# ---- malformed requests ---------------------------------------------------------------------
BAD_CREATE = [
    "[1]", '"busybox"', '{"Image": 5}', '{"Image": "busybox", "Cmd": 5}',
    '{"Image": "busybox", "Env": "A=1"}', '{"Image": "busybox", "Labels": ["a"]}',
    '{"Image": "busybox", "HostConfig": "x"}', '{"Image": "busybox", "HostConfig": {"Memory": "1g"}}',
    '{"Image": "busybox", "HostConfig": {"Memory": 1e400}}',
    '{"Image": "busybox", "HostConfig": {"Mounts": "x"}}',
    '{"Image": "busybox", "HostConfig": {"Mounts": [{"Target": "/x", "Source": "a,readonly=0"}]}}',
    '{"Image": "busybox", "HostConfig": {"PortBindings": ["80"]}}',
    '{"Image": "busybox", "HostConfig": {"PortBindings": {"80/tcp": "8080"}}}',
    '{"Image": "busybox", "HostConfig": {"NetworkMode": 5}}',
    '{"Image": "busybox", "NetworkingConfig": {"EndpointsConfig": {"n": "x"}}}',
    '{"Image": "busybox", "ExposedPorts": ["80/tcp"]}', '{"Image": "busybox", "WorkingDir": 5}',
    '{"Image": "busybox", "User": ["root"]}', '{"Image": "busybox", "Hostname": 5}',
    '{"Image": "busybox"', "\xff\xfe",
]


def test_malformed_requests_are_400s(daemon):
    for body in BAD_CREATE:
        status, out = request(daemon, "POST", "/containers/create", body.encode("latin-1"))
        assert status == 400, (body, status, out)
        assert json.loads(out)["message"]
    assert daemon.gbx.engine.containers.list() == []
    # a huge header, and bytes that are not HTTP: 400 from the HTTP parser
    for raw in (b"GET /_ping HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 200_000 + b"\r\n\r\n",
                b"NOT HTTP AT ALL\r\n\r\n"):
        s = socket.socket(socket.AF_UNIX)
        s.settimeout(30)
        s.connect(daemon.path)
        try:
            s.sendall(raw)
            reply = s.recv(64)
        except (BrokenPipeError, ConnectionResetError):
            reply = b"HTTP/1.1 400"   # refused before it all went through: as good
        finally:
            s.close()
        assert reply.split(b" ")[1] in (b"400", b"431"), reply
    # a query parameter of the wrong type
    status, out = request(daemon, "GET", "/containers/json?limit=abc")
    assert status == 400
    assert ping(daemon)


@needs_docker
def test_client_vanishing_mid_exec_attach(daemon):
    n = name()
    daemon.docker("run", "-d", "--name", n, "busybox", "sleep", "300")
    ex = subprocess.Popen([DOCKER, "exec", "-i", n, "sh", "-c",
                           "while :; do echo tick; sleep 0.1; done"], env=daemon.env,
                          stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                          stderr=subprocess.DEVNULL)
    assert ex.stdout.readline() == b"tick\n"
    ex.kill()              # gone without a goodbye, in the middle of the stream
    ex.wait()
    # a raw client too: exec start, read a frame, slam the socket
    api = json.loads(request(daemon, "POST", f"/containers/{n}/exec", json.dumps(
        {"Cmd": ["sh", "-c", "while :; do echo tock; sleep 0.1; done"], "AttachStdout": True,
         "AttachStderr": True}).encode())[1])
    s = socket.socket(socket.AF_UNIX)
    s.settimeout(30)
    s.connect(daemon.path)
    body = b'{"Detach": false, "Tty": false}'
    s.sendall(f"POST /exec/{api['Id']}/start HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\n"
              f"Upgrade: tcp\r\nContent-Type: application/json\r\n"
              f"Content-Length: {len(body)}\r\n\r\n".encode() + body)
    got = b""
    while b"tock" not in got:
        chunk = s.recv(4096)
        assert chunk, got
        got += chunk
    assert got.startswith(b"HTTP/1.1 101")
    s.close()
    # the daemon keeps serving: other clients, the same container
    assert ping(daemon)
    assert daemon.out("exec", n, "echo", "still here") == "still here\n"
    assert json.loads(daemon.out("inspect", n))[0]["State"]["Running"]
    daemon.docker("rm", "-f", n)


# ---- networks ---------------------------------------------------------------------------------
@needs_docker
def test_networks_by_name_and_published_ports(daemon, net):
    names = daemon.out("network", "ls", "--format", "{{.Name}}").split()
    assert {"bridge", "host", "none"} <= set(names)
    n, srv = name(), name()
    daemon.docker("network", "create", n)
    assert n in daemon.out("network", "ls", "--format", "{{.Name}}").split()
    daemon.docker("run", "-d", "--name", srv, "--network", n, "--network-alias", "web",
                  "busybox", *httpd("by-name"))
    doc = json.loads(daemon.out("network", "inspect", n))[0]
    assert [c["Name"] for c in doc["Containers"].values()] == [srv]
    for host in (srv, "web"):
        got = daemon.out("run", "--rm", "--network", n, "busybox", "sh", "-c",
                         f"for i in $(seq 50); do wget -qO- http://{host}:8080/ && exit 0; "
                         "sleep 0.2; done; exit 1")
        assert got == "by-name\n"
    # -p 127.0.0.1:PORT:8080 on the default bridge, reached from the host over loopback
    port = free_port()
    pub = name()
    daemon.docker("run", "-d", "--name", pub, "-p", f"127.0.0.1:{port}:8080", "busybox",
                  *httpd("published"))
    assert wait_http(f"http://127.0.0.1:{port}/") == "published\n"
    assert daemon.out("port", pub).strip() == f"8080/tcp -> 127.0.0.1:{port}"
    assert f"127.0.0.1:{port}->8080/tcp" in daemon.out("ps", "--format", "{{.Ports}}")
    names = daemon.out("network", "ls", "--format", "{{.Name}} {{.Driver}}").splitlines()
    assert "bridge bridge" in names
    p = daemon.docker("network", "rm", "none", check=False)
    assert p.returncode != 0 and b"pre-defined" in p.stderr
    daemon.docker("rm", "-f", srv, pub)
    daemon.docker("network", "rm", n)
    assert n not in daemon.out("network", "ls", "--format", "{{.Name}}").split()
