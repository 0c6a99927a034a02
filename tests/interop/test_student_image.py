"""The Kubernetes student image (``deploy/kubernetes/Dockerfile``), built, run and
shipped with glassbox as a teacher would (issue 15).

Its production base, ``python:3.12-slim-bookworm``, cannot be pulled here (no registry
is reachable but PyPI's and Debian's), so ``deploy/kubernetes/local-base.sh`` makes one
of the same shape from Debian's mirror (debootstrap, Python 3.11) and the real
Dockerfile is built on it with ``--build-arg BASE=``; its RUN steps use apt and pip over
the host's network (``--network host``), as ``make setup`` does. Then, as uid 1000 in
the image: the quickstart notebook under nbclient (inside an unprivileged container the
lab's tier is whatever nested namespaces the container allows — user-space here — and
the gated cells must say why they are skipped, not fail), and the programs the CMD and
the lab need. Last, a push to Debian's ``docker-registry`` on loopback and a pull into
a fresh store.

Slow (a cold run ≈ 4–5 min: debootstrap ≈ 1 min, the build ≈ 2 min, the pull of 1 GB
≈ 1 min), so one module-scoped build serves every test, and the times are printed.
The debootstrapped root filesystem stays cached in /var/cache/glassbox/local-base
(``GLASSBOX_BASE_CACHE``); everything else is removed at the end.
"""

from __future__ import annotations

import glob
import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
import time
import uuid

import pytest

from glassbox.network.manager import default_bridge_name
from gbx_testlib import shim_pids, wait_for

