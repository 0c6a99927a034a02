"""testcontainers-python (PyPI) against glassbox's daemon: the way test suites use a
Docker socket — start a container, wait for a log line, read the random host port it
was published on, talk to it, exec in it, and remove it on exit.

The client runs in a child process with ``DOCKER_HOST`` pointing at the daemon, as a
test suite would be configured; testcontainers reads its settings (Ryuk) when it is
imported. Ryuk — testcontainers' reaper, a container that removes a session's
containers when the test process dies — is disabled: its image
(``testcontainers/ryuk``) cannot be pulled here, and it cannot be built from this
machine's packages.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "system"))
from test_daemon_docker import running_daemon  # noqa: E402
from test_network_cli import net  # noqa: E402,F401

pytestmark = [pytest.mark.interop]
pytest.importorskip("testcontainers")

CLIENT = r"""
import json, sys, urllib.request
from testcontainers.core.container import DockerContainer
from testcontainers.core.waiting_utils import wait_for_logs

out = {}
web = (DockerContainer("busybox:latest")
       .with_command(["sh", "-c", "mkdir /www && echo hello-from-glassbox > /www/index.html"
                      " && echo serving && exec httpd -f -p 8080 -h /www"])
       .with_exposed_ports(8080)
       .with_env("GREETING", "hi"))
with web:
    wait_for_logs(web, "serving", timeout=20)
    host, port = web.get_container_host_ip(), web.get_exposed_port(8080)
    out["port"] = int(port)
    body = b""
    for _ in range(50):
        try:
            body = urllib.request.urlopen(f"http://{host}:{port}/", timeout=2).read()
            break
        except OSError:
            import time; time.sleep(0.1)
    out["body"] = body.decode()
    code, output = web.exec(["sh", "-c", "echo $GREETING from exec; exit 3"])
    out["exec"] = [code, output.decode()]
    out["id"] = web.get_wrapped_container().id
    out["labels"] = web.get_wrapped_container().labels
print(json.dumps(out))
"""


@pytest.fixture
def daemon(gbx, net, tmp_path):  # noqa: F811 — net: the network leak check
    with running_daemon(gbx, tmp_path) as d:
        yield d


def test_a_testcontainers_session_runs_waits_publishes_execs_and_cleans_up(daemon, gbx):
    env = dict(daemon.env, TESTCONTAINERS_RYUK_DISABLED="true",
               TESTCONTAINERS_HOST_OVERRIDE="127.0.0.1")
    p = subprocess.run([sys.executable, "-c", CLIENT], env=env, capture_output=True,
                       text=True, timeout=120)
    assert p.returncode == 0, p.stderr[-3000:] + "\n--- daemon ---\n" + daemon.logs()[-3000:]
    got = json.loads(p.stdout.strip().splitlines()[-1])
    assert got["body"] == "hello-from-glassbox\n"
    assert got["port"] > 0
    assert got["exec"] == [3, "hi from exec\n"]
    assert any(k.startswith("org.testcontainers") for k in got["labels"]), got["labels"]
    # on exit the session removed its container: nothing of it is left
    assert gbx.out("ps", "-a", "-q") == ""
    assert got["id"] not in gbx.out("ps", "-a", "--no-trunc")
