"""The notebook front end on the real kernel: magics in a real IPython shell, the live
cgroup sampler, limit sliders, OOM marking, layer diagrams, ps buttons.

Each test uses the ``gbx`` fixture (private root with busybox, leak check)."""

import uuid

import matplotlib

matplotlib.use("Agg")

import pytest  # noqa: E402

pytestmark = pytest.mark.system

MIB = 1024 * 1024
BUSY_2S = "end=$(( $(date +%s) + 3 )); while [ $(date +%s) -lt $end ]; do :; done"


@pytest.fixture
def ip(gbx):
    from IPython.testing.globalipapp import start_ipython
    import glassbox.jupyter as gj
    from IPython import get_ipython
    shell = start_ipython() or get_ipython()     # the shell is created once per process
    old = gj.session._engine
    gj.use_engine(gbx.engine)
    shell.run_line_magic("load_ext", "glassbox")
    yield shell
    gj.use_engine(old)


def magics(shell):
    return shell.magics_manager.registry["GlassboxMagics"]


def name():
    return "jt-" + uuid.uuid4().hex[:8]


def test_run_rm_streams_output_into_the_cell(ip, gbx, capfd):
    res = ip.run_line_magic("container", "run --rm busybox echo hi")
    out = capfd.readouterr().out
    assert "hi\n" in out
    assert res.exit_code == 0 and res.stdout == "hi\n"
    assert gbx.engine.containers.list() == []           # --rm removed it
    res = ip.run_line_magic("container", "run --rm busybox sh -c 'echo oops >&2; exit 3'")
    assert res.exit_code == 3 and res.stderr == "oops\n"


def test_run_missing_command_is_a_short_message(ip, gbx):
    assert ip.run_line_magic("container", "run --rm busybox /no/such/cmd") is None
    err = magics(ip).last_error
    assert err is not None and "no/such/cmd" in err.message


def test_run_detached_returns_a_container_handle(ip, gbx):
    from glassbox.jupyter import Container
    n = name()
    c = ip.run_line_magic("container", f"run -d --name {n} -m 32m busybox sleep 30")
    assert isinstance(c, Container)
    assert c.name == n and c.status == "running" and len(c.id) == 64
    html = c._repr_html_()
    assert n in html and "running" in html and "memory 32MiB" in html
    t = ip.run_line_magic("container", "ps")
    assert [r["Names"] for r in t] == [n] and n in t._repr_html_()
    doc = ip.run_line_magic("container", f"inspect {n}")
    assert doc["State"]["Running"] is True and doc["HostConfig"]["Memory"] == 32 * MIB
    out = ip.run_line_magic("container", f"exec {c} echo inside")
    assert out.exit_code == 0
    c.stop(timeout=1)
    assert c.status == "exited"
    assert c.rm() == c.id and c.status == "removed"


def test_monitor_samples_a_busy_container_and_stops_when_it_exits(gbx):
    from glassbox.jupyter import monitor
    eng = gbx.engine
    c = eng.run("busybox", ["sh", "-c", BUSY_2S], detach=True, name=name(), memory=64 * MIB)
    m = monitor(c.id, engine=eng)
    assert m.wait(30), "sampling did not stop after the container exited"
    s = m.sampler
    assert len(s.samples) >= 4             # a 2 s busy loop, sampled (the rate: bench/labext.py)
    assert max(x.cpu_percent for x in s.samples) > 20      # the loop really burns CPU
    assert all(x.memory_limit == 64 * MIB for x in s.samples)
    assert s.exit_code == 0 and not s.oom and s.status == "exited"
    assert bytes(m.image.value).startswith(b"\x89PNG") and "exited (0)" in m.label.value
    eng.containers.remove(c.id)


def test_monitor_marks_an_oom_kill(gbx):
    from glassbox.jupyter import monitor
    from glassbox.jupyter.plots import figure_from_columns
    eng = gbx.engine
    c = eng.run("busybox", ["sh", "-c", "sleep 0.5; dd if=/dev/zero of=/dev/null bs=64M count=1"],
                detach=True, name=name(), memory=16 * MIB, memory_swap=16 * MIB)
    m = monitor(c.id, engine=eng)
    assert m.wait(30)
    assert m.sampler.exit_code == 137
    assert m.sampler.oom is True and m.sampler.oom_at is not None
    assert eng.containers.get(c.id).inspect()["State"]["OOMKilled"] is True
    fig = figure_from_columns(m.sampler.columns())
    assert [ln for ax in fig.axes for ln in ax.lines if ln.get_gid() == "oom"]
    assert "OOM killed" in m.label.value
    eng.containers.remove(c.id)


def test_monitor_of_stopped_and_removed_containers(gbx):
    from glassbox.jupyter import monitor
    eng = gbx.engine
    n = name()
    eng.run("busybox", ["true"], name=n)
    m = monitor(n, engine=eng)
    assert m.wait(10) and m.samples == [] and m.sampler.exit_code == 0
    assert "not running" in m.label.value
    eng.containers.remove(n)
    m = monitor(n, engine=eng)
    assert m.sampler is None and f"No such container: {n}" in m.error


