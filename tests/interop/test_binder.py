"""binder/ replayed as repo2docker would run it, by an unprivileged user.

repo2docker itself needs a Docker daemon and the outside network, so the test
replays its steps with the same files in the same order: ``apt.txt`` as root,
a fresh virtual environment, ``pip install -r binder/requirements.txt`` from the
repository's root, ``postBuild`` as the user, then ``start`` wrapping a run of
the quickstart notebook through nbclient. The user is made for the test (a
fresh home, no root, ``no_new_privs``) and removed afterwards with everything
it started.

Python: runtime.txt asks for 3.12; Debian 12 has 3.11, which the test uses.
"""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import tempfile
import uuid

import pytest

pytestmark = pytest.mark.interop

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PIP_CACHE = "/var/cache/glassbox-tests/pip"    # kept between runs: only downloads are cached
NETWORK_ENV = {"http_proxy", "https_proxy", "no_proxy", "HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY",
               "NODE_EXTRA_CA_CERTS", "SSL_CERT_FILE", "SSL_CERT_DIR", "REQUESTS_CA_BUNDLE",
               "PIP_CERT", "CURL_CA_BUNDLE", "PIP_INDEX_URL", "PIP_EXTRA_INDEX_URL"}
RUN_QUICKSTART = """
import sys, nbformat
from nbclient import NotebookClient
nb = nbformat.read("notebooks/en/00-quickstart.ipynb", as_version=4)
NotebookClient(nb, timeout=300, kernel_name="python3").execute()
errors = [o for c in nb.cells for o in c.get("outputs", []) if o.get("output_type") == "error"]
for c in nb.cells:
    for o in c.get("outputs", []):
        print("OUT", o.get("text") or o.get("data", {}).get("text/plain", ""))
print("QUICKSTART-CELLS", len(nb.cells), "ERRORS", len(errors))
sys.exit(1 if errors else 0)
"""


@pytest.fixture
def student():
    """A fresh unprivileged account with its home in a scratch dir; removed after,
    with every process it still has."""
    if os.geteuid() != 0:
        pytest.skip("needs root to make a user")
    if shutil.which("useradd") is None:
        pytest.skip("useradd missing")
    name = "gbxb" + uuid.uuid4().hex[:8]
    base = tempfile.mkdtemp(prefix="glassbox-binder-", dir="/tmp")
    os.chmod(base, 0o755)
    home = os.path.join(base, "home")
    subprocess.run(["useradd", "-m", "-d", home, "-s", "/bin/bash", name], check=True)
    pw = pwd.getpwnam(name)
    try:
        yield pw
    finally:
        subprocess.run(["pkill", "-KILL", "-U", str(pw.pw_uid)], check=False)
        subprocess.run(["userdel", "-r", "-f", name], check=False,
                       stderr=subprocess.DEVNULL)
        shutil.rmtree(base, ignore_errors=True)


def _as(pw, cmd: str, cwd: str, timeout: float = 900) -> subprocess.CompletedProcess:
    env = {"HOME": pw.pw_dir, "USER": pw.pw_name, "PATH": f"{pw.pw_dir}/env/bin:"
           "/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin", "LANG": "C.UTF-8",
           "PIP_CACHE_DIR": PIP_CACHE, "GLASSBOX_AGENT": "0", "PIP_DISABLE_PIP_VERSION_CHECK": "1",
           # the machine's network settings (proxies, its CA bundle), as a build host has them
           **{k: v for k, v in os.environ.items() if k in NETWORK_ENV}}
    return subprocess.run(["setpriv", f"--reuid={pw.pw_uid}", f"--regid={pw.pw_gid}",
                           "--init-groups", "--no-new-privs", "bash", "-c", cmd],
                          cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)


def _copy_repo(dest: str, pw) -> None:
    files = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
                           cwd=REPO, capture_output=True, check=True).stdout.split(b"\0")
    for rel in filter(None, (f.decode() for f in files)):
        src = os.path.join(REPO, rel)
        if not os.path.isfile(src) or "node_modules" in rel.split("/"):
            continue
        os.makedirs(os.path.join(dest, os.path.dirname(rel)), exist_ok=True)
        shutil.copy2(src, os.path.join(dest, rel))
    subprocess.run(["chown", "-R", f"{pw.pw_uid}:{pw.pw_gid}", dest], check=True)


def test_binder_steps_build_a_lab_that_runs_the_quickstart(student):
    pw = student
    repo = os.path.join(pw.pw_dir, "glassbox")
    _copy_repo(repo, pw)
    # 1. apt.txt, as root (repo2docker's first step)
    with open(os.path.join(REPO, "binder", "apt.txt")) as f:
        pkgs = [ln.strip() for ln in f if ln.strip() and not ln.startswith("#")]
    missing = [p for p in pkgs if subprocess.run(["dpkg", "-s", p], capture_output=True)
               .returncode != 0]
    if missing:
        subprocess.run(["apt-get", "install", "-y", "-qq", *missing], check=True,
                       env=dict(os.environ, DEBIAN_FRONTEND="noninteractive"))
    # 2. the environment and requirements.txt, as the user, from the repository's root
    os.makedirs(PIP_CACHE, exist_ok=True)
    subprocess.run(["chown", "-R", f"{pw.pw_uid}:{pw.pw_gid}", PIP_CACHE], check=True)
    p = _as(pw, "/usr/bin/python3 -m venv ~/env && pip install -q -r binder/requirements.txt "
                "nbclient ipykernel", repo)
    assert p.returncode == 0, p.stderr[-3000:]
    # 3. postBuild, as the user
    p = _as(pw, "binder/postBuild", repo)
    assert p.returncode == 0, p.stdout[-2000:] + p.stderr[-3000:]
    # 4. start wraps the server: here it wraps a run of the quickstart
    with open(os.path.join(pw.pw_dir, "run_quickstart.py"), "w") as f:
        f.write(RUN_QUICKSTART)
    p = _as(pw, "binder/start python ~/run_quickstart.py", repo)
    assert "tier: " in p.stdout, p.stdout[-2000:] + p.stderr[-2000:]
    assert p.returncode == 0 and "ERRORS 0" in p.stdout, p.stdout[-3000:] + p.stderr[-3000:]
    # the container really ran, rootless, as this user: its output is in the notebook
    assert "OUT hello" in p.stdout, p.stdout[-3000:]
