"""A class made for tests and benchmarks: local student accounts, the hub of
deploy/hub/ running for them, and clients for the hub's REST API and each
student's kernel API (used by tests/interop/test_hub.py and bench/classroom.py).

Everything made here — accounts, their homes, cgroup subtrees, the hub and what
it spawned — is removed by :meth:`Classroom.close`, which reports whatever it
found still running.
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


async def _run_code(url: str, token: str, codes: list[str], timeout: float = 300,
                    keep_kernel: bool = False) -> list[dict]:
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
            if not keep_kernel:
                async with http.delete(f"{url}/api/kernels/{kid}"):
                    pass
        return results


def run_code(hub: Hub, name: str, token: str, codes: list[str],
             keep_kernel: bool = False) -> list[dict]:
    return asyncio.run(_run_code(f"{hub.url}/user/{name}", token, codes,
                                 keep_kernel=keep_kernel))


def sh(*args: str) -> str:
    """A cell running the glassbox CLI; prints its exit code, then its output."""
    return ("import subprocess\n"
            f"p = subprocess.run(['glassbox', *{list(args)!r}], capture_output=True, text=True)\n"
            "print(p.returncode, p.stdout, p.stderr)")


def server_pid(uid: int) -> int | None:
    """The pid of the student's single-user server (``jupyterhub-singleuser``)."""
    for pid in _user_procs(uid):
        if "jupyterhub-singleuser" in _cmdline(pid):
            return pid
    return None


def notebook_code(path: str) -> list[str]:
    with open(path) as f:
        nb = json.load(f)
    return ["".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "code"]


class Classroom:
    """``students`` set-up accounts and ``unset`` accounts that were not, and a hub
    for all of them on 127.0.0.1."""

    def __init__(self, students: int = 3, unset: int = 0, memory: str = "768M",
                 pids: int = 512, disk: str = ""):
        from glassbox.rootless.setup import setup_user
        tag = uuid.uuid4().hex[:5]
        self.base = tempfile.mkdtemp(prefix="glassbox-hub-", dir="/tmp")
        os.chmod(self.base, 0o755)
        self.names = [f"gbs{tag}{i}" for i in range(students)]
        self.unset = [f"gbs{tag}x{i}" for i in range(unset)]
        self.users: dict[str, pwd.struct_passwd] = {}
        self.proc: subprocess.Popen | None = None
        self.log_path = os.path.join(self.base, "hub.log")
        try:
            for n in self.names + self.unset:
                self.users[n] = _useradd(self.base, n)
            for n in self.names:
                setup_user(n)
            port, token = _free_ports(3), uuid.uuid4().hex
            env = dict(os.environ, GLASSBOX_HUB_PORT=str(port),
                       GLASSBOX_HUB_STATE=os.path.join(self.base, "hub"),
                       GLASSBOX_HUB_STUDENTS=",".join(self.names + self.unset),
                       GLASSBOX_HUB_TEACHER_TOKEN=token, GLASSBOX_STUDENT_MEMORY=memory,
                       GLASSBOX_STUDENT_PIDS=str(pids), GLASSBOX_STUDENT_DISK=disk)
            with open(self.log_path, "wb") as log:
                self.proc = subprocess.Popen(
                    [os.path.join(VENV_BIN, "jupyterhub"), "-f",
                     os.path.join(REPO, "deploy", "hub", "jupyterhub_config.py")],
                    cwd=self.base, env=env, stdout=log, stderr=subprocess.STDOUT)
            self.hub = Hub(port, token)
            deadline = time.monotonic() + 60
            while self.hub.api("GET", "/hub/api/")[0] != 200:
                if self.proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("the hub did not come up:\n" + self.log()[-3000:])
                time.sleep(0.3)
            for n in self.names + self.unset:
                self.hub.api("POST", f"/hub/api/users/{n}")
        except BaseException:
            self.close()
            raise

    def log(self) -> str:
        try:
            with open(self.log_path, errors="replace") as f:
                return f.read()
        except OSError:
            return ""

    def close(self) -> list[str]:
        """Stop the hub, then remove everything; returns what was still there."""
        from glassbox.rootless.setup import remove
        leaks = []
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(60)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                leaks.append("the hub did not stop on SIGTERM in 60 s")
        deadline = time.monotonic() + 10     # a container's last processes are exiting
        while time.monotonic() < deadline and any(_user_procs(pw.pw_uid)
                                                   for pw in self.users.values()):
            time.sleep(0.1)
        for n, pw in self.users.items():
            left = [_cmdline(p) for p in _user_procs(pw.pw_uid)]
            if left:
                leaks.append(f"processes of {n} left after the hub stopped: {left}")
            subprocess.run(["pkill", "-KILL", "-U", str(pw.pw_uid)], check=False)
        time.sleep(0.3)
        for n in self.names:
            if n in self.users:
                try:
                    remove(n)
                except Exception as e:  # noqa: BLE001
                    leaks.append(f"cgroups of {n}: {e}")
        for n in self.users:
            subprocess.run(["userdel", "-r", "-f", n], check=False, stderr=subprocess.DEVNULL)
        with open("/proc/self/mountinfo") as f:
            leaks += [f"mount left: {ln.split()[4]}" for ln in f if self.base in ln]
        loops = subprocess.run(["losetup", "-a"], capture_output=True, text=True).stdout
        leaks += [f"loop device left: {ln}" for ln in loops.splitlines() if self.base in ln]
        shutil.rmtree(self.base, ignore_errors=True)
        self.users = {}
        return leaks
