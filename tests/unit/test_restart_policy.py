"""Restart policies: parsing with Docker's messages, the decision, the backoff."""

from __future__ import annotations

import os

import pytest

from glassbox.containers import restart as R
from glassbox.errors import InvalidArgument


@pytest.mark.parametrize("text, name, count", [
    (None, "no", 0), ("", "no", 0), ("no", "no", 0), ("always", "always", 0),
    ("unless-stopped", "unless-stopped", 0), ("on-failure", "on-failure", 0),
    ("on-failure:3", "on-failure", 3), ("on-failure:0", "on-failure", 0),
])
def test_parse_good(text, name, count):
    assert R.parse(text) == R.RestartPolicy(name, count)


@pytest.mark.parametrize("text, message", [
    ("always:3", "invalid restart policy: maximum retry count can only be used with "
                 "'on-failure'"),
    ("unless-stopped:1", "can only be used with 'on-failure'"),
    ("no:-1", "can only be used with 'on-failure' and cannot be negative"),
    ("on-failure:-2", "invalid restart policy: maximum retry count cannot be negative"),
    ("on-failure:x", "invalid restart policy format: maximum retry count must be an integer"),
    (":3", "no policy provided before colon"),
    ("sometimes", "invalid restart policy: unknown policy 'sometimes'; use one of 'no', "
                  "'always', 'on-failure', or 'unless-stopped'"),
])
def test_parse_bad(text, message):
    with pytest.raises(InvalidArgument) as e:
        R.parse(text)
    assert message in str(e.value)


def test_api_policy_and_auto_remove():
    assert R.from_api({"Name": "", "MaximumRetryCount": 5}) == R.RestartPolicy()  # old clients
    assert R.from_api({"Name": "on-failure", "MaximumRetryCount": 2}).maximum_retry_count == 2
    with pytest.raises(InvalidArgument, match="must be an integer"):
        R.from_api({"Name": "on-failure", "MaximumRetryCount": "2"})
    with pytest.raises(InvalidArgument, match="cannot specify both --restart and --rm"):
        R.check_auto_remove(R.parse("always"), True)
    with pytest.raises(InvalidArgument, match="can't create 'AutoRemove' container with restart"):
        R.check_auto_remove(R.parse("on-failure"), True, api=True)
    R.check_auto_remove(R.parse("no"), True)          # --rm --restart no: allowed


def test_should_restart():
    always, unless, fail2, fail = (R.parse("always"), R.parse("unless-stopped"),
                                   R.parse("on-failure:2"), R.parse("on-failure"))
    assert R.should_restart(always, 0, 100, False)
    assert R.should_restart(always, 0, 0, True)       # at boot: even manually stopped
    assert R.should_restart(unless, 0, 0, False) and not R.should_restart(unless, 0, 0, True)
    assert not R.should_restart(fail, 0, 0, False)    # a clean exit stays down
    assert R.should_restart(fail, 1, 1000, False)     # no count: no limit
    assert R.should_restart(fail2, 3, 1, False) and not R.should_restart(fail2, 3, 2, False)
    assert not R.should_restart(R.parse("no"), 1, 0, False)


def test_backoff_doubles_caps_and_resets():
    delays, d = [], 0.0
    for _ in range(12):
        d = R.backoff(d, ran_for=0.5)
        delays.append(d)
    assert delays[:4] == [0.1, 0.2, 0.4, 0.8]
    assert delays[-1] == R.MAX_DELAY and all(x <= 60 for x in delays)
    assert R.backoff(25.6, ran_for=10.0) == 0.1       # a run of 10 s resets it
    assert R.backoff(25.6, ran_for=9.9) == 51.2


def _cfg(policy: str) -> dict:
    return {"HostConfig": {"RestartPolicy": R.parse(policy).to_json()}}


