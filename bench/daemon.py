"""The Docker Host side by side: glassbox's daemon vs dockerd, same clients.

    docker run --rm busybox true                      (the docker CLI)
    client.containers.run("busybox", "true", remove=True)   (docker-py)

each against ``glassbox daemon --socket <tmp>`` on a private root, and against
a dockerd when one answers (``bench/setup_anchors.sh`` starts a private one at
unix:///run/docker-bench.sock with busybox loaded; ``--dockerd URL`` to pick
another). Both run with ``--network none``: the private dockerd has no bridge
(``--bridge=none``), so that is what its containers get anyway, and both sides
do the same work. The daemons take turns run by run, so a busy machine weighs
on both alike. Prints medians, the load average seen and the ratio
glassbox / dockerd (target <= 0.5x).
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
from _common import GLASSBOX, Load, Root, interleaved, report  # noqa: E402

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


def stop_daemon(proc: subprocess.Popen) -> None:
    """SIGTERM (the daemon's clean shutdown), SIGKILL after 30 s."""
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def cli_run(url: str, cfg: str):
    env = dict(os.environ, DOCKER_HOST=url, DOCKER_CONFIG=cfg)
    argv = ["docker", "run", "--rm", "--network", "none", "busybox", "true"]

    def once():
        p = subprocess.run(argv, env=env, capture_output=True)
        if p.returncode != 0:
            raise SystemExit(f"{url}: docker run failed: {p.stderr.decode()}")
    return once


def py_run(client):
    def once():
        client.containers.run("busybox", "true", remove=True, network_mode="none")
    return once


def measure(urls: dict[str, str], n: int, cfg: str, load: Load):
    """The docker CLI's and docker-py's run on each daemon of ``urls`` (label -> URL),
    the daemons taking turns run by run, so a busy machine weighs on both alike.
    Returns {label: (CLI times, docker-py times or None)}."""
    clis = {label: cli_run(url, cfg) for label, url in urls.items()}
    for once in clis.values():
        once()   # warm: first-use costs (default bridge, caches) are not the steady state
    cli_t = interleaved(list(clis.items()), n, lambda once: once(), load)
    try:
        import docker
    except ImportError:
        return {label: (cli_t[label], None) for label in urls}
    clients = {label: docker.DockerClient(base_url=url) for label, url in urls.items()}
    try:
        runs = {label: py_run(c) for label, c in clients.items()}
        for once in runs.values():
            once()
        py_t = interleaved(list(runs.items()), n, lambda once: once(), load)
        return {label: (cli_t[label], py_t[label]) for label in urls}
    finally:
        for c in clients.values():
            c.close()


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
        urls = {"glassbox": "unix://" + path}
        if answers(a.dockerd):
            urls["dockerd"] = a.dockerd
        else:
            print(f"  dockerd: not measured (no dockerd with busybox at {a.dockerd}: "
                  "run bench/setup_anchors.sh)")
        load = Load()
        res = measure(urls, a.n, cfg, load)
        g_cli, g_py = res["glassbox"]
        d_cli, d_py = res.get("dockerd", (None, None))
        print(f"docker run --rm busybox true / docker-py containers.run, n={a.n}, "
              f"the daemons in turns, {load}")
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
        stop_daemon(proc)
        root.close()
        shutil.rmtree(cfg, ignore_errors=True)


if __name__ == "__main__":
    main()
