"""Sampler, monitor, sliders, ps buttons and progress bars against a fake engine.

The fake engine (``FakeEngine``) stands in for the container manager so these run
without root; the system tests use the real one."""

import threading
import time

import matplotlib

matplotlib.use("Agg")

import pytest  # noqa: E402

from gbx_testlib import FakeVerbs  # noqa: E402
from glassbox.cgroups.stats import Stats  # noqa: E402
from glassbox.containers.manager import Container as StoredContainer  # noqa: E402
from glassbox.errors import InvalidArgument, KernelError, NotFound  # noqa: E402

MIB = 1024 * 1024


def stored(cid, name, status="running", exit_code=0, oom=False, memory=0):
    config = {"Name": "/" + name, "Path": "sleep", "Args": ["9"], "Image": "sha256:" + "0" * 64,
              "Created": "2024-01-01T00:00:00.000000000Z", "Config": {"Image": "busybox"},
              "HostConfig": {"Memory": memory, "NanoCpus": 0, "PidsLimit": None}}
    state = {"Status": status, "ExitCode": exit_code, "OOMKilled": oom, "Pid": 0}
    return StoredContainer(cid, "/nonexistent", config, state)


class FakeContainers:
    """A fake container manager: ``readings`` are served by stats() until exhausted,
    then the container is reported exited (with ``final``)."""

    def __init__(self, readings=(), final=None, removed_after=False):
        self.readings = list(readings)
        self.final = final or {}
        self.removed_after = removed_after
        self.c = stored("c" * 64, "web")
        self.updates, self.stopped, self.removed = [], [], []
        self.lock = threading.Lock()

    def get(self, ref):
        if self.c is None or ref not in (self.c.id, self.c.name):
            raise NotFound(f"No such container: {ref}")
        return self.c

    def list(self, all=True):
        return [self.c] if self.c else []

    def stats(self, ref):
        c = self.get(ref)
        with self.lock:
            if not self.readings:
                if self.removed_after:
                    self.c = None
                    raise NotFound("gone")
                c.state.update({"Status": "exited", **self.final})
                return None
            r = self.readings.pop(0)
        if isinstance(r, Exception):
            raise r
        return r

    def update(self, ref, **kw):
        if kw.get("memory") is not None and kw["memory"] < 6 * MIB:
            raise InvalidArgument("Minimum memory limit allowed is 6MB")
        self.updates.append(kw)
        return {"memory": kw.get("memory"), "cpus": kw.get("cpus"), "pids": kw.get("pids")}

    def stop(self, ref, timeout=None):
        self.stopped.append(ref)
        self.c.state["Status"] = "exited"

    def remove(self, ref, force=False):
        self.removed.append(ref)
        self.c = None


class FakeEngine(FakeVerbs):
    def __init__(self, containers):
        self.containers = containers


def reading(cpu_ns, mem, limit=64 * MIB, oom=0, t=None):
    return Stats(cpu_usage_ns=cpu_ns, memory_usage=mem, memory_limit=limit,
                 memory_max_usage=None, pids_current=1, pids_limit=None, oom_kills=oom,
                 cpu_throttled_ns=None, timestamp=t if t is not None else time.time())


def test_sampler_collects_until_exit_and_computes_cpu():
    from glassbox.sampler import StatsSampler
    base = time.time()
    rs = [reading(0, MIB, t=base), reading(50_000_000, 2 * MIB, t=base + 0.1),
          reading(150_000_000, 3 * MIB, t=base + 0.2)]
    eng = FakeEngine(FakeContainers(rs, final={"ExitCode": 0}))
    s = StatsSampler(eng, "web", interval=0.01).start()
    assert s.wait(10)
    assert len(s.samples) == 3
    assert s.samples[0].cpu_percent == 0.0
    assert abs(s.samples[1].cpu_percent - 50.0) < 1e-2       # 50 ms of CPU in 100 ms
    assert s.samples[2].memory == 3 * MIB and s.samples[2].memory_limit == 64 * MIB
    assert s.exit_code == 0 and not s.oom and s.status == "exited"
    cols = s.columns()
    assert cols["memory"] == [MIB, 2 * MIB, 3 * MIB] and cols["limit"] == [64 * MIB] * 3


def test_sampler_marks_oom_from_counter_and_from_state():
    from glassbox.sampler import StatsSampler
    rs = [reading(0, MIB), reading(1, 15 * MIB, oom=1)]
    s = StatsSampler(FakeEngine(FakeContainers(rs, final={"ExitCode": 137})), "web",
                     interval=0.01).start()
    assert s.wait(10) and s.oom and s.oom_at == s.samples[1].t and s.exit_code == 137
    # killed before any reading: only the final state knows
    s = StatsSampler(FakeEngine(FakeContainers([], final={"ExitCode": 137, "OOMKilled": True})),
                     "web", interval=0.01).start()
    assert s.wait(10) and s.samples == [] and s.oom and s.exit_code == 137


