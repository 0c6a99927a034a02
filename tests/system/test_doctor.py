"""``glassbox doctor`` on the real machine: every probe really runs, and the
tier follows from what the kernel granted."""

import json
import os
import subprocess

import sys

import pytest

GLASSBOX = os.path.join(os.path.dirname(sys.executable), "glassbox")


def is_root() -> bool:
    return os.geteuid() == 0

pytestmark = pytest.mark.system


def _doctor(*prefix, env=None):
    p = subprocess.run([*prefix, GLASSBOX, "doctor", "--format", "json"], capture_output=True,
                       env=env, timeout=60)
    assert p.returncode == 0, p.stderr.decode()
    return json.loads(p.stdout)


def test_doctor_as_root_reports_the_full_tier(tmp_path):
    if not is_root():
        pytest.skip("needs root")
    before = set(os.listdir(tmp_path))
    rep = _doctor(env=dict(os.environ, GLASSBOX_ROOT=str(tmp_path / "root"), TMPDIR=str(tmp_path)))
    checks = {c["feature"]: c for c in rep["Checks"]}
    assert checks["privilege"]["status"] == "root"
    for feature in ("overlay", "fresh /proc", "cgroups", "bridges", "published port"):
        assert checks[feature]["status"] == "ok", checks[feature]
    assert rep["Tier"] == "full"
    # the probes leave nothing behind: no scratch dir, no bridge on the host
    assert set(os.listdir(tmp_path)) == before
    links = subprocess.run(["ip", "-o", "link"], capture_output=True, text=True).stdout
    assert "gbxdoctor0" not in links


def test_doctor_table_names_each_feature_and_the_tier(tmp_path):
    p = subprocess.run([GLASSBOX, "doctor"], capture_output=True, text=True, timeout=60,
                       env=dict(os.environ, GLASSBOX_ROOT=str(tmp_path / "root")))
    assert p.returncode == 0, p.stderr
    lines = p.stdout.splitlines()
    assert lines[0].split()[:3] == ["FEATURE", "STATUS", "DETAIL"]
    assert any(ln.startswith("tier: ") for ln in lines)
    assert any(ln.startswith("cgroups") for ln in lines)


def test_doctor_as_an_ordinary_user_finds_the_rootless_tier(tmp_path):
    """``nobody`` has no subordinate ids and no delegated cgroup: the doctor says
    so, names the fix, and still finds what the kernel grants an ordinary user."""
    if not is_root():
        pytest.skip("needs root to become nobody")
    os.chmod(tmp_path, 0o777)
    env = {"PATH": os.environ["PATH"], "HOME": str(tmp_path), "GLASSBOX_AGENT": "0",
           "GLASSBOX_ROOT": str(tmp_path / "state"), "TMPDIR": str(tmp_path)}
    rep = _doctor("setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", env=env)
    checks = {c["feature"]: c for c in rep["Checks"]}
    assert checks["privilege"]["status"] == "rootless"
    assert checks["subordinate ids"]["status"] == "limited"
    assert "setup-user nobody" in checks["subordinate ids"]["fix"]
    granted = all(checks[f]["status"] == "ok" for f in
                  ("user namespaces", "overlay in userns", "fresh /proc"))
    if granted:
        assert rep["Tier"] == ("rootless (limits)" if checks["cgroups"]["status"] == "ok"
                               else "rootless")
    else:
        assert rep["Tier"] == "user-space" and checks["user namespaces"]["fix"]
