"""``gj.local_registry()`` (glassbox.jupyter.localregistry) with the real Debian
``docker-registry``: it answers the distribution API on 127.0.0.1, a second call with the
same name gives back the running one, ``stop()`` and the kernel's exit leave
no process and no folder, and bad input is refused naming what was wrong, with nothing
left behind. Every registry lives under the test's tmp_path; each test stops what it
started."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import urllib.request
import uuid

import pytest
from gbx_testlib import wait_for

from glassbox.errors import InvalidArgument, NotFound, RegistryError
from glassbox.jupyter import localregistry, messages
from glassbox.jupyter.localregistry import local_registry
from glassbox.processes import alive

pytestmark = [pytest.mark.system,
              pytest.mark.skipif(not os.path.exists("/usr/bin/docker-registry"),
                                 reason="docker-registry (Debian package) is not installed")]


def _name() -> str:
    return f"t{uuid.uuid4().hex[:8]}"


def test_it_answers_on_loopback_is_reused_by_name_and_stop_leaves_nothing(tmp_path, monkeypatch):
    monkeypatch.setattr(messages, "_current", None)      # restored after the test
    messages.language("en")
    name = _name()
    reg = local_registry(name, parent_dir=str(tmp_path))
    try:
        host, port = reg.address.split(":")
        assert host == "127.0.0.1" and 0 < int(port) < 65536
        catalog = json.load(urllib.request.urlopen(reg.url("/v2/_catalog"), timeout=5))
        assert catalog == {"repositories": []}
        with open(reg.log) as f:            # the access log is on: our request is in it
            assert '"GET /v2/_catalog HTTP/1.1" 200' in f.read()
        assert os.path.dirname(reg.state_dir) == str(tmp_path)
        assert os.path.basename(reg.state_dir).startswith(f"{name}-registry-")
        assert str(reg) == (f"registry {name}: listening on {reg.address} (pid {reg.pid}), "
                            f"storage in {reg.storage}")
        messages.language("pt-BR")
        assert f"escutando em {reg.address}" in str(reg) and "listening" not in str(reg)
        messages.language("en")
        assert local_registry(name, parent_dir=str(tmp_path)) is reg     # the cell run again
        other = local_registry(name + "b", parent_dir=str(tmp_path))
        try:
            assert other.address != reg.address and other.pid != reg.pid
        finally:
            other.stop()
        pid, folder = reg.pid, reg.state_dir
    finally:
        code = reg.stop()
    assert code is not None and not alive(pid) and not os.path.exists(folder)
    assert name not in localregistry._running
    assert str(reg).startswith(f"registry {name}: stopped (exit status {code})")
    assert reg.stop() == code                                        # twice: nothing more
    again = local_registry(name, parent_dir=str(tmp_path))
    try:
        assert again is not reg and again.pid != pid and again.running
    finally:
        again.stop()
    assert os.listdir(tmp_path) == []


def test_a_registry_whose_process_died_is_started_afresh(tmp_path):
    name = _name()
    reg = local_registry(name, parent_dir=str(tmp_path))
    os.kill(reg.pid, signal.SIGKILL)                 # our own child
    reg.process.wait()
    fresh = local_registry(name, parent_dir=str(tmp_path))
    try:
        assert fresh is not reg and fresh.running
        urllib.request.urlopen(fresh.url(), timeout=5).close()
        assert not os.path.exists(reg.state_dir)     # the dead one's folder went
        assert os.listdir(tmp_path) == [os.path.basename(fresh.state_dir)]
    finally:
        fresh.stop()
    assert os.listdir(tmp_path) == []


KERNEL = """
import sys, glassbox.jupyter as gj
reg = gj.local_registry(sys.argv[1], parent_dir=sys.argv[2])
print(reg.pid, reg.state_dir, flush=True)
"""


def test_the_kernels_exit_stops_its_registry_and_deletes_its_folder(tmp_path):
    """A kernel that exits (shut down, restarted) runs its atexit hooks: the registry it
    left running is stopped there."""
    p = subprocess.run([sys.executable, "-c", KERNEL, _name(), str(tmp_path)],
                       capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, p.stderr
    pid_s, folder = p.stdout.split()
    if not wait_for(lambda: not alive(int(pid_s))):
        os.kill(int(pid_s), signal.SIGKILL)          # the one this test's kernel started
        pytest.fail(f"docker-registry {pid_s} outlived its kernel")
    assert not os.path.exists(folder) and os.listdir(tmp_path) == []


def test_bad_input_is_refused_naming_it_and_leaves_nothing(tmp_path, monkeypatch):
    with pytest.raises(InvalidArgument, match="invalid registry name 'a/b'"):
        local_registry("a/b", parent_dir=str(tmp_path))
    with pytest.raises(InvalidArgument, match="invalid registry name ''"):
        local_registry("", parent_dir=str(tmp_path))
    missing = str(tmp_path / "nosuch")
    with pytest.raises(NotFound, match="parent_dir .*nosuch.* is not a directory"):
        local_registry(_name(), parent_dir=missing)
    monkeypatch.setattr(localregistry, "REGISTRY_BIN", f"no-such-registry-{uuid.uuid4().hex[:6]}")
    with pytest.raises(NotFound, match="no-such-registry-.* is not installed: install Debian's"):
        local_registry(_name(), parent_dir=str(tmp_path))
    assert os.listdir(tmp_path) == []


def test_a_registry_that_does_not_come_up_says_why_and_leaves_nothing(tmp_path, monkeypatch):
    monkeypatch.setattr(localregistry, "CONFIG", "version: [this is not a config\n{storage}"
                                                 "{address}{secret}\n")
    name = _name()
    with pytest.raises(RegistryError, match=r"docker-registry did not come up on 127\.0\.0\.1:\d+ "
                                            r"\(exit status \d+\); the end of its log:\n.+"):
        local_registry(name, parent_dir=str(tmp_path))
    assert os.listdir(tmp_path) == [] and name not in localregistry._running
