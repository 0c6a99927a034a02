"""Reality check in a real browser: JupyterLab + chromium run the tour notebook.

The test starts JupyterLab headless on 127.0.0.1 (a free port, a random token) in a
private world: the ``gbx`` fixture's state root and cgroup parent, and Jupyter and
IPython config/data/runtime dirs under tmp, with the kernel loading the glassbox
extension as ``make lab`` sets it up. The notebook folder is a tmp copy of
notebooks/00-tour.ipynb, so the lab's autosave never touches the repository.

``run_tour.mjs`` then drives Debian's chromium with playwright-core: it opens the
notebook, clicks Run → Run All Cells, waits until every cell ran, checks that the build
log (with CACHED), the charts and the layer diagrams are on the page, and saves
screenshots to tests/browser/artifacts/. Afterwards JupyterLab is shut down through
its API (which stops the kernel), and the test checks that no process it started —
server, kernel, chromium — is left, and (the ``gbx`` fixture) no container, cgroup or
mount either.

Chromium talks only to 127.0.0.1: background networking, component updates, sync and
QUIC are off, and the lab's news and update checks are disabled.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
import uuid

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
TOUR = os.path.join(REPO, "notebooks", "00-tour.ipynb")
CHROMIUM = "/usr/bin/chromium"
NODE = shutil.which("node")
PLAYWRIGHT = os.path.join(HERE, "node_modules", "playwright-core", "package.json")
ARTIFACTS = os.path.join(HERE, "artifacts")
VENV_BIN = os.path.dirname(sys.executable)

pytestmark = [pytest.mark.browser, pytest.mark.system]

_missing = [what for what, ok in (
    (f"{CHROMIUM} (scripts/setup-browser.sh installs Debian's chromium)", os.path.exists(CHROMIUM)),
    ("node (Debian's nodejs)", NODE is not None),
    ("playwright-core in tests/browser/node_modules (scripts/setup-browser.sh)",
     os.path.exists(PLAYWRIGHT)),
    ("jupyter lab in the venv", os.path.exists(os.path.join(VENV_BIN, "jupyter-lab"))),
) if not ok]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _descendants(pid: int) -> set[int]:
    """Every live process below ``pid`` (from /proc/*/stat parent links)."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                stat = f.read()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(ppid, []).append(int(entry))
    out, todo = set(), [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            if child not in out:
                out.add(child)
                todo.append(child)
    return out


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def _pids_mentioning(marker: str) -> set[int]:
    """Processes whose command line holds ``marker`` (a path unique to this test)."""
    found = set()
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/cmdline", "rb") as f:
                    if marker.encode() in f.read():
                        found.add(int(entry))
            except OSError:
                pass
    return found


def _lab_world(tmp) -> dict[str, str]:
    """Jupyter/IPython dirs under ``tmp``: config with no outside traffic, the extension
    loaded in kernels, the panel's built front end. Returns env vars."""
    dirs = {k: os.path.join(tmp, k.lower()) for k in (
        "JUPYTER_CONFIG_DIR", "JUPYTER_DATA_DIR", "JUPYTER_RUNTIME_DIR", "IPYTHONDIR",
        "JUPYTERLAB_SETTINGS_DIR", "JUPYTERLAB_WORKSPACES_DIR")}
    for d in dirs.values():
        os.makedirs(d, exist_ok=True)
    for name in ("jupyter_server_config.py", "jupyter_lab_config.py"):
        with open(os.path.join(dirs["JUPYTER_CONFIG_DIR"], name), "w") as f:
            f.write("c.LabApp.expose_app_in_browser = True   # window.jupyterapp for the driver\n"
                    "c.LabApp.news_url = None\n"
                    "c.LabApp.check_for_updates_class = 'jupyterlab.NeverCheckForUpdate'\n")
    # what `make lab` writes to .venv/etc/ipython: kernels load %load_ext glassbox
    profile = os.path.join(dirs["IPYTHONDIR"], "profile_default")
    os.makedirs(profile)
    with open(os.path.join(profile, "ipython_config.py"), "w") as f:
        f.write("c.InteractiveShellApp.extensions = ['glassbox']\n")
    # no "get news?" toast, no update check, in the user-settings layer
    notif = os.path.join(dirs["JUPYTERLAB_SETTINGS_DIR"], "@jupyterlab", "apputils-extension")
    os.makedirs(notif)
    with open(os.path.join(notif, "notification.jupyterlab-settings"), "w") as f:
        json.dump({"fetchNews": "false", "checkForUpdates": False}, f)
    # the panel's front end as built now (labext/ → engine/glassbox/lab/labextension), linked
    # as `jupyter labextension develop` would, in tmp only; the tmp data dir must come before
    # the venv's (which holds the copy `pip install` made, possibly of an older build)
    built = os.path.join(REPO, "engine", "glassbox", "lab", "labextension")
    if os.path.exists(os.path.join(built, "package.json")):
        os.makedirs(os.path.join(dirs["JUPYTER_DATA_DIR"], "labextensions"))
        os.symlink(built, os.path.join(dirs["JUPYTER_DATA_DIR"], "labextensions", "glassbox-lab"))
    return dict(dirs, JUPYTER_PREFER_ENV_PATH="0")


def _get(url: str, timeout: float = 2.0):
    with urllib.request.urlopen(url, timeout=timeout) as r:
        return json.loads(r.read() or b"null")


@pytest.mark.skipif(bool(_missing), reason="browser check needs: " + "; ".join(_missing))
def test_tour_runs_in_jupyterlab_in_chromium(gbx, tmp_path):
    tmp = str(tmp_path)
    nbdir = os.path.join(tmp, "notebooks")
    os.makedirs(nbdir)
    shutil.copy(TOUR, nbdir)
    env = dict(gbx.env, **_lab_world(tmp))
    env["PATH"] = VENV_BIN + os.pathsep + env.get("PATH", "")
    env.pop("MPLBACKEND", None)          # the kernel's inline backend
    port, token = _free_port(), uuid.uuid4().hex
    base = f"http://127.0.0.1:{port}"
    log = open(os.path.join(tmp, "lab.log"), "wb")
    lab = subprocess.Popen(
        [os.path.join(VENV_BIN, "jupyter-lab"), "--ip=127.0.0.1", f"--port={port}",
         "--no-browser", "--allow-root", f"--notebook-dir={nbdir}",
         f"--IdentityProvider.token={token}", "--ServerApp.port_retries=0",
         "--LabApp.expose_app_in_browser=True"],
        env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    profile = os.path.join(tmp, f"chromium-profile-{uuid.uuid4().hex[:8]}")
    lab_procs: set[int] = set()
    node = None
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                _get(f"{base}/api/status?token={token}")
                break
            except OSError:
                if lab.poll() is not None or time.monotonic() > deadline:
                    pytest.fail("JupyterLab did not start:\n" + _tail(tmp))
                time.sleep(0.3)
        # the first /lab page load runs the lab's build check, which holds the server for
        # seconds; done here, it cannot make the page's theme stylesheet time out
        urllib.request.urlopen(f"{base}/lab?token={token}", timeout=120).close()

        os.makedirs(ARTIFACTS, exist_ok=True)
        for old in os.listdir(ARTIFACTS):          # no stale screenshot can pass for a new one
            if old.endswith(".png"):
                os.unlink(os.path.join(ARTIFACTS, old))
        node = subprocess.Popen(
            [NODE, os.path.join(HERE, "run_tour.mjs"),
             "--url", f"{base}/lab/tree/00-tour.ipynb?token={token}",
             "--profile", profile, "--out", ARTIFACTS, "--timeout", "240"],
            env=dict(os.environ, PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD="1"), cwd=HERE,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True)
        try:
            out, err = node.communicate(timeout=420)
        except subprocess.TimeoutExpired:
            os.killpg(node.pid, signal.SIGKILL)       # the driver and the chromium it started
            out, err = node.communicate()
            pytest.fail("the browser driver timed out\n" + err.decode()[-2000:])
        lab_procs = _descendants(lab.pid)             # the kernel(s), before shutdown
        lines = [ln for ln in out.decode().splitlines() if ln.startswith("{")]
        report = json.loads(lines[-1]) if lines else {}
        assert node.returncode == 0 and not report.get("errors"), (
            f"browser checks failed (exit {node.returncode}):\n"
            + json.dumps(report, indent=1) + "\n" + err.decode()[-3000:] + "\n" + _tail(tmp))
        assert report["checks"], "the driver reported no checks"
        shot = os.path.join(ARTIFACTS, "tour.png")
        assert os.path.getsize(shot) > 20_000, "the screenshot is (nearly) empty"
    finally:
        # chromium: its profile path is unique to this test, so this finds only ours
        for pid in _pids_mentioning(profile):
            os.kill(pid, signal.SIGKILL)
        lab_procs |= _descendants(lab.pid)
        _shutdown(lab, base, token)
        log.close()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and any(_alive(p) for p in lab_procs):
        time.sleep(0.1)
    left = sorted(p for p in lab_procs if _alive(p))
    for pid in left:
        os.kill(pid, signal.SIGKILL)
    assert not left, f"processes left after JupyterLab shut down: {left}"
    assert not _pids_mentioning(profile), "chromium processes left"


def _shutdown(lab: subprocess.Popen, base: str, token: str) -> None:
    """Stop the kernels and the server through the API; SIGTERM, then SIGKILL by pid."""
    try:
        for k in _get(f"{base}/api/kernels?token={token}") or []:
            req = urllib.request.Request(f"{base}/api/kernels/{k['id']}?token={token}",
                                         method="DELETE")
            urllib.request.urlopen(req, timeout=10).close()
        req = urllib.request.Request(f"{base}/api/shutdown?token={token}", method="POST")
        urllib.request.urlopen(req, timeout=10).close()
    except OSError:
        pass
    try:
        lab.wait(15)
    except subprocess.TimeoutExpired:
        lab.terminate()
        try:
            lab.wait(10)
        except subprocess.TimeoutExpired:
            lab.kill()
            lab.wait()


def _tail(tmp: str, n: int = 3000) -> str:
    try:
        with open(os.path.join(tmp, "lab.log"), "rb") as f:
            return "--- lab.log ---\n" + f.read().decode(errors="replace")[-n:]
    except OSError:
        return ""
