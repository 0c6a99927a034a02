"""An OOM kill is in ``inspect`` as soon as ``wait`` returns: the C monitor's quick
exit record comes first, and the shim records OOMKilled only a moment later."""

from __future__ import annotations

import json

import pytest

pytestmark = pytest.mark.system


def test_wait_then_inspect_sees_the_oom_kill(gbx):
    for i in range(3):   # the window is a fraction of a second: try it a few times
        name = f"hog{i}"
        gbx.out("run", "-d", "--name", name, "-m", "16m", "--memory-swap", "16m", "busybox",
                "sh", "-c", "x=a; while :; do x=$x$x; done")
        assert gbx.out("wait", name).strip() == "137"
        st = json.loads(gbx.out("inspect", name))[0]["State"]
        assert st["OOMKilled"] is True, st
        gbx.out("rm", name)
