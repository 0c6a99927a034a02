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
    assert s.cgroup_version == cg.version == detect_version()   # stats say which files they read


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


def _cgroup2_root() -> str | None:
    """A real cgroup2 mount to attach device programs to: the root on v2, the
    hybrid host's ``unified`` tree on v1 (the kernel runs its device programs too)."""
    if detect_version() == 2:
        return "/sys/fs/cgroup"
    return "/sys/fs/cgroup/unified" if _unified_is_cgroup2() else None


DEVICE_PROBE = """
import errno, os, stat
def attempt(what, fn):
    try:
        fd = fn()
        if isinstance(fd, int):
            os.close(fd)
        print(what, "ok", flush=True)
    except OSError as e:
        print(what, errno.errorcode[e.errno], flush=True)
d = sys.argv[1]
attempt("null-rw", lambda: os.open("/dev/null", os.O_RDWR))
attempt("mknod-b7:0", lambda: os.mknod(d + "/blk", stat.S_IFBLK | 0o600, os.makedev(7, 0)))
attempt("open-b7:0", lambda: os.open(d + "/blk", os.O_RDONLY))
attempt("mknod-c120:1", lambda: os.mknod(d + "/chr", stat.S_IFCHR | 0o600, os.makedev(120, 1)))
attempt("read-c120:1", lambda: os.open(d + "/chr", os.O_RDONLY))
attempt("write-c120:1", lambda: os.open(d + "/chr", os.O_WRONLY))
"""


