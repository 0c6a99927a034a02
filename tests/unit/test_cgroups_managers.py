"""cgroup v1 and v2 managers against FAKE cgroup trees in tmp_path (no root needed).

A fake tree is plain directories plus the control files the kernel would show,
pre-created with the kernel's defaults, and a fake mountinfo pointing at them.
The managers never create files (no O_CREAT), so a missing file behaves like a
missing controller, as on the real cgroupfs.
"""

from __future__ import annotations

import errno
import os
import signal
import subprocess

import pytest

from glassbox.cgroups import CgroupManager, Limits, detect_version, open_cgroup
from glassbox.cgroups._files import parse_mountinfo
from glassbox.cgroups.v1 import V1Cgroup
from glassbox.cgroups.v2 import V2Cgroup
from glassbox.errors import InvalidArgument, KernelError, NotFound

MiB = 1 << 20
V1_UNLIMITED = "9223372036854771712"
V1_CONTROLLERS = ("cpu", "cpuacct", "cpuset", "memory", "devices", "freezer", "blkio", "pids")


# --- fake trees --------------------------------------------------------------------

def write_files(d, files: dict[str, str]) -> None:
    os.makedirs(d, exist_ok=True)
    for name, text in files.items():
        with open(os.path.join(d, name), "w") as f:
            f.write(text)


def read(path) -> str:
    with open(path) as f:
        return f.read().strip()


class FakeV1:
    """The hybrid layout of this lab's host: one dir per controller + empty unified."""

    def __init__(self, tmp_path, controllers=V1_CONTROLLERS, comount_cpu=False):
        self.root = str(tmp_path / "cgroup")
        os.makedirs(self.root)
        lines = [f"31 23 0:28 / {self.root} rw,relatime - tmpfs tmpfs rw,mode=755"]
        n = 32
        self.mounts = {}
        ctrls = list(controllers)
        if comount_cpu:
            ctrls = [c for c in ctrls if c not in ("cpu", "cpuacct")] + ["cpu,cpuacct"]
        for c in ctrls:
            mp = os.path.join(self.root, c)
            os.makedirs(mp)
            lines.append(f"{n} 31 0:{n} / {mp} rw,nosuid,nodev,noexec,relatime - cgroup cgroup rw,{c}")
            for part in c.split(","):
                self.mounts[part] = mp
            n += 1
        for extra, fstype, opts in (("systemd", "cgroup", "rw,xattr,name=systemd"),
                                    ("unified", "cgroup2", "rw,nsdelegate")):
            os.makedirs(os.path.join(self.root, extra))
            lines.append(f"{n} 31 0:{n} / {self.root}/{extra} rw,relatime - {fstype} {fstype} {opts}")
            n += 1
        self.mountinfo = str(tmp_path / "mountinfo")
        with open(self.mountinfo, "w") as f:
            f.write("22 1 8:1 / / rw,relatime - ext4 /dev/sda1 rw\n" + "\n".join(lines) + "\n")

    def dir(self, controller, rel="glassbox/c1"):
        return os.path.join(self.mounts[controller], rel)

    def populate(self, rel="glassbox/c1", memsw=True):
        """The files the kernel shows in a fresh child cgroup of each hierarchy."""
        files = {
            "memory": {"memory.limit_in_bytes": V1_UNLIMITED,
                       "memory.usage_in_bytes": "0", "memory.max_usage_in_bytes": "0",
                       "memory.stat": "cache 0\nrss 0\ninactive_file 0\ntotal_inactive_file 0\n",
                       "memory.oom_control": "oom_kill_disable 0\nunder_oom 0\noom_kill 0\n"},
            "cpu": {"cpu.cfs_period_us": "100000", "cpu.cfs_quota_us": "-1",
                    "cpu.shares": "1024",
                    "cpu.stat": "nr_periods 0\nnr_throttled 0\nthrottled_time 0\n"},
            "cpuacct": {"cpuacct.usage": "0"},
            "pids": {"pids.max": "max", "pids.current": "0"},
            "freezer": {"freezer.state": "THAWED"},
            "devices": {"devices.allow": "", "devices.deny": "", "devices.list": "a *:* rwm"},
        }
        if memsw:
            files["memory"]["memory.memsw.limit_in_bytes"] = V1_UNLIMITED
        for c, fs in files.items():
            if c in self.mounts:
                write_files(self.dir(c, rel), {"cgroup.procs": "", **fs})

    def open(self, name="c1", parent="glassbox") -> V1Cgroup:
        cg = open_cgroup(name, parent=parent, root=self.root, mountinfo=self.mountinfo)
        assert isinstance(cg, V1Cgroup)
        return cg


