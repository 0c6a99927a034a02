"""Nothing but the container's own procfs goes at ``/proc`` or inside it (runc's
``checkProcMount``, so Docker's): a bind over ``/proc/sys`` would undo the
read-only and masked paths, and under an ``rshared`` bind a mount placed there
would travel to the host. The path as written is refused at create; a path that
only reaches ``/proc`` through a symlink in the image is refused at start. The
files lxcfs emulates (``/proc/uptime``, ``/proc/meminfo`` …) may be covered."""

from __future__ import annotations

import os

import pytest

pytestmark = pytest.mark.system


@pytest.mark.parametrize("flag,target,why", [
    ("-v", "/proc/sys", "inside /proc"),
    ("-v", "/proc/sysrq-trigger", "inside /proc"),
    ("-v", "/proc", "not of type proc"),
    ("-v", "/x/../proc/kcore", "inside /proc"),
    ("--tmpfs", "/proc/x", "inside /proc"),
])
def test_a_mount_at_or_inside_proc_is_refused_at_create(gbx, tmp_path, flag, target, why):
    src = tmp_path / "src"
    src.mkdir()
    spec = f"{src}:{target}" if flag == "-v" else target
    p = gbx.cli("run", "--rm", flag, spec, "busybox", "true")
    assert p.returncode == 125
    assert f"cannot be mounted because it is {why}" in p.stderr.decode()
    assert gbx.out("ps", "-aq").strip() == ""          # nothing created


def test_a_symlink_in_the_image_that_leads_into_proc_is_refused_at_start(gbx, tmp_path):
    ctx = tmp_path / "ctx"
    ctx.mkdir()
    (ctx / "Dockerfile").write_text("FROM busybox\nRUN ln -s /proc/sys /data\n")
    gbx.out("build", "-q", "-t", "proclink:1", str(ctx))
    src = tmp_path / "src"
    src.mkdir()
    for args in (["-v", f"{src}:/data"], ["--tmpfs", "/data"]):
        p = gbx.cli("run", "--rm", *args, "proclink:1", "true")
        assert p.returncode == 125, p.stderr
        assert ('error mounting at "/data": "/proc/sys" cannot be mounted because it is '
                'inside /proc') in p.stderr.decode()
    assert gbx.out("ps", "-aq").strip() == ""          # --rm: the failed start left nothing
    # the host's directory was never written through the link
    assert os.listdir(src) == []


def test_the_files_lxcfs_emulates_may_be_covered(gbx, tmp_path):
    fake = tmp_path / "uptime"
    fake.write_text("12.50 3.00\n")
    out = gbx.out("run", "--rm", "-v", f"{fake}:/proc/uptime:ro", "busybox",
                  "cat", "/proc/uptime")
    assert out == "12.50 3.00\n"
