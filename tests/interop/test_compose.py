"""Compose as a real client: Debian's ``docker-compose`` (1.29, docker-py underneath)
against the glassbox daemon socket, on a project that uses what compose projects
use — two networks, a named volume, a bind mount, a published port, a tmpfs, a
memory limit — through ``up -d``, ``ps``, ``logs``, ``exec``, ``restart`` and
``down -v``, which must leave no container, volume, network, veth or cgroup.

A healthcheck with ``depends_on: condition: service_healthy`` and a restart policy
are added when the daemon supports them (probed, so this test grows with it)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
import urllib.request
import uuid

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "system"))
from test_daemon_docker import running_daemon  # noqa: E402
from test_network_cli import free_port, net, uniq  # noqa: E402,F401

COMPOSE = shutil.which("docker-compose")
pytestmark = [pytest.mark.interop,
              pytest.mark.skipif(COMPOSE is None, reason="docker-compose not installed "
                                 "(Debian package docker-compose)")]


@pytest.fixture
def daemon(gbx, net, tmp_path):  # noqa: F811 — net: the network leak check
    with running_daemon(gbx, tmp_path) as d:
        yield d


def _api(daemon, method: str, url: str, body: dict | None = None) -> tuple[int, dict]:
    args = ["-X", method, f"http://localhost/v1.43{url}"]
    if body is not None:
        args[:0] = ["-H", "Content-Type: application/json", "-d", json.dumps(body)]
    code, out = daemon.curl(*args)
    try:
        return code, json.loads(out) if out.strip() else {}
    except ValueError:
        return code, {"message": out}


def restart_supported(daemon) -> bool:
    """Is an on-failure policy accepted and shown in inspect?"""
    code, out = _api(daemon, "POST", "/containers/create",
                     {"Image": "busybox", "Cmd": ["true"], "HostConfig": {
                         "RestartPolicy": {"Name": "on-failure", "MaximumRetryCount": 3}}})
    if code != 201:
        return False
    _, doc = _api(daemon, "GET", f"/containers/{out['Id']}/json")
    _api(daemon, "DELETE", f"/containers/{out['Id']}?force=1")
    return (doc["HostConfig"].get("RestartPolicy") or {}).get("Name") == "on-failure"


def health_supported(daemon) -> bool:
    """Does a 1 s healthcheck actually run and report healthy (not merely get stored)?"""
    code, out = _api(daemon, "POST", "/containers/create",
                     {"Image": "busybox", "Cmd": ["sleep", "60"],
                      "Healthcheck": {"Test": ["CMD", "true"], "Interval": 500_000_000}})
    if code != 201:
        return False
    cid = out["Id"]
    try:
        if _api(daemon, "POST", f"/containers/{cid}/start")[0] != 204:
            return False
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            _, doc = _api(daemon, "GET", f"/containers/{cid}/json")
            if ((doc.get("State") or {}).get("Health") or {}).get("Status") == "healthy":
                return True
            time.sleep(0.3)
        return False
    finally:
        _api(daemon, "DELETE", f"/containers/{cid}?force=1")


def project_yaml(tmp_path, port: int, health: bool, restart: bool) -> str:
    site = tmp_path / "site"
    site.mkdir()
    (site / "index.html").write_text("served from a bind mount\n")
    web_extra = ""
    db_extra = ""
    if restart:
        db_extra += "    restart: on-failure:3\n"
    if health:
        db_extra += ("    healthcheck:\n"
                     "      test: [\"CMD\", \"test\", \"-f\", \"/data/ready\"]\n"
                     "      interval: 1s\n      timeout: 2s\n      retries: 30\n")
        web_extra += "    depends_on:\n      db:\n        condition: service_healthy\n"
    else:
        web_extra += "    depends_on:\n      - db\n"
    return f"""version: "2.4"