pytestmark = [pytest.mark.interop, pytest.mark.timeout(1200)]

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
GLASSBOX = os.path.join(os.path.dirname(sys.executable), "glassbox")
LOCAL_BASE_SH = os.path.join(REPO, "deploy", "kubernetes", "local-base.sh")
BASE = "local/python:3.11-slim-bookworm"
TAG = f"glassbox-student:test-{uuid.uuid4().hex[:8]}"
PROXY_ARGS = ("HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "https_proxy", "NO_PROXY", "no_proxy")

# run inside the image as uid 1000: the quickstart under nbclient, one JSON line back
RUN_QUICKSTART = r"""
import json, os, nbformat
from nbclient import NotebookClient
nb = nbformat.read("notebooks/en/00-quickstart.ipynb", as_version=4)
NotebookClient(nb, timeout=300, kernel_name="python3").execute()
cells = []
for c in nb.cells:
    if c.cell_type != "code":
        continue
    outs = c.get("outputs", [])
    text = "\n".join(o.get("text") or o.get("data", {}).get("text/plain", "") for o in outs)
    cells.append({"source": c.source, "text": text,
                  "errors": [o.get("ename", "") + ": " + o.get("evalue", "")
                             for o in outs if o.get("output_type") == "error"]})
print("RESULT " + json.dumps({"uid": os.getuid(), "cells": cells}))
"""


class World:
    """One private state root and cgroup parent for the whole module."""

    def __init__(self, base_dir: str):
        self.base_dir = base_dir
        self.root = os.path.join(base_dir, "root")
        self.cgroup_parent = f"glassbox-test-{uuid.uuid4().hex[:10]}"
        self.env = dict(os.environ, GLASSBOX_ROOT=self.root, GLASSBOX_OFFLINE="1",
                        GLASSBOX_CGROUP_PARENT=self.cgroup_parent, GLASSBOX_AGENT="0",
                        GLASSBOX=GLASSBOX,
                        PATH=os.path.dirname(GLASSBOX) + ":" + os.environ.get("PATH", ""))
        self.times: dict[str, float] = {}
        self.notes: list[str] = []

    def cli(self, *args, timeout: float = 300, root: str | None = None,
            ) -> subprocess.CompletedProcess:
        env = dict(self.env, GLASSBOX_ROOT=root) if root else self.env
        return subprocess.run([GLASSBOX, *args], env=env, cwd=REPO, capture_output=True,
                              text=True, timeout=timeout)

    def timed(self, name: str, argv: list[str], timeout: float) -> subprocess.CompletedProcess:
        t0 = time.monotonic()
        p = subprocess.run(argv, env=self.env, cwd=REPO, capture_output=True, text=True,
                           timeout=timeout)
        self.times[name] = time.monotonic() - t0
        return p

    def cgroups(self) -> list[str]:
        """Cgroups inside the module's parent, in any hierarchy."""
        found = []
        for hier in os.listdir("/sys/fs/cgroup"):
            parent = os.path.join("/sys/fs/cgroup", hier, self.cgroup_parent)
            if os.path.isdir(parent):
                found += [e.path for e in os.scandir(parent) if e.is_dir()]
        return found

    def leaks(self, root: str) -> list[str]:
        """What a finished run left: containers, shims, mounts, cgroups. A container's
        monitor removes its cgroup just after the CLI returns: wait for it (as conftest)."""
        wait_for(lambda: not shim_pids(root) and not self.cgroups(), timeout=20)
        found = []
        ps = self.cli("ps", "-aq", root=root)
        if ps.stdout.strip():
            found.append(f"containers left: {ps.stdout.split()}")
        if shim_pids(root):
            found.append(f"shims left: {sorted(shim_pids(root))}")
        with open("/proc/self/mountinfo") as f:
            mounts = [ln.split()[4] for ln in f if ln.split()[4].startswith(root)]
        if mounts:
            found.append(f"mounts left: {mounts}")
        if self.cgroups():
            found.append(f"cgroups left: {self.cgroups()}")
        bridge = default_bridge_name(root)      # --rm runs on the default network
        if os.path.exists(f"/sys/class/net/{bridge}"):
            found.append(f"bridge {bridge} left")
        return found


@pytest.fixture(scope="module")
def world(tmp_path_factory, request):
    if os.geteuid() != 0:
        pytest.skip("needs root (debootstrap, glassbox build)")
    w = World(str(tmp_path_factory.mktemp("student-image")))
    yield w
    leaks = w.leaks(w.root)
    for hier in os.listdir("/sys/fs/cgroup"):      # the parent dirs the runs made
        parent = os.path.join("/sys/fs/cgroup", hier, w.cgroup_parent)
        for path, _, _ in sorted(os.walk(parent), key=lambda e: len(e[0]), reverse=True):
            try:
                os.rmdir(path)
            except OSError:
                pass
    if not leaks:   # a 1.5 GB store: not kept by pytest's tmp retention
        shutil.rmtree(w.base_dir, ignore_errors=True)
    # the times, on the terminal even under -q (output capture set aside, as capsys.disabled)
    rep = request.config.pluginmanager.getplugin("terminalreporter")
    capman = request.config.pluginmanager.getplugin("capturemanager")
    if rep is not None and capman is not None:
        times = ", ".join(f"{k} {v:.0f} s" for k, v in w.times.items())
        with capman.global_and_fixture_disabled():
            rep.write_line(f"\nstudent image (deploy/kubernetes): {times}; total "
                           f"{sum(w.times.values()):.0f} s")
            for note in w.notes:
                rep.write_line(f"  {note}")
    assert not leaks, leaks


@pytest.fixture(scope="module")
def base(world):
    """The local stand-in for python:3.12-slim-bookworm, in the module's store."""
    cache = os.environ.get("GLASSBOX_BASE_CACHE", "/var/cache/glassbox/local-base")
    if shutil.which("debootstrap") is None and not glob.glob(os.path.join(cache, "rootfs-*.tar")):
        pytest.skip("debootstrap is not installed (make setup installs it)")
    p = world.timed("base", ["bash", LOCAL_BASE_SH, BASE], timeout=900)
    assert p.returncode == 0, p.stdout[-2000:] + p.stderr[-3000:]
    world.notes.append("base: " + " | ".join(ln for ln in p.stderr.splitlines()
                                              if ln.startswith("local-base:")))
    again = world.timed("base again", ["bash", LOCAL_BASE_SH, BASE], timeout=60)
    assert again.returncode == 0 and "already in the store" in again.stderr, again.stderr
    return BASE


def test_local_base_refuses_a_bad_name_before_any_work(tmp_path):
    env = dict(os.environ, GLASSBOX_ROOT=str(tmp_path / "root"), GLASSBOX=GLASSBOX,
               GLASSBOX_BASE_CACHE=str(tmp_path / "cache"))
    p = subprocess.run(["bash", LOCAL_BASE_SH, "Not A/Name!"], env=env, capture_output=True,
                       text=True, timeout=60)
    assert p.returncode == 1
    assert "'Not A/Name!' is not an image name" in p.stderr, p.stderr
    assert not os.path.exists(tmp_path / "cache") and not os.path.exists(tmp_path / "root")


@pytest.fixture(scope="module")
def built(world, base):
    """The Dockerfile built as the README says, on the local base, RUN over the host's
    network; the host's proxy settings go in as Docker's predefined build args."""
    proxies = [a for k in PROXY_ARGS if k in os.environ for a in ("--build-arg",
                                                                   f"{k}={os.environ[k]}")]
    p = world.timed("build", [GLASSBOX, "build", "--build-arg", f"BASE={base}", *proxies,
                              "--network", "host", "-f", "deploy/kubernetes/Dockerfile",
                              "-t", TAG, "."], timeout=1200)
    assert p.returncode == 0, p.stdout[-4000:] + p.stderr[-3000:]
    steps = [ln.strip() for ln in p.stdout.splitlines()
             if re.match(r"\[\d+/\d+\] |\s*✔ ", ln)]
    world.notes.append("build steps: " + " ".join(s[:60] for s in steps))
    return p.stdout


def run_in_image(world, *argv, timeout: float = 300) -> subprocess.CompletedProcess:
    p = world.cli("run", "--rm", "--user", "1000", TAG, *argv, timeout=timeout)
    assert world.leaks(world.root) == []
    return p


def test_the_dockerfile_builds_on_the_local_base(world, built):
    # the progress a user sees: every step numbered, the RUNs timed, the tag at the end
    assert "[1/11] FROM ${BASE}" in built and "[11/11] CMD" in built, built[-3000:]
    assert f"Successfully tagged {TAG}" in built
    assert "Successfully installed" in built and "jupyterlab-" in built   # pip, from PyPI
    images = world.cli("images")
    assert images.returncode == 0
    rows = {tuple(ln.split()[:2]): ln for ln in images.stdout.splitlines()[1:]}
    name, tag = TAG.split(":")
    assert (name, tag) in rows and ("local/python", "3.11-slim-bookworm") in rows, images.stdout
    world.notes.append("glassbox images: " + " | ".join(
        " ".join(rows[k].split()[:2] + rows[k].split()[-1:])
        for k in ((name, tag), ("local/python", "3.11-slim-bookworm"))))
    # the config the chart relies on: uid 1000, the singleuser server as the command
    cfg = json.loads(world.cli("image", "inspect", TAG).stdout)[0]["Config"]
    assert cfg["User"] == "1000" and cfg["Cmd"] == ["jupyterhub-singleuser"], cfg
    assert "8888/tcp" in cfg["ExposedPorts"]
    assert "PIP_BREAK_SYSTEM_PACKAGES=1" in cfg["Env"]   # from the local base
    # .dockerignore kept this machine's venv, git, node_modules and caches out
    p = run_in_image(world, "sh", "-c", "cd /opt/glassbox && ls -a . labext && "
                     "find . -name node_modules -o -name __pycache__ | head -3 && du -sk .")
    assert p.returncode == 0, p.stderr
    listed = p.stdout.split()
    for gone in (".git", ".venv", "node_modules", ".mypy_cache", ".ruff_cache", "__pycache__"):
        assert gone not in listed, (gone, p.stdout)
    assert "pyproject.toml" in listed and "notebooks" in listed and "engine" in listed
    assert int(listed[-2]) < 50_000, f"the copied context is {listed[-2]} kB"


def test_quickstart_runs_under_nbclient_as_uid_1000(world, built):
    t0 = time.monotonic()
    p = run_in_image(world, "python", "-c", RUN_QUICKSTART)
    world.times["quickstart"] = time.monotonic() - t0
    assert p.returncode == 0, p.stdout[-3000:] + p.stderr[-3000:]
    line = next(ln for ln in p.stdout.splitlines() if ln.startswith("RESULT "))
    result = json.loads(line[len("RESULT "):])
    assert result["uid"] == 1000
    cells = result["cells"]
    assert [c["errors"] for c in cells if c["errors"]] == [], cells
    doctor = next(c["text"] for c in cells if "gj.doctor()" in c["source"])
    m = re.search(r"tier: (full|rootless \(limits\)|rootless|user-space) — ", doctor)
    assert m, doctor
    assert "running as uid 1000" in doctor, doctor   # the doctor saw the student, not root
    world.notes.append(f"quickstart tier inside the image: {m.group(1)}")
    gated = next(c["text"] for c in cells if c["source"].startswith("%%needs containers"))
    if m.group(1) == "user-space":     # nested user namespaces refused: skipped, with why
        assert "Cell skipped" in gated and "Why: " in gated, gated
    else:
        assert "hello" in gated, gated
    layers = next(c["text"] for c in cells if "gj.layers" in c["source"])
    assert "busybox" in layers, layers     # the student's own store has the base image


def test_the_cmd_and_the_lab_exist_for_uid_1000(world, built):
    p = run_in_image(world, "sh", "-c", "id -u && jupyterhub-singleuser --help >/dev/null && "
                     "echo singleuser-ok && jupyter lab --version && "
                     "jupyter labextension list 2>&1 && glassbox images")
    assert p.returncode == 0, p.stdout[-2000:] + p.stderr[-2000:]
    out = p.stdout.splitlines()
    assert out[0] == "1000" and "singleuser-ok" in out
    assert re.fullmatch(r"4\.\d+\.\d+", out[out.index("singleuser-ok") + 1]), out
    assert any("glassbox-lab" in ln and "enabled" in ln for ln in out), out   # the panel
    assert any(ln.split()[:2] == ["busybox", "latest"] for ln in out), out


def test_a_teacher_pushes_it_and_a_fresh_store_pulls_it(world, built, registry, gbx_config):
    ref = f"{registry.host}/class/glassbox-student:0.1.0"
    assert world.cli("tag", TAG, ref).returncode == 0
    t0 = time.monotonic()
    p = world.cli("push", ref, timeout=600)
    world.times["push"] = time.monotonic() - t0
    assert p.returncode == 0, p.stderr[-3000:]
    digest = re.search(r"digest: (sha256:[0-9a-f]{64})", p.stdout)
    assert digest, p.stdout
    # the registry holds what a Kubernetes node would pull: newuidmap still setuid root
    # (glassbox strips setid bits when it unpacks locally; the pushed layer keeps them)
    modes = {}
    for blob in glob.glob(os.path.join(registry.storage, "**", "data"), recursive=True):
        try:
            with tarfile.open(blob) as tf:
                for m in tf:
                    if m.name.lstrip("./") == "usr/bin/newuidmap":
                        modes[blob] = m.mode
        except tarfile.TarError:
            continue    # a manifest or config blob
    assert modes and all(mode & 0o4000 for mode in modes.values()), modes
    fresh = os.path.join(world.base_dir, "fresh-root")
    try:
        t0 = time.monotonic()
        p = world.cli("pull", ref, root=fresh, timeout=900)
        world.times["pull"] = time.monotonic() - t0
        assert p.returncode == 0, p.stderr[-3000:]
        assert f"Digest: {digest.group(1)}" in p.stdout, p.stdout
        ids = [json.loads(world.cli("image", "inspect", r, root=root).stdout)[0]["Id"]
               for r, root in ((TAG, world.root), (ref, fresh))]
        assert ids[0] == ids[1]
        p = world.cli("run", "--rm", "--user", "1000", ref, "jupyter", "lab", "--version",
                      root=fresh)
        assert p.returncode == 0 and re.fullmatch(r"4\.\d+\.\d+\n", p.stdout), p.stderr
        assert world.leaks(fresh) == []
        assert world.cli("rmi", ref, root=fresh).returncode == 0
    finally:   # 1 GB each: not left to pytest's tmp retention
        if not world.leaks(fresh):
            shutil.rmtree(fresh, ignore_errors=True)
        shutil.rmtree(registry.storage, ignore_errors=True)
