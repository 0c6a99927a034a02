"""Issue 20 (build side) against real clients, and docker-py's ``containers.run(remove=True)``.

The daemon of tests/interop/test_daemon_docker.py on the test's own state root; the
docker CLI and docker-py talk to it over its unix socket.
"""

from __future__ import annotations

import os
import uuid

import pytest

from test_daemon_docker import name, needs_docker

pytestmark = [pytest.mark.interop]


def test_docker_py_run_remove_returns_the_output_every_time(daemon):
    """docker-py's ``run(remove=True)`` starts the container, then asks for the logs
    with ``follow`` while the container may already be gone or still starting, then
    waits, then removes it: every one of these runs must return its output."""
    docker = pytest.importorskip("docker")
    client = docker.DockerClient(base_url=daemon.url)
    try:
        got = [client.containers.run("busybox", f"echo hi{i}", remove=True)
               for i in range(30)]
    finally:
        client.close()
    assert got == [f"hi{i}\n".encode() for i in range(30)]
    assert daemon.gbx.engine.containers.list() == []


# ---- build through the API: the docker CLI and docker-py --------------------------------
def _ctx(tmp_path, dockerfile: str, **files) -> str:
    ctx = tmp_path / f"ctx-{uuid.uuid4().hex[:6]}"
    ctx.mkdir()
    (ctx / "Dockerfile").write_text(dockerfile)
    for fname, text in files.items():
        (ctx / fname).write_text(text)
    return str(ctx)


@needs_docker
def test_docker_cli_build_add_host_network_and_stderr(daemon, tmp_path):
    ctx = _ctx(tmp_path, f"FROM busybox\nRUN echo out-{uuid.uuid4().hex[:6]}; "
                         "echo err-line >&2; cp /etc/hosts /hosts; ls /sys/class/net > /ifs\n")
    t = name() + ":1"
    p = daemon.docker("build", "--add-host", "db:10.1.2.3", "--network", "none", "-t", t,
                      ctx, timeout=180)
    out = p.stdout.decode()
    # the RUN's stderr is in the build's stream, in order, before the step's end
    assert out.index("out-") < out.index("err-line") < \
        out.index("Removing intermediate container"), out
    hosts = daemon.out("run", "--rm", t, "cat", "/hosts").split("\n")
    assert "10.1.2.3\tdb" in hosts, hosts
    assert daemon.out("run", "--rm", t, "cat", "/ifs").split() == ["lo"]
    # an unknown network: refused naming it, before any step; nothing left behind
    p = daemon.docker("build", "--network", "nosuchnet", ctx, check=False, timeout=60)
    assert p.returncode != 0 and b"nosuchnet" in p.stderr, p.stderr
    assert b"Step 1" not in p.stdout
    p = daemon.docker("build", "--add-host", "db:not-an-ip", ctx, check=False, timeout=60)
    assert p.returncode != 0 and b"not-an-ip" in p.stderr, p.stderr
    assert daemon.docker("ps", "-aq").stdout.strip() == b""


@needs_docker
@pytest.mark.parametrize("flag,param", [
    (["--memory", "64m"], "memory"), (["--cpu-shares", "512"], "cpushares"),
    (["--shm-size", "128m"], "shmsize"), (["--ulimit", "nofile=10:10"], "ulimits"),
    (["--cgroup-parent", "elsewhere"], "cgroupparent"),
    (["--platform", "linux/s390x"], "platform")])
def test_docker_cli_build_unsupported_options_refused_by_name(daemon, tmp_path, flag, param):
    ctx = _ctx(tmp_path, "FROM busybox\nRUN true\n")
    p = daemon.docker("build", *flag, ctx, check=False, timeout=60)
    assert p.returncode != 0 and f"build option {param}=".encode() in p.stderr, p.stderr
    assert b"Step 1" not in p.stdout
    assert daemon.docker("ps", "-aq").stdout.strip() == b""


