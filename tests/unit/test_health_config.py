"""Healthchecks: flags and API documents (Docker's messages), the image merge,
the state machine (the C monitor's own, run through --health-step), ps text."""

from __future__ import annotations

import os
import subprocess

import pytest

from glassbox.containers import health as H
from glassbox.errors import InvalidArgument

S = 1_000_000_000


def test_flags_to_healthcheck():
    assert H.from_flags() is None
    doc = H.from_flags("curl -f localhost", "1s", "500ms", 2, "10s", "100ms")
    assert doc == {"Test": ["CMD-SHELL", "curl -f localhost"], "Interval": S,
                   "Timeout": S // 2, "StartPeriod": 10 * S, "StartInterval": S // 10,
                   "Retries": 2}
    assert H.from_flags(none=True) == {"Test": ["NONE"]}
    assert H.from_flags(interval="2s")["Test"] == []        # the image's command stays


@pytest.mark.parametrize("kw, message", [
    ({"cmd": "true", "none": True}, "--no-healthcheck conflicts with --health-* options"),
    ({"interval": "-1s"}, "--health-interval cannot be negative"),
    ({"retries": -1}, "--health-retries cannot be negative"),
    ({"timeout": "10"}, "missing unit"),
    ({"start_period": "500us"}, "StartPeriod in Healthcheck cannot be less than 1ms"),
])
def test_flags_refused(kw, message):
    with pytest.raises(InvalidArgument) as e:
        H.from_flags(**kw)
    assert message in str(e.value)


@pytest.mark.parametrize("doc, message", [
    ({"Test": "true"}, "Test must be a list"),
    ({"Test": ["SHELL", "x"]}, "unknown type"),
    ({"Test": ["CMD"]}, "needs a command"),
    ({"Test": ["NONE"], "Interval": 10}, "Interval in Healthcheck cannot be less than 1ms"),
    ({"Test": ["NONE"], "Retries": -1}, "Retries in Healthcheck cannot be negative"),
    ({"Test": ["NONE"], "Interval": "1s"}, "must be an integer"),
    ({"Test": ["NONE"], "Frequency": 1}, "unknown field"),
])
def test_api_document_refused(doc, message):
    with pytest.raises(InvalidArgument, match=message):
        H.validate(doc)


def test_merge_with_image_and_defaults():
    image = {"Test": ["CMD", "/check"], "Interval": 5 * S, "Retries": 7}
    merged = H.merge({"Test": [], "Interval": 0, "Timeout": 2 * S, "Retries": 0}, image)
    assert merged["Test"] == ["CMD", "/check"] and merged["Interval"] == 5 * S
    assert merged["Timeout"] == 2 * S and merged["Retries"] == 7
    assert H.merge(None, image) == image and H.merge({"Test": ["NONE"]}, image)["Test"] == \
        ["NONE"]
    eff = H.effective(H.merge(None, image))
    assert eff["argv"] == ["/check"] and eff["Timeout"] == 30 * S and eff["StartInterval"] == 5 * S
    assert H.effective({"Test": ["CMD-SHELL", "a && b"]})["argv"] == ["/bin/sh", "-c", "a && b"]
    assert H.effective({"Test": ["NONE"]}) is None and H.effective(None) is None


def test_ps_suffix_and_reader(tmp_path):
    assert H.read(str(tmp_path)) is None
    (tmp_path / "health.json").write_text(
        '{"Status": "healthy", "FailingStreak": 0, "Log": [' +
        ", ".join(f'{{"ExitCode": {i}}}' for i in range(7)) + "]}")
    doc = H.read(str(tmp_path))
    assert doc["Status"] == "healthy" and [e["ExitCode"] for e in doc["Log"]] == [2, 3, 4, 5, 6]
    assert H.status_suffix(doc) == " (healthy)"
    assert H.status_suffix({"Status": "starting"}) == " (health: starting)"
    assert H.status_suffix({"Status": "unhealthy"}) == " (unhealthy)"
    assert H.status_suffix(None) == ""


@pytest.fixture(scope="module")
def monitor(tmp_path_factory) -> str:
    """The real gbx-monitor, built from its source into a temp dir."""
    from glassbox._native import compile_c
    from glassbox.runtime.monitor import SOURCE
    out = compile_c(SOURCE, str(tmp_path_factory.mktemp("mon") / "gbx-monitor"))
    if out is None:
        pytest.skip("no C compiler")
    return out


def step(monitor, status, streak, in_start, retries, code) -> tuple[str, int]:
    out = subprocess.run([monitor, "--health-step", status, str(streak), str(int(in_start)),
                          str(retries), str(code)], capture_output=True, text=True, check=True)
    st, n = out.stdout.split()
    return st, int(n)


def test_state_machine(monitor):
    assert step(monitor, "starting", 0, False, 3, 0) == ("healthy", 0)
    assert step(monitor, "starting", 0, True, 3, 1) == ("starting", 0)   # start period: free
    assert step(monitor, "starting", 1, False, 3, 1) == ("starting", 2)
    assert step(monitor, "starting", 2, False, 3, 1) == ("unhealthy", 3)
    assert step(monitor, "healthy", 0, True, 3, 1) == ("healthy", 1)     # after a success it counts
    assert step(monitor, "healthy", 2, False, 3, -1) == ("unhealthy", 3)  # a timeout is a failure
    assert step(monitor, "unhealthy", 9, False, 3, 0) == ("healthy", 0)
    assert os.path.basename(monitor) == "gbx-monitor"


def _snap(**c) -> dict:
    base = {"status": "running", "name": "web", "image": "busybox", "exit": 0, "labels": {},
            "restarts": 0, "health": None}
    return {"containers": {"c1": {**base, **c}}, "images": {}, "networks": set(),
            "volumes": set()}


def test_events_health_status_and_missed_restarts():
    from glassbox.events import diff, matches
    evs = diff(_snap(health="starting"), _snap(health="healthy"), now=1.0)
    assert [e["Action"] for e in evs] == ["health_status: healthy"]
    assert matches(evs[0], {"event": ["health_status"]})          # docker's filter form
    assert diff(_snap(health="healthy"), _snap(health="healthy"), now=1.0) == []
    assert [e["Action"] for e in diff(_snap(health="healthy"), _snap(health="unhealthy"))] == \
        ["health_status: unhealthy"]
    # restarted by its monitor between two looks: the die and start are still told
    evs = diff(_snap(restarts=1), _snap(restarts=2, exit=3))
    assert [(e["Action"], e["Actor"]["Attributes"].get("exitCode")) for e in evs] == \
        [("die", "3"), ("start", None)]
    assert [e["Action"] for e in diff(_snap(), _snap(status="restarting", exit=1))] == ["die"]
    assert [e["Action"] for e in diff(_snap(status="restarting"), _snap())] == ["start"]