class FakeV2:
    """Pure cgroup v2: cgroup2 mounted at the root itself."""

    def __init__(self, tmp_path, controllers="cpuset cpu io memory hugetlb pids rdma misc"):
        self.root = str(tmp_path / "cgroup")
        write_files(self.root, {"cgroup.controllers": controllers, "cgroup.subtree_control": "",
                                "cgroup.procs": ""})
        self.mountinfo = str(tmp_path / "mountinfo")
        with open(self.mountinfo, "w") as f:
            f.write("22 1 8:1 / / rw,relatime - ext4 /dev/sda1 rw\n"
                    f"30 22 0:26 / {self.root} rw,nosuid,nodev,noexec,relatime shared:4 - "
                    "cgroup2 cgroup2 rw,nsdelegate,memory_recursiveprot\n")

    def dir(self, rel="glassbox/c1"):
        return os.path.join(self.root, rel)

    def populate(self, rel="glassbox/c1", swap=True, kill=True, **overrides):
        files = {
            "cgroup.procs": "", "cgroup.freeze": "0", "cgroup.events": "populated 0\nfrozen 0\n",
            "cgroup.controllers": "cpu memory pids", "cgroup.subtree_control": "",
            "memory.max": "max", "memory.current": "0", "memory.peak": "0",
            "memory.stat": "anon 0\nfile 0\ninactive_file 0\n",
            "memory.events": "low 0\nhigh 0\nmax 0\noom 0\noom_kill 0\noom_group_kill 0\n",
            "cpu.max": "max 100000", "cpu.weight": "100",
            "cpu.stat": "usage_usec 0\nuser_usec 0\nsystem_usec 0\nnr_periods 0\n"
                        "nr_throttled 0\nthrottled_usec 0\n",
            "pids.max": "max", "pids.current": "0",
        }
        if swap:
            files["memory.swap.max"] = "max"
        if kill:
            files["cgroup.kill"] = ""
        files.update(overrides)
        write_files(self.dir(rel), files)

    def open(self, name="c1", parent="glassbox") -> V2Cgroup:
        cg = open_cgroup(name, parent=parent, root=self.root, mountinfo=self.mountinfo)
        assert isinstance(cg, V2Cgroup)
        return cg


@pytest.fixture
def v1(tmp_path):
    return FakeV1(tmp_path / "v1")


@pytest.fixture
def v2(tmp_path):
    return FakeV2(tmp_path / "v2")


# --- detection ---------------------------------------------------------------------

def test_detect_hybrid_is_v1_and_pure_v2_is_v2(tmp_path):
    h = FakeV1(tmp_path / "h")
    assert detect_version(h.root, h.mountinfo) == 1
    u = FakeV2(tmp_path / "u")
    assert detect_version(u.root, u.mountinfo) == 2
    # the empty unified mount of a hybrid host is itself a cgroup2 root
    assert detect_version(h.root + "/unified", h.mountinfo) == 2


def test_detect_without_any_cgroup_mount_explains(tmp_path):
    mi = tmp_path / "mountinfo"
    mi.write_text("22 1 8:1 / / rw,relatime - ext4 /dev/sda1 rw\n")
    with pytest.raises(KernelError) as ei:
        detect_version(str(tmp_path), str(mi))
    assert ei.value.errno == errno.ENOENT and "mount" in str(ei.value)
    with pytest.raises(KernelError):
        open_cgroup("x", root=str(tmp_path), mountinfo=str(mi))


def test_detect_ignores_v1_mounts_outside_root(tmp_path):
    mi = tmp_path / "mountinfo"
    mi.write_text("40 1 0:40 / /elsewhere/memory rw - cgroup cgroup rw,memory\n")
    with pytest.raises(KernelError):
        detect_version(str(tmp_path / "cg"), str(mi))


def test_a_later_overmount_of_root_wins(tmp_path):
    mi = tmp_path / "mountinfo"
    mi.write_text(f"30 1 0:26 / {tmp_path}/cg rw - cgroup2 cgroup2 rw\n"
                  f"31 30 0:27 / {tmp_path}/cg rw - tmpfs tmpfs rw\n"
                  f"32 31 0:28 / {tmp_path}/cg/memory rw - cgroup cgroup rw,memory\n")
    assert detect_version(str(tmp_path / "cg"), str(mi)) == 1


def test_parse_mountinfo_unescapes_and_reads_options():
    text = ("35 31 0:32 / /sys/fs/cgroup/my\\040mem rw,relatime shared:9 master:2 - "
            "cgroup cgroup rw,memory\n36 31 0:33 / /x rw - cgroup cgroup rw,cpu,cpuacct\n")
    m = parse_mountinfo(text)
    assert m[0].mount_point == "/sys/fs/cgroup/my mem"
    assert m[0].fstype == "cgroup" and "memory" in m[0].super_options
    assert m[1].super_options == ("rw", "cpu", "cpuacct")


