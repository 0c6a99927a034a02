"""Shared fixtures.

System tests each get their own ``GLASSBOX_ROOT`` (a tmp dir) and their own
cgroup parent (``glassbox-test-<uuid>``), and on teardown a leak check fails
the test if anything is left: a mount under the root, a cgroup under the
parent, or a shim process that the test started.
"""

from __future__ import annotations

import os
import subprocess
import sys
import uuid

import pytest

from gbx_testlib import shim_pids  # noqa: F401  (re-exported: older tests import it from here)

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
VENV_BIN = os.path.dirname(sys.executable)
GLASSBOX = os.path.join(VENV_BIN, "glassbox")
CGROUP_ROOT = "/sys/fs/cgroup"


os.environ.setdefault("GLASSBOX_OFFLINE", "1")   # tests never pull from the internet


def is_root() -> bool:
    return os.geteuid() == 0


def pytest_collection_modifyitems(config, items):
    skip = pytest.mark.skip(reason="needs root (system/interop tests)")
    for item in items:
        if ("system" in item.keywords or "interop" in item.keywords) and not is_root():
            item.add_marker(skip)


@pytest.fixture(scope="session")
def busybox_tar(tmp_path_factory) -> str:
    """The base image's rootfs tarball, made once per session from busybox-static."""
    from glassbox.images.busybox import rootfs_tar
    path = tmp_path_factory.mktemp("base") / "busybox.tar"
    with open(path, "wb") as f:
        rootfs_tar(f)
    return str(path)


def describe_processes(pids) -> str:
    """What a leaked process is doing — its command line, state, kernel wait
    channel and stack — so a leak that happens once in a hundred runs can be
    explained from the CI log alone."""
    parts = []
    for pid in sorted(pids):
        def read(name: str) -> str:
            try:
                with open(f"/proc/{pid}/{name}", "rb") as f:
                    return f.read().decode(errors="replace")
            except OSError as e:
                return f"<{e.strerror}>"
        state = next((ln for ln in read("status").splitlines() if ln.startswith("State:")), "")
        stack = " | ".join(ln.split(" ", 1)[-1] for ln in read("stack").splitlines()[:6])
        parts.append(f"{pid} [{read('cmdline').replace(chr(0), ' ').strip()[:160]}] {state} "
                     f"wchan={read('wchan')} stack={stack}")
    return "; ".join(parts)


def mounts_under(root: str) -> list[str]:
    with open("/proc/self/mountinfo") as f:
        return [ln.split()[4] for ln in f if ln.split()[4].startswith(root)]


def cgroups_under(parent: str) -> list[str]:
    """Cgroup directories *inside* ``parent`` in any hierarchy (the parent itself
    may stay: Docker keeps /docker too)."""
    found = []
    for hier in os.listdir(CGROUP_ROOT):
        base = os.path.join(CGROUP_ROOT, hier, parent)
        if not os.path.isdir(base):
            base = os.path.join(CGROUP_ROOT, parent) if hier == parent else None
            if not base or not os.path.isdir(base):
                continue
        for entry in os.listdir(base):
            if os.path.isdir(os.path.join(base, entry)):
                found.append(os.path.join(base, entry))
    return found


def remove_parent_cgroups(parent: str) -> None:
    for hier in os.listdir(CGROUP_ROOT):
        for base in (os.path.join(CGROUP_ROOT, hier, parent),):
            for path in sorted((b for b, _, _ in os.walk(base)), key=len, reverse=True):
                try:
                    os.rmdir(path)
                except OSError:
                    pass
    try:
        os.rmdir(os.path.join(CGROUP_ROOT, parent))
    except OSError:
        pass


class Env:
    """A private glassbox world for one test: a state root, a cgroup parent,
    helpers to run the real CLI in it, and the Engine API on it."""

    def __init__(self, root: str, cgroup_parent: str):
        self.root = root
        self.cgroup_parent = cgroup_parent
        self.env = dict(os.environ, GLASSBOX_ROOT=root, GLASSBOX_CGROUP_PARENT=cgroup_parent,
                        GLASSBOX_OFFLINE="1")
        self._engine = None

    @property
    def engine(self):
        if self._engine is None:
            from glassbox.engine import Engine
            self._engine = Engine(self.root, cgroup_parent=self.cgroup_parent)
        return self._engine

    def cli(self, *args, input: bytes | None = None, timeout: float = 60,
            check: bool = False) -> subprocess.CompletedProcess:
        proc = subprocess.run([GLASSBOX, *args], env=self.env, input=input,
                              capture_output=True, timeout=timeout)
        if check and proc.returncode != 0:
            raise AssertionError(f"glassbox {' '.join(args)} failed ({proc.returncode}): "
                                 f"{proc.stderr.decode()}")
        return proc

    def out(self, *args, **kw) -> str:
        return self.cli(*args, check=True, **kw).stdout.decode()

    def popen(self, *args, **kw) -> subprocess.Popen:
        return subprocess.Popen([GLASSBOX, *args], env=self.env, **kw)


