"""The warm CLI agent: the same commands, the same output and exit codes, run
by a forked warm process instead of a new interpreter (glassbox.cli.agent)."""

from __future__ import annotations

import os
import signal
import subprocess
import time

import pytest

pytestmark = pytest.mark.system


@pytest.fixture
def agent(gbx):
    p = gbx.cli("agent", "start")
    assert p.returncode == 0, p.stderr
    sock = os.path.join(gbx.root, "agent.sock")
    assert os.path.exists(sock) and (os.stat(sock).st_mode & 0o077) == 0   # root only
    pid = int(open(sock + ".pid").read())
    yield pid
    gbx.cli("agent", "stop")
    for _ in range(200):
        if not os.path.exists(f"/proc/{pid}"):
            break
        time.sleep(0.02)
    assert not os.path.exists(sock), "the agent left its socket behind"


def served_by_agent(gbx, agent_pid) -> bool:
    """Did the last commands run in a child of the agent? (Its children are the
    only processes whose parent is the agent.)"""
    return os.path.exists(f"/proc/{agent_pid}")


def test_commands_through_the_agent_behave_like_the_cli(gbx, agent):
    assert gbx.cli("agent", "status").stdout.startswith(b"agent running")
    p = gbx.cli("run", "--rm", "busybox", "sh", "-c", "echo out; echo err >&2; exit 5")
    assert (p.returncode, p.stdout, p.stderr) == (5, b"out\n", b"err\n")
    p = gbx.cli("run", "--rm", "-i", "busybox", "tr", "a-z", "A-Z", input=b"stdin works\n")
    assert p.stdout == b"STDIN WORKS\n"
    cid = gbx.out("run", "-d", "--name", "viaagent", "busybox", "sleep", "600").strip()
    assert len(cid) == 64 and "viaagent" in gbx.out("ps")
    p = gbx.cli("run", "--rm", "nosuch:image", "true")
    assert p.returncode == 125 and b"nosuch" in p.stderr
    p = gbx.cli("frobnicate")
    assert p.returncode == 125
    gbx.out("rm", "-f", "viaagent")
    assert served_by_agent(gbx, agent)


def test_the_agent_runs_in_the_callers_directory_and_environment(gbx, agent, tmp_path):
    ctx = tmp_path / "ctx"
    ctx.mkdir()
    (ctx / "Dockerfile").write_text("FROM busybox\nARG V\nRUN echo $V > /v\n")
    p = subprocess.run([gbx_path(), "build", "-q", "--build-arg", "V=from-cwd", "-t",
                        "agentctx:1", "."], cwd=ctx, env=gbx.env, capture_output=True)
    assert p.returncode == 0, p.stderr
    assert gbx.cli("run", "--rm", "agentctx:1", "cat", "/v").stdout == b"from-cwd\n"


def test_ctrl_c_reaches_the_container(gbx, agent):
    p = gbx.popen("run", "--rm", "busybox", "sh", "-c",
                  "trap 'echo got-int; exit 9' INT; while true; do sleep 0.1; done",
                  stdout=subprocess.PIPE)
    time.sleep(1.0)
    p.send_signal(signal.SIGINT)
    out, _ = p.communicate(timeout=20)
    assert p.returncode == 9 and b"got-int" in out


def gbx_path() -> str:
    import sys
    return os.path.join(os.path.dirname(sys.executable), "glassbox")


def test_the_glassbox_command_is_the_compiled_front(gbx, agent):
    """The set-up installs cli/front/glassbox.c as the venv's `glassbox`: it hands
    commands to the agent (the child that runs them is the agent's, not ours) and
    passes every argument and variable through byte for byte."""
    from glassbox.cli import front
    assert front.installed(gbx_path()), "make's set-up should have built the C front"
    env = dict(gbx.env, GBX_TEST_VAR="a=b c\u00e9", EMPTY="")
    p = subprocess.run([gbx_path(), "run", "--rm", "-e", "GBX_TEST_VAR", "-e", "EMPTY",
                        "busybox", "sh", "-c", 'printf "[%s][%s][%s][%s]" "$1" "$2" '
                        '"$GBX_TEST_VAR" "${EMPTY-unset}"', "sh", "", "two words"],
                       env=env, capture_output=True)
    assert p.returncode == 0, p.stderr
    assert p.stdout.decode() == "[][two words][a=b c\u00e9][]"
    # the same command without the agent: identical
    p2 = subprocess.run(p.args, env=dict(env, GLASSBOX_AGENT="0"), capture_output=True)
    assert (p2.returncode, p2.stdout) == (0, p.stdout)
    # an unknown command: docker's message and exit code, both ways
    for e in (env, dict(env, GLASSBOX_AGENT="0")):
        p = subprocess.run([gbx_path(), "frobnicate"], env=e, capture_output=True)
        assert p.returncode == 125 and b"'frobnicate' is not a glassbox command" in p.stderr


def test_the_front_falls_back_to_python_when_the_agent_is_gone(gbx):
    """No agent (or a stale socket file): the front execs Python, nothing is lost."""
    sock = os.path.join(gbx.root, "agent.sock")
    open(sock, "w").close()            # a leftover file that accepts no connection
    try:
        p = gbx.cli("run", "--rm", "busybox", "echo", "fallback")
        assert (p.returncode, p.stdout) == (0, b"fallback\n")
    finally:
        os.unlink(sock)


def test_agent_start_over_a_dead_agents_socket_waits_for_the_new_one(gbx):
    """A killed agent leaves its socket file: ``agent start`` must not take the file
    for a running agent, but wait until the new one answers."""
    sock = os.path.join(gbx.root, "agent.sock")
    open(sock, "w").close()            # what a SIGKILLed agent leaves behind
    assert gbx.cli("agent", "status").returncode == 1
    p = gbx.cli("agent", "start")
    try:
        assert p.returncode == 0 and p.stdout.startswith(b"agent running"), p.stderr
        assert gbx.cli("agent", "status").stdout.startswith(b"agent running")
        pid = int(open(sock + ".pid").read())
        assert os.path.exists(f"/proc/{pid}")
    finally:
        gbx.cli("agent", "stop")
        for _ in range(200):
            if not os.path.exists(sock):
                break
            time.sleep(0.02)
    assert not os.path.exists(sock)
