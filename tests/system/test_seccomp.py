"""Docker's seccomp profile on the real kernel: real containers, real filters.

A tiny static C program (written and built here) makes raw syscalls inside
``glassbox run --rm busybox`` and prints each result with its errno; the
default filter must answer what Docker's does, ``seccomp=unconfined`` and
``--privileged`` must let the same calls through to the kernel, a custom
profile must be the one applied, and bad profiles must fail with exit 125
naming the field, leaving no container behind.
"""

from __future__ import annotations

import json
import os
import uuid

import pytest

pytestmark = pytest.mark.system

EPERM, ENOSYS = 1, 38

SC_C = r"""
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

static void try(const char *name, long rc) {
    printf("%s %ld %d\n", name, rc, rc < 0 ? errno : 0);
}

int main(int argc, char **argv) {
    long params[30];
    for (int i = 1; i < argc; i++) {
        const char *n = argv[i];
        errno = 0;
        memset(params, 0, sizeof params);
        if (!strcmp(n, "unshare-user")) try(n, syscall(SYS_unshare, 0x10000000L));
        else if (!strcmp(n, "add_key")) try(n, syscall(SYS_add_key, "user", "gbx", "x", 1L, -4L));
        else if (!strcmp(n, "personality-norandom")) try(n, syscall(SYS_personality, 0x0040000L));
        else if (!strcmp(n, "personality-query")) try(n, syscall(SYS_personality, 0xffffffffL));
        else if (!strcmp(n, "io_uring_setup")) try(n, syscall(425, 1L, params));
        else if (!strcmp(n, "clone3")) try(n, syscall(435, 0L, 0L));
        else if (!strcmp(n, "mount")) try(n, syscall(SYS_mount, "none", "/mnt", "tmpfs", 0L, 0L));
        else if (!strcmp(n, "socket-alg")) try(n, syscall(SYS_socket, 38L, 5L, 0L));
        else if (!strcmp(n, "socket-inet")) try(n, syscall(SYS_socket, 2L, 2L, 0L));
        else if (!strcmp(n, "getppid")) try(n, syscall(SYS_getppid));
        else if (!strcmp(n, "chown")) try(n, syscall(SYS_chown, "/tmp", 1L, 1L));
        else printf("%s unknown 0\n", n);
    }
    return 0;
}
"""

CALLS = ("unshare-user", "add_key", "personality-norandom", "personality-query",
         "io_uring_setup", "clone3", "mount", "socket-alg", "socket-inet", "getppid", "chown")


@pytest.fixture(scope="module")
def sc_dir(tmp_path_factory):
    """A directory holding only the static ``sc`` program, bound into containers."""
    from glassbox._native import compile_c
    d = tmp_path_factory.mktemp("sc")
    src = d / "sc.c"
    src.write_text(SC_C)
    try:
        built = compile_c(str(src), str(d / "sc"), what="seccomp tests skipped",
                          extra=("-static",))
    except Exception as e:  # noqa: BLE001 — no static libc
        pytest.skip(f"cannot build a static test program: {e}")
    if not built:
        pytest.skip("no C compiler")
    src.unlink()
    return str(d)


def run_sc(gbx, sc_dir, *flags) -> dict[str, tuple[int, int]]:
    p = gbx.cli("run", "--rm", "-v", f"{sc_dir}:/t:ro", *flags, "busybox", "/t/sc", *CALLS)
    assert p.returncode == 0, p.stderr.decode()
    out = {}
    for line in p.stdout.decode().splitlines():
        name, rc, err = line.split()
        out[name] = (int(rc), int(err))
    assert set(out) == set(CALLS), p.stdout
    assert gbx.out("ps", "-aq") == ""
    return out


def test_default_profile_refuses_what_docker_refuses(gbx, sc_dir):
    r = run_sc(gbx, sc_dir)
    for name in ("unshare-user", "add_key", "personality-norandom", "io_uring_setup",
                 "mount", "socket-alg"):
        assert r[name] == (-1, EPERM), (name, r[name])
    assert r["clone3"] == (-1, ENOSYS)             # so libc falls back to clone(2)
    assert r["personality-query"][0] >= 0          # the allowed persona values pass
    assert r["socket-inet"][0] >= 0
    assert r["getppid"][0] >= 0
    assert r["chown"] == (0, 0)                    # CAP_CHOWN work is untouched


