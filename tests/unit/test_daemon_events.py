"""The event watcher's pure parts: snapshot diffs become Docker events."""

from __future__ import annotations

from glassbox.events import diff, matches


def snap(containers=None, images=None, networks=(), volumes=()):
    return {"containers": containers or {}, "images": images or {},
            "networks": set(networks), "volumes": set(volumes)}


def c(status, name="web", exit=0, image="busybox"):
    return {"status": status, "name": name, "image": image, "exit": exit, "labels": {"a": "b"}}


def actions(events):
    return [(e["Type"], e["Action"]) for e in events]


def test_a_container_life_in_events():
    s0 = snap()
    s1 = snap({"x": c("created")})
    s2 = snap({"x": c("running")})
    s3 = snap({"x": c("paused")})
    s4 = snap({"x": c("running", name="web2")})
    s5 = snap({"x": c("exited", name="web2", exit=3)})
    assert actions(diff(s0, s1)) == [("container", "create")]
    assert actions(diff(s1, s2)) == [("container", "start")]
    assert actions(diff(s2, s3)) == [("container", "pause")]
    ev = diff(s3, s4)
    assert actions(ev) == [("container", "rename"), ("container", "unpause")]
    assert ev[0]["Actor"]["Attributes"]["oldName"] == "/web"
    die = diff(s4, s5)
    assert actions(die) == [("container", "die")]
    assert die[0]["Actor"]["Attributes"]["exitCode"] == "3"
    assert die[0]["status"] == "die" and die[0]["id"] == "x" and die[0]["from"] == "busybox"
    assert actions(diff(s5, s0)) == [("container", "destroy")]
    # created and run to its end between two looks: both moments reported
    assert actions(diff(s0, snap({"y": c("exited", exit=0)}))) == [("container", "create")]
    assert actions(diff(s0, snap({"y": c("running")}))) == [("container", "create"),
                                                              ("container", "start")]
    # a running container removed at once (rm -f): it died, then was destroyed
    assert actions(diff(s2, s0)) == [("container", "die"), ("container", "destroy")]


def test_a_container_that_ended_and_went_between_two_looks_keeps_its_exit_code():
    """`run` then `rm` within one poll: the watcher saw it running, then gone; the
    exit code comes from containers/.removed/ (what the remover left behind)."""
    running = snap({"x": c("running")})
    gone = dict(snap(), removed={"x": 3})
    die = diff(running, gone)
    assert actions(die) == [("container", "die"), ("container", "destroy")]
    assert die[0]["Actor"]["Attributes"]["exitCode"] == "3"


def test_removal_records_the_exit_code_and_forgets_old_ones(tmp_path):
    import json
    import os
    import time

    from glassbox.containers import state
    containers = tmp_path / "containers"
    for cid, code in (("a" * 64, 3), ("b" * 64, 0)):
        d = containers / cid
        d.mkdir(parents=True)
        (d / "state.json").write_text(json.dumps({"Status": "exited", "ExitCode": code}))
    state.remove_container_dir(str(containers / ("a" * 64)))
    assert state.removed_exit_codes(str(containers)) == {"a" * 64: 3}
    old = time.time() - state.REMOVED_KEEP - 1
    os.utime(containers / state.REMOVED / ("a" * 64), (old, old))
    state.remove_container_dir(str(containers / ("b" * 64)))
    assert state.removed_exit_codes(str(containers)) == {"b" * 64: 0}
    assert not (containers / ("a" * 64)).exists() and not (containers / ("b" * 64)).exists()


def test_images_networks_volumes():
    a = snap(images={"sha256:1": {"busybox:latest"}})
    b = snap(images={"sha256:1": {"busybox:latest", "mine:1"}}, networks={"labnet"},
             volumes={"data"})
    assert actions(diff(a, b)) == [("image", "tag"), ("network", "create"), ("volume", "create")]
    assert actions(diff(b, snap())) == [("image", "untag"), ("image", "untag"),
                                        ("image", "delete"), ("network", "destroy"),
                                        ("volume", "destroy")]


def test_filters():
    ev = diff(snap(), snap({"abc123": c("running", name="web")}))
    start = ev[1]
    assert matches(start, {"type": ["container"], "event": ["start"]})
    assert not matches(start, {"event": ["die"]})
    assert matches(start, {"container": ["web"]}) and matches(start, {"container": ["abc"]})
    assert not matches(start, {"container": ["other"]})
    assert matches(start, {"label": ["a=b"]}) and not matches(start, {"label": ["a=c"]})
    assert not matches(start, {"type": ["image"]})
