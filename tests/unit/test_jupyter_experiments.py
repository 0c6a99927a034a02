"""Experiments (glassbox.jupyter.experiments) and the message catalogue, against a fake
engine: the sweep plan, what a trial measures, CPU shares, the table (with and without
pandas), the figure, bad input, and that every trial's container is removed."""

import sys
import threading
import time
import types

import matplotlib

matplotlib.use("Agg")

import pytest  # noqa: E402

from gbx_testlib import FakeVerbs  # noqa: E402
from glassbox.cgroups.stats import Stats  # noqa: E402
from glassbox.containers.manager import Container as StoredContainer  # noqa: E402
from glassbox.errors import InvalidArgument, NotFound  # noqa: E402
from glassbox.jupyter import experiments as ex  # noqa: E402
from glassbox.jupyter import messages  # noqa: E402

MIB = 1024 * 1024


@pytest.fixture(autouse=True)
def english(monkeypatch):
    monkeypatch.setattr(messages, "_current", "en")


def reading(cpu_ns, mem=MIB, peak=None, limit=None, oom=0, pids=1):
    return Stats(cpu_usage_ns=cpu_ns, memory_usage=mem, memory_limit=limit,
                 memory_max_usage=peak, pids_current=pids, pids_limit=None, oom_kills=oom,
                 cpu_throttled_ns=5_000_000, timestamp=time.time())


# ---- plan ----------------------------------------------------------------------------------
def test_plan_sweeps_one_option_and_parses_sizes():
    trials = ex.plan({"memory": ["16m", "32m", 64 * MIB]}, {"memory_swap": "64m"})
    assert [label for label, _ in trials] == ["memory=16m", "memory=32m", f"memory={64 * MIB}"]
    assert [o["memory"] for _, o in trials] == [16 * MIB, 32 * MIB, 64 * MIB]
    assert all(o["memory_swap"] == 64 * MIB for _, o in trials)


def test_a_fixed_option_can_follow_the_swept_one():
    trials = ex.plan({"memory": ["16m", "32m"]}, {"memory_swap": lambda o: o["memory"]})
    assert [(o["memory"], o["memory_swap"]) for _, o in trials] == [(16 * MIB, 16 * MIB),
                                                                  (32 * MIB, 32 * MIB)]


def test_plan_takes_names_for_the_values():
    trials = ex.plan({"command": {"disk": ["sh", "-c", "a"], "tmpfs": ["sh", "-c", "b"]}}, {})
    assert trials == [("command=disk", {"command": ["sh", "-c", "a"]}),
                      ("command=tmpfs", {"command": ["sh", "-c", "b"]})]


def test_plan_gives_every_combination_of_two_options():
    trials = ex.plan({"cpus": [0.5, 1.0], "pids_limit": [10, 20]}, {})
    assert len(trials) == 4
    assert trials[3] == ("cpus=1.0, pids_limit=20", {"cpus": 1.0, "pids_limit": 20})


@pytest.mark.parametrize("sweep,fixed,words", [
    ({}, {}, "at least one option"),
    ({"memroy": ["16m"]}, {}, "memroy"),
    ({"memory": []}, {}, "non-empty list"),
    ({"memory": "16m"}, {}, "non-empty list"),
    ({"memory": {}}, {}, "non-empty list"),
    ({"memory": ["16m"]}, {"name": "x"}, "'name'"),
    ({"memory": ["sixteen"]}, {}, "memory"),
])
def test_plan_refuses_bad_sweeps_naming_what_is_wrong(sweep, fixed, words):
    with pytest.raises(InvalidArgument) as e:
        ex.plan(sweep, fixed)
    assert words in str(e.value)


def test_cpuset_must_name_cpus_that_exist():
    with pytest.raises(InvalidArgument, match="invalid cpuset_cpus"):
        ex._check_cpuset("first")
    with pytest.raises(InvalidArgument, match="do not exist"):
        ex._check_cpuset("4096")
    assert ex._check_cpuset("0") == "0"


# ---- measure -----------------------------------------------------------------------------------
class FakeSampler:
    def __init__(self, stats, samples=(), oom=False):
        self.last_stats = stats[-1] if stats else None
        self.first_stats = stats[0] if stats else None
        self.samples = list(samples)
        self.oom = oom