def test_unconfined_and_privileged_reach_the_kernel(gbx, sc_dir):
    for flags in (("--security-opt", "seccomp=unconfined"), ("--privileged",)):
        r = run_sc(gbx, sc_dir, *flags)
        # without the filter the kernel itself answers: not seccomp's EPERM/ENOSYS
        assert r["add_key"][0] >= 0 or r["add_key"][1] != EPERM, (flags, r["add_key"])
        assert r["personality-norandom"][0] >= 0, (flags, r)
        assert r["clone3"] != (-1, ENOSYS), (flags, r["clone3"])   # EFAULT: NULL args
        assert r["io_uring_setup"] != (-1, EPERM) or \
            _io_uring_disabled(), (flags, r["io_uring_setup"])


def _io_uring_disabled() -> bool:
    try:
        with open("/proc/sys/kernel/io_uring_disabled") as f:
            return f.read().strip() != "0"
    except OSError:
        return False


def test_status_shows_one_filter_in_run_and_exec(gbx):
    out = gbx.out("run", "--rm", "busybox", "grep", "^Seccomp", "/proc/self/status")
    assert "Seccomp:\t2" in out and "Seccomp_filters:\t1" in out, out
    out = gbx.out("run", "--rm", "--security-opt", "seccomp=unconfined", "busybox",
                  "grep", "^Seccomp", "/proc/self/status")
    assert "Seccomp:\t0" in out, out
    name = f"sc-{uuid.uuid4().hex[:8]}"
    gbx.out("run", "-d", "--name", name, "busybox", "sleep", "300")
    try:
        out = gbx.out("exec", name, "grep", "^Seccomp", "/proc/self/status")
        assert "Seccomp:\t2" in out and "Seccomp_filters:\t1" in out, out
        p = gbx.cli("exec", name, "unshare", "-U", "true")
        assert p.returncode != 0 and b"Operation not permitted" in p.stderr, p.stderr
        p = gbx.cli("exec", "--privileged", name, "unshare", "-U", "true")
        assert p.returncode != 0, p.stderr          # exec --privileged keeps the filter
    finally:
        gbx.cli("rm", "-f", name)


def test_ordinary_busybox_work_is_untouched(gbx):
    script = ("set -e; mkdir -p /tmp/a && echo hi > /tmp/a/f && chmod 600 /tmp/a/f && "
              "chown 1:1 /tmp/a/f && ln -s f /tmp/a/l && cat /tmp/a/l && "
              "(sleep 0.1 &) && wait && ps >/dev/null && date >/dev/null && "
              "hostname >/dev/null && tar -cf /tmp/x.tar /tmp/a && echo ok")
    out = gbx.out("run", "--rm", "busybox", "sh", "-c", script)
    assert out.split() == ["hi", "ok"], out
    out = gbx.out("run", "--rm", "--init", "busybox", "sh", "-c", "echo fine")
    assert out.strip() == "fine"


def test_busybox_unshare_user_is_refused_unless_unconfined(gbx):
    p = gbx.cli("run", "--rm", "busybox", "unshare", "-U", "-r", "true")
    assert p.returncode != 0 and b"Operation not permitted" in p.stderr, p.stderr
    p = gbx.cli("run", "--rm", "--security-opt", "seccomp=unconfined", "busybox",
                "unshare", "-U", "true")
    # no filter: the kernel decides (user namespaces may still be off on a host)
    assert b"Operation not permitted" not in p.stderr or _userns_off(), p.stderr


def _userns_off() -> bool:
    try:
        with open("/proc/sys/user/max_user_namespaces") as f:
            return f.read().strip() == "0"
    except OSError:
        return False