def test_comounted_cpu_cpuacct_share_one_directory(tmp_path):
    fake = FakeV1(tmp_path, comount_cpu=True)
    cg = fake.open()
    assert cg.paths()["cpu"] == cg.paths()["cpuacct"]
    cg.create()
    fake.populate()
    cg.add(4242)
    procs_writes = [p for p, v in cg.journal if p.endswith("cgroup.procs")]
    assert len(procs_writes) == len(set(procs_writes)) == 5   # memory, cpu+cpuacct, pids, freezer, devices


@pytest.mark.parametrize("name, parent", [("a/b", "glassbox"), ("", "glassbox"), ("..", "glassbox"),
                                          ("ok", "../escape"), ("ok", "a/./b")])
def test_names_cannot_escape_the_hierarchy(v1, v2, name, parent):
    for fake in (v1, v2):
        with pytest.raises(InvalidArgument):
            open_cgroup(name, parent=parent, root=fake.root, mountinfo=fake.mountinfo)


def test_both_satisfy_the_protocol(v1, v2):
    assert isinstance(v1.open(), CgroupManager)
    assert isinstance(v2.open(), CgroupManager)
    assert v1.open().version == 1 and v2.open().version == 2


# --- create / paths / destroy -------------------------------------------------------

def test_v1_create_makes_dir_in_each_hierarchy_idempotently(v1):
    cg = v1.open()
    assert not cg.exists()
    cg.create()
    cg.create()
    assert cg.exists()
    assert set(cg.paths()) == {"memory", "cpu", "cpuacct", "pids", "freezer", "devices"}
    for c, d in cg.paths().items():
        assert d == os.path.join(v1.root, c, "glassbox", "c1") and os.path.isdir(d)
    # hierarchies it does not use are untouched
    for c in ("cpuset", "blkio", "systemd", "unified"):
        assert os.listdir(os.path.join(v1.root, c)) == []


def test_v1_destroy_removes_leaf_and_children_but_keeps_preexisting_parent(v1):
    for c in ("memory", "cpu", "cpuacct", "pids", "freezer"):
        os.makedirs(os.path.join(v1.root, c, "glassbox"))
    cg = v1.open().create()
    os.makedirs(os.path.join(cg.paths()["memory"], "sub", "deeper"))   # a child cgroup
    cg.destroy(remove_parent_if_empty=True)
    assert not cg.exists()
    for c in ("memory", "cpu", "cpuacct", "pids", "freezer"):
        assert os.listdir(os.path.join(v1.root, c)) == ["glassbox"]   # parent not ours: kept


def test_v1_destroy_parent_only_when_asked_and_empty(v1):
    cg = v1.open().create()                    # creates glassbox/ and glassbox/c1
    other = v1.open("c2").create()             # glassbox/ already existed for this one
    cg.destroy()
    assert os.path.isdir(os.path.join(v1.root, "memory", "glassbox"))
    cg.create()
    cg.destroy(remove_parent_if_empty=True)    # c2 still lives there: parent stays
    assert os.path.isdir(os.path.join(v1.root, "memory", "glassbox", "c2"))
    other.destroy(remove_parent_if_empty=True)  # empty now, but other did not create it
    assert os.path.isdir(os.path.join(v1.root, "memory", "glassbox"))
    cg.destroy(remove_parent_if_empty=True)    # the creator removes it
    for c in ("memory", "cpu", "cpuacct", "pids", "freezer"):
        assert os.listdir(os.path.join(v1.root, c)) == []


def test_fresh_manager_removes_empty_parent_when_asked(v1):
    v1.open().create()
    later = v1.open()                          # e.g. the monitor process, which did not create it
    later.destroy(remove_parent_if_empty=True)
    for c in ("memory", "cpu", "cpuacct", "pids", "freezer"):
        assert os.listdir(os.path.join(v1.root, c)) == []


def test_v2_create_enables_controllers_top_down(v2):
    write_files(v2.dir("glassbox"), {"cgroup.controllers": "cpu memory pids",
                                     "cgroup.subtree_control": ""})
    cg = v2.open()
    cg.create()
    assert cg.exists() and cg.paths()["memory"] == v2.dir()
    assert cg.journal == [
        (f"{v2.root}/cgroup.subtree_control", "+cpu"),
        (f"{v2.root}/cgroup.subtree_control", "+memory"),
        (f"{v2.root}/cgroup.subtree_control", "+pids"),
        (f"{v2.root}/cgroup.subtree_control", "+cpuset"),   # offered at the root only
        (f"{v2.dir('glassbox')}/cgroup.subtree_control", "+cpu"),
        (f"{v2.dir('glassbox')}/cgroup.subtree_control", "+memory"),
        (f"{v2.dir('glassbox')}/cgroup.subtree_control", "+pids"),
    ]


