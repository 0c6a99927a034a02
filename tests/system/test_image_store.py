"""The image store on the real kernel, as root: ownership, overlay markers, crashes.

* unpacked layers keep numeric owners and carry overlay's own whiteout markers,
  so the real overlayfs stacks them as lowerdirs and hides what was deleted;
* a ``kill -9`` in the middle of an import (or just before the index write)
  never leaves a half image listed, and ``gc()`` removes the debris.

Overlay mounts happen inside ``unshare -m`` so no mount can leak to the host.
"""

import gzip
import io
import os
import signal
import stat
import subprocess
import sys
import tarfile
import textwrap
import time

import pytest

from glassbox.images import ImageStore

pytestmark = [pytest.mark.system,
              pytest.mark.skipif(os.geteuid() != 0, reason="needs root")]


def tar_bytes(entries):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as t:
        for name, kind, data, kw in entries:
            ti = tarfile.TarInfo(name)
            ti.type = kind
            ti.mtime = 1_600_000_000
            for k, v in kw.items():
                setattr(ti, k, v)
            if kind == tarfile.REGTYPE:
                ti.size = len(data)
                t.addfile(ti, io.BytesIO(data))
            else:
                t.addfile(ti)
    return buf.getvalue()


def mounts_under(path):
    with open("/proc/self/mountinfo") as f:
        return [l for l in f if f" {path}" in l]


@pytest.fixture
def store(tmp_path):
    s = ImageStore(tmp_path / "root")
    yield s
    assert mounts_under(str(tmp_path)) == []


def test_real_ownership_modes_and_xattrs(store):
    data = tar_bytes([
        ("home", tarfile.DIRTYPE, b"", {"uid": 1000, "gid": 1000, "mode": 0o750}),
        ("home/f", tarfile.REGTYPE, b"x", {"uid": 1234, "gid": 5678, "mode": 0o640,
                                           "pax_headers": {"SCHILY.xattr.user.k": "v"}}),
        ("home/l", tarfile.SYMTYPE, b"", {"linkname": "f", "uid": 42, "gid": 43}),
        ("bin/ping", tarfile.REGTYPE, b"\x7fELF", {"mode": 0o4755}),
    ])
    im = store.import_tarball(io.BytesIO(data), "own:1")
    d = im.layer_dirs[0]
    st = os.lstat(os.path.join(d, "home/f"))
    assert (st.st_uid, st.st_gid, stat.S_IMODE(st.st_mode)) == (1234, 5678, 0o640)
    assert os.getxattr(os.path.join(d, "home/f"), "user.k") == b"v"
    st = os.lstat(os.path.join(d, "home/l"))
    assert (st.st_uid, st.st_gid) == (42, 43)
    st = os.lstat(os.path.join(d, "home"))
    assert (st.st_uid, st.st_gid, stat.S_IMODE(st.st_mode)) == (1000, 1000, 0o750)
    assert stat.S_IMODE(os.stat(os.path.join(d, "bin/ping")).st_mode) == 0o755
    assert any("setuid" in w for w in store.layer_meta(im.layers[0].diff_id)["warnings"])


def test_unpacked_layers_stack_in_a_real_overlay(store, tmp_path):
    base = store.import_tarball(io.BytesIO(tar_bytes([
        ("etc", tarfile.DIRTYPE, b"", {"mode": 0o755}),
        ("etc/passwd", tarfile.REGTYPE, b"root\n", {}),
        ("etc/keep", tarfile.REGTYPE, b"keep\n", {}),
        ("var", tarfile.DIRTYPE, b"", {"mode": 0o755}),
        ("var/old1", tarfile.REGTYPE, b"1", {}),
        ("var/old2", tarfile.REGTYPE, b"2", {}),
    ])), "base:1")
    # a container's upper dir: /etc/passwd deleted, /var replaced wholesale
    up = tmp_path / "upper"
    (up / "etc").mkdir(parents=True)
    os.mknod(up / "etc" / "passwd", stat.S_IFCHR, os.makedev(0, 0))
    (up / "var").mkdir()
    os.setxattr(up / "var", "trusted.overlay.opaque", b"y")
    (up / "var" / "new").write_text("new\n")
    layer = store.create_layer(up)
    im = store.put_image({"config": {"Cmd": ["sh"]}}, list(base.layers) + [layer], ["top:1"])

    top = im.layer_dirs[1]
    wh = os.lstat(os.path.join(top, "etc/passwd"))
    assert stat.S_ISCHR(wh.st_mode) and wh.st_rdev == 0
    assert os.getxattr(os.path.join(top, "var"), "trusted.overlay.opaque") == b"y"

    merged = tmp_path / "merged"
    merged.mkdir()
    lower = ":".join(reversed(im.layer_dirs))
    out = subprocess.run(
        ["unshare", "-m", "--propagation", "private", "sh", "-c",
         f"mount -t overlay overlay -o lowerdir={lower} {merged} && "
         f"ls -A {merged}/etc {merged}/var && cat {merged}/etc/keep"],
        capture_output=True, text=True, timeout=30)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == [f"{merged}/etc:", "keep", f"{merged}/var:", "new", "keep"]


