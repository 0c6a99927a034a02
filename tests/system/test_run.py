"""Real containers on the real kernel: run, isolation, exit codes, limits."""

from __future__ import annotations

import os
import time

import pytest

pytestmark = pytest.mark.system


def test_run_rm_echo_prints_and_leaves_nothing(gbx):
    p = gbx.cli("run", "--rm", "busybox", "echo", "hello")
    assert p.returncode == 0, p.stderr
    assert p.stdout == b"hello\n"
    assert gbx.out("ps", "-a", "-q") == ""
    cdir = os.path.join(gbx.root, "containers")
    assert [e for e in os.listdir(cdir) if not e.startswith(".")] == []    # no container
    assert not os.listdir(os.path.join(cdir, ".trash"))                     # nothing half-gone


def test_exit_code_and_stderr_pass_through(gbx):
    p = gbx.cli("run", "--rm", "busybox", "sh", "-c", "echo out; echo err >&2; exit 3")
    assert p.returncode == 3
    assert p.stdout == b"out\n"
    assert p.stderr == b"err\n"


def test_command_not_found_is_127_and_not_executable_is_126(gbx):
    p = gbx.cli("run", "--rm", "busybox", "no-such-cmd")
    assert p.returncode == 127
    assert b'exec: "no-such-cmd": executable file not found in $PATH' in p.stderr
    p = gbx.cli("run", "--rm", "busybox", "/etc/passwd")
    assert p.returncode == 126
    assert b"permission denied" in p.stderr
    assert gbx.out("ps", "-a", "-q") == ""


def test_isolation_pid_hostname_mounts_caps(gbx):
    script = ("echo pid=$$; echo $(ps -o pid | tail -n +2); hostname; "
              "mkdir /mnt; mount -t tmpfs none /mnt 2>/dev/null && echo mount-ok || echo mount-denied; "
              "echo 1 > /proc/sys/kernel/domainname 2>/dev/null && echo sys-rw || echo sys-ro; "
              "cat /proc/mounts")
    p = gbx.cli("run", "--rm", "-h", "box1", "busybox", "sh", "-c", script)
    assert p.returncode == 0, p.stderr
    lines = p.stdout.decode().splitlines()
    assert lines[0] == "pid=1"                     # the command is pid 1
    pids = [int(p) for p in lines[1].split()]
    assert pids[0] == 1 and max(pids) < 10         # only the container's own processes
    assert lines[2] == "box1"
    assert lines[3] == "mount-denied"              # no CAP_SYS_ADMIN
    assert lines[4] == "sys-ro"                    # /proc/sys is read-only
    targets = [ln.split()[1] for ln in lines[5:]]
    assert targets[0] == "/" and lines[5].startswith("overlay / overlay")
    allowed = ("/proc", "/sys", "/dev", "/etc/hostname", "/etc/hosts", "/etc/resolv.conf")
    assert all(t == "/" or t.startswith(allowed) for t in targets), targets  # no host mount
    assert os.uname().nodename != "box1"


def test_network_namespace_has_only_loopback(gbx):
    p = gbx.cli("run", "--rm", "busybox", "cat", "/proc/net/dev")
    names = [ln.split(":")[0].strip() for ln in p.stdout.decode().splitlines()[2:]]
    assert names == ["lo"]


def test_write_lands_in_upper_dir_never_in_image(gbx):
    cid = gbx.out("run", "-d", "busybox", "sh", "-c", "echo data > /hello; rm /bin/vi; "
                  "sleep 60").strip()
    c = gbx.engine.containers.get(cid)
    upper = c.config["Spec"]["upper_dir"]
    for _ in range(200):
        if os.path.exists(os.path.join(upper, "hello")):
            break
        time.sleep(0.02)
    assert open(os.path.join(upper, "hello")).read() == "data\n"
    st = os.lstat(os.path.join(upper, "bin", "vi"))           # overlay whiteout
    assert (st.st_mode & 0o170000) == 0o020000 and st.st_rdev == 0
    for layer in c.config["Spec"]["lower_dirs"]:
        assert not os.path.exists(os.path.join(layer, "hello"))
        assert os.path.exists(os.path.join(layer, "bin", "vi"))
    # a new container from the same image does not see it
    p = gbx.cli("run", "--rm", "busybox", "cat", "/hello")
    assert p.returncode == 1
    gbx.out("rm", "-f", cid)
    assert not os.path.exists(upper)


def test_env_workdir_user_entrypoint(gbx, tmp_path):
    envf = tmp_path / "env.list"
    envf.write_text("# comment\nFROM_FILE=yes\n\nB=file\n")
    p = gbx.cli("run", "--rm", "-e", "A=1", "--env-file", str(envf), "-e", "B=flag", "-w", "/tmp",
                "-u", "nobody", "busybox", "sh", "-c", "echo $A $FROM_FILE $B; pwd; id -u; id -g")
    assert p.stdout.decode().split("\n")[:4] == ["1 yes flag", "/tmp", "65534", "65534"]
    p = gbx.cli("run", "--rm", "-u", "1234:5678", "busybox", "id")
    assert p.stdout.decode().startswith("uid=1234 gid=5678")
    p = gbx.cli("run", "--rm", "--entrypoint", "echo", "busybox", "via", "entrypoint")
    assert p.stdout == b"via entrypoint\n"
    p = gbx.cli("run", "--rm", "-u", "nosuchuser", "busybox", "true")
    assert p.returncode != 0 and b"unable to find user nosuchuser" in p.stderr


