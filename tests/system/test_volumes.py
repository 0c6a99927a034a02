"""Volumes on the real kernel: named volumes outlive containers, read-only binds,
tmpfs, the image's VOLUME with copy-up, --volumes-from, rm -v, and the
``glassbox volume`` commands.

The container manager is driven through its API with ``hooks=VolumeHooks(...)``
(what the CLI's ``run -v`` does once the hooks are wired in)."""

from __future__ import annotations

import json
import os
import uuid

import pytest

from glassbox.containers.options import CreateOptions
from glassbox.errors import InvalidArgument
from glassbox.volumes import VolumeHooks

pytestmark = pytest.mark.system


def uname(prefix="v"):
    return f"{prefix}{uuid.uuid4().hex[:10]}"


@pytest.fixture
def hooks(gbx):
    eng = gbx.engine
    return VolumeHooks(eng.volumes, lambda: eng.containers)


def run(gbx, hooks, script, image="busybox", **kw):
    """Create (with the volume hooks), start, wait; return (container, exit code, output)."""
    eng = gbx.engine
    c = eng.containers.create(CreateOptions(image=image, command=["sh", "-c", script], **kw),
                              hooks=hooks)
    eng.containers.start(c.id).detach()
    code = eng.containers.wait(c.id)
    out = "".join(text for _, text, _ in eng.containers.logs(c.id))
    return c, code, out


def rm(gbx, hooks, c, volumes=False):
    gbx.engine.containers.remove(c.id, hooks=hooks, volumes=volumes)


def test_named_volume_outlives_the_container(gbx, hooks):
    vol = uname()
    assert gbx.out("volume", "create", vol).strip() == vol
    c1, code, out = run(gbx, hooks, "echo 1 >> /data/f; cat /data/f", volumes=[f"{vol}:/data"])
    assert (code, out) == (0, "1\n")
    # the container config records the mount the runtime made
    assert c1.config["Mounts"] == [{"type": "bind", "source": gbx.engine.volumes.data_dir(vol),
                                    "target": "/data", "readonly": False, "options": "",
                                    "propagation": "", "subpath": ""}]
    # in use: refused, with the container's id in the message
    p = gbx.cli("volume", "rm", vol)
    assert p.returncode == 1 and f"volume is in use - [{c1.id}]" in p.stderr.decode()
    rm(gbx, hooks, c1, volumes=True)           # rm -v never removes a named volume
    c2, code, out = run(gbx, hooks, "echo 2 >> /data/f; cat /data/f", volumes=[f"{vol}:/data"])
    assert (code, out) == (0, "1\n2\n")
    rm(gbx, hooks, c2)
    with open(os.path.join(gbx.engine.volumes.data_dir(vol), "f")) as f:
        assert f.read() == "1\n2\n"            # the host sees the same file
    assert gbx.out("volume", "rm", vol).strip() == vol
    assert vol not in gbx.out("volume", "ls", "-q").split()


def test_volume_created_on_first_use_via_mount_flag(gbx, hooks):
    vol = uname()
    c, code, out = run(gbx, hooks, "echo hi > /v/x", mounts=[f"type=volume,src={vol},dst=/v"])
    assert code == 0
    assert vol in gbx.out("volume", "ls", "-q").split()
    rm(gbx, hooks, c)


def test_readonly_bind_cannot_be_written(gbx, hooks, tmp_path):
    site = tmp_path / "site"
    site.mkdir()
    (site / "index.html").write_text("hello\n")
    c, code, out = run(gbx, hooks, "cat /www/index.html; echo x > /www/new; echo rc=$?",
                       volumes=[f"{site}:/www:ro"])
    assert "hello\n" in out
    assert "Read-only file system" in out and "rc=1" in out
    assert sorted(os.listdir(site)) == ["index.html"]
    rm(gbx, hooks, c)
    # and a writable bind writes through to the host
    c, code, out = run(gbx, hooks, "echo from-container > /www/new",
                       mounts=[f"type=bind,src={site},dst=/www"])
    assert code == 0 and (site / "new").read_text() == "from-container\n"
    rm(gbx, hooks, c)


def test_v_creates_missing_host_dir_but_mount_refuses(gbx, hooks, tmp_path):
    missing = tmp_path / "made" / "by-v"
    c, code, _ = run(gbx, hooks, "echo ok > /w/f", volumes=[f"{missing}:/w"])
    assert code == 0 and (missing / "f").read_text() == "ok\n"
    rm(gbx, hooks, c)
    before = os.listdir(gbx.engine.containers.dir)
    with pytest.raises(InvalidArgument, match="bind source path does not exist"):
        gbx.engine.containers.create(CreateOptions(
            image="busybox", command=["true"],
            mounts=[f"type=bind,src={tmp_path}/nope,dst=/w"]), hooks=hooks)
    assert os.listdir(gbx.engine.containers.dir) == before   # nothing left behind
    assert not (tmp_path / "nope").exists()


def test_tmpfs_is_a_tmpfs(gbx, hooks):
    c, code, out = run(gbx, hooks, "grep -E ' /(scratch|t2) ' /proc/mounts; "
                                   "echo x > /scratch/f && cat /scratch/f",
                       tmpfs=["/scratch:size=1m"],
                       mounts=["type=tmpfs,dst=/t2,tmpfs-size=2m,tmpfs-mode=1770"])
    assert code == 0, out
    lines = out.splitlines()
    scratch = [l for l in lines if " /scratch " in l][0].split()
    t2 = [l for l in lines if " /t2 " in l][0].split()
    assert scratch[2] == "tmpfs" and "size=1024k" in scratch[3]
    assert t2[2] == "tmpfs" and "size=2048k" in t2[3] and "mode=1770" in t2[3]
    assert lines[-1] == "x"
    assert gbx.engine.volumes.names() == []     # a tmpfs is not a volume
    rm(gbx, hooks, c)


