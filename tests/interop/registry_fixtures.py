"""Real registries for the interop tests: Debian's ``docker-registry`` (distribution 2.8).

``registry``       — an open instance on 127.0.0.1:<free port>, filesystem storage in tmp
``auth_registry``  — a second instance protected by htpasswd (user ``alice``, basic auth);
                     the bcrypt hash is made with the C library's crypt(3) (``$2b$``), so
                     apache2-utils' ``htpasswd`` is not needed
``gbx_config``     — a private ``GLASSBOX_CONFIG`` dir (credentials never touch ~/.docker)

Each fixture stops its registry (the process it started, by pid) and the tmp dirs go
with ``tmp_path``. ``RegistryProcess.count(method, pattern)`` counts requests in the
registry's access log — how the tests prove a shared layer was not fetched twice.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import time
import urllib.request
import warnings

import pytest

from glassbox.jupyter.localregistry import CONFIG as LOCAL_REGISTRY_CONFIG

REGISTRY_BIN = shutil.which("docker-registry") or "/usr/bin/docker-registry"

CONFIG = LOCAL_REGISTRY_CONFIG + "{auth}"
"""The notebooks' registry config (glassbox.jupyter.localregistry), plus an auth section."""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def bcrypt_hash(password: str) -> str:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        import crypt
        return crypt.crypt(password, crypt.mksalt(crypt.METHOD_BLOWFISH, rounds=16))


class RegistryProcess:
    """One ``docker-registry serve`` we started; ``stop()`` ends exactly that process."""

    def __init__(self, workdir, *, users: dict | None = None):
        self.workdir = str(workdir)
        os.makedirs(self.workdir, exist_ok=True)
        self.storage = os.path.join(self.workdir, "storage")
        self.port = free_port()
        auth = ""
        if users:
            htpasswd = os.path.join(self.workdir, "htpasswd")
            with open(htpasswd, "w") as f:
                for u, p in users.items():
                    f.write(f"{u}:{bcrypt_hash(p)}\n")
            auth = f"auth:\n  htpasswd:\n    realm: glassbox-test\n    path: {htpasswd}\n"
        self.config = os.path.join(self.workdir, "config.yml")
        with open(self.config, "w") as f:
            f.write(CONFIG.format(storage=self.storage, address=f"127.0.0.1:{self.port}",
                                  secret="glassbox-test-secret", auth=auth))
        self.log_path = os.path.join(self.workdir, "registry.log")
        self.proc = None

    @property
    def host(self) -> str:
        return f"127.0.0.1:{self.port}"

    def start(self) -> "RegistryProcess":
        self._log = open(self.log_path, "ab")
        self.proc = subprocess.Popen([REGISTRY_BIN, "serve", self.config], stdout=self._log,
                                     stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"docker-registry exited: {self.log()[-2000:]}")
            try:
                urllib.request.urlopen(f"http://{self.host}/v2/", timeout=1).close()
                return self
            except urllib.error.HTTPError:   # 401 from the auth instance: it is up
                return self
            except OSError:
                time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"docker-registry did not come up on {self.host}: {self.log()[-2000:]}")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        self.proc = None
        if getattr(self, "_log", None):
            self._log.close()
            self._log = None

    def log(self) -> str:
        try:
            with open(self.log_path, errors="replace") as f:
                return f.read()
        except FileNotFoundError:
            return ""

    def count(self, method: str, pattern: str) -> int:
        """Requests in the access log: ``"GET /v2/... HTTP/1.1"`` lines matching ``pattern``."""
        rx = re.compile(rf'"{method} (\S*{pattern}\S*) HTTP/1\.[01]"')
        return sum(1 for line in self.log().splitlines() if rx.search(line))


def _need_registry():
    if not os.path.exists(REGISTRY_BIN):
        pytest.skip("docker-registry (Debian package docker-registry) is not installed")


@pytest.fixture
def registry(tmp_path):
    """An open docker-registry on loopback, stopped on teardown."""
    _need_registry()
    reg = RegistryProcess(tmp_path / "registry").start()
    yield reg
    reg.stop()
    assert reg.proc is None


@pytest.fixture
def auth_registry(tmp_path):
    """A docker-registry that wants Basic auth (htpasswd: alice / s3cret-pw)."""
    _need_registry()
    reg = RegistryProcess(tmp_path / "auth-registry", users={"alice": "s3cret-pw"}).start()
    reg.users = {"alice": "s3cret-pw"}
    yield reg
    reg.stop()


@pytest.fixture
def gbx_config(tmp_path, monkeypatch):
    """A private credentials dir: ``GLASSBOX_CONFIG`` for the Engine and the CLI."""
    d = tmp_path / "gbx-config"
    d.mkdir()
    monkeypatch.setenv("GLASSBOX_CONFIG", str(d))
    return str(d)
