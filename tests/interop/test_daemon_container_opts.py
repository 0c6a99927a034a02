"""Issue 20's container options through the daemon, driven by the docker CLI and docker-py:
``--cpuset-cpus``/``--cpuset-mems``, ``--mac-address``, ``--link``, detach keys,
bind propagation and ``VolumeOptions.Subpath``. Each test has its own daemon and
state root (the ``daemon`` fixture) and the ``gbx`` leak check on teardown.
"""

from __future__ import annotations

import json

import pytest

from test_daemon_docker import name, needs_docker

pytestmark = [pytest.mark.interop]


def _online() -> list[int]:
    from glassbox.cgroups.limits import parse_cpu_list
    with open("/sys/devices/system/cpu/online") as f:
        return sorted(parse_cpu_list(f.read().strip()))


def _status(text: str, key: str) -> str:
    return next(ln for ln in text.splitlines() if ln.startswith(key + ":")).split(":", 1)[1].strip()


# ---- --cpuset-cpus / --cpuset-mems ---------------------------------------------------
@needs_docker
def test_docker_cpuset_run_inspect_update(daemon):
    cpu = str(_online()[-1])
    out = daemon.out("run", "--rm", "--cpuset-cpus", cpu, "--cpuset-mems", "0", "busybox",
                     "cat", "/proc/self/status")
    assert _status(out, "Cpus_allowed_list") == cpu
    n = name()
    daemon.out("run", "-d", "--name", n, "--cpuset-cpus", cpu, "busybox", "sleep", "600")
    hc = json.loads(daemon.out("inspect", n))[0]["HostConfig"]
    assert (hc["CpusetCpus"], hc["CpusetMems"]) == (cpu, "")
    first = str(_online()[0])
    daemon.out("update", "--cpuset-cpus", first, n)
    assert _status(daemon.out("exec", n, "cat", "/proc/1/status"), "Cpus_allowed_list") == first
    assert json.loads(daemon.out("inspect", n))[0]["HostConfig"]["CpusetCpus"] == first
    daemon.out("rm", "-f", n)


def test_glassbox_update_over_the_daemon_sends_the_cpuset(daemon):
    """``glassbox -H unix://... update --cpuset-cpus``: RemoteEngine sends CpusetCpus and
    reads the limits back from inspect."""
    gbx, n = daemon.gbx, name()
    online = _online()
    gbx.out("run", "-d", "--name", n, "--cpuset-cpus", str(online[-1]), "busybox", "sleep", "600")
    gbx.out("-H", daemon.url, "update", "--cpuset-cpus", str(online[0]), n)
    assert _status(gbx.out("exec", n, "cat", "/proc/1/status"), "Cpus_allowed_list") == \
        str(online[0])
    assert gbx.engine.get(n).config["HostConfig"]["CpusetCpus"] == str(online[0])
    gbx.out("rm", "-f", n)


@needs_docker
def test_docker_cpuset_refusals_name_the_value(daemon):
    p = daemon.docker("run", "--rm", "--cpuset-cpus", "4096", "busybox", "true", check=False)
    assert p.returncode == 125 and b"requested 4096" in p.stderr, p.stderr
    p = daemon.docker("run", "--rm", "--cpuset-mems", "0-x", "busybox", "true", check=False)
    assert p.returncode == 125 and b"Invalid value '0-x'" in p.stderr, p.stderr
    code, body = daemon.curl("-X", "POST", "-H", "Content-Type: application/json", "-d",
                             json.dumps({"Image": "busybox",
                                         "HostConfig": {"CpusetCpus": "4096"}}),
                             "http://d/containers/create")
    assert code == 400 and "--cpuset-cpus" in body, body
    assert daemon.out("ps", "-aq") == ""


# ---- detach keys ---------------------------------------------------------------------
def _read_until(raw, want: bytes, limit: int = 1 << 16) -> bytes:
    """From a raw attach socket until ``want`` shows up (or EOF / the limit)."""
    data = b""
    while want not in data and len(data) < limit:
        chunk = raw.recv(4096)
        if not chunk:
            break
        data += chunk
    return data


def _read_to_eof(raw) -> bytes:
    data = b""
    while True:
        chunk = raw.recv(4096)
        if not chunk:
            return data
        data += chunk


