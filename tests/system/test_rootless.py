"""Rootless glassbox on the real kernel, driven as ordinary users (issue 14).

The set-up makes throw-away users: two with subordinate ids (``useradd`` gives
each 65536 from /etc/login.defs) and one without any. Each command runs as
that user (``runuser``), with the system's Python of the same version as the
venv's (the venv's interpreter lives under /root, which other users cannot
enter) and the package from this checkout on ``PYTHONPATH``. After each test
nothing of theirs may be left: no container, no process with their uid or one
of their subordinate ids, no mount under their home, no cgroup of a container.
"""

from __future__ import annotations

import json
import os
import pwd
import shutil
import subprocess
import sys
import tempfile
import time
import uuid

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
pytestmark = [pytest.mark.system,
              pytest.mark.skipif(os.geteuid() != 0, reason="needs root to make test users")]

ENGINE = os.path.join(REPO, "engine")
SITE = next((p for p in sys.path if p.endswith("site-packages") and p.startswith(REPO)), "")


def _world_reachable(path: str) -> bool:
    """Can any user execute ``path`` (every parent directory searchable)?"""
    path = os.path.realpath(path)
    parts = path.split("/")
    for i in range(2, len(parts)):
        if not os.stat("/".join(parts[:i])).st_mode & 0o001:
            return False
    return os.path.exists(path) and bool(os.stat(path).st_mode & 0o001)


def _user_python() -> str | None:
    v = sys.version_info
    for cand in (sys.executable, f"/usr/bin/python{v.major}.{v.minor}"):
        if os.path.exists(cand) and _world_reachable(cand):
            return cand
    return None


PYTHON = _user_python()
if PYTHON is None or not shutil.which("runuser") or not shutil.which("useradd"):
    pytestmark.append(pytest.mark.skip(reason="needs runuser, useradd and a Python 3."
                                              f"{sys.version_info.minor} other users can run"))


class User:
    """A throw-away login and the glassbox CLI run as it."""

    def __init__(self, name: str):
        self.name = name
        pw = pwd.getpwnam(name)
        self.uid, self.gid, self.home = pw.pw_uid, pw.pw_gid, pw.pw_dir
        self.root = os.path.join(self.home, ".local", "share", "glassbox")

    def subids(self) -> list[tuple[int, int]]:
        from glassbox.rootless.idmap import parse_subids
        with open("/etc/subuid") as f:
            return parse_subids(f.read(), self.name, self.uid)

    def env(self, **extra) -> list[str]:
        env = {"HOME": self.home, "USER": self.name, "PATH": "/usr/bin:/bin:/usr/sbin:/sbin",
               "PYTHONPATH": f"{ENGINE}:{SITE}", "GLASSBOX_OFFLINE": "1", "GLASSBOX_AGENT": "0",
               **extra}
        return [f"{k}={v}" for k, v in env.items() if v is not None]

    def argv(self, args, *, wrap=(), env=None) -> list[str]:
        return ["runuser", "-u", self.name, "--", *wrap, "env", "-i", *self.env(**(env or {})),
                PYTHON, "-m", "glassbox.cli.main", *args]

    def gbx(self, *args, wrap=(), env=None, timeout=60, outer=()) -> subprocess.CompletedProcess:
        return subprocess.run([*outer, *self.argv(args, wrap=wrap, env=env)],
                              capture_output=True, text=True, timeout=timeout, cwd="/")

    def out(self, *args, **kw) -> str:
        p = self.gbx(*args, **kw)
        assert p.returncode == 0, f"glassbox {' '.join(args)} as {self.name}: rc " \
                                  f"{p.returncode}: {p.stderr}"
        return p.stdout

    def sh(self, *cmd, timeout: float = 30) -> subprocess.CompletedProcess:
        return subprocess.run(["runuser", "-u", self.name, "--", *cmd], capture_output=True,
                              text=True, timeout=timeout, cwd="/")

    def owned_pids(self) -> list[int]:
        """Processes running as this user or one of their subordinate ids."""
        ranges = [(self.uid, 1)] + self.subids()
        out = []
        for pid in os.listdir("/proc"):
            if not pid.isdigit():
                continue
            try:
                uid = os.stat(f"/proc/{pid}").st_uid
            except OSError:
                continue
            if any(s <= uid < s + n for s, n in ranges):
                out.append(int(pid))
        return out


def _useradd(name: str, subids: bool) -> User:
    argv = ["useradd", "-m", "-s", "/bin/sh"]
    if not subids:
        argv += ["-K", "SUB_UID_COUNT=0", "-K", "SUB_GID_COUNT=0"]
    subprocess.run(argv + [name], check=True, capture_output=True)
    return User(name)


@pytest.fixture(scope="module")
def people(busybox_tar):
    """alice and bob (subordinate ids) and carol (none), each with busybox imported."""
    tag = uuid.uuid4().hex[:5]
    made: list[User] = []
    shared = tempfile.mkdtemp(prefix="gbx-rootless-")    # pytest's tmp is root-only
    os.chmod(shared, 0o755)
    tar = shutil.copy(busybox_tar, os.path.join(shared, "busybox.tar"))
    os.chmod(tar, 0o644)
    try:
        for who, subids in (("a", True), ("b", True), ("c", False)):
            u = _useradd(f"gbxrl{tag}{who}", subids)
            made.append(u)
            u.out("import", tar, "busybox:latest")
        yield {"alice": made[0], "bob": made[1], "carol": made[2]}
    finally:
        shutil.rmtree(shared)
        from glassbox.rootless import setup
        for u in made:
            for pid in u.owned_pids():    # a leak the check reported: userdel refuses then
                try:
                    os.kill(pid, 9)
                except ProcessLookupError:
                    pass
            try:
                setup.remove(u.name)
            except Exception:  # noqa: BLE001
                pass
            subprocess.run(["userdel", "-r", u.name], capture_output=True)
            shutil.rmtree(f"/tmp/glassbox-{u.uid}", ignore_errors=True)   # its runtime dir
            with open("/etc/subuid") as f:
                assert u.name not in f.read(), "userdel left the test user's subuid lines"


@pytest.fixture
def users(people):
    """The users, and after the test the proof that none of theirs is left."""
    for u in people.values():
        assert not u.owned_pids(), f"{u.name} has processes before the test"
    yield people
    leaks = []
    for u in people.values():
        ids = u.gbx("ps", "-a", "-q").stdout.split()
        if ids:
            leaks.append(f"{u.name}: containers left {ids}")
            u.gbx("rm", "-f", *ids)
        deadline = time.monotonic() + 10
        while u.owned_pids() and time.monotonic() < deadline:
            time.sleep(0.05)
        if u.owned_pids():
            leaks.append(f"{u.name}: processes left {u.owned_pids()}")
        with open("/proc/self/mountinfo") as f:
            mounts = [ln.split()[4] for ln in f if ln.split()[4].startswith(u.home)]
        if mounts:
            leaks.append(f"{u.name}: host mounts left {mounts}")
        cdir = os.path.join(u.root, "containers")
        left = [e for e in os.listdir(cdir) if not e.startswith(".")] if os.path.isdir(cdir) \
            else []
        trash = os.path.join(cdir, ".trash")
        if os.path.isdir(trash) and os.listdir(trash):
            left.append(f".trash/{os.listdir(trash)}")
        if left:
            leaks.append(f"{u.name}: container dirs left {left}")
        for hier in ("memory/", "pids/", "freezer/", ""):        # "": v2's one hierarchy
            base = f"/sys/fs/cgroup/{hier}glassbox-user-{u.uid}/glassbox"
            if os.path.isdir(base):
                sub = [d for d in os.listdir(base) if os.path.isdir(os.path.join(base, d))]
                if sub:
                    leaks.append(f"{u.name}: cgroups left in {base}: {sub}")
    assert not leaks, "; ".join(leaks)