def test_sampler_survives_a_vanishing_cgroup_and_a_removed_container():
    from glassbox.sampler import StatsSampler
    rs = [reading(0, MIB), KernelError(2, "read", "/sys/fs/cgroup/x"), reading(1, MIB)]
    s = StatsSampler(FakeEngine(FakeContainers(rs, removed_after=True)), "web",
                     interval=0.01).start()
    assert s.wait(10)
    assert len(s.samples) == 2 and s.removed and s.status == "removed"


def test_sampler_refuses_unknown_container_and_bad_interval():
    from glassbox.sampler import StatsSampler
    with pytest.raises(NotFound):
        StatsSampler(FakeEngine(FakeContainers()), "nope")
    with pytest.raises(InvalidArgument):
        StatsSampler(FakeEngine(FakeContainers()), "web", interval=0)


def test_monitor_renders_chart_and_stops():
    from glassbox.jupyter import monitor
    rs = [reading(i * 10_000_000, MIB * (i + 1)) for i in range(4)]
    m = monitor("web", interval=0.01, redraw=0.01, engine=FakeEngine(FakeContainers(rs)))
    assert m.wait(10)
    assert len(m.samples) == 4 and m.draws >= 1
    assert bytes(m.image.value).startswith(b"\x89PNG")
    assert "exited" in m.label.value
    assert "application/vnd.jupyter.widget-view+json" in m._repr_mimebundle_()


def test_monitor_of_removed_or_stopped_container_says_so():
    from glassbox.jupyter import monitor
    eng = FakeEngine(FakeContainers())
    m = monitor("nope", engine=eng)
    assert m.sampler is None and "No such container: nope" in m.error
    assert "No such container" in m.label.value and m.wait(1)
    eng.containers.c.state["Status"] = "exited"
    m = monitor("web", interval=0.01, redraw=0.01, engine=eng)
    assert m.wait(10) and m.samples == []
    assert "not running" in m.label.value


def test_limit_sliders_call_update_in_bytes_and_show_errors():
    from glassbox.jupyter import limits
    fake = FakeContainers()
    fake.c.config["HostConfig"]["Memory"] = 64 * MIB
    w = limits("web", engine=FakeEngine(fake))
    assert w.memory.value == 64
    w.memory.value = 48
    assert fake.updates[-1] == {"memory": 48 * MIB}
    assert "applied" in w.status.value and w.last_error is None
    w.cpus.value = 0.5
    assert fake.updates[-1] == {"cpus": 0.5}
    w.pids.value = 50
    assert fake.updates[-1] == {"pids": 50}
    assert w.apply(memory=1 * MIB) is None           # refused: shown, not raised
    assert "Minimum memory" in w.last_error and "Minimum memory" in w.status.value


def test_ps_widget_buttons_stop_and_remove():
    from glassbox.jupyter import ps
    fake = FakeContainers()
    t = ps(engine=FakeEngine(fake))
    assert [r["Names"] for r in t.rows] == ["web"]
    stop, rm = t.buttons[fake.c.id]
    assert not stop.disabled
    stop.click()
    assert fake.stopped == [fake.c.id]
    stop, rm = t.buttons[fake.c.id]
    assert stop.disabled                              # refreshed: exited now
    rm.click()
    assert fake.removed and t.rows == []


def test_progress_bars_from_pull_and_build_events():
    from glassbox.jupyter import ProgressBars
    bars = ProgressBars("pull busybox")
    bars({"id": "3f4e", "status": "Downloading", "progressDetail": {"current": 1, "total": 4}})
    bar, label = bars.bars["3f4e"]
    assert bar.value == 0.25 and "Downloading" in label.value
    bars({"id": "3f4e", "status": "Pull complete"})
    assert bar.value == 1.0 and bar.bar_style == "success"
    bars({"type": "step", "index": 1, "total": 2, "instruction": "FROM busybox",
          "cached": True})
    assert bars.bars["build"][0].value == 0.5
    assert "CACHED" in bars.bars["build"][1].value
    bars({"status": "Digest: sha256:abc"})
    assert "Digest" in bars.message.value


def test_pull_and_push_feed_progress_bars():
    """A FAKE registry client emitting docker-like JSON progress events."""
    from glassbox.jupyter import pull, push

    class FakeRegistry:
        def pull(self, ref, progress):
            progress({"id": "layer1", "status": "Downloading",
                      "progressDetail": {"current": 5, "total": 10}})
            progress({"id": "layer1", "status": "Pull complete"})
            self.bars = progress

            class Img:
                id = "sha256:" + "9" * 64
            return Img()

        def push(self, ref, progress):
            progress({"id": "layer1", "status": "Pushed"})
            self.bars = progress
            return "sha256:" + "8" * 64

    class FakeImages:
        def resolve(self, ref):
            class Img:
                id = ref
            return Img()

    eng = FakeEngine(FakeContainers())
    eng.registry, eng.images = FakeRegistry(), FakeImages()
    img = pull("localhost:5000/x", engine=eng, show=False)
    assert img.id == "sha256:" + "9" * 64
    assert eng.registry.bars.bars["layer1"][0].bar_style == "success"
    assert push("localhost:5000/x", engine=eng, show=False).startswith("sha256:8")