def test_capabilities_default_drop_and_add(gbx):
    p = gbx.cli("run", "--rm", "busybox", "sh", "-c", "grep CapEff /proc/self/status")
    assert p.stdout.split()[1] == b"00000000a80425fb"       # Docker's default set
    p = gbx.cli("run", "--rm", "--cap-drop", "CHOWN", "busybox", "chown", "1:1", "/tmp")
    assert p.returncode != 0
    p = gbx.cli("run", "--rm", "--cap-add", "SYS_ADMIN", "busybox", "sh", "-c",
                "mkdir -p /mnt && mount -t tmpfs none /mnt && echo mounted")
    assert b"mounted" in p.stdout
    p = gbx.cli("run", "--rm", "busybox", "grep", "NoNewPrivs", "/proc/self/status")
    assert p.stdout.split()[1] == b"1"


def test_dev_is_minimal_and_masks_apply(gbx):
    p = gbx.cli("run", "--rm", "busybox", "sh", "-c",
                "ls /dev; echo ---; cat /proc/kcore | wc -c; ls /proc/acpi 2>&1 | wc -l")
    out = p.stdout.decode()
    devs = set(out.split("---")[0].split())
    assert {"null", "zero", "full", "random", "urandom", "tty", "pts", "shm", "mqueue"} <= devs
    assert "sda" not in devs and "vda" not in devs and "mem" not in devs
    assert out.split("---")[1].split()[0] == "0"


def test_tty_allocates_a_pty(gbx):
    p = gbx.cli("run", "--rm", "-t", "busybox", "tty")
    assert p.returncode == 0
    assert p.stdout.strip().startswith(b"/dev/pts/")


def test_interactive_stdin(gbx):
    p = gbx.cli("run", "--rm", "-i", "busybox", "sh", "-c", "tr a-z A-Z", input=b"piped in\n")
    assert p.stdout == b"PIPED IN\n"


def test_init_reaps_and_forwards(gbx):
    p = gbx.cli("run", "--rm", "--init", "busybox", "sh", "-c", "echo $$; exit 4")
    assert p.returncode == 4
    assert p.stdout.strip() != b"1"          # the tiny init is pid 1


@pytest.mark.parametrize("args, message", [
    (["-m", "lots"], "invalid"),
    (["-m", "1k"], "Minimum memory limit"),
    (["--cpus", "0"], "CPU"),
    (["--cpus", "999"], "CPU"),
    (["--pids-limit", "0"], "pids"),
    (["--name", "bad name!"], "Invalid container name"),
    (["--cap-add", "NOT_A_CAP"], "unknown capability"),
])
def test_bad_flags_exit_125_and_create_nothing(gbx, args, message):
    p = gbx.cli("run", "--rm", *args, "busybox", "true")
    assert p.returncode == 125, p.stderr
    assert message.lower() in p.stderr.decode().lower()
    assert gbx.out("ps", "-a", "-q") == ""


def test_unknown_image_and_container(gbx):
    p = gbx.cli("run", "--rm", "nosuchimage:1", "true")
    assert p.returncode == 125 and b"nosuchimage" in p.stderr
    for verb in ("stop", "rm", "logs", "inspect", "start", "kill"):
        p = gbx.cli(verb, "nosuchcontainer")
        assert p.returncode != 0 and b"No such" in p.stderr, verb


def test_name_in_use(gbx):
    gbx.out("create", "--name", "twin", "busybox", "true")
    p = gbx.cli("create", "--name", "twin", "busybox", "true")
    assert p.returncode == 125
    assert b'The container name "/twin" is already in use' in p.stderr
    assert len(gbx.out("ps", "-a", "-q").split()) == 1


def test_oom_kill_exit_137_and_inspect(gbx):
    p = gbx.cli("run", "--name", "hog", "-m", "16m", "--memory-swap", "16m", "busybox",
                "dd", "if=/dev/zero", "of=/dev/null", "bs=64M", "count=1")
    assert p.returncode == 137
    import json
    doc = json.loads(gbx.out("inspect", "hog"))[0]
    assert doc["State"]["OOMKilled"] is True
    assert doc["State"]["ExitCode"] == 137
    assert doc["HostConfig"]["Memory"] == 16 * 1024 * 1024


def test_fork_bomb_is_contained_by_pids_limit(gbx):
    cid = gbx.out("run", "-d", "--pids-limit", "64", "busybox", "sh", "-c",
                  "f(){ f | f & }; f; sleep 30").strip()
    time.sleep(1.5)
    st = gbx.engine.containers.stats(cid)
    assert st is not None and st.pids_current <= 64
    assert st.pids_limit == 64
    # the host keeps working: we can still start processes and remove the container
    assert gbx.cli("run", "--rm", "busybox", "true").returncode == 0
    gbx.out("rm", "-f", cid)


def test_the_container_starts_with_no_signal_ignored(gbx):
    """An ignored signal survives exec (Python ignores SIGPIPE; the shim SIGINT):
    the container must start with none ignored, or a shell could not trap them."""
    # the classic signals 1-31 (glibc reserves 32-33: Python cannot set those, and a
    # caller's environment may hand them down ignored)
    p = gbx.cli("run", "--rm", "busybox", "grep", "SigIgn", "/proc/self/status")
    assert int(p.stdout.split()[1], 16) & 0x7FFFFFFF == 0, p.stdout
    gbx.out("run", "-d", "--name", "sigs", "busybox", "sleep", "60")
    p = gbx.cli("exec", "sigs", "grep", "SigIgn", "/proc/self/status")
    assert int(p.stdout.split()[1], 16) & 0x7FFFFFFF == 0, p.stdout
    gbx.out("rm", "-f", "sigs")
