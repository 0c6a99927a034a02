"""The docker CLI asking for what glassbox does not do gets a refusal naming the
field, and nothing is created (the unit test walks every field)."""

from __future__ import annotations

import pytest

from test_daemon_docker import needs_docker

pytestmark = [pytest.mark.interop, needs_docker]


@pytest.mark.parametrize("flag,field", [
    (["--cpu-quota", "5000"], "HostConfig.CpuQuota"),
    (["--ulimit", "nofile=10:10"], "HostConfig.Ulimits"),
    (["--group-add", "audio"], "HostConfig.GroupAdd"),
    (["--sysctl", "net.ipv4.ip_forward=1"], "HostConfig.Sysctls")])
def test_unimplemented_flags_are_refused_by_name(daemon, flag, field):
    p = daemon.docker("run", "--rm", *flag, "busybox", "true", check=False)
    assert p.returncode != 0 and field.encode() in p.stderr, p.stderr
    assert daemon.docker("ps", "-aq").stdout.strip() == b""


def test_an_anonymous_volume_from_the_cli_is_made(daemon):
    p = daemon.docker("run", "--rm", "-v", "/data", "busybox", "sh", "-c",
                      "grep -c ' /data ' /proc/mounts")
    assert p.stdout.strip() == b"1", p.stdout + p.stderr