def _pid(u: User, name: str) -> int:
    return int(u.out("inspect", "-f", "{{.State.Pid}}", name).strip())


def _host_uid(pid: int) -> int:
    with open(f"/proc/{pid}/status") as f:
        return int(next(ln for ln in f if ln.startswith("Uid:")).split()[1])


# ------------------------------------------------------------------ running at all

def test_info_says_rootless_and_what_is_available(users):
    alice, carol = users["alice"], users["carol"]
    info = alice.out("info")
    assert "Rootless: true" in info
    assert f"Docker Root Dir: {alice.root}" in info
    assert "ID Map: subordinate ids" in info and "User Namespaces: yes" in info
    assert "Cgroups: none" in info and f"setup-user {alice.name}" in info
    assert os.stat(alice.root).st_mode & 0o777 == 0o700      # other users cannot read it
    info = carol.out("info")
    assert "ID Map: single id" in info and "no entry in /etc/subuid" in info


def test_run_true_echo_and_the_exit_code(users):
    alice = users["alice"]
    p = alice.gbx("run", "--rm", "busybox", "echo", "hello", "rootless")
    assert p.returncode == 0 and p.stdout == "hello rootless\n", p.stderr
    assert alice.gbx("run", "--rm", "busybox", "true").returncode == 0
    assert alice.gbx("run", "--rm", "busybox", "sh", "-c", "exit 3").returncode == 3
    p = alice.gbx("run", "--rm", "busybox", "nosuchcmd")
    assert p.returncode == 127 and "not found" in p.stderr


def test_the_containers_root_is_the_user_on_the_host(users):
    alice = users["alice"]
    name = f"who-{uuid.uuid4().hex[:6]}"
    alice.out("run", "-d", "--name", name, "busybox", "sleep", "300")
    pid = _pid(alice, name)
    assert _host_uid(pid) == alice.uid                     # ps on the host: the user
    ps = subprocess.run(["ps", "-o", "uid=", "-p", str(pid)], capture_output=True, text=True)
    assert int(ps.stdout) == alice.uid
    inside = alice.out("exec", name, "sh", "-c", "id -u; cat /proc/self/uid_map")
    lines = inside.split("\n")
    assert lines[0] == "0"                                  # root inside ...
    assert lines[1].split() == ["0", str(alice.uid), "1"]   # ... is alice outside
    start, count = alice.subids()[0]
    assert lines[2].split() == ["1", str(start), str(count)]
    idmap = json.loads(alice.out("inspect", "-f", "{{json .IdMap}}", name))
    assert idmap["Mode"] == "subids" and idmap["UidMap"][:2] == [
        f"0 {alice.uid} 1", f"1 {start} {count}"]
    # overlay inside the user namespace, with userxattr
    mounts = alice.out("exec", name, "cat", "/proc/mounts")
    assert "overlay / overlay" in mounts and "userxattr" in mounts
    alice.out("rm", "-f", name)


def test_detached_exec_logs_stop_rm(users):
    alice = users["alice"]
    name = f"life-{uuid.uuid4().hex[:6]}"
    alice.out("run", "-d", "--name", name, "busybox", "sh", "-c",
              "trap 'echo bye; exit 0' TERM; echo started; while :; do sleep 0.1; done")
    deadline = time.monotonic() + 10
    while "started" not in alice.out("logs", name) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert alice.out("logs", name) == "started\n"
    assert "Up" in alice.out("ps")
    assert alice.out("exec", name, "sh", "-c", "echo in > /tmp/x; cat /tmp/x") == "in\n"
    p = alice.gbx("exec", name, "nosuchcmd")
    assert p.returncode == 127
    alice.out("stop", "-t", "5", name)
    status = alice.out("inspect", "-f", "{{.State.Status}} {{.State.ExitCode}}", name).split()
    assert status == ["exited", "0"]
    assert "bye" in alice.out("logs", name)
    alice.out("rm", name)
    assert name not in alice.out("ps", "-a")


def test_subordinate_ids_let_images_use_other_users(users):
    alice = users["alice"]
    start, _ = alice.subids()[0]
    name = f"u1000-{uuid.uuid4().hex[:6]}"
    alice.out("run", "-d", "--name", name, "-u", "1000:1000", "busybox", "sh", "-c",
              "mkdir -p /tmp/d/e && touch /tmp/d/e/f && chmod 500 /tmp/d && sleep 300")
    pid = _pid(alice, name)
    assert _host_uid(pid) == start + 999            # container uid 1000 = subordinate id
    assert alice.out("exec", "-u", "1000", name, "id", "-u") == "1000\n"
    # what uid 1000 made (host uid start+999) goes with rm, from the host side
    alice.out("rm", "-f", name)
    assert name not in alice.out("ps", "-a")


def test_a_build_with_copy_chown_and_run_works_rootless_and_caches(users):
    """COPY of a root-owned host file, COPY --chown to another user, RUN, then the
    same build again: every step a cache hit. With subordinate ids the --chown owner
    is kept (through the id map); with a single id the build still succeeds and
    says the owner could not be kept."""
    ctx = tempfile.mkdtemp(prefix="gbx-rootless-ctx-")
    try:
        os.chmod(ctx, 0o755)
        with open(os.path.join(ctx, "Dockerfile"), "w") as f:
            f.write("FROM busybox\nCOPY hello.txt /hello.txt\n"
                    "COPY --chown=1000:1000 hello.txt /owned.txt\n"
                    "RUN cat /hello.txt > /copied && ls -ln /owned.txt > /owner\n")
        with open(os.path.join(ctx, "hello.txt"), "w") as f:
            f.write("hello from the context\n")
        for who, owner in (("alice", "1000 1000"), ("carol", "0 0")):
            u = users[who]
            tag = f"rlbuild-{uuid.uuid4().hex[:6]}:1"
            p = u.gbx("build", "-t", tag, ctx, timeout=120)
            assert p.returncode == 0, (who, p.stderr)
            if who == "carol":
                assert "not kept" in p.stderr + p.stdout, p.stderr
            out = u.out("run", "--rm", tag, "sh", "-c",
                        "cat /copied; ls -ln /hello.txt; cat /owner")
            lines = out.splitlines()
            assert lines[0] == "hello from the context"
            assert lines[1].split()[2:4] == ["0", "0"], out        # COPY: container root
            assert lines[2].split()[2:4] == owner.split(), out     # --chown via the map
            again = u.gbx("build", "-t", tag, ctx, timeout=120)
            assert again.returncode == 0 and again.stdout.count("CACHED") + \
                again.stderr.count("CACHED") >= 3, again.stdout + again.stderr
            u.out("rmi", tag)
    finally:
        shutil.rmtree(ctx)


