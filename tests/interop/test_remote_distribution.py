"""``Engine.distribution`` and ``RemoteEngine.distribution`` agree against a real registry
(Debian's docker-registry): the same verb on this machine and over the daemon's socket
(``GET /distribution/{name}/json``) gives the same descriptor, and nothing is stored."""

from __future__ import annotations

import os
import uuid

import pytest

from test_daemon_docker import DOCKER

pytestmark = [pytest.mark.interop,
              pytest.mark.skipif(not os.path.exists(DOCKER), reason="docker CLI not installed")]


def test_the_verb_gives_one_answer_locally_and_over_the_socket(daemon, registry, gbx):
    from glassbox.daemon.client import RemoteEngine
    from glassbox.errors import NotFound
    ref = f"{registry.host}/lab/r{uuid.uuid4().hex[:8]}:v1"
    daemon.docker("tag", "busybox", ref)
    daemon.docker("push", ref, timeout=120)
    daemon.docker("rmi", ref)
    remote = RemoteEngine("unix://" + daemon.path)
    local = gbx.engine                   # the very state root the daemon serves
    try:
        over = remote.distribution(ref)
        here = local.distribution(ref)
        assert over == here
        assert over["Descriptor"]["digest"].startswith("sha256:")
        assert over["Descriptor"]["size"] > 0
        assert over["Platforms"] and over["Platforms"][0]["os"] == "linux"
        assert not local.images.exists(ref), "distribution must not store the image"
        with pytest.raises(NotFound):
            remote.distribution(f"{registry.host}/lab/nosuch:v1")
    finally:
        local.registry.close()