def test_v2_create_enables_only_available_and_missing_controllers(tmp_path):
    fake = FakeV2(tmp_path, controllers="memory pids io")
    with open(os.path.join(fake.root, "cgroup.subtree_control"), "w") as f:
        f.write("memory io")
    cg = fake.open()
    cg.create()
    assert cg.journal == [(f"{fake.root}/cgroup.subtree_control", "+pids")]


def test_v2_create_reports_enable_failure_with_hint(v2, monkeypatch):
    from glassbox.cgroups import _files
    real_write = _files.write

    def busy(path, value, **kw):
        if path.endswith("subtree_control"):
            raise KernelError(errno.EBUSY, "write", path, _files.hint_for(errno.EBUSY, path))
        return real_write(path, value, **kw)
    monkeypatch.setattr(_files, "write", busy)
    cg = v2.open().create()                # as runc: the container may still run ...
    assert cg.exists() and set(cg.not_enabled) == {"cpu", "memory", "pids", "cpuset"}
    assert "no internal processes" in cg.warnings[0]
    with pytest.raises(KernelError) as ei:  # ... until a limit needs what is missing
        cg.apply(Limits(memory=64 * MiB))
    msg = str(ei.value)
    assert ei.value.errno == errno.ENOENT and ei.value.path.endswith("/memory.max")
    assert "memory controller is not enabled" in msg and "no internal processes" in msg
    assert f"{v2.root}/cgroup.subtree_control" in msg    # where it could not be enabled


def test_v2_create_writes_nothing_where_processes_live(v2):
    """A pre-existing parent that holds processes (not the root: it is exempt)."""
    write_files(v2.dir("busy"), {"cgroup.controllers": "cpu memory pids",
                                 "cgroup.subtree_control": "", "cgroup.procs": "4242\n"})
    with open(os.path.join(v2.root, "cgroup.subtree_control"), "w") as f:
        f.write("cpu memory pids cpuset")
    cg = v2.open(parent="busy/glassbox").create()
    assert cg.journal == []                             # not one +controller written
    assert set(cg.not_enabled) == {"cpu", "memory", "pids"}
    with pytest.raises(KernelError) as ei:
        cg.apply(Limits(pids=10))
    assert "no internal processes" in str(ei.value) and f"{v2.dir('busy')} holds processes" \
        in str(ei.value) and "/init" in str(ei.value)


def test_v2_destroy(v2):
    cg = v2.open("c1", parent="a/b").create()
    os.makedirs(os.path.join(cg.path, "child"))
    cg.destroy(remove_parent_if_empty=True)
    assert sorted(os.listdir(v2.root)) == ["cgroup.controllers", "cgroup.procs",
                                           "cgroup.subtree_control"]


def test_destroy_is_a_noop_when_already_gone(v1, v2):
    v1.open().destroy(remove_parent_if_empty=True)
    v2.open().destroy(remove_parent_if_empty=True)


def test_destroy_busy_cgroup_raises_after_retrying(v2):
    cg = v2.open().create()
    v2.populate()                      # regular files make rmdir fail like a busy cgroup
    with pytest.raises(KernelError) as ei:
        cg.destroy(timeout=0.05)
    assert ei.value.errno in (errno.ENOTEMPTY, errno.EBUSY) and "rmdir" in str(ei.value)


# --- apply: exact values -----------------------------------------------------------

def test_v1_apply_writes_exact_values(v1):
    cg = v1.open().create()
    v1.populate()
    cg.apply(Limits(memory=64 * MiB, memory_swap=128 * MiB, cpus=1.5, cpu_shares=512, pids=100))
    assert read(v1.dir("memory") + "/memory.limit_in_bytes") == str(64 * MiB)
    assert read(v1.dir("memory") + "/memory.memsw.limit_in_bytes") == str(128 * MiB)
    assert read(v1.dir("cpu") + "/cpu.cfs_period_us") == "100000"
    assert read(v1.dir("cpu") + "/cpu.cfs_quota_us") == "150000"
    assert read(v1.dir("cpu") + "/cpu.shares") == "512"
    assert read(v1.dir("pids") + "/pids.max") == "100"
    names = [os.path.basename(p) for p, _ in cg.journal]
    assert names.index("cpu.cfs_period_us") < names.index("cpu.cfs_quota_us")


