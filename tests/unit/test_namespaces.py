"""The namespaces package: the kinds as data and reading a process's namespace table."""

import os

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
