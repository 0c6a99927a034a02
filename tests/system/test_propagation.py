"""Bind propagation on the real kernel (issue 20): ``-v SRC:DST:rslave`` follows what
the host mounts under SRC later; the default (rprivate) does not; inspect shows it.

The host side is the test's own: a tmp directory bound onto itself and made a
*shared* mount (a peer group for the container's slave to follow), a tmpfs mounted
under it while the containers run, both unmounted at the end.
"""

from __future__ import annotations

import json
import os
import subprocess

import pytest

pytestmark = pytest.mark.system


@pytest.fixture
def shared_dir(tmp_path):
    src = str(tmp_path / "hostsrc")
    os.makedirs(os.path.join(src, "sub"))
    subprocess.run(["mount", "--bind", src, src], check=True)
    subprocess.run(["mount", "--make-shared", src], check=True)
    try:
        yield src
    finally:
        subprocess.run(["umount", "-l", os.path.join(src, "sub")], capture_output=True)
        subprocess.run(["umount", "-l", src], check=True)
    with open("/proc/self/mountinfo") as f:
        assert src not in f.read(), "the test's own mounts were left behind"


def test_rslave_bind_follows_a_host_mount_and_rprivate_does_not(gbx, shared_dir):
    slave = gbx.out("run", "-d", "-v", f"{shared_dir}:/data:rslave", "busybox",
                    "sleep", "600").strip()
    private = gbx.out("run", "-d", "-v", f"{shared_dir}:/data", "busybox",
                      "sleep", "600").strip()
    try:
        sub = os.path.join(shared_dir, "sub")
        subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "gbxprop", sub], check=True)
        with open(os.path.join(sub, "hello"), "w") as f:
            f.write("from the host\n")
        assert gbx.out("exec", slave, "cat", "/data/sub/hello") == "from the host\n"
        p = gbx.cli("exec", private, "cat", "/data/sub/hello")
        assert p.returncode != 0                      # rprivate: the new mount stays out
        mounts = {m["Destination"]: m for m in json.loads(gbx.out("inspect", slave))[0]["Mounts"]}
        assert mounts["/data"]["Propagation"] == "rslave"
        mounts = {m["Destination"]: m for m in json.loads(gbx.out("inspect", private))[0]["Mounts"]}
        assert mounts["/data"]["Propagation"] == "rprivate"
    finally:
        gbx.cli("rm", "-f", slave, private)


def test_mount_flag_bind_propagation_and_a_bad_mode(gbx, shared_dir):
    out = gbx.out("run", "--rm", "--mount",
                  f"type=bind,src={shared_dir},dst=/d,bind-propagation=rshared",
                  "busybox", "grep", " /d ", "/proc/self/mountinfo")
    assert "shared:" in out, out               # the container's bind is in a peer group
    p = gbx.cli("run", "--rm", "--mount",
                f"type=bind,src={shared_dir},dst=/d,bind-propagation=sideways", "busybox", "true")
    assert p.returncode == 125 and b"sideways" in p.stderr, p.stderr



def test_a_slave_bind_of_a_private_mount_is_refused_as_docker_does(gbx, tmp_path):
    priv = str(tmp_path / "priv")
    os.makedirs(priv)
    subprocess.run(["mount", "--bind", priv, priv], check=True)
    try:
        subprocess.run(["mount", "--make-private", priv], check=True)
        for mode, words in (("rslave", b"not a shared or slave mount"),
                            ("rshared", b"not a shared mount")):
            p = gbx.cli("run", "--rm", "-v", f"{priv}:/d:{mode}", "busybox", "true")
            assert p.returncode == 125 and words in p.stderr and priv.encode() in p.stderr, \
                p.stderr
        assert gbx.engine.containers.list(all=True) == []
    finally:
        subprocess.run(["umount", priv], check=True)


# ---- --mount volume-subpath ------------------------------------------------------------
def test_volume_subpath_mounts_a_directory_of_the_volume(gbx):
    vol = "sub" + os.urandom(4).hex()
    gbx.out("run", "--rm", "-v", f"{vol}:/v", "busybox", "sh", "-c",
            "mkdir -p /v/logs/web && echo inside > /v/logs/web/f && echo top > /v/top && "
            "ln -s / /v/escape && ln -s logs /v/alias")
    try:
        out = gbx.out("run", "--rm", "--mount",
                      f"type=volume,src={vol},dst=/w,volume-subpath=logs/web",
                      "busybox", "sh", "-c", "cat /w/f; ls /w")
        assert out == "inside\nf\n"                          # only the sub-directory
        for sub, words in (("../../etc", "'..' is not allowed"),
                           ("/logs", "must be a relative path"),
                           ("escape", "is a symbolic link"),
                           ("alias/web", "is a symbolic link"),
                           ("top/x", "is not a directory"),
                           ("nothere", "does not exist in the volume")):
            p = gbx.cli("run", "--rm", "--mount",
                        f"type=volume,src={vol},dst=/w,volume-subpath={sub}", "busybox", "true")
            assert p.returncode == 125 and words.encode() in p.stderr, (sub, p.stderr)
        assert gbx.engine.containers.list(all=True) == []
        gbx.out("volume", "rm", vol)           # the refused creates left no reference
    finally:
        gbx.cli("volume", "rm", vol)


def test_a_subpath_swapped_for_a_link_after_create_is_refused_at_start(gbx):
    """The walk is done again at start: a container that replaced the directory by a
    symlink to / (between create and start) gets no host root."""
    vol = "swap" + os.urandom(4).hex()
    gbx.out("run", "--rm", "-v", f"{vol}:/v", "busybox", "mkdir", "/v/d")
    try:
        cid = gbx.out("create", "--mount", f"type=volume,src={vol},dst=/w,volume-subpath=d",
                      "busybox", "ls", "/w").strip()
        gbx.out("run", "--rm", "-v", f"{vol}:/v", "busybox", "sh", "-c",
                "rmdir /v/d && ln -s / /v/d")
        p = gbx.cli("start", "-a", cid)
        assert p.returncode != 0 and b"symbolic link" in p.stderr, (p.returncode, p.stderr)
        assert b"etc" not in p.stdout
        gbx.cli("rm", "-f", cid)
    finally:
        gbx.cli("volume", "rm", "-f", vol)
