"""Shared helpers for the side-by-side benchmarks: timing, medians, private roots."""

from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid

HERE = os.path.dirname(os.path.abspath(__file__))
VENV_BIN = os.path.dirname(sys.executable)
GLASSBOX = os.path.join(VENV_BIN, "glassbox")


class Load:
    """The machine's 1-minute load average, sampled while a bench runs.

    The machine is shared (2 cores; other work runs beside the benches), so every
    figure is printed with the load it was measured under: call :meth:`sample`
    between timed runs, print the instance (``load 1.2–3.4``, the range seen)."""

    def __init__(self) -> None:
        self.seen: list[float] = []
        self.sample()

    def sample(self) -> float:
        with open("/proc/loadavg") as f:
            one = float(f.read().split()[0])
        self.seen.append(one)
        return one

    def __str__(self) -> str:
        lo, hi = min(self.seen), max(self.seen)
        return f"load {lo:.1f}" if f"{lo:.1f}" == f"{hi:.1f}" else f"load {lo:.1f}–{hi:.1f}"


def timed(fn, n: int) -> list[float]:
    out = []
    for _ in range(n):
        t = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t)
    return out


def interleaved(variants, n: int, run, load: Load | None = None) -> dict[str, list[float]]:
    """Time ``run(argv)`` for each ``(label, argv)`` of ``variants``, ``n`` rounds, the
    variants taking turns within a round, so a busy machine weighs on all of them alike
    (``load``, when given, is sampled after each round)."""
    times: dict[str, list[float]] = {label: [] for label, _ in variants}
    for _ in range(n):
        for label, argv in variants:
            times[label] += timed(lambda: run(argv), 1)  # noqa: B023
        if load is not None:
            load.sample()
    return times


def ms(xs: list[float]) -> str:
    return f"{statistics.median(xs) * 1000:8.1f} ms"


def report(rows: list[tuple[str, list[float] | None]], anchor: str | None = None) -> None:
    base = dict(rows).get(anchor) if anchor else None
    for name, xs in rows:
        if xs is None:
            print(f"  {name:48s} not measured (not installed or not running)")
            continue
        ratio = f"  x{statistics.median(xs) / statistics.median(base):.2f} vs {anchor}" \
            if base and name != anchor else ""
        print(f"  {name:48s} median {ms(xs)}  (n={len(xs)}){ratio}")


class Root:
    """A private glassbox state root with busybox imported; removed afterwards."""

    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="gbx-bench-")
        self.cgroup_parent = f"glassbox-bench-{uuid.uuid4().hex[:8]}"
        self.env = dict(os.environ, GLASSBOX_ROOT=self.dir,
                        GLASSBOX_CGROUP_PARENT=self.cgroup_parent)
        from glassbox.images.busybox import rootfs_tar
        tar = os.path.join(self.dir, "busybox.tar")
        with open(tar, "wb") as f:
            rootfs_tar(f)
        subprocess.run([GLASSBOX, "import", "-c", 'CMD ["sh"]', tar, "busybox:latest"],
                       env=self.env, check=True, capture_output=True)
        self.tar = tar

    def engine(self):
        from glassbox.engine import Engine
        return Engine(self.dir, cgroup_parent=self.cgroup_parent)

    def cli(self, *args, **kw):
        return subprocess.run([GLASSBOX, *args], env=self.env, capture_output=True, **kw)

    def close(self):
        eng = self.engine()
        for c in eng.containers.list():
            eng.containers.remove(c.id, force=True)
        from glassbox.network.manager import remove_root_bridges
        remove_root_bridges(self.dir)   # the root goes: its bridges too
        left = []
        # v2: the parent sits at the top of the one tree; v1: one per hierarchy
        for d in [os.path.join("/sys/fs/cgroup", self.cgroup_parent)] + \
                [os.path.join("/sys/fs/cgroup", h, self.cgroup_parent)
                 for h in os.listdir("/sys/fs/cgroup")]:
            try:
                os.rmdir(d)
            except (FileNotFoundError, NotADirectoryError):
                pass
            except OSError:
                left.append(d)
        shutil.rmtree(self.dir, ignore_errors=True)
        if left:   # the bench must leave the machine as it found it: say so loudly
            print(f"bench: cgroups left behind: {left}", file=sys.stderr)


def pss_kb(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/smaps_rollup") as f:
            for line in f:
                if line.startswith("Pss:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def docker_available() -> bool:
    if not shutil.which("docker"):
        return False
    return subprocess.run(["docker", "info"], capture_output=True).returncode == 0
