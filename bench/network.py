"""Network cost: start with a network vs without, and a published port vs direct (issue 6).

    .venv/bin/python bench/network.py [-n 20] [--requests 500] [--bulk-mb 50] [--bulk-n 3]
                                      [--only start|throughput]

1. **start**: ``glassbox run --rm --network benchnet-XXXX busybox true`` (a user bridge
   network: veth pair, address from IPAM, hosts file, the container side configured
   in its namespace) vs ``glassbox run --rm --network none busybox true`` from the CLI,
   and the same pair through the Python API (``Engine.run(..., network=...)``) in one
   process. The two variants are *interleaved* (A, B, A, B, ...) so the load of a
   shared machine drifts over both alike. The CLI figures are honest: every CLI
   process pays the imports of the network code (~8 ms: the manager, ipaddress, the
   records; not pyroute2, which the start and exit paths never import — its import
   is timed on its own for scale), which the ``--network none`` run never imports.
   The API figures come after a warm-up run of each variant, which is what a
   notebook sees; the engine forks its shim from the caller and the shim does the
   netlink work, with what the caller has loaded: the API pair is measured again
   after ``netlink.preload()`` in this process (what a warm helper or the daemon does).
   Target: attaching a network adds <= 10 ms to start (API, warm).
2. **throughput**: ``busybox httpd -f -p 8080 -h /www`` in a container on that user
   network, published with ``-p 127.0.0.1:PORT:8080``. From the host, N sequential
   HTTP GETs of a small file (``http.client``, one connection per request — busybox
   httpd closes it anyway) to ``127.0.0.1:PORT`` (through glassbox's userland proxy)
   vs straight to the container's address on the bridge (``NetworkSettings.IPAddress``
   from ``glassbox inspect``; the host reaches it because the bridge holds the
   gateway address). Then a bulk GET of a 50 MB file, MB/s both ways. When ``ab``
   (ApacheBench) or ``wrk`` is installed it is run against both addresses too.

All traffic stays on this machine (loopback and the benchmark's own bridge). The
container, the network and every file are removed at the end. Not a test: prints
medians and ratios; the machine may be shared, so the load average is printed
next to the figures.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _common import Root, report  # noqa: E402


def load() -> str:
    return "load average %.2f, %.2f, %.2f (%d cores)" % (*os.getloadavg(), os.cpu_count())


def interleaved(a, b, n: int) -> tuple[list[float], list[float]]:
    """Time ``a`` and ``b`` alternately, n times each (a shared machine's load drifts
    over both alike)."""
    ta, tb = [], []
    for _ in range(n):
        for fn, out in ((a, ta), (b, tb)):
            t = time.perf_counter()
            fn()
            out.append(time.perf_counter() - t)
    return ta, tb


def diff_line(label: str, with_net: list[float], without: list[float]) -> None:
    d = (statistics.median(with_net) - statistics.median(without)) * 1000
    verdict = "within" if d <= 10 else "OVER"
    print(f"  {label:48s} +{d:6.1f} ms  ({verdict} the 10 ms target)")


# ---- part 1: start latency --------------------------------------------------------

def bench_start(root: Root, net: str, n: int) -> None:
    print(f"== start: run --rm busybox true, --network {net} vs none (n={n}, interleaved) ==")
    print(f"  [{load()}]")
    py = sys.executable
    imp, bare = interleaved(
        lambda: subprocess.run([py, "-c", "import pyroute2"], check=True),
        lambda: subprocess.run([py, "-c", "pass"], check=True), min(n, 10))
    print(f"  (for scale: `import pyroute2` in a fresh interpreter costs "
          f"{(statistics.median(imp) - statistics.median(bare)) * 1000:.0f} ms "
          f"over `python -c pass`)")

    def cli(network):
        return lambda: root.cli("run", "--rm", "--network", network, "busybox", "true",
                                check=True)
    cli(net)(), cli("none")()  # warm page cache, image, network store
    cli_net, cli_none = interleaved(cli(net), cli("none"), n)
    # the same through the warm agent (the C front hands the command to it)
    root.cli("agent", "start", check=True)
    try:
        cli(net)(), cli("none")()
        agent_net, agent_none = interleaved(cli(net), cli("none"), n)
    finally:
        root.cli("agent", "stop")

    eng = root.engine()

    def api(network):
        def go():
            r = eng.run("busybox", ["true"], auto_remove=True, network=network)
            assert r.exit_code == 0, r
        return go
    api(net)(), api("none")()  # warm-up run of each
    api_net, api_none = interleaved(api(net), api("none"), n)
    # The engine forks its shim from the caller, and the shim does the netlink work:
    # unless the caller has the network code loaded, every forked shim imports it
    # again. A warm helper or daemon calls netlink.preload() once; measure that too.
    from glassbox.network import netlink
    netlink.preload()
    api(net)()
    pre_net, pre_none = interleaved(api(net), api("none"), n)

    report([("CLI  --network none", cli_none), (f"CLI  --network {net}", cli_net),
            ("CLI+agent  --network none", agent_none),
            (f"CLI+agent  --network {net}", agent_net),
            ("API  network=none (warm)", api_none), (f"API  network={net} (warm)", api_net),
            ("API  network=none (after netlink.preload())", pre_none),
            ("API  network=<net> (after netlink.preload())", pre_net)])
    diff_line("CLI: network attached minus none", cli_net, cli_none)
    diff_line("CLI with the warm agent: attached minus none", agent_net, agent_none)
    diff_line("API: network attached minus none (warm)", api_net, api_none)
    diff_line("API: attached minus none (network code preloaded)", pre_net, pre_none)
    print(f"  [{load()}]")


# ---- part 2: throughput -----------------------------------------------------------

def free_port() -> int:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def get(host: str, port: int, path: str, bufsize: int = 1 << 20) -> int:
    """One GET on a fresh connection; returns the body length."""
    c = http.client.HTTPConnection(host, port, timeout=30)
    try:
        c.request("GET", path, headers={"Connection": "close"})
        r = c.getresponse()
        if r.status != 200:
            raise RuntimeError(f"GET {host}:{port}{path}: HTTP {r.status}")
        got = 0
        while True:
            chunk = r.read(bufsize)
            if not chunk:
                return got
            got += len(chunk)
    finally:
        c.close()


def wait_ready(host: str, port: int, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            get(host, port, "/small.html")
            return
        except (OSError, RuntimeError, http.client.HTTPException):
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)


def small_gets(host: str, port: int, n: int) -> list[float]:
    """n sequential GETs of the small file, a new connection each; their latencies."""
    lat = []
    for _ in range(n):
        t = time.perf_counter()
        get(host, port, "/small.html")
        lat.append(time.perf_counter() - t)
    return lat


def bulk_mb_s(host: str, port: int, size: int, n: int) -> list[float]:
    out = []
    for _ in range(n):
        t = time.perf_counter()
        got = get(host, port, "/big.bin")
        dt = time.perf_counter() - t
        if got != size:
            raise RuntimeError(f"bulk GET from {host}:{port}: {got} of {size} bytes")
        out.append(size / dt / 1e6)
    return out


def ab(url: str, n: int, conc: int) -> float | None:
    r = subprocess.run(["ab", "-q", "-n", str(n), "-c", str(conc), url],
                       capture_output=True, text=True)
    m = re.search(r"Requests per second:\s+([\d.]+)", r.stdout)
    if r.returncode != 0 or not m:
        print(f"  ab failed on {url}: {(r.stderr or r.stdout).strip()[-200:]}")
        return None
    failed = re.search(r"Failed requests:\s+(\d+)", r.stdout)
    if failed and int(failed.group(1)):
        print(f"  ab: {failed.group(1)} failed requests on {url}")
    return float(m.group(1))


def wrk(url: str, conc: int) -> float | None:
    r = subprocess.run(["wrk", "-t1", f"-c{conc}", "-d5s", url], capture_output=True, text=True)
    m = re.search(r"Requests/sec:\s+([\d.]+)", r.stdout)
    return float(m.group(1)) if m else None


def proxy_memory(root: Root, cid: str, when: str) -> None:
    """RSS / PSS of the container's port proxy (from its record under the root)."""
    try:
        with open(os.path.join(root.dir, "networks", "proxies", cid + ".json")) as f:
            recs = json.load(f)
    except (OSError, ValueError):
        recs = []
    for rec in recs:
        pid = rec["pid"]
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                cmd = f.read()
            with open(f"/proc/{pid}/smaps_rollup") as f:
                kb = {ln.split(":")[0]: int(ln.split()[1]) for ln in f if ln.endswith("kB\n")}
        except (OSError, ValueError):
            continue
        kind = "Python fallback" if b"_proxy.py" in cmd else "compiled"
        print(f"\n  port proxy pid {pid} ({kind}, {when}): RSS {kb.get('Rss', 0) / 1024:.1f} "
              f"MB, PSS {kb.get('Pss', 0) / 1024:.1f} MB")