@pytest.fixture
def gbx(tmp_path, busybox_tar, request):
    """A glassbox state root with busybox:latest imported, leak-checked on teardown."""
    if not is_root():
        pytest.skip("needs root")
    root = str(tmp_path / "root")
    parent = f"glassbox-test-{uuid.uuid4().hex[:10]}"
    env = Env(root, parent)
    before = shim_pids(root)
    with open(busybox_tar, "rb") as f:
        env.engine.images.import_tarball(f, "busybox:latest", ['CMD ["sh"]'])
    yield env
    # ---- teardown: stop everything we started, then prove nothing leaked ----
    leaks = []
    try:
        for c in env.engine.containers.list():
            if c.running:
                leaks.append(f"container {c.name} still running")
            env.engine.containers.remove(c.id, force=True)
    except Exception as e:  # noqa: BLE001
        leaks.append(f"cleanup failed: {e}")
    import time
    # a removed container's shim still runs its finish (a short Python helper):
    # on a loaded machine that can take seconds, so the bound is generous — a real
    # leak never ends, so the wait cannot hide one
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and (shim_pids(root) - before or cgroups_under(parent)):
        time.sleep(0.05)
    left_shims = shim_pids(root) - before
    if left_shims:
        leaks.append(f"shim processes left: {describe_processes(left_shims)}")
    cg = cgroups_under(parent)
    if cg:
        leaks.append(f"cgroups left: {cg}")
    remove_parent_cgroups(parent)
    mounts = mounts_under(root)
    if mounts:
        leaks.append(f"mounts left: {mounts}")
    net = getattr(env, "check_network_leaks", None)
    if net:
        leaks += net()
    from glassbox.network.manager import remove_root_bridges
    remove_root_bridges(root)         # the root goes with the test: its bridges too
    if leaks and not getattr(request.node, "rep_call_failed", False):
        pytest.fail("leaked: " + "; ".join(leaks))


def _glassbox_bridges() -> set[str]:
    """glassbox's bridges on the host, but ``gbx0``: the default state root's own
    (the lab's, made by the tour test in the real lab, kept as Docker keeps docker0)."""
    return {n for n in os.listdir("/sys/class/net") if n.startswith("gbx") and n != "gbx0"}


BRIDGES_LEFT: list[tuple[str, list[str]]] = []
"""(test, bridges) for each test after which a glassbox bridge was left that was
not there before it — a leak the per-root teardown missed (a root outside the
``gbx`` fixture). Reported at the end of the run (see pytest_terminal_summary)."""


@pytest.fixture(autouse=True)
def _bridges_left(request):
    """Notes, for every test, the glassbox bridges it left behind (outermost
    fixture: looked at after the others' teardown)."""
    if not is_root():
        yield
        return
    before = _glassbox_bridges()
    yield
    left = _glassbox_bridges() - before
    if left:
        BRIDGES_LEFT.append((request.node.nodeid, sorted(left)))


def pytest_terminal_summary(terminalreporter):
    if BRIDGES_LEFT:
        terminalreporter.section("glassbox bridges left behind")
        for nodeid, names in BRIDGES_LEFT:
            terminalreporter.write_line(f"{nodeid}: {' '.join(names)}")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    rep = outcome.get_result()
    if rep.when == "call" and rep.failed:
        item.rep_call_failed = True


@pytest.fixture(params=["c", "python"])
def proxy_impl(request, monkeypatch):
    """Both port proxies: the compiled one (when built) and the Python fallback."""
    from glassbox.network import proxy as native_proxy
    from glassbox.network.ports import PROXY_ENV
    if request.param == "c":
        if not native_proxy.binary():
            pytest.skip("gbx-proxy is not built (python -m glassbox.network.proxy)")
        monkeypatch.delenv(PROXY_ENV, raising=False)
    else:
        monkeypatch.setenv(PROXY_ENV, "python")
    return request.param
