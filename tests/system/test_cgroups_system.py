"""glassbox.cgroups on the real kernel of this host (root): limits, stats, OOM, pids, freezer.

Every test works under its own parent ``glassbox-test-<uuid>`` and checks on
teardown that no cgroup directory is left in any hierarchy. Only processes the
test started are ever signalled.
"""

from __future__ import annotations

import errno
import os
import subprocess
import sys
import uuid

import pytest

from glassbox.cgroups import Limits, detect_version, open_cgroup, parse_bytes
from glassbox.cgroups._files import read_mountinfo
from glassbox.errors import KernelError

pytestmark = [
    pytest.mark.system,
    pytest.mark.skipif(os.geteuid() != 0, reason="needs root to manage cgroups"),
]

MiB = 1 << 20


def read(path: str) -> str:
    with open(path) as f:
        return f.read().strip()


class Procs:
    """The processes a test started (and only those get killed at the end)."""

    def __init__(self):
        self.started: list[subprocess.Popen] = []

    def start(self, argv, **kw) -> subprocess.Popen:
        p = subprocess.Popen(argv, **kw)
        self.started.append(p)
        return p

    def python(self, code: str) -> subprocess.Popen:
        """A python child that waits for a line on stdin before running ``code``,
        so it can be put into the cgroup first."""
        return self.start([sys.executable, "-S", "-c", "import sys\nsys.stdin.readline()\n" + code],
                          stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)

    def cleanup(self):
        for p in self.started:
            if p.poll() is None:
                p.kill()
            p.wait(timeout=30)
            for f in (p.stdin, p.stdout):
                if f:
                    f.close()


def go(p: subprocess.Popen) -> str:
    """Release a Procs.python child and return its output."""
    out, _ = p.communicate("go\n", timeout=120)
    return out


@pytest.fixture
def procs():
    ps = Procs()
    yield ps
    ps.cleanup()


def _assert_gone(cg, parent: str):
    for d in cg.paths().values():
        assert not os.path.exists(d), f"leaked cgroup {d}"
        top = d[: d.index(parent) + len(parent)]
        assert not os.path.exists(top), f"leaked cgroup parent {top}"


@pytest.fixture
def make_cg(procs):
    made = []

    def make(root: str = "/sys/fs/cgroup"):
        parent = f"glassbox-test-{uuid.uuid4().hex[:12]}"
        cg = open_cgroup(f"c-{uuid.uuid4().hex[:8]}", parent=parent, root=root)
        made.append((cg, parent))
        return cg.create()

    yield make
    procs.cleanup()                 # our processes are gone before the cgroups go
    for cg, parent in made:
        try:
            cg.destroy(remove_parent_if_empty=True)
        finally:
            _assert_gone(cg, parent)


@pytest.fixture
def cg(make_cg):
    return make_cg()


def _member(pid: int) -> str:
    return read(f"/proc/{pid}/cgroup")


# --- tests -------------------------------------------------------------------------

def test_detects_this_host(cg):
    assert detect_version() == cg.version
    assert cg.exists()
    for d in cg.paths().values():
        assert os.path.isdir(d)


def test_add_and_limits_read_back_from_kernel(cg, procs):
    p = procs.start(["sleep", "30"])
    cg.add(p.pid)
    assert cg.pids() == [p.pid]
    assert cg.rel in _member(p.pid)

    cg.apply(Limits(memory=parse_bytes("64m"), memory_swap=parse_bytes("128m"), cpus=0.5,
                    cpu_shares=512, pids=20).validate())
    d = cg.paths()
    if cg.version == 1:
        assert read(d["memory"] + "/memory.limit_in_bytes") == str(64 * MiB)
        if os.path.exists(d["memory"] + "/memory.memsw.limit_in_bytes"):
            assert read(d["memory"] + "/memory.memsw.limit_in_bytes") == str(128 * MiB)
        assert read(d["cpu"] + "/cpu.cfs_period_us") == "100000"
        assert read(d["cpu"] + "/cpu.cfs_quota_us") == "50000"
        assert read(d["cpu"] + "/cpu.shares") == "512"
        assert read(d["pids"] + "/pids.max") == "20"
    else:
        assert read(d["memory"] + "/memory.max") == str(64 * MiB)
        if os.path.exists(d["memory"] + "/memory.swap.max"):
            assert read(d["memory"] + "/memory.swap.max") == str(64 * MiB)
        assert read(d["cpu"] + "/cpu.max") == "50000 100000"
        assert read(d["cpu"] + "/cpu.weight") == "20"
        assert read(d["pids"] + "/pids.max") == "20"
    s = cg.stats()
    assert s.memory_limit == 64 * MiB and s.pids_limit == 20 and s.pids_current == 1


