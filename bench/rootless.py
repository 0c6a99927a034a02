"""Rootless start latency: glassbox as an ordinary user vs rootful vs ``runc run --rootless``.

Rows (medians of ``-n`` runs, each a fresh process, as a user would type it):

1. ``glassbox run --rm busybox true`` as root — the same interpreter and
   command line as the rootless row, so only the user differs;
2. the same as a throw-away user with subordinate ids (``newuidmap`` maps
   65536 ids: two setuid helper runs per start);
3. the same under ``setpriv --no-new-privs`` (the single-id map, no helpers);
4. ``runc run`` of a ``runc spec --rootless`` bundle as that user (runc's own
   single-id map; the anchor);
5. ``--detached N``: N detached ``sleep`` containers started one after the
   other, rootless vs rootful (total seconds);
6. networks, rootless: ``--network none`` beside a user network whose
   per-user network namespace holder is already running (veth, address,
   bridge port in the user's own netns), and the default ``bridge`` when each
   run starts and stops the holder (the first network use);
7. a cached build (every step a cache hit), rootless vs rootful.

The user is made with ``useradd -m`` and removed (``userdel -r``) at the end,
with every container and temporary directory. Run as root from the repository
root: ``.venv/bin/python bench/rootless.py [-n 20] [--detached 100]``.
"""

from __future__ import annotations

import argparse
import json
import os
import pwd
import shutil
import subprocess
import sys
import tempfile
import time
import uuid

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _common import interleaved, report, timed  # noqa: E402

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ENGINE = os.path.join(REPO, "engine")
SITE = next((p for p in sys.path if p.endswith("site-packages") and p.startswith(REPO)), "")
PYTHON = f"/usr/bin/python{sys.version_info.major}.{sys.version_info.minor}"


def gbx_argv(root: str, home: str, user: str | None, args, wrap=()) -> list[str]:
    env = [f"HOME={home}", "PATH=/usr/bin:/bin:/usr/sbin:/sbin", f"PYTHONPATH={ENGINE}:{SITE}",
           "GLASSBOX_AGENT=0", "GLASSBOX_OFFLINE=1", f"GLASSBOX_ROOT={root}"]
    if user is None:
        env.append(f"GLASSBOX_CGROUP_PARENT=glassbox-bench-{os.getpid()}")
    cmd = [*wrap, "env", "-i", *env, PYTHON, "-m", "glassbox.cli.main", *args]
    return ["runuser", "-u", user, "--", *cmd] if user else cmd


def run(argv, **kw):
    return subprocess.run(argv, check=True, capture_output=True, cwd="/", **kw)