def stored(cid, name, state):
    config = {"Name": "/" + name, "Path": "sh", "Args": [], "Image": "sha256:" + "0" * 64,
              "Created": "2024-01-01T00:00:00.000000000Z", "Config": {"Image": "busybox"},
              "HostConfig": {}}
    return StoredContainer(cid, "/nonexistent", config, dict(state))


def test_measure_an_oom_killed_trial():
    from glassbox.sampler import Sample
    s = FakeSampler([reading(10, peak=15 * MIB, limit=16 * MIB, oom=0)],
                    [Sample(0.0, 0.0, MIB, 16 * MIB, 1, 0), Sample(0.1, 50.0, 15 * MIB, 16 * MIB, 3, 0)])
    c = stored("a" * 64, "x-1", {"Status": "exited", "ExitCode": 137, "OOMKilled": True,
                                 "StartedAt": "2026-12-04T02:02:09.500000000Z",
                                 "FinishedAt": "2026-12-04T02:02:10.250000000Z"})
    tr = ex.measure("memory=16m", {"memory": 16 * MIB}, s, c, stopped_after=None, wall=9.0)
    assert tr.oom_killed and tr.ended == "oom" and tr.exit_code == 137
    assert tr.oom_kills == 1                  # from State.OOMKilled, the counter was read before
    assert tr.peak_memory == 15 * MIB and tr.memory_limit == 16 * MIB
    assert tr.pids_peak == 3 and abs(tr.wall_time - 0.75) < 1e-6    # from Started/FinishedAt
    assert tr.throttled == 0.005


def test_measure_a_stopped_trial_has_no_exit_code():
    s = FakeSampler([reading(2_000_000_000)])
    c = stored("b" * 64, "x-2", {"Status": "exited", "ExitCode": 137, "OOMKilled": False})
    tr = ex.measure("cpus=1", {}, s, c, stopped_after=3.0, wall=3.1)
    assert tr.ended == "stopped" and tr.exit_code is None and tr.cpu_time == 2.0
    assert tr.wall_time == 3.1


def test_shares_count_cpu_over_the_common_window():
    s = FakeSampler([reading(0)])
    c = stored("c" * 64, "x-3", {"Status": "exited", "ExitCode": 137})
    a = ex.measure("cpu_shares=512", {"cpu_shares": 512}, s, c, stopped_after=3, wall=3,
                   window=(reading(1_000_000_000), reading(2_000_000_000)))
    b = ex.measure("cpu_shares=1024", {"cpu_shares": 1024}, s, c, stopped_after=3, wall=3,
                   window=(reading(1_000_000_000), reading(3_000_000_000)))
    assert (a.cpu_time, b.cpu_time) == (1.0, 2.0)
    a, b = ex.with_shares([a, b])
    assert abs(a.cpu_share - 1 / 3) < 1e-9 and abs(b.cpu_share - 2 / 3) < 1e-9
    assert ex.expected_shares([a, b]) == [1 / 3, 2 / 3]
    plain = ex.measure("default", {}, s, c, stopped_after=3, wall=3)
    assert ex.expected_shares([plain, a]) == [1024 / 1536, 512 / 1536]


# ---- the result -------------------------------------------------------------------------------
def trials():
    from glassbox.sampler import Sample
    samples = (Sample(0.0, 0.0, MIB, 16 * MIB, 1, 0), Sample(0.2, 90.0, 15 * MIB, 16 * MIB, 2, 1))
    return [ex.Trial("memory=16m", {"memory": 16 * MIB}, "oom", 137, 1, 16 * MIB, 16 * MIB,
                     0.2, 0.0, 2, 0.25, samples=samples),
            ex.Trial("memory=64m", {"memory": 64 * MIB}, "exited", 0, 0, 64 * MIB, 41 * MIB,
                     1.5, None, 4, 2.0, samples=samples)]


def test_table_without_pandas_is_a_plain_table(monkeypatch):
    monkeypatch.setitem(sys.modules, "pandas", None)       # import pandas → ImportError
    r = ex.ExperimentResult("e", trials(), together=False, duration=30)
    table = r.table
    assert table.headers[:3] == ["trial", "ended", "exit code"]
    assert "CPU share %" not in table.headers              # only for together runs
    html = table._repr_html_()
    assert "OOM killed" in html and "memory=64m" in html and "<table" in html
    assert r.rows()[0][4] == 16.0 and r.rows()[1][4] == 41.0     # peak MiB