def test_live_updates_up_and_down_respect_memsw_order(cg, procs):
    """The kernel rejects memory > memsw at any instant; apply must order the writes."""
    p = procs.start(["sleep", "30"])
    cg.add(p.pid)
    lim = Limits()
    for mem, sw in (("64m", "128m"), ("256m", "512m"), ("32m", "32m"), ("600m", "-1"),
                    ("16m", "48m")):
        lim = lim.merge(Limits(memory=parse_bytes(mem), memory_swap=parse_bytes(sw)))
        cg.apply(lim.validate())
        assert cg.stats().memory_limit == parse_bytes(mem)
    cg.apply(Limits(pids=-1, cpu_shares=0))
    assert cg.stats().pids_limit is None


def test_stats_account_a_real_process(cg, procs):
    p = procs.python("x = 0\nfor i in range(3_000_000): x += i\n"
                     "buf = b'y' * (8 << 20)\nprint('done', flush=True)\nsys.stdin.readline()\n")
    cg.add(p.pid)
    before = cg.stats()
    p.stdin.write("go\n")
    p.stdin.flush()
    assert p.stdout.readline().strip() == "done"
    after = cg.stats()
    assert after.cpu_usage_ns > before.cpu_usage_ns
    assert after.memory_usage > 0 and after.pids_current == 1
    assert after.oom_kills == 0 and not cg.oom_killed()
    assert after.timestamp >= before.timestamp


def test_oom_kill_is_seen(cg, procs):
    cg.apply(Limits(memory=32 * MiB, memory_swap=32 * MiB).validate())
    # b"x" * n really touches the pages (bytearray(n) would be lazily-zeroed calloc)
    p = procs.python("keep = []\nfor i in range(4096): keep.append(b'x' * (1 << 20))\n"
                     "print('survived', flush=True)\n")
    cg.add(p.pid)
    assert not cg.oom_killed()
    out = go(p)
    assert p.returncode == -9, f"expected SIGKILL by the OOM killer, got {p.returncode}: {out}"
    assert "survived" not in out
    assert cg.oom_killed()
    assert cg.stats().oom_kills >= 1


def test_pids_limit_makes_fork_fail(cg, procs):
    cg.apply(Limits(pids=1).validate())
    p = procs.python("import os\ntry:\n    pid = os.fork()\nexcept OSError as e:\n"
                     "    print('errno', e.errno, flush=True)\nelse:\n"
                     "    if pid == 0:\n        os._exit(0)\n"
                     "    os.waitpid(pid, 0)\n    print('forked', flush=True)\n")
    cg.add(p.pid)
    out = go(p)
    assert out.split() == ["errno", str(errno.EAGAIN)], out
    assert p.returncode == 0


def test_freeze_thaw_and_kill_all(cg, procs):
    p = procs.start(["sleep", "30"])
    q = procs.start(["sleep", "30"])
    cg.add(p.pid)
    cg.add(q.pid)
    cg.freeze()
    d = cg.paths()
    if cg.version == 1:
        assert read(d["freezer"] + "/freezer.state") == "FROZEN"
    else:
        assert "frozen 1" in read(d["unified"] + "/cgroup.events")
    cg.thaw()
    if cg.version == 1:
        assert read(d["freezer"] + "/freezer.state") == "THAWED"
    else:
        assert "frozen 0" in read(d["unified"] + "/cgroup.events")
    assert p.poll() is None and q.poll() is None
    cg.kill_all()
    assert p.wait(timeout=30) == -9 and q.wait(timeout=30) == -9


def test_destroy_refuses_while_busy_then_removes_everything(make_cg, procs):
    cg = make_cg()
    p = procs.start(["sleep", "30"])
    cg.add(p.pid)
    with pytest.raises(KernelError) as ei:
        cg.destroy(timeout=0.1)
    assert ei.value.errno == errno.EBUSY
    assert cg.exists()
    cg.kill_all()
    p.wait(timeout=30)
    cg.destroy(remove_parent_if_empty=True)
    assert not cg.exists()
    _assert_gone(cg, cg.parent)


def _unified_is_cgroup2() -> bool:
    return any(m.mount_point == "/sys/fs/cgroup/unified" and m.fstype == "cgroup2"
               for m in read_mountinfo("/proc/self/mountinfo"))


@pytest.mark.skipif(not _unified_is_cgroup2(), reason="no hybrid cgroup2 at /sys/fs/cgroup/unified")
def test_v2_manager_on_the_hybrid_unified_tree(make_cg, procs):
    """The hybrid host's cgroup2 has no controllers, but membership, freeze and kill are v2's."""
    cg = make_cg(root="/sys/fs/cgroup/unified")
    assert cg.version == 2
    p = procs.start(["sleep", "30"])
    cg.add(p.pid)
    assert cg.pids() == [p.pid]
    cg.freeze()
    assert "frozen 1" in read(cg.paths()["unified"] + "/cgroup.events")
    cg.thaw()
    if "memory" not in read("/sys/fs/cgroup/unified/cgroup.controllers").split():
        with pytest.raises(KernelError) as ei:
            cg.apply(Limits(memory=64 * MiB))
        assert ei.value.errno == errno.ENOENT and "memory controller" in str(ei.value)
    cg.kill_all()
    assert p.wait(timeout=30) == -9
