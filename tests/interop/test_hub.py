"""A class on one machine: JupyterHub (deploy/hub/) with three students.

Real peers throughout: jupyterhub from PyPI, configurable-http-proxy from npm,
local accounts made for the test, each student's server spawned as that
student, rootless glassbox inside it. The notebooks run through the server's
kernel API (REST + the kernel's WebSocket), the way the lab itself runs them.
"""

from __future__ import annotations

import asyncio
import json
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
import uuid

import pytest

pytestmark = pytest.mark.interop

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
VENV_BIN = os.path.join(REPO, ".venv", "bin")
CHP = os.path.join(REPO, ".venv", "node", "node_modules", ".bin", "configurable-http-proxy")


def _free_ports(n: int) -> int:
    """A port p with p .. p+n-1 all free on 127.0.0.1 (the hub, its API, the proxy's)."""
    for _ in range(50):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            p = s.getsockname()[1]
        if p + n >= 65535:
            continue
        try:
            socks = []
            for q in range(p, p + n):
                t = socket.socket()
                socks.append(t)
                t.bind(("127.0.0.1", q))
            return p
        except OSError:
            continue
        finally:
            for t in socks:
                t.close()
    raise RuntimeError("no three consecutive free ports")


def _useradd(base: str, name: str) -> pwd.struct_passwd:
    home = os.path.join(base, name)
    subprocess.run(["useradd", "-m", "-d", home, "-s", "/bin/bash", name], check=True)
    pw = pwd.getpwnam(name)
    nb = os.path.join(home, "notebooks")
    os.makedirs(nb)
    shutil.copy(os.path.join(REPO, "notebooks", "00-tour.ipynb"), nb)
    shutil.copy(os.path.join(REPO, "notebooks", "en", "00-quickstart.ipynb"), nb)
    subprocess.run(["chown", "-R", f"{pw.pw_uid}:{pw.pw_gid}", nb], check=True)
    return pw


def _user_procs(uid: int) -> list[int]:
    out = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            if os.stat(f"/proc/{pid}").st_uid == uid:
                out.append(int(pid))
        except OSError:
            pass
    return out