def test_v1_apply_unlimited_and_defaults(v1):
    cg = v1.open().create()
    v1.populate()
    cg.apply(Limits(memory=64 * MiB, memory_swap=-1, pids=-1, cpu_shares=0))
    assert read(v1.dir("memory") + "/memory.memsw.limit_in_bytes") == "-1"
    assert read(v1.dir("pids") + "/pids.max") == "max"
    assert read(v1.dir("cpu") + "/cpu.shares") == "1024"


def test_v1_apply_leaves_unset_fields_alone(v1):
    cg = v1.open().create()
    v1.populate()
    cg.apply(Limits(pids=7))
    assert [os.path.basename(p) for p, _ in cg.journal] == ["pids.max"]
    assert read(v1.dir("memory") + "/memory.limit_in_bytes") == V1_UNLIMITED


def _replay_memsw(journal, mem, sw):
    """Replay the writes checking the kernel rule memory <= memsw at every step."""
    for path, value in journal:
        v = int(value)
        v = float("inf") if v == -1 else v
        if path.endswith("memory.limit_in_bytes"):
            mem = v
        elif path.endswith("memory.memsw.limit_in_bytes"):
            sw = v
        else:
            continue
        assert mem <= sw, f"kernel would reject {os.path.basename(path)}={value} (EINVAL)"
    return mem, sw


def test_v1_memsw_write_order_keeps_memory_below_memsw(v1):
    cg = v1.open().create()
    v1.populate()
    mem = sw = float(int(V1_UNLIMITED))
    steps = [(64 * MiB, 128 * MiB), (256 * MiB, 512 * MiB), (32 * MiB, 32 * MiB),
             (600 * MiB, 600 * MiB), (600 * MiB, -1), (16 * MiB, 48 * MiB), (8 * MiB, 8 * MiB)]
    for m, s in steps:
        cg.journal.clear()
        cg.apply(Limits(memory=m, memory_swap=s))
        mem, sw = _replay_memsw(cg.journal, mem, sw)
        assert mem == m and sw == (float("inf") if s == -1 else s)
        assert len(cg.journal) == 2


def test_v1_memsw_order_is_what_runc_does(v1):
    cg = v1.open().create()
    v1.populate()
    cg.apply(Limits(memory=64 * MiB, memory_swap=128 * MiB))        # lowering: memory first
    assert [os.path.basename(p) for p, _ in cg.journal] == [
        "memory.limit_in_bytes", "memory.memsw.limit_in_bytes"]
    cg.journal.clear()
    cg.apply(Limits(memory=256 * MiB, memory_swap=512 * MiB))       # raising: memsw first
    assert [os.path.basename(p) for p, _ in cg.journal] == [
        "memory.memsw.limit_in_bytes", "memory.limit_in_bytes"]


def test_v1_without_swap_accounting_skips_memsw_with_warning(v1):
    cg = v1.open().create()
    v1.populate(memsw=False)
    cg.apply(Limits(memory=64 * MiB, memory_swap=128 * MiB))
    assert [os.path.basename(p) for p, _ in cg.journal] == ["memory.limit_in_bytes"]
    assert cg.warnings and "swap" in cg.warnings[0]


def test_v2_apply_writes_exact_values(v2):
    cg = v2.open().create()
    v2.populate()
    cg.apply(Limits(memory=64 * MiB, memory_swap=96 * MiB, cpus=0.5, cpu_shares=512, pids=100))
    d = v2.dir()
    assert read(d + "/memory.max") == str(64 * MiB)
    assert read(d + "/memory.swap.max") == str(32 * MiB)       # swap = memory_swap - memory
    assert read(d + "/cpu.max") == "50000 100000"
    assert read(d + "/cpu.weight") == "20"                      # 1 + (510*9999)//262142
    assert read(d + "/pids.max") == "100"


def test_v2_apply_unlimited_and_equal_swap(v2):
    cg = v2.open().create()
    v2.populate()
    cg.apply(Limits(memory=64 * MiB, memory_swap=64 * MiB, pids=-1))
    assert read(v2.dir() + "/memory.swap.max") == "0"
    assert read(v2.dir() + "/pids.max") == "max"
    cg.apply(Limits(memory_swap=-1, cpu_shares=1024))
    assert read(v2.dir() + "/memory.swap.max") == "max"
    assert read(v2.dir() + "/cpu.weight") == "39"
    assert read(v2.dir() + "/memory.max") == str(64 * MiB)


def test_v2_swap_update_uses_current_memory_limit(v2):
    cg = v2.open().create()
    v2.populate(**{"memory.max": str(100 * MiB)})
    cg.apply(Limits(memory_swap=150 * MiB))
    assert read(v2.dir() + "/memory.swap.max") == str(50 * MiB)


