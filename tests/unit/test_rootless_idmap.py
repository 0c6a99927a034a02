"""The id-map plan of a rootless user: /etc/subuid parsing and the fallbacks."""

from __future__ import annotations

import pytest

from glassbox.rootless import idmap
from glassbox.rootless.idmap import IdRange, parse_subids, plan

SUBUID = """# comment
alice:100000:65536
bob:165536:65536
1003:231072:65536
alice:300000:1000
broken:line
carol:x:10
"""


def test_parse_by_name_and_by_uid_in_file_order():
    assert parse_subids(SUBUID, "alice", 1001) == [(100000, 65536), (300000, 1000)]
    assert parse_subids(SUBUID, "dave", 1003) == [(231072, 65536)]
    assert parse_subids(SUBUID, "carol", 1004) == []      # malformed lines skipped
    assert parse_subids("", "alice", 1001) == []


def test_subids_plan_maps_root_to_the_user_then_the_ranges():
    p = plan(1001, 1001, "alice", SUBUID, SUBUID, have_helpers=True)
    assert p.helper and p.mode == "subids"
    assert p.uids == (IdRange(0, 1001, 1), IdRange(1, 100000, 65536),
                      IdRange(65537, 300000, 1000))
    assert [r.line() for r in p.gids][:2] == ["0 1001 1", "1 100000 65536"]
    assert p.size == 1 + 65536 + 1000


def test_overlapping_ranges_are_dropped():
    text = "alice:100000:100\nalice:100050:100\nalice:2000:5\n"
    p = plan(1002, 1002, "alice", text, text, have_helpers=True)
    assert [r.outside for r in p.uids] == [1002, 100000, 2000]
    assert [r.inside for r in p.uids] == [0, 1, 101]
    own = "alice:1000:10\n"           # a range holding the user's own uid is skipped
    assert plan(1005, 1005, "alice", own, own, have_helpers=True).uids == (IdRange(0, 1005, 1),)


@pytest.mark.parametrize("subuid,subgid,helpers,nnp,why", [
    (None, "", True, False, "no /etc/subuid"),
    ("", SUBUID, True, False, "no entry in /etc/subuid"),
    (SUBUID, "bob:1:2\n", True, False, "no entry in /etc/subgid"),
    (SUBUID, SUBUID, False, False, "uidmap"),
    (SUBUID, SUBUID, True, True, "no_new_privs"),
])
def test_single_map_fallbacks_say_why(subuid, subgid, helpers, nnp, why):
    p = plan(1001, 1002, "alice", subuid, subgid, have_helpers=helpers, no_new_privs=nnp)
    assert not p.helper and p.mode == "single"
    assert p.uids == (IdRange(0, 1001, 1),) and p.gids == (IdRange(0, 1002, 1),)
    assert why in p.reason


def test_no_entry_reason_names_the_fix():
    p = plan(1001, 1001, "alice", "", "", have_helpers=True)
    assert "glassbox system setup-user alice" in p.reason


def test_plan_json_for_state():
    p = plan(1001, 1001, "alice", SUBUID, SUBUID, have_helpers=True)
    assert p.to_json()["UidMap"][0] == "0 1001 1" and p.to_json()["Mode"] == "subids"


def test_map_command_line():
    from glassbox.rootless.userns import map_command
    assert map_command("/usr/bin/newuidmap", 42, (IdRange(0, 1001, 1), IdRange(1, 100000, 5))) \
        == ["/usr/bin/newuidmap", "42", "0", "1001", "1", "1", "100000", "5"]


def test_host_plan_reads_the_given_etc(tmp_path, monkeypatch):
    (tmp_path / "subuid").write_text("alice:100000:65536\n")
    (tmp_path / "subgid").write_text("alice:100000:65536\n")
    monkeypatch.setattr(idmap, "login_name", lambda uid: "alice")
    monkeypatch.setattr(idmap, "helpers", lambda: ("/x/newuidmap", "/x/newgidmap"))
    monkeypatch.setattr(idmap, "no_new_privs", lambda: False)
    assert idmap.host_plan(1001, 1001, etc=str(tmp_path)).mode == "subids"
    (tmp_path / "subgid").write_text("")
    assert idmap.host_plan(1001, 1001, etc=str(tmp_path)).mode == "single"
