"""``cp`` and ``export`` against real containers: running (through /proc/<pid>/root,
volumes included) and stopped (the helper's private mount namespace), Docker's
path rules, read-only roots, hostile archives — and symlinks swapped while ``cp``
runs (the CVE-2018-15664 class), which must never reach the host."""

from __future__ import annotations

import io
import os
import tarfile
import threading
import uuid

import pytest

from glassbox.errors import Conflict, InvalidArgument, NotFound

pytestmark = pytest.mark.system


def uname(prefix="c"):
    return f"{prefix}{uuid.uuid4().hex[:10]}"


def run_d(gbx, *args) -> str:
    name = uname()
    gbx.out("run", "-d", "--name", name, *args)
    return name


def tar_of(entries: dict) -> io.BytesIO:
    """{name: bytes | ("sym", target) | ("dir",)} -> a tar in memory."""
    b = io.BytesIO()
    with tarfile.open(fileobj=b, mode="w") as t:
        for name, what in entries.items():
            ti = tarfile.TarInfo(name)
            if isinstance(what, bytes):
                ti.size = len(what)
                t.addfile(ti, io.BytesIO(what))
            elif what[0] == "sym":
                ti.type, ti.linkname = tarfile.SYMTYPE, what[1]
                t.addfile(ti)
            else:
                ti.type, ti.mode = tarfile.DIRTYPE, 0o755
                t.addfile(ti)
    b.seek(0)
    return b


def get_tar(gbx, ref, path) -> tarfile.TarFile:
    b = io.BytesIO()
    gbx.engine.archive_get(ref, path, b)
    b.seek(0)
    return tarfile.open(fileobj=b)


def test_cp_both_ways_running_and_stopped(gbx, tmp_path):
    eng = gbx.engine
    name = run_d(gbx, "busybox", "sleep", "300")
    src = tmp_path / "src"
    (src / "sub").mkdir(parents=True)
    (src / "sub" / "a").write_text("A")
    (src / "top").write_text("T")
    gbx.out("cp", str(src), f"{name}:/copied")            # a new path: src becomes it
    gbx.out("cp", str(src / "top"), f"{name}:/tmp/")       # into a directory
    gbx.out("cp", f"{src}/.", f"{name}:/tmp")              # contents only
    out = gbx.out("exec", name, "sh", "-c",
                  "cat /copied/sub/a /tmp/top /tmp/sub/a; stat -c %u /copied/top")
    assert out == "ATA0\n"                                  # root-owned, as docker cp
    # what the container wrote comes out; the stat header is Docker's
    gbx.out("exec", name, "sh", "-c", "mkdir -p /out && echo made > /out/f && "
            "ln -s /out/f /out/link")
    st = eng.archive_stat(name, "/out/link")
    assert st["name"] == "link" and st["linkTarget"] == "/out/f"
    assert st["mode"] & (1 << 27)                           # Go's os.ModeSymlink
    assert eng.archive_stat(name, "/out")["mode"] & (1 << 31)
    dest = tmp_path / "back"
    gbx.out("cp", f"{name}:/out", str(dest))
    assert (dest / "f").read_text() == "made\n" and os.readlink(dest / "link") == "/out/f"
    names = get_tar(gbx, name, "/out/.").getnames()
    assert sorted(names) == [".", "./f", "./link"]
    # the R/W layer holds the copies (not the image)
    upper = eng.containers.get(name).config["Spec"]["upper_dir"]
    assert os.path.exists(os.path.join(upper, "copied", "sub", "a"))

    gbx.out("stop", "-t", "1", name)
    (src / "top").write_text("T2")
    gbx.out("cp", str(src / "top"), f"{name}:/copied/top")  # a stopped container too
    assert get_tar(gbx, name, "/copied/top").extractfile("top").read() == b"T2"
    exported = tarfile.open(fileobj=_export(eng, name)).getnames()
    assert "copied/sub/a" in exported and "out/link" in exported and "bin/busybox" in exported
    gbx.out("rm", name)


def _export(eng, ref) -> io.BytesIO:
    b = io.BytesIO()
    eng.export(ref, b)
    b.seek(0)
    return b