# --- errors ------------------------------------------------------------------------

def test_operations_on_missing_cgroup_are_notfound(v1, v2):
    for cg in (v1.open(), v2.open()):
        for op in (lambda: cg.apply(Limits(pids=5)), lambda: cg.add(1), cg.stats, cg.pids,
                   cg.freeze, cg.thaw, cg.oom_killed, cg.kill_all):
            with pytest.raises(NotFound):
                op()


def test_v2_missing_controller_file_is_kernel_error_with_hint(v2):
    cg = v2.open().create()      # fake leaf without memory.max: controller not enabled
    with pytest.raises(KernelError) as ei:
        cg.apply(Limits(memory=64 * MiB))
    e = ei.value
    assert e.errno == errno.ENOENT and e.path.endswith("memory.max")
    assert "memory controller" in str(e) and "subtree_control" in str(e)


def test_v1_unmounted_controller_is_kernel_error_with_hint(tmp_path):
    fake = FakeV1(tmp_path, controllers=("cpu", "cpuacct", "memory", "freezer"))
    cg = fake.open().create()
    fake.populate()
    with pytest.raises(KernelError) as ei:
        cg.apply(Limits(pids=5))
    assert ei.value.errno == errno.ENOENT and "pids" in str(ei.value) and "not mounted" in str(ei.value)
    assert cg.stats().pids_limit is None      # stats degrade gracefully


def test_write_failure_carries_errno_op_path(v1, monkeypatch):
    cg = v1.open().create()
    v1.populate()
    target = v1.dir("memory") + "/memory.limit_in_bytes"
    os.chmod(target, 0o444)
    if os.access(target, os.W_OK):      # running as root: permissions do not stop us
        os.chmod(target, 0o644)
        os.remove(target)
        os.mkdir(target)                # opening a directory for writing: EISDIR
    with pytest.raises(KernelError) as ei:
        cg.apply(Limits(memory=64 * MiB))
    assert ei.value.errno in (errno.EACCES, errno.EISDIR)
    assert ei.value.path == target


# --- devices (the mknod escape: glassbox.cgroups.devices) ------------------------------

DOCKER_DEVICE_RULES = ["c 1:3 rwm", "c 1:5 rwm", "c 1:7 rwm", "c 1:8 rwm", "c 1:9 rwm",
                       "c 5:0 rwm", "c 5:1 rwm", "c 5:2 rwm", "c 136:* rwm", "c 10:200 rwm",
                       "c *:* m", "b *:* m"]


def test_v1_restrict_devices_denies_all_then_allows_dockers_list_before_add(v1):
    cg = v1.open().create()
    v1.populate()
    cg.restrict_devices()
    cg.add(4242)
    d = v1.dir("devices")
    assert cg.journal[:13] == ([(d + "/devices.deny", "a")]
                               + [(d + "/devices.allow", r) for r in DOCKER_DEVICE_RULES])
    # only then the process, into every hierarchy including devices
    assert all(p.endswith("/cgroup.procs") for p, _ in cg.journal[13:])
    assert (d + "/cgroup.procs", "4242") in cg.journal[13:]
    assert read(d + "/devices.deny") == "a"              # one rule per write (O_TRUNC)
    assert read(d + "/devices.allow") == "b *:* m"


def test_the_default_rules_are_one_pure_value():
    from glassbox.cgroups import devices
    assert devices.DENY_ALL == "a"
    assert list(devices.DEFAULT_ALLOW) == DOCKER_DEVICE_RULES
    assert isinstance(devices.DEFAULT_ALLOW, tuple)      # immutable: nobody widens it by accident


def test_v1_restrict_devices_custom_list_and_missing_controller(v1, tmp_path):
    cg = v1.open().create()
    v1.populate()
    cg.restrict_devices(("c 1:3 rw",))
    assert [v for _, v in cg.journal] == ["a", "c 1:3 rw"]
    fake = FakeV1(tmp_path / "nodev", controllers=("cpu", "cpuacct", "memory", "pids", "freezer"))
    cg = fake.open().create()
    fake.populate()
    with pytest.raises(KernelError) as ei:              # fail closed, with the fix in the message
        cg.restrict_devices()
    assert ei.value.errno == errno.ENOENT and "devices" in str(ei.value)
    assert cg.journal == []


def test_v1_destroy_removes_the_devices_cgroup_too(v1):
    cg = v1.open().create()
    assert os.path.isdir(v1.dir("devices"))
    cg.destroy(remove_parent_if_empty=True)
    assert os.listdir(os.path.join(v1.root, "devices")) == []