def test_docker_py_detach_keys_on_attach_and_exec(daemon):
    """A raw-socket client has no escape handling of its own: the daemon ends the
    attach on the detach keys and the container (or exec) keeps running."""
    docker = pytest.importorskip("docker")
    api = docker.APIClient(base_url=daemon.url, version="auto")
    try:
        c = api.create_container("busybox", ["sh"], tty=True, stdin_open=True)
        sock = api.attach_socket(c["Id"], params={"stdin": 1, "stdout": 1, "stream": 1})
        api.start(c["Id"])
        raw = sock._sock
        raw.settimeout(30)
        raw.sendall(b"echo one$((1+1))\n")
        assert b"one2" in _read_until(raw, b"one2")
        raw.sendall(b"\x10")                      # ctrl-p alone: held back, not yet detached
        raw.sendall(b"\x11")                      # ... ctrl-q: detached
        _read_to_eof(raw)                         # the daemon closed the connection
        sock.close()
        assert api.inspect_container(c["Id"])["State"]["Running"] is True
        # attach to the running container, custom keys; a bad spelling is a 400
        with pytest.raises(docker.errors.APIError) as ei:
            api.attach_socket(c["Id"], params={"stdin": 1, "stdout": 1, "stream": 1,
                                               "detachKeys": "ctrl-"})
        assert ei.value.status_code == 400 and "Invalid detach keys" in str(ei.value)
        sock = api.attach_socket(c["Id"], params={"stdin": 1, "stdout": 1, "stream": 1,
                                                  "detachKeys": "ctrl-a,d"})
        raw = sock._sock
        raw.settimeout(30)
        raw.sendall(b"\x01d")
        _read_to_eof(raw)
        sock.close()
        assert api.inspect_container(c["Id"])["State"]["Running"] is True
        # exec with a TTY: the exec'd shell outlives the detach
        e = api.exec_create(c["Id"], ["sh"], tty=True, stdin=True, detach_keys="ctrl-x,ctrl-y")
        sock = api.exec_start(e["Id"], tty=True, socket=True)
        raw = sock._sock
        raw.settimeout(30)
        raw.sendall(b"echo ex$((40+2))\n")
        assert b"ex42" in _read_until(raw, b"ex42")
        raw.sendall(b"\x18\x19")
        _read_to_eof(raw)
        sock.close()
        assert api.exec_inspect(e["Id"])["Running"] is True
        api.remove_container(c["Id"], force=True)
    finally:
        api.close()


@needs_docker
def test_docker_run_it_then_ctrl_p_ctrl_q_leaves_it_running(daemon):
    """``docker run -it`` in a real pty (python's ``pty``): ctrl-p ctrl-q gives the
    terminal back, exit 0, and the container keeps running; ``docker attach
    --detach-keys ctrl-a,d`` detaches too (exit 1, "read escape sequence", as Docker)."""
    import os
    import pty
    import select
    import time

    from test_daemon_docker import DOCKER

    def drive(argv, keys: bytes, ready: bytes, poke: bytes = b"") -> tuple[int | None, bytes]:
        """Run the docker CLI on a pty; type ``keys`` once ``ready`` was printed
        (typing ``poke`` while waiting). Returns its exit code (None: it did not
        exit, killed after 60 s) and what it printed."""
        pid, fd = pty.fork()
        if pid == 0:
            os.execve(DOCKER, [DOCKER, *argv], daemon.env)
        seen, sent = b"", False
        deadline = time.monotonic() + 60
        try:
            while time.monotonic() < deadline:
                r, _, _ = select.select([fd], [], [], 0.5)
                if r:
                    try:
                        chunk = os.read(fd, 4096)
                    except OSError:          # EIO: the CLI exited, its pty is gone
                        break
                    if not chunk:
                        break
                    seen += chunk
                if not sent and ready in seen:
                    os.write(fd, keys)
                    sent = True
                elif not sent and not r and poke:
                    os.write(fd, poke)
            # its pty closes a moment before the process is gone: give it time to exit
            end = time.monotonic() + 10
            done, status = os.waitpid(pid, os.WNOHANG)
            while done == 0 and time.monotonic() < end:
                time.sleep(0.05)
                done, status = os.waitpid(pid, os.WNOHANG)
            if done == 0:
                os.kill(pid, 9)
                os.waitpid(pid, 0)
                return None, seen
            return os.waitstatus_to_exitcode(status), seen
        finally:
            os.close(fd)

    n = name()
    code, seen = drive(["run", "-it", "--name", n, "busybox", "sh"], b"\x10\x11", b"rdy6",
                       poke=b"echo rdy$((2*3))\r")
    assert code == 0, seen
    assert json.loads(daemon.out("inspect", n))[0]["State"]["Running"] is True
    daemon.out("rm", "-f", n)
    # a running TTY container: its output tells the attach is up, then the keys
    daemon.out("run", "-dit", "--name", n, "busybox", "sh", "-c",
               "while :; do echo tick; sleep 1; done")
    code, seen = drive(["attach", "--detach-keys", "ctrl-a,d", n], b"\x01d", b"tick")
    assert code == 1 and b"read escape sequence" in seen, (code, seen)
    assert json.loads(daemon.out("inspect", n))[0]["State"]["Running"] is True
    daemon.out("rm", "-f", n)