def test_cp_into_a_volume_under_the_path(gbx, tmp_path):
    vol = uname("v")
    gbx.out("volume", "create", vol)
    name = run_d(gbx, "-v", f"{vol}:/data", "busybox", "sleep", "300")
    gbx.engine.archive_put(name, "/data", tar_of({"in-volume": b"V"}))
    data = gbx.engine.volumes.data_dir(vol)
    assert open(os.path.join(data, "in-volume")).read() == "V"
    upper = gbx.engine.containers.get(name).config["Spec"]["upper_dir"]
    assert not os.path.exists(os.path.join(upper, "data", "in-volume"))
    gbx.out("stop", "-t", "1", name)
    # stopped: the helper mounts the volume where the container has it
    gbx.engine.archive_put(name, "/data", tar_of({"second": b"2"}))
    assert open(os.path.join(data, "second")).read() == "2"
    assert get_tar(gbx, name, "/data/in-volume").extractfile("in-volume").read() == b"V"
    gbx.out("rm", name)
    gbx.out("volume", "rm", vol)


def test_read_only_rootfs_refuses_but_a_volume_takes_it(gbx):
    vol = uname("v")
    gbx.out("volume", "create", vol)
    name = run_d(gbx, "--read-only", "-v", f"{vol}:/data", "busybox", "sleep", "300")
    with pytest.raises(Conflict, match="read-only"):
        gbx.engine.archive_put(name, "/tmp", tar_of({"x": b"x"}))
    gbx.engine.archive_put(name, "/data", tar_of({"ok": b"ok"}))
    gbx.out("stop", "-t", "1", name)
    with pytest.raises(Conflict, match="read-only"):
        gbx.engine.archive_put(name, "/tmp", tar_of({"x": b"x"}))
    upper = gbx.engine.containers.get(name).config["Spec"]["upper_dir"]
    assert not os.path.exists(os.path.join(upper, "tmp", "x"))
    gbx.out("rm", name)
    gbx.out("volume", "rm", vol)


def test_docker_path_rules_and_bad_input(gbx):
    eng = gbx.engine
    name = run_d(gbx, "busybox", "sleep", "300")
    with pytest.raises(InvalidArgument, match="not a directory"):
        eng.archive_put(name, "/etc/hostname", tar_of({"x": b"x"}))       # a file
    with pytest.raises(InvalidArgument, match="not a directory"):
        eng.archive_put(name, "/etc/hostname/sub", tar_of({"x": b"x"}))   # parent is a file
    with pytest.raises(NotFound):
        eng.archive_put(name, "/no/such/dir", tar_of({"x": b"x"}))
    with pytest.raises(NotFound):
        eng.archive_put("no-such-container", "/", tar_of({"x": b"x"}))
    gbx.out("exec", name, "mkdir", "/d")
    with pytest.raises(InvalidArgument, match="cannot overwrite directory"):
        eng.archive_put(name, "/", tar_of({"d": b"file"}), no_overwrite_dir_non_dir=True)
    eng.archive_put(name, "/", tar_of({"d": b"file"}))                   # allowed by default
    assert gbx.out("exec", name, "cat", "/d") == "file"
    p = gbx.cli("cp", "/no/such/local", f"{name}:/tmp")
    assert p.returncode == 125 and b"no such file" in p.stderr
    p = gbx.cli("cp", "/etc", f"{name}:/etc/hostname")
    assert p.returncode == 125 and b"cannot copy a directory to a file" in p.stderr
    gbx.out("rm", "-f", name)


def test_hostile_archives_are_refused_and_write_nothing_outside(gbx, tmp_path):
    eng = gbx.engine
    canary = f"/tmp/gbx-canary-{uuid.uuid4().hex[:8]}"
    os.mkdir(canary)
    try:
        name = run_d(gbx, "busybox", "sleep", "300")
        with pytest.raises(InvalidArgument, match="'..'"):
            eng.archive_put(name, "/tmp", tar_of({f"../../../../..{canary}/x": b"evil"}))
        with pytest.raises(InvalidArgument, match="invalid symlink"):
            eng.archive_put(name, "/tmp", tar_of({"up": ("sym", "../../../../../..")}))
        # an absolute symlink is contained: a later member through it is not written
        # through it, and a cp through it stays inside the container
        eng.archive_put(name, "/tmp", tar_of({"abs": ("sym", canary), "abs/x": b"evil"}))
        assert gbx.out("exec", name, "readlink", "/tmp/abs").strip() == canary
        with pytest.raises(NotFound):                 # the canary is no container path
            eng.archive_put(name, "/tmp/abs/", tar_of({"y": b"y"}))
        assert os.listdir(canary) == []
        gbx.out("rm", "-f", name)
    finally:
        os.rmdir(canary)