def _probe_devices(cg, procs, where) -> dict[str, str]:
    os.makedirs(where)
    p = procs.start([sys.executable, "-S", "-c", "import sys\nsys.stdin.readline()\n" + DEVICE_PROBE,
                     str(where)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    cg.add(p.pid)
    out = go(p)
    assert p.returncode == 0, out
    return dict(line.split() for line in out.splitlines())


@pytest.mark.skipif(_cgroup2_root() is None, reason="no cgroup2 mount on this host")
def test_device_program_on_a_real_cgroup2_directory(make_cg, procs, tmp_path):
    """The eBPF program of cgroups.bpf_device, through the kernel's verifier, attached
    to a real cgroup2 directory, deciding real open() and mknod() calls."""
    from glassbox.cgroups.v2 import V2Cgroup
    cg = make_cg(root=_cgroup2_root())
    assert isinstance(cg, V2Cgroup)
    assert cg.device_programs() == []
    cg.restrict_devices()                                 # Docker's list
    assert len(cg.device_programs()) == 1
    seen = _probe_devices(cg, procs, tmp_path / "docker")
    assert seen == {"null-rw": "ok", "mknod-b7:0": "ok", "open-b7:0": "EPERM",
                    "mknod-c120:1": "ok", "read-c120:1": "EPERM", "write-c120:1": "EPERM"}

    wider = make_cg(root=_cgroup2_root())
    wider.restrict_devices(("c 1:3 rw", "c 120:* r", "a *:* m"))
    seen = _probe_devices(wider, procs, tmp_path / "wider")
    assert seen["null-rw"] == "ok" and seen["mknod-b7:0"] == "ok"
    assert seen["open-b7:0"] == "EPERM" and seen["write-c120:1"] == "EPERM"
    # past the rules, the kernel answers (no driver for major 120; a nodev mount: EACCES)
    assert seen["read-c120:1"] in ("ENXIO", "EACCES"), seen


# --- failure modes a user meets, through the CLI (exit 125, nothing left) ------------

def _cli(gbx, *args, **env) -> subprocess.CompletedProcess:
    """The real CLI in-process (no warm agent: it would run in the agent's cgroup and
    mount namespace, not in the ones this test sets up)."""
    glassbox = os.path.join(os.path.dirname(sys.executable), "glassbox")
    return subprocess.run([glassbox, *args], env=dict(gbx.env, GLASSBOX_AGENT="0", **env),
                          capture_output=True, timeout=120)


def _no_containers_left(gbx) -> None:
    assert gbx.engine.containers.list(all=True) == []


def test_read_only_cgroup_filesystem_is_a_clear_error(gbx):
    remount = ("for m in $(awk '$3 ~ /^cgroup/ {print $2}' /proc/self/mounts); do "
               "mount -o remount,bind,ro \"$m\" || exit 3; done; exec \"$@\"")
    # (not `from conftest import`: in a full run that name is another directory's conftest)
    glassbox = os.path.join(os.path.dirname(sys.executable), "glassbox")
    p = subprocess.run(["unshare", "-m", "--propagation", "private", "sh", "-c", remount, "sh",
                        glassbox, "run", "--rm", "busybox", "true"],
                       env=dict(gbx.env, GLASSBOX_AGENT="0"), capture_output=True, timeout=120)
    assert p.returncode == 125, (p.returncode, p.stderr)
    assert b"mounted read-only" in p.stderr and b"Read-only file system" in p.stderr, p.stderr
    _no_containers_left(gbx)


def test_memory_limit_below_current_usage(make_cg, procs):
    """v1 refuses the write (EBUSY once reclaim fails); v2 takes it and the OOM killer
    brings usage under the new limit — the same `update -m`, two different outcomes."""
    cg = make_cg()
    p = procs.python("keep = [b'x' * (1 << 20) for i in range(48)]\nprint('holding', flush=True)\n"
                     "sys.stdin.readline()\n")
    cg.add(p.pid)
    p.stdin.write("go\n")
    p.stdin.flush()
    assert p.stdout.readline().strip() == "holding"
    assert cg.stats().memory_usage > 40 * MiB
    if cg.version == 1:
        with pytest.raises(KernelError) as ei:
            cg.apply(Limits(memory=16 * MiB, memory_swap=16 * MiB).validate())
        assert ei.value.errno == errno.EBUSY and "more memory than the new limit" in str(ei.value)
        assert p.poll() is None                               # still alive, limit unchanged
    else:
        cg.apply(Limits(memory=16 * MiB, memory_swap=16 * MiB).validate())
        assert p.wait(timeout=60) == -9                       # the OOM killer made room
        assert cg.oom_killed() and cg.stats().memory_limit == 16 * MiB


V2_ONLY = pytest.mark.skipif(detect_version() != 2, reason="cgroup v2 only (the v2 lane: make test-v2)")


@pytest.fixture
def delegated(procs):
    """A cgroup ``gbx-deleg-<uuid>`` made by the test, standing for the subtree systemd
    delegates, with one process of ours in it; removed (and checked gone) afterwards."""
    name = f"gbx-deleg-{uuid.uuid4().hex[:10]}"
    top = os.path.join("/sys/fs/cgroup", name)
    os.mkdir(top)
    holder = procs.start(["sleep", "300"])
    with open(os.path.join(top, "cgroup.procs"), "w") as f:
        f.write(str(holder.pid))
    yield name, top, holder
    holder.kill()
    holder.wait(timeout=30)
    for d in sorted((d for d, _, _ in os.walk(top)), key=len, reverse=True):
        os.rmdir(d)
    assert not os.path.exists(top)


@V2_ONLY
def test_v2_controller_not_enabled_in_the_parent_is_a_clear_error(gbx, delegated):
    name, top, _ = delegated
    parent = f"{name}/glassbox"
    # a process sits in the parent: by the "no internal processes" rule it cannot enable
    # controllers for children, so glassbox writes nothing there. (The kernel would still
    # take the threaded cpu and pids — and then no process could join a plain child.)
    p = _cli(gbx, "run", "--rm", "-m", "64m", "busybox", "true", GLASSBOX_CGROUP_PARENT=parent)
    assert p.returncode == 125, p.stderr
    err = p.stderr.decode()
    assert "memory.max" in err and "memory controller is not enabled" in err, err
    assert "no internal processes" in err and f"{top} holds processes" in err, err
    assert read(os.path.join(top, "cgroup.subtree_control")) == ""      # left alone
    _no_containers_left(gbx)
    # with no limit that needs them, the container runs without those controllers (as runc)
    p = _cli(gbx, "run", "--rm", "busybox", "echo", "ran", GLASSBOX_CGROUP_PARENT=parent)
    assert p.returncode == 0 and p.stdout == b"ran\n", p.stderr
    below = os.path.join(top, "glassbox")
    assert [e for e in os.listdir(below) if os.path.isdir(os.path.join(below, e))] == []


@V2_ONLY
def test_v2_delegated_subtree_with_its_processes_in_a_leaf(gbx, delegated):
    """systemd's pattern: the delegated cgroup's own processes live in a leaf
    (``init``), so the cgroup itself holds none and controllers can be enabled."""
    name, top, holder = delegated
    os.mkdir(os.path.join(top, "init"))
    with open(os.path.join(top, "init", "cgroup.procs"), "w") as f:
        f.write(str(holder.pid))
    parent = f"{name}/glassbox"
    p = _cli(gbx, "run", "-d", "-m", "64m", "--pids-limit", "50", "busybox", "sleep", "60",
             GLASSBOX_CGROUP_PARENT=parent)
    assert p.returncode == 0, p.stderr
    cid = p.stdout.decode().strip()
    leaf = os.path.join(top, "glassbox", cid)
    try:
        assert read(os.path.join(leaf, "memory.max")) == str(64 * MiB)
        assert read(os.path.join(leaf, "pids.max")) == "50"
        for level in (top, os.path.join(top, "glassbox")):   # no internal processes
            assert read(os.path.join(level, "cgroup.procs")) == "", level
            assert {"memory", "pids"} <= set(read(os.path.join(level, "cgroup.subtree_control")).split())
        assert read(os.path.join(top, "init", "cgroup.procs")) == str(holder.pid)
        assert read(os.path.join(leaf, "cgroup.procs")) != ""
    finally:
        _cli(gbx, "rm", "-f", cid, GLASSBOX_CGROUP_PARENT=parent)
    assert not os.path.exists(leaf)
    _no_containers_left(gbx)


def test_a_program_the_verifier_refuses_carries_its_log():
    from glassbox._sys import real
    from glassbox.cgroups import bpf_device
    no_exit = bpf_device.insn(0xB7, dst=0, imm=1)          # r0 = 1, and then nothing
    with pytest.raises(KernelError) as ei:
        real.bpf_prog_load(bpf_device.PROG_TYPE_CGROUP_DEVICE, no_exit, name="gbx_bad")
    assert ei.value.errno == errno.EINVAL
    assert "the verifier said" in str(ei.value) and "exit" in str(ei.value), str(ei.value)
    fd = real.bpf_prog_load(bpf_device.PROG_TYPE_CGROUP_DEVICE, bpf_device.assemble([]))
    os.close(fd)                                             # an empty list: valid, denies all
