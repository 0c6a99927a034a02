"""The host CPU of idle containers with a 1 s healthcheck, side by side (issue 20).

    .venv/bin/python bench/healthcheck.py [-n 50] [--window 20] [--interval 1s]

N detached ``sleep`` containers with ``--health-cmd true --health-interval 1s``,
once all are healthy, then for ``--window`` seconds: the CPU time spent by what
runs the checks, read from ``/proc/<pid>/stat`` (utime+stime of the process
plus cutime+cstime of the children it reaped — every probe is a descendant):

* glassbox: the containers' C monitors (each forks its own probes; nothing else
  takes part: no daemon, no Python); the same N containers *without* a check
  first, for the floor — a monitor between probes sleeps in ``poll``;
* dockerd, when a private one answers (``bench/setup_anchors.sh``): dockerd,
  its containerd and the containerd shims (each probe is ``runc exec``).

Prints CPU as a percentage of one core and per probe. Per-process accounting,
not /proc/stat: the machine is shared and other load must not count.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
import uuid

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _common import Root, docker_available  # noqa: E402

TICK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    """utime+stime+cutime+cstime of ``pid`` in seconds (0 if it is gone)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return sum(int(x) for x in fields[11:15]) / TICK


def voluntary_switches(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("voluntary_ctxt_switches:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def monitors(root: str) -> list[int]:
    out = []
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open(f"/proc/{pid}/comm") as f:
                if f.read().strip() != "gbx-monitor":
                    continue
            if os.readlink(f"/proc/{pid}/cwd").startswith(root):
                out.append(int(pid))
        except OSError:
            continue
    return out


def docker_pids() -> list[int]:
    """The private dockerd's processes: dockerd, containerd, the shims."""
    out = []
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                cmd = f.read()
        except OSError:
            continue
        if b"/run/docker-bench" in cmd and (b"dockerd" in cmd or b"containerd" in cmd):
            out.append(int(pid))
    return out


def measure(pids_fn, window: float) -> tuple[float, float]:
    """(CPU seconds spent over ``window`` by the processes, voluntary wakeups/s of one)."""
    pids = pids_fn()
    before = {p: cpu_seconds(p) for p in pids}
    sw0 = voluntary_switches(pids[0]) if pids else 0
    time.sleep(window)
    spent = sum(cpu_seconds(p) - before[p] for p in pids if p in before)
    sw = (voluntary_switches(pids[0]) - sw0) / window if pids else 0.0
    return spent, sw


def wait_healthy(check, n: int, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check() >= n:
            return
        time.sleep(0.5)
    raise SystemExit(f"not all {n} containers became healthy within {timeout} s")


def glassbox_rows(n: int, window: float, interval: str) -> list[tuple[str, float, float]]:
    root = Root()
    rows = []
    try:
        for label, flags in (("no healthcheck (floor)", []),
                             (f"--health-cmd true --health-interval {interval}",
                              ["--health-cmd", "true", "--health-interval", interval])):
            names = []
            for i in range(n):
                name = f"hc{i}-{uuid.uuid4().hex[:6]}"
                p = root.cli("run", "-d", "--name", name, *flags, "busybox", "sleep", "3600")
                if p.returncode != 0:
                    raise SystemExit(p.stderr.decode())
                names.append(name)
            if flags:
                eng = root.engine()

                def healthy() -> int:
                    return sum(1 for c in eng.containers.list()
                               if c.inspect()["State"].get("Health", {}).get("Status")
                               == "healthy")
                wait_healthy(healthy, n)
            else:
                time.sleep(1.0)
            spent, wake = measure(lambda: monitors(root.dir), window)
            rows.append((f"glassbox, {label}", spent, wake))
            root.cli("rm", "-f", *names)
    finally:
        root.close()
    return rows


def docker_rows(n: int, window: float, interval: str) -> list[tuple[str, float, float]]:
    names = [f"hc{i}-{uuid.uuid4().hex[:6]}" for i in range(n)]
    rows = []
    try:
        for label, flags in (("no healthcheck (floor)", []),
                             (f"--health-cmd true --health-interval {interval}",
                              ["--health-cmd", "true", "--health-interval", interval])):
            for name in names:
                subprocess.run(["docker", "run", "-d", "--network", "none", "--name", name,
                                *flags, "busybox", "sleep", "3600"], check=True,
                               capture_output=True)
            if flags:
                def healthy() -> int:
                    out = subprocess.run(["docker", "inspect", "--format",
                                          "{{json .State.Health}}", *names],
                                         capture_output=True, text=True).stdout
                    return sum(1 for line in out.splitlines()
                               if line.strip() not in ("", "null")
                               and json.loads(line).get("Status") == "healthy")
                wait_healthy(healthy, n)
            else:
                time.sleep(1.0)
            spent, wake = measure(docker_pids, window)
            rows.append((f"dockerd, {label}", spent, wake))
            subprocess.run(["docker", "rm", "-f", *names], capture_output=True)
    finally:
        subprocess.run(["docker", "rm", "-f", *names], capture_output=True)
    return rows


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("-n", type=int, default=50)
    ap.add_argument("--window", type=float, default=20.0)
    ap.add_argument("--interval", default="1s")
    args = ap.parse_args()
    seconds = float(args.interval.rstrip("s")) if args.interval.endswith("s") and \
        not args.interval.endswith("ms") else 1.0
    probes = args.n * args.window / seconds
    print(f"{args.n} idle containers, {args.window:.0f} s window (CPU of what runs the checks)")
    rows = glassbox_rows(args.n, args.window, args.interval)
    if docker_available():
        rows += docker_rows(args.n, args.window, args.interval)
    else:
        print("  dockerd: none answers (bench/setup_anchors.sh starts a private one): no anchor")
    for label, spent, wake in rows:
        per_probe = f"{1000 * spent / probes:6.2f} ms/probe" if "health-cmd" in label else \
            " " * 15
        print(f"  {label:62s} {100 * spent / args.window:6.2f}% of a core  {per_probe}  "
              f"({wake:.1f} wakeups/s of one {'monitor' if 'glassbox' in label else 'daemon'})")


if __name__ == "__main__":
    main()