def test_image_owners_are_kept_through_the_map_and_ignored_without_one(users):
    """commit records the container's ids (not the host's subordinate ones); the
    layer is stored with them mapped; a single-id user (carol) loading the same
    image gets every file as container root (ignore-chown), and info says so."""
    alice, carol = users["alice"], users["carol"]
    start, _ = alice.subids()[0]
    name = f"own-{uuid.uuid4().hex[:6]}"
    tag = f"owners{uuid.uuid4().hex[:6]}:1"
    alice.out("run", "--name", name, "busybox", "sh", "-c",
              "echo hi > /f && chown 1000:1000 /f && mkdir /d && chown 1001:1002 /d && "
              "echo s > /tmp/secret && chown 1000 /tmp/secret && chmod 600 /tmp/secret")
    # /tmp/secret is 0600 of a subordinate id: unreadable for alice on the host side
    secret = subprocess.run(["find", os.path.join(alice.root, "containers"), "-name", "secret"],
                            capture_output=True, text=True).stdout.split()
    assert secret and alice.sh("cat", secret[0]).returncode != 0
    alice.out("commit", name, tag)
    alice.out("rm", name)
    got = alice.out("run", "--rm", tag, "stat", "-c", "%u:%g %n", "/f", "/d").split("\n")
    assert got[:2] == ["1000:1000 /f", "1001:1002 /d"]
    assert alice.out("run", "--rm", "-u", "1000", tag, "cat", "/tmp/secret") == "s\n"
    on_host = subprocess.run(["find", os.path.join(alice.root, "layers"), "-name", "f",
                              "-uid", str(start + 999)], capture_output=True, text=True)
    assert on_host.stdout.strip(), "the layer file is not owned by the subordinate id"
    archive = os.path.join(alice.home, f"{name}.tar")
    alice.out("save", "-o", archive, tag)
    os.chmod(archive, 0o644)
    try:
        carol.out("load", "-i", archive)
        got = carol.out("run", "--rm", tag, "stat", "-c", "%u:%g", "/f", "/d").split()
        assert got == ["0:0", "0:0"]
        assert "Layer Ownership: ignore-chown" in carol.out("info")
        assert "Layer Ownership: kept through the id map" in alice.out("info")
        carol.out("rmi", tag)
    finally:
        os.unlink(archive)
    alice.out("rmi", tag)
    left = subprocess.run(["find", alice.root, "-uid", str(start + 999)], capture_output=True,
                          text=True)
    assert left.stdout == "", f"subordinate-id files left after rmi: {left.stdout}"


def test_named_and_anonymous_volumes_work_rootless(users):
    """A named volume lives in the user's state root; files of container root are the
    user's, files of container uid 1000 a subordinate id's — and ``volume rm`` still
    removes them (a directory of a subordinate id is not the user's to empty); an
    anonymous volume goes with ``--rm``."""
    alice = users["alice"]
    start, _ = alice.subids()[0]
    vol = f"v{uuid.uuid4().hex[:6]}"
    alice.out("volume", "create", vol)
    mp = json.loads(alice.out("volume", "inspect", vol))[0]["Mountpoint"]
    assert mp.startswith(alice.root + "/")
    alice.out("run", "--rm", "-v", f"{vol}:/data", "busybox", "sh", "-c",
              "echo kept > /data/f && mkdir /data/d && echo u > /data/d/u && chmod 700 /data/d "
              "&& chown -R 1000:1000 /data/d")
    assert os.stat(os.path.join(mp, "f")).st_uid == alice.uid       # container root = alice
    assert os.stat(os.path.join(mp, "d")).st_uid == start + 999     # uid 1000 via the map
    p = alice.gbx("run", "--rm", "-v", f"{vol}:/data:ro", "-u", "1000", "busybox", "sh", "-c",
                  "cat /data/f /data/d/u; touch /data/x; echo rc=$?")
    assert p.returncode == 0 and p.stdout == "kept\nu\nrc=1\n", p.stdout + p.stderr
    assert "Read-only file system" in p.stderr
    alice.out("run", "--rm", "-v", "/anon", "busybox", "sh", "-c",
              "touch /anon/x && chown 1000 /anon/x")
    assert alice.out("volume", "ls", "-q").split() == [vol]          # the anonymous one went
    alice.out("volume", "rm", vol)
    assert not os.path.exists(mp)
    assert alice.out("volume", "ls", "-q") == ""


def test_push_and_pull_through_a_local_registry_rootless(users, tmp_path):
    """alice commits and pushes to a real docker-registry on loopback; bob (another
    user, another id map) pulls and runs it, with the image's file owners kept."""
    sys.path.insert(0, os.path.join(REPO, "tests", "interop"))
    from registry_fixtures import REGISTRY_BIN, RegistryProcess
    if not os.path.exists(REGISTRY_BIN):
        pytest.skip("docker-registry (Debian package docker-registry) is not installed")
    alice, bob = users["alice"], users["bob"]
    reg = RegistryProcess(tmp_path / "registry").start()
    try:
        tag = uuid.uuid4().hex[:6]
        ref, name = f"{reg.host}/rl/hello-{tag}:1", f"mk-{tag}"
        alice.out("run", "--name", name, "busybox", "sh", "-c",
                  "echo made by alice > /msg && touch /owned && chown 1000:1001 /owned")
        alice.out("commit", "-c", 'CMD ["cat", "/msg"]', name, ref)
        alice.out("rm", name)
        assert "digest: sha256:" in alice.out("push", ref, timeout=120)
        assert reg.count("PUT", "/v2/rl/hello-") >= 2                # blobs and the manifest
        alice.out("rmi", ref)
        bob.out("pull", ref, timeout=120)
        assert bob.out("run", "--rm", ref) == "made by alice\n"
        assert bob.out("run", "--rm", ref, "stat", "-c", "%u:%g", "/owned") == "1000:1001\n"
        bob.out("rmi", ref)
        p = alice.gbx("pull", f"{reg.host}/rl/nosuch-{tag}:1", timeout=60)
        assert p.returncode != 0 and "nosuch" in p.stderr
    finally:
        reg.stop()


def test_a_bind_mount_does_not_let_container_root_write_a_root_file(users):
    alice = users["alice"]
    host = tempfile.mkdtemp(prefix="gbx-rootless-bind-")
    try:
        os.chmod(host, 0o755)
        secret = os.path.join(host, "f")
        with open(secret, "w") as f:
            f.write("root's\n")
        os.chmod(secret, 0o644)
        p = alice.gbx("run", "--rm", "-v", f"{host}:/h", "busybox", "sh", "-c",
                      "ls -ln /h/f; echo pwned >> /h/f; echo rc=$?; touch /h/new; echo rc=$?")
        assert p.returncode == 0, p.stderr
        assert " 65534 " in p.stdout            # host root is nobody inside
        assert p.stdout.count("rc=1") == 2 and "Permission denied" in p.stderr
        with open(secret) as f:
            assert f.read() == "root's\n"
        assert os.listdir(host) == ["f"]
        # a read-only bind (its host mount's locked flags kept) still reads
        p = alice.gbx("run", "--rm", "-v", f"{host}:/h:ro", "busybox", "cat", "/h/f")
        assert p.returncode == 0 and p.stdout == "root's\n", p.stderr
    finally:
        shutil.rmtree(host)


def test_one_user_cannot_see_stop_or_join_anothers_containers(users):
    alice, bob = users["alice"], users["bob"]
    name = f"mine-{uuid.uuid4().hex[:6]}"
    alice.out("run", "-d", "--name", name, "-e", "SECRET=hunter2", "busybox", "sleep", "300")
    pid = _pid(alice, name)
    assert name not in bob.out("ps", "-a")                  # bob's own state root
    p = bob.gbx("ps", "-a", env={"GLASSBOX_ROOT": alice.root})
    assert p.returncode == 125 and "ermission denied" in p.stderr
    p = bob.gbx("rm", "-f", name)
    assert p.returncode != 0 and "No such container" in p.stderr
    assert bob.sh("kill", "-9", str(pid)).returncode != 0   # not bob's process
    assert bob.sh("cat", f"/proc/{pid}/environ").returncode != 0
    assert bob.sh("nsenter", "-t", str(pid), "-U", "-m", "true").returncode != 0
    assert bob.sh("ls", os.path.join(alice.root, "containers")).returncode != 0
    assert os.path.exists(f"/proc/{pid}")                    # still alive
    assert "Up" in alice.out("ps")
    alice.out("rm", "-f", name)