def test_limit_sliders_change_the_live_cgroup(gbx):
    from glassbox.jupyter import limits
    eng = gbx.engine
    c = eng.run("busybox", ["sleep", "30"], detach=True, name=name(), memory=64 * MIB)
    w = limits(c.id, engine=eng)
    assert w.memory.value == 64
    w.memory.value = 48
    assert w.last_error is None, w.last_error
    assert eng.containers.get(c.id).inspect()["HostConfig"]["Memory"] == 48 * MIB
    assert eng.containers.stats(c.id).memory_limit == 48 * MIB     # the kernel's file
    w.cpus.value = 0.5
    assert eng.containers.get(c.id).inspect()["HostConfig"]["NanoCpus"] == 500_000_000
    w.pids.value = 40
    st = eng.containers.stats(c.id)
    assert st.pids_limit == 40
    eng.containers.remove(c.id, force=True)


def test_memory_slider_below_usage_shows_the_kernels_answer(gbx):
    from glassbox.jupyter import limits, monitor
    eng = gbx.engine
    # hold ~24 MiB of anonymous memory in a shell variable, then wait (the echo after
    # sleep keeps sh, and its variable, alive instead of exec'ing sleep)
    c = eng.run("busybox", ["sh", "-c", "x=$(head -c 25000000 /dev/zero | tr '\\0' a); "
                            "echo ready; sleep 30; echo ${#x}"],
                detach=True, name=name(), memory=64 * MIB, memory_swap=64 * MIB)
    import time
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and \
            "ready" not in "".join(t for _, t, _ in eng.containers.logs(c.id)):
        time.sleep(0.1)
    used = eng.containers.stats(c.id).memory_usage
    assert used > 20 * MIB
    m = monitor(c.id, engine=eng, render=False)
    w = limits(c.id, engine=eng)
    w.memory.value = 8
    # Either the kernel refused to shrink below what is in use (v1: EBUSY), or it
    # OOM-killed the container (v2); both are shown, and the state says which.
    if w.last_error:
        assert "EBUSY" in w.last_error and "EBUSY" in w.status.value
        assert eng.containers.stats(c.id).memory_limit == 64 * MIB
        eng.containers.remove(c.id, force=True)
        assert m.wait(10)
    else:
        assert m.wait(30) and m.sampler.oom and m.sampler.exit_code == 137
        eng.containers.remove(c.id)


def test_ps_widget_stop_and_rm_buttons(gbx):
    from glassbox.jupyter import ps
    eng = gbx.engine
    c = eng.run("busybox", ["sleep", "30"], detach=True, name=name())
    t = ps(engine=eng)
    stop, rm = t.buttons[c.id]
    stop.click()
    assert eng.containers.get(c.id).status == "exited"
    rm = t.buttons[c.id][1]
    rm.click()
    assert eng.containers.list() == [] and t.rows == []


def test_layers_diagram_of_images_sharing_a_base_and_a_container(ip, gbx):
    from glassbox.jupyter import layers
    eng = gbx.engine
    n = name()
    eng.run("busybox", ["sh", "-c", "echo hi > /hi"], name=n)
    img = ip.run_line_magic("container", f"commit {n} hello:1")
    assert img.tags == ["hello:1"]
    eng.containers.remove(n)
    c = eng.run("hello:1", ["sh", "-c", "echo x > /x; rm /hi"], name=name())
    d = layers("hello:1", "busybox", container=c.id, engine=eng)
    stacks, rws = d.data
    base = eng.images.resolve("busybox").layers[0].diff_id
    gids = [p.get_gid() for p in d.figure.axes[0].patches]
    assert gids.count("layer:" + base) == 1                 # shared base drawn once
    assert len(gids) == 3 and gids.count("rw:" + rws[0].container) == 1
    assert ("A", "/x") in rws[0].changes and ("D", "/hi") in rws[0].changes
    assert d._repr_png_().startswith(b"\x89PNG")
    eng.containers.remove(c.id)


def _real_builder(eng):
    try:
        return eng.builder
    except (ModuleNotFoundError, AttributeError):
        pytest.skip("glassbox.build.builder is not there yet")


def test_dockerfile_magic_with_the_real_builder(ip, gbx, tmp_path, capfd, monkeypatch):
    _real_builder(gbx.engine)
    monkeypatch.chdir(tmp_path)
    cell = 'FROM busybox\nRUN echo hi > /hi\nCMD ["cat", "/hi"]\n'
    img = ip.run_cell_magic("dockerfile", "-t hello:1", cell)
    assert magics(ip).last_error is None, magics(ip).last_error
    assert "hello:1" in img.tags
    first = capfd.readouterr().out
    assert "RUN echo hi > /hi" in first
    ip.run_cell_magic("dockerfile", "-t hello:1 --no-diagram", cell)
    assert "CACHED RUN echo hi > /hi" in capfd.readouterr().out
    res = ip.run_line_magic("container", "run --rm hello:1")
    assert res.stdout == "hi\n"


def test_dockerfile_syntax_error_with_the_real_builder(ip, gbx, tmp_path, monkeypatch):
    _real_builder(gbx.engine)
    monkeypatch.chdir(tmp_path)
    assert ip.run_cell_magic("dockerfile", "-t bad:1", "FROM busybox\nFROBNICATE x\n") is None
    err = magics(ip).last_error
    assert err is not None and "FROBNICATE" in err.message