def test_next_delay_reads_state():
    st = {"ExitCode": 1, "RestartCount": 0, "StartedAt": "2026-01-01T00:00:00.5Z"}
    start = R._epoch(st["StartedAt"])
    assert start is not None and start % 1 == 0.5
    assert R.next_delay(_cfg("on-failure:1"), st, start + 1) == 0.1
    assert R.next_delay(_cfg("on-failure:1"), {**st, "RestartCount": 1}, start + 1) is None
    assert R.next_delay(_cfg("always"), {**st, "RestartDelay": 0.4}, start + 1) == 0.8
    assert R.next_delay(_cfg("always"), {**st, "RestartDelay": 0.4}, start + 11) == 0.1
    assert R.next_delay(_cfg("always"), {**st, "ManuallyStopped": True}, start + 1) is None
    assert R.next_delay(_cfg("no"), st, start + 1) is None


def test_boot_start_rules():
    started = {"StartedAt": "2026-01-01T00:00:00Z", "ExitCode": 137}
    assert R.wants_boot_start(_cfg("always"), {**started, "ManuallyStopped": True})
    assert not R.wants_boot_start(_cfg("unless-stopped"), {**started, "ManuallyStopped": True})
    assert R.wants_boot_start(_cfg("unless-stopped"), started)
    assert not R.wants_boot_start(_cfg("always"), {"StartedAt": "0001-01-01T00:00:00Z"})
    assert not R.wants_boot_start(_cfg("no"), started)


def _container(d, cid: str, state: dict) -> None:
    import json
    os.makedirs(d / cid)
    (d / cid / "state.json").write_text(json.dumps(state))


def test_is_boot(tmp_path, monkeypatch):
    d = tmp_path / "containers"
    d.mkdir()
    monkeypatch.setattr(R, "_kernel_boot_id", lambda: "boot-1")
    assert not R.is_boot(str(d))                         # nothing there, nothing seen yet
    me = os.getpid()
    _container(d, "live", {"Status": "running", "Pid": me, "ShimPid": me})
    _container(d, "down", {"Status": "exited", "Pid": 0})
    assert not R.is_boot(str(d))                         # monitors alive: an agent restart
    R._remember_boot(str(d))
    assert (d / R.BOOT_FILE).read_text() == "boot-1\n"
    monkeypatch.setattr(R, "_kernel_boot_id", lambda: "boot-2")
    assert R.is_boot(str(d))                             # the kernel was rebooted
    R._remember_boot(str(d))
    assert not R.is_boot(str(d))
    # a container whose state says running but whose process and monitor are gone
    _container(d, "killed", {"Status": "running", "Pid": 2 ** 22 + 1, "ShimPid": 2 ** 22 + 2})
    assert R.is_boot(str(d))
    (d / "killed" / "exit.json").write_text("{}")       # the C monitor recorded an exit
    assert not R.is_boot(str(d))


def test_api_round_trip_of_policy_and_healthcheck():
    """``glassbox -H``: CreateOptions -> the API's JSON -> CreateOptions again."""
    from glassbox.containers.health import from_flags
    from glassbox.containers.options import CreateOptions
    from glassbox.daemon.translate import create_body, create_options, update_changes
    hc = from_flags("true", "1s", retries=2)
    body, _ = create_body(CreateOptions("busybox", restart="on-failure:3", healthcheck=hc))
    assert body["HostConfig"]["RestartPolicy"] == {"Name": "on-failure", "MaximumRetryCount": 3}
    assert body["Healthcheck"] == hc
    back = create_options(body)
    assert back.restart == R.RestartPolicy("on-failure", 3) and back.healthcheck == hc
    assert create_options({"Image": "x", "HostConfig": {"RestartPolicy": {"Name": "no"}}}) \
        .restart is None
    with pytest.raises(InvalidArgument, match="can't create 'AutoRemove'"):
        create_options({"Image": "x", "HostConfig": {"AutoRemove": True,
                                                     "RestartPolicy": {"Name": "always"}}})
    with pytest.raises(InvalidArgument, match="Interval in Healthcheck cannot be less than 1ms"):
        create_options({"Image": "x", "Healthcheck": {"Test": ["NONE"], "Interval": 5}})
    assert update_changes({"RestartPolicy": {"Name": "always"}})["restart"] == R.parse("always")
    assert "restart" not in update_changes({"Memory": 1 << 20})
