"""``logs --tail N`` of a big log: glassbox beside dockerd, in one run.

A container prints ``--lines`` lines (default 1,000,000: a json-file log of
≈ 90 MB on both sides) and exits. Then, each a fresh CLI process:

* ``logs --tail 10`` — glassbox reads the file backwards from its end
  (``containers/logfile.py``), dockerd's json-file reader does the same;
* ``logs`` of the whole log to /dev/null — both stream it.

Also the lab's last page (the panel's Logs tab opening on the end of the log:
``lab.views.logs`` with no start), through the Engine API.

dockerd is the private one of ``bench/setup_anchors.sh`` (``DOCKER_HOST``);
without it the docker rows say "skipped". Run as root from the repository root:
``.venv/bin/python bench/logs.py [-n 10] [--lines 1000000]``.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _common import GLASSBOX, Root, report, timed  # noqa: E402

DOCKER_HOST = os.environ.get("DOCKER_HOST", "unix:///run/docker-bench.sock")


def _docker_up() -> bool:
    if not shutil.which("docker"):
        return False
    p = subprocess.run(["docker", "-H", DOCKER_HOST, "version"], capture_output=True)
    return p.returncode == 0


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("-n", type=int, default=10)
    ap.add_argument("--lines", type=int, default=1_000_000)
    a = ap.parse_args()
    printer = ["sh", "-c", f"seq 1 {a.lines} | sed 's/^/log line number /'"]
    root = Root()
    docker = ["docker", "-H", DOCKER_HOST]
    dname = f"gbxlogs{os.getpid()}"
    have_docker = _docker_up()
    try:
        cid = root.cli("run", "-d", "busybox", *printer, check=True).stdout.decode().strip()
        root.cli("wait", cid, check=True)
        path = os.path.join(root.dir, "containers", cid, "container.log")
        print(f"== a log of {a.lines} lines: glassbox {os.path.getsize(path) / 1e6:.1f} MB",
              end="")
        if have_docker:
            subprocess.run(docker + ["run", "--name", dname, "--network", "none", "busybox",
                                     *printer], check=True, capture_output=True)
            dpath = subprocess.run(docker + ["inspect", "-f", "{{.LogPath}}", dname],
                                   check=True, capture_output=True, text=True).stdout.strip()
            print(f", docker {os.path.getsize(dpath) / 1e6:.1f} MB", end="")
        print(f" (n={a.n}, interleaved) ==")

        def gbx(*args):
            return lambda: subprocess.run([GLASSBOX, *args], env=root.env, check=True,
                                          stdout=subprocess.DEVNULL)

        def dk(*args):
            return lambda: subprocess.run(docker + list(args), check=True,
                                          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        cases = [("glassbox logs --tail 10", gbx("logs", "--tail", "10", cid)),
                 ("docker logs --tail 10", dk("logs", "--tail", "10", dname)
                  if have_docker else None),
                 ("glassbox logs (all) > /dev/null", gbx("logs", cid)),
                 ("docker logs (all) > /dev/null", dk("logs", dname) if have_docker else None)]
        times: dict[str, list[float] | None] = {k: ([] if f else None) for k, f in cases}
        for _ in range(a.n):
            for k, f in cases:
                if f is not None:
                    times[k] += timed(f, 1)  # type: ignore[operator]
        report([(k, times[k]) for k, _ in cases[:2]], anchor="docker logs --tail 10")
        report([(k, times[k]) for k, _ in cases[2:]], anchor="docker logs (all) > /dev/null")
        from glassbox.lab import views
        eng = root.engine()
        page = timed(lambda: views.logs(eng, cid), a.n)
        report([("the lab's last page (views.logs, Engine API)", page)])
    finally:
        if have_docker:
            subprocess.run(docker + ["rm", "-f", dname], capture_output=True)
        root.close()


if __name__ == "__main__":
    main()
