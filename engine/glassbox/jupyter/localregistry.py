"""A registry of your own, on this machine: ``gj.local_registry()``.

``push`` and ``pull`` need a registry to talk to. The course never uses the internet: it
starts Debian's ``docker-registry`` (Docker's own distribution registry, the server behind
Docker Hub's API) on the loopback interface, on a port nobody uses, with its storage and
its log in a temporary folder::

    import glassbox.jupyter as gj
    registry = gj.local_registry("nb07")   # started, and answering on /v2/
    REG = registry.address                 # "127.0.0.1:40321": image names start with it
    eng.registry.push(f"{REG}/hello:1")    # (after tagging an image so)
    !curl -s http://{REG}/v2/_catalog
    open(registry.log).read()              # its log: one access-log line per request
    registry.stop()                        # the process ends, its folder is deleted

**One per name per kernel.** Running the cell again gives back the registry that is
already running under that name (a notebook passes its prefix, ``P``), with its images,
instead of a second one on another port. A registry whose process has ended is started
afresh.

**Nothing left behind.** ``stop()`` ends the process (SIGTERM, SIGKILL if it lingers) and
deletes its folder; the kernel's exit (shutting the notebook down, restarting the kernel)
stops whatever is still running (``atexit``). Only a kernel killed outright (SIGKILL)
cannot: its registry then runs on until stopped by hand (its pid is in ``print(registry)``).

How it is made, the same steps a person would take: pick a free port (bind port 0,
read what the kernel gave, let it go), write a ``config.yml`` (filesystem storage, the
access log on, deletes allowed), run ``docker-registry serve config.yml`` with its output
in ``registry.log``, and ask ``GET /v2/`` until it answers — the API's "are you a
registry?" call. Used by notebooks 07 (push and pull, counting requests in the log) and
14 (the final project ships its image through one).
"""

from __future__ import annotations

import atexit
import os
import secrets
import shutil
import socket
import subprocess
import tempfile
import threading
import time
import urllib.error
import urllib.request

from ..errors import InvalidArgument, NotFound, RegistryError
from .messages import t

REGISTRY_BIN = "docker-registry"
"""Debian's package ``docker-registry`` (distribution 2.8): ``/usr/bin/docker-registry``."""

CONFIG = """\
version: 0.1
log:
  level: info
  formatter: text
  accesslog:
    disabled: false
storage:
  filesystem:
    rootdirectory: {storage}
  delete:
    enabled: true
  maintenance:
    uploadpurging:
      enabled: false
http:
  addr: {address}
  secret: {secret}
"""
"""The registry's ``config.yml``: what each line asks for is named by its key. The interop
tests' registries (tests/interop/registry_fixtures.py) use it too, with an auth section."""

START_TIMEOUT = 15.0
"""Seconds ``docker-registry`` gets to answer ``/v2/`` before it counts as failed."""

_running: dict[str, LocalRegistry] = {}
_lock = threading.Lock()


class LocalRegistry:
    """One ``docker-registry serve`` this kernel started: where it listens, its folder, its
    process. Printed, it says so in the notebook's language."""

    def __init__(self, name: str, state_dir: str, address: str, process: subprocess.Popen):
        self.name = name
        self.state_dir = state_dir
        self.address = address
        self.process = process

    @property
    def pid(self) -> int:
        return self.process.pid

    @property
    def log(self) -> str:
        """The registry's log file: its messages and one access-log line per request."""
        return os.path.join(self.state_dir, "registry.log")

    @property
    def storage(self) -> str:
        """Where its blobs and manifests are kept (``docker/registry/v2/...`` inside)."""
        return os.path.join(self.state_dir, "storage")

    @property
    def running(self) -> bool:
        return self.process.poll() is None

    def url(self, path: str = "/v2/") -> str:
        """``http://<address><path>``: the registry's HTTP API."""
        return f"http://{self.address}{path}"

    def stop(self) -> int | None:
        """End the process (SIGTERM, then SIGKILL after 10 s) and delete its folder.
        Returns the process's exit status (negative: the signal that ended it). Stopping
        a stopped registry does nothing more."""
        with _lock:
            if _running.get(self.name) is self:
                del _running[self.name]
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        shutil.rmtree(self.state_dir, ignore_errors=True)
        return self.process.returncode

    def __str__(self) -> str:
        if self.running:
            return t("registry.running", name=self.name, address=self.address, pid=self.pid,
                     storage=self.storage)
        return t("registry.stopped", name=self.name, address=self.address,
                 code=self.process.returncode)

    __repr__ = __str__


