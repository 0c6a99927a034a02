"""The build cache: key computation (pure), the on-disk store, --cache-from matching."""

from __future__ import annotations

import json
import os
from types import SimpleNamespace

import pytest

from glassbox.build.cache import BuildCache, cache_key, history_signature, match_cache_from

P1 = "sha256:" + "1" * 64
P2 = "sha256:" + "2" * 64


# ---- cache_key ----------------------------------------------------------------------

def test_key_is_deterministic_hex():
    k = cache_key(P1, 'RUN ["/bin/sh","-c","echo hi"]', ["A=1"], None)
    assert k == cache_key(P1, 'RUN ["/bin/sh","-c","echo hi"]', ["A=1"], None)
    assert len(k) == 64 and all(c in "0123456789abcdef" for c in k)


@pytest.mark.parametrize("change", [
    dict(parent=P2),                                  # another parent image
    dict(instruction="RUN echo bye"),                 # another instruction
    dict(build_args=["A=2"]),                         # another build-arg value
    dict(build_args=[]),                              # the arg no longer visible
    dict(checksum="sha256:" + "f" * 64),              # COPY read other files
])
def test_each_input_changes_the_key(change):
    base = dict(parent=P1, instruction="RUN echo hi", build_args=["A=1"],
                checksum="sha256:" + "e" * 64)
    assert cache_key(**base) != cache_key(**{**base, **change})


def test_build_arg_order_does_not_matter():
    assert cache_key(P1, "RUN x", ["A=1", "B=2"]) == cache_key(P1, "RUN x", ["B=2", "A=1"])


def test_scratch_parent_spellings_agree():
    assert cache_key(None, "COPY a /a") == cache_key("", "COPY a /a")
    assert cache_key(None, "COPY a /a") != cache_key(P1, "COPY a /a")


def test_no_checksum_differs_from_empty_checksum():
    assert cache_key(P1, "COPY a /a", (), None) != cache_key(P1, "COPY a /a", (), "")


# ---- the store ------------------------------------------------------------------------

def test_put_get_survives_a_new_instance(tmp_path):
    k = cache_key(P1, "ENV A=1")
    BuildCache(tmp_path).put(k, P2, parent=P1, created_by="x")
    again = BuildCache(tmp_path)                      # another process would do the same
    assert again.get(k) == P2
    path = os.path.join(tmp_path, "build-cache", k[:2], k + ".json")
    assert json.load(open(path))["image"] == P2
    assert not [n for n in os.listdir(os.path.dirname(path)) if ".tmp-" in n]


def test_miss_corrupt_entry_and_forget(tmp_path):
    c = BuildCache(tmp_path)
    k = cache_key(P1, "ENV A=1")
    assert c.get(k) is None
    os.makedirs(os.path.join(c.dir, k[:2]))
    with open(os.path.join(c.dir, k[:2], k + ".json"), "w") as f:
        f.write("{not json")
    assert c.get(k) is None
    c.put(k, P2)
    assert c.get(k) == P2
    c.forget(k)
    assert c.get(k) is None


def test_entry_must_name_an_image_id(tmp_path):
    c = BuildCache(tmp_path)
    k = cache_key(P1, "x")
    c.put(k, "not-an-id")
    assert c.get(k) is None


def test_bad_keys_are_refused(tmp_path):
    with pytest.raises(ValueError):
        BuildCache(tmp_path).get("../../etc/passwd")


def test_prune_drops_entries_of_removed_images(tmp_path):
    c = BuildCache(tmp_path)
    k1, k2 = cache_key(P1, "a"), cache_key(P1, "b")
    c.put(k1, P1)
    c.put(k2, P2)
    assert c.prune(lambda image: image == P1) == 1
    assert c.get(k1) == P1 and c.get(k2) is None
    assert sorted(c.entries()) == [(k1, P1)]


# ---- --cache-from -----------------------------------------------------------------------

def _img(history, diff_ids, id_="sha256:" + "c" * 64):
    return SimpleNamespace(id=id_, config={"history": history,
                                           "rootfs": {"type": "layers", "diff_ids": diff_ids}})


BASE_H = [{"created_by": "ADD rootfs", "created": "t0"}]
D0, D1 = "sha256:" + "a" * 64, "sha256:" + "b" * 64


def test_cache_from_matches_the_next_history_line_and_layer():
    parent = {"history": BASE_H, "rootfs": {"diff_ids": [D0]}}
    cand = _img(BASE_H + [{"created_by": "/bin/sh -c make", "created": "t1"},
                          {"created_by": "/bin/sh -c #(nop)  CMD [\"x\"]", "empty_layer": True}],
                [D0, D1])
    hit = match_cache_from(parent, "/bin/sh -c make", False, [cand])
    assert hit is not None and hit.layer_index == 1 and hit.history["created"] == "t1"
    # the step after it, from the image after the first step
    parent2 = {"history": cand.config["history"][:2], "rootfs": {"diff_ids": [D0, D1]}}
    hit2 = match_cache_from(parent2, '/bin/sh -c #(nop)  CMD ["x"]', True, [cand])
    assert hit2 is not None and hit2.layer_index is None


def test_cache_from_needs_same_parent_chain_and_kind():
    parent = {"history": BASE_H, "rootfs": {"diff_ids": [D0]}}
    other_base = _img([{"created_by": "ADD other"}, {"created_by": "/bin/sh -c make"}],
                      [D1, D0])
    assert match_cache_from(parent, "/bin/sh -c make", False, [other_base]) is None
    same_hist_other_layers = _img(BASE_H + [{"created_by": "/bin/sh -c make"}], [D1, D0])
    assert match_cache_from(parent, "/bin/sh -c make", False,
                            [same_hist_other_layers]) is None
    cand = _img(BASE_H + [{"created_by": "/bin/sh -c make"}], [D0, D1])
    assert match_cache_from(parent, "/bin/sh -c make install", False, [cand]) is None
    assert match_cache_from(parent, "/bin/sh -c make", True, [cand]) is None  # kind differs
    assert match_cache_from(parent, "/bin/sh -c make", False, [cand]) is not None


def test_cache_from_scratch_parent():
    cand = _img([{"created_by": "COPY file:abc in /"}], [D0])
    assert match_cache_from(None, "COPY file:abc in /", False, [cand]).layer_index == 0


def test_history_signature():
    assert history_signature([{"created_by": "a", "empty_layer": True}, {}]) == \
        [("a", True), ("", False)]
