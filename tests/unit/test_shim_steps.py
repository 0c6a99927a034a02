"""The shim's start as a straight line of steps with one teardown (issue 17).

``runtime.shim.run`` calls the steps in ``START_STEPS`` in order; each records
in an :class:`~glassbox.runtime.shim.Undo` how to give back what it acquired.
A failure anywhere unwinds exactly what the earlier steps did, newest first,
and is reported once: state.json (``ExitCode``, ``Error``) and one message on
the status pipe.

Two layers of tests, no root needed:

* fake steps: for a failure at *each* position, the undo log is the reverse of
  what was acquired before it, and the report happens once;
* the real steps with a real fork, a fake cgroup and a fake ``child_main`` (the
  forked child plays init: it reports an exec error, or asks to be wired): the
  child is killed and reaped, our pipes are closed, the cgroup and the network
  are given back — in that order.
"""

from __future__ import annotations

import errno
import json
import os

import pytest

from glassbox.errors import InvalidArgument
from glassbox.runtime import shim
from glassbox.runtime.spec import ProcessSpec


def test_undo_runs_newest_first_once_and_survives_a_failing_callback():
    log = []
    undo = shim.Undo()
    undo.push("a", log.append, "a")
    undo.push("b", lambda: (_ for _ in ()).throw(OSError(errno.EBUSY, "busy")))
    undo.push("c", log.append, "c")
    undo.unwind()
    assert log == ["c", "a"]          # b failed; a still ran
    undo.unwind()
    assert log == ["c", "a"]          # each once
    undo.push("d", log.append, "d")
    undo.forget()
    undo.unwind()
    assert log == ["c", "a"]          # forgotten: the resources live on


def _container(tmp_path, **spec_fields) -> str:
    """A minimal container dir: config.json with a pure spec, state.json."""
    root = tmp_path / "root"
    cdir = root / "containers" / "c0ffee"
    cdir.mkdir(parents=True)
    spec = ProcessSpec(id="c0ffee", args=["/bin/true"], env=[], namespaces=["mnt"],
                       seccomp="unconfined", **spec_fields)
    config = {"Id": "c0ffee", "Limits": {}, "CgroupParent": "glassbox-test",
              "Spec": spec.to_json(), "HostConfig": {}, "Config": {}}
    (cdir / "config.json").write_text(json.dumps(config))
    (cdir / "state.json").write_text(json.dumps({"Status": "created", "Running": False,
                                                 "Pid": 0, "ExitCode": 0}))
    return str(cdir)


def _messages(fd: int) -> list[dict]:
    os.set_blocking(fd, False)
    try:
        data = os.read(fd, 65536)
    except BlockingIOError:
        data = b""
    return [json.loads(line) for line in data.decode().splitlines()]


def _state(cdir: str) -> dict:
    with open(os.path.join(cdir, "state.json")) as f:
        return json.load(f)


def _open_fds() -> set[int]:
    return {int(fd) for fd in os.listdir("/proc/self/fd")}


# --------------------------------------------------------------- fake steps, each position

N = len(shim.START_STEPS)


@pytest.mark.parametrize("failing", range(N))
def test_a_failure_at_each_step_undoes_the_earlier_ones_in_reverse(tmp_path, monkeypatch,
                                                                    failing):
    log: list[str] = []

    def step(i):
        def fake(st, undo):
            undo.push(f"step {i}", log.append, f"undo {i}")   # acquired (or half-acquired)
            if i == failing:
                raise shim._StartFailed(f"step {i} broke", told={"error": f"told {i}",
                                                                 "code": 125})
            log.append(f"did {i}")
        return fake

    monkeypatch.setattr(shim, "START_STEPS", tuple(step(i) for i in range(N)))
    cdir = _container(tmp_path)
    r, w = os.pipe()
    try:
        assert shim.run(cdir, w, (None, None, None)) == 125
        assert log == [f"did {i}" for i in range(failing)] + \
            [f"undo {i}" for i in reversed(range(failing + 1))]
        assert _messages(r) == [{"error": f"told {failing}", "code": 125}]   # once
        st = _state(cdir)
        assert (st["Status"], st["ExitCode"], st["Error"], st["Running"], st["Pid"]) == \
            ("created", 125, f"step {failing} broke", False, 0)
    finally:
        os.close(r)
        os.close(w)


