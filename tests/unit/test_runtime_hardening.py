"""The container's init and exec'd processes are sealed before execve: non-dumpable
while host code runs in the container's namespaces, no host fd or cwd passed on."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from glassbox._sys.constants import CLOSE_RANGE_CLOEXEC, FD_MAX
from glassbox._sys.fake import RecordingSys
from glassbox.errors import ContainerExit
from glassbox.runtime import init
from glassbox.runtime.spec import ProcessSpec


class _Exited(Exception):
    pass


def test_child_main_is_non_dumpable_first_and_sealed_last(monkeypatch, tmp_path):
    fake = RecordingSys()

    def mark(name, ret=None):
        def f(*args, **kw):
            fake.calls.append((name, args))
            return ret
        return f
    monkeypatch.setattr(init, "build_rootfs", mark("build_rootfs"))
    monkeypatch.setattr(init, "resolve_user", mark("resolve_user", init.User(0, 0, [], "/root")))
    monkeypatch.setattr(init, "enter_workdir", mark("enter_workdir"))
    monkeypatch.setattr(init, "find_executable", mark("find_executable", "/bin/true"))
    monkeypatch.setattr(init, "drop_privileges", mark("drop_privileges"))

    def execve(*args):
        fake.calls.append(("execve", args))
        raise _Exited("exec")

    def _exit(code):
        raise _Exited(code)
    monkeypatch.setattr(os, "execve", execve)
    monkeypatch.setattr(os, "_exit", _exit)
    sync_r, sync_w = os.pipe()
    err_r, err_w = os.pipe()
    os.write(sync_w, b"1")
    spec = ProcessSpec(id="c", args=["true"], env=["PATH=/bin"], lower_dirs=[],
                       upper_dir="", work_dir="", rootfs=str(tmp_path), cwd="/app")
    try:
        with pytest.raises(_Exited):
            init.child_main(spec, sync_r, err_w, sys_=fake)
    finally:
        for fd in (sync_w, err_r, err_w):
            os.close(fd)
    names = [n for n, _ in fake.calls]
    assert names[0] == "set_dumpable" and fake.calls[0][1] == (False,)
    assert names.index("set_dumpable") < names.index("unshare") < names.index("build_rootfs")
    assert names.index("enter_workdir") > names.index("build_rootfs")    # inside the new root
    assert names[-4:] == ["drop_privileges", "set_dumpable", "close_range", "execve"]
    assert fake.calls[-2][1] == (3, FD_MAX, CLOSE_RANGE_CLOEXEC)
    assert ("enter_workdir", ("/app",)) in [(n, a[:1]) for n, a in fake.calls]


def test_seal_for_exec_order():
    fake = RecordingSys()
    init.seal_for_exec(fake)
    assert fake.calls == [("set_dumpable", (False,)),
                          ("close_range", (3, FD_MAX, CLOSE_RANGE_CLOEXEC))]


def test_enter_workdir_creates_and_enters(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    target = tmp_path / "a" / "b"
    init.enter_workdir(str(target), create=True)
    assert os.getcwd() == str(target)
    init.enter_workdir(None)
    assert os.getcwd() == "/"


def test_enter_workdir_refuses_a_cwd_outside_the_root(tmp_path, monkeypatch):
    """What getcwd says for a cwd reached through a leaked host fd."""
    monkeypatch.chdir(tmp_path)

    def unreachable():
        raise FileNotFoundError(2, "No such file or directory")
    monkeypatch.setattr(os, "getcwd", unreachable)
    with pytest.raises(ContainerExit) as e:
        init.enter_workdir(str(tmp_path))
    assert e.value.exit_code == 126 and "outside the container's root" in e.value.message


def test_real_close_range_cloexec_then_close():
    code = ("import os\n"
            "from glassbox._sys import real, CLOSE_RANGE_CLOEXEC, FD_MAX\n"
            "r, w = os.pipe(); os.set_inheritable(r, True); os.set_inheritable(w, True)\n"
            "real.close_range(3, FD_MAX, CLOSE_RANGE_CLOEXEC)\n"
            "assert not os.get_inheritable(r) and not os.get_inheritable(w)\n"
            "real.close_range(w, w)\n"
            "try:\n"
            "    os.fstat(w)\n"
            "except OSError:\n"
            "    print('ok')\n")
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, timeout=30)
    assert p.stdout == b"ok\n", p.stderr


def test_real_set_dumpable():
    code = ("import ctypes\n"
            "from glassbox._sys import real, PR_GET_DUMPABLE\n"
            "real.set_dumpable(False); a = real.prctl(PR_GET_DUMPABLE)\n"
            "real.set_dumpable(True); b = real.prctl(PR_GET_DUMPABLE)\n"
            "print(a, b)\n")
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, timeout=30)
    assert p.stdout == b"0 1\n", p.stderr


def test_capabilities_are_cut_to_the_bounding_set(monkeypatch):
    """--privileged asks for every capability; one the host's bounding set lacks is
    not asked for (capset would refuse the whole set with EPERM)."""
    from glassbox._sys.fake import RecordingSys
    from glassbox.runtime import init

    class NoSysResource(RecordingSys):     # a sandbox without bit 24 (sys_resource)
        def drop_bounding_caps(self, keep):
            self.calls.append(("drop_bounding_caps", (keep,)))
            return set(keep) - {24}

    for call in ("setgroups", "setgid", "setuid"):
        monkeypatch.setattr(init.os, call, lambda *a: None)
    sys_ = NoSysResource()
    user = init.User(uid=0, gid=0, groups=[], home="/root")
    init.drop_privileges(sys_, ["CAP_SYS_RESOURCE", "CAP_SYS_PTRACE", "CAP_CHOWN"], user, False)
    kept = [args for name, args in sys_.calls if name == "capset"][0][0]
    assert init.CAP_NUMBER["CAP_SYS_RESOURCE"] not in kept
    assert {init.CAP_NUMBER["CAP_SYS_PTRACE"], init.CAP_NUMBER["CAP_CHOWN"]} <= set(kept)
