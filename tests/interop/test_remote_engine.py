"""The same scenario on a local ``Engine`` and on a ``RemoteEngine`` (the daemon client)
gives the same answers: run, the R/W layer's size, stats, a live memory update, logs with
``tail``, the image layer tree, wait and rm.

Both work on the same state root: the local one directly, the remote one through the
daemon of the shared ``daemon`` fixture (a real ``glassbox daemon`` on a unix socket).
What differs by nature (ids, times, CPU nanoseconds) is left out of the comparison;
the rest must be equal, and each value is also checked on its own so that two equally
wrong answers cannot pass.
"""

from __future__ import annotations

import time
import uuid

import pytest

from glassbox.containers.options import CreateOptions
from glassbox.daemon.client import RemoteEngine

pytestmark = [pytest.mark.interop]

SCRIPT = "head -c 12345 /dev/zero > /written; for i in 1 2 3 4 5; do echo line$i; done; exec sleep 600"


def _scenario(eng) -> dict:
    name = "re-" + uuid.uuid4().hex[:10]
    res = eng.run(CreateOptions(image="busybox", command=["sh", "-c", SCRIPT], name=name,
                                network="none"), detach=True)
    try:
        deadline = time.monotonic() + 20
        while len(list(eng.logs(name))) < 5:
            assert time.monotonic() < deadline, "the container wrote no 5 lines"
            time.sleep(0.05)
        rw = eng.rw_size(name)
        st = eng.stats(name)
        limits = eng.update(name, memory=64 << 20)
        after = eng.stats(name)
        tail = [text.strip() for _, text, _ in eng.logs(name, tail=2)]
        top = eng.top(name)
        layers = [(l.diff_id, l.size, l.created_by) for l in eng.image_layers("busybox")]
        eng.kill(name)
        code = eng.wait(name)
        listed = name in [c.name for c in eng.ps(all=True)]
        removed = eng.remove(name)
        gone = name not in [c.name for c in eng.ps(all=True)]
    finally:
        try:
            eng.remove(name, force=True)
        except Exception:  # noqa: BLE001 — already removed in the good case
            pass
    return {"running": st is not None and st.pids_current, "mem_before": st.memory_limit,
            "limit_set": limits["memory"], "limit_read": after.memory_limit,
            "tail": tail, "top_cmds": sorted(p[-1] for p in top["Processes"]),
            "layers": layers, "rw_size": rw, "exit": code, "listed": listed,
            "removed_id": removed == res.id,
            "gone": gone}


def test_local_and_remote_engine_answer_alike(gbx, daemon):
    local = _scenario(gbx.engine)
    remote = _scenario(RemoteEngine(daemon.url))
    assert local["running"] == 1                                # sh exec'd into sleep
    assert local["mem_before"] is None                          # no limit at run
    assert local["limit_set"] == local["limit_read"] == 64 << 20
    assert local["tail"] == ["line4", "line5"]
    assert local["top_cmds"] == ["sleep 600"]
    assert local["layers"] and all(d.startswith("sha256:") for d, _, _ in local["layers"])
    assert local["rw_size"] == 12345                           # /written, nothing else
    assert local["exit"] == 137 and local["listed"] and local["removed_id"] and local["gone"]
    assert remote == local