def test_cap_add_sys_admin_opens_the_conditional_rules(gbx, sc_dir):
    r = run_sc(gbx, sc_dir, "--cap-add", "SYS_ADMIN")
    assert r["mount"] != (-1, EPERM), r["mount"]      # tmpfs on /mnt: allowed with the cap
    assert r["clone3"] != (-1, ENOSYS), r["clone3"]   # clone3 allowed with CAP_SYS_ADMIN
    assert r["add_key"] == (-1, EPERM)                # still refused


def test_custom_profile_is_applied_and_shown_in_inspect(gbx, sc_dir, tmp_path):
    from glassbox.seccomp.cache import DEFAULT_PATH
    with open(DEFAULT_PATH) as f:
        prof = json.load(f)
    # Docker's profile, minus getppid, plus a syscall no table knows (skipped)
    prof["syscalls"][0]["names"].remove("getppid")
    prof["syscalls"].append({"names": ["no_such_syscall_gbx"], "action": "SCMP_ACT_ALLOW"})
    path = tmp_path / "prof.json"
    path.write_text(json.dumps(prof, indent=2))
    name = f"sc-{uuid.uuid4().hex[:8]}"
    p = gbx.cli("create", "--name", name, "--security-opt", f"seccomp={path}", "busybox")
    assert p.returncode == 0, p.stderr
    assert b"no_such_syscall_gbx" in p.stderr                   # warned, then ignored
    sec = json.loads(gbx.out("inspect", name))[0]["HostConfig"]["SecurityOpt"]
    assert len(sec) == 1 and sec[0].startswith("seccomp={") and " " not in sec[0][:40]
    assert json.loads(sec[0][len("seccomp="):]) == prof          # compact JSON, as docker's CLI
    gbx.cli("rm", name)
    r = run_sc(gbx, sc_dir, "--security-opt", f"seccomp={path}")
    assert r["getppid"] == (-1, EPERM)
    assert r["socket-inet"][0] >= 0
    default = json.loads(gbx.out("inspect", gbx.out("create", "busybox").strip()))[0]
    assert default["HostConfig"]["SecurityOpt"] is None


BAD = [
    ("not json", "{ nope", "invalid JSON"),
    ("bad action", {"defaultAction": "SCMP_ACT_BOGUS"}, "defaultAction"),
    ("bad arch", {"defaultAction": "SCMP_ACT_ERRNO", "architectures": ["SCMP_ARCH_Z80"]},
     "architectures[0]"),
    ("bad op", {"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [
        {"names": ["read"], "action": "SCMP_ACT_ALLOW",
         "args": [{"index": 0, "value": 1, "op": "SCMP_CMP_ALMOST"}]}]}, "syscalls[0].args[0].op"),
    ("bad index", {"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [
        {"names": ["read"], "action": "SCMP_ACT_ALLOW",
         "args": [{"index": 9, "value": 1, "op": "SCMP_CMP_EQ"}]}]}, "syscalls[0].args[0].index"),
]


@pytest.mark.parametrize("what,body,field", BAD, ids=[b[0] for b in BAD])
def test_bad_profiles_exit_125_naming_the_field(gbx, tmp_path, what, body, field):
    path = tmp_path / "bad.json"
    path.write_text(body if isinstance(body, str) else json.dumps(body))
    before = _containers_dir(gbx)
    p = gbx.cli("run", "--rm", "--security-opt", f"seccomp={path}", "busybox", "true")
    assert p.returncode == 125, p.stderr
    assert field.encode() in p.stderr and str(path).encode() in p.stderr, p.stderr
    assert _containers_dir(gbx) == before
    assert gbx.out("ps", "-aq") == ""


def _containers_dir(gbx) -> list[str]:
    d = os.path.join(gbx.root, "containers")
    return sorted(os.listdir(d)) if os.path.isdir(d) else []


def test_unreadable_profile_and_unknown_key_exit_125(gbx, tmp_path):
    p = gbx.cli("run", "--rm", "--security-opt", f"seccomp={tmp_path}/missing.json",
                "busybox", "true")
    assert p.returncode == 125 and b"cannot read the profile" in p.stderr, p.stderr
    p = gbx.cli("run", "--rm", "--security-opt", "seccomb=unconfined", "busybox", "true")
    assert p.returncode == 125 and b"seccomb" in p.stderr, p.stderr
    assert gbx.out("ps", "-aq") == ""


