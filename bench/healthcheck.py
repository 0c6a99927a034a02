"""The host CPU of idle containers with a 1 s healthcheck, side by side (issue 20).

    .venv/bin/python bench/healthcheck.py [-n 50] [--window 20] [--interval 1s] [--rounds 2]

N detached ``sleep`` containers with ``--health-cmd true --health-interval 1s``,
once all are healthy, then for ``--window`` seconds: the CPU time spent by what
runs the checks, read from ``/proc/<pid>/stat`` (utime+stime of the process
plus cutime+cstime of the children it reaped — every probe is a descendant):

* glassbox: the containers' C monitors (each forks its own probes; nothing else
  takes part: no daemon, no Python); the same N containers *without* a check
  first, for the floor — a monitor between probes sleeps in ``poll``;
* dockerd, when a private one answers (``bench/setup_anchors.sh``): dockerd,
  its containerd and the containerd shims (each probe is ``runc exec``).

The two sides take turns: each round brings up N containers on one side, measures a
window, removes them, then the other side (first without a check, then with it), so
a busy machine weighs on both alike; the medians of the rounds are printed, with the
load average seen. Prints CPU as a percentage of one core and per probe.
Per-process accounting, not /proc/stat: the machine is shared and other load must
not count.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
import uuid

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _common import Load, Root, docker_available  # noqa: E402

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


class GlassboxSide:
    """N containers on a private glassbox root; what runs their checks: the C monitors."""

    label = "glassbox"

    def __init__(self):
        self.root = Root()

    def start(self, names: list[str], flags: list[str]) -> None:
        for name in names:
            p = self.root.cli("run", "-d", "--name", name, *flags, "busybox", "sleep", "3600")
            if p.returncode != 0:
                raise SystemExit(p.stderr.decode())

    def healthy(self, names: list[str]) -> int:
        eng = self.root.engine()
        return sum(1 for c in eng.containers.list()
                   if c.inspect()["State"].get("Health", {}).get("Status") == "healthy")

    def pids(self) -> list[int]:
        return monitors(self.root.dir)

    def remove(self, names: list[str]) -> None:
        self.root.cli("rm", "-f", *names)

    def close(self) -> None:
        self.root.close()


class DockerSide:
    """N containers on the private dockerd; what runs their checks: dockerd, containerd
    and the shims (each probe is a ``runc exec``)."""

    label = "dockerd"

    def start(self, names: list[str], flags: list[str]) -> None:
        for name in names:
            subprocess.run(["docker", "run", "-d", "--network", "none", "--name", name,
                            *flags, "busybox", "sleep", "3600"], check=True,
                           capture_output=True)

    def healthy(self, names: list[str]) -> int:
        out = subprocess.run(["docker", "inspect", "--format", "{{json .State.Health}}",
                              *names], capture_output=True, text=True).stdout
        return sum(1 for line in out.splitlines()
                   if line.strip() not in ("", "null")
                   and json.loads(line).get("Status") == "healthy")

    def pids(self) -> list[int]:
        return docker_pids()

    def remove(self, names: list[str]) -> None:
        subprocess.run(["docker", "rm", "-f", *names], capture_output=True)

    def close(self) -> None:
        pass


def measure_rounds(sides, n: int, window: float, interval: str, rounds: int, load: Load,
                   loads: dict[tuple[str, str], Load]):
    """For each round and each kind (floor, then with the check), each side in turn:
    start N containers, wait until all are healthy, measure one window, remove them.
    The sides take turns window by window, so a busy machine weighs on both alike.
    Returns {(side label, kind): [(CPU seconds, wakeups/s), ...]}, and fills ``loads``
    with the load average seen at the start and end of each of those windows."""
    kinds: tuple[tuple[str, list[str]], ...] = (
        ("no healthcheck (floor)", []),
        (f"--health-cmd true --health-interval {interval}",
         ["--health-cmd", "true", "--health-interval", interval]))
    out: dict[tuple[str, str], list[tuple[float, float]]] = {}
    for _ in range(rounds):
        for kind, flags in kinds:
            for side in sides:
                names = [f"hc{i}-{uuid.uuid4().hex[:6]}" for i in range(n)]
                try:
                    side.start(names, flags)
                    if flags:
                        wait_healthy(lambda: side.healthy(names), n)  # noqa: B023
                    else:
                        time.sleep(1.0)
                    seen = Load()                 # sampled as the window opens ...
                    out.setdefault((side.label, kind), []).append(measure(side.pids, window))
                    seen.sample()                 # ... and as it closes
                    load.seen += seen.seen
                    if (side.label, kind) in loads:
                        loads[(side.label, kind)].seen += seen.seen
                    else:
                        loads[(side.label, kind)] = seen
                finally:
                    side.remove(names)
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("-n", type=int, default=50)
    ap.add_argument("--window", type=float, default=20.0)
    ap.add_argument("--interval", default="1s")
    ap.add_argument("--rounds", type=int, default=2, help="windows per side and kind")
    args = ap.parse_args()
    seconds = float(args.interval.rstrip("s")) if args.interval.endswith("s") and \
        not args.interval.endswith("ms") else 1.0
    probes = args.n * args.window / seconds
    load = Load()
    print(f"{args.n} idle containers, {args.window:.0f} s windows x {args.rounds} rounds, "
          "glassbox and dockerd taking turns (CPU of what runs the checks)")
    sides: list = [GlassboxSide()]
    try:
        if docker_available():
            sides.append(DockerSide())
        else:
            print("  dockerd: not measured (none answers; bench/setup_anchors.sh starts a "
                  "private one)")
        loads: dict[tuple[str, str], Load] = {}
        res = measure_rounds(sides, args.n, args.window, args.interval, args.rounds, load,
                             loads)
    finally:
        for side in sides:
            side.close()
    print(f"  ({load} over the run)")
    for (side, kind), windows in res.items():
        spent = statistics.median(w[0] for w in windows)
        wake = statistics.median(w[1] for w in windows)
        per_probe = f"{1000 * spent / probes:6.2f} ms/probe" if "health-cmd" in kind else \
            " " * 15
        each = " ".join(f"{100 * w[0] / args.window:.1f}" for w in windows)
        print(f"  {side + ', ' + kind:62s} {100 * spent / args.window:6.2f}% of a core  "
              f"{per_probe}  ({wake:.1f} wakeups/s of one "
              f"{'monitor' if side == 'glassbox' else 'daemon'}; rounds: {each} %; "
              f"{loads[(side, kind)]})")


if __name__ == "__main__":
    main()
