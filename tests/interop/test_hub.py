"""A class on one machine: JupyterHub (deploy/hub/) with three students.

Real peers throughout: jupyterhub from PyPI, configurable-http-proxy from npm,
local accounts made for the test, each student's server spawned as that
student, rootless glassbox inside it. The notebooks run through the server's
kernel API (REST + the kernel's WebSocket), the way the lab itself runs them.
"""

from __future__ import annotations

import os
import time

import pytest

from hub_fixtures import CHP, Classroom, notebook_code, run_code, sh

pytestmark = pytest.mark.interop


@pytest.fixture
def classroom():
    """Three set-up students and one who was not, a hub for them, and afterwards:
    the hub stopped, then proof that nothing of theirs is left."""
    if os.geteuid() != 0:
        pytest.skip("needs root: a hub spawning local accounts")
    if not os.path.exists(CHP):
        pytest.skip("configurable-http-proxy missing (make setup installs it)")
    room = Classroom(students=3, unset=1)
    try:
        yield room
    finally:
        leaks = room.close()
    assert not leaks, leaks


def test_a_class_of_three_on_one_machine(classroom):
    hub, users, (a, b, c), (unset,) = classroom.hub, classroom.users, classroom.names, \
        classroom.unset
    names = classroom.names
    tokens = {n: hub.start_server(n) for n in names}

    # every student runs the tour through their own server's kernels
    for n in names:
        cells = notebook_code(os.path.join(users[n].pw_dir, "notebooks", "00-tour.ipynb"))
        results = run_code(hub, n, tokens[n], cells)
        failed = [(i, r) for i, r in enumerate(results)
                  if r["status"] != "ok" or "Error: " in r["text"]]
        assert not failed, (n, [(i, cells[i][:80], r) for i, r in failed[:3]],
                            [r["text"][:300] for r in results[:failed[0][0] + 1]])

    # A's container is A's alone: B can neither see it nor stop it nor exec into it
    res = run_code(hub, a, tokens[a], [
        "%load_ext glassbox\n%container run -d --name mine busybox sleep 600",
        sh("inspect", "-f", "{{.Id}}", "mine")])
    assert all(r["status"] == "ok" for r in res), res
    a_id = res[1]["text"].split()[1]
    assert len(a_id) == 64, res[1]
    res = run_code(hub, b, tokens[b], [sh("ps", "-aq", "--no-trunc"), sh("stop", a_id),
                                        sh("exec", a_id, "true")])
    assert res[0]["text"].startswith("0 ") and a_id not in res[0]["text"], res[0]
    assert not res[1]["text"].startswith("0 "), res[1]
    assert not res[2]["text"].startswith("0 "), res[2]

    # C's memory hog and fork bomb hit C's ceiling; A still starts containers
    run_code(hub, c, tokens[c], [
        "%load_ext glassbox\n%container run -d --name hog busybox sh -c 'x=a; while :; do x=$x$x; done'",
        "%container run -d --name bomb busybox sh -c 'f(){ f | f & }; f; sleep 600'"])
    t0 = time.monotonic()
    res = run_code(hub, a, tokens[a], ["%load_ext glassbox\n"
                                        "%container run --rm busybox echo still-fine"])
    took = time.monotonic() - t0
    assert res[0]["status"] == "ok" and "still-fine" in res[0]["text"], res
    print(f"a's run beside c's hog and fork bomb: {took:.2f} s (kernel start included)")

    # the student who was not set up still gets a server, and doctor explains
    tok = hub.start_server(unset)
    res = run_code(hub, unset, tok, ["!glassbox doctor"])
    assert "setup-user" in res[0]["text"], res