def test_v1_add_skips_a_missing_devices_cgroup_of_an_older_container(v1):
    import shutil
    cg = v1.open().create()
    v1.populate()
    shutil.rmtree(v1.dir("devices"))        # made before glassbox had device rules
    cg.add(4242)
    assert read(os.path.join(v1.dir("memory"), "cgroup.procs")) == "4242"
    assert not os.path.exists(v1.dir("devices"))


def test_v2_restrict_devices_loads_and_attaches_a_device_program(v2):
    from glassbox._sys.fake import RecordingSys
    from glassbox.cgroups import bpf_device, devices
    cg = v2.open().create()
    sys_ = RecordingSys()
    cg.restrict_devices(sys_=sys_)
    assert sys_.names() == ["bpf_prog_load", "bpf_prog_attach"]
    prog_type, code, license = sys_.calls[0][1][:3]
    assert prog_type == bpf_device.PROG_TYPE_CGROUP_DEVICE and license == "GPL"
    assert code == bpf_device.assemble(devices.DEFAULT_RULES)        # Docker's list
    target_fd, prog_fd, attach_type, flags, path = sys_.calls[1][1]
    assert attach_type == bpf_device.ATTACH_CGROUP_DEVICE and flags == bpf_device.F_ALLOW_MULTI
    assert path == cg.path and isinstance(target_fd, int) and isinstance(prog_fd, int)
    for fd in (target_fd, prog_fd):                       # both closed again
        with pytest.raises(OSError):
            os.fstat(fd)
    assert cg.journal[-1][0].endswith("[bpf BPF_CGROUP_DEVICE]") and "b *:* m" in cg.journal[-1][1]


def test_v2_restrict_devices_custom_rules_and_errors(v2):
    from glassbox._sys.fake import RecordingSys
    from glassbox.cgroups import bpf_device, devices
    cg = v2.open().create()
    sys_ = RecordingSys()
    cg.restrict_devices(("c 1:3 rw", "b 7:* r"), sys_=sys_)
    assert sys_.calls[0][1][1] == bpf_device.assemble([devices.parse_rule("c 1:3 rw"),
                                                       devices.parse_rule("b 7:* r")])
    with pytest.raises(InvalidArgument, match="device rule 'c 1:x rw'"):
        cg.restrict_devices(("c 1:x rw",), sys_=RecordingSys())
    failing = RecordingSys(fail_on={"bpf_prog_attach": errno.EPERM})
    with pytest.raises(KernelError) as ei:               # fail closed: the start fails
        cg.restrict_devices(sys_=failing)
    assert ei.value.errno == errno.EPERM
    with pytest.raises(NotFound):
        v2.open("never-made").restrict_devices(sys_=RecordingSys())


# --- membership, stats, oom ---------------------------------------------------------

def test_add_writes_pid_to_every_hierarchy(v1, v2):
    cg = v1.open().create()
    v1.populate()
    cg.add(4242)
    assert sorted(p for p, _ in cg.journal) == sorted(
        os.path.join(d, "cgroup.procs") for d in cg.paths().values())
    assert all(v == "4242" for _, v in cg.journal)
    cg2 = v2.open().create()
    v2.populate()
    cg2.add(4242)
    assert cg2.journal[-1] == (v2.dir() + "/cgroup.procs", "4242")


def test_pids_include_child_cgroups(v1, v2):
    v1.populate()
    write_files(v1.dir("freezer"), {"cgroup.procs": "10\n11\n"})
    write_files(v1.dir("freezer") + "/sub", {"cgroup.procs": "12\n"})
    assert v1.open().pids() == [10, 11, 12]
    v2.populate(**{"cgroup.procs": "7\n3\n"})
    assert v2.open().pids() == [3, 7]


def test_v1_stats_parsing(v1):
    v1.populate()
    write_files(v1.dir("memory"), {
        "memory.usage_in_bytes": str(100 * MiB), "memory.max_usage_in_bytes": str(120 * MiB),
        "memory.limit_in_bytes": str(256 * MiB),
        "memory.stat": f"cache 1\ninactive_file {5 * MiB}\ntotal_inactive_file {30 * MiB}\n",
        "memory.oom_control": "oom_kill_disable 0\nunder_oom 0\noom_kill 2\n"})
    write_files(v1.dir("cpuacct"), {"cpuacct.usage": "123456789"})
    write_files(v1.dir("cpu"), {"cpu.stat": "nr_periods 9\nnr_throttled 3\nthrottled_time 5000\n"})
    write_files(v1.dir("pids"), {"pids.current": "4", "pids.max": "50"})
    s = v1.open().stats()
    assert s.cpu_usage_ns == 123456789
    assert s.memory_usage == 70 * MiB            # usage - total_inactive_file
    assert s.memory_limit == 256 * MiB and s.memory_max_usage == 120 * MiB
    assert s.pids_current == 4 and s.pids_limit == 50
    assert s.oom_kills == 2 and s.cpu_throttled_ns == 5000 and s.timestamp > 0
    assert v1.open().oom_killed()


