"""cgroup v1 on this host vs cgroup v2 in the QEMU guest: start latency and stats cost (issue 19).

    .venv/bin/python bench/cgroup_v2.py [-n 20] [--samples 200]          # here, then in the guest
    .venv/bin/python bench/cgroup_v2.py --here-only [-n 20]              # just this machine

The same measurements run twice: on this machine (whatever cgroup version it has:
the lab host is v1) and inside the pure cgroup v2 guest of ``make test-v2``
(scripts/v2/guest.sh; the guest runs this same file with ``--here-only --json``):

1. ``glassbox run --rm busybox true`` from the CLI (warm agent) and through the
   in-process API (``Engine.run``), as run_latency.py measures them;
2. the device rules' own cost per start: Docker's list written to the v1 devices
   files, or on v2 the eBPF program assembled, loaded and attached
   (glassbox.cgroups.bpf_device);
3. one ``stats()`` sample of a running container (what ``glassbox stats`` and the
   notebooks' live charts read once per tick): four files on v2, one per
   controller and more on v1.

The guest is emulated (TCG: this host's KVM runs only PVM guests), so its absolute
times are several times the host's. ``python -c pass`` is measured on both sides
and each row is also shown divided by it ("in python starts"), which takes most of
the emulation factor out. Not a test: prints medians, asserts nothing.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _common import Root, timed  # noqa: E402
from run_latency import device_rule_cost  # noqa: E402

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ROWS = ("python -c pass", "run --rm (CLI, warm agent)", "run --rm (API, in-process)",
        "device rules per start", "stats() per sample")


def _wait_for_agent(root: Root, timeout: float = 180.0) -> None:
    deadline = time.monotonic() + timeout
    while root.cli("agent", "status").returncode != 0:
        if time.monotonic() > deadline:
            raise SystemExit("bench: the glassbox agent did not come up")
        time.sleep(0.5)


def measure(n: int, samples: int) -> dict:
    from glassbox.cgroups import detect_version
    root = Root()
    try:
        pystart = timed(lambda: subprocess.run([sys.executable, "-c", "pass"]), n)
        if root.cli("agent", "start").returncode != 0:
            _wait_for_agent(root)      # emulated and loaded: slower than `agent start` waits
        root.cli("run", "--rm", "busybox", "true")            # warm caches
        cli = timed(lambda: root.cli("run", "--rm", "busybox", "true", check=True), n)
        eng = root.engine()
        eng.run("busybox", ["true"], auto_remove=True)
        api = timed(lambda: eng.run("busybox", ["true"], auto_remove=True), n)
        devices = device_rule_cost(n, root.cgroup_parent)
        c = eng.run("busybox", ["sleep", "600"], detach=True)
        eng.containers.stats(c.id)
        stats = timed(lambda: eng.containers.stats(c.id), samples)
        eng.containers.remove(c.id, force=True)
        root.cli("agent", "stop")
    finally:
        root.close()
    med = statistics.median
    return {"cgroup": detect_version(), "kernel": os.uname().release,
            "ms": dict(zip(ROWS, (med(x) * 1000 for x in (pystart, cli, api, devices, stats)))),
            "n": n, "samples": samples}


def in_guest(n: int, samples: int) -> dict | None:
    guest = os.path.join(REPO, "scripts", "v2", "guest.sh")
    p = subprocess.run([guest, "env", "GLASSBOX_ROOT=/tmp/gbx", sys.executable,
                        os.path.abspath(__file__), "--here-only", "--json", "-n", str(n),
                        "--samples", str(samples)], capture_output=True, text=True)
    lines = [ln for ln in p.stdout.splitlines() if ln.startswith("{")]
    if p.returncode != 0 or not lines:
        print(f"  (guest run failed, exit {p.returncode}):\n{p.stdout[-2000:]}{p.stderr[-2000:]}")
        return None
    return json.loads(lines[-1])


def show(results: list[dict]) -> None:
    head = "".join(f"  {'v%d (%s)' % (r['cgroup'], r['where']):>28s}" for r in results)
    print(f"  {'':30s}{head}")
    for row in ROWS:
        cells = ""
        for r in results:
            ms, scale = r["ms"][row], r["ms"]["python -c pass"]
            cells += f"  {ms:9.2f} ms = {ms / scale:5.2f} py"
        print(f"  {row:30s}{cells}")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("-n", type=int, default=20)
    ap.add_argument("--samples", type=int, default=200)
    ap.add_argument("--here-only", action="store_true")
    ap.add_argument("--json", action="store_true")
    a = ap.parse_args()
    here = measure(a.n, a.samples)
    here["where"] = "this machine"
    if a.json:
        print(json.dumps(here))
        return
    results = [here]
    if not a.here_only:
        t = time.perf_counter()
        guest = in_guest(a.n, a.samples)
        if guest:
            guest["where"] = "QEMU guest"
            results.append(guest)
        print(f"(guest run, boot included: {time.perf_counter() - t:.0f} s)")
    print(f"== cgroup start latency and stats cost (n={a.n}, stats samples={a.samples}; "
          "'py' = multiples of python -c pass on the same side) ==")
    show(results)


if __name__ == "__main__":
    main()