services:
  db:
    image: busybox
    command: ["sh", "-c", "echo db-up; echo ok > /data/ready; exec sleep 300"]
    volumes:
      - dbdata:/data
    tmpfs:
      - /scratch:size=8m
    mem_limit: 64m
    networks: [back]
{db_extra}  web:
    image: busybox
    command: ["httpd", "-f", "-v", "-p", "8080", "-h", "/www"]
    volumes:
      - {site}:/www:ro
    ports:
      - "127.0.0.1:{port}:8080"
    networks: [front, back]
{web_extra}volumes:
  dbdata:
networks:
  front:
  back:
"""


def compose(daemon, project: str, path: str, *args, check=True, timeout=180):
    p = subprocess.run([COMPOSE, "--ansi", "never", "-f", path, "-p", project, *args],
                       env=dict(daemon.env, COMPOSE_HTTP_TIMEOUT="120"), capture_output=True,
                       timeout=timeout)
    if check and p.returncode != 0:
        raise AssertionError(f"docker-compose {' '.join(args)} -> {p.returncode}\n"
                             f"stdout: {p.stdout.decode()}\nstderr: {p.stderr.decode()}\n"
                             f"daemon: {daemon.logs()[-3000:]}")
    return p.stdout.decode() + p.stderr.decode()


def http_get(url: str, deadline_s: float = 20) -> str:
    deadline = time.monotonic() + deadline_s
    while True:
        try:
            with urllib.request.urlopen(url, timeout=2) as r:
                return r.read().decode()
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


def test_compose_project_up_ps_logs_exec_restart_down(daemon, tmp_path):
    project = "gbx" + uuid.uuid4().hex[:8]
    port = free_port()
    health, restart = health_supported(daemon), restart_supported(daemon)
    print(f"compose project with healthcheck={health} restart policy={restart}")
    path = str(tmp_path / "docker-compose.yml")
    with open(path, "w") as f:
        f.write(project_yaml(tmp_path, port, health, restart))

    compose(daemon, project, path, "up", "-d")
    ps = compose(daemon, project, path, "ps")
    assert f"{project}_db_1" in ps and f"{project}_web_1" in ps and "Up" in ps
    assert "served from a bind mount" in http_get(f"http://127.0.0.1:{port}/")

    eng = daemon.gbx.engine
    db = eng.containers.get(f"{project}_db_1").inspect()
    web = eng.containers.get(f"{project}_web_1").inspect()
    assert db["HostConfig"]["Memory"] == 64 << 20
    if restart:
        assert db["HostConfig"]["RestartPolicy"] == {"Name": "on-failure",
                                                     "MaximumRetryCount": 3}
    if health:      # web was started only once db was healthy (depends_on)
        assert db["State"]["Health"]["Status"] == "healthy"
        assert "(healthy)" in ps
    assert set(web["NetworkSettings"]["Networks"]) == {f"{project}_front", f"{project}_back"}
    assert all(n["IPAddress"] for n in web["NetworkSettings"]["Networks"].values())
    # web reaches db by its service name on the back network (compose's alias)
    assert compose(daemon, project, path, "exec", "-T", "web", "ping", "-c", "1", "-W", "5",
                   "db").count("1 packets received") == 1
    mounts = compose(daemon, project, path, "exec", "-T", "db", "cat", "/proc/mounts")
    assert " /scratch tmpfs " in mounts
    assert compose(daemon, project, path, "exec", "-T", "db", "cat", "/data/ready") == "ok\n"
    assert "db-up" in compose(daemon, project, path, "logs", "db")

    compose(daemon, project, path, "restart", "-t", "1")
    assert "served from a bind mount" in http_get(f"http://127.0.0.1:{port}/")
    web = eng.containers.get(f"{project}_web_1").inspect()
    assert web["State"]["Running"] and \
        all(n["IPAddress"] for n in web["NetworkSettings"]["Networks"].values())

    compose(daemon, project, path, "down", "-v", "-t", "1")
    assert [c.name for c in eng.containers.list()] == []
    vols = [v["Name"] for v in eng.volumes.list()]
    assert not [v for v in vols if v.startswith(project)], vols
    assert not [n.name for n in eng.networks.list() if n.name.startswith(project)]
