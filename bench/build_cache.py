"""``glassbox build`` cold, fully cached, and after editing one copied file (issue 4).

    .venv/bin/python bench/build_cache.py [-n 5]

A 10-line Dockerfile (COPY of a ~30 MB context of random files, two RUNs, metadata
steps), built with the real CLI in a private state root:

1. cold: ``build --no-cache`` (every step runs: two RUN containers, two COPY layers);
2. cached: the same build again (every step ``Using cache``);
3. edit: one small copied file changed before each build (that COPY and the steps after
   it run again, nothing before it).

docker's legacy builder (``DOCKER_BUILDKIT=0 docker build``) runs the same Dockerfile
and context when a dockerd answers; otherwise the figures measured on this project's
machine (DESIGN §6: cold 1.2 s, cached 183 ms) are printed as the reference.
Not a test: prints medians and ratios.
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
from _common import Root, docker_available, report, timed  # noqa: E402

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

DESIGN_DOCKER = {"cold": 1.2, "cached": 0.183}


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

    try:
        gbx()()  # warm: the page cache holds the context, the cache has the steps
        cold = timed(gbx("--no-cache"), args.n)
        gbx()()
        cached = timed(gbx(), args.n)

        def edited():
            edit()
            gbx()()
        touched = timed(edited, args.n)
        # the same with the warm CLI agent (glassbox agent start): no interpreter start
        root.cli("agent", "start", check=True)
        gbx()()
        cached_agent = timed(gbx(), args.n)
        touched_agent = timed(edited, args.n)
        root.cli("agent", "stop")
        rows = [("glassbox build (cold, --no-cache)", cold),
                ("glassbox build (fully cached)", cached),
                ("glassbox build (one copied file edited)", touched),
                ("glassbox build (fully cached, warm agent)", cached_agent),
                ("glassbox build (one copied file edited, warm agent)", touched_agent)]
        if docker_available():
            env = dict(os.environ, DOCKER_BUILDKIT="0")

            def dk(*extra):
                def go():
                    subprocess.run(["docker", "build", "-q", *extra, "-t", "gbx-bench:1", ctx],
                                   env=env, check=True, capture_output=True)
                return go
            dk()()
            rows += [("docker build legacy (cold, --no-cache)", timed(dk("--no-cache"), args.n)),
                     ("docker build legacy (fully cached)", timed(dk(), args.n))]

            def dk_edit():
                edit()
                dk()()
            rows.append(("docker build legacy (one copied file edited)",
                         timed(dk_edit, args.n)))
            print(f"build of a 10-line Dockerfile, {args.mb} MB context, n={args.n}")
            report(rows)
            by_name = dict(rows)
            for kind, label in (("cold", "cold, --no-cache"), ("cached", "fully cached"),
                                ("cached, warm agent", "fully cached, warm agent")):
                dlabel = label.replace(", warm agent", "")
                g = statistics.median(by_name[f"glassbox build ({label})"])
                d = statistics.median(by_name[f"docker build legacy ({dlabel})"])
                print(f"  {kind}: glassbox/docker = x{g / d:.2f}")
        else:
            print(f"build of a 10-line Dockerfile, {args.mb} MB context, n={args.n}")
            report(rows)
            print("  docker: no dockerd answers here; DESIGN §6 reference on this machine: "
                  f"cold {DESIGN_DOCKER['cold'] * 1000:.0f} ms, cached "
                  f"{DESIGN_DOCKER['cached'] * 1000:.0f} ms (legacy builder)")
            for kind, xs in (("cold", cold), ("cached", cached)):
                print(f"  {kind}: glassbox/docker(DESIGN) = "
                      f"x{statistics.median(xs) / DESIGN_DOCKER[kind]:.2f} "
                      f"(target <= {'1.0' if kind == 'cold' else '0.5'})")
    finally:
        root.close()
        shutil.rmtree(ctx, ignore_errors=True)


if __name__ == "__main__":
    main()
