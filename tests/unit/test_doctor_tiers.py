"""The doctor's pure parts: subordinate-id parsing and the tier it picks."""

from glassbox.doctor import NO, OK, WARN, Check, _subid_ranges, pick_tier


def _checks(**status):
    names = {"privilege": "root", "user namespaces": OK, "overlay": OK, "fresh /proc": OK,
             "cgroups": OK}
    aliases = {"user_namespaces": "user namespaces", "fresh_proc": "fresh /proc"}
    for k, v in status.items():
        assert aliases.get(k, k) in names, k
        names[aliases.get(k, k)] = v
    return [Check(k, v, "") for k, v in names.items()]


def test_root_with_everything_is_full():
    assert pick_tier(_checks()) == "full"


def test_root_without_overlay_is_user_space_only():
    assert pick_tier(_checks(overlay=NO)) == "user-space"


def test_rootless_tiers_follow_userns_and_delegation():
    assert pick_tier(_checks(privilege="rootless")) == "rootless (limits)"
    assert pick_tier(_checks(privilege="rootless", cgroups=WARN)) == "rootless"
    assert pick_tier(_checks(privilege="rootless", user_namespaces=NO)) == "user-space"
    assert pick_tier(_checks(privilege="rootless", fresh_proc=NO)) == "user-space"


def test_subid_ranges_match_name_or_uid(tmp_path):
    f = tmp_path / "subuid"
    f.write_text("alice:100000:65536\n1001:165536:65536\nbroken line\nbob:x:1\n")
    assert _subid_ranges(str(f), "alice", 1000) == [(100000, 65536)]
    assert _subid_ranges(str(f), "carol", 1001) == [(165536, 65536)]
    assert _subid_ranges(str(f), "bob", 1002) == []
    assert _subid_ranges(str(tmp_path / "missing"), "alice", 1000) == []
