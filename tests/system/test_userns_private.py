"""``--userns=private`` on the real kernel: rootful containers whose root is a high,
unprivileged host uid (issue 14, glassbox.rootless.private).

Each test gets its own id range — root's line in a ``subuid``/``subgid`` pair of its
own (``GLASSBOX_SUBID_DIR``; the host's /etc is never touched), at a random start
far above any real user — so "a process of that range" can only be ours, and the
leak check can look for one. The ``gbx`` fixture checks shims, cgroups and mounts.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import subprocess
import tempfile
import time
import uuid

import pytest

pytestmark = pytest.mark.system

SIZE = 65536


def _range_pids(start: int) -> list[int]:
    """Processes whose uid is in the test's range: container processes, or leaks."""
    out = []
    for pid in os.listdir("/proc"):
        if pid.isdigit():
            try:
                uid = os.stat(f"/proc/{pid}").st_uid
            except OSError:
                continue
            if start <= uid < start + SIZE:
                out.append(int(pid))
    return out


@pytest.fixture
def priv(gbx, tmp_path):
    """``gbx`` with a private id range for root; afterwards no process of that range."""
    start = random.randrange(40, 60) * 1_000_000 + random.randrange(0, 900) * SIZE
    etc = tmp_path / "etc"
    etc.mkdir()
    for kind in ("subuid", "subgid"):
        (etc / kind).write_text(f"someone:100000:65536\nroot:{start}:{SIZE}\n")
    gbx.env["GLASSBOX_SUBID_DIR"] = str(etc)
    gbx.start = start
    yield gbx
    for c in gbx.engine.containers.list():
        gbx.engine.containers.remove(c.id, force=True)
    deadline = time.monotonic() + 10
    while _range_pids(start) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not _range_pids(start), f"processes of the private range left: {_range_pids(start)}"


def _host_ids(pid: int) -> tuple[int, int]:
    with open(f"/proc/{pid}/status") as f:
        lines = {ln.split(":")[0]: ln.split()[1] for ln in f if ln.startswith(("Uid", "Gid"))}
    return int(lines["Uid"]), int(lines["Gid"])


def _pid(env, name: str) -> int:
    return int(env.out("inspect", "-f", "{{.State.Pid}}", name).strip())


def test_root_inside_is_a_high_uid_on_the_host_and_the_image_is_not_copied(priv):
    name = f"up-{uuid.uuid4().hex[:6]}"
    priv.out("run", "-d", "--name", name, "--userns=private", "busybox", "sleep", "300")
    pid = _pid(priv, name)
    assert _host_ids(pid) == (priv.start, priv.start)          # ps on the host: the high uid
    got = priv.out("exec", name, "sh", "-c",
                   "id -u; id -g; cat /proc/self/uid_map /proc/self/gid_map; "
                   "stat -c '%u:%g' / /bin/busybox /etc/passwd /dev")
    lines = [ln.split() for ln in got.splitlines()]
    assert lines[0] == ["0"] and lines[1] == ["0"]
    assert lines[2] == ["0", str(priv.start), str(SIZE)] == lines[3]
    assert [ln[0] for ln in lines[4:]] == ["0:0"] * 4, got     # root's, through the idmap
    # the image layers on disk are unchanged (idmapped, not chowned): still host root's
    cfg = json.loads(priv.out("inspect", name))[0]
    lower = cfg["GraphDriver"]["Data"]["LowerDir"].split(":")[0]
    assert os.stat(os.path.join(lower, "bin")).st_uid == 0
    assert os.stat(cfg["GraphDriver"]["Data"]["UpperDir"]).st_uid == priv.start
    assert cfg["HostConfig"]["UsernsMode"] == "private"
    assert cfg["IdMap"]["Mode"] == "private"
    assert cfg["IdMap"]["UidMap"] == [f"0 {priv.start} {SIZE}"] == cfg["IdMap"]["GidMap"]
    # a default container on the same engine is still host root
    plain = priv.out("run", "--rm", "busybox", "cat", "/proc/self/uid_map").split()
    assert plain == ["0", "0", "4294967295"]
    priv.out("rm", "-f", name)


