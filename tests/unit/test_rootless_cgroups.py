"""Rootless cgroups: finding a delegated subtree, refusing limits without one,
the no-cgroup stand-in, the features rows and the set-up's pure parts."""

from __future__ import annotations

import os

import pytest

from glassbox.cgroups import open_cgroup
from glassbox.cgroups.limits import Limits
from glassbox.errors import Conflict, InvalidArgument, NotFound
from glassbox.rootless import cgroups as rc
from glassbox.rootless.features import Features, kernel_version
from glassbox.rootless.policy import check_create
from glassbox.rootless.setup import free_range


def _hier(tmp_path, owner: int, controllers=("memory", "cpu", "pids")):
    mounts = {}
    for c in controllers:
        d = tmp_path / c / f"glassbox-user-{owner}"
        d.mkdir(parents=True)
        mounts[c] = str(tmp_path / c)
    return mounts


def test_v1_delegation_needs_the_subtree_owned_in_every_controller(tmp_path):
    me = os.geteuid()
    mounts = _hier(tmp_path, me)
    assert rc.v1_delegation(me, mounts) == f"glassbox-user-{me}"
    assert rc.v1_delegation(me + 1, mounts) is None          # not theirs
    mounts["freezer"] = str(tmp_path / "freezer")             # one controller without it
    assert rc.v1_delegation(me, mounts) is None
    assert rc.v1_delegation(me, {}) is None


def test_v2_delegation_is_the_highest_owned_ancestor(tmp_path):
    """systemd's user@.service is the user's; user.slice above it is root's."""
    user = 4242 if os.geteuid() == 0 else os.geteuid()
    svc = tmp_path / "user.slice" / "user@1.service"
    deleg = svc / "app.slice"
    deleg.mkdir(parents=True)
    for d in (svc, deleg):
        (d / "cgroup.procs").write_text("")
        if os.geteuid() == 0:
            os.chown(d, user, user)
            os.chown(d / "cgroup.procs", user, user)
    if os.geteuid() != 0:
        os.chmod(tmp_path / "user.slice", 0o555)      # ours, but not writable
    cg = tmp_path / "self_cgroup"
    cg.write_text("0::/user.slice/user@1.service/app.slice\n")
    try:
        assert rc.v2_delegation(user, str(tmp_path), str(cg)) == "user.slice/user@1.service"
        assert rc.v2_delegation(user + 1, str(tmp_path), str(cg)) is None
    finally:
        os.chmod(tmp_path / "user.slice", 0o755)
    cg.write_text("0::/\n")
    assert rc.v2_delegation(user, str(tmp_path), str(cg)) is None


def test_limits_without_delegation_are_refused_naming_the_fix():
    rc.refuse(Limits(), None)                               # nothing asked: fine
    rc.refuse(Limits(memory=64 << 20), "glassbox-user-1/glassbox")
    with pytest.raises(InvalidArgument) as e:
        rc.refuse(Limits(memory=64 << 20, pids=10), None)
    assert "--memory --pids-limit" in e.value.message
    assert "glassbox system setup-user" in e.value.message


class _Opts:
    devices: list = []
    device_cgroup_rules: list = []
    privileged = False


def test_policy_refuses_networks_devices_and_limits(monkeypatch):
    from glassbox.rootless import features
    monkeypatch.setattr(features, "userns_available", lambda: (True, ""))
    check_create(_Opts(), Limits(), "none", None)
    check_create(_Opts(), Limits(), "bridge", None)       # in the user's own netns
    with pytest.raises(InvalidArgument, match="--network host is not available rootless"):
        check_create(_Opts(), Limits(), "host", None)
    with pytest.raises(InvalidArgument, match="container:NAME is not available rootless"):
        check_create(_Opts(), Limits(), "container:0123abcd", None)
    from glassbox.network.ports import PortBinding
    with pytest.raises(InvalidArgument, match=r"host port 80 is below .* \(-p 1104:80\)"):
        check_create(_Opts(), Limits(), "bridge", None, [PortBinding(80, host_port=80)])
    check_create(_Opts(), Limits(), "bridge", None, [PortBinding(80, host_port=8080),
                                                     PortBinding(81)])   # 0: any free port
    o = _Opts()
    o.privileged = True
    with pytest.raises(InvalidArgument, match="--privileged"):
        check_create(o, Limits(), "none", None)
    with pytest.raises(InvalidArgument, match="setup-user"):
        check_create(_Opts(), Limits(cpus=0.5), "none", None)
    monkeypatch.setattr(features, "userns_available", lambda: (False, "disabled here"))
    with pytest.raises(InvalidArgument, match="cannot create one: disabled here"):
        check_create(_Opts(), Limits(), "none", None)


def test_no_cgroup_stand_in():
    cg = open_cgroup("abc", parent=None)
    assert isinstance(cg, rc.NoCgroup)
    cg.create().add(1)
    cg.apply(Limits())
    cg.destroy()
    assert not cg.exists() and not cg.oom_killed() and cg.paths() == {}
    with pytest.raises(InvalidArgument):
        cg.apply(Limits(pids=5))
    with pytest.raises(NotFound, match="setup-user"):
        cg.stats()
    with pytest.raises(Conflict, match="pause"):
        cg.freeze()
    with pytest.raises(Conflict, match="top"):
        cg.pids()


def test_features_rows():
    f = Features(rootless=True, userns=True, userns_problem="", idmap="single", idmap_size=1,
                 idmap_reason="bob has no entry in /etc/subuid", overlay_userns=True,
                 cgroup_parent=None, cgroup_version=1)
    rows = dict(f.rows())
    assert rows["Rootless"] == "true"
    assert "single id" in rows["ID Map"] and "no entry in /etc/subuid" in rows["ID Map"]
    assert rows["Cgroups"].startswith("none") and "setup-user" in rows["Cgroups"]
    assert dict(Features(False, True, "", "subids", 0, "", True, None, 1).rows()) == \
        {"Rootless": "false"}


def test_kernel_version():
    assert kernel_version("6.18.44-fc-v1147") == (6, 18)
    assert kernel_version("5.10.0-27-amd64") == (5, 10)
    assert kernel_version("5.11") >= (5, 11)


def test_free_subid_range_follows_every_range():
    assert free_range([""]) == 100000
    assert free_range(["a:100000:65536\n", "b:200000:65536\nbad\n"]) == 265536
    assert free_range(["a:100000:65536\n", "c:5:5\n"]) == 165536