DOCKER_PY = """
import os, sys, docker
c = docker.DockerClient(base_url="unix://" + sys.argv[1])
print(c.info()["DockerRootDir"])
ct = c.containers.run("busybox", ["sh", "-c", "id -u; cat /proc/self/uid_map"], detach=True)
print(ct.wait()["StatusCode"])
print(ct.logs().decode(), end="")
ct.remove()
"""


def test_the_daemon_serves_docker_py_on_the_users_runtime_dir(users):
    """``glassbox daemon`` as the user: its socket is in the user's runtime dir
    (no XDG_RUNTIME_DIR here: the private /tmp/glassbox-<uid>), owner only, and
    docker-py (a real peer) runs a rootless container through it."""
    pytest.importorskip("docker")
    import signal
    alice = users["alice"]
    sock = f"/tmp/glassbox-{alice.uid}/glassbox.sock"
    daemon = subprocess.Popen(alice.argv(["daemon"]), stdout=subprocess.DEVNULL,
                              stderr=subprocess.PIPE, cwd="/")
    try:
        deadline = time.monotonic() + 30
        while not os.path.exists(sock) and time.monotonic() < deadline:
            assert daemon.poll() is None, daemon.stderr.read()
            time.sleep(0.1)
        st = os.stat(sock)
        assert st.st_uid == alice.uid and st.st_mode & 0o077 == 0
        assert os.stat(os.path.dirname(sock)).st_mode & 0o777 == 0o700
        p = alice.sh("env", "-i", *alice.env(), PYTHON, "-c", DOCKER_PY, sock)
        assert p.returncode == 0, p.stderr
        lines = p.stdout.splitlines()
        assert lines[0] == alice.root and lines[1] == "0"
        assert lines[2] == "0" and lines[3].split() == ["0", str(alice.uid), "1"]
        assert bob_cannot_connect(users["bob"], sock)
    finally:
        daemon.send_signal(signal.SIGTERM)
        daemon.wait(timeout=30)
    assert not os.path.exists(sock)


def bob_cannot_connect(bob: User, sock: str) -> bool:
    code = ("import socket, sys\ns = socket.socket(socket.AF_UNIX)\n"
            "try:\n    s.connect(sys.argv[1])\nexcept OSError:\n    sys.exit(7)\n")
    return bob.sh(PYTHON, "-c", code, sock).returncode == 7


# ------------------------------------------------------------------ restricted cases

def test_restricted_no_new_privs_uses_a_single_map_and_refuses_limits(users):
    alice = users["alice"]
    nnp = ("setpriv", "--no-new-privs")
    p = alice.gbx("run", "--rm", "busybox", "cat", "/proc/self/uid_map", wrap=nnp)
    assert p.returncode == 0, p.stderr
    assert [ln.split() for ln in p.stdout.splitlines()] == [["0", str(alice.uid), "1"]]
    info = alice.out("info", wrap=nnp)
    assert "single id" in info and "no_new_privs" in info
    p = alice.gbx("run", "--rm", "-u", "1000", "busybox", "id", wrap=nnp)
    assert p.returncode == 125 and "uid 1000" in p.stderr and "not mapped" in p.stderr
    p = alice.gbx("run", "--rm", "--memory", "64m", "busybox", "true", wrap=nnp)
    assert p.returncode == 125 and "--memory needs a cgroup" in p.stderr
    assert f"setup-user {alice.name}" in p.stderr
    assert alice.out("ps", "-a", "-q") == ""                # nothing left behind


RESTRICT = """set -e
for m in $(awk '$5 ~ "^/sys/fs/cgroup" {print $5}' /proc/self/mountinfo); do
    mount -o remount,bind,ro "$m"
done
mount --bind /dev/null /usr/bin/newuidmap
mount --bind /dev/null /usr/bin/newgidmap
exec "$@"
"""


def test_restricted_read_only_cgroups_and_no_uidmap_helpers(users):
    """The issue's restricted case all at once: ``/sys/fs/cgroup`` read-only, no
    ``newuidmap``/``newgidmap`` (hidden, as without Debian's ``uidmap``), and
    ``no_new_privs`` — in a private mount namespace of the test's, so the host's
    mounts are never touched. Containers still run (single-id map) and a limit is
    refused with the delegation it needs."""
    alice = users["alice"]
    outer = ("unshare", "-m", "--propagation", "private", "sh", "-c", RESTRICT, "sh")
    nnp = ("setpriv", "--no-new-privs")
    info = alice.out("info", outer=outer, wrap=nnp)
    assert "ID Map: single id" in info and "newuidmap/newgidmap are not installed" in info
    assert "Cgroups: none" in info
    p = alice.gbx("run", "--rm", "busybox", "sh", "-c", "cat /proc/self/uid_map",
                  outer=outer, wrap=nnp)
    assert p.returncode == 0, p.stderr
    assert [ln.split() for ln in p.stdout.splitlines()] == [["0", str(alice.uid), "1"]]
    p = alice.gbx("run", "--rm", "--pids-limit", "10", "busybox", "true", outer=outer, wrap=nnp)
    assert p.returncode == 125 and "needs a cgroup" in p.stderr, p.stderr
    assert f"setup-user {alice.name}" in p.stderr
    assert alice.out("ps", "-a", "-q") == ""


def test_no_subuid_entry_runs_single_and_names_the_fix(users):
    carol = users["carol"]
    p = carol.gbx("run", "--rm", "busybox", "sh", "-c", "id -u; cat /proc/self/uid_map")
    assert p.returncode == 0, p.stderr
    assert p.stdout.split("\n")[1].split() == ["0", str(carol.uid), "1"]
    p = carol.gbx("run", "--rm", "busybox", "chown", "5", "/etc/passwd")
    assert p.returncode != 0 and "Invalid argument" in p.stderr   # only root exists
    p = carol.gbx("run", "--rm", "-u", "1000", "busybox", "true")
    assert p.returncode == 125 and "setup-user" in p.stderr
    assert carol.out("ps", "-a", "-q") == ""


def test_host_network_devices_and_low_ports_are_refused_clearly(users):
    alice = users["alice"]
    for args, what in ((["--network", "host"], "--network host"),
                       (["-p", "127.0.0.1:80:80"], "port 80"),
                       (["--privileged"], "--privileged"),
                       (["--device", "/dev/null"], "--device")):
        p = alice.gbx("run", "--rm", *args, "busybox", "true")
        assert p.returncode == 125 and what in p.stderr, (args, p.stderr)
    assert alice.out("ps", "-a", "-q") == ""
    assert _holder(alice) is None, "a refusal started the per-user netns holder"


def _free_port() -> int:
    import socket
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _holder(u: User) -> int | None:
    """The user's per-user network namespace holder (rootless/netns.py), if running."""
    for pid in u.owned_pids():
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                if b"glassbox-netns-holder" in f.read().split(b"\0"):
                    return pid
        except OSError:
            pass
    return None


def _host_links() -> set[str]:
    return set(os.listdir("/sys/class/net"))


