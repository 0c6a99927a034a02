"""The shim's start unwinds a failure on the real kernel (issue 17).

``--network container:A`` is checked when B is created (A must be running) and
again when B starts. If A stopped in between, the start fails after the shim
has made B's cgroup and pipes: the one teardown must give them back and report
once — exit 125, Docker's message, state ``created`` — and the ``gbx`` fixture
proves no cgroup, mount or process is left behind.
"""

from __future__ import annotations

import os
import uuid

import pytest

from glassbox.containers.options import CreateOptions
from glassbox.errors import ContainerExit

pytestmark = pytest.mark.system


def test_a_start_failing_after_the_cgroup_leaves_nothing(gbx):
    eng = gbx.engine
    a = f"a{uuid.uuid4().hex[:8]}"
    eng.run(CreateOptions(image="busybox", command=["sleep", "600"], name=a, network="none"),
            detach=True)
    b = eng.create(CreateOptions(image="busybox", command=["true"], network=f"container:{a}"))
    eng.containers.stop(a, timeout=0)
    with pytest.raises(ContainerExit) as ei:
        eng.containers.start(b.id)
    assert ei.value.exit_code == 125
    a_id = eng.containers.get(a).id              # (the mode records A by its id)
    assert f"cannot join network of a non running container: {a_id}" in str(ei.value)
    st = eng.containers.get(b.id).state
    assert (st["Status"], st["ExitCode"], st["Running"], st["Pid"]) == ("created", 125, False, 0)
    assert "cannot join network" in st["Error"]
    cg = f"/sys/fs/cgroup/pids/{gbx.cgroup_parent}/{b.id}"
    v2 = f"/sys/fs/cgroup/{gbx.cgroup_parent}/{b.id}"
    assert not os.path.exists(cg) and not os.path.exists(v2)    # the undo removed it
    # once A runs again, B starts: the failed start left nothing in the way
    eng.containers.start(a).detach()
    eng.containers.start(b.id).detach()
    assert eng.containers.wait(b.id) == 0
    eng.containers.stop(a, timeout=0)
    for ref in (b.id, a):
        eng.containers.remove(ref)
