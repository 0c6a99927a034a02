"""A state root on a full filesystem of its own (a class's per-student quota).

The state root is a small ext4 image, loop-mounted (what
``deploy/hub/student_disk.py`` does for each student). A container fills it;
then glassbox must say so by name (exit 125, the quota and how to free space),
the commands that free space must still work on the full disk (``ps``,
``system df``, ``rm``), and after ``rm`` the next run succeeds.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import uuid

import pytest

from gbx_testlib import shim_pids, wait_for

pytestmark = [pytest.mark.system,
              pytest.mark.skipif(not shutil.which("mkfs.ext4"), reason="needs e2fsprogs"),
              pytest.mark.skipif(os.geteuid() != 0, reason="needs root (mount)")]

GLASSBOX = os.path.join(os.path.dirname(sys.executable), "glassbox")
FILL = ("dd if=/dev/zero of=/fill bs=1M; sync; dd if=/dev/zero of=/fill2 bs=4k; sync; "
        "dd if=/dev/zero of=/fill3 bs=1k; sync; exit 1")


class SmallRoot:
    """The CLI run on a state root of its own (not the suite's ``gbx`` fixture: that
    one's leak check counts the root's own mount as a leak)."""

    def __init__(self, root: str, parent: str):
        self.root, self.parent = root, parent
        self.env = dict(os.environ, GLASSBOX_ROOT=root, GLASSBOX_CGROUP_PARENT=parent,
                        GLASSBOX_OFFLINE="1", GLASSBOX_AGENT="0")

    def cli(self, *args, timeout: float = 60) -> subprocess.CompletedProcess:
        return subprocess.run([GLASSBOX, *args], env=self.env, capture_output=True,
                              timeout=timeout)

    def out(self, *args, **kw) -> str:
        p = self.cli(*args, **kw)
        assert p.returncode == 0, (args, p.returncode, p.stderr.decode())
        return p.stdout.decode()

    def cgroups(self) -> list[str]:
        return [f"{base}/{self.parent}" for base in
                (os.path.join("/sys/fs/cgroup", h) for h in os.listdir("/sys/fs/cgroup"))
                if os.path.isdir(f"{base}/{self.parent}")]


@pytest.fixture
def small_root(tmp_path, busybox_tar):
    """A 48 MB ext4 state root with busybox imported; unmounted, and leak-checked, after."""
    image, root = tmp_path / "disk.ext4", tmp_path / "root"
    root.mkdir()
    with open(image, "wb") as f:
        f.truncate(48 << 20)
    subprocess.run(["mkfs.ext4", "-q", "-F", "-m", "0", str(image)], check=True)
    subprocess.run(["mount", "-o", "loop,nosuid,nodev", str(image), str(root)], check=True)
    env = SmallRoot(str(root), f"glassbox-test-{uuid.uuid4().hex[:10]}")
    try:
        with open(busybox_tar, "rb") as f:
            subprocess.run([GLASSBOX, "import", "-c", 'CMD ["sh"]', "-", "busybox:latest"],
                           env=env.env, stdin=f, check=True, capture_output=True)
        yield env
    finally:
        ids = env.cli("ps", "-a", "-q").stdout.split()
        if ids:
            env.cli("rm", "-f", *[i.decode() for i in ids])
        wait_for(lambda: not shim_pids(str(root)), 10)
        leaks = [f"shims {shim_pids(str(root))}"] if shim_pids(str(root)) else []
        for cg in env.cgroups():      # the parent itself, then nothing under it
            subs = [d for d in os.listdir(cg) if os.path.isdir(os.path.join(cg, d))]
            leaks += [f"cgroups {cg}: {subs}"] if subs else []
            if not subs:
                os.rmdir(cg)
        with open("/proc/self/mountinfo") as f:
            inner = [ln.split()[4] for ln in f if ln.split()[4].startswith(str(root) + "/")]
        leaks += [f"mounts {inner}"] if inner else []
        subprocess.run(["umount", str(root)], check=True)
        assert not ids and not leaks, (ids, leaks)


def test_a_full_quota_is_named_and_the_commands_that_free_it_still_work(small_root):
    g = small_root
    p = g.cli("run", "--name", "filler", "busybox", "sh", "-c", FILL, timeout=120)
    assert p.returncode != 0 and b"No space left" in p.stderr + p.stdout
    st = os.statvfs(g.root)
    assert st.f_bavail * st.f_frsize < 1 << 20, "the disk is not full"

    p = g.cli("run", "--rm", "busybox", "echo", "room-left")
    err = p.stderr.decode()
    assert p.returncode == 125 and b"room-left" not in p.stdout, err
    assert "no space left in your glassbox storage" in err and "quota" in err, err
    assert "system df" in err and "Traceback" not in err, err

    # reading needs no room: the student must be able to see what takes the space
    assert "filler" in g.out("ps", "-a")
    rows = {ln.split()[0]: ln.split()[1:] for ln in g.out("system", "df").splitlines()[1:]}
    assert rows["Containers"][:2] == ["1", "0"]
    assert rows["Containers"][-1] not in ("0B", "0 B"), rows    # the stopped one: reclaimable
    assert "quota" in g.out("doctor")

    g.out("rm", "filler")                          # frees it, on the full disk
    assert g.out("ps", "-a", "-q") == ""
    assert [e for e in os.listdir(os.path.join(g.root, "containers"))
            if not e.startswith(".")] == []
    assert g.out("run", "--rm", "busybox", "echo", "room-left") == "room-left\n"
    g.out("system", "check")
    assert not [e for e in os.listdir(os.path.join(g.root, "containers"))
                if e.startswith(".trash-")]