def test_user_networks_names_and_published_ports_work_rootless(users):
    """alice's bridge lives in her own network namespace (the holder's), not the host's:
    containers on it find each other by name, a published port answers on the host's
    loopback, bob sees none of it, and once the last user of it is gone the holder
    (and with it the bridge and veths) is gone too."""
    import urllib.request
    alice, bob = users["alice"], users["bob"]
    tag = uuid.uuid4().hex[:6]
    net, web, port = f"lab-{tag}", f"web-{tag}", _free_port()
    alice.out("network", "create", net)
    try:
        holder = _holder(alice)
        assert holder is not None and _host_uid(holder) == alice.uid
        alice.out("run", "-d", "--name", web, "--network", net, "-p", f"127.0.0.1:{port}:80",
                  "busybox", "sh", "-c",
                  "mkdir /www && echo hello-from-alice > /www/index.html && "
                  "exec httpd -f -p 80 -h /www")
        got = alice.out("run", "--rm", "--network", net, "busybox", "sh", "-c",
                        f"for i in 1 2 3 4 5 6 7 8 9 10; do wget -qO- http://{web}/ && exit 0; "
                        "sleep 0.2; done; exit 1")
        assert got == "hello-from-alice\n"
        # no NAT to the outside: the holder's namespace has no way out — only loopback,
        # the bridge and the containers' veths, and no default route
        in_holder = ("nsenter", "-t", str(holder), "-n", "ip")
        links = subprocess.run([*in_holder, "-o", "-d", "link", "show"], capture_output=True,
                               text=True, check=True).stdout.splitlines()
        kinds = [("loopback" in ln and "lo") or (" bridge " in ln and "bridge") or
                 (" veth " in ln and "veth") or ln for ln in links]
        assert set(kinds) == {"lo", "bridge", "veth"}, links
        assert subprocess.run([*in_holder, "route", "show", "default"], capture_output=True,
                              text=True, check=True).stdout == ""
        names = {ln.split(": ")[1].split("@")[0] for ln in links} - {"lo"}
        body = b""
        for _ in range(50):
            try:
                body = urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=2).read()
                break
            except OSError:
                time.sleep(0.1)
        assert body == b"hello-from-alice\n"
        nets = json.loads(alice.out("inspect", web))[0]["NetworkSettings"]["Networks"]
        assert list(nets) == [net] and nets[net]["IPAddress"].count(".") == 3, nets
        # nothing of alice's network is on the host: no bridge, no veth (by name: other
        # tests running at the same time may add host links of their own)
        assert names and not names & _host_links(), names
        # bob has his own records and namespace: alice's network is not his
        assert net not in bob.out("network", "ls")
        p = bob.gbx("run", "--rm", "--network", net, "busybox", "true")
        assert p.returncode != 0 and net in p.stderr
        # a port taken on the host is refused by name; as in Docker the container
        # stays created, not running, and holds no address on the network
        p = alice.gbx("run", "-d", "--name", f"clash-{tag}", "--network", net,
                      "-p", f"127.0.0.1:{port}:80", "busybox", "sleep", "30")
        assert p.returncode == 125 and "port is already allocated" in p.stderr \
            and str(port) in p.stderr, p.stderr
        assert len(alice.out("ps", "-q").split()) == 1     # only web runs
        alice.out("rm", f"clash-{tag}")
        ends = json.loads(alice.out("network", "inspect", net))[0]["Containers"]
        assert len(ends) == 1, ends
    finally:
        alice.gbx("rm", "-f", web, f"clash-{tag}")
        alice.gbx("network", "rm", net)
    deadline = time.monotonic() + 10
    while _holder(alice) is not None and time.monotonic() < deadline:
        time.sleep(0.05)
    assert _holder(alice) is None, "the holder outlived the last network"
    assert net not in alice.out("network", "ls")


def test_newuidmap_refusing_is_named_and_leaves_nothing(users):
    """Fault injection: a ``newuidmap`` first on PATH that refuses, as the real one does
    when /etc/subuid and the request disagree (its own message is passed on)."""
    alice = users["alice"]
    tools = tempfile.mkdtemp(prefix="gbx-rootless-tools-")
    try:
        os.chmod(tools, 0o755)
        for name in ("newuidmap", "newgidmap"):
            path = os.path.join(tools, name)
            with open(path, "w") as f:
                f.write(f"#!/bin/sh\necho '{name}: uid range [1-65537) -> [100000-165536) "
                        "not allowed' >&2\nexit 1\n")
            os.chmod(path, 0o755)
        env = {"PATH": f"{tools}:/usr/bin:/bin:/usr/sbin:/sbin"}
        p = alice.gbx("run", "--rm", "busybox", "true", env=env)
        assert p.returncode == 125
        assert "newuidmap refused" in p.stderr and "not allowed" in p.stderr
        assert "/etc/subuid" in p.stderr
        assert alice.out("ps", "-a", "-q") == ""
    finally:
        shutil.rmtree(tools)


def test_disabled_user_namespaces_are_named(users):
    """user.max_user_namespaces = 0 — set inside a user namespace made for the test
    (the host's sysctl is never touched): what RHEL-style hosts do to disable them."""
    alice = users["alice"]
    code = ("import ctypes, os, sys\n"
            "r, w = os.pipe(); r2, w2 = os.pipe(); pid = os.fork()\n"
            "if pid == 0:\n"
            "    os.close(w)\n"
            "    assert ctypes.CDLL(None, use_errno=True).unshare(0x10000000) == 0\n"
            "    os.write(w2, b'1'); os.read(r, 1)\n"
            "    open('/proc/sys/user/max_user_namespaces', 'w').write('0')\n"
            "    os.execvp(sys.argv[1], sys.argv[1:])\n"
            "os.close(w2); os.read(r2, 1)\n"
            "for m in ('uid_map', 'gid_map'):\n"
            "    open(f'/proc/{pid}/{m}', 'w').write('0 0 4294967295')\n"
            "os.write(w, b'1'); _, st = os.waitpid(pid, 0)\n"
            "sys.exit(os.waitstatus_to_exitcode(st))\n")
    p = alice.gbx("run", "--rm", "busybox", "true", outer=(sys.executable, "-c", code))
    assert p.returncode == 125, p.stderr
    assert "user namespaces are disabled" in p.stderr
    assert "max_user_namespaces" in p.stderr
    assert alice.out("ps", "-a", "-q") == ""


def test_a_state_root_where_overlay_fails_in_a_userns_is_named(users, busybox_tar):
    """An overlay cannot be the upper filesystem of an overlay: a state root on one
    (the test's own mount, in its own directory) fails with the cause and the fix."""
    alice = users["alice"]
    base = tempfile.mkdtemp(prefix="gbx-rootless-ovl-")
    for d in ("l", "u", "w", "m"):
        os.mkdir(os.path.join(base, d))
    m = os.path.join(base, "m")
    subprocess.run(["mount", "-t", "overlay", "overlay", "-o",
                    f"lowerdir={base}/l,upperdir={base}/u,workdir={base}/w", m], check=True)
    try:
        os.chmod(base, 0o755)
        os.chown(m, alice.uid, alice.gid)
        env = {"GLASSBOX_ROOT": os.path.join(m, "root")}
        tar = os.path.join(m, "busybox.tar")
        shutil.copy(busybox_tar, tar)
        os.chmod(tar, 0o644)
        alice.out("import", tar, "busybox:latest", env=env)
        p = alice.gbx("run", "--rm", "busybox", "true", env=env)
        assert p.returncode == 125
        assert "overlay inside a user namespace" in p.stderr and "GLASSBOX_ROOT" in p.stderr
        assert alice.out("ps", "-a", "-q", env=env) == ""
    finally:
        subprocess.run(["umount", m], check=True)
        shutil.rmtree(base)


