"""Container start latency and per-container memory, side by side (issue 2).

    .venv/bin/python bench/run_latency.py [-n 20] [--detached 100]

1. ``glassbox run --rm busybox true`` from the CLI vs ``runc run`` of an
   equivalent bundle (the same busybox rootfs) vs ``docker run --rm busybox
   true`` when a dockerd answers.
2. The same run through the Python API in one process, as a notebook does.
   The API, ``runc run`` and ``docker run`` take turns within each round. runc's
   bundle carries Docker's seccomp profile and device allow-list, so both filter;
   the two rows "of which" time glassbox's share of each alone.
3. N detached ``sleep`` containers: total start time and the host memory
   glassbox keeps per container (PSS of its shim).
Not a test: prints medians and ratios.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _common import (Root, docker_available, interleaved, pss_kb, report,  # noqa: E402
                     timed)


def device_rule_cost(n: int, parent: str) -> list[float]:
    """What Docker's device allow-list costs a start: a fresh cgroup each time, the v1
    devices files written or the v2 eBPF program assembled, loaded and attached (the
    rules are part of glassbox's start; runc's bundle carries the same list)."""
    from glassbox.cgroups import open_cgroup
    out = []
    for i in range(n):
        cg = open_cgroup(f"bench-dev-{i}", parent=parent)   # the bench root's own parent
        cg.create()
        try:
            t = time.perf_counter()
            cg.restrict_devices()
            out.append(time.perf_counter() - t)
        finally:
            cg.destroy()
    return out


def seccomp_cost(n: int, root: str) -> list[float]:
    """What Docker's seccomp filter costs a start, as glassbox pays it: the shim
    finds the compiled program in the state root's cache (a fresh process, so no
    in-memory copy), and init installs it (seccomp(2)), each in a forked child."""
    from glassbox._sys import real
    from glassbox.runtime.spec import DEFAULT_CAPS
    from glassbox.seccomp import cache
    cache.program_for("default", DEFAULT_CAPS, root)      # compiled once, as the first run did
    out = []
    for _ in range(n):
        r, w = os.pipe()
        pid = os.fork()
        if pid == 0:
            try:
                os.close(r)
                cache._MEMO.clear()
                t = time.perf_counter()
                prog = cache.program_for("default", DEFAULT_CAPS, root)
                real.set_no_new_privs()
                real.seccomp_set_filter(*prog)
                os.write(w, repr(time.perf_counter() - t).encode())
            finally:
                os._exit(0)
        os.close(w)
        with os.fdopen(r) as f:
            out.append(float(f.read()))
        os.waitpid(pid, 0)
    return out


def seccomp_oci() -> dict:
    """Docker's default profile in the OCI ``linux.seccomp`` form runc reads, resolved
    for the capabilities glassbox gives a container: both sides run the same filter."""
    from glassbox.runtime.spec import DEFAULT_CAPS
    from glassbox.seccomp.cache import DEFAULT_PATH
    from glassbox.seccomp.profile import parse, resolve
    with open(DEFAULT_PATH) as f:
        return resolve(parse(f.read()), DEFAULT_CAPS).to_oci()


def devices_oci() -> list[dict]:
    """Docker's device allow-list (the one glassbox writes) in the OCI
    ``linux.resources.devices`` form runc reads: deny everything, then each rule."""
    from glassbox.cgroups.devices import DEFAULT_RULES
    out: list[dict] = [{"allow": False, "access": "rwm"}]
    for r in DEFAULT_RULES:
        rule = {"allow": True, "type": r.type, "access": r.access}
        rule.update({k: v for k, v in (("major", r.major), ("minor", r.minor)) if v is not None})
        out.append(rule)
    return out


def runc_bundle(rootfs_tar: str) -> str | None:
    if not shutil.which("runc"):
        return None
    bundle = tempfile.mkdtemp(prefix="gbx-bench-runc-")
    os.mkdir(os.path.join(bundle, "rootfs"))
    subprocess.run(["tar", "-xf", rootfs_tar, "-C", os.path.join(bundle, "rootfs")], check=True)
    subprocess.run(["runc", "spec"], cwd=bundle, check=True)
    with open(os.path.join(bundle, "config.json")) as f:
        spec = json.load(f)
    spec["process"]["args"] = ["true"]
    spec["process"]["terminal"] = False
    spec["root"]["readonly"] = False
    spec["linux"]["seccomp"] = seccomp_oci()
    spec["linux"].setdefault("resources", {})["devices"] = devices_oci()
    with open(os.path.join(bundle, "config.json"), "w") as f:
        json.dump(spec, f)
    return bundle


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("-n", type=int, default=20)
    ap.add_argument("--detached", type=int, default=100)
    a = ap.parse_args()
    root = Root()
    bundle = None
    try:
        print(f"== start latency: run --rm busybox true (n={a.n}) ==")
        root.cli("run", "--rm", "busybox", "true")  # warm caches
        cli = timed(lambda: root.cli("run", "--rm", "busybox", "true", check=True), a.n)
        # the API, runc and docker take turns within each round (a shared machine's
        # load drifts over a run; sequential blocks would hand it to one side)
        eng = root.engine()
        eng.run("busybox", ["true"], auto_remove=True)
        bundle = runc_bundle(root.tar)
        turns = [("api", lambda: eng.run("busybox", ["true"], auto_remove=True))]
        if bundle:
            turns.append(("runc", lambda: subprocess.run(
                ["runc", "run", "--bundle", bundle, f"gbxbench{os.getpid()}"], check=True,
                capture_output=True)))
        if docker_available():
            subprocess.run(["docker", "run", "--rm", "busybox", "true"], capture_output=True)
            turns.append(("docker", lambda: subprocess.run(
                ["docker", "run", "--rm", "busybox", "true"], check=True, capture_output=True)))
        took = interleaved(turns, a.n, lambda fn: fn())
        api, runc, docker = took["api"], took.get("runc"), took.get("docker")
        root.cli("agent", "start", check=True)
        root.cli("run", "--rm", "busybox", "true")
        cli_agent = timed(lambda: root.cli("run", "--rm", "busybox", "true", check=True), a.n)
        start = timed(lambda: subprocess.run([sys.executable, "-c", "pass"]), a.n)
        devices = device_rule_cost(a.n, root.cgroup_parent)
        seccomp = seccomp_cost(a.n, root.dir)
        report([("runc run (CLI, bundle)", runc), ("glassbox run --rm (CLI)", cli),
                ("glassbox run --rm (CLI, warm agent)", cli_agent),
                ("glassbox Engine.run (API, in-process)", api),
                ("docker run --rm", docker), ("(python -c pass, for scale)", start),
                ("  of which: device allow-list (per start)", devices),
                ("  of which: seccomp (cached, per start)", seccomp)],
               anchor="runc run (CLI, bundle)")
        if docker:
            report([("docker run --rm", docker), ("glassbox run --rm (CLI)", cli),
                    ("glassbox run --rm (CLI, warm agent)", cli_agent)],
                   anchor="docker run --rm")

        print(f"\n== {a.detached} detached sleep containers (CLI, warm agent"
              f"{'; interleaved with docker in batches of 10' if docker else ''}) ==")
        spent = {"glassbox": 0.0, "docker": 0.0}
        docker_ids = []
        for first in range(0, a.detached, 10):      # the load drifts over both alike
            batch = range(first, min(first + 10, a.detached))
            t = time.perf_counter()
            for _ in batch:
                root.cli("run", "-d", "busybox", "sleep", "600", check=True)
            spent["glassbox"] += time.perf_counter() - t
            if docker:
                t = time.perf_counter()
                docker_ids += [subprocess.run(["docker", "run", "-d", "busybox", "sleep", "600"],
                                              capture_output=True, text=True).stdout.strip()
                               for _ in batch]
                spent["docker"] += time.perf_counter() - t
        total = spent["glassbox"]
        cs = eng.containers.list()
        shims = [c.state.get("ShimPid") for c in cs if c.running]
        pss = [pss_kb(p) for p in shims if p]
        print(f"  glassbox: {a.detached} x run -d: {total:.2f} s total, "
              f"{total / a.detached * 1000:.1f} ms each")
        if docker:
            print(f"  docker:   {a.detached} x run -d: {spent['docker']:.2f} s total, "
                  f"{spent['docker'] / a.detached * 1000:.1f} ms each  -> glassbox "
                  f"x{total / spent['docker']:.2f}")
        if pss:
            print(f"  glassbox shim PSS: mean {sum(pss) / len(pss) / 1024:.2f} MB, "
                  f"max {max(pss) / 1024:.2f} MB per container ({len(pss)} shims)")
        t = time.perf_counter()
        for c in cs:
            eng.containers.remove(c.id, force=True)
        print(f"  glassbox: rm -f of {len(cs)}: {time.perf_counter() - t:.2f} s")
        if docker_ids:
            subprocess.run(["docker", "rm", "-f", *docker_ids], capture_output=True)
    finally:
        root.cli("agent", "stop")
        root.close()
        if bundle:
            shutil.rmtree(bundle, ignore_errors=True)


if __name__ == "__main__":
    main()