def test_an_unexpected_error_still_unwinds_then_propagates(tmp_path, monkeypatch):
    log: list[str] = []

    def acquire(st, undo):
        undo.push("x", log.append, "undone")

    def bug(st, undo):
        raise KeyError("HostConfig")

    monkeypatch.setattr(shim, "START_STEPS", (acquire, bug))
    with pytest.raises(KeyError):           # shim_main reports it ("shim failed: ...")
        shim.run(_container(tmp_path), None, (None, None, None))
    assert log == ["undone"]


def test_auto_remove_comes_from_the_spec_and_removes_a_failed_start(tmp_path, monkeypatch):
    def broke(st, undo):
        raise shim._StartFailed("no")

    monkeypatch.setattr(shim, "START_STEPS", (broke,))
    cdir = _container(tmp_path, auto_remove=True)
    assert shim.run(cdir, None, (None, None, None)) == 125
    assert not os.path.exists(cdir)


# --------------------------------------------------------------- the real steps

class FakeCgroup:
    def __init__(self, log, fail=None):
        self.log, self.fail, self.pids = log, fail, []

    def create(self):
        self.log.append("cgroup created")

    def restrict_devices(self, rules):
        pass

    def apply(self, limits):
        if self.fail == "apply":
            raise OSError(errno.EINVAL, "Invalid argument: memory.max")

    def add(self, pid):
        if self.fail == "add":
            raise OSError(errno.ENOSPC, "No space left on device")
        self.pids.append(pid)

    def destroy(self):
        self.log.append("cgroup destroyed")


@pytest.fixture
def real_steps(monkeypatch):
    """The real steps, minus what needs root or a host: user namespaces (a no-op
    step), the cgroup (a fake), and ``child_main`` (the forked child's script)."""
    log: list[str] = []
    box: dict = {"fail": None, "child": None}
    steps = tuple(s for s in shim.START_STEPS if s is not shim._enter_user_namespace)
    monkeypatch.setattr(shim, "START_STEPS", steps)
    import glassbox.cgroups as cgroups
    monkeypatch.setattr(cgroups, "open_cgroup",
                        lambda name, parent=None: FakeCgroup(log, box["fail"]))
    import glassbox.runtime.init as init
    monkeypatch.setattr(init, "child_main", lambda spec, sync_fd, err_fd, **kw:
                        box["child"](sync_fd, err_fd, kw.get("netns_fd")))
    monkeypatch.setattr(init, "reset_signals", lambda: None)
    real_kill = shim._kill_and_reap

    def kill_and_reap(pid):
        log.append("init killed")
        real_kill(pid)
        box["reaped"] = pid

    monkeypatch.setattr(shim, "_kill_and_reap", kill_and_reap)
    real_close_all = shim._Start.close_all

    def close_all(self):
        log.append("pipes closed")
        real_close_all(self)

    monkeypatch.setattr(shim._Start, "close_all", close_all)
    box["log"] = log
    return box


def _exec_fails(sync_fd, err_fd, netns_fd):
    os.read(sync_fd, 1)                                   # wait for "go"
    os.write(err_fd, b'{"error": "exec: \\"nope\\": not found", "code": 127}')
    os._exit(127)


def _child_gone(pid: int) -> bool:
    try:
        os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        return True
    return False


def test_init_failing_to_exec_is_reported_once_and_leaves_nothing(tmp_path, real_steps):
    real_steps["child"] = _exec_fails
    cdir = _container(tmp_path)
    r, w = os.pipe()
    before = _open_fds()
    try:
        assert shim.run(cdir, w, (None, None, None)) == 127
        assert _open_fds() - before == set()              # every pipe of ours closed
        assert real_steps["log"] == ["cgroup created", "init killed", "pipes closed",
                                     "cgroup destroyed"]
        assert _child_gone(real_steps["reaped"])          # reaped: no zombie
        assert _messages(r) == [{"error": 'exec: "nope": not found', "code": 127}]
        st = _state(cdir)
        assert (st["Status"], st["ExitCode"], st["Running"], st["Pid"]) == \
            ("created", 127, False, 0)
        assert st["Error"] == 'exec: "nope": not found'
    finally:
        os.close(r)
        os.close(w)


def test_cgroup_limits_failing_undoes_the_half_made_cgroup(tmp_path, real_steps):
    real_steps["fail"] = "apply"
    real_steps["child"] = _exec_fails
    cdir = _container(tmp_path)
    r, w = os.pipe()
    before = _open_fds()
    try:
        assert shim.run(cdir, w, (None, None, None)) == 125
        assert _open_fds() - before == set()
        assert real_steps["log"] == ["cgroup created", "cgroup destroyed"]   # no fork
        [msg] = _messages(r)
        assert msg["code"] == 125 and msg["error"].startswith("cgroup setup failed: ")
        assert "memory.max" in _state(cdir)["Error"]
    finally:
        os.close(r)
        os.close(w)