def test_a_bind_mount_shows_the_high_uid_and_keeps_root_files_out_of_reach(priv):
    host = tempfile.mkdtemp(prefix="gbx-userns-bind-")
    try:
        os.chmod(host, 0o777)                                  # anyone may create files
        secret = os.path.join(host, "root-file")
        with open(secret, "w") as f:
            f.write("root's\n")
        os.chmod(secret, 0o644)
        p = priv.cli("run", "--rm", "--userns=private", "-v", f"{host}:/h", "busybox", "sh",
                     "-c", "stat -c '%u' /h/root-file; touch /h/made; "
                     "echo pwned >> /h/root-file; echo rc=$?; chmod 777 /h/root-file; "
                     "echo rc=$?")
        out, err = p.stdout.decode(), p.stderr.decode()
        assert p.returncode == 0, err
        assert out.splitlines()[0] == "65534"                  # host root is nobody inside
        assert out.count("rc=1") == 2 and "Permission denied" in err, out + err
        with open(secret) as f:
            assert f.read() == "root's\n"
        assert os.stat(secret).st_mode & 0o777 == 0o644
        st = os.stat(os.path.join(host, "made"))
        assert (st.st_uid, st.st_gid) == (priv.start, priv.start)
    finally:
        shutil.rmtree(host)


def test_exec_joins_the_user_namespace(priv):
    name = f"ex-{uuid.uuid4().hex[:6]}"
    priv.out("run", "-d", "--name", name, "--userns=private", "busybox", "sleep", "300")
    pid = _pid(priv, name)
    ns = priv.out("exec", name, "readlink", "/proc/self/ns/user").strip()
    assert ns == os.readlink(f"/proc/{pid}/ns/user")
    assert ns != os.readlink("/proc/self/ns/user")
    assert priv.out("exec", "-u", "1000", name, "sh", "-c", "id -u; touch /tmp/by-1000") \
        == "1000\n"
    upper = json.loads(priv.out("inspect", name))[0]["GraphDriver"]["Data"]["UpperDir"]
    assert os.stat(os.path.join(upper, "tmp", "by-1000")).st_uid == priv.start + 1000
    # an exec'd process is the high uid on the host too
    priv.out("exec", "-d", name, "sleep", "299")
    deadline = time.monotonic() + 10
    found = []
    while not found and time.monotonic() < deadline:
        found = [p for p in _range_pids(priv.start) if p != pid and
                 open(f"/proc/{p}/cmdline", "rb").read().startswith(b"sleep\x00299")]
        time.sleep(0.05)
    assert found and _host_ids(found[0])[0] == priv.start
    priv.out("rm", "-f", name)


def test_named_volume_and_commit_round_trip(priv):
    tag = f"priv{uuid.uuid4().hex[:6]}:1"
    vol = f"v{uuid.uuid4().hex[:6]}"
    name = f"cm-{uuid.uuid4().hex[:6]}"
    priv.out("run", "--name", name, "--userns=private", "-v", f"{vol}:/data", "busybox", "sh",
             "-c", "echo kept > /data/f && echo layer > /f && mkdir /d && chown 1000:1001 /d")
    data = json.loads(priv.out("volume", "inspect", vol))[0]["Mountpoint"]
    assert os.stat(data).st_uid == priv.start                  # chowned top, as Docker does
    assert os.stat(os.path.join(data, "f")).st_uid == priv.start
    priv.out("commit", name, tag)
    # the committed layer has the container's ids, not the host's
    for args in ((), ("--userns=private",)):
        got = priv.out("run", "--rm", *args, tag, "stat", "-c", "%u:%g", "/f", "/d").split()
        assert got == ["0:0", "1000:1001"], (args, got)
    # the volume is readable and writable by the next private container
    assert priv.out("run", "--rm", "--userns=private", "-v", f"{vol}:/data", "busybox", "sh",
                    "-c", "cat /data/f && touch /data/g && echo ok") == "kept\nok\n"
    priv.out("rm", name)
    priv.out("rmi", tag)
    priv.out("volume", "rm", vol)


def test_container_root_binds_port_80_on_a_user_network(priv):
    """The network namespace belongs to the container's user namespace, so its
    root may bind a low port there; peers find it by name."""
    net, web = f"n{uuid.uuid4().hex[:6]}", f"w{uuid.uuid4().hex[:6]}"
    priv.out("network", "create", net)
    try:
        priv.out("run", "-d", "--name", web, "--userns=private", "--network", net, "busybox",
                 "sh", "-c", "mkdir /www && echo hi-private > /www/index.html && "
                 "exec httpd -f -p 80 -h /www")
        got = priv.out("run", "--rm", "--network", net, "busybox", "sh", "-c",
                       f"for i in $(seq 1 25); do wget -qO- http://{web}/ && exit 0; "
                       "sleep 0.2; done; exit 1")
        assert got == "hi-private\n"
        pid = _pid(priv, web)
        assert _host_ids(pid)[0] == priv.start
    finally:
        priv.cli("rm", "-f", web)
        priv.cli("network", "rm", net)