def test_table_with_pandas_is_a_dataframe(monkeypatch):
    made = {}

    def DataFrame(rows, columns):            # noqa: N802 - pandas' name
        made.update(rows=rows, columns=columns)
        return "a DataFrame"
    monkeypatch.setitem(sys.modules, "pandas", types.SimpleNamespace(DataFrame=DataFrame))
    r = ex.ExperimentResult("e", ex.with_shares(trials()), together=True, duration=3)
    assert r.table == "a DataFrame"
    assert "CPU share %" in made["columns"] and len(made["rows"]) == 2


def test_the_table_speaks_portuguese_when_asked():
    messages.language("pt-BR")
    r = ex.ExperimentResult("e", trials(), together=False, duration=30)
    assert r.headers()[:3] == ["ensaio", "fim", "código de saída"]
    assert r.rows()[0][1] == "morto por OOM"
    assert "ENSAIO" in repr(r)


def test_figure_marks_limits_ooms_and_expected_shares():
    r = ex.ExperimentResult("e", ex.with_shares(trials()), together=True, duration=3)
    fig = r.figure()
    gids = {a.get_gid() for ax in fig.axes for a in ax.get_children() if a.get_gid()}
    assert {"memory:0", "memory:1", "limit:0", "limit:1", "oom:0", "bar:0", "bar:1",
            "expected:0", "expected:1"} <= gids
    assert "oom:1" not in gids                               # the 64m trial was not killed
    bundle = r._repr_mimebundle_()
    assert bundle["image/png"].startswith(b"\x89PNG") and "<table" in bundle["text/html"]


# ---- running against a fake engine ----------------------------------------------------------------
class FakeContainers:
    """Containers that 'run' for ``life`` readings, then exit with ``exit`` (OOM if asked)."""

    def __init__(self, life=3, exit=0, oom=False):
        self.life, self.exit, self.oom = life, exit, oom
        self.made, self.killed, self.removed = {}, [], []
        self.lock = threading.Lock()

    def make(self, name, opts):
        cid = f"{len(self.made):064d}"
        self.made[cid] = {"c": stored(cid, name, {"Status": "running", "Pid": 1}),
                          "left": self.life, "cpu": 0, "opts": opts}
        return cid

    def get(self, ref):
        for cid, m in self.made.items():
            if ref in (cid, m["c"].name) and cid not in self.removed:
                return m["c"]
        raise NotFound(ref)

    def stats(self, ref):
        c = self.get(ref)
        with self.lock:
            m = self.made[c.id]
            if c.state["Status"] != "running":
                return None
            if m["left"] <= 0:
                c.state.update(Status="exited", ExitCode=self.exit, OOMKilled=self.oom)
                return None
            m["left"] -= 1
            m["cpu"] += (m["opts"].get("cpu_shares") or 1024) * 1000
            return reading(m["cpu"], peak=5 * MIB, limit=m["opts"].get("memory"))

    def kill(self, ref):
        c = self.get(ref)
        self.killed.append(c.id)
        c.state.update(Status="exited", ExitCode=137)

    def remove(self, ref, force=False):
        self.removed.append(self.get(ref).id)


class FakeEngine(FakeVerbs):
    def __init__(self, containers):
        self.containers = containers
        self.runs = []

    def run(self, image, command, *, name, detach, **opts):
        assert detach
        self.runs.append((image, command, name, opts))
        return types.SimpleNamespace(id=self.containers.make(name, opts))


def test_one_by_one_runs_each_trial_in_a_fresh_container_and_removes_it():
    eng = FakeEngine(FakeContainers(life=3, exit=137, oom=True))
    r = ex.experiment("busybox", ["sh", "-c", "hog"], sweep={"memory": ["16m", "32m"]},
                      memory_swap=-1, interval=0.01, live=False, name="e1", engine=eng)
    assert [run[2] for run in eng.runs] == ["e1-1", "e1-2"]
    assert [run[3]["memory"] for run in eng.runs] == [16 * MIB, 32 * MIB]
    assert all(run[3]["memory_swap"] == -1 for run in eng.runs)
    assert sorted(eng.containers.removed) == sorted(eng.containers.made)
    assert [t.ended for t in r] == ["oom", "oom"] and not eng.containers.killed
    assert r[0].memory_limit == 16 * MIB and r[0].peak_memory == 5 * MIB


