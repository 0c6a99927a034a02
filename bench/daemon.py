"""The Docker Host side by side: glassbox's daemon vs dockerd, same clients.

    docker run --rm busybox true                      (the docker CLI)
    client.containers.run("busybox", "true", remove=True)   (docker-py)

each against ``glassbox daemon --socket <tmp>`` on a private root, and against
a dockerd when one answers (``bench/setup_anchors.sh`` starts a private one at
unix:///run/docker-bench.sock with busybox loaded; ``--dockerd URL`` to pick
another). Prints medians and the ratio glassbox / dockerd (target <= 0.5x).
Not a test: it asserts nothing.

    bench/setup_anchors.sh && .venv/bin/python bench/daemon.py -n 20; bench/setup_anchors.sh stop
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _common import GLASSBOX, Root, report, timed  # noqa: E402

BENCH_DOCKERD = "unix:///run/docker-bench.sock"


def answers(url: str) -> bool:
    if not shutil.which("docker"):
        return False
    p = subprocess.run(["docker", "-H", url, "image", "inspect", "busybox:latest"],
                       capture_output=True, timeout=30)
    return p.returncode == 0


def start_daemon(root: Root, path: str) -> subprocess.Popen:
    log = open(path + ".log", "w")
    proc = subprocess.Popen([GLASSBOX, "daemon", "--socket", path, "--group", ""],
                            env=root.env, stdout=log, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 30
    while True:
        if proc.poll() is not None:
            raise SystemExit(f"glassbox daemon exited; see {path}.log")
        s = socket.socket(socket.AF_UNIX)
        try:
            s.connect(path)
            return proc
        except OSError:
            if time.monotonic() > deadline:
                raise SystemExit("glassbox daemon did not listen")
            time.sleep(0.05)
        finally:
            s.close()


def cli_run(url: str, cfg: str):
    env = dict(os.environ, DOCKER_HOST=url, DOCKER_CONFIG=cfg)
    argv = ["docker", "run", "--rm", "busybox", "true"]

    def once():
        p = subprocess.run(argv, env=env, capture_output=True)
        if p.returncode != 0:
            raise SystemExit(f"{url}: docker run failed: {p.stderr.decode()}")
    return once


def py_run(client):
    def once():
        client.containers.run("busybox", "true", remove=True)
    return once


def measure(url: str, n: int, cfg: str) -> tuple[list[float], list[float] | None]:
    cli = cli_run(url, cfg)
    cli()  # warm: first-use costs (default bridge, caches) are not the steady state
    cli_t = timed(cli, n)
    try:
        import docker
    except ImportError:
        return cli_t, None
    client = docker.DockerClient(base_url=url)
    try:
        run = py_run(client)
        run()
        return cli_t, timed(run, n)
    finally:
        client.close()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("-n", type=int, default=20)
    ap.add_argument("--dockerd", default=os.environ.get("BENCH_DOCKER_HOST", BENCH_DOCKERD))
    a = ap.parse_args()
    if not shutil.which("docker"):
        raise SystemExit("the docker CLI is not installed (Debian docker.io)")
    cfg = tempfile.mkdtemp(prefix="gbx-bench-dockercfg-")
    root = Root()
    path = os.path.join(root.dir, "d.sock")
    proc = start_daemon(root, path)
    try:
        print(f"docker run --rm busybox true / docker-py containers.run, n={a.n}")
        g_cli, g_py = measure("unix://" + path, a.n, cfg)
        d_cli = d_py = None
        if answers(a.dockerd):
            d_cli, d_py = measure(a.dockerd, a.n, cfg)
        else:
            print(f"  (no dockerd with busybox at {a.dockerd}: run bench/setup_anchors.sh)")
        print("docker CLI:")
        report([("dockerd: docker run --rm busybox true", d_cli),
                ("glassbox daemon: docker run --rm busybox true", g_cli)],
               anchor="dockerd: docker run --rm busybox true")
        print("docker-py:")
        report([("dockerd: containers.run(remove=True)", d_py),
                ("glassbox daemon: containers.run(remove=True)", g_py)],
               anchor="dockerd: containers.run(remove=True)")
        print("target: glassbox <= 0.5x dockerd")
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        root.close()
        shutil.rmtree(cfg, ignore_errors=True)


if __name__ == "__main__":
    main()
