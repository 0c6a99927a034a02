"""glassbox and a real dockerd sharing a registry (issue 5's interop, when a
dockerd is available: ``bench/setup_anchors.sh`` starts a private one at
unix:///run/docker-bench.sock with ``--bridge=none --iptables=false``).

glassbox push -> docker pull -> docker run, and docker push -> glassbox pull ->
run. dockerd treats 127.0.0.0/8 registries as insecure, so plain http works.
Skipped, with the reason, when no dockerd answers.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import uuid

import pytest

pytestmark = pytest.mark.interop

DOCKER_HOST = os.environ.get("DOCKER_HOST") or "unix:///run/docker-bench.sock"


def docker(*args, check=True, input=None):
    p = subprocess.run(["docker", *args], capture_output=True, input=input, timeout=120,
                       env=dict(os.environ, DOCKER_HOST=DOCKER_HOST))
    if check and p.returncode != 0:
        raise AssertionError(f"docker {' '.join(args)}: {p.stderr.decode()}")
    return p


@pytest.fixture
def dockerd():
    if not shutil.which("docker"):
        pytest.skip("no docker CLI")
    if docker("info", check=False).returncode != 0:
        pytest.skip(f"no dockerd answers at {DOCKER_HOST} (bench/setup_anchors.sh starts one)")
    made = []
    yield made
    for ref in made:
        docker("rmi", "-f", ref, check=False)


def test_glassbox_push_docker_pull_and_run(gbx, registry, dockerd):
    ref = f"{registry.host}/gbx/hello-{uuid.uuid4().hex[:6]}:1"
    gbx.cli("run", "--name", "mk", "busybox", "sh", "-c", "echo made by glassbox > /msg",
            check=True)
    gbx.out("commit", "-c", 'CMD ["cat", "/msg"]', "mk", ref)
    gbx.out("rm", "mk")
    assert "digest: sha256:" in gbx.out("push", ref)
    dockerd.append(ref)
    docker("pull", ref)
    assert docker("run", "--rm", "--network", "none", ref).stdout == b"made by glassbox\n"


def test_docker_push_glassbox_pull_and_run(gbx, registry, dockerd, tmp_path):
    ref = f"{registry.host}/dk/hello-{uuid.uuid4().hex[:6]}:1"
    (tmp_path / "Dockerfile").write_text('FROM busybox\nRUN echo made by docker > /msg\n'
                                        'CMD ["cat", "/msg"]\n')
    docker("build", "--network", "none", "-q", "-t", ref, str(tmp_path))
    dockerd.append(ref)
    docker("push", ref)
    gbx.out("pull", ref)
    res = gbx.engine.run(ref, None, auto_remove=True)
    assert res.exit_code == 0 and res.stdout == b"made by docker\n"