def test_joining_the_cgroup_failing_kills_and_reaps_the_child(tmp_path, real_steps):
    real_steps["fail"] = "add"
    real_steps["child"] = _exec_fails
    cdir = _container(tmp_path)
    r, w = os.pipe()
    before = _open_fds()
    try:
        assert shim.run(cdir, w, (None, None, None)) == 125
        assert _open_fds() - before == set()
        assert real_steps["log"] == ["cgroup created", "init killed", "pipes closed",
                                     "cgroup destroyed"]
        assert _child_gone(real_steps["reaped"])
        [msg] = _messages(r)
        assert msg["error"].startswith("cannot join cgroup: ") and msg["code"] == 125
    finally:
        os.close(r)
        os.close(w)


def test_network_wiring_failing_releases_the_network_first(tmp_path, real_steps, monkeypatch):
    def asks_to_be_wired(sync_fd, err_fd, netns_fd):
        os.read(sync_fd, 1)
        os.write(netns_fd, b"1")                          # "my netns is there: wire it"
        os.read(sync_fd, 1)                               # waits; killed by the undo
        os._exit(0)

    def wire(cdir, config, spec, pid, bound=None):
        raise InvalidArgument("no address left in network lab0 (10.9.0.0/30)")

    real_steps["child"] = asks_to_be_wired
    monkeypatch.setattr(shim, "_wire_network", wire)
    monkeypatch.setattr(shim, "_release_network",
                        lambda cdir, config: real_steps["log"].append("network released"))
    cdir = _container(tmp_path, network_mode="lab0")
    r, w = os.pipe()
    before = _open_fds()
    try:
        assert shim.run(cdir, w, (None, None, None)) == 125
        assert _open_fds() - before == set()
        assert real_steps["log"] == ["cgroup created", "network released", "init killed",
                                     "pipes closed", "cgroup destroyed"]
        assert _messages(r) == [{"error": "no address left in network lab0 (10.9.0.0/30)",
                                 "code": 125}]
        assert _state(cdir)["Status"] == "created"
    finally:
        os.close(r)
        os.close(w)


def test_a_good_start_keeps_everything_and_tells_the_pid(tmp_path, real_steps, monkeypatch):
    def execs(sync_fd, err_fd, netns_fd):
        os.read(sync_fd, 1)
        os.close(err_fd)                                  # as a successful execve does
        os.read(sync_fd, 1)                               # (EOF: the shim closed it)
        os._exit(0)

    served = {}

    def serve(st):
        served["readers"] = sorted(st.readers.values())
        os.waitpid(st.pid, 0)
        for fd in st.readers:
            os.close(fd)
        return 0

    real_steps["child"] = execs
    monkeypatch.setattr(shim, "_serve", serve)
    cdir = _container(tmp_path)
    r, w = os.pipe()
    try:
        assert shim.run(cdir, w, (None, None, None)) == 0
        assert real_steps["log"] == ["cgroup created"]       # nothing undone
        assert served["readers"] == ["stderr", "stdout"]
        [msg] = _messages(r)
        st = _state(cdir)
        assert msg == {"pid": st["Pid"]} and st["Status"] == "running"
    finally:
        os.close(r)
        os.close(w)


def test_old_configs_take_the_shim_fields_from_host_config():
    spec = ProcessSpec(id="x", args=["sh"], env=[]).to_json()
    for key in ("network_mode", "open_stdin", "device_cgroup_rules", "auto_remove"):
        del spec[key]
    old = {"Spec": spec, "HostConfig": {"NetworkMode": "bridge", "OpenStdin": True,
                                        "DeviceCgroupRules": ["c 1:3 rwm"],
                                        "AutoRemove": True}}
    got = ProcessSpec.for_container(old)
    assert (got.network_mode, got.open_stdin, got.device_cgroup_rules, got.auto_remove) == \
        ("bridge", True, ["c 1:3 rwm"], True)
    new = {"Spec": ProcessSpec(id="x", args=["sh"], env=[], network_mode="host").to_json(),
           "HostConfig": {"NetworkMode": "bridge"}}
    assert ProcessSpec.for_container(new).network_mode == "host"   # the spec wins