def runc_rootless_bundle(user: str, home: str, tar: str) -> str:
    bundle = os.path.join(home, "runc-bundle")
    runuser = ["runuser", "-u", user, "--"]
    run(runuser + ["mkdir", "-p", f"{bundle}/rootfs"])
    run(runuser + ["tar", "-xf", tar, "-C", f"{bundle}/rootfs"])
    run(runuser + ["sh", "-c", f"cd {bundle} && runc spec --rootless"])
    path = os.path.join(bundle, "config.json")
    with open(path) as f:
        spec = json.load(f)
    spec["process"]["args"] = ["true"]
    spec["process"]["terminal"] = False
    spec["root"]["readonly"] = False
    with open(path, "w") as f:
        json.dump(spec, f)
    return bundle


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("-n", type=int, default=20)
    ap.add_argument("--detached", type=int, default=100)
    a = ap.parse_args()
    if os.geteuid() != 0:
        sys.exit("run as root: the bench makes (and removes) a test user")
    if not os.path.exists(PYTHON):
        sys.exit(f"{PYTHON} is needed (the venv's interpreter is not reachable by other users)")
    user = f"gbxbench{uuid.uuid4().hex[:5]}"
    shared = tempfile.mkdtemp(prefix="gbx-bench-rootless-")
    os.chmod(shared, 0o755)
    rootful = os.path.join(shared, "rootful")
    subprocess.run(["useradd", "-m", user], check=True, capture_output=True)
    home = pwd.getpwnam(user).pw_dir
    uroot = os.path.join(home, ".local", "share", "glassbox")
    try:
        from glassbox.images.busybox import rootfs_tar
        tar = os.path.join(shared, "busybox.tar")
        with open(tar, "wb") as f:
            rootfs_tar(f)
        os.chmod(tar, 0o644)
        as_root = lambda *args: gbx_argv(rootful, "/root", None, args)  # noqa: E731
        as_user = lambda *args, wrap=(): gbx_argv(uroot, home, user, args, wrap)  # noqa: E731
        run(as_root("import", tar, "busybox:latest"))
        run(as_user("import", tar, "busybox:latest"))
        true = ("run", "--rm", "busybox", "true")
        nnp = ("setpriv", "--no-new-privs")
        variants = [("glassbox rootful (root)", as_root(*true)),
                    ("glassbox rootless (subids, newuidmap)", as_user(*true)),
                    ("glassbox rootless (single id, no_new_privs)", as_user(*true, wrap=nnp))]
        if shutil.which("runc"):
            bundle = runc_rootless_bundle(user, home, tar)
            state = os.path.join(home, "runc-state")
            variants.append(("runc run --rootless (bundle)",
                             ["runuser", "-u", user, "--", "runc", "--root", state, "run",
                              "--bundle", bundle, f"b{os.getpid()}"]))
        print(f"== start latency: run --rm busybox true (n={a.n}, the variants interleaved "
              "so a busy machine weighs on all alike) ==")
        for label, argv in variants:
            run(argv)                                   # warm caches
        times = interleaved(variants, a.n, run)
        rows = [(label, times.get(label)) for label in
                ("glassbox rootful (root)", "glassbox rootless (subids, newuidmap)",
                 "glassbox rootless (single id, no_new_privs)", "runc run --rootless (bundle)")]
        report(rows, anchor="runc run --rootless (bundle)")
        if a.detached:
            print(f"== {a.detached} detached starts (total) ==")
            for label, mk in (("rootful", as_root), ("rootless", as_user)):
                t = time.perf_counter()
                for i in range(a.detached):
                    run(mk("run", "-d", "--name", f"d{i}", "busybox", "sleep", "600"))
                total = time.perf_counter() - t
                ids = run(mk("ps", "-a", "-q")).stdout.split()
                run(mk("rm", "-f", *ids))
                print(f"  glassbox {label:9s} {a.detached} x run -d: {total:6.2f} s "
                      f"({total / a.detached * 1000:.0f} ms each)")
        net = f"benchnet{os.getpid()}"
        run(as_user("network", "create", net))
        try:
            nets = [("rootless --network none", as_user(*true[:2], "--network", "none",
                                                        *true[2:])),
                     ("rootless --network USERNET (holder up)",
                      as_user(*true[:2], "--network", net, *true[2:]))]
            cold = as_user(*true[:2], "--network", "bridge", *true[2:])
            print(f"== rootless networks: run --rm busybox true (n={a.n}, interleaved) ==")
            report(list(interleaved(nets, a.n, run).items()), anchor="rootless --network none")
        finally:
            run(as_user("network", "rm", net))
        cold_t = timed(lambda: run(cold), max(3, a.n // 4))
        report([("rootless --network bridge (holder started + stopped)", cold_t)])
        ctx = os.path.join(shared, "ctx")
        os.makedirs(ctx)
        with open(os.path.join(ctx, "Dockerfile"), "w") as f:
            f.write("FROM busybox\nRUN echo one > /one\nCOPY Dockerfile /d\n"
                    "ENV A=1\nRUN echo two > /two\n")
        os.chmod(ctx, 0o755)
        builds = [("rootful cached build", as_root("build", "-q", "-t", "b:1", ctx)),
                  ("rootless cached build", as_user("build", "-q", "-t", "b:1", ctx))]
        for _, argv in builds:
            run(argv)                                   # fill the cache
        print(f"== a cached build, 4 steps all hits (n={a.n}, interleaved) ==")
        report(list(interleaved(builds, a.n, run).items()), anchor="rootful cached build")
    finally:
        for mk in (lambda *x: gbx_argv(rootful, "/root", None, x),
                   lambda *x: gbx_argv(uroot, home, user, x)):
            p = subprocess.run(mk("ps", "-a", "-q"), capture_output=True, text=True, cwd="/")
            if p.stdout.split():
                subprocess.run(mk("rm", "-f", *p.stdout.split()), capture_output=True, cwd="/")
        for hier in os.listdir("/sys/fs/cgroup"):
            try:
                os.rmdir(os.path.join("/sys/fs/cgroup", hier, f"glassbox-bench-{os.getpid()}"))
            except OSError:
                pass
        uid = pwd.getpwnam(user).pw_uid
        subprocess.run(["userdel", "-r", user], capture_output=True)
        shutil.rmtree(f"/tmp/glassbox-{uid}", ignore_errors=True)   # its runtime dir
        shutil.rmtree(shared, ignore_errors=True)


if __name__ == "__main__":
    main()