def test_a_trial_still_running_after_duration_is_stopped_and_measured():
    eng = FakeEngine(FakeContainers(life=10 ** 6))
    r = ex.experiment("busybox", ["sleep", "600"], sweep={"cpus": [0.5]}, duration=0.2,
                      interval=0.01, live=False, name="e2", engine=eng)
    assert r[0].ended == "stopped" and eng.containers.killed == list(eng.containers.made)
    assert eng.containers.removed == list(eng.containers.made)


def test_together_pins_with_the_cpuset_option_and_splits_by_shares():
    eng = FakeEngine(FakeContainers(life=10 ** 6))
    r = ex.experiment("busybox", ["sh", "-c", "spin"], sweep={"cpu_shares": [512, 1024]},
                      together=True, duration=0.3, cpuset_cpus="0", interval=0.01, live=False,
                      name="e3", engine=eng)
    assert all(run[1] == ["sh", "-c", "spin"] and run[3]["cpuset_cpus"] == "0"
               for run in eng.runs)                       # --cpuset-cpus, not taskset
    assert len(eng.containers.killed) == 2 and len(eng.containers.removed) == 2
    shares = [t.cpu_share for t in r]
    assert shares[0] < shares[1] and abs(sum(shares) - 1) < 1e-9
    assert "CPU share %" in r.headers()


def test_bad_input_runs_nothing():
    eng = FakeEngine(FakeContainers())
    for kw in ({"sweep": {"memory": []}}, {"sweep": {"memory": ["16m"]}, "duration": 0},
               {"sweep": {"memory": ["16m"]}, "cpuset_cpus": "x"},
               {"sweep": {"memory": ["16m"]}, "interval": 0}):
        with pytest.raises(InvalidArgument):
            ex.experiment("busybox", ["true"], live=False, engine=eng, **kw)
    assert eng.runs == []


def test_a_failing_trial_still_removes_what_was_made(monkeypatch):
    import glassbox.sampler as sampler_mod
    eng = FakeEngine(FakeContainers(life=10 ** 6))

    def boom(*a, **kw):
        raise RuntimeError("the sampler broke")
    monkeypatch.setattr(sampler_mod.StatsSampler, "wait", boom)
    with pytest.raises(RuntimeError):
        ex.experiment("busybox", ["true"], sweep={"cpus": [1]}, live=False, engine=eng)
    assert eng.containers.removed == list(eng.containers.made) and eng.containers.made


def test_settled_waits_for_the_shim_to_record_the_exit():
    """wait() can return before OOMKilled is written: settled() waits for the shim."""
    import subprocess
    from glassbox.sampler import settled
    shim = subprocess.Popen(["sleep", "0.4"])
    c = stored("d" * 64, "x-4", {"Status": "exited", "ExitCode": 137, "OOMKilled": False,
                                 "ShimPid": shim.pid})
    eng = FakeEngine(FakeContainers())
    reads = []

    def get(ref):
        reads.append(time.monotonic())
        if shim.poll() is not None:                 # the shim finished: the full record
            c.state["OOMKilled"] = True
        return c
    eng.containers.get = get
    t0 = time.monotonic()
    assert settled(eng, c.id).state["OOMKilled"] is True
    assert len(reads) > 2 and time.monotonic() - t0 >= 0.3
    shim.wait()
    assert settled(eng, c.id, timeout=0.1) is c          # a gone shim: no waiting


# ---- the catalogue -------------------------------------------------------------------------------
def test_every_message_has_both_languages_and_the_same_placeholders():
    import string
    for key, texts in messages.CATALOGUE.items():
        assert set(texts) == set(messages.LANGUAGES), key
        fields = [{f for _, f, _, _ in string.Formatter().parse(texts[lang]) if f}
                  for lang in messages.LANGUAGES]
        assert fields[0] == fields[1], key


def test_language_from_call_or_locale(monkeypatch):
    monkeypatch.setattr(messages, "_current", None)
    monkeypatch.setenv("LC_ALL", "pt_BR.UTF-8")
    assert messages.language() == "pt-BR" and messages.t("chart.seconds") == "segundos"
    monkeypatch.setenv("LC_ALL", "C.UTF-8")
    assert messages.language() == "en"
    assert messages.language("pt_br") == "pt-BR"
    assert messages.t("chart.limit", mib=64) == "limite 64 MiB"
    with pytest.raises(InvalidArgument, match="klingon"):
        messages.language("klingon")
    assert messages.language() == "pt-BR"                    # a bad call changes nothing
