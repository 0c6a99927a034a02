"""``rshared`` bind propagation through the daemon, driven by the docker CLI and docker-py:
a mount the container makes under the bind appears on the host (``Binds`` with a mode
and ``Mounts`` with ``BindOptions.Propagation``), and a source on a private mount is
refused with Docker's words before anything is made.

The host side is the test's own: directories under its tmp dir, bound on themselves
(one made shared, one private); what propagated is unmounted, then the binds. The
``daemon`` fixture stops the daemon; ``gbx`` checks shims, cgroups and mounts.
"""

from __future__ import annotations

import contextlib
import os
import subprocess

import pytest

from test_daemon_docker import needs_docker

pytestmark = [pytest.mark.interop]

MAKE_SUB = "mount -t tmpfs -o size=1m none /dst/sub && touch /dst/sub/x"


def _mounts_under(path: str) -> list[tuple[str, str]]:
    """(mount point, fstype) of the host's mounts at or below ``path``."""
    out = []
    with open("/proc/self/mountinfo") as f:
        for line in f:
            fields = line.split()
            point = fields[4]
            if point == path or point.startswith(path + "/"):
                out.append((point, fields[fields.index("-") + 1]))
    return out


@contextlib.contextmanager
def _bound_on_itself(src: str, propagation: str):
    os.makedirs(os.path.join(src, "sub"))
    subprocess.run(["mount", "--bind", src, src], check=True)
    try:
        subprocess.run(["mount", f"--make-{propagation}", src], check=True)
        yield src
    finally:
        for point, _ in sorted(_mounts_under(src), key=lambda m: -len(m[0])):
            if point != src:                                  # what propagated, ours
                subprocess.run(["umount", "-l", point], capture_output=True)
        subprocess.run(["umount", src], check=True)
    assert _mounts_under(src) == []


@needs_docker
@pytest.mark.parametrize("how", ["-v", "--mount"])
def test_docker_run_rshared_mount_reaches_the_host(daemon, tmp_path, how):
    with _bound_on_itself(str(tmp_path / "src"), "shared") as src:
        flag = [how, f"{src}:/dst:rshared" if how == "-v" else
                f"type=bind,src={src},dst=/dst,bind-propagation=rshared"]
        daemon.out("run", "--rm", "--privileged", *flag, "busybox", "sh", "-c", MAKE_SUB)
        sub = os.path.join(src, "sub")
        assert [m for m in _mounts_under(src) if m[0] == sub] == [(sub, "tmpfs")]
        assert os.listdir(sub) == ["x"]


def test_a_private_source_is_refused_with_dockers_words(daemon, tmp_path):
    import docker
    with _bound_on_itself(str(tmp_path / "priv"), "private") as priv:
        client = docker.DockerClient(base_url=daemon.url)
        try:
            for mode, words in (("rshared", "not a shared mount"),
                                ("rslave", "not a shared or slave mount")):
                # HostConfig.Binds only (the high-level ``volumes=`` also sends the
                # whole spec as a Config.Volumes key)
                hc = client.api.create_host_config(binds=[f"{priv}:/d:{mode}"])
                with pytest.raises(docker.errors.APIError) as info:
                    client.api.create_container("busybox", "true", host_config=hc)
                assert info.value.explanation == \
                    f"path {priv} is mounted on {priv} but it is {words}"
                assert info.value.status_code == 400
            assert client.containers.list(all=True) == []
        finally:
            client.close()
        cdir = os.path.join(daemon.gbx.root, "containers")
        assert not os.path.isdir(cdir) or \
            [e for e in os.listdir(cdir) if not e.startswith(".")] == []
        assert [m[0] for m in _mounts_under(priv)] == [priv]


@needs_docker
def test_docker_run_on_a_private_source_exits_125_with_dockers_words(daemon, tmp_path):
    with _bound_on_itself(str(tmp_path / "priv"), "private") as priv:
        p = daemon.docker("run", "--rm", "--mount",
                          f"type=bind,src={priv}/sub,dst=/d,bind-propagation=rshared",
                          "busybox", "true", check=False)
        assert p.returncode == 125, p.stderr
        words = f"Error response from daemon: path {priv}/sub is mounted on {priv} but it " \
                "is not a shared mount"
        assert words in p.stderr.decode(), p.stderr
        assert daemon.out("ps", "-aq") == ""
        assert [m[0] for m in _mounts_under(priv)] == [priv]
