"""``monitor(c)`` drawn by the browser: its display offers the lab's chart beside the
widget, and a claim from the browser (the comm the extension opens) stops the kernel's
PNG redraws while sampling goes on. Against the fake engine of test_jupyter_widgets;
tests/browser/test_labext_browser.py checks the same in a real JupyterLab."""

import matplotlib

matplotlib.use("Agg")

import pytest  # noqa: E402

from test_jupyter_widgets import MIB, FakeContainers, FakeEngine, reading  # noqa: E402

WIDGET = "application/vnd.jupyter.widget-view+json"


def _claim(token):
    from glassbox.jupyter.livechart import _claimed
    _claimed(None, {"content": {"data": {"monitor": token}}})


def _monitor(n=30, **kw):
    from glassbox.jupyter import monitor
    rs = [reading(i * 10_000_000, MIB * (i + 1)) for i in range(n)]
    return monitor("web", interval=0.01, engine=FakeEngine(FakeContainers(rs)), **kw)


def test_the_display_offers_the_browser_chart_beside_the_widget():
    from glassbox.jupyter.livechart import MIME
    m = _monitor()
    data = m._repr_mimebundle_()
    assert data[MIME] == {"id": "c" * 64, "name": "web", "monitor": m.token, "version": 2}
    assert WIDGET in data                       # front ends without the extension
    assert "m.show()" in data["text/plain"] and "web" in data["text/plain"]
    assert m.wait(10)


def test_a_claim_stops_the_kernels_png_but_not_its_sampling():
    m = _monitor(n=60, redraw=0.5)
    m._repr_mimebundle_()                       # shown: the kernel waits for a claim
    _claim(m.token)
    assert m.browser is True
    assert m.wait(10)
    assert len(m.samples) == 60 and m.draws == 0 and m.image.value == b""
    assert "exited" in m.label.value            # the status line still says how it ended
    # the PNG for a saved notebook is still there on demand
    from glassbox.jupyter.plots import figure_from_columns, to_png
    assert to_png(figure_from_columns(m.sampler.columns())).startswith(b"\x89PNG")


def test_without_a_claim_the_kernel_draws_the_png():
    m = _monitor(redraw=0.01)
    m._repr_mimebundle_()
    assert m.wait(10)
    assert m.browser is False and m.draws >= 1
    assert bytes(m.image.value).startswith(b"\x89PNG")


@pytest.mark.parametrize("msg", [{}, {"content": {}}, {"content": {"data": {}}},
                                 {"content": {"data": {"monitor": "no-such-token"}}}])
def test_a_claim_that_names_no_monitor_changes_nothing(msg):
    from glassbox.jupyter.livechart import _claimed
    m = _monitor()
    _claimed(None, msg)
    assert m.browser is False
    assert m.wait(10)


def test_a_monitor_of_a_missing_container_offers_no_chart():
    from glassbox.jupyter import monitor
    from glassbox.jupyter.livechart import MIME
    m = monitor("nope", engine=FakeEngine(FakeContainers()))
    data = m._repr_mimebundle_()
    assert MIME not in data and WIDGET in data and "No such container" in m.label.value


def test_the_comm_target_is_registered_with_the_kernels_manager(monkeypatch):
    import comm
    from comm.base_comm import CommManager

    from glassbox.jupyter.livechart import COMM_TARGET, _register_target
    manager = CommManager()
    monkeypatch.setattr(comm, "get_comm_manager", lambda: manager)
    _register_target()                          # what a monitor's first display does
    _register_target()                          # once only
    monkeypatch.undo()                          # the widgets' own comms: the default manager
    handler = manager.targets[COMM_TARGET]
    m = _monitor()
    handler(None, {"content": {"data": {"monitor": m.token}}})   # what ipykernel calls
    assert m.browser is True
    assert m.wait(10)


class _Comm:
    def __init__(self):
        self.sent = []

    def send(self, data):
        self.sent.append(data)


def test_stop_tells_every_browser_chart_through_its_comm():
    from glassbox.jupyter.livechart import _claimed
    m = _monitor(n=10_000, redraw=0.5)      # runs until stopped
    first, second = _Comm(), _Comm()
    for comm in (first, second):            # the same monitor shown twice
        _claimed(comm, {"content": {"data": {"monitor": m.token}}})
    assert first.sent == [] and m.browser
    m.stop()
    assert first.sent == second.sent == [{"stop": True}]
    late = _Comm()                          # a chart that claims after m.stop()
    _claimed(late, {"content": {"data": {"monitor": m.token}}})
    assert late.sent == [{"stop": True}]
