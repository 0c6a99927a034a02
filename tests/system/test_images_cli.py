"""Images through the real CLI: the read/write layer, diff, commit, tag, rmi,
history, save/load, prune, system df — the seed's image and commit passages."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time

import pytest

pytestmark = pytest.mark.system


def test_diff_commit_history_and_run_the_new_version(gbx):
    p = gbx.cli("run", "--name", "c1", "busybox", "sh", "-c", "echo hi > /hello; rm /bin/vi")
    assert p.returncode == 0, p.stderr
    diff = gbx.out("diff", "c1").splitlines()
    assert "A /hello" in diff and "D /bin/vi" in diff and "C /bin" in diff
    iid = gbx.out("commit", "-m", "add hello", "-a", "student", "-c", 'CMD ["cat","/hello"]',
                  "c1", "mybox:2").strip()
    assert iid.startswith("sha256:")
    assert gbx.cli("run", "--rm", "mybox:2").stdout == b"hi\n"
    assert gbx.cli("run", "--rm", "mybox:2", "ls", "/bin/vi").returncode != 0
    hist = gbx.out("history", "mybox:2")
    assert "add hello" in hist and hist.splitlines()[0].split()[:2] == ["IMAGE", "CREATED"]
    doc = json.loads(gbx.out("image", "inspect", "mybox:2"))[0]
    base = json.loads(gbx.out("image", "inspect", "busybox"))[0]
    assert doc["Config"]["Cmd"] == ["cat", "/hello"] and doc["Author"] == "student"
    # the new image = the base's layers + one: the base layer is shared, not copied
    assert doc["RootFS"]["Layers"][:-1] == base["RootFS"]["Layers"]
    assert len(doc["RootFS"]["Layers"]) == len(base["RootFS"]["Layers"]) + 1
    df = gbx.out("system", "df", "-v")
    assert "Images" in df and "Containers" in df


def test_commit_of_a_running_container_pauses_it(gbx):
    gbx.out("run", "-d", "--name", "live", "busybox", "sh", "-c",
            "echo x > /x; sleep 600")
    for _ in range(100):
        if "A /x" in gbx.out("diff", "live"):
            break
        time.sleep(0.05)
    gbx.out("commit", "live", "live:1")
    assert gbx.engine.containers.get("live").status == "running"   # thawed again
    assert gbx.cli("run", "--rm", "live:1", "cat", "/x").stdout == b"x\n"
    gbx.out("rm", "-f", "live")


def test_tag_rmi_untag_refuse_in_use_and_force(gbx):
    gbx.out("tag", "busybox", "mybox:1")
    images = gbx.out("images")
    assert "mybox" in images and "busybox" in images
    assert images.splitlines()[0].split() == ["REPOSITORY", "TAG", "IMAGE", "ID", "CREATED",
                                              "SIZE"]
    assert "sha256:" in gbx.out("images", "--digests")
    out = gbx.out("rmi", "mybox:1")
    assert "Untagged: mybox:1" in out and "Deleted" not in out    # busybox still tags it
    gbx.out("create", "--name", "user", "busybox", "true")
    p = gbx.cli("rmi", "busybox")
    assert p.returncode != 0 and b"container" in p.stderr.lower()
    assert "busybox" in gbx.out("images")
    gbx.out("rmi", "-f", "busybox")
    assert gbx.engine.containers.get("user")          # the container keeps its layers
    gbx.out("rm", "user")


def test_bad_references_are_rejected(gbx):
    for ref in ("UPPER:case", "bad ref", "x@sha256:nothex"):
        p = gbx.cli("tag", "busybox", ref)
        assert p.returncode == 125 and b"invalid reference format" in p.stderr, ref
    p = gbx.cli("rmi", "nosuch:image")
    assert p.returncode != 0 and b"No such image" in p.stderr


@pytest.mark.parametrize("fmt", ["docker", "oci"])
def test_save_rmi_load_round_trip(gbx, tmp_path, fmt):
    gbx.cli("run", "--name", "cx", "busybox", "sh", "-c", "echo saved > /s")
    gbx.out("commit", "cx", "keep:1")
    gbx.out("rm", "cx")
    tar = tmp_path / "keep.tar"
    gbx.out("save", "--format", fmt, "-o", str(tar), "keep:1")
    assert tar.stat().st_size > 1_000_000
    gbx.out("rmi", "keep:1")
    assert "keep" not in gbx.out("images")
    out = gbx.out("load", "-i", str(tar))
    assert "keep:1" in out
    assert gbx.cli("run", "--rm", "keep:1", "cat", "/s").stdout == b"saved\n"


@pytest.mark.parametrize("fmt", ["docker", "oci"])
def test_save_to_stdout_is_the_same_archive_and_a_corrupt_layer_fails(gbx, tmp_path, fmt):
    tar = tmp_path / "bb.tar"
    gbx.out("save", "--format", fmt, "-o", str(tar), "busybox")
    piped = gbx.cli("save", "--format", fmt, "busybox", check=True).stdout   # a pipe
    assert piped == tar.read_bytes()
    if fmt == "oci":
        return
    store = gbx.engine.images
    path = store.blob_path(store.resolve("busybox").layers[0].digest)
    mode = os.stat(path).st_mode
    os.chmod(path, 0o644)
    with open(path, "rb") as f:
        good = f.read()
    bad = bytearray(good)
    bad[len(bad) // 2] ^= 0xFF              # one byte of the gzip blob: inflates wrong
    with open(path, "wb") as f:
        f.write(bad)
    out = tmp_path / "corrupt.tar"
    p = gbx.cli("save", "-o", str(out), "busybox")
    assert p.returncode != 0 and b"corrupt" in p.stderr
    assert [f for f in os.listdir(tmp_path) if f.startswith("corrupt")] == []  # nor .tmp
    with open(path, "wb") as f:             # put it back: teardown checks the store
        f.write(good)
    os.chmod(path, mode)


def test_image_prune_and_system_check(gbx):
    gbx.cli("run", "--name", "cx", "busybox", "sh", "-c", "echo 1 > /a")
    gbx.out("commit", "cx")                       # dangling (untagged) image
    gbx.out("rm", "cx")
    before = len(gbx.out("images", "-a", "-q").split())
    gbx.out("image", "prune", "-f")
    assert len(gbx.out("images", "-a", "-q").split()) == before - 1
    report = gbx.out("system", "check")
    assert "containers_cleaned" in report


def test_kill_9_during_load_leaves_no_half_image(gbx, tmp_path):
    gbx.cli("run", "--name", "cx", "busybox", "sh", "-c", "head -c 20000000 /dev/urandom > /big")
    gbx.out("commit", "cx", "big:1")
    gbx.out("rm", "cx")
    tar = tmp_path / "big.tar"
    gbx.out("save", "-o", str(tar), "big:1")
    gbx.out("rmi", "big:1")
    for delay in (0.05, 0.2):
        p = gbx.popen("load", "-i", str(tar), stdout=subprocess.DEVNULL,
                      stderr=subprocess.DEVNULL)
        time.sleep(delay)
        p.send_signal(signal.SIGKILL)
        p.wait()
        listed = gbx.out("images", "--format", "json")
        for line in listed.splitlines():
            img = json.loads(line)
            if img["Repository"] == "big":        # if listed at all, it must be whole
                assert gbx.cli("run", "--rm", "big:1", "true").returncode == 0
        gbx.out("system", "check")
    gbx.out("load", "-i", str(tar))
    assert gbx.cli("run", "--rm", "big:1", "wc", "-c", "/big").stdout.split()[0] == b"20000000"