def test_a_missing_xdg_runtime_dir_is_named(users):
    alice = users["alice"]
    p = alice.gbx("daemon", env={"XDG_RUNTIME_DIR": f"/run/user/gone-{alice.uid}"}, timeout=20)
    assert p.returncode == 125
    assert f"XDG_RUNTIME_DIR=/run/user/gone-{alice.uid} does not exist" in p.stderr


# ------------------------------------------------------------------ delegation

@pytest.mark.skipif(not os.path.isdir("/sys/fs/cgroup/memory"), reason="cgroup v1 lane")
def test_setup_user_delegates_a_v1_subtree_then_limits_work(users):
    from glassbox.rootless import setup
    bob = users["bob"]
    p = bob.gbx("run", "--rm", "--memory", "64m", "busybox", "true")
    assert p.returncode == 125 and f"setup-user {bob.name}" in p.stderr
    p = bob.gbx("system", "setup-user", bob.name)            # not as root
    assert p.returncode == 125 and "must run as root" in p.stderr
    glassbox = os.path.join(os.path.dirname(sys.executable), "glassbox")
    p = subprocess.run([glassbox, "system", "setup-user", f"nosuch{uuid.uuid4().hex[:5]}"],
                       capture_output=True, text=True)
    assert p.returncode == 125 and "no such user" in p.stderr
    done = subprocess.run([glassbox, "system", "setup-user", bob.name], capture_output=True,
                          text=True)
    assert done.returncode == 0, done.stderr
    try:
        for hier in ("memory", "cpu", "pids", "freezer", "devices"):
            st = os.stat(f"/sys/fs/cgroup/{hier}/glassbox-user-{bob.uid}")
            assert st.st_uid == bob.uid
        assert "Cgroups: delegated (v1)" in bob.out("info")
        name = f"lim-{uuid.uuid4().hex[:6]}"
        cid = bob.out("run", "-d", "--name", name, "--memory", "64m", "--pids-limit", "20",
                      "busybox", "sleep", "300").strip()
        leaf = f"glassbox-user-{bob.uid}/glassbox/{cid}"
        with open(f"/sys/fs/cgroup/memory/{leaf}/memory.limit_in_bytes") as f:
            assert int(f.read()) == 64 << 20
        with open(f"/sys/fs/cgroup/pids/{leaf}/pids.max") as f:
            assert f.read().strip() == "20"
        with open(f"/sys/fs/cgroup/pids/{leaf}/cgroup.procs") as f:
            assert str(_pid(bob, name)) in f.read().split()
        stats = bob.out("stats", "--no-stream", name)
        assert "64MiB" in stats
        bob.out("update", "--memory", "96m", name)
        with open(f"/sys/fs/cgroup/memory/{leaf}/memory.limit_in_bytes") as f:
            assert int(f.read()) == 96 << 20
        bob.out("pause", name)
        with open(f"/sys/fs/cgroup/freezer/{leaf}/freezer.state") as f:
            assert f.read().strip() == "FROZEN"
        bob.out("unpause", name)
        # the device rules root wrote on the subtree are what the container inherits
        with open(f"/sys/fs/cgroup/devices/{leaf}/devices.list") as f:
            assert "a *:* rwm" not in f.read()
        bob.out("rm", "-f", name)
        assert not os.path.exists(f"/sys/fs/cgroup/memory/{leaf}")
        # idempotent
        again = subprocess.run([glassbox, "system", "setup-user", bob.name],
                               capture_output=True, text=True)
        assert again.returncode == 0 and "kept" in again.stdout
    finally:
        setup.remove(bob.name)
    assert not os.path.exists(f"/sys/fs/cgroup/memory/glassbox-user-{bob.uid}")
    assert "Cgroups: none" in bob.out("info")


@pytest.mark.skipif(os.path.isdir("/sys/fs/cgroup/memory") or
                    not os.path.exists("/sys/fs/cgroup/cgroup.controllers"),
                    reason="cgroup v2 only (make test-v2 V2_TESTS='tests/system/test_rootless.py "
                           "-k v2')")
def test_setup_user_delegates_a_v2_subtree_then_limits_work(users, busybox_tar):
    """v2: a process may only be moved between cgroups whose common ancestor the mover
    may write, so the user's commands start in a leaf of their delegated subtree (what
    systemd's user@.service gives a login). The state root is on a tmpfs of the test's
    own (the lane's root is an overlay, which cannot be an overlay's upper)."""
    from glassbox.rootless import setup
    bob = users["bob"]
    glassbox = os.path.join(os.path.dirname(sys.executable), "glassbox")
    done = subprocess.run([glassbox, "system", "setup-user", bob.name], capture_output=True,
                          text=True)
    assert done.returncode == 0, done.stderr
    sub = f"/sys/fs/cgroup/glassbox-user-{bob.uid}"
    session = os.path.join(sub, "session")
    state = tempfile.mkdtemp(prefix="gbx-rootless-v2-")
    subprocess.run(["mount", "-t", "tmpfs", "-o", "mode=755", "tmpfs", state], check=True)
    try:
        os.mkdir(session)
        for f in ("", "cgroup.procs"):
            os.chown(os.path.join(session, f), bob.uid, bob.gid)
        os.chown(state, bob.uid, bob.gid)
        env = {"GLASSBOX_ROOT": os.path.join(state, "root")}
        inside = ("sh", "-c", f'echo $$ > {session}/cgroup.procs && exec "$@"', "sh")
        tar = os.path.join(state, "busybox.tar")
        shutil.copy(busybox_tar, tar)
        os.chmod(tar, 0o644)
        bob.out("import", tar, "busybox:latest", env=env, outer=inside)
        assert "Cgroups: delegated (v2)" in bob.out("info", env=env, outer=inside)
        name = f"lim2-{uuid.uuid4().hex[:6]}"
        cid = bob.out("run", "-d", "--name", name, "--memory", "64m", "--pids-limit", "20",
                      "busybox", "sleep", "300", env=env, outer=inside).strip()
        leaf = os.path.join(sub, "glassbox", cid)
        with open(os.path.join(leaf, "memory.max")) as f:
            assert int(f.read()) == 64 << 20
        with open(os.path.join(leaf, "pids.max")) as f:
            assert f.read().strip() == "20"
        assert "64MiB" in bob.out("stats", "--no-stream", name, env=env, outer=inside)
        bob.out("rm", "-f", name, env=env, outer=inside)
        assert not os.path.exists(leaf)
    finally:
        subprocess.run(["umount", state], check=True)
        os.rmdir(state)
        deadline = time.monotonic() + 10
        while os.path.isdir(session) and time.monotonic() < deadline:
            try:
                os.rmdir(session)
            except OSError:
                time.sleep(0.1)
        setup.remove(bob.name)
    assert not os.path.exists(sub)


TOUR_RUN = """
import sys, nbformat
from nbclient import NotebookClient
nb = nbformat.read(sys.argv[1], as_version=4)
NotebookClient(nb, timeout=180, kernel_name="python3",
               resources={"metadata": {"path": sys.argv[2]}}).execute()
nbformat.write(nb, sys.argv[3])
"""


@pytest.mark.skipif(not os.path.isdir("/sys/fs/cgroup/memory"),
                    reason="cgroup v1 lane (a v2 delegation needs the kernel inside it)")
