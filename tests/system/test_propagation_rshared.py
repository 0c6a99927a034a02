"""``rshared`` binds reach back to the host, as Docker's do (glassbox.rootfs.propagation).

``glassbox run --privileged -v SRC:/dst:rshared busybox mount -t tmpfs none /dst/sub``
leaves ``SRC/sub`` a tmpfs on the host; with ``rprivate`` or ``rslave`` the container's
mount stays inside; host mounts under SRC reach the container for ``rshared`` and
``rslave``; a source on a private mount is refused with Docker's words, exit 125,
and nothing made.

The host side is the test's own: a tmp directory bound onto itself and made shared.
Whatever propagated into it is unmounted at the end, then the bind itself; the
``gbx`` fixture checks shims, cgroups and mounts of the state root.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import tempfile
import uuid

import pytest

pytestmark = pytest.mark.system

MAKE_SUB = "mkdir -p /dst/sub && mount -t tmpfs -o size=1m none /dst/sub && touch /dst/sub/x"


def _mountinfo(path: str) -> list[dict]:
    """The host's mounts at or below ``path``: point, fstype and propagation tags."""
    out = []
    with open("/proc/self/mountinfo") as f:
        for line in f:
            fields = line.split()
            sep = fields.index("-")
            point = fields[4].replace("\\040", " ")
            if point == path or point.startswith(path.rstrip("/") + "/"):
                out.append({"point": point, "fstype": fields[sep + 1],
                            "tags": set(fields[6:sep])})
    return out


def _unmount_under(path: str) -> None:
    """Unmount what is mounted below ``path`` (the test's own directory), deepest first."""
    for m in sorted(_mountinfo(path), key=lambda m: -m["point"].count("/")):
        if m["point"] != path:
            subprocess.run(["umount", "-l", m["point"]], capture_output=True)


def _peer_group(tags: set[str]) -> str:
    return next((t for t in tags if t.startswith("shared:")), "")


@contextlib.contextmanager
def _shared(src: str):
    """``src`` bound on itself and made a shared mount; afterwards whatever propagated
    into it unmounted, then the bind, and nothing of it left in the mount table."""
    subprocess.run(["mount", "--bind", src, src], check=True)
    try:
        subprocess.run(["mount", "--make-shared", src], check=True)
        yield src
    finally:
        _unmount_under(src)
        subprocess.run(["umount", src], check=True)
    assert _mountinfo(src) == [], "the test's own mounts were left behind"


@pytest.fixture
def shared_src(tmp_path):
    """A directory of the test's, bound on itself and made a shared mount."""
    src = str(tmp_path / f"src-{uuid.uuid4().hex[:6]}")
    os.makedirs(src)
    with _shared(src):
        yield src


@pytest.mark.parametrize("how", ["-v", "--mount"])
def test_a_mount_the_container_makes_under_an_rshared_bind_appears_on_the_host(
        gbx, shared_src, how):
    flag = ["-v", f"{shared_src}:/dst:rshared"] if how == "-v" else \
        ["--mount", f"type=bind,src={shared_src},dst=/dst,bind-propagation=rshared"]
    out = gbx.out("run", "--rm", "--privileged", *flag, "busybox", "sh", "-c",
                  MAKE_SUB + " && grep ' /dst ' /proc/self/mountinfo")
    # the container's /dst is in the *host's* peer group (peer group ids are global)
    host_group = _peer_group(_mountinfo(shared_src)[0]["tags"])
    assert host_group and host_group in out.split(), (host_group, out)
    sub = os.path.join(shared_src, "sub")
    mounts = [m for m in _mountinfo(sub) if m["point"] == sub]
    assert [m["fstype"] for m in mounts] == ["tmpfs"], _mountinfo(shared_src)
    assert os.listdir(sub) == ["x"]                  # the container's file, on the host
    subprocess.run(["umount", sub], check=True)
    assert os.listdir(sub) == []                     # it was in the tmpfs, not the dir