def bench_throughput(root: Root, net: str, www: str, nreq: int, bulk_mb: int,
                     bulk_n: int) -> None:
    with open(os.path.join(www, "small.html"), "w") as f:
        f.write("<html><body>" + "glassbox " * 50 + "</body></html>\n")  # ~0.5 KB
    size = bulk_mb * 1_000_000
    with open(os.path.join(www, "big.bin"), "wb") as f:
        f.write(os.urandom(size))
    port = free_port()
    name = f"benchweb-{uuid.uuid4().hex[:8]}"
    root.cli("run", "-d", "--name", name, "--network", net, "-v", f"{www}:/www:ro",
             "-p", f"127.0.0.1:{port}:8080", "busybox", "httpd", "-f", "-p", "8080",
             "-h", "/www", check=True)
    doc = json.loads(root.cli("inspect", name, check=True).stdout)[0]
    ns = doc["NetworkSettings"]
    ip = ns.get("IPAddress") or ns["Networks"][net]["IPAddress"]
    targets = [(f"published 127.0.0.1:{port} (userland proxy)", "127.0.0.1", port),
               (f"direct {ip}:8080 (bridge)", ip, 8080)]
    for _, h, p in targets:
        wait_ready(h, p)
    proxy_memory(root, doc["Id"], "idle")

    print(f"\n== throughput: busybox httpd on {net}, {nreq} sequential GETs "
          f"(new connection each) ==")
    print(f"  [{load()}]")
    for _, h, p in targets:
        small_gets(h, p, 20)  # warm-up
    lat: dict[str, list[float]] = {label: [] for label, _, _ in targets}
    wall: dict[str, float] = {label: 0.0 for label, _, _ in targets}
    for _ in range(2):  # two interleaved rounds of n/2: the load drifts over both alike
        for label, h, p in targets:
            t = time.perf_counter()
            lat[label] += small_gets(h, p, nreq // 2)
            wall[label] += time.perf_counter() - t
    for label, xs in lat.items():
        print(f"  {label:48s} {len(xs) / wall[label]:7.0f} req/s  (median "
              f"{statistics.median(xs) * 1000:.2f} ms/request, n={len(xs)})")
    plat, dlat = (statistics.median(xs) for xs in lat.values())
    print(f"  the proxy adds {(plat - dlat) * 1000:.2f} ms per request "
          f"(x{plat / dlat:.2f} the direct latency)")

    if shutil.which("ab") or shutil.which("wrk"):
        print(f"\n  -- {'ab' if shutil.which('ab') else 'wrk'} on the same two addresses --")
        for conc in (1, 4):
            for label, h, p in targets:
                url = f"http://{h}:{p}/small.html"
                r = ab(url, nreq, conc) if shutil.which("ab") else wrk(url, conc)
                if r is not None:
                    print(f"  {label:48s} c={conc}: {r:7.0f} req/s")
        if shutil.which("ab") and shutil.which("wrk"):
            for label, h, p in targets:
                r = wrk(f"http://{h}:{p}/small.html", 4)
                if r is not None:
                    print(f"  wrk {label:44s} c=4: {r:7.0f} req/s")

    print(f"\n== bulk: GET a {bulk_mb} MB file (n={bulk_n} each, interleaved) ==")
    print(f"  [{load()}]")
    bulk: dict[str, list[float]] = {label: [] for label, _, _ in targets}
    for _ in range(bulk_n):
        for label, h, p in targets:
            bulk[label] += bulk_mb_s(h, p, size, 1)
    for label, xs in bulk.items():
        print(f"  {label:48s} median {statistics.median(xs):7.0f} MB/s  "
              f"(best {max(xs):.0f}, n={len(xs)})")
    px, dx = bulk.values()
    print(f"  the proxy delivers x{statistics.median(px) / statistics.median(dx):.2f} "
          "of the direct bandwidth")
    proxy_memory(root, doc["Id"], "after the traffic")
    print(f"  [{load()}]")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("-n", type=int, default=20)
    ap.add_argument("--requests", type=int, default=500)
    ap.add_argument("--bulk-mb", type=int, default=50)
    ap.add_argument("--bulk-n", type=int, default=3)
    ap.add_argument("--only", choices=("start", "throughput"),
                    help="run one section only")
    a = ap.parse_args()
    root = Root()
    net = f"benchnet-{uuid.uuid4().hex[:8]}"
    www = tempfile.mkdtemp(prefix="gbx-bench-www-")
    created = False
    try:
        root.cli("network", "create", net, check=True)
        created = True
        if a.only != "throughput":
            bench_start(root, net, a.n)
        if a.only != "start":
            bench_throughput(root, net, www, a.requests, a.bulk_mb, a.bulk_n)
    finally:
        eng = root.engine()
        for c in eng.containers.list():
            eng.containers.remove(c.id, force=True)
        if created:
            r = root.cli("network", "rm", net)
            if r.returncode:
                print(f"  cleanup: network rm {net} failed: {r.stderr.decode().strip()}",
                      file=sys.stderr)
        root.close()
        shutil.rmtree(www, ignore_errors=True)


if __name__ == "__main__":
    main()
