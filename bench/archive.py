"""``docker cp`` of a 100 MB directory in each direction, and a compose project's
``up -d`` + ``down -v``: glassbox's daemon beside dockerd, same clients, same run.

    docker cp DIR ctr:/in      (into a running container: the tar unpacked in its root)
    docker cp ctr:/in OUT      (out of it: the tar walked in its root)
    docker-compose up -d; docker-compose down -v   (glassbox only: the project needs
                                bridge networks, which the private dockerd of
                                bench/setup_anchors.sh must not create on this host)

against ``glassbox daemon --socket <tmp>`` on a private root, and a dockerd when one
answers (``bench/setup_anchors.sh`` starts a private one; ``--dockerd URL``). Prints
medians and ratios. Not a test: it asserts nothing.

    bench/setup_anchors.sh && .venv/bin/python bench/archive.py -n 5
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import uuid

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _common import Root, report, timed  # noqa: E402
from daemon import BENCH_DOCKERD, answers, start_daemon  # noqa: E402

COMPOSE_YAML = """version: "2.4"
services:
  db:
    image: busybox
    command: ["sleep", "300"]
    volumes: [dbdata:/data]
    tmpfs: [/scratch]
    mem_limit: 64m
    networks: [back]
  web:
    image: busybox
    command: ["httpd", "-f", "-p", "8080", "-h", "/www"]
    volumes: ["{site}:/www:ro"]
    ports: ["127.0.0.1::8080"]
    networks: [front, back]
    depends_on: [db]
volumes:
  dbdata:
networks:
  front:
  back:
"""


def make_tree(top: str, mb: int = 100) -> None:
    """``mb`` files of 1 MB (random: no filesystem gets to dedupe or compress them)."""
    os.makedirs(top)
    for i in range(mb):
        sub = os.path.join(top, f"d{i // 10}")
        os.makedirs(sub, exist_ok=True)
        with open(os.path.join(sub, f"f{i}"), "wb") as f:
            f.write(os.urandom(1 << 20))


def docker(url: str, cfg: str, *args: str) -> None:
    p = subprocess.run(["docker", *args], env=dict(os.environ, DOCKER_HOST=url,
                                                   DOCKER_CONFIG=cfg), capture_output=True)
    if p.returncode != 0:
        raise SystemExit(f"{url}: docker {' '.join(args)}: {p.stderr.decode()}")


def measure_cp(url: str, cfg: str, tree: str, scratch: str, n: int):
    name = "cpbench" + uuid.uuid4().hex[:8]
    docker(url, cfg, "run", "-d", "--name", name, "busybox", "sleep", "600")
    try:
        def into():
            docker(url, cfg, "exec", name, "rm", "-rf", "/in")
            docker(url, cfg, "cp", tree, f"{name}:/in")

        def out():
            dest = os.path.join(scratch, "out")
            shutil.rmtree(dest, ignore_errors=True)
            docker(url, cfg, "cp", f"{name}:/in", dest)
        into()
        out()
        return timed(into, n), timed(out, n)
    finally:
        docker(url, cfg, "rm", "-f", name)


def measure_compose(url: str, cfg: str, scratch: str, n: int):
    compose = shutil.which("docker-compose")
    if compose is None:
        return None
    site = os.path.join(scratch, "site")
    os.makedirs(site, exist_ok=True)
    path = os.path.join(scratch, "docker-compose.yml")
    with open(path, "w") as f:
        f.write(COMPOSE_YAML.format(site=site))
    env = dict(os.environ, DOCKER_HOST=url, DOCKER_CONFIG=cfg)

    def cycle():
        project = "bench" + uuid.uuid4().hex[:8]
        for args in (("up", "-d"), ("down", "-v", "-t", "1")):
            p = subprocess.run([compose, "--ansi", "never", "-f", path, "-p", project, *args],
                               env=env, capture_output=True)
            if p.returncode != 0:
                raise SystemExit(f"docker-compose {args[0]}: {p.stderr.decode()}")
    return timed(cycle, n)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("-n", type=int, default=5)
    ap.add_argument("--dockerd", default=os.environ.get("BENCH_DOCKER_HOST", BENCH_DOCKERD))
    a = ap.parse_args()
    if not shutil.which("docker"):
        raise SystemExit("the docker CLI is not installed (Debian docker.io)")
    cfg = tempfile.mkdtemp(prefix="gbx-bench-dockercfg-")
    scratch = tempfile.mkdtemp(prefix="gbx-bench-cp-")
    tree = os.path.join(scratch, "tree")
    make_tree(tree)
    root = Root()
    path = os.path.join(root.dir, "d.sock")
    proc = start_daemon(root, path)
    try:
        print(f"docker cp of a 100 MB directory (100 x 1 MB files), n={a.n}")
        g_in, g_out = measure_cp("unix://" + path, cfg, tree, scratch, a.n)
        d_in = d_out = None
        if answers(a.dockerd):
            d_in, d_out = measure_cp(a.dockerd, cfg, tree, scratch, a.n)
        else:
            print(f"  (no dockerd with busybox at {a.dockerd}: run bench/setup_anchors.sh)")
        report([("dockerd: docker cp DIR ctr:/in", d_in),
                ("glassbox daemon: docker cp DIR ctr:/in", g_in)],
               anchor="dockerd: docker cp DIR ctr:/in")
        report([("dockerd: docker cp ctr:/in OUT", d_out),
                ("glassbox daemon: docker cp ctr:/in OUT", g_out)],
               anchor="dockerd: docker cp ctr:/in OUT")
        print(f"docker-compose up -d + down -v (2 services, 2 networks, a volume), n={a.n}")
        report([("glassbox daemon: compose up -d + down -v",
                 measure_compose("unix://" + path, cfg, scratch, a.n))])
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        root.close()
        shutil.rmtree(cfg, ignore_errors=True)
        shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    main()
