"""The escape corpus side by side with Docker: the same static ``gbx-probe`` binary
(engine/glassbox/probe) in a real dockerd's busybox and in glassbox's, and glassbox
must block at least everything dockerd blocks — under ``run`` and under ``exec``.
Then through glassbox's own daemon, driven by the docker CLI: ``docker run`` of the
probe holds Docker's table, ``--read-only`` and ``--privileged`` do what they say.

The dockerd half runs when one answers (``bench/setup_anchors.sh`` starts a private
one at unix:///run/docker-bench.sock, busybox loaded from ``glassbox save``) and is
skipped with its reason otherwise; the daemon half needs only the docker CLI.
"""

from __future__ import annotations

import shutil
import subprocess
import uuid

import pytest
from test_daemon_docker import needs_docker
from test_registry_dockerd import docker, dockerd  # noqa: F401

from glassbox import probe
from glassbox.probe.expected import DOCKER_DEFAULT

pytestmark = pytest.mark.interop


@pytest.fixture
def probe_dir(tmp_path):
    built = probe.binary() or probe.build()
    if not built:
        pytest.skip("gbx-probe cannot be built here (no C compiler / static libc)")
    d = tmp_path / "probe"
    d.mkdir()
    shutil.copy2(built, d / "gbx-probe")
    return str(d)


def parse(p: subprocess.CompletedProcess, who: str) -> dict[str, probe.Attempt]:
    assert p.returncode == 0, f"{who}: {p.stderr.decode()}"
    return probe.parse(p.stdout.decode())


def at_least_as_strict(glassbox: dict, dockers: dict) -> dict:
    """Every line Docker blocks that glassbox does not: {name: (glassbox's, docker's)}."""
    return {n: (glassbox.get(n), d) for n, d in dockers.items()
            if d.verdict == "blocked" and (n not in glassbox or glassbox[n].verdict != "blocked")}


def side_by_side(glassbox: dict, dockers: dict) -> str:
    return "\n".join(f"{n:<16} glassbox {glassbox[n].verdict:<8} {glassbox[n].detail:<40} "
                     f"docker {d.verdict:<8} {d.detail}" for n, d in dockers.items() if n in glassbox)


def test_run_blocks_at_least_what_dockerd_blocks(gbx, dockerd, probe_dir):  # noqa: F811
    mine = parse(gbx.cli("run", "--rm", "-v", f"{probe_dir}:/probe:ro", "busybox",
                         "/probe/gbx-probe"), "glassbox")
    theirs = parse(docker("run", "--rm", "--network", "none", "-v", f"{probe_dir}:/probe:ro",
                          "busybox", "/probe/gbx-probe", check=False), "docker")
    print(side_by_side(mine, theirs))
    assert theirs["seccomp"].detail == "filter"          # the anchor really filters
    assert theirs["loop-control"].verdict == "blocked"   # ... and has its device cgroup
    assert not at_least_as_strict(mine, theirs), side_by_side(mine, theirs)


def test_exec_blocks_at_least_what_docker_exec_blocks(gbx, dockerd, probe_dir):  # noqa: F811
    name = f"esc-{uuid.uuid4().hex[:8]}"
    gbx.out("run", "-d", "--name", name, "-v", f"{probe_dir}:/probe:ro", "busybox",
            "sleep", "300")
    docker("run", "-d", "--name", name, "--network", "none", "-v", f"{probe_dir}:/probe:ro",
           "busybox", "sleep", "300")
    try:
        mine = parse(gbx.cli("exec", name, "/probe/gbx-probe"), "glassbox exec")
        theirs = parse(docker("exec", name, "/probe/gbx-probe", check=False), "docker exec")
    finally:
        gbx.cli("rm", "-f", name)
        docker("rm", "-f", name, check=False)
    print(side_by_side(mine, theirs))
    assert not at_least_as_strict(mine, theirs), side_by_side(mine, theirs)
    # neither lets its exec'd process reach a host binary through /proc/<pid>/exe
    assert mine["proc-exe"].verdict == theirs["proc-exe"].verdict == "blocked"


# ---- glassbox's daemon, driven by the docker CLI --------------------------------------
def daemon_probe(daemon, probe_dir, *flags):  # noqa: F811
    return parse(daemon.docker("run", "--rm", "-v", f"{probe_dir}:/probe:ro", *flags,
                               "busybox", "/probe/gbx-probe", check=False), "docker → glassbox")


@needs_docker
def test_docker_run_through_the_glassbox_daemon_holds_dockers_table(daemon, probe_dir):  # noqa: F811
    t = daemon_probe(daemon, probe_dir)
    wrong = {n: (t[n].verdict, t[n].detail) for n, want in DOCKER_DEFAULT.items()
             if want.verdict == "blocked" and t[n].verdict == "allowed"}
    assert not wrong, wrong
    assert t["loop-control"].verdict == t["mount"].verdict == "blocked"


@needs_docker
def test_docker_run_privileged_through_the_glassbox_daemon(daemon, probe_dir):  # noqa: F811
    t = daemon_probe(daemon, probe_dir, "--privileged")
    assert t["loop-control"].verdict == t["mount"].verdict == t["netns"].verdict == "allowed", t
    assert t["seccomp"].detail == "off"
    assert t["inherited-fds"].verdict == "blocked"


@needs_docker
def test_docker_run_read_only_through_the_glassbox_daemon(daemon, tmp_path):  # noqa: F811
    p = daemon.docker("run", "--rm", "--read-only", "--tmpfs", "/tmp", "busybox", "sh", "-c",
                      "touch /x 2>&1; touch /tmp/y && echo tmp-ok", check=False)
    assert b"Read-only file system" in p.stdout and b"tmp-ok" in p.stdout, p
    name = f"ro-{uuid.uuid4().hex[:8]}"
    daemon.docker("create", "--name", name, "--read-only", "busybox", "true")
    try:
        assert daemon.out("inspect", "-f", "{{.HostConfig.ReadonlyRootfs}}", name) == "true\n"
    finally:
        daemon.docker("rm", name)


READ_ONLY_SCRIPT = ("for f in /etc/hosts /etc/hostname /etc/resolv.conf /x /tmp/y /data/z /dev/q "
                    "/dev/shm/s; do (echo >> $f) 2>/dev/null && echo \"$f ok\" || echo \"$f refused\";"
                    " done")


def test_read_only_writes_where_dockerd_writes(gbx, dockerd, tmp_path):  # noqa: F811
    """``--read-only`` side by side: the same script, the same verdict on every path
    (rootfs and the network files refused; --tmpfs, volume, /dev, /dev/shm written)."""
    outs = []
    for who in ("glassbox", "docker"):
        vol = tmp_path / f"vol-{who}"
        vol.mkdir()
        args = ("run", "--rm", "--read-only", "--tmpfs", "/tmp", "-v", f"{vol}:/data", "busybox",
                "sh", "-c", READ_ONLY_SCRIPT)
        p = gbx.cli(*args) if who == "glassbox" else docker(args[0], "--network", "none",
                                                             *args[1:], check=False)
        assert p.returncode == 0, (who, p.stderr.decode())
        outs.append(p.stdout.decode())
        assert (vol / "z").read_text() == "\n", who
    assert outs[0] == outs[1], outs
    assert "/x refused" in outs[0] and "/etc/hosts refused" in outs[0] and "/tmp/y ok" in outs[0]
