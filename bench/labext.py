"""The lab panel's costs: event latency, the stats stream's rate and server CPU, and the
panel's update cost with 500 containers (issue 13). Not a test: it prints figures.

    .venv/bin/python bench/labext.py [--n 10] [--watch 1,5,20] [--rows 500] [--seconds 10]

In a private state root (bench/_common.Root) it starts JupyterLab on 127.0.0.1 with the
``glassbox.lab`` server extension and the built front end (from a tmp data dir; nothing is
installed), then measures:

1. **event → WebSocket**: ``glassbox run -d`` from the CLI until the ``start`` event reaches
   a WebSocket client (the panel's source of truth), and until the CLI returned.
2. **stats stream**: with K containers watched, the messages per second each one gets and
   the server's CPU (its ``/proc/<pid>/stat`` utime+stime, all threads) above an idle
   baseline with the socket open, per watched container.
3. **event → screen** (needs chromium + playwright-core, tests/browser): from ``glassbox
   run -d`` until the container's row is in the panel's DOM.
4. **kernel CPU per open notebook chart**: ``monitor(c)`` where no front end claims it
   (classic Notebook, a lab without the extension: the kernel samples and redraws a PNG)
   against ``monitor(c)`` claimed by the lab's chart (the comm the extension opens: the
   kernel only samples, the browser draws from the lab's 10 Hz stream), beside an idle
   kernel.
5. **500 containers**: one panel refresh (GET /glassbox/containers + JSON + redraw, rows
   whose data did not change kept) and a redraw with every row new, in chromium, with
   ``--rows`` created containers in the root.

There is no anchor: nothing else shows cgroup numbers live in JupyterLab
(jupyter-resource-usage reads psutil for the whole server, not per container).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _common import GLASSBOX, VENV_BIN, Root  # noqa: E402

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BUILT = os.path.join(REPO, "engine", "glassbox", "lab", "labextension")
BROWSER = os.path.join(REPO, "tests", "browser")
CLK = os.sysconf("SC_CLK_TCK")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _cpu_seconds(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK


class Lab:
    """JupyterLab in a tmp world on ``root``, with glassbox.lab and the built panel."""

    def __init__(self, root: Root):
        self.tmp = tempfile.mkdtemp(prefix="gbx-bench-lab-")
        dirs = {k: os.path.join(self.tmp, k.lower()) for k in (
            "JUPYTER_CONFIG_DIR", "JUPYTER_DATA_DIR", "JUPYTER_RUNTIME_DIR", "IPYTHONDIR",
            "JUPYTERLAB_SETTINGS_DIR", "JUPYTERLAB_WORKSPACES_DIR")}
        for d in dirs.values():
            os.makedirs(d)
        with open(os.path.join(dirs["JUPYTER_CONFIG_DIR"], "jupyter_server_config.py"), "w") as f:
            f.write("c.LabApp.expose_app_in_browser = True\nc.LabApp.news_url = None\n"
                    "c.LabApp.check_for_updates_class = 'jupyterlab.NeverCheckForUpdate'\n")
        os.makedirs(os.path.join(dirs["JUPYTER_DATA_DIR"], "labextensions"))
        os.symlink(BUILT, os.path.join(dirs["JUPYTER_DATA_DIR"], "labextensions", "glassbox-lab"))
        self.env = dict(root.env, **dirs)
        self.env["PATH"] = VENV_BIN + os.pathsep + self.env.get("PATH", "")
        for var in ("GLASSBOX_HOST", "DOCKER_HOST"):
            self.env.pop(var, None)
        self.env["JUPYTER_PREFER_ENV_PATH"] = "0"     # the tmp data dir (this build) first
        self.port, self.token = _free_port(), uuid.uuid4().hex
        self.base = f"http://127.0.0.1:{self.port}"
        self.log = open(os.path.join(self.tmp, "lab.log"), "wb")
        self.proc = subprocess.Popen(
            [os.path.join(VENV_BIN, "jupyter-lab"), "--ip=127.0.0.1", f"--port={self.port}",
             "--no-browser", "--allow-root", f"--notebook-dir={self.tmp}",
             f"--IdentityProvider.token={self.token}", "--ServerApp.port_retries=0",
             "--ServerApp.jpserver_extensions={'glassbox.lab': True}"],
            env=self.env, stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + 60
        while True:
            try:
                urllib.request.urlopen(f"{self.base}/api/status?token={self.token}", timeout=2)
                break
            except OSError:
                if self.proc.poll() is not None or time.monotonic() > deadline:
                    raise SystemExit("JupyterLab did not start; see " + self.log.name)
                time.sleep(0.3)
        urllib.request.urlopen(f"{self.base}/lab?token={self.token}", timeout=120).close()

    def close(self) -> None:
        try:
            req = urllib.request.Request(f"{self.base}/api/shutdown?token={self.token}",
                                         method="POST")
            urllib.request.urlopen(req, timeout=10).close()
            self.proc.wait(15)
        except (OSError, subprocess.TimeoutExpired):
            self.proc.terminate()
            self.proc.wait(10)
        self.log.close()
        shutil.rmtree(self.tmp, ignore_errors=True)


async def _socket(lab: Lab):
    import tornado.websocket
    url = f"ws://127.0.0.1:{lab.port}/glassbox/events?token={lab.token}"
    ws = await tornado.websocket.websocket_connect(url)
    await ws.read_message()                    # hello
    return ws


async def _drain(ws, seconds: float, on_msg) -> None:
    end = time.monotonic() + seconds
    while (left := end - time.monotonic()) > 0:
        try:
            raw = await asyncio.wait_for(ws.read_message(), left)
        except asyncio.TimeoutError:
            return
        if raw is None:
            raise SystemExit("the server closed the WebSocket")
        on_msg(json.loads(raw))


async def event_latency(lab: Lab, root: Root, n: int) -> None:
    ws = await _socket(lab)
    ev_ms, cli_ms = [], []
    for i in range(n):
        name = f"ev-{uuid.uuid4().hex[:6]}"
        t0 = time.monotonic()
        proc = await asyncio.create_subprocess_exec(
            GLASSBOX, "run", "-d", "--network", "none", "--name", name, "busybox", "sleep", "600",
            env=root.env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        got = {}

        def on(m, name=name):
            if m["type"] == "event" and m["event"]["Action"] == "start" and \
                    m["event"]["Actor"]["Attributes"].get("name") == name:
                got.setdefault("t", time.monotonic())
        while "t" not in got:
            await _drain(ws, 0.05, on)
        await proc.wait()
        cli_ms.append((time.monotonic() - t0) * 1000)
        ev_ms.append((got["t"] - t0) * 1000)
        root.cli("rm", "-f", name)
    ws.close()
    print(f"  run -d → start event on the WebSocket   median {statistics.median(ev_ms):7.1f} ms"
          f"  (CLI returned after {statistics.median(cli_ms):.1f} ms; n={n}; the watcher polls"
          " every 250 ms)")


async def stats_stream(lab: Lab, root: Root, counts: list[int], seconds: float) -> None:
    ids = []
    for _ in range(max(counts)):
        out = root.cli("run", "-d", "--network", "none", "busybox", "sleep", "3600", check=True)
        ids.append(out.stdout.decode().strip())
    ws = await _socket(lab)
    try:
        c0 = _cpu_seconds(lab.proc.pid)
        await _drain(ws, seconds, lambda m: None)
        base = (_cpu_seconds(lab.proc.pid) - c0) / seconds * 100
        print(f"  server CPU, socket open, nothing watched  {base:6.2f} %  (status tick 1 Hz)")
        for k in counts:
            ws.write_message(json.dumps({"watch": ids[:k]}))
            await _drain(ws, 1.0, lambda m: None)          # samplers start
            per: dict[str, int] = {}

            def on(m):
                if m["type"] == "stats":
                    per[m["id"]] = per.get(m["id"], 0) + 1
            c0 = _cpu_seconds(lab.proc.pid)
            await _drain(ws, seconds, on)
            cpu = (_cpu_seconds(lab.proc.pid) - c0) / seconds * 100
            rate = statistics.median([per.get(i, 0) / seconds for i in ids[:k]])
            print(f"  {k:3d} watched: {rate:5.2f} samples/s each, server CPU {cpu:6.2f} % "
                  f"→ {(cpu - base) / k:5.2f} % per watched container")
            ws.write_message(json.dumps({"watch": []}))
            await _drain(ws, 1.0, lambda m: None)
        # one notebook live chart: the same sampler at 10 Hz
        ws.write_message(json.dumps({"fast": ids[:1]}))
        await _drain(ws, 1.0, lambda m: None)
        n = 0

        def count(m):
            nonlocal n
            n += m["type"] == "stats"
        c0 = _cpu_seconds(lab.proc.pid)
        await _drain(ws, seconds, count)
        cpu = (_cpu_seconds(lab.proc.pid) - c0) / seconds * 100
        print(f"  1 live chart (10 Hz): {n / seconds:5.2f} samples/s, server CPU {cpu - base:5.2f} % "
              "above idle")
        ws.write_message(json.dumps({"fast": []}))
    finally:
        ws.close()
        for cid in ids:
            root.cli("rm", "-f", cid)


def kernel_cpu(root: Root, seconds: float) -> None:
    """The notebook kernel's CPU with one chart open: ``monitor(c)`` that nothing claims
    (the kernel samples at 5 Hz and redraws a PNG at 2 Hz) against ``monitor(c)`` claimed
    by the lab's chart (the kernel only samples; the comm_open is sent here as the
    extension sends it), and an idle kernel."""
    from jupyter_client import KernelManager
    from glassbox.jupyter.livechart import COMM_TARGET, MIME
    cid = root.cli("run", "-d", "--network", "none", "busybox", "sh", "-c",
                   "while :; do :; done", check=True).stdout.decode().strip()
    show = f"import glassbox.jupyter as gj\nm = gj.monitor({cid!r})\ndisplay(m)"
    cases = {"idle kernel (no chart)": ("import glassbox.jupyter as gj", False),
             "monitor(c), no front end claims it: PNG": (show, False),
             "monitor(c), drawn by the browser": (show, True)}
    try:
        for what, (code, claim) in cases.items():
            km = KernelManager(kernel_name="python3")
            km.start_kernel(env=dict(root.env, MPLBACKEND="agg"))
            kc = km.client()
            kc.start_channels()
            try:
                kc.wait_for_ready(timeout=60)
                shown: list = []

                def hook(msg, shown=shown):
                    if msg["msg_type"] == "display_data" and MIME in msg["content"]["data"]:
                        shown.append(msg["content"]["data"][MIME]["monitor"])
                reply = kc.execute_interactive(code, timeout=60, output_hook=hook)
                if reply["content"]["status"] != "ok":
                    raise SystemExit(f"{what}: the cell failed: {reply['content']}")
                if claim:
                    kc.shell_channel.send(kc.session.msg("comm_open", {
                        "comm_id": uuid.uuid4().hex, "target_name": COMM_TARGET,
                        "data": {"monitor": shown[0]}}))
                time.sleep(2.0)     # past the monitor's wait for a claim
                pid = km.provisioner.process.pid
                c0 = _cpu_seconds(pid)
                time.sleep(seconds)
                cpu = (_cpu_seconds(pid) - c0) / seconds * 100
                out: list = []
                if shown:
                    kc.execute_interactive(
                        'print(m.browser, m.draws, len(m.samples))', timeout=60,
                        output_hook=lambda m: out.append(m["content"].get("text", "")))
                said = (" (claimed, PNGs drawn, samples: " + " ".join("".join(out).split()) + ")"
                        if out else "")
                print(f"  kernel CPU, {what:42s} {cpu:6.2f} %{said}")
            finally:
                kc.stop_channels()
                km.shutdown_kernel(now=True)
    finally:
        root.cli("rm", "-f", cid)


def _browser_ok() -> str:
    for what, ok in (("chromium", os.path.exists("/usr/bin/chromium")),
                     ("node", shutil.which("node")),
                     ("playwright-core", os.path.exists(os.path.join(
                         BROWSER, "node_modules", "playwright-core", "package.json")))):
        if not ok:
            return what
    return ""


def _node(lab: Lab, *args: str) -> dict:
    profile = tempfile.mkdtemp(prefix="gbx-bench-chromium-")
    try:
        p = subprocess.run([shutil.which("node"), os.path.join(BROWSER, "bench_labext.mjs"),
                            "--url", f"{lab.base}/lab?token={lab.token}", "--profile", profile,
                            "--glassbox", GLASSBOX, *args],
                           env=dict(lab.env, PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD="1"), cwd=BROWSER,
                           capture_output=True, timeout=600, start_new_session=True)
    finally:
        found = []
        for entry in os.listdir("/proc"):      # chromium left by a crashed driver: ours only
            if entry.isdigit():
                try:
                    with open(f"/proc/{entry}/cmdline", "rb") as f:
                        if profile.encode() in f.read():
                            found.append(int(entry))
                except OSError:
                    pass
        for pid in found:
            os.kill(pid, signal.SIGKILL)
        shutil.rmtree(profile, ignore_errors=True)
    lines = [ln for ln in p.stdout.decode().splitlines() if ln.startswith("{")]
    if p.returncode != 0 or not lines:
        raise SystemExit("the browser driver failed:\n" + p.stderr.decode()[-2000:])
    return json.loads(lines[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--n", type=int, default=10)
    ap.add_argument("--watch", default="1,5,20")
    ap.add_argument("--rows", type=int, default=500)
    ap.add_argument("--seconds", type=float, default=10.0)
    a = ap.parse_args()
    if not os.path.exists(os.path.join(BUILT, "package.json")):
        raise SystemExit("build the front end first: cd labext && jlpm install && jlpm build:prod")
    root = Root()
    lab = None
    try:
        lab = Lab(root)
        print("lab panel (glassbox.lab + labext), one JupyterLab server, 2 shared CPUs")
        asyncio.run(event_latency(lab, root, a.n))
        asyncio.run(stats_stream(lab, root, [int(x) for x in a.watch.split(",")], a.seconds))
        kernel_cpu(root, a.seconds)
        missing = _browser_ok()
        if missing:
            print(f"  (browser figures skipped: no {missing}; scripts/setup-browser.sh)")
            return
        r = _node(lab, "--mode", "latency", "--n", str(a.n))
        vis = [s["row_visible_ms"] for s in r["samples"]]
        cli = [s["cli_returned_ms"] for s in r["samples"]]
        print(f"  run -d → row visible in the panel        median {statistics.median(vis):7.1f} ms"
              f"  (CLI returned after {statistics.median(cli):.1f} ms; n={len(vis)})")
        from glassbox.containers.options import CreateOptions
        eng = root.engine()
        t = time.monotonic()
        for _ in range(a.rows):
            eng.containers.create(CreateOptions(image="busybox", command=["true"], network="none"))
        made = time.monotonic() - t
        r = _node(lab, "--mode", "render", "--n", str(a.n), "--rows", str(a.rows))["samples"]
        print(f"  {r['rows']} containers: one refresh (GET + JSON + keyed redraw) median "
              f"{statistics.median(r['full']):7.1f} ms; every row drawn anew "
              f"{statistics.median(r['draw']):6.1f} ms  ({a.rows} created in {made:.1f} s)")
    finally:
        if lab is not None:
            lab.close()
        root.close()


if __name__ == "__main__":
    main()
