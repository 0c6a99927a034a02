"""``--read-only`` on the real kernel: the rootfs refuses writes (EROFS) and the
container's upper layer stays empty, while what Docker leaves writable stays so —
``--tmpfs`` mounts, volumes, ``/dev`` and ``/dev/shm`` — and the generated
/etc/hosts, /etc/hostname and /etc/resolv.conf become read-only as in Docker."""

from __future__ import annotations

import json
import os
import uuid

import pytest

pytestmark = pytest.mark.system

SCRIPT = """
try() { if sh -c "$2" 2>/dev/null; then echo "$1 ok"; else echo "$1 refused"; fi; }
try root 'touch /probe-root'
try etc 'echo x > /etc/probe-etc'
try tmp 'echo x > /tmp/t && cat /tmp/t >/dev/null'
try volume 'echo from-container > /data/v'
try dev 'touch /dev/probe-dev'
try shm 'touch /dev/shm/probe-shm'
try hosts 'echo "10.0.0.9 x" >> /etc/hosts'
try hostname 'echo x >> /etc/hostname'
try resolv 'echo "# x" >> /etc/resolv.conf'
touch /probe-root 2>&1 | grep -q 'Read-only file system' && echo root EROFS
true
"""


def run_script(gbx, tmp_path, *flags):
    vol = tmp_path / f"vol-{uuid.uuid4().hex[:6]}"
    vol.mkdir()
    name = f"ro-{uuid.uuid4().hex[:8]}"
    p = gbx.cli("run", "--name", name, *flags, "--tmpfs", "/tmp", "-v", f"{vol}:/data",
                "busybox", "sh", "-c", SCRIPT)
    assert p.returncode == 0, p.stderr.decode()
    results = dict(line.split(" ", 1) for line in p.stdout.decode().splitlines())
    return name, results, vol


def test_read_only_rootfs_refuses_writes_but_keeps_dockers_writable_places(gbx, tmp_path):
    name, r, vol = run_script(gbx, tmp_path, "--read-only")
    try:
        assert r["root"] == "EROFS" and r["etc"] == "refused"
        assert r["tmp"] == "ok" and r["volume"] == "ok"
        assert (vol / "v").read_text() == "from-container\n"      # written through to the host
        assert r["dev"] == "ok" and r["shm"] == "ok"
        # Docker: the network files are writable only when the rootfs is
        assert r["hosts"] == r["hostname"] == r["resolv"] == "refused", r
        info = json.loads(gbx.out("inspect", name))[0]
        assert info["HostConfig"]["ReadonlyRootfs"] is True
        upper = os.path.join(gbx.root, "containers", info["Id"], "upper")
        written = [os.path.join(d, f) for d, dirs, files in os.walk(upper) for f in files + dirs]
        # nothing reached the layer but the volume's mount point (made before the remount,
        # as Docker does: `docker diff` shows it too)
        assert written == [os.path.join(upper, "data")], written
    finally:
        gbx.cli("rm", "-f", name)


def test_without_read_only_the_same_writes_succeed(gbx, tmp_path):
    """The other side of the test above: the script can see writes succeed."""
    name, r, _ = run_script(gbx, tmp_path)
    try:
        assert set(r.values()) == {"ok"}, r
        info = json.loads(gbx.out("inspect", name))[0]
        assert info["HostConfig"]["ReadonlyRootfs"] is False
        upper = os.path.join(gbx.root, "containers", info["Id"], "upper")
        assert "probe-root" in os.listdir(upper)
    finally:
        gbx.cli("rm", "-f", name)


def test_read_only_container_still_runs_the_probe_blocks(gbx, tmp_path):
    """A read-only root does not open anything: the device nodes the container may
    still mknod (in the /dev tmpfs) stay closed to it."""
    p = gbx.cli("run", "--rm", "--read-only", "busybox", "sh", "-c",
                "mknod /dev/loop-control c 10 237 && "
                "(cat /dev/loop-control 2>&1; echo rc=$?)")
    assert p.returncode == 0, p.stderr.decode()
    assert b"Operation not permitted" in p.stdout and b"rc=1" in p.stdout