def local_registry(name: str = "glassbox", *, parent_dir: str | None = None) -> LocalRegistry:
    """This kernel's registry called ``name``: the one already running, else a new one.

    ``name`` says whose it is (a notebook passes its prefix: ``gj.local_registry(P)``); it
    also begins the folder's name. ``parent_dir`` is where that folder is made (default:
    the system's temporary folder). Raises :class:`~glassbox.errors.NotFound` when
    ``docker-registry`` is not installed, :class:`~glassbox.errors.RegistryError` (with
    the end of its log) when it does not come up."""
    if not name or not all(ch.isalnum() or ch in "-_." for ch in name):
        raise InvalidArgument(f"invalid registry name {name!r}: use letters, digits, "
                              "'-', '_' or '.' (a notebook passes its prefix, P)")
    with _lock:
        old = _running.get(name)
        if old is not None and old.running:
            return old
    if old is not None:
        old.stop()                       # its process died: clean its folder, start anew
    binary = shutil.which(REGISTRY_BIN) or shutil.which(REGISTRY_BIN, path="/usr/bin")
    if binary is None:
        raise NotFound(f"{REGISTRY_BIN} is not installed: install Debian's package "
                       f"({REGISTRY_BIN}: apt-get install {REGISTRY_BIN}) and run the cell again")
    if parent_dir is not None and not os.path.isdir(parent_dir):
        raise NotFound(f"parent_dir {parent_dir!r} is not a directory: make it first, or "
                       "leave it out for the system's temporary folder")
    state_dir = tempfile.mkdtemp(prefix=f"{name}-registry-", dir=parent_dir)
    try:
        reg = _start(name, binary, state_dir)
    except BaseException:
        shutil.rmtree(state_dir, ignore_errors=True)
        raise
    with _lock:
        _running[name] = reg
    return reg


def _start(name: str, binary: str, state_dir: str, attempts: int = 3) -> LocalRegistry:
    """Start it on a free port; a port taken between the pick and the bind is picked again."""
    for attempt in range(attempts):
        address = f"127.0.0.1:{_free_port()}"
        with open(os.path.join(state_dir, "config.yml"), "w") as f:
            f.write(CONFIG.format(storage=os.path.join(state_dir, "storage"), address=address,
                                  secret=secrets.token_hex(16)))
        with open(os.path.join(state_dir, "registry.log"), "ab") as log:
            process = subprocess.Popen([binary, "serve", os.path.join(state_dir, "config.yml")],
                                       stdin=subprocess.DEVNULL, stdout=log,
                                       stderr=subprocess.STDOUT, start_new_session=True)
        reg = LocalRegistry(name, state_dir, address, process)
        if _answers(reg):
            return reg
        tail = _tail(reg.log)
        if reg.process.poll() is None:
            reg.process.kill()
        reg.process.wait()
        if "address already in use" not in tail or attempt == attempts - 1:
            raise RegistryError(f"{REGISTRY_BIN} did not come up on {address} (exit status "
                                f"{reg.process.returncode}); the end of its log:\n{tail}")
    raise AssertionError("unreachable")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _answers(reg: LocalRegistry) -> bool:
    """Ask ``GET /v2/`` until the registry answers (True) or its process ends or the time
    is up (False)."""
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline and reg.running:
        try:
            urllib.request.urlopen(reg.url(), timeout=1).close()
            return True
        except urllib.error.HTTPError:
            return True                  # it answered, with an error: it is up
        except OSError:
            time.sleep(0.05)
    return False


def _tail(path: str, size: int = 2000) -> str:
    try:
        with open(path, "rb") as f:
            f.seek(max(0, os.path.getsize(path) - size))
            return f.read().decode(errors="replace")
    except OSError:
        return ""


@atexit.register
def _stop_all() -> None:
    """The kernel is exiting: stop every registry it started."""
    for reg in list(_running.values()):
        reg.stop()


__all__ = ["LocalRegistry", "local_registry"]