def test_bad_input_is_refused_with_125_and_nothing_is_left(priv, tmp_path):
    p = priv.cli("run", "--rm", "--userns=foo", "busybox", "true")
    assert p.returncode == 125 and "'foo'" in p.stderr.decode()
    p = priv.cli("run", "--rm", "--userns=private", "--privileged", "busybox", "true")
    assert p.returncode == 125 and "--privileged" in p.stderr.decode()
    empty = tmp_path / "no-ranges"
    empty.mkdir()
    (empty / "subuid").write_text("someone:100000:65536\n")
    (empty / "subgid").write_text("someone:100000:65536\n")
    ours = priv.env["GLASSBOX_SUBID_DIR"]
    try:
        for where in (empty, tmp_path / "missing"):
            priv.env["GLASSBOX_SUBID_DIR"] = str(where)
            p = priv.cli("run", "--rm", "--userns=private", "busybox", "true")
            err = p.stderr.decode()
            assert p.returncode == 125 and "usermod --add-subuids" in err, err
            assert str(where / "subuid") in err
    finally:
        priv.env["GLASSBOX_SUBID_DIR"] = ours
    assert priv.out("ps", "-a", "-q") == ""


def test_a_failed_start_leaves_no_process_mount_or_cgroup(priv):
    """The command is missing: 127, and the holder, the child and the idmapped
    mounts are all gone (the fixtures check shims, cgroups, mounts and the range)."""
    p = priv.cli("run", "--userns=private", "--name", "bad", "busybox", "/no/such")
    assert p.returncode == 127, p.stderr
    with open("/proc/self/mountinfo") as f:
        assert priv.root not in f.read()
    assert not _range_pids(priv.start)
    priv.out("rm", "bad")


def test_the_daemon_honours_usernsmode_private(priv, tmp_path):
    """``HostConfig.UsernsMode: "private"`` over the API (``glassbox -H`` sends it;
    the daemon maps it onto the same create), shown by inspect; a bad value is refused."""
    from test_daemon_socket import start, stop

    from glassbox.daemon.client import Client
    from glassbox.errors import GlassboxError
    path = str(tmp_path / "d.sock")
    host = ("-H", f"unix://{path}")
    with open(tmp_path / "log", "w+") as log:
        proc = start(priv, path, log)
        try:
            out = priv.out(*host, "run", "--rm", "--userns=private", "busybox", "cat",
                           "/proc/self/uid_map")
            assert out.split() == ["0", str(priv.start), str(SIZE)]
            cid = priv.out(*host, "create", "--userns=private", "busybox", "true").strip()
            api = Client("unix://" + path)
            info = api.request("GET", f"/containers/{cid}/json")
            assert info["HostConfig"]["UsernsMode"] == "private"
            assert info["IdMap"]["UidMap"] == [f"0 {priv.start} {SIZE}"]
            with pytest.raises(GlassboxError) as e:
                api.request("POST", "/containers/create",
                            body={"Image": "busybox", "HostConfig": {"UsernsMode": "foo"}})
            assert "'foo'" in str(e.value)
            priv.out(*host, "rm", cid)
        finally:
            stop(proc)


def test_a_state_root_that_cannot_be_idmapped_is_named_and_leaves_nothing(priv, busybox_tar,
                                                                           tmp_path):
    """An overlay (the test's own mount) cannot be idmapped: a state root on one fails
    with the cause and the fix (125), and no process, mount or container runs."""
    base = tmp_path / "ovl"
    for d in ("l", "u", "w", "m"):
        (base / d).mkdir(parents=True)
    m = str(base / "m")
    subprocess.run(["mount", "-t", "overlay", "overlay", "-o",
                    f"lowerdir={base}/l,upperdir={base}/u,workdir={base}/w", m], check=True)
    ours = priv.env["GLASSBOX_ROOT"]
    try:
        priv.env["GLASSBOX_ROOT"] = os.path.join(m, "root")
        priv.out("import", busybox_tar, "busybox:latest")
        p = priv.cli("run", "--userns=private", "--name", "noidmap", "busybox", "true")
        err = p.stderr.decode()
        assert p.returncode == 125 and "idmapped mounts" in err and "GLASSBOX_ROOT" in err, err
        assert not _range_pids(priv.start)
        priv.out("rm", "noidmap")
        assert priv.out("ps", "-a", "-q") == ""
        with open("/proc/self/mountinfo") as f:
            assert [ln for ln in f if f" {m}/" in ln] == []
    finally:
        priv.env["GLASSBOX_ROOT"] = ours
        subprocess.run(["umount", m], check=True)