def test_image_volume_is_an_anonymous_volume_filled_from_the_image(gbx, hooks):
    eng = gbx.engine
    # an image whose /seed has content and is declared VOLUME /seed
    c, code, _ = run(gbx, hooks, "mkdir -p /seed && echo from-image > /seed/hello")
    assert code == 0
    tag = f"seeded-{uuid.uuid4().hex[:6]}:latest"
    eng.commit(c.id, tag, changes=["VOLUME /seed"])
    rm(gbx, hooks, c)
    c1, code, out = run(gbx, hooks, "cat /seed/hello; echo mine > /seed/new", image=tag)
    assert (code, out) == (0, "from-image\n")
    vols = eng.volumes.list()
    assert len(vols) == 1 and vols[0]["Anonymous"] and len(vols[0]["Name"]) == 64
    anon = vols[0]["Name"]
    assert sorted(os.listdir(eng.volumes.data_dir(anon))) == ["hello", "new"]
    # a second container shares it with --volumes-from and sees both files
    c2, code, out = run(gbx, hooks, "cat /seed/hello /seed/new", image=tag,
                        volumes_from=[c1.name])
    assert (code, out) == (0, "from-image\nmine\n")
    assert [v["Name"] for v in eng.volumes.list()] == [anon]   # no new anonymous volume
    rm(gbx, hooks, c1, volumes=True)          # still used by c2: kept
    assert eng.volumes.exists(anon)
    rm(gbx, hooks, c2, volumes=True)          # last user gone with -v: removed
    assert eng.volumes.names() == []


def test_rm_without_v_keeps_anonymous_volume_and_prune_removes_it(gbx, hooks):
    vol = uname()
    gbx.out("volume", "create", vol)
    c, code, _ = run(gbx, hooks, "echo x > /anon/f", volumes=["/anon"])
    assert code == 0
    rm(gbx, hooks, c)
    names = gbx.out("volume", "ls", "-q").split()
    anon = [n for n in names if n != vol]
    assert len(anon) == 1
    out = gbx.out("volume", "prune", "-f")
    assert "Deleted Volumes:" in out and anon[0] in out and vol not in out
    assert "Total reclaimed space: 2B" in out
    assert gbx.out("volume", "ls", "-q").split() == [vol]     # named ones stay...
    gbx.out("volume", "prune", "-f", "--all")
    assert gbx.out("volume", "ls", "-q").split() == []        # ... unless --all


def test_duplicate_mount_point_leaves_nothing(gbx, hooks):
    before = os.listdir(gbx.engine.containers.dir)
    with pytest.raises(InvalidArgument, match="^Duplicate mount point: /x$"):
        gbx.engine.containers.create(CreateOptions(
            image="busybox", command=["true"], volumes=[f"{uname()}:/x"], tmpfs=["/x"]),
            hooks=hooks)
    assert os.listdir(gbx.engine.containers.dir) == before
    assert gbx.engine.volumes.names() == []


def test_volume_cli(gbx):
    vol = uname()
    assert gbx.out("volume", "create", "--label", "course=a4", vol).strip() == vol
    assert gbx.out("volume", "create", vol).strip() == vol            # idempotent
    anon = gbx.out("volume", "create").strip()
    assert len(anon) == 64
    table = gbx.out("volume", "ls").splitlines()
    assert table[0].split() == ["DRIVER", "VOLUME", "NAME"]
    assert ["local", vol] in [l.split() for l in table[1:]]
    rows = [json.loads(l) for l in gbx.out("volume", "ls", "--format", "json").splitlines()]
    row = [r for r in rows if r["Name"] == vol][0]
    assert row["Driver"] == "local" and row["Labels"] == "course=a4"
    assert gbx.out("volume", "ls", "-q", "-f", "label=course=a4").split() == [vol]
    assert gbx.out("volume", "ls", "--format", "{{.Name}}:{{.Driver}}",
                   "-f", f"name={vol}").strip() == f"{vol}:local"
    doc = json.loads(gbx.out("volume", "inspect", vol))
    assert doc[0]["Name"] == vol and doc[0]["Labels"] == {"course": "a4"}
    assert doc[0]["Mountpoint"] == os.path.join(gbx.root, "volumes", vol, "_data")
    assert gbx.out("volume", "inspect", "-f", "{{.Driver}}", vol).strip() == "local"
    p = gbx.cli("volume", "inspect", "nope")
    assert p.returncode == 125 and b"No such volume: nope" in p.stderr
    p = gbx.cli("volume", "create", "bad/name")
    assert p.returncode == 125 and b"includes invalid characters" in p.stderr
    assert b"use absolute path" in p.stderr
    p = gbx.cli("volume", "rm", vol, "nope")
    assert p.returncode == 1 and p.stdout.decode().split() == [vol]
    assert b"No such volume: nope" in p.stderr
    assert gbx.cli("volume", "rm", "-f", "nope").returncode == 0
    assert gbx.out("volume", "rm", anon).strip() == anon
    assert gbx.out("volume", "ls", "-q") == ""
