"""glassbox.present: the words every front end shows (``ps`` status, filters, rows),
checked on container and image records made here (no engine, no root)."""

from __future__ import annotations

import time
from types import SimpleNamespace

import pytest

from glassbox import present
from glassbox.errors import InvalidArgument


def _iso(seconds_ago: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S.5Z", time.gmtime(time.time() - seconds_ago))


def _container(status="running", exit_code=0, name="web", labels=None, image="busybox",
               started=150.0, finished=3 * 3600.0, healthcheck=None, tmp_path=None):
    return SimpleNamespace(
        id="ab" * 32, name=name, status=status, exit_code=exit_code,
        running=status in ("running", "paused"), dir=str(tmp_path or "/nonexistent"),
        state={"StartedAt": _iso(started), "FinishedAt": _iso(finished)},
        config={"Image": "sha256:" + "cd" * 32, "Path": "sh", "Args": ["-c", "sleep 9"],
                "Created": _iso(630),
                "Config": {"Image": image, "Labels": labels or {},
                           **({"Healthcheck": healthcheck} if healthcheck else {})}})


@pytest.mark.parametrize("status, code, want", [
    ("running", 0, "Up 2 minutes"),
    ("paused", 0, "Up 2 minutes (Paused)"),
    ("exited", 137, "Exited (137) 3 hours ago"),
    ("restarting", 1, "Restarting (1) 3 hours ago"),
    ("created", 0, "Created"),
])
def test_status_text_says_what_docker_ps_says(status, code, want):
    assert present.status_text(_container(status, code)) == want


def test_status_text_of_a_healthchecked_container_names_its_health(tmp_path):
    import json
    (tmp_path / "health.json").write_text(json.dumps({"Status": "healthy",
                                                      "FailingStreak": 0, "Log": []}))
    c = _container(healthcheck={"Test": ["CMD", "true"]}, tmp_path=tmp_path)
    assert present.status_text(c) == "Up 2 minutes (healthy)"


def test_ps_filters_collect_values_and_name_a_bad_one():
    assert present.ps_filters(["status=exited", "label=a=b", "status=created"]) == \
        {"status": ["exited", "created"], "label": ["a=b"]}
    with pytest.raises(InvalidArgument, match="expected name=value.*: status"):
        present.ps_filters(["status"])
    with pytest.raises(InvalidArgument, match="invalid filter 'colour'"):
        present.ps_filters(["colour=red"])


def test_matches_any_value_of_a_key_and_every_key():
    c = _container("exited", 3, name="db-1", labels={"tier": "back", "x": ""})
    assert present.matches(c, {"status": ["running", "exited"], "name": ["db"]})
    assert not present.matches(c, {"status": ["exited"], "name": ["web"]})
    assert present.matches(c, {"exited": ["3"], "label": ["tier=back", "x"]})
    assert not present.matches(c, {"label": ["tier=front"]})
    assert present.matches(c, {"ancestor": ["busybox"], "id": ["abab"]})
    assert not present.matches(c, {"ancestor": ["alpine"]})


def test_ps_rows_hide_stopped_ones_unless_asked():
    eng = SimpleNamespace(ps=lambda all=True: [_container("running", name="up"),
                                               _container("exited", 1, name="down")])
    assert [r["Names"] for r in present.ps_rows(eng, False)] == ["up"]
    assert [r["Names"] for r in present.ps_rows(eng, True)] == ["up", "down"]
    rows = present.ps_rows(eng, False, {"status": ["exited"]})
    assert [(r["Names"], r["Status"]) for r in rows] == [("down", "Exited (1) 3 hours ago")]
    assert rows[0]["Command"] == '"sh -c sleep 9"' and rows[0]["RunningFor"] == \
        "10 minutes ago"


def _image(iid, tags, steps, layers):
    return SimpleNamespace(id=iid, repo_tags=tuple(tags), created=_iso(60), size=4_260_000,
                           manifest_digest="", diff_ids=tuple(layers),
                           config={"history": [{"created_by": s} for s in steps]})


def test_images_without_all_hide_build_steps_not_dangling_ones():
    step = _image("sha256:" + "1" * 64, [], ["ADD x"], ["l1"])
    final = _image("sha256:" + "2" * 64, ["app:1"], ["ADD x", "RUN y"], ["l1", "l2"])
    dangling = _image("sha256:" + "3" * 64, [], ["ADD z"], ["l9"])
    images = [step, final, dangling]
    assert present.shown_images(images) == [final, dangling]
    assert present.shown_images(images, True) == images
    rows = present.image_rows(SimpleNamespace(image_list=lambda: images))
    assert [(r["Repository"], r["Tag"], r["ID"], r["Size"]) for r in rows] == [
        ("app", "1", "2" * 12, "4.26MB"), ("<none>", "<none>", "3" * 12, "4.26MB")]


def _stats(cpu_ns: int, mem: int, limit: int | None, pids: int, at: float):
    from glassbox.cgroups.stats import Stats
    return Stats(cpu_usage_ns=cpu_ns, memory_usage=mem, memory_limit=limit,
                 memory_max_usage=None, pids_current=pids, pids_limit=None, oom_kills=0,
                 cpu_throttled_ns=None, timestamp=at, cgroup_version=2)


def test_stats_row_takes_the_host_memory_when_there_is_no_limit(monkeypatch):
    monkeypatch.setattr(present, "host_memory", lambda: 8 << 30)
    c = _container()
    prev = _stats(0, 0, None, 1, 100.0)
    cur = _stats(500_000_000, 512 << 20, None, 2, 101.0)
    row = present.stats_row(c, cur, prev)
    assert row["MemUsage"] == "512MiB / 8GiB" and row["MemPerc"] == "6.25%"
    assert row["CPUPerc"] == "50.00%" and row["PIDs"] == "2" and row["Cgroup"] == "v2"
    limited = _stats(0, 32 << 20, 64 << 20, 1, 101.0)
    assert present.stats_row(c, limited)["MemPerc"] == "50.00%"      # no prev: CPU 0
    assert present.stats_row(c, limited)["CPUPerc"] == "0.00%"


def test_host_memory_is_this_machines_ram():
    with open("/proc/meminfo") as f:
        kib = int(next(line for line in f if line.startswith("MemTotal:")).split()[1])
    assert present.host_memory() == kib * 1024
