"""Issue 18's ordering promises, held against the shim's start line
(``runtime.shim.START_STEPS``): the device allow-list is in the container's cgroup,
and the seccomp program is compiled, before the first container process exists.

The system tests show the guards hold (tests/system/test_escape.py, the probe as
pid 1); this one keeps a reshuffle of the steps from opening a window before them.
"""

from glassbox.runtime import shim


def test_device_rules_and_the_filter_are_ready_before_init_is_forked():
    steps = shim.START_STEPS
    fork = steps.index(shim._fork_init)
    assert steps.index(shim._create_cgroup) < fork       # cgroup made and restricted
    assert steps.index(shim._compile_seccomp) < fork     # program in hand before pivot_root
    assert steps.index(shim._join_cgroup) > fork         # init waits on sync until joined


def test_create_cgroup_restricts_devices_unless_privileged(monkeypatch):
    """The step itself: Docker's list (plus --device/--device-cgroup-rule) before
    limits, and nothing for --privileged."""
    calls: list = []

    class FakeCgroup:
        def __init__(self, *a, **kw):
            pass

        def create(self):
            calls.append("create")

        def restrict_devices(self, rules):
            calls.append(("devices", rules))

        def apply(self, limits):
            calls.append("limits")

        def destroy(self):
            calls.append("destroy")

    import glassbox.cgroups as cgroups
    from glassbox.cgroups.devices import DEFAULT_ALLOW
    monkeypatch.setattr(cgroups, "open_cgroup", lambda *a, **kw: FakeCgroup())

    class Spec:
        privileged = False
        devices: list = []
        device_cgroup_rules = ["c 120:* rw"]

    class St:
        config = {"Id": "x", "CgroupParent": "p"}
        spec = Spec()
        rootless = False
        limits = None

    class Undo:
        def push(self, *a):
            pass

    shim._create_cgroup(St(), Undo())
    assert calls == ["create", ("devices", DEFAULT_ALLOW + ("c 120:* rw",)), "limits"]
    calls.clear()
    St.spec.privileged = True
    shim._create_cgroup(St(), Undo())
    assert calls == ["create", "limits"]