def test_symlink_escapes_resolve_inside_the_container(gbx, tmp_path):
    """Links to host paths name container paths: cp reads and writes the
    container's /etc, never the host's."""
    eng = gbx.engine
    host_dir = tmp_path / "hostdir"
    host_dir.mkdir()
    (host_dir / "secret").write_text("host secret")
    name = run_d(gbx, "busybox", "sleep", "300")
    gbx.out("exec", name, "sh", "-c",
            f"ln -s {host_dir} /abs && ln -s ../../../../../../{host_dir} /rel && "
            f"mkdir -p /inside{host_dir} && echo decoy > /inside{host_dir}/secret && "
            f"ln -s /inside{host_dir} /ok")
    for link in ("/abs/secret", "/rel/secret"):
        with pytest.raises(NotFound):
            eng.archive_stat(name, link)          # the host's path does not exist inside
    assert get_tar(gbx, name, "/ok/secret").extractfile("secret").read() == b"decoy\n"
    with pytest.raises(NotFound):
        eng.archive_put(name, "/abs", tar_of({"planted": b"x"}))
    gbx.out("exec", name, "mkdir", "-p", str(host_dir))  # now it exists inside
    eng.archive_put(name, "/abs", tar_of({"planted": b"x"}))
    eng.archive_put(name, "/rel/", tar_of({"planted2": b"x"}))
    assert sorted(os.listdir(host_dir)) == ["secret"]
    assert gbx.out("exec", name, "ls", str(host_dir)).split() == ["planted", "planted2"]
    gbx.out("rm", "-f", name)


def test_symlink_swap_race_never_reaches_the_host(gbx, tmp_path):
    """A process in the container flips /work/x between a real directory and a
    symlink to a host directory while cp reads and writes through it over and
    over: every copy lands in (or comes from) the container."""
    eng = gbx.engine
    host_dir = tmp_path / "target"
    host_dir.mkdir()
    (host_dir / "secret").write_text("host secret\n")
    name = run_d(gbx, "busybox", "sh", "-c",
                 f"mkdir -p /work/real {host_dir}; echo inside > /work/real/secret; "
                 f"echo decoy > {host_dir}/secret; "
                 f"while :; do ln -sfn {host_dir} /work/x; rm -f /work/x; "
                 f"ln -sfn /work/real /work/x; rm -f /work/x; mkdir /work/x; rm -rf /work/x; "
                 f"ln -sfn ../../../../../../..{host_dir} /work/x; rm -f /work/x; done")
    stop = threading.Event()
    seen: set[bytes] = set()

    def reader():
        while not stop.is_set():
            try:
                t = get_tar(gbx, name, "/work/x/secret")
                seen.add(t.extractfile(t.getmembers()[0]).read())
            except (NotFound, InvalidArgument, KeyError, tarfile.TarError):
                pass

    th = threading.Thread(target=reader)
    th.start()
    landed = 0
    try:
        for i in range(150):
            try:
                eng.archive_put(name, "/work/x", tar_of({f"planted{i}": b"x"}))
                landed += 1
            except (NotFound, InvalidArgument):
                pass
    finally:
        stop.set()
        th.join()
    assert sorted(os.listdir(host_dir)) == ["secret"], "cp wrote to the host"
    assert (host_dir / "secret").read_text() == "host secret\n"
    assert b"host secret\n" not in seen, "cp read the host's file"
    assert seen <= {b"inside\n", b"decoy\n"}
    assert landed and seen, "the race never let a copy through: it tested nothing"
    inside = gbx.out("exec", name, "sh", "-c", f"ls /work/real {host_dir}").split()
    assert any(n.startswith("planted") for n in inside)
    gbx.out("rm", "-f", name)