def test_v1_stats_unlimited_and_fallback_inactive_file(v1):
    v1.populate()
    write_files(v1.dir("memory"), {"memory.usage_in_bytes": str(10 * MiB),
                                   "memory.stat": f"inactive_file {4 * MiB}\n"})
    s = v1.open().stats()
    assert s.memory_usage == 6 * MiB
    assert s.memory_limit is None and s.pids_limit is None and s.oom_kills == 0
    assert not v1.open().oom_killed()


def test_v2_stats_parsing(v2):
    v2.populate(**{
        "cpu.stat": "usage_usec 1500\nuser_usec 1000\nsystem_usec 500\nthrottled_usec 7\n",
        "memory.current": str(50 * MiB), "memory.peak": str(60 * MiB),
        "memory.stat": f"anon 1\nfile 2\ninactive_file {20 * MiB}\nactive_file 9\n",
        "memory.max": "max", "pids.current": "3", "pids.max": "max",
        "memory.events": "low 0\nhigh 0\nmax 4\noom 1\noom_kill 1\noom_group_kill 0\n"})
    s = v2.open().stats()
    assert s.cpu_usage_ns == 1_500_000 and s.cpu_throttled_ns == 7000
    assert s.memory_usage == 30 * MiB and s.memory_limit is None
    assert s.memory_max_usage == 60 * MiB
    assert s.pids_current == 3 and s.pids_limit is None and s.oom_kills == 1
    assert v2.open().oom_killed()


def test_v2_stats_limits_and_no_oom(v2):
    v2.populate(**{"memory.max": str(64 * MiB), "pids.max": "20",
                   "cpu.stat": "usage_usec 10\n"})
    del_peak = v2.dir() + "/memory.peak"
    os.remove(del_peak)                                 # kernels before 5.19
    s = v2.open().stats()
    assert s.memory_limit == 64 * MiB and s.pids_limit == 20
    assert s.memory_max_usage is None and s.cpu_throttled_ns is None
    assert not v2.open().oom_killed()


# --- freeze / kill -----------------------------------------------------------------

def test_v1_freeze_thaw(v1):
    v1.populate()
    cg = v1.open()
    cg.freeze()
    assert read(v1.dir("freezer") + "/freezer.state") == "FROZEN"
    cg.thaw()
    assert read(v1.dir("freezer") + "/freezer.state") == "THAWED"


def test_v2_freeze_waits_for_events(v2):
    v2.populate(**{"cgroup.events": "populated 1\nfrozen 1\n"})
    cg = v2.open()
    cg.freeze(timeout=0.5)
    assert read(v2.dir() + "/cgroup.freeze") == "1"


def test_v2_freeze_times_out_when_kernel_never_confirms(v2):
    v2.populate(**{"cgroup.events": "populated 1\nfrozen 0\n"})
    with pytest.raises(KernelError) as ei:
        v2.open().freeze(timeout=0.05)
    assert ei.value.errno == errno.ETIMEDOUT
    v2.open().thaw(timeout=0.05)
    assert read(v2.dir() + "/cgroup.freeze") == "0"


def test_v2_kill_all_uses_cgroup_kill(v2):
    v2.populate(**{"cgroup.procs": "999999999\n"})
    cg = v2.open()
    cg.kill_all()
    assert cg.journal == [(v2.dir() + "/cgroup.kill", "1")]


@pytest.fixture
def sleeper():
    p = subprocess.Popen(["sleep", "30"])
    yield p
    if p.poll() is None:
        p.kill()
    p.wait()


def test_v2_kill_all_signals_each_pid_without_cgroup_kill(v2, sleeper):
    v2.populate(kill=False, **{"cgroup.procs": f"{sleeper.pid}\n"})
    v2.open().kill_all(signal.SIGTERM)
    assert sleeper.wait(timeout=10) == -signal.SIGTERM


def test_v1_kill_all_freezes_signals_thaws(v1, sleeper):
    v1.populate()
    write_files(v1.dir("freezer"), {"cgroup.procs": f"{sleeper.pid}\n"})
    cg = v1.open()
    cg.kill_all()
    assert sleeper.wait(timeout=10) == -signal.SIGKILL
    states = [v for p, v in cg.journal if p.endswith("freezer.state")]
    assert states == ["FROZEN", "THAWED"]
