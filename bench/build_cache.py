"""``glassbox build`` cold, fully cached, and after editing one copied file (issue 4).

    .venv/bin/python bench/build_cache.py [-n 5]

A 10-line Dockerfile (COPY of a ~30 MB context of random files, two RUNs, metadata
steps), built with the real CLI in a private state root:

1. cold: ``build --no-cache`` (every step runs: two RUN containers, two COPY layers);
2. cached: the same build again (every step ``Using cache``);
3. edit: one small copied file changed before each build (that COPY and the steps after
   it run again, nothing before it).

docker's legacy builder (``DOCKER_BUILDKIT=0 docker build``) runs the same Dockerfile
and context when a dockerd answers (``bench/setup_anchors.sh`` starts a private one),
taking turns with glassbox build by build, so a busy machine weighs on both alike;
when none answers the docker rows say "not measured" (no figure from elsewhere is
printed in their place). Not a test: prints medians and ratios, with the load seen.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _common import Load, Root, docker_available, interleaved, report, timed  # noqa: E402

DOCKERFILE = """\
FROM busybox
LABEL bench=build-cache
ENV APP=/app
WORKDIR /app
COPY data/ /app/data/
COPY small.txt /app/
RUN du -s /app/data > /app/du.txt
RUN echo built > /app/built
EXPOSE 8080
CMD ["cat", "/app/built"]
"""


def make_context(mb: int = 30) -> str:
    ctx = tempfile.mkdtemp(prefix="gbx-bench-ctx-")
    os.makedirs(os.path.join(ctx, "data", "nested"))
    for i in range(mb):
        sub = "nested" if i % 3 == 0 else ""
        with open(os.path.join(ctx, "data", sub, f"blob{i:02d}.bin"), "wb") as f:
            f.write(os.urandom(1 << 20))
    with open(os.path.join(ctx, "small.txt"), "w") as f:
        f.write("0\n")
    with open(os.path.join(ctx, "Dockerfile"), "w") as f:
        f.write(DOCKERFILE)
    return ctx


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("-n", type=int, default=5)
    ap.add_argument("--mb", type=int, default=30)
    args = ap.parse_args()
    ctx = make_context(args.mb)
    root = Root()
    counter = [0]
    load = Load()

    def edit():
        counter[0] += 1
        with open(os.path.join(ctx, "small.txt"), "w") as f:
            f.write(f"{counter[0]}\n")

    def gbx(*extra):
        def go():
            r = root.cli("build", "-q", *extra, "-t", "bench:1", ctx)
            if r.returncode:
                raise SystemExit(r.stderr.decode())
        return go

    denv = dict(os.environ, DOCKER_BUILDKIT="0")

    def dk(*extra):
        def go():
            subprocess.run(["docker", "build", "-q", *extra, "-t", "gbx-bench:1", ctx],
                           env=denv, check=True, capture_output=True)
        return go

    def edited(build):
        def go():
            edit()          # a new small.txt for each build: its COPY and what follows rerun
            build()
        return go

    has_docker = docker_available()
    if not has_docker:
        print("  docker build: not measured (no dockerd answers; bench/setup_anchors.sh "
              "starts a private one)")

    def turns(kinds) -> dict[str, list[float]]:
        """glassbox and docker take turns build by build (a busy machine weighs on both)."""
        return interleaved([(label, fn) for label, fn in kinds if fn is not None], args.n,
                           lambda fn: fn(), load)

    try:
        gbx()()  # warm: the page cache holds the context, the cache has the steps
        if has_docker:
            dk()()
        res = turns([("glassbox build (cold, --no-cache)", gbx("--no-cache")),
                     ("docker build legacy (cold, --no-cache)",
                      dk("--no-cache") if has_docker else None)])
        gbx()()
        if has_docker:
            dk()()
        res |= turns([("glassbox build (fully cached)", gbx()),
                      ("docker build legacy (fully cached)", dk() if has_docker else None)])
        res |= turns([("glassbox build (one copied file edited)", edited(gbx())),
                      ("docker build legacy (one copied file edited)",
                       edited(dk()) if has_docker else None)])
        # the same with the warm CLI agent (glassbox agent start): no interpreter start
        root.cli("agent", "start", check=True)
        gbx()()
        res["glassbox build (fully cached, warm agent)"] = timed(gbx(), args.n)
        res["glassbox build (one copied file edited, warm agent)"] = timed(edited(gbx()),
                                                                            args.n)
        load.sample()
        root.cli("agent", "stop")
        print(f"build of a 10-line Dockerfile, {args.mb} MB context, n={args.n}, {load}")
        report(list(res.items()))
        for kind, label in (("cold", "cold, --no-cache"), ("cached", "fully cached"),
                            ("edited", "one copied file edited"),
                            ("cached, warm agent", "fully cached, warm agent")):
            dlabel = label.replace(", warm agent", "")
            g = statistics.median(res[f"glassbox build ({label})"])
            d = res.get(f"docker build legacy ({dlabel})")
            print(f"  {kind}: glassbox/docker = "
                  + (f"x{g / statistics.median(d):.2f}" if d else "not measured"))
    finally:
        if has_docker:
            subprocess.run(["docker", "rmi", "-f", "gbx-bench:1"], capture_output=True)
            subprocess.run(["docker", "image", "prune", "-f"], capture_output=True)
        root.close()
        shutil.rmtree(ctx, ignore_errors=True)


if __name__ == "__main__":
    main()