@pytest.mark.parametrize("mode", ["rprivate", "rslave"])
def test_with_rprivate_or_rslave_the_containers_mount_stays_inside(gbx, shared_src, mode):
    out = gbx.out("run", "--rm", "--privileged", "-v", f"{shared_src}:/dst:{mode}", "busybox",
                  "sh", "-c", MAKE_SUB + " && ls /dst/sub && grep -c ' /dst/sub ' "
                  "/proc/self/mountinfo")
    assert out.split() == ["x", "1"], out            # it was mounted, inside
    sub = os.path.join(shared_src, "sub")
    assert [m["point"] for m in _mountinfo(shared_src)] == [shared_src]   # not on the host
    assert os.listdir(sub) == []


def test_host_mounts_reach_rshared_and_rslave_binds(gbx, shared_src):
    names = {mode: gbx.out("run", "-d", "-v", f"{shared_src}:/dst:{mode}", "busybox",
                           "sleep", "600").strip() for mode in ("rshared", "rslave")}
    sub = os.path.join(shared_src, "later")
    os.makedirs(sub)
    try:
        subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "gbxlater", sub], check=True)
        with open(os.path.join(sub, "hello"), "w") as f:
            f.write("from the host\n")
        for mode, cid in names.items():
            assert gbx.out("exec", cid, "cat", "/dst/later/hello") == "from the host\n", mode
    finally:
        gbx.cli("rm", "-f", *names.values())


def test_a_read_only_rshared_bind_still_shares_and_the_host_stays_writable(gbx, shared_src):
    os.makedirs(os.path.join(shared_src, "sub"))
    out = gbx.out("run", "--rm", "--privileged", "-v", f"{shared_src}:/dst:ro,rshared",
                  "busybox", "sh", "-c", "touch /dst/no 2>/dev/null; echo rc=$?; "
                  "mount -t tmpfs -o size=1m none /dst/sub && touch /dst/sub/x && echo ok")
    assert out.split() == ["rc=1", "ok"], out        # read-only inside, mounts still allowed
    assert os.listdir(os.path.join(shared_src, "sub")) == ["x"]
    with open(os.path.join(shared_src, "hostfile"), "w") as f:   # the ro stayed inside
        f.write("x")


@pytest.fixture
def private_src(tmp_path):
    """A directory of the test's on a private mount of its own."""
    src = str(tmp_path / f"priv-{uuid.uuid4().hex[:6]}")
    os.makedirs(os.path.join(src, "sub"))
    subprocess.run(["mount", "--bind", src, src], check=True)
    try:
        subprocess.run(["mount", "--make-private", src], check=True)
        yield src
    finally:
        subprocess.run(["umount", src], check=True)


def test_a_private_source_is_refused_with_dockers_words_and_nothing_is_made(gbx, private_src):
    sub = os.path.join(private_src, "sub")
    cases = [
        (["-v", f"{private_src}:/d:rshared"],
         f"path {private_src} is mounted on {private_src} but it is not a shared mount"),
        (["--mount", f"type=bind,src={sub},dst=/d,bind-propagation=rshared"],
         f"path {sub} is mounted on {private_src} but it is not a shared mount"),
        (["-v", f"{sub}:/d:shared"],
         f"path {sub} is mounted on {private_src} but it is not a shared mount"),
        (["-v", f"{private_src}:/d:rslave"],
         f"path {private_src} is mounted on {private_src} but it is not a shared or slave "
         "mount"),
    ]
    for flags, words in cases:
        p = gbx.cli("run", "--rm", "--privileged", *flags, "busybox", "true")
        assert p.returncode == 125, (flags, p.returncode, p.stderr)
        assert words in p.stderr.decode(), (flags, p.stderr)
    assert gbx.engine.containers.list(all=True) == []
    cdir = os.path.join(gbx.root, "containers")
    assert not os.path.isdir(cdir) or [e for e in os.listdir(cdir) if e != ".trash"] == []
    assert [m["point"] for m in _mountinfo(private_src)] == [private_src]
    assert os.listdir(private_src) == ["sub"]


def test_a_nested_directory_of_a_shared_mount_shares_only_below_it(gbx, shared_src):
    """The source need not be a mount point: a sub-directory of a shared mount is
    bound as a peer too, and a mount inside lands at the same place below it."""
    inner = os.path.join(shared_src, "inner")
    os.makedirs(inner)
    gbx.out("run", "--rm", "--privileged", "-v", f"{inner}:/dst:rshared", "busybox", "sh",
            "-c", MAKE_SUB)
    sub = os.path.join(inner, "sub")
    assert [m["fstype"] for m in _mountinfo(sub)] == ["tmpfs"], _mountinfo(shared_src)
    assert os.listdir(sub) == ["x"]