def test_the_tour_notebook_runs_as_the_user(users):
    """notebooks/00-tour.ipynb top to bottom in a Jupyter kernel of alice's (nbclient,
    as alice): build, run, a memory limit changed live, the OOM kill, the charts —
    with her delegated cgroup subtree; no cell shows a glassbox error."""
    pytest.importorskip("nbclient")
    import nbformat
    from glassbox.rootless import setup
    alice = users["alice"]
    work = tempfile.mkdtemp(prefix="gbx-rootless-tour-")
    setup.setup_user(alice.name)
    try:
        os.chmod(work, 0o755)
        os.chown(work, alice.uid, alice.gid)
        tour = shutil.copy(os.path.join(REPO, "notebooks", "00-tour.ipynb"), work)
        os.chmod(tour, 0o644)
        out = os.path.join(work, "out.ipynb")
        p = alice.sh("env", "-i", *alice.env(MPLBACKEND="module://matplotlib_inline.backend_"
                                             "inline"), PYTHON, "-c", TOUR_RUN, tour, work, out,
                     timeout=900)
        assert p.returncode == 0, p.stderr[-3000:]
        nb = nbformat.read(out, as_version=4)
        text = ""
        for c in nb.cells:
            for o in c.get("outputs", []):
                text += o.get("text", "") + "".join(
                    v for k, v in (o.get("data") or {}).items() if k.startswith("text/"))
        assert "<b>Error:</b>" not in text, text[-3000:]
        assert "Successfully tagged tour:1" in text and "exit code 0" in text
        assert "cgroup memory limit now: 96 MiB" in text
    finally:
        alice.gbx("rm", "-f", *alice.gbx("ps", "-a", "-q").stdout.split())
        alice.gbx("rmi", "-f", "tour:1", "tour:2")
        shutil.rmtree(work)
        setup.remove(alice.name)


@pytest.mark.parametrize("who", ["alice", "carol"])
def test_a_healthcheck_runs_inside_a_rootless_container(users, who):
    """The C monitor's probe joins the container's user namespace first (with
    subordinate ids, and with the single-id map where setgroups is denied)."""
    u = users[who]
    name = f"hc-{uuid.uuid4().hex[:6]}"
    u.out("run", "-d", "--name", name, "--health-cmd", "test -e /proc/1/status && id -u",
          "--health-interval", "1s", "busybox", "sleep", "60")
    deadline = time.monotonic() + 30
    health: dict = {}
    while time.monotonic() < deadline:
        health = json.loads(u.out("inspect", name))[0]["State"].get("Health") or {}
        if health.get("Status") in ("healthy", "unhealthy"):
            break
        time.sleep(0.3)
    assert health.get("Status") == "healthy", health
    assert health["Log"][-1]["Output"].strip() == "0", health["Log"][-1]
    u.out("rm", "-f", name)


# ------------------------------------------------------------------ logging out and back in

def _session_pids(u: User, word: str) -> list[int]:
    """The user's glassbox processes whose command line has ``word`` (``daemon``, ``agent``)."""
    out = []
    for pid in u.owned_pids():
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                argv = f.read().split(b"\0")
        except OSError:
            continue
        if b"glassbox.cli.main" in argv and word.encode() in argv:
            out.append(pid)
    return out


def _runtime_dir(base: str, u: User, n: int) -> str:
    """What a login manager makes at login: ``/run/user/<uid>``, the user's, 0700."""
    path = os.path.join(base, f"{u.uid}-{n}")
    os.mkdir(path, 0o700)
    os.chown(path, u.uid, u.gid)
    return path


def _wait_socket(path: str, proc: subprocess.Popen) -> None:
    deadline = time.monotonic() + 30
    while not os.path.exists(path) and time.monotonic() < deadline:
        assert proc.poll() is None, proc.stderr.read() if proc.stderr else proc.returncode
        time.sleep(0.1)
    assert os.path.exists(path), f"{path} never appeared"


