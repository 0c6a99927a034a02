"""``GET /distribution/{name}/json`` against a real registry (Debian's docker-registry):
the descriptor the registry serves and the image's platform; a missing tag is 404."""

from __future__ import annotations

import hashlib
import json
import os
import urllib.request
import uuid

import pytest

from test_daemon_docker import DOCKER

pytestmark = [pytest.mark.interop,
              pytest.mark.skipif(not os.path.exists(DOCKER), reason="docker CLI not installed")]



def test_distribution_descriptor_of_a_pushed_image(daemon, registry):
    ref = f"{registry.host}/lab/d{uuid.uuid4().hex[:8]}:v1"
    daemon.docker("tag", "busybox", ref)
    daemon.docker("push", ref, timeout=120)
    code, body = daemon.curl(f"http://localhost/v1.43/distribution/{ref}/json")
    assert code == 200, body
    doc = json.loads(body)
    # the registry's own bytes for that tag hash to the descriptor's digest
    repo, tag = ref.split("/", 1)[1].rsplit(":", 1)
    req = urllib.request.Request(
        f"http://{registry.host}/v2/{repo}/manifests/{tag}",
        headers={"Accept": doc["Descriptor"]["mediaType"]})
    with urllib.request.urlopen(req, timeout=10) as r:
        raw = r.read()
    assert doc["Descriptor"]["digest"] == "sha256:" + hashlib.sha256(raw).hexdigest()
    assert doc["Descriptor"]["size"] == len(raw)
    assert doc["Platforms"] and doc["Platforms"][0]["os"] == "linux"
    code, body = daemon.curl(f"http://localhost/v1.43/distribution/{registry.host}/lab/"
                             "nosuch:v1/json")
    assert code == 404 and "not found" in body
