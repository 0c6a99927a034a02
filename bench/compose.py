"""``docker-compose up -d`` then ``down -v`` of one project: glassbox's daemon beside
dockerd, the same client and the same project, in the same run (issue 20).

    bench/setup_anchors.sh && .venv/bin/python bench/compose.py [-n 5]

The project is the one ``tests/interop/test_compose.py`` brings up (its
``project_yaml``, with the healthcheck and the restart policy on): two services
on two networks, a named volume, a read-only bind mount, a published port on
127.0.0.1, a tmpfs, a memory limit, ``restart: on-failure:3``, and ``web``
started only once ``db``'s 1 s healthcheck says healthy (``depends_on:
condition: service_healthy``). So ``up -d`` includes waiting for one healthy
probe, on both sides alike.

Debian's ``docker-compose`` (1.29, docker-py underneath) runs against
``glassbox daemon --socket <tmp>`` on a private root and against the private
dockerd of ``bench/setup_anchors.sh``, taking turns cycle by cycle so a busy
machine weighs on both alike. The dockerd runs with ``--iptables=false
--ip-masq=false --ip-forward=false``: the project's two networks are bridges
that dockerd makes and ``down`` removes (as glassbox's are), with no NAT rule
and no forwarding; the published port is served by docker's userland proxy on
127.0.0.1. The first cycle on each side is a warm-up that also checks the
project works (the page from the bind mount over the published port).

``down -v -t 1``: both services run as PID 1 a program that ignores SIGTERM
(``httpd -f``, ``sleep``), so each side waits the 1 s stop timeout. Not a test:
prints medians and ratios, with the load average seen.
"""

from __future__ import annotations

import argparse
import os
import pathlib
import shutil
import subprocess
import sys
import tempfile
import time
import uuid

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "tests", "interop"))
from _common import Load, Root, report  # noqa: E402
from daemon import BENCH_DOCKERD, answers, start_daemon, stop_daemon  # noqa: E402
from test_compose import free_port, http_get, project_yaml  # noqa: E402

COMPOSE = shutil.which("docker-compose") or ""    # "" when not installed


class Side:
    """One daemon and the projects brought up on it (so a failure can take them down)."""

    def __init__(self, label: str, url: str, cfg: str, scratch: str):
        self.label, self.scratch = label, scratch
        self.env = dict(os.environ, DOCKER_HOST=url, DOCKER_CONFIG=cfg,
                        COMPOSE_HTTP_TIMEOUT="120")
        self.up: dict[str, str] = {}      # project -> its compose file, while up
        self.t_up: list[float] = []
        self.t_down: list[float] = []

    def compose(self, project: str, path: str, *args: str) -> None:
        p = subprocess.run([COMPOSE, "--ansi", "never", "-f", path, "-p", project, *args],
                           env=self.env, capture_output=True, timeout=300)
        if p.returncode != 0:
            raise SystemExit(f"{self.label}: docker-compose {' '.join(args)}: "
                             f"{p.stderr.decode()[-2000:]}")

    def cycle(self, check: bool = False) -> tuple[float, float]:
        """One ``up -d`` + ``down -v`` of a fresh project (own dir, own port): times."""
        project = "bench" + uuid.uuid4().hex[:8]
        d = pathlib.Path(self.scratch) / project
        d.mkdir()
        port = free_port()
        path = str(d / "docker-compose.yml")
        with open(path, "w") as f:
            f.write(project_yaml(d, port, health=True, restart=True))
        t = time.perf_counter()
        self.up[project] = path
        self.compose(project, path, "up", "-d")
        up = time.perf_counter() - t
        if check and "served from a bind mount" not in http_get(f"http://127.0.0.1:{port}/"):
            raise SystemExit(f"{self.label}: the project's web page is not served")
        t = time.perf_counter()
        self.compose(project, path, "down", "-v", "-t", "1")
        down = time.perf_counter() - t
        del self.up[project]
        return up, down

    def cleanup(self) -> None:
        for project, path in list(self.up.items()):
            subprocess.run([COMPOSE, "--ansi", "never", "-f", path, "-p", project,
                            "down", "-v", "-t", "1"], env=self.env, capture_output=True)
            del self.up[project]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("-n", type=int, default=5, help="timed cycles per side (default 5)")
    ap.add_argument("--dockerd", default=os.environ.get("BENCH_DOCKER_HOST", BENCH_DOCKERD))
    a = ap.parse_args()
    if not COMPOSE:
        raise SystemExit("docker-compose is not installed (Debian package docker-compose)")
    cfg = tempfile.mkdtemp(prefix="gbx-bench-dockercfg-")
    scratch = tempfile.mkdtemp(prefix="gbx-bench-compose-")
    root = Root()
    path = os.path.join(root.dir, "d.sock")
    proc = start_daemon(root, path)
    sides = [Side("glassbox daemon", "unix://" + path, cfg, scratch)]
    if answers(a.dockerd):
        sides.append(Side("dockerd", a.dockerd, cfg, scratch))
    else:
        print(f"  dockerd: not measured (no dockerd with busybox at {a.dockerd}: "
              "run bench/setup_anchors.sh)")
    load = Load()
    try:
        for s in sides:
            s.cycle(check=True)                       # warm-up, and the project works
        for _ in range(a.n):
            for s in sides:
                up, down = s.cycle()
                s.t_up.append(up)
                s.t_down.append(down)
            load.sample()
        print(f"docker-compose up -d / down -v of the tests/interop/test_compose.py project "
              f"(2 networks, volume, bind, port, tmpfs, healthcheck + service_healthy, "
              f"restart policy, memory limit), n={a.n}, {load}")
        anchor = "dockerd" if len(sides) > 1 else None
        for what, attr in (("up -d", "t_up"), ("down -v -t 1", "t_down")):
            rows: list[tuple[str, list[float] | None]] = [
                (s.label, getattr(s, attr)) for s in reversed(sides)]
            print(f" {what}:")
            report(rows, anchor=anchor)
        totals = [(s.label, [u + d for u, d in zip(s.t_up, s.t_down)]) for s in reversed(sides)]
        print(" up -d + down -v:")
        report(list(totals), anchor=anchor)
    finally:
        for s in sides:
            s.cleanup()
        stop_daemon(proc)
        root.close()
        shutil.rmtree(cfg, ignore_errors=True)
        shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    main()
