"""The namespaces package: the kinds as data, making and joining them (recorded by the
``_sys`` fake), and reading a process's namespace table."""

import os

import pytest

from glassbox import namespaces as ns


def _fake_proc(tmp_path, pid, links):
    d = tmp_path / str(pid) / "ns"
    d.mkdir(parents=True)
    for kind, inode in links.items():
        os.symlink(f"{kind}:[{inode}]", d / kind)
    return str(tmp_path)


def test_kinds_in_creation_order_pid_first_cgroup_last():
    kinds = [k for k, _ in ns.KINDS]
    assert kinds[0] == "pid" and kinds[-1] == "cgroup"
    assert set(kinds) == {"pid", "mnt", "uts", "ipc", "net", "cgroup"}
    assert all(why for _, why in ns.KINDS + ns.NOT_UNSHARED)


def test_read_table_orders_container_kinds_first_and_skips_for_children(tmp_path):
    proc = _fake_proc(tmp_path, 42, {"user": 1, "net": 2, "pid": 3, "pid_for_children": 3,
                                     "mnt": 4, "uts": 5, "ipc": 6, "cgroup": 7, "time": 8})
    table = ns.read_table(42, proc=proc)
    assert [e.kind for e in table] == ["pid", "mnt", "uts", "ipc", "net", "cgroup", "user", "time"]
    assert table[0].label == "pid:[3]"


def test_shared_compares_inodes(tmp_path):
    proc = _fake_proc(tmp_path, 1, {"pid": 10, "uts": 11, "user": 12})
    _fake_proc(tmp_path, 2, {"pid": 20, "uts": 11, "user": 12})
    same = ns.shared(ns.read_table(1, proc), ns.read_table(2, proc))
    assert same == {"pid": False, "uts": True, "user": True}


def test_unreadable_link_gives_unknown_inode_never_shared(tmp_path):
    d = tmp_path / "7" / "ns"
    d.mkdir(parents=True)
    os.symlink("garbage", d / "uts")
    table = ns.read_table(7, proc=str(tmp_path))
    assert table == [ns.NamespaceEntry("uts", None)] and table[0].label == "uts:?"
    assert ns.shared(table, table) == {"uts": False}


def test_missing_process_lists_the_kinds_with_unknown_inodes(tmp_path):
    table = ns.read_table(99999, proc=str(tmp_path))
    assert [e.kind for e in table] == [k for k, _ in ns.KINDS]
    assert all(e.inode is None for e in table)


def test_real_self_table_has_inodes():
    table = ns.read_table()
    assert {e.kind for e in table} >= {"pid", "mnt", "net"}
    assert all(isinstance(e.inode, int) for e in table if e.kind in ("pid", "mnt", "net"))


# ---- the operations, recorded by the _sys fake -------------------------------------
def _consts():
    from glassbox._sys import constants as c
    return c


def test_the_shims_step_is_a_new_pid_namespace_for_its_next_child():
    from glassbox._sys.fake import RecordingSys
    s = RecordingSys()
    ns.new_pid_namespace_for_child(s)
    assert s.calls == [("unshare", (_consts().CLONE_NEWPID,))]


def test_init_makes_its_own_kinds_in_one_unshare_never_pid_or_user():
    from glassbox._sys.fake import RecordingSys
    c, s = _consts(), RecordingSys()
    ns.create(s, ["user", "pid", "mnt", "uts", "ipc", "net", "cgroup"])
    want = c.CLONE_NEWNS | c.CLONE_NEWUTS | c.CLONE_NEWIPC | c.CLONE_NEWNET | c.CLONE_NEWCGROUP
    assert s.calls == [("unshare", (want,))]


def test_init_joins_another_containers_network_first_then_makes_the_rest(tmp_path):
    from glassbox._sys.fake import RecordingSys
    c, s = _consts(), RecordingSys()
    other = tmp_path / "net"
    other.write_text("")                        # stands in for /proc/<pid>/ns/net
    ns.create(s, ["pid", "mnt", "uts", "ipc", "net", "cgroup"], str(other))
    assert s.names() == ["setns", "unshare"]
    assert s.calls[0][1][1:] == (c.CLONE_NEWNET, str(other))
    assert not s.calls[1][1][0] & c.CLONE_NEWNET   # its net is joined, not made


def test_the_init_child_makes_them_then_sets_up_loopback_and_the_hostname():
    from glassbox._sys.fake import RecordingSys
    from glassbox.runtime.init import enter_namespaces
    from glassbox.runtime.spec import ProcessSpec
    s = RecordingSys()
    spec = ProcessSpec(id="c" * 64, args=["true"], env=[], hostname="box")
    enter_namespaces(s, spec)
    assert s.names() == ["unshare", "set_link_up", "sethostname"]


@pytest.mark.parametrize("kinds,user,want", [
    (("pid", "mnt", "uts", "ipc", "net", "cgroup"), "",
     ("ipc", "uts", "net", "pid", "cgroup", "mnt")),
    (("pid", "mnt", "uts", "ipc", "cgroup"), "",            # --network host: the host's
     ("ipc", "uts", "pid", "cgroup", "mnt")),
    (("pid", "mnt", "uts", "ipc", "net", "cgroup"), "first",  # rootless
     ("user", "ipc", "uts", "net", "pid", "cgroup", "mnt")),
    (("pid", "mnt", "uts", "ipc", "net", "cgroup"), "last",   # --userns=private
     ("ipc", "uts", "net", "pid", "cgroup", "mnt", "user")),
])
def test_exec_joins_mnt_last_and_the_user_namespace_where_it_must(kinds, user, want):
    assert ns.join_order(kinds, user) == want


def test_exec_joins_in_the_order_it_was_given():
    from glassbox._sys.fake import RecordingSys
    s = RecordingSys()
    ns.join(s, 42, [("ipc", 7), ("net", 8), ("mnt", 9)])
    assert s.calls == [("setns", (7, 0, "/proc/42/ns/ipc")), ("setns", (8, 0, "/proc/42/ns/net")),
                       ("setns", (9, 0, "/proc/42/ns/mnt"))]