def _cmdline(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return f"{pid} " + f.read().replace(b"\0", b" ").decode(errors="replace")[:200]
    except OSError:
        return f"{pid} (gone)"


class Hub:
    def __init__(self, port: int, token: str):
        self.url = f"http://127.0.0.1:{port}"
        self.token = token

    def api(self, method: str, path: str, token: str | None = None, body=None):
        import urllib.request
        req = urllib.request.Request(self.url + path, method=method,
                                     data=None if body is None else json.dumps(body).encode(),
                                     headers={"Authorization": f"token {token or self.token}"})
        try:
            with urllib.request.urlopen(req, timeout=30) as r:
                data = r.read()
                return r.status, (json.loads(data) if data else None)
        except urllib.error.HTTPError as e:
            return e.code, e.read().decode(errors="replace")
        except urllib.error.URLError as e:      # not listening (yet)
            return 0, str(e.reason)

    def start_server(self, name: str, timeout: float = 120) -> str:
        """Start ``name``'s server; returns a token of theirs for its API."""
        status, body = self.api("POST", f"/hub/api/users/{name}/server")
        assert status in (201, 202), (status, body)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            _, user = self.api("GET", f"/hub/api/users/{name}")
            if isinstance(user, dict) and user.get("servers", {}).get("", {}).get("ready"):
                break
            time.sleep(0.5)
        else:
            raise AssertionError(f"{name}'s server not ready in {timeout} s")
        status, tok = self.api("POST", f"/hub/api/users/{name}/tokens",
                               body={"note": "test", "expires_in": 3600})
        assert status == 201, (status, tok)
        return tok["token"]


async def _run_code(url: str, token: str, codes: list[str], timeout: float = 300) -> list[dict]:
    """Execute cells one by one in a new kernel on a Jupyter server, through its
    REST and WebSocket kernel API; one result per cell (status, text, error)."""
    import aiohttp
    headers = {"Authorization": f"token {token}"}
    async with aiohttp.ClientSession(headers=headers) as http:
        async with http.post(f"{url}/api/kernels", json={"name": "python3"}) as r:
            assert r.status == 201, await r.text()
            kid = (await r.json())["id"]
        results = []
        try:
            ws_url = url.replace("http", "ws", 1) + f"/api/kernels/{kid}/channels"
            async with http.ws_connect(ws_url, max_msg_size=0) as ws:
                for code in codes:
                    msg_id = uuid.uuid4().hex
                    await ws.send_json({
                        "header": {"msg_id": msg_id, "msg_type": "execute_request",
                                   "username": "test", "session": kid, "version": "5.3",
                                   "date": ""},
                        "parent_header": {}, "metadata": {}, "channel": "shell",
                        "content": {"code": code, "silent": False, "store_history": True,
                                    "user_expressions": {}, "allow_stdin": False}})
                    text, error, status = [], None, None
                    while status is None:
                        frame = await asyncio.wait_for(ws.receive(), timeout)
                        if frame.type != aiohttp.WSMsgType.TEXT:
                            continue   # binary frames: widget messages with buffers
                        msg = json.loads(frame.data)
                        if msg.get("parent_header", {}).get("msg_id") != msg_id:
                            continue
                        kind, content = msg["msg_type"], msg["content"]
                        if kind == "stream":
                            text.append(content["text"])
                        elif kind in ("execute_result", "display_data"):
                            text.append(content["data"].get("text/plain", ""))
                        elif kind == "error":
                            error = f"{content['ename']}: {content['evalue']}"
                        elif kind == "execute_reply" and msg["channel"] == "shell":
                            status = content["status"]
                    results.append({"status": status, "text": "".join(text), "error": error})
        finally:
            async with http.delete(f"{url}/api/kernels/{kid}"):
                pass
        return results


def run_code(hub: Hub, name: str, token: str, codes: list[str]) -> list[dict]:
    return asyncio.run(_run_code(f"{hub.url}/user/{name}", token, codes))


def sh(*args: str) -> str:
    """A cell running the glassbox CLI; prints its exit code, then its output."""
    return ("import subprocess\n"
            f"p = subprocess.run(['glassbox', *{list(args)!r}], capture_output=True, text=True)\n"
            "print(p.returncode, p.stdout, p.stderr)")


def notebook_code(path: str) -> list[str]:
    with open(path) as f:
        nb = json.load(f)
    return ["".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "code"]


@pytest.fixture
def classroom():
    """Three set-up students and one who was not, a hub for them, and afterwards:
    the hub stopped, then proof that nothing of theirs is left."""
    if os.geteuid() != 0:
        pytest.skip("needs root: a hub spawning local accounts")
    if not os.path.exists(CHP):
        pytest.skip("configurable-http-proxy missing (make setup installs it)")
    from glassbox.rootless.setup import remove, setup_user
    tag = uuid.uuid4().hex[:5]
    base = tempfile.mkdtemp(prefix="glassbox-hub-", dir="/tmp")
    os.chmod(base, 0o755)
    names = [f"gbs{tag}{i}" for i in range(3)]
    unset = f"gbs{tag}x"
    users: dict[str, pwd.struct_passwd] = {}
    hub_proc = None
    log_path = os.path.join(base, "hub.log")
    try:
        for n in names + [unset]:
            users[n] = _useradd(base, n)
        for n in names:
            setup_user(n)
        port, token = _free_ports(3), uuid.uuid4().hex
        env = dict(os.environ, GLASSBOX_HUB_PORT=str(port),
                   GLASSBOX_HUB_STATE=os.path.join(base, "hub"),
                   GLASSBOX_HUB_STUDENTS=",".join(names + [unset]),
                   GLASSBOX_HUB_TEACHER_TOKEN=token, GLASSBOX_STUDENT_MEMORY="768M",
                   GLASSBOX_STUDENT_PIDS="512")
        with open(log_path, "wb") as log:
            hub_proc = subprocess.Popen(
                [os.path.join(VENV_BIN, "jupyterhub"), "-f",
                 os.path.join(REPO, "deploy", "hub", "jupyterhub_config.py")],
                cwd=base, env=env, stdout=log, stderr=subprocess.STDOUT)
        hub = Hub(port, token)
        deadline = time.monotonic() + 60
        while hub.api("GET", "/hub/api/")[0] != 200:
            assert hub_proc.poll() is None and time.monotonic() < deadline, \
                open(log_path, errors="replace").read()[-3000:]
            time.sleep(0.3)
        for n in names + [unset]:
            hub.api("POST", f"/hub/api/users/{n}")
        yield hub, users, names, unset
    finally:
        if hub_proc is not None:
            hub_proc.terminate()
            try:
                hub_proc.wait(60)
            except subprocess.TimeoutExpired:
                hub_proc.kill()
                hub_proc.wait()
        deadline = time.monotonic() + 10     # a container's last processes are exiting
        while time.monotonic() < deadline and any(_user_procs(pw.pw_uid) for pw in users.values()):
            time.sleep(0.1)
        left = {n: [_cmdline(p) for p in _user_procs(pw.pw_uid)] for n, pw in users.items()}
        for pw in users.values():
            subprocess.run(["pkill", "-KILL", "-U", str(pw.pw_uid)], check=False)
        time.sleep(0.3)
        cg_left = []
        for n in names:
            if n in users:
                try:
                    remove(n)
                except Exception as e:  # noqa: BLE001
                    cg_left.append(f"{n}: {e}")
        for n in users:
            subprocess.run(["userdel", "-r", "-f", n], check=False, stderr=subprocess.DEVNULL)
        hub_log = open(log_path, errors="replace").read() if os.path.exists(log_path) else ""
        mounts = [ln for ln in open("/proc/self/mountinfo") if base in ln]
        shutil.rmtree(base, ignore_errors=True)
        assert not any(left.values()), f"processes left after the hub stopped: {left}"
        assert not cg_left, cg_left
        assert not mounts, mounts
        print(hub_log[-4000:])


def test_a_class_of_three_on_one_machine(classroom):
    hub, users, names, unset = classroom
    a, b, c = names
    tokens = {n: hub.start_server(n) for n in names}

    # every student runs the tour through their own server's kernels
    for n in names:
        cells = notebook_code(os.path.join(users[n].pw_dir, "notebooks", "00-tour.ipynb"))
        results = run_code(hub, n, tokens[n], cells)
        failed = [(i, r) for i, r in enumerate(results)
                  if r["status"] != "ok" or "Error: " in r["text"]]
        assert not failed, (n, [(i, cells[i][:80], r) for i, r in failed[:3]],
                            [r["text"][:300] for r in results[:failed[0][0] + 1]])

    # A's container is A's alone: B can neither see it nor stop it nor exec into it
    res = run_code(hub, a, tokens[a], [
        "%load_ext glassbox\n%container run -d --name mine busybox sleep 600",
        sh("inspect", "-f", "{{.Id}}", "mine")])
    assert all(r["status"] == "ok" for r in res), res
    a_id = res[1]["text"].split()[1]
    assert len(a_id) == 64, res[1]
    res = run_code(hub, b, tokens[b], [sh("ps", "-aq", "--no-trunc"), sh("stop", a_id),
                                        sh("exec", a_id, "true")])
    assert res[0]["text"].startswith("0 ") and a_id not in res[0]["text"], res[0]
    assert not res[1]["text"].startswith("0 "), res[1]
    assert not res[2]["text"].startswith("0 "), res[2]

    # C's memory hog and fork bomb hit C's ceiling; A still starts containers
    run_code(hub, c, tokens[c], [
        "%load_ext glassbox\n%container run -d --name hog busybox sh -c 'x=a; while :; do x=$x$x; done'",
        "%container run -d --name bomb busybox sh -c 'f(){ f | f & }; f; sleep 600'"])
    t0 = time.monotonic()
    res = run_code(hub, a, tokens[a], ["%load_ext glassbox\n"
                                        "%container run --rm busybox echo still-fine"])
    took = time.monotonic() - t0
    assert res[0]["status"] == "ok" and "still-fine" in res[0]["text"], res
    print(f"a's run beside c's hog and fork bomb: {took:.2f} s (kernel start included)")

    # the student who was not set up still gets a server, and doctor explains
    tok = hub.start_server(unset)
    res = run_code(hub, unset, tok, ["!glassbox doctor"])
    assert "setup-user" in res[0]["text"], res
