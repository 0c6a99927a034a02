"""Restart policies and healthchecks through the daemon, driven by the docker CLI
and docker-py: ``docker run --restart``, ``--health-cmd``, ``docker ps`` showing
``(healthy)``, ``health_status`` events, ``docker update --restart``."""

from __future__ import annotations

import json
import os
import select
import subprocess
import time
import uuid

import pytest

from gbx_testlib import wait_for

from test_daemon_docker import DOCKER, needs_docker

pytestmark = [pytest.mark.interop]



def name() -> str:
    return "t" + uuid.uuid4().hex[:10]


def dinspect(daemon, ref) -> dict:
    return json.loads(daemon.out("inspect", ref))[0]


@needs_docker
def test_docker_run_restart_on_failure(daemon):
    n = name()
    daemon.out("run", "-d", "--name", n, "--restart", "on-failure:2", "busybox", "sh", "-c",
               "echo again; exit 4")
    assert wait_for(lambda: dinspect(daemon, n)["RestartCount"] == 2
                    and dinspect(daemon, n)["State"]["Status"] == "exited")
    doc = dinspect(daemon, n)
    assert doc["HostConfig"]["RestartPolicy"] == {"Name": "on-failure", "MaximumRetryCount": 2}
    assert doc["State"]["ExitCode"] == 4
    assert daemon.out("logs", n).count("again") == 3
    # docker update --restart, then a crash from outside brings it back
    m = name()
    daemon.out("run", "-d", "--name", m, "busybox", "sleep", "600")
    daemon.out("update", "--restart", "always", m)
    assert dinspect(daemon, m)["HostConfig"]["RestartPolicy"]["Name"] == "always"
    pid = dinspect(daemon, m)["State"]["Pid"]
    assert pid > 0
    os.kill(pid, 9)
    assert wait_for(lambda: dinspect(daemon, m)["RestartCount"] == 1
                    and dinspect(daemon, m)["State"]["Running"])
    daemon.out("stop", "-t", "1", m)
    time.sleep(0.5)
    assert dinspect(daemon, m)["State"]["Status"] == "exited"


@needs_docker
def test_bad_restart_policies_are_refused(daemon):
    p = daemon.docker("run", "-d", "--restart", "always:3", "busybox", "true", check=False)
    assert p.returncode == 125
    assert b"maximum retry count can only be used with 'on-failure'" in p.stderr
    body = {"Image": "busybox", "HostConfig": {"AutoRemove": True,
                                              "RestartPolicy": {"Name": "always"}}}
    code, text = daemon.curl("-X", "POST", "-H", "Content-Type: application/json",
                             "-d", json.dumps(body), "http://x/containers/create")
    assert code == 400 and "can't create 'AutoRemove' container with restart policy" in text
    code, text = daemon.curl("-X", "POST", "-H", "Content-Type: application/json", "-d",
                             json.dumps({"Image": "busybox", "HostConfig": {
                                 "RestartPolicy": {"Name": "sometimes"}}}),
                             "http://x/containers/create")
    assert code == 400 and "unknown policy 'sometimes'" in text
    assert daemon.gbx.engine.containers.list() == []


@needs_docker
def test_docker_health_cmd_ps_and_events(daemon):
    n = name()
    events = subprocess.Popen([DOCKER, "events", "--filter", "event=health_status",
                               "--format", "{{json .}}"], env=daemon.env,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        time.sleep(1.0)          # the event stream is subscribed
        daemon.out("run", "-d", "--name", n, "--health-cmd", "test -e /tmp/up",
                   "--health-interval", "200ms", "--health-retries", "50", "busybox", "sh",
                   "-c", "sleep 1; touch /tmp/up; sleep 600")
        assert "health: starting" in daemon.out("ps", "--filter", f"name={n}")
        assert wait_for(lambda: daemon.out("inspect", "--format", "{{.State.Health.Status}}",
                                           n).strip() == "healthy")
        ps = daemon.out("ps", "--filter", f"name={n}", "--format", "{{.Status}}").strip()
        assert ps.startswith("Up ") and ps.endswith("(healthy)")
        ready, _, _ = select.select([events.stdout], [], [], 10)
        assert ready, "no health_status event"
        ev = json.loads(os.read(events.stdout.fileno(), 65536).decode().splitlines()[0])
        assert ev["Action"] == "health_status: healthy" and ev["Actor"]["Attributes"]["name"] == n
        doc = dinspect(daemon, n)
        assert doc["Config"]["Healthcheck"]["Test"] == ["CMD-SHELL", "test -e /tmp/up"]
        assert doc["Config"]["Healthcheck"]["Interval"] == 200_000_000
        assert doc["State"]["Health"]["Log"][-1]["ExitCode"] == 0
    finally:
        events.kill()
        events.wait()


def test_docker_py_restart_policy_and_healthcheck(daemon):
    docker = pytest.importorskip("docker")
    client = docker.DockerClient(base_url=daemon.url, version="1.43")
    try:
        c = client.containers.run(
            "busybox", ["sleep", "600"], detach=True, name=name(),
            restart_policy={"Name": "unless-stopped"},
            healthcheck={"test": ["CMD", "true"], "interval": 100_000_000, "retries": 1})
        assert wait_for(lambda: client.containers.get(c.id).attrs["State"]
                        .get("Health", {}).get("Status") == "healthy")
        attrs = client.containers.get(c.id).attrs
        assert attrs["HostConfig"]["RestartPolicy"]["Name"] == "unless-stopped"
        assert client.containers.get(c.id).health == "healthy"
        c.update(restart_policy={"Name": "on-failure", "MaximumRetryCount": 3})
        assert client.containers.get(c.id).attrs["HostConfig"]["RestartPolicy"] == {
            "Name": "on-failure", "MaximumRetryCount": 3}
        with pytest.raises(docker.errors.APIError) as e:
            c.update(restart_policy={"Name": "always", "MaximumRetryCount": 3})
        assert e.value.status_code == 400
        c.remove(force=True)
    finally:
        client.close()


@needs_docker
def test_docker_health_start_interval_is_api_1_44(daemon):
    """``--health-start-interval`` (``HealthConfig.StartInterval``, API 1.44: the docker
    CLI refused it while the daemon spoke 1.43) is kept and shown; a create that asks
    API 1.43 never meant it, so it is dropped, as dockerd drops it."""
    n = name()
    daemon.out("create", "--name", n, "--health-cmd", "true", "--health-start-period", "30s",
               "--health-start-interval", "2s", "busybox", "sleep", "60")
    hc = dinspect(daemon, n)["Config"]["Healthcheck"]
    assert hc["StartInterval"] == 2_000_000_000 and hc["StartPeriod"] == 30_000_000_000
    daemon.out("rm", n)
    old = name()
    code, body = daemon.curl("-X", "POST", "-H", "Content-Type: application/json", "-d",
                             json.dumps({"Image": "busybox", "Cmd": ["true"], "Healthcheck": {
                                 "Test": ["CMD", "true"], "StartInterval": 2_000_000_000}}),
                             f"http://d/v1.43/containers/create?name={old}")
    assert code == 201, body
    assert dinspect(daemon, old)["Config"]["Healthcheck"].get("StartInterval") in (None, 0)
    daemon.out("rm", old)
