"""A class under load on this machine: N students (default 20) on the hub of
deploy/hub/, each with a server, a kernel and 2 running containers.

Prints, for the teacher's sizing (deploy/kubernetes/README.md):
  * memory per student: the PSS of all of one student's processes (server,
    kernel, shims, containers), median and max;
  * start latency of ``glassbox run --rm busybox true`` by one student under
    that load, side by side with the same student's run on an idle class
    (the anchor: the same command before the load is up).

Run as root: ``.venv/bin/python bench/classroom.py [--students 20]``.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "tests", "interop"))
from _common import Load, pss_kb, report  # noqa: E402
from hub_fixtures import Classroom, VENV_BIN, _user_procs, run_code  # noqa: E402


def student_run(pw, n: int, load: Load | None = None) -> list[float]:
    """``glassbox run --rm busybox true`` as the student, ``n`` times, timed (``load``
    sampled after each run)."""
    env = {"HOME": pw.pw_dir, "USER": pw.pw_name, "PATH": f"{VENV_BIN}:/usr/bin:/bin",
           "GLASSBOX_AGENT": "0"}
    cmd = ["setpriv", f"--reuid={pw.pw_uid}", f"--regid={pw.pw_gid}", "--init-groups",
           os.path.join(VENV_BIN, "glassbox"), "run", "--rm", "busybox", "true"]
    out = []
    for _ in range(n):
        t = time.perf_counter()
        subprocess.run(cmd, env=env, check=True, capture_output=True)
        out.append(time.perf_counter() - t)
        if load is not None:
            load.sample()
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--students", type=int, default=20)
    ap.add_argument("--containers", type=int, default=2)
    ap.add_argument("-n", type=int, default=10, help="timed runs per row")
    args = ap.parse_args()
    t0 = time.monotonic()
    room = Classroom(students=args.students, memory="1G", pids=1024)
    try:
        probe = room.users[room.names[0]]
        tokens = {room.names[0]: room.hub.start_server(room.names[0])}  # + its base image
        student_run(probe, 2)                                 # warm the caches
        idle_load = Load()
        idle = student_run(probe, args.n, idle_load)
        for name in room.names[1:]:
            tokens[name] = room.hub.start_server(name)
        cells = ["%load_ext glassbox"] + [
            f"%container run -d --name c{i} busybox sh -c 'while :; do sleep 1; done'"
            for i in range(args.containers)]
        for name in room.names:
            # the kernel is kept: run_code deletes it, so start one that stays
            res = run_code(room.hub, name, tokens[name], cells, keep_kernel=True)
            bad = [r for r in res if r["status"] != "ok" or "Error: " in r["text"]]
            if bad:
                raise SystemExit(f"{name}: {bad}")
        up = time.monotonic() - t0
        loaded_load = Load()
        loaded = student_run(probe, args.n, loaded_load)
        per_student = sorted(sum(pss_kb(p) for p in _user_procs(room.users[n].pw_uid)) / 1024
                             for n in room.names)
        print(f"classroom: {args.students} students x {args.containers} running containers, "
              f"{os.cpu_count()} CPUs, all up in {up:.0f} s")
        print(f"  memory per student (PSS: server + kernel + shims + containers): median "
              f"{statistics.median(per_student):.0f} MB, max {per_student[-1]:.0f} MB, "
              f"class total {sum(per_student):.0f} MB")
        print(f"  machine load: idle-class runs {idle_load}; loaded-class runs {loaded_load} "
              "(the machine is shared: other work counts in both)")
        report([("run --rm busybox true, idle class", idle),
                (f"run --rm busybox true, {args.students} students loaded", loaded)],
               anchor="run --rm busybox true, idle class")
    finally:
        leaks = room.close()
        if leaks:
            print("LEFT BEHIND:", leaks)


if __name__ == "__main__":
    main()
