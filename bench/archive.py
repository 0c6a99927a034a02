"""``docker cp`` of a 100 MB directory in each direction: glassbox's daemon beside
dockerd, same client, same run (issue 20).

    docker cp DIR ctr:/in      (into a running container: the tar unpacked in its root)
    docker cp ctr:/in OUT      (out of it: the tar walked in its root)

against ``glassbox daemon --socket <tmp>`` on a private root, and a dockerd when one
answers (``bench/setup_anchors.sh`` starts a private one; ``--dockerd URL``). The two
daemons take turns copy by copy, so a busy machine weighs on both alike; the load
average seen is printed with the figures. (Compose ``up``/``down`` is bench/compose.py.)
Prints medians and ratios. Not a test: it asserts nothing.

    bench/setup_anchors.sh && .venv/bin/python bench/archive.py -n 5
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import uuid

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _common import Load, Root, report, timed  # noqa: E402
from daemon import BENCH_DOCKERD, answers, start_daemon, stop_daemon  # noqa: E402

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


class CpSide:
    """A running ``sleep`` container on one daemon, and ``docker cp`` to and from it."""

    def __init__(self, url: str, cfg: str, tree: str, scratch: str):
        self.url, self.cfg, self.tree = url, cfg, tree
        self.dest = os.path.join(scratch, "out")
        self.name = "cpbench" + uuid.uuid4().hex[:8]
        docker(url, cfg, "run", "-d", "--network", "none", "--name", self.name, "busybox",
               "sleep", "600")
        self.t_in: list[float] = []
        self.t_out: list[float] = []

    def into(self) -> None:
        docker(self.url, self.cfg, "exec", self.name, "rm", "-rf", "/in")   # not timed
        self.t_in += timed(lambda: docker(self.url, self.cfg, "cp", self.tree,
                                          f"{self.name}:/in"), 1)

    def out(self) -> None:
        shutil.rmtree(self.dest, ignore_errors=True)                        # not timed
        self.t_out += timed(lambda: docker(self.url, self.cfg, "cp", f"{self.name}:/in",
                                           self.dest), 1)

    def close(self) -> None:
        subprocess.run(["docker", "rm", "-f", self.name], capture_output=True,
                       env=dict(os.environ, DOCKER_HOST=self.url, DOCKER_CONFIG=self.cfg))


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
    sides: list[CpSide] = []
    load = Load()
    try:
        sides.append(CpSide("unix://" + path, cfg, tree, scratch))
        if answers(a.dockerd):
            sides.append(CpSide(a.dockerd, cfg, tree, scratch))
        else:
            print(f"  dockerd: not measured (no dockerd with busybox at {a.dockerd}: "
                  "run bench/setup_anchors.sh)")
        for s in sides:                      # warm-up: first copy each way, not kept
            s.into()
            s.out()
            s.t_in.clear()
            s.t_out.clear()
        for _ in range(a.n):                 # the two daemons take turns
            for s in sides:
                s.into()
            for s in sides:
                s.out()
            load.sample()
        g = sides[0]
        d = sides[1] if len(sides) > 1 else None
        print(f"docker cp of a 100 MB directory (100 x 1 MB files), n={a.n}, {load}")
        report([("dockerd: docker cp DIR ctr:/in", d.t_in if d else None),
                ("glassbox daemon: docker cp DIR ctr:/in", g.t_in)],
               anchor="dockerd: docker cp DIR ctr:/in")
        report([("dockerd: docker cp ctr:/in OUT", d.t_out if d else None),
                ("glassbox daemon: docker cp ctr:/in OUT", g.t_out)],
               anchor="dockerd: docker cp ctr:/in OUT")
    finally:
        for s in sides:
            s.close()
        stop_daemon(proc)
        root.close()
        shutil.rmtree(cfg, ignore_errors=True)
        shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    main()
