"""Seccomp through the real docker CLI talking to glassbox's daemon: ``docker info``
lists the profile as dockerd does, ``docker run`` containers are filtered, and
``--security-opt seccomp=FILE`` (which the docker CLI reads and sends inline, as
compact JSON) is the profile applied and the one ``docker inspect`` shows."""

from __future__ import annotations

import json

import pytest

from test_daemon_docker import Daemon, needs_docker  # noqa: F401

pytestmark = [pytest.mark.interop]


@needs_docker
def test_docker_info_lists_seccomp_builtin(daemon):
    opts = json.loads(daemon.out("info", "--format", "{{json .SecurityOptions}}"))
    assert "name=seccomp,profile=builtin" in opts, opts
    # the docker CLI's own rendering of it
    assert "seccomp" in daemon.out("info") and "builtin" in daemon.out("info")


@needs_docker
def test_docker_run_is_filtered_unless_unconfined(daemon):
    out = daemon.out("run", "--rm", "busybox", "grep", "^Seccomp:", "/proc/self/status")
    assert out.split() == ["Seccomp:", "2"], out
    p = daemon.docker("run", "--rm", "busybox", "unshare", "-U", "true", check=False)
    assert p.returncode != 0 and b"Operation not permitted" in p.stderr, p.stderr
    out = daemon.out("run", "--rm", "--security-opt", "seccomp=unconfined", "busybox",
                     "grep", "^Seccomp:", "/proc/self/status")
    assert out.split() == ["Seccomp:", "0"], out
    out = daemon.out("run", "--rm", "--privileged", "busybox", "grep", "^Seccomp:",
                     "/proc/self/status")
    assert out.split() == ["Seccomp:", "0"], out


@needs_docker
def test_docker_run_with_a_profile_file(daemon, tmp_path):
    from glassbox.seccomp.cache import DEFAULT_PATH
    with open(DEFAULT_PATH) as f:
        prof = json.load(f)
    prof["syscalls"][0]["names"].remove("uname")            # `uname` must now fail
    path = tmp_path / "no-uname.json"
    path.write_text(json.dumps(prof, indent=4))
    # busybox's uname prints an empty name when uname(2) fails (here: EPERM)
    out = daemon.out("run", "--rm", "--security-opt", f"seccomp={path}", "busybox", "uname")
    assert out.strip() == "", out
    assert daemon.out("run", "--rm", "busybox", "uname").strip() == "Linux"
    cid = daemon.out("create", "--security-opt", f"seccomp={path}", "busybox").strip()
    try:
        sec = json.loads(daemon.out("inspect", "--format", "{{json .HostConfig.SecurityOpt}}",
                                    cid))
        assert len(sec) == 1 and sec[0].startswith("seccomp={")
        assert json.loads(sec[0][len("seccomp="):]) == prof
    finally:
        daemon.docker("rm", cid)


@needs_docker
def test_docker_run_with_a_bad_profile_is_refused(daemon, tmp_path):
    path = tmp_path / "bad.json"
    path.write_text(json.dumps({"defaultAction": "SCMP_ACT_ERRNO",
                                "architectures": ["SCMP_ARCH_Z80"]}))
    p = daemon.docker("run", "--rm", "--security-opt", f"seccomp={path}", "busybox", "true",
                      check=False)
    assert p.returncode == 125 and b"architectures[0]" in p.stderr, p.stderr
    assert daemon.out("ps", "-aq") == ""