@needs_docker
def test_docker_cli_cache_from_a_loaded_image(daemon, tmp_path):
    """The image comes back through ``docker save``/``load`` with no intermediate
    images and no cache entries: only ``--cache-from`` makes its steps cache."""
    ctx = _ctx(tmp_path, f"FROM busybox\nCOPY a /a\nRUN echo {uuid.uuid4().hex} > /r\n"
                         "ENV E=1\n", a="a\n")
    t = name() + ":1"
    daemon.docker("build", "-t", t, ctx, timeout=180)
    source = daemon.out("image", "inspect", "-f", "{{.Id}}", t).strip()
    archive = str(tmp_path / "img.tar")
    daemon.docker("save", "-o", archive, t)
    daemon.docker("rmi", t)            # with its build steps: the local cache is gone
    daemon.docker("load", "-i", archive)
    out = daemon.out("build", "--cache-from", t, "-t", "again:1", ctx, timeout=180)
    assert out.count(" ---> Using cache") == 3 and "Running in" not in out, out
    assert daemon.out("image", "inspect", "-f", "{{.Id}}", "again:1").strip() == source
    daemon.docker("rmi", "again:1", t)
    daemon.docker("load", "-i", archive)
    out = daemon.out("build", ctx, timeout=180)
    assert "Running in" in out, out


def test_docker_py_build_options_and_stderr_stream(daemon, tmp_path):
    docker = pytest.importorskip("docker")
    api = docker.APIClient(base_url=daemon.url, version="auto")
    try:
        ctx = _ctx(tmp_path, f"FROM busybox\nRUN echo {uuid.uuid4().hex} > /id; "
                             "echo from-stderr >&2; cp /etc/hosts /hosts\n")
        t = name() + ":1"
        lines = []
        for ev in api.build(path=ctx, tag=t, decode=True, rm=True, network_mode="default",
                            extra_hosts={"mirror": "10.9.8.7"}):
            assert "error" not in ev, ev
            lines.append(ev.get("stream", ""))
        text = "".join(lines)
        # the RUN's stderr: a stream line of its own, before the step's end
        assert "from-stderr\n" in lines, lines
        assert text.index("from-stderr") < text.index("Removing intermediate container")
        client = docker.DockerClient(base_url=daemon.url)
        try:
            hosts = client.containers.run(t, "cat /hosts", remove=True).decode()
            assert "10.9.8.7\tmirror" in hosts.split("\n"), hosts
            # cache_from: the image as the source of its own steps, the local cache gone
            import shutil
            shutil.rmtree(os.path.join(daemon.gbx.root, "build-cache"))
            img, logs = client.images.build(path=ctx, cache_from=[t])
            text = "".join(ev.get("stream", "") for ev in logs)
            assert text.count("Using cache") == 1 and "Running in" not in text, text
            # refused by name: a memory limit, an unknown network
            with pytest.raises(docker.errors.APIError) as ei:
                client.images.build(path=ctx, container_limits={"memory": 64 << 20})
            assert ei.value.status_code == 400 and "memory" in str(ei.value)
            with pytest.raises(docker.errors.APIError) as ei:
                client.images.build(path=ctx, network_mode="nosuchnet")
            assert ei.value.status_code == 400 and "nosuchnet" in str(ei.value)
        finally:
            client.close()
    finally:
        api.close()
    assert daemon.gbx.engine.containers.list() == []


def test_docker_py_build_streams_stderr_while_the_step_runs(daemon, tmp_path):
    """The RUN writes to stderr, then waits on an HTTP request that the test answers
    only once that line came out of ``api.build(decode=True)``: a daemon that held
    the step's output back until its end would have the RUN fetch the gate's
    "never-seen" answer (after 120 s) instead."""
    import threading

    from gbx_testlib import http_server
    docker = pytest.importorskip("docker")
    seen = threading.Event()
    gate = http_server("127.0.0.1",
                       lambda: b"after-stderr\n" if seen.wait(120) else b"never-seen\n")
    api = docker.APIClient(base_url=daemon.url, version="auto")
    lines = []
    try:
        with gate as port:
            ctx = _ctx(tmp_path, "FROM busybox\nRUN echo waiting-on-stderr >&2; "
                                 f"wget -q -O- http://127.0.0.1:{port}/ >&2\n")
            for ev in api.build(path=ctx, decode=True, nocache=True, network_mode="host"):
                assert "error" not in ev, ev
                lines.append(ev.get("stream", ""))
                if lines[-1] == "waiting-on-stderr\n":
                    seen.set()
    finally:
        api.close()
    assert "after-stderr\n" in lines, lines
    assert lines.index("waiting-on-stderr\n") < lines.index("after-stderr\n")
    assert daemon.gbx.engine.containers.list() == []