def test_unknown_syscall_name_is_ignored_with_a_warning(gbx, tmp_path):
    """As Docker: a name this host's tables do not know is skipped with a warning
    naming it, and the rest of the rule still applies."""
    path = tmp_path / "unknown.json"
    path.write_text(json.dumps({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [
        {"names": ["gbx_no_such_call", "uname"], "action": "SCMP_ACT_ERRNO"}]}))
    p = gbx.cli("run", "--rm", "--security-opt", f"seccomp={path}", "busybox", "uname")
    assert p.returncode == 0, p.stderr
    assert b"WARNING" in p.stderr and b"'gbx_no_such_call'" in p.stderr, p.stderr
    assert p.stdout.strip() == b""                 # uname(2) refused: busybox prints ''
    assert gbx.out("ps", "-aq") == ""


def test_the_compiled_program_is_cached_under_the_root(gbx):
    gbx.out("run", "--rm", "busybox", "true")
    cached = os.listdir(os.path.join(gbx.root, "seccomp"))
    assert len(cached) == 1 and cached[0].endswith(".bpf"), cached
    gbx.out("run", "--rm", "--cap-add", "SYS_ADMIN", "busybox", "true")
    assert len(os.listdir(os.path.join(gbx.root, "seccomp"))) == 2   # other caps, other key


def test_info_lists_the_seccomp_profile(gbx):
    out = gbx.out("info")
    line = next(ln for ln in out.splitlines() if ln.startswith("Security Options:"))
    assert "name=seccomp,profile=builtin" in line.split(), line


def _in_filtered_child(profile: dict, calls) -> list[tuple[int, int]]:
    """Install ``profile`` (compiled by glassbox) in a forked child for real and make
    raw ``calls`` there: [(nr, args...)] -> [(rc, errno)]."""
    import ctypes

    from glassbox._sys import real
    from glassbox.seccomp.compile import compile_filter, filter_flags
    from glassbox.seccomp.profile import parse, resolve
    resolved = resolve(parse(json.dumps(profile)), [])
    prog = compile_filter(resolved)
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:
        try:
            os.close(r)
            libc = ctypes.CDLL(None, use_errno=True)
            real.set_no_new_privs()
            real.seccomp_set_filter(prog, filter_flags(resolved))
            out = []
            for nr, *args in calls:
                ctypes.set_errno(0)
                rc = libc.syscall(ctypes.c_long(nr), *[ctypes.c_ulong(a) for a in args])
                out.append((rc, ctypes.get_errno() if rc < 0 else 0))
            os.write(w, json.dumps(out).encode())
        finally:
            os._exit(0)
    os.close(w)
    with os.fdopen(r) as f:
        data = f.read()
    os.waitpid(pid, 0)
    return [tuple(x) for x in json.loads(data)]


def test_argument_rules_in_the_real_kernel():
    """64-bit comparisons and custom errnos, decided by the kernel running our program."""
    getppid, getpgid = 110, 121
    prof = {"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [
        {"names": ["getppid"], "action": "SCMP_ACT_ERRNO", "errnoRet": 77,
         "args": [{"index": 0, "value": 0x1_0000_0005, "op": "SCMP_CMP_EQ"}]},
        {"names": ["getpgid"], "action": "SCMP_ACT_ERRNO", "errnoRet": 78,
         "args": [{"index": 0, "value": 1000, "op": "SCMP_CMP_GT"}]}]}
    got = _in_filtered_child(prof, [(getppid, 5), (getppid, 0x1_0000_0005), (getpgid, 0),
                                    (getpgid, 1001), (getpgid, 2**40)])
    assert got[0][0] > 0 and got[1] == (-1, 77)          # the high word counts
    assert got[2][0] > 0 and got[3] == (-1, 78) and got[4] == (-1, 78)
