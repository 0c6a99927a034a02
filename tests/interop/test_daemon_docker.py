"""The daemon against real clients: the docker CLI, docker-py, curl and ``glassbox -H``.

Each test starts ``glassbox daemon --socket <tmp>/d.sock`` on its own state
root (the ``gbx`` fixture: busybox imported, leak check on teardown), drives
it, and stops it with SIGTERM: the socket must be gone and the daemon exited;
the ``gbx`` teardown then checks no shim, cgroup or mount was left.
"""

from __future__ import annotations

import json
import contextlib
import os
import shutil
import signal
import socket
import subprocess
import time
import uuid

import pytest

from glassbox.daemon.server import API_VERSION

pytestmark = [pytest.mark.interop]

DOCKER = shutil.which("docker") or "/usr/local/bin/docker"
needs_docker = pytest.mark.skipif(not os.path.exists(DOCKER), reason="docker CLI not installed")


class Daemon:
    def __init__(self, gbx, path, *args):
        self.gbx, self.path = gbx, path
        self.url = "unix://" + path
        self.env = dict(gbx.env, DOCKER_HOST=self.url, DOCKER_CONFIG=os.path.join(
            os.path.dirname(path), "docker-config"))
        self.log = open(os.path.join(os.path.dirname(path), "daemon.log"), "w+")
        self.proc = gbx.popen("daemon", "--socket", path, *args, stdout=self.log,
                              stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 30
        while True:
            if self.proc.poll() is not None:
                raise AssertionError("daemon exited: " + self.logs())
            s = socket.socket(socket.AF_UNIX)
            try:
                s.connect(path)
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise AssertionError("daemon did not listen: " + self.logs())
                time.sleep(0.05)
            finally:
                s.close()

    def logs(self) -> str:
        self.log.flush()
        self.log.seek(0)
        return self.log.read()

    def docker(self, *args, input=None, timeout=60, check=True):
        p = subprocess.run([DOCKER, *args], env=self.env, input=input, capture_output=True,
                           timeout=timeout)
        if check and p.returncode != 0:
            raise AssertionError(f"docker {' '.join(args)} -> {p.returncode}\n"
                                 f"stdout: {p.stdout.decode()}\nstderr: {p.stderr.decode()}\n"
                                 f"daemon: {self.logs()[-3000:]}")
        return p

    def out(self, *args, **kw) -> str:
        return self.docker(*args, **kw).stdout.decode()

    def curl(self, *args) -> tuple[int, str]:
        p = subprocess.run(["curl", "-sS", "-w", "\n%{http_code}", "--unix-socket", self.path,
                            *args], capture_output=True, timeout=30)
        body, _, code = p.stdout.decode().rpartition("\n")
        return int(code), body

    def stop(self):
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise AssertionError("daemon did not stop on SIGTERM")
        self.log.close()


@contextlib.contextmanager
def running_daemon(gbx, tmp_path):
    """A daemon on the test's state root; afterwards its containers removed, the
    daemon stopped cleanly (exit 0, socket gone). The ``daemon`` fixture of
    tests/interop/conftest.py; tests that also need the network leak check wrap
    it in their own fixture with ``net``."""
    d = Daemon(gbx, str(tmp_path / "d.sock"))
    try:
        yield d
    finally:
        for c in gbx.engine.containers.list():
            gbx.engine.containers.remove(c.id, force=True)
        d.stop()
    assert not os.path.exists(d.path), "the daemon left its socket behind"
    assert d.proc.returncode == 0, f"daemon exit code {d.proc.returncode}"


def name() -> str:
    return "t" + uuid.uuid4().hex[:10]


# ---- docker CLI ------------------------------------------------------------------------
@needs_docker
def test_docker_version_negotiates(daemon):
    v = json.loads(daemon.out("version", "--format", "{{json .}}"))
    assert v["Server"]["ApiVersion"] == API_VERSION
    assert v["Server"]["MinAPIVersion"] == "1.24"
    assert v["Client"]["ApiVersion"] == API_VERSION  # downgraded to what we serve
    info = json.loads(daemon.out("info", "--format", "{{json .}}"))
    assert info["Images"] == 1 and info["OSType"] == "linux"


@needs_docker
def test_docker_run_rm_echo(daemon):
    p = daemon.docker("run", "--rm", "busybox", "echo", "hi")
    assert p.stdout == b"hi\n"
    assert daemon.gbx.engine.containers.list() == []  # --rm removed it


@needs_docker
def test_docker_run_exit_codes_and_stderr(daemon):
    p = daemon.docker("run", "--rm", "busybox", "sh", "-c", "echo out; echo err >&2; exit 7",
                      check=False)
    assert (p.returncode, p.stdout, p.stderr) == (7, b"out\n", b"err\n")
    p = daemon.docker("run", "--rm", "busybox", "nosuchcommand", check=False)
    assert p.returncode == 127
    assert b"executable file not found" in p.stderr


@needs_docker
def test_docker_run_stdin(daemon):
    p = daemon.docker("run", "-i", "--rm", "busybox", "sh", "-c", "cat; echo done",
                      input=b"from stdin\n")
    assert p.stdout == b"from stdin\ndone\n"


@needs_docker
def test_docker_lifecycle(daemon):
    n = name()
    cid = daemon.out("run", "-d", "--name", n, "busybox", "sh", "-c",
                     "echo started; echo oops >&2; sleep 300").strip()
    assert len(cid) == 64
    assert daemon.gbx.engine.containers.get(n).running  # the same container the CLI sees
    ps = daemon.out("ps", "-a", "--format", "{{.ID}} {{.Names}} {{.State}}")
    assert f"{cid[:12]} {n} running" in ps
    deadline = time.monotonic() + 10
    while "started" not in daemon.out("logs", n) and time.monotonic() < deadline:
        time.sleep(0.1)
    p = daemon.docker("logs", "-t", n)
    assert b"started\n" in p.stdout and b"oops\n" in p.stderr
    assert p.stdout[:4].isdigit()  # a timestamp prefix
    assert daemon.out("exec", n, "echo", "x") == "x\n"
    assert daemon.docker("exec", n, "sh", "-c", "exit 3", check=False).returncode == 3
    p = daemon.docker("exec", n, "nosuch", check=False)
    assert p.returncode in (126, 127)
    doc = json.loads(daemon.out("inspect", n))[0]
    assert doc["Id"] == cid and doc["State"]["Running"] and doc["Name"] == "/" + n
    top = daemon.out("top", n)
    assert "sleep 300" in top
    stats = daemon.out("stats", "--no-stream", "--format", "{{.Name}} {{.MemUsage}} {{.PIDs}}")
    line = next(ln for ln in stats.splitlines() if ln.startswith(n))
    assert line.split()[-1] == "1" and "B" in line.split()[1]
    daemon.docker("stop", "-t", "1", n)
    doc = json.loads(daemon.out("inspect", n))[0]
    assert not doc["State"]["Running"]
    daemon.docker("rm", n)
    assert n not in daemon.out("ps", "-a")


@needs_docker
def test_docker_errors(daemon):
    n = name()
    daemon.docker("create", "--name", n, "busybox", "true")
    p = daemon.docker("create", "--name", n, "busybox", "true", check=False)
    assert p.returncode != 0 and b"already in use" in p.stderr
    p = daemon.docker("rm", "nosuchcontainer", check=False)
    assert p.returncode != 0 and b"No such container: nosuchcontainer" in p.stderr
    p = daemon.docker("rmi", "nosuchimage", check=False)
    assert p.returncode != 0 and b"No such image" in p.stderr
    daemon.docker("rm", n)


@needs_docker
def test_docker_images_tag_rmi_history(daemon):
    daemon.docker("tag", "busybox", "mybox:1")
    rows = daemon.out("images", "--format", "{{.Repository}}:{{.Tag}}").split()
    assert sorted(rows) == ["busybox:latest", "mybox:1"]
    assert "Imported from -" in daemon.out("history", "mybox:1")
    assert "Untagged: mybox:1" in daemon.out("rmi", "mybox:1")
    assert daemon.out("images", "-q").strip() == \
        daemon.gbx.engine.images.resolve("busybox").short_id


@needs_docker
def test_docker_save_load(daemon, tmp_path):
    out = tmp_path / "bb.tar"
    daemon.docker("save", "-o", str(out), "busybox")
    assert out.stat().st_size > 100_000
    daemon.docker("rmi", "busybox")
    assert daemon.out("images", "-q").strip() == ""
    assert "Loaded image: busybox:latest" in daemon.out("load", "-i", str(out))
    assert daemon.docker("run", "--rm", "busybox", "true").returncode == 0


@needs_docker
def test_docker_volume(daemon):
    if not _has(daemon.gbx.engine, "volumes"):
        pytest.skip("glassbox.volumes not available")
    v = name()
    daemon.docker("volume", "create", v)
    assert v in daemon.out("volume", "ls", "-q").split()
    assert json.loads(daemon.out("volume", "inspect", v))[0]["Name"] == v
    daemon.docker("volume", "rm", v)
    assert v not in daemon.out("volume", "ls", "-q").split()


@needs_docker
def test_docker_run_missing_image_goes_to_pull(daemon):
    """404 on create makes the CLI pull; without a registry reachable that fails
    with the registry's message, not a crash — and the daemon goes on."""
    p = daemon.docker("run", "--rm", "127.0.0.1:1/nosuch:latest", "true", check=False)
    assert p.returncode != 0
    assert b"Unable to find image" in p.stderr
    assert daemon.out("version", "--format", "{{.Server.APIVersion}}").strip() == API_VERSION


@needs_docker
def test_docker_run_tty_in_a_pty(daemon):
    """``docker run -it``: a real terminal on the client side (``script``), a pty
    in the container, the terminal size passed on by resize."""
    if not shutil.which("script"):
        pytest.skip("script(1) not installed")
    cmd = (f"stty cols 111 rows 33; {DOCKER} run -it --rm busybox sh -c "
           "'tty; sleep 0.5; stty size; exit 5'")
    p = subprocess.run(["script", "-qec", cmd, "/dev/null"], env=daemon.env,
                       capture_output=True, timeout=60, stdin=subprocess.DEVNULL)
    assert p.returncode == 5, p.stdout
    assert b"/dev/pts/0" in p.stdout
    assert b"33 111" in p.stdout


@needs_docker
def test_client_disconnects_do_not_hurt_the_daemon(daemon):
    n = name()
    attached = subprocess.Popen([DOCKER, "run", "--name", n, "busybox", "sh", "-c",
                                 "while :; do echo tick; sleep 0.1; done"], env=daemon.env,
                                stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    assert attached.stdout.readline() == b"tick\n"
    attached.kill()
    attached.wait()
    follower = subprocess.Popen([DOCKER, "logs", "-f", n], env=daemon.env,
                                stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    assert follower.stdout.readline() == b"tick\n"
    follower.kill()
    follower.wait()
    # the container goes on, and the daemon serves the next clients
    assert json.loads(daemon.out("inspect", n))[0]["State"]["Running"]
    assert daemon.out("exec", n, "echo", "still") == "still\n"
    daemon.docker("rm", "-f", n)


# ---- raw HTTP (curl) ---------------------------------------------------------------------
def test_curl_api_and_errors(daemon):
    code, body = daemon.curl("http://localhost/v1.41/containers/json")
    assert (code, json.loads(body)) == (200, [])
    code, body = daemon.curl("http://localhost/containers/json?all=1")  # unprefixed
    assert code == 200
    code, body = daemon.curl("-I", "http://localhost/_ping")
    assert code == 200 and f"Api-Version: {API_VERSION}" in body and "Builder-Version: 1" in body
    code, body = daemon.curl("http://localhost/v9.99/version")
    assert code == 400 and "too new" in json.loads(body)["message"]
    code, body = daemon.curl("http://localhost/v1.12/version")
    assert code == 400 and "too old" in json.loads(body)["message"]
    code, body = daemon.curl("-X", "POST", "-H", "Content-Type: application/json",
                             "-d", "{bad json", "http://localhost/v1.43/containers/create")
    assert code == 400 and "invalid JSON" in json.loads(body)["message"]
    code, body = daemon.curl("-X", "POST", "-H", "Content-Type: application/json",
                             "-d", '{"Image": "nosuch"}', "http://localhost/containers/create")
    assert code == 404 and json.loads(body)["message"] == "No such image: nosuch"
    code, body = daemon.curl("http://localhost/containers/nosuch/json")
    assert code == 404 and json.loads(body)["message"] == "No such container: nosuch"
    code, body = daemon.curl("http://localhost/no/such/endpoint")
    assert code == 404 and "message" in json.loads(body)
    code, body = daemon.curl("-X", "POST", "-H", "Content-Type: application/json",
                             "--data-binary", "@-", "http://localhost/containers/create")
    assert code == 400
    # an oversized JSON body is refused, the daemon stays up
    big = daemon.path + ".big"
    with open(big, "wb") as f:
        f.write(b'{"Image": "' + b"x" * (5 << 20) + b'"}')
    code, body = daemon.curl("-X", "POST", "-H", "Content-Type: application/json",
                             "--data-binary", "@" + big, "http://localhost/containers/create")
    os.unlink(big)
    assert code in (400, 413)
    # so is one nested 100,000 deep (json's RecursionError must not become a 500)
    with open(big, "wb") as f:
        f.write(b"[" * 100_000 + b"]" * 100_000)
    code, body = daemon.curl("-X", "POST", "-H", "Content-Type: application/json",
                             "--data-binary", "@" + big, "http://localhost/containers/create")
    os.unlink(big)
    assert code == 400 and "nested too deeply" in json.loads(body)["message"]
    code, _ = daemon.curl("http://localhost/_ping")
    assert code == 200


def test_socket_is_never_wider_than_0660(daemon):
    import grp
    import stat
    st = os.stat(daemon.path)
    try:   # the daemon's default --group: 0660 when it exists, else root only
        grp.getgrnam("docker")
        want = 0o660
    except KeyError:
        want = 0o600
    assert stat.S_ISSOCK(st.st_mode) and stat.S_IMODE(st.st_mode) == want


# ---- docker-py ---------------------------------------------------------------------------
def test_docker_py(daemon):
    docker = pytest.importorskip("docker")
    client = docker.DockerClient(base_url=daemon.url)
    try:
        assert client.api.version()["ApiVersion"] == API_VERSION
        assert client.containers.run("busybox", "echo hi", remove=True) == b"hi\n"
        with pytest.raises(docker.errors.ContainerError) as ei:
            client.containers.run("busybox", ["sh", "-c", "exit 3"], remove=True)
        assert ei.value.exit_status == 3
        c = client.containers.run("busybox", ["sh", "-c", "echo a; echo b >&2; sleep 300"],
                                  detach=True, name=name())
        deadline = time.monotonic() + 10
        while b"b" not in c.logs() and time.monotonic() < deadline:
            time.sleep(0.1)
        assert c.logs() == b"a\nb\n"
        assert c.logs(stderr=False) == b"a\n"
        assert c.exec_run("echo x") == (0, b"x\n")
        assert c.exec_run(["sh", "-c", "echo o; echo e >&2; exit 2"], demux=True) == \
            (2, (b"o\n", b"e\n"))
        code, out = c.exec_run(["sh", "-c", "test -t 0 && test -t 1 && echo isatty"], tty=True)
        assert (code, out) == (0, b"isatty\r\n")
        s = c.stats(stream=False)
        assert s["pids_stats"]["current"] >= 1 and s["memory_stats"]["usage"] > 0
        assert s["cpu_stats"]["cpu_usage"]["total_usage"] > 0
        assert s["cpu_stats"]["system_cpu_usage"] > 0 and s["cpu_stats"]["online_cpus"] >= 1
        c.reload()
        assert c.status == "running"
        c.stop(timeout=1)
        c.reload()
        assert c.status == "exited"
        c.remove()
        assert [i.tags for i in client.images.list()] == [["busybox:latest"]]
        with pytest.raises(docker.errors.NotFound):
            client.containers.get("nosuch")
    finally:
        client.close()


def test_docker_py_attach_socket_stdin(daemon):
    docker = pytest.importorskip("docker")
    api = docker.APIClient(base_url=daemon.url, version="auto")
    try:
        c = api.create_container("busybox", ["sh", "-c", "read x; echo got $x"],
                                 stdin_open=True)
        sock = api.attach_socket(c["Id"], params={"stdin": 1, "stdout": 1, "stream": 1})
        api.start(c["Id"])
        raw = sock._sock
        raw.sendall(b"abc\n")
        data = b""
        while len(data) < 8 + len(b"got abc\n"):
            chunk = raw.recv(4096)
            if not chunk:
                break
            data += chunk
        sock.close()
        assert data == bytes([1, 0, 0, 0, 0, 0, 0, 8]) + b"got abc\n"
        assert api.wait(c["Id"])["StatusCode"] == 0
        api.remove_container(c["Id"])
    finally:
        api.close()


def test_docker_py_no_swarm_no_plugins(daemon):
    """Swarm calls get dockerd's 503 "not a swarm manager" (docker-py's ``client.swarm``
    treats exactly that as "not in a swarm"); plugins are an empty list."""
    docker = pytest.importorskip("docker")
    client = docker.DockerClient(base_url=daemon.url)
    try:
        assert client.swarm.attrs == {} and client.swarm.id is None
        for call in (client.api.inspect_swarm, client.nodes.list, client.services.list,
                     client.secrets.list, client.configs.list):
            with pytest.raises(docker.errors.APIError) as ei:
                call()
            assert ei.value.status_code == 503
            assert "This node is not a swarm manager" in ei.value.explanation
        assert client.plugins.list() == []
        with pytest.raises(docker.errors.NotFound, match='plugin "nosuch:latest" not found'):
            client.plugins.get("nosuch:latest")
    finally:
        client.close()


@needs_docker
def test_docker_cli_no_swarm_no_plugins(daemon):
    p = daemon.docker("node", "ls", check=False)
    assert p.returncode != 0 and b"This node is not a swarm manager" in p.stderr
    assert daemon.out("plugin", "ls", "-q") == ""


# ---- glassbox -H ------------------------------------------------------------------------
def test_glassbox_cli_as_a_client(daemon):
    g = ["-H", daemon.url]
    n = name()
    cid = daemon.gbx.out(*g, "run", "-d", "--name", n, "busybox", "sh", "-c",
                         "echo out; sleep 300").strip()
    assert len(cid) == 64
    assert n in daemon.gbx.out(*g, "ps")
    deadline = time.monotonic() + 10
    while "out" not in daemon.gbx.out(*g, "logs", n) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert daemon.gbx.out(*g, "logs", n) == "out\n"
    assert json.loads(daemon.gbx.out(*g, "inspect", n))[0]["Id"] == cid
    assert "busybox" in daemon.gbx.out(*g, "images")
    daemon.gbx.out(*g, "stop", "-t", "1", n)
    daemon.gbx.out(*g, "rm", n)
    assert n not in daemon.gbx.out(*g, "ps", "-a")
    p = daemon.gbx.cli(*g, "run", "--rm", "busybox", "sh", "-c", "echo attached; exit 4")
    assert (p.returncode, p.stdout) == (4, b"attached\n")
    rows = {ln.split()[0]: ln.split()[1:3] for ln in
            daemon.gbx.out(*g, "system", "df").splitlines()[1:]}
    local = {ln.split()[0]: ln.split()[1:3] for ln in
             daemon.gbx.out("system", "df").splitlines()[1:]}
    assert rows == local and int(rows["Images"][0]) >= 1     # the same counts both ways
    p = daemon.gbx.cli("-H", "unix:///nonexistent.sock", "ps")
    assert p.returncode == 125 and b"cannot connect" in p.stderr


def _has(eng, attr) -> bool:
    try:
        getattr(eng, attr)
        return True
    except (ImportError, AttributeError):
        return False


# ---- build, push, pull (the builder and registry client behind the API) --------------
@needs_docker
def test_docker_build_classic(daemon, tmp_path):
    if not _has(daemon.gbx.engine, "builder"):
        pytest.skip("glassbox.build.builder not available")
    ctx = tmp_path / "ctx"
    ctx.mkdir()
    (ctx / "hello.txt").write_text("hello from the context\n")
    (ctx / "Dockerfile").write_text("FROM busybox\nCOPY hello.txt /hello.txt\n"
                                    'CMD ["cat", "/hello.txt"]\n')
    tag = name() + ":v1"
    p = daemon.docker("build", "-t", tag, str(ctx), timeout=180)
    assert b"Successfully tagged " + tag.encode() in p.stdout, p.stdout + p.stderr
    assert daemon.out("run", "--rm", tag) == "hello from the context\n"
    # a broken Dockerfile: the CLI reports the builder's error, the daemon lives on
    (ctx / "Dockerfile").write_text("FROM busybox\nRUN exit 3\n")
    p = daemon.docker("build", str(ctx), check=False, timeout=180)
    assert p.returncode != 0
    assert daemon.out("version", "--format", "{{.Server.APIVersion}}").strip() == API_VERSION


@needs_docker
def test_docker_push_pull(daemon, registry):
    ref = f"{registry.host}/lab/{name()}:v1"
    daemon.docker("tag", "busybox", ref)
    p = daemon.docker("push", ref, timeout=180)
    assert b"digest: sha256:" in p.stdout, p.stdout + p.stderr
    daemon.docker("rmi", ref)
    assert ref not in daemon.out("images", "--format", "{{.Repository}}:{{.Tag}}")
    daemon.docker("pull", ref, timeout=180)
    assert ref in daemon.out("images", "--format", "{{.Repository}}:{{.Tag}}")
    p = daemon.docker("pull", f"{registry.host}/lab/nosuch:v1", check=False, timeout=60)
    assert p.returncode != 0 and p.stderr


@needs_docker
def test_docker_events_show_what_another_front_end_did(daemon):
    """`docker events` follows the state store: a container run by the glassbox CLI
    (not through the API) shows up as create/start/die/destroy."""
    since = str(int(time.time()))
    ev = subprocess.Popen([DOCKER, "events", "--since", since, "--format", "{{json .}}",
                           "--filter", "type=container"], env=daemon.env,
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          bufsize=0)   # unbuffered: select() must not miss lines already read
    try:
        time.sleep(1.0)
        n = name()
        run = daemon.gbx.cli("run", "--name", n, "busybox", "sh", "-c", "sleep 0.6; exit 3")
        assert run.returncode == 3
        daemon.gbx.out("rm", n)
        deadline = time.monotonic() + 15
        seen = []
        import select
        while time.monotonic() < deadline and "destroy" not in seen:
            r, _, _ = select.select([ev.stdout], [], [], 1.0)
            if r:
                line = ev.stdout.readline()
                if not line:
                    break
                e = json.loads(line)
                if e["Actor"]["Attributes"].get("name") == n:
                    seen.append(e["Action"])
                    if e["Action"] == "die":
                        assert e["Actor"]["Attributes"]["exitCode"] == "3"
        assert seen[:1] == ["create"] and "start" in seen and "die" in seen \
            and seen[-1] == "destroy", seen
    finally:
        ev.terminate()
        ev.wait(timeout=10)