# ---- bind propagation, VolumeOptions.Subpath ----------------------------------------------
def _create(daemon, body: dict) -> tuple[int, dict | str]:
    code, text = daemon.curl("-X", "POST", "-H", "Content-Type: application/json", "-d",
                             json.dumps(body), "http://d/containers/create")
    try:
        return code, json.loads(text)
    except ValueError:
        return code, text


def test_api_bind_propagation_and_volume_subpath(daemon, tmp_path):
    """Through the API as a client sends them: ``Binds`` with a mode, ``Mounts`` with
    ``BindOptions.Propagation`` and ``VolumeOptions.Subpath`` (API 1.45); and the docker
    CLI's own ``--mount ...,volume-subpath=``."""
    import subprocess
    src = tmp_path / "bsrc"
    src.mkdir()
    subprocess.run(["mount", "--bind", str(src), str(src)], check=True)   # a shared mount
    subprocess.run(["mount", "--make-shared", str(src)], check=True)      # for rslave
    try:
        _propagation_and_subpath(daemon, src)
    finally:
        subprocess.run(["umount", str(src)], check=True)


def _propagation_and_subpath(daemon, src) -> None:
    vol = name()
    daemon.out("run", "--rm", "-v", f"{vol}:/v", "busybox", "sh", "-c",
               "mkdir -p /v/a/b && echo deep > /v/a/b/f")
    code, doc = _create(daemon, {
        "Image": "busybox", "Cmd": ["sh", "-c", "cat /w/f; grep ' /m ' /proc/self/mountinfo"],
        "HostConfig": {"Binds": [f"{src}:/data:rslave"], "Mounts": [
            {"Type": "volume", "Source": vol, "Target": "/w",
             "VolumeOptions": {"Subpath": "a/b"}},
            {"Type": "bind", "Source": str(src), "Target": "/m",
             "BindOptions": {"Propagation": "rprivate"}}]}})
    assert code == 201, doc
    cid = doc["Id"]
    mounts = {m["Destination"]: m for m in json.loads(daemon.out("inspect", cid))[0]["Mounts"]}
    assert mounts["/data"]["Propagation"] == "rslave"
    assert mounts["/m"]["Propagation"] == "rprivate"
    daemon.out("start", cid)
    assert daemon.out("wait", cid).strip() == "0"
    assert daemon.out("logs", cid).startswith("deep\n")
    daemon.out("rm", cid)
    assert daemon.out("run", "--rm", "--mount",
                      f"type=volume,src={vol},dst=/w,volume-subpath=a/b",
                      "busybox", "cat", "/w/f") == "deep\n"
    for sub, words in (("../x", "'..' is not allowed"), ("a/zz", "does not exist")):
        code, doc = _create(daemon, {"Image": "busybox", "HostConfig": {"Mounts": [
            {"Type": "volume", "Source": vol, "Target": "/w",
             "VolumeOptions": {"Subpath": sub}}]}})
        assert code in (400, 404) and words in str(doc), (sub, doc)
    assert daemon.out("ps", "-aq") == ""
    daemon.out("volume", "rm", vol)


def test_bind_recursion_options_are_honoured_or_refused_by_name(daemon, tmp_path):
    """``--mount ...,bind-recursive=`` (API 1.44's ``BindOptions``): glassbox binds
    recursively and makes a read-only bind read-only at its top mount — ``writable``
    (``ReadOnlyNonRecursive``) is that; ``readonly`` (``ReadOnlyForceRecursive``) and
    ``disabled`` (``NonRecursive``) it does not do, and says so."""
    (tmp_path / "f").write_text("x\n")
    spec = f"type=bind,src={tmp_path},dst=/b,readonly"
    assert daemon.out("run", "--rm", "--mount", spec + ",bind-recursive=writable",
                      "busybox", "cat", "/b/f") == "x\n"
    for mode, field in (("readonly,bind-propagation=rprivate", "ReadOnlyForceRecursive"),
                        ("disabled", "NonRecursive")):
        p = daemon.docker("run", "--rm", "--mount", f"{spec},bind-recursive={mode}",
                          "busybox", "true", check=False)
        assert p.returncode == 125, p.stderr
        assert f"Mounts.BindOptions.{field} is not supported".encode() in p.stderr, p.stderr
    assert daemon.out("ps", "-aq") == ""