def test_state_survives_logging_out_and_back_in(users):
    """What glassbox promises across a logout, and what it does not.

    A login manager (systemd-logind) makes ``$XDG_RUNTIME_DIR`` (``/run/user/<uid>``,
    0700) at the first login and removes it at the last logout, and ends the
    session's processes. Here the test plays logind: its own runtime dirs, and at
    "logout" it SIGKILLs the session processes it started — the warm agent and the
    daemon — and removes the runtime dir.

    The promise: everything that matters lives in the state root
    (``~/.local/share/glassbox``), never in the runtime dir — images, containers,
    volumes, network records, and the per-user network namespace holder's record
    (``rootless/netns.py``), so a container, the holder or a port proxy outliving
    the session is found again from a fresh runtime dir. Only sockets of processes
    that die with the session live there (the daemon's). Detached containers are
    *not* part of the session: their shim/monitor is in a session of its own, so
    with logind's default on Debian (``KillUserProcesses=no``) they keep running, as
    podman's containers do with lingering. Where logind kills every process of the
    user (``KillUserProcesses=yes``, or systemd stopping ``user@.service`` without
    lingering) a container dies with them: at the next login it is shown *exited*
    (137, "container monitor is gone") and ``rm`` still cleans it up — the second
    container here, whose monitor and init the test kills at logout. Nothing
    restarts it: glassbox has no service manager to come back with the user.
    """
    import signal
    import urllib.request
    alice = users["alice"]
    tag = uuid.uuid4().hex[:6]
    net, vol, web, doomed = f"n{tag}", f"v{tag}", f"web-{tag}", f"doomed-{tag}"
    port = _free_port()
    base = tempfile.mkdtemp(prefix="gbx-rootless-run-")       # stands for /run/user
    os.chmod(base, 0o755)
    daemon = None
    try:
        # ---- the first session
        run1 = _runtime_dir(base, alice, 1)
        env = {"XDG_RUNTIME_DIR": run1}
        alice.out("volume", "create", vol, env=env)
        alice.out("network", "create", net, env=env)
        alice.out("run", "-d", "--name", web, "--network", net, "-v", f"{vol}:/www",
                  "-p", f"127.0.0.1:{port}:80", "busybox", "sh", "-c",
                  "echo kept > /www/f && echo started && exec httpd -f -p 80 -h /www", env=env)
        alice.out("run", "-d", "--name", doomed, "--network", net, "busybox", "sleep", "300",
                  env=env)
        holder = _holder(alice)
        assert holder is not None
        agent_env = {**env, "GLASSBOX_AGENT": None}              # commands use the agent
        assert "agent running" in alice.out("agent", "start", env=agent_env)
        # the agent's socket is a runtime file: beside the daemon's, not in the state root
        assert os.path.exists(os.path.join(run1, "glassbox", "agent.sock"))
        assert not os.path.exists(os.path.join(alice.root, "agent.sock"))
        assert web in alice.out("ps", env=agent_env)
        daemon = subprocess.Popen(alice.argv(["daemon"], env=env), stdout=subprocess.DEVNULL,
                                  stderr=subprocess.PIPE, cwd="/")
        _wait_socket(os.path.join(run1, "glassbox", "glassbox.sock"), daemon)
        session = _session_pids(alice, "agent") + _session_pids(alice, "daemon")
        assert len(session) >= 2, session
        cid = alice.out("inspect", "-f", "{{.Id}}", doomed, env=env).strip()
        with open(os.path.join(alice.root, "containers", cid, "state.json")) as f:
            st = json.load(f)
        doomed_pids = [st["ShimPid"], st["Pid"]]              # its monitor, its init

        # ---- logout: the session's processes end (and one container with them,
        # as KillUserProcesses=yes would), the runtime dir goes
        for pid in session + doomed_pids:
            os.kill(pid, signal.SIGKILL)
        daemon.wait(timeout=30)
        daemon = None
        deadline = time.monotonic() + 10
        while (_session_pids(alice, "agent") or _session_pids(alice, "daemon")
               or any(os.path.exists(f"/proc/{p}") for p in doomed_pids)) \
                and time.monotonic() < deadline:
            time.sleep(0.05)
        shutil.rmtree(run1)

        # ---- login again, with a fresh runtime dir
        run2 = _runtime_dir(base, alice, 2)
        env = {"XDG_RUNTIME_DIR": run2}
        agent_env = {**env, "GLASSBOX_AGENT": None}
        rows = dict(line.split(None, 1) for line in alice.out(
            "ps", "-a", "--format", "{{.Names}} {{.Status}}", env=agent_env).splitlines())
        assert rows[web].startswith("Up"), rows
        assert rows[doomed].startswith("Exited (137)"), rows
        assert alice.out("inspect", "-f", "{{.State.Error}}", doomed, env=env).strip() == \
            "container monitor is gone"
        assert alice.out("exec", web, "cat", "/www/f", env=env) == "kept\n"
        assert alice.out("logs", web, env=env) == "started\n"
        # the same network namespace: the holder is found again, not made anew
        got = alice.out("run", "--rm", "--network", net, "busybox", "wget", "-qO-",
                        f"http://{web}/f", env=env)
        assert got == "kept\n"
        assert _holder(alice) == holder
        assert urllib.request.urlopen(f"http://127.0.0.1:{port}/f", timeout=5).read() == b"kept\n"
        # the agent and the daemon start again on the new session
        assert "agent running" in alice.out("agent", "start", env=agent_env)
        assert alice.out("volume", "ls", "-q", env=agent_env).split() == [vol]
        daemon = subprocess.Popen(alice.argv(["daemon"], env=env), stdout=subprocess.DEVNULL,
                                  stderr=subprocess.PIPE, cwd="/")
        sock = os.path.join(run2, "glassbox", "glassbox.sock")
        _wait_socket(sock, daemon)
        docker = ("env", "-i", f"HOME={alice.home}", "PATH=/usr/bin:/bin:/usr/local/bin",
                  f"DOCKER_HOST=unix://{sock}", "docker")     # the docker CLI, a real peer
        p = alice.sh(*docker, "ps", "-a", "--format", "{{.Names}} {{.State}}")
        assert p.returncode == 0, p.stderr
        assert sorted(p.stdout.split("\n")[:-1]) == sorted([f"{web} running",
                                                            f"{doomed} exited"]), p.stdout
        p = alice.sh(*docker, "run", "--rm", "busybox", "cat", "/proc/self/uid_map")
        assert p.returncode == 0, p.stderr
        assert p.stdout.split("\n")[0].split() == ["0", str(alice.uid), "1"], p.stdout
        p = alice.sh(*docker, "exec", web, "cat", "/www/f")
        assert p.returncode == 0 and p.stdout == "kept\n", p.stderr
        # everything goes, the usual way
        alice.out("rm", "-f", web, doomed, env=agent_env)
        alice.out("network", "rm", net, env=agent_env)
        alice.out("volume", "rm", vol, env=agent_env)
        assert alice.out("agent", "stop", env=env) == ""
        daemon.send_signal(signal.SIGTERM)
        daemon.wait(timeout=30)
        daemon = None
        assert not os.path.exists(sock)
        assert alice.out("ps", "-a", "-q", env=env) == ""
        assert net not in alice.out("network", "ls", env=env)
        deadline = time.monotonic() + 10
        while _holder(alice) is not None and time.monotonic() < deadline:
            time.sleep(0.05)
        assert _holder(alice) is None, "the holder outlived the last network"
        p = alice.gbx("network", "rm", f"nosuch-{tag}", env=env)   # a failed network verb
        assert p.returncode != 0 and f"nosuch-{tag}" in p.stderr
        assert _holder(alice) is None, "a failed network verb left the holder it started"
    finally:
        if daemon is not None:
            daemon.kill()
            daemon.wait(timeout=30)
        for word in ("agent", "daemon"):
            for pid in _session_pids(alice, word):
                os.kill(pid, signal.SIGKILL)
        alice.gbx("rm", "-f", web, doomed)
        alice.gbx("network", "rm", net)
        alice.gbx("volume", "rm", vol)
        shutil.rmtree(base)


def _lab_get(port: int, token: str, path: str, body: dict | None = None):
    import urllib.request
    req = urllib.request.Request(f"http://127.0.0.1:{port}/glassbox/{path}",
                                 method="GET" if body is None else "POST",
                                 headers={"Authorization": f"token {token}"},
                                 data=None if body is None else json.dumps(body).encode())
    with urllib.request.urlopen(req, timeout=30) as r:
        return json.loads(r.read() or b"null")


def test_the_lab_panels_server_part_serves_a_rootless_user(users):
    """The labext panel's server part (``glassbox.lab`` in alice's own jupyter_server,
    over real HTTP on loopback): it shows her state root and her containers — with
    the container's own user namespace, not the host's — and its actions act on them."""
    pytest.importorskip("jupyter_server")
    import secrets
    import urllib.error
    alice = users["alice"]
    name, port, token = f"lab-{uuid.uuid4().hex[:6]}", _free_port(), secrets.token_hex(16)
    alice.out("run", "-d", "--name", name, "busybox", "sh", "-c", "echo hello-lab; sleep 300")
    server = subprocess.Popen(
        ["runuser", "-u", alice.name, "--", "env", "-i", *alice.env(), PYTHON, "-m",
         "jupyter_server", "--ServerApp.ip=127.0.0.1", f"--ServerApp.port={port}",
         "--ServerApp.port_retries=0", f"--IdentityProvider.token={token}",
         "--ServerApp.open_browser=False", "--ServerApp.jpserver_extensions={'glassbox.lab': True}",
         f"--ServerApp.root_dir={alice.home}"],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, cwd="/")
    try:
        status = None
        deadline = time.monotonic() + 90
        while status is None and time.monotonic() < deadline:
            assert server.poll() is None, server.stderr.read().decode()[-2000:]
            try:
                status = _lab_get(port, token, "status")
            except urllib.error.HTTPError as e:       # up, but answering an error
                server.terminate()
                pytest.fail(f"GET /glassbox/status: {e.code}: "
                            f"{server.communicate(timeout=30)[1].decode()[-3000:]}")
            except OSError:
                time.sleep(0.3)
        assert status is not None, "the lab server never answered"
        rows = _lab_get(port, token, "containers")
        row = next(r for r in rows if r["name"] == name)
        assert row["state"] == "running"
        detail = _lab_get(port, token, f"containers/{name}")
        assert f"GLASSBOX_ROOT={alice.root}" in detail["exec_command"]   # her state root
        ns = _lab_get(port, token, f"containers/{name}/namespaces")
        kinds = {r["kind"]: r for r in ns["rows"]}
        assert kinds["user"]["shared"] is False              # rootless: its own userns
        assert ns["pid"] == _pid(alice, name) and _host_uid(ns["pid"]) == alice.uid
        page = _lab_get(port, token, f"containers/{name}/logs")
        assert [ln["text"].strip() for ln in page["lines"]] == ["hello-lab"]
        _lab_get(port, token, f"containers/{name}/rm", {"force": True})
        assert name not in alice.out("ps", "-a")
    finally:
        server.terminate()
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait(timeout=30)
        alice.gbx("rm", "-f", name)
        for pid in alice.owned_pids():      # runuser's child, if the signal stopped at it
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                if b"jupyter_server" in f.read().split(b"\0"):
                    os.kill(pid, 9)