def _child_script(root, mode):
    return textwrap.dedent(f"""
        import os, signal, sys
        from glassbox.images import ImageStore
        s = ImageStore({str(root)!r})
        if {mode!r} == "before-index":
            orig = s._index_txn
            def boom():
                os.kill(os.getpid(), signal.SIGKILL)
            s._index_txn = boom
        print("ready", flush=True)
        s.import_tarball(sys.stdin.buffer, "crash:1")
        print("done", flush=True)
    """)


def _big_rootfs(n=40, size=200_000):
    entries = [("data", tarfile.DIRTYPE, b"", {"mode": 0o755})]
    entries += [(f"data/f{i}", tarfile.REGTYPE, os.urandom(size), {}) for i in range(n)]
    return gzip.compress(tar_bytes(entries), compresslevel=1)


def _spawn(root, mode):
    return subprocess.Popen([sys.executable, "-c", _child_script(root, mode)],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=False)


def _wait_for(pred, timeout=20):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if pred():
            return True
        time.sleep(0.02)
    return False


def test_kill9_during_import_leaves_no_image(store):
    data = _big_rootfs()
    p = _spawn(store.root, "mid-stream")
    try:
        assert p.stdout.readline() == b"ready\n"
        p.stdin.write(data[: len(data) // 2])
        p.stdin.flush()
        # the child is now blocked reading the rest: partial layer dir and blob are in tmp/
        assert _wait_for(lambda: len(os.listdir(store.tmp_dir)) >= 2)
        assert _wait_for(lambda: any(os.scandir(os.path.join(store.tmp_dir, n)) for n in
                                     os.listdir(store.tmp_dir) if n.startswith("layer-")))
    finally:
        p.kill()
        p.wait()
    assert p.returncode == -signal.SIGKILL
    assert store.list() == []
    assert any("partial" in x for x in store.check())
    rep = store.gc()
    assert len(rep["tmp"]) >= 2
    assert os.listdir(store.tmp_dir) == [] and store.check() == []
    assert os.listdir(store.blobs_dir) == [] and os.listdir(store.layers_dir) == []


def test_kill9_just_before_the_index_write(store):
    data = _big_rootfs(n=3, size=10_000)
    p = _spawn(store.root, "before-index")
    assert p.stdout.readline() == b"ready\n"
    p.communicate(data, timeout=60)
    assert p.returncode == -signal.SIGKILL
    # every blob and the unpacked layer were complete, but no image was recorded
    assert os.listdir(store.blobs_dir) and os.listdir(store.layers_dir)
    assert store.list() == []
    rep = store.gc()
    assert rep["blobs"] and rep["layers"]
    assert os.listdir(store.blobs_dir) == [] and os.listdir(store.layers_dir) == []
    assert os.listdir(store.diffids_dir) == []


def test_concurrent_writers_do_not_corrupt_the_index(store, tmp_path):
    """Several processes tagging at once: every tag lands, the index stays valid JSON."""
    im = store.import_tarball(io.BytesIO(tar_bytes([("f", tarfile.REGTYPE, b"1", {})])), "base:1")
    script = textwrap.dedent(f"""
        import sys
        from glassbox.images import ImageStore
        s = ImageStore({str(store.root)!r})
        for i in range(20):
            s.tag("base:1", f"t{{sys.argv[1]}}:{{i}}")
    """)
    procs = [subprocess.Popen([sys.executable, "-c", script, str(n)]) for n in range(4)]
    for p in procs:
        assert p.wait(timeout=60) == 0
    tags = store.resolve("base:1").repo_tags
    assert len(tags) == 1 + 4 * 20
    assert store.resolve("t3:19").id == im.id