# ---- user namespaces: the host's mounts come in, nothing goes out -------------------------
from test_rootless import PYTHON, people, users  # noqa: E402,F401 — the rootless users
from test_userns_private import priv  # noqa: E402,F401 — a private id range for root


def _later(src: str) -> str:
    """Mount a tmpfs at ``src/later`` on the host with a file in it (the host → container
    direction); the fixture's clean-up unmounts it."""
    later = os.path.join(src, "later")
    os.makedirs(later, exist_ok=True)
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "gbxlater", later], check=True)
    with open(os.path.join(later, "hello"), "w") as f:
        f.write("from the host\n")
    return later


@pytest.fixture
def open_shared_src():
    """A shared directory any user may enter and write (a rootless container's root is
    an ordinary uid): made with mkdtemp in /tmp, as pytest's own tmp is root-only."""
    src = tempfile.mkdtemp(prefix="gbx-rshared-")
    try:
        os.chmod(src, 0o1777)
        with _shared(src):
            yield src
    finally:
        shutil.rmtree(src)


@pytest.mark.skipif(PYTHON is None or not shutil.which("runuser") or not shutil.which("useradd"),
                    reason="needs runuser, useradd and a Python other users can run")
def test_rootless_rshared_bind_follows_the_host_and_its_own_mounts_stay_inside(
        users, open_shared_src):
    alice, src = users["alice"], open_shared_src
    n = f"rsh-{uuid.uuid4().hex[:6]}"
    alice.out("run", "-d", "--name", n, "--cap-add", "SYS_ADMIN", "--security-opt",
              "seccomp=unconfined", "-v", f"{src}:/dst:rshared", "busybox", "sleep", "600")
    try:
        _later(src)
        assert alice.out("exec", n, "cat", "/dst/later/hello") == "from the host\n"
        out = alice.out("exec", n, "sh", "-c", MAKE_SUB + " && ls /dst/sub")
        assert out == "x\n"                         # mounted inside ...
        assert os.listdir(os.path.join(src, "sub")) == []        # ... and not on the host
        assert sorted(m["point"] for m in _mountinfo(src)) == [src, os.path.join(src, "later")]
    finally:
        alice.gbx("rm", "-f", n)


def test_userns_private_rshared_bind_follows_the_host_and_cannot_mount(priv, shared_src):
    n = f"rsp-{uuid.uuid4().hex[:6]}"
    priv.out("run", "-d", "--name", n, "--userns=private", "--cap-add", "SYS_ADMIN",
             "--security-opt", "seccomp=unconfined", "-v", f"{shared_src}:/dst:rshared",
             "busybox", "sleep", "600")
    try:
        _later(shared_src)
        assert priv.out("exec", n, "cat", "/dst/later/hello") == "from the host\n"
        os.makedirs(os.path.join(shared_src, "sub"))
        p = priv.cli("exec", n, "mount", "-t", "tmpfs", "none", "/dst/sub")
        assert p.returncode != 0, p.stdout         # root of a child user namespace: EPERM
        assert [m["point"] for m in _mountinfo(shared_src)] == \
            [shared_src, os.path.join(shared_src, "later")]
    finally:
        priv.cli("rm", "-f", n)


def test_a_source_made_private_after_create_is_refused_at_start(gbx, shared_src):
    """Checked again at every start, as Docker does: a clone of a private mount would
    share nothing."""
    cid = gbx.out("create", "-v", f"{shared_src}:/dst:rshared", "busybox", "true").strip()
    try:
        subprocess.run(["mount", "--make-private", shared_src], check=True)
        p = gbx.cli("start", "-a", cid)
        words = f"path {shared_src} is mounted on {shared_src} but it is not a shared mount"
        assert p.returncode == 125 and words in p.stderr.decode(), (p.returncode, p.stderr)
        subprocess.run(["mount", "--make-shared", shared_src], check=True)
        assert gbx.cli("start", "-a", cid).returncode == 0     # shared again: it starts
    finally:
        gbx.cli("rm", "-f", cid)
