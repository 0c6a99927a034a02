"""Bridge networks on the real kernel: veths, addresses, isolation, ports, cleanup.

Each "container" is a ``sleep`` in its own network namespace (``unshare --net``).
Traffic only crosses the bridges made here and the host's loopback.
"""

import os
import socket
import subprocess
import sys
import time
import uuid

import pytest

from glassbox import processes
from glassbox.errors import Conflict, Forbidden, InvalidArgument, NotFound
from glassbox.network import NetworkManager, parse_publish
from glassbox.network import netlink
from glassbox.network import proxy as native_proxy
from glassbox.network.ports import is_proxy_cmdline

pytestmark = pytest.mark.system

if os.geteuid() != 0:
    pytest.skip("needs root", allow_module_level=True)

PY = sys.executable


def ip_links() -> set[str]:
    out = subprocess.run(["ip", "-o", "link"], capture_output=True, text=True).stdout
    return {line.split(":")[1].strip().split("@")[0] for line in out.splitlines()}


def settled_links(before: set[str] = frozenset(), timeout: float = 5.0) -> set[str]:
    """Our devices beyond ``before`` once the kernel is done: the veths of an
    exited container's namespace go away in the kernel's own cleanup worker,
    tens of milliseconds after the exit."""
    deadline = time.monotonic() + timeout
    while True:
        left = {n for n in ip_links() - set(before) if netlink.ours(n)}
        if not any(n.startswith(netlink.VETH_PREFIX) for n in left) or \
                time.monotonic() > deadline:
            return left
        time.sleep(0.01)


def wait_gone(name: str, timeout: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout
    while name in ip_links():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.01)
    return True


def link_up(name: str) -> bool:
    out = subprocess.run(["ip", "-o", "link", "show", name], capture_output=True,
                         text=True).stdout
    return ",UP" in out or "<UP" in out


def run_in(pid, *argv, **kw):
    return subprocess.run(["nsenter", "-t", str(pid), "-n", *argv], capture_output=True,
                          text=True, timeout=30, **kw)


def ping(pid, ip) -> bool:
    return run_in(pid, "busybox", "ping", "-c1", "-W1", ip).returncode == 0


@pytest.fixture
def netns():
    """Factory: a process in a fresh network namespace; killed on teardown."""
    procs = []
    host_ns = os.stat("/proc/self/ns/net").st_ino

    def make():
        p = subprocess.Popen(["unshare", "--net", "sleep", "600"])
        procs.append(p)
        for _ in range(2000):  # until unshare has exec'd sleep in the new netns
            try:
                if os.stat(f"/proc/{p.pid}/ns/net").st_ino != host_ns:
                    return p
            except FileNotFoundError:
                pass
            time.sleep(0.001)
        raise RuntimeError("unshare did not create a netns")
    yield make
    for p in procs:
        p.kill()
        p.wait()


@pytest.fixture
def nm(tmp_path):
    """A manager on a private root; tears down every network and checks for leaks."""
    before = ip_links()
    m = NetworkManager(str(tmp_path / "root"))
    yield m
    for net in m.list():
        for cid in list(net.endpoints):
            m.release_container(cid)
    for net in m.list():
        if not net.default:
            m.remove(net.id)
    with netlink.host_ipr() as ipr:
        for net in m.list():
            netlink.delete_link(ipr, net.bridge)
    leaked = settled_links(before)
    assert not leaked, f"leaked devices: {leaked}"
    assert not _our_proxies(m), "leaked port proxies"


def _our_proxies(m):
    pids = []
    for pid in os.listdir("/proc"):
        if pid.isdigit():
            try:
                cmd = open(f"/proc/{pid}/cmdline", "rb").read()
            except OSError:
                continue
            if is_proxy_cmdline(cmd) and m.tag.encode() in cmd:
                pids.append(int(pid))
    return pids


def _proxy_is(pid, impl):
    with open(f"/proc/{pid}/cmdline", "rb") as f:
        argv0 = f.read().split(b"\0")[0]
    return (argv0 == native_proxy.BINARY.encode()) == (impl == "c")


def uname(prefix="t"):
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def cid():
    return uuid.uuid4().hex + uuid.uuid4().hex


def test_two_containers_talk_and_resolve(nm, netns):
    net = nm.create(uname())
    assert net.bridge in ip_links()
    a, b = netns(), netns()
    ca, cb = cid(), cid()
    ea = nm.connect(net.name, ca, a.pid, name="alpha")
    eb = nm.connect(net.name, cb, b.pid, name="beta", aliases=["db"])
    assert ea.ip != eb.ip and ea.gateway == net.gateway == eb.gateway
    assert ea.host_ifname in ip_links() and eb.host_ifname in ip_links()
    # inside: eth0 with the address, default route via the bridge
    addr = run_in(a.pid, "ip", "-o", "-4", "addr", "show", "eth0").stdout
    assert f"{ea.ip}/{ea.prefixlen}" in addr
    assert f"default via {net.gateway} dev eth0" in run_in(a.pid, "ip", "route").stdout
    assert ea.mac in run_in(a.pid, "ip", "-o", "link", "show", "eth0").stdout
    assert ping(a.pid, eb.ip) and ping(b.pid, ea.ip)
    assert ping(a.pid, net.gateway)
    entries = dict(nm.hosts_entries(net.name))
    assert entries[eb.ip][:2] == ["beta", "db"] and entries[ea.ip][0] == "alpha"
    # a second connect of the same container is a conflict, and nothing leaks from it
    links = ip_links()
    with pytest.raises(Conflict):
        nm.connect(net.name, ca, a.pid, name="alpha")
    assert ip_links() == links
    nm.release_container(ca)
    nm.release_container(ca)  # idempotent
    assert ea.host_ifname not in ip_links()
    assert "eth0" not in run_in(a.pid, "ip", "-o", "link").stdout
    assert not ping(b.pid, ea.ip)


def test_networks_are_isolated(nm, netns):
    n1, n2 = nm.create(uname()), nm.create(uname())
    assert n1.subnet != n2.subnet
    a, b = netns(), netns()
    ea = nm.connect(n1.name, cid(), a.pid, name="a")
    eb = nm.connect(n2.name, cid(), b.pid, name="b")
    assert ping(a.pid, n1.gateway) and ping(b.pid, n2.gateway)  # each side works
    assert not ping(a.pid, eb.ip)
    assert not ping(b.pid, ea.ip)


def test_second_network_gets_eth1(nm, netns):
    n1, n2 = nm.create(uname()), nm.create(uname())
    a, b = netns(), netns()
    c = cid()
    e1 = nm.connect(n1.name, c, a.pid, name="a")
    e2 = nm.connect(n2.name, c, a.pid, name="a")
    assert (e1.ifname, e2.ifname) == ("eth0", "eth1")
    eb = nm.connect(n2.name, cid(), b.pid, name="b")
    assert ping(b.pid, e2.ip)
    nm.disconnect(n2.name, c)
    assert not ping(b.pid, e2.ip)
    with pytest.raises(NotFound):
        nm.disconnect(n2.name, c)
    assert ping(a.pid, n1.gateway)
    assert [e.network for e in nm.endpoints(c)] == [n1.name]
    del eb


def test_remove_in_use_and_ip_release(nm, netns):
    net = nm.create(uname(), subnet="10.213.7.0/29")
    a, b = netns(), netns()
    c1 = cid()
    e1 = nm.connect(net.name, c1, a.pid, name="a")
    assert e1.ip == "10.213.7.2"
    with pytest.raises(Conflict, match="active endpoints"):
        nm.remove(net.name)
    assert net.bridge in ip_links()
    assert nm.prune() == []
    nm.disconnect(net.name, c1)
    e2 = nm.connect(net.name, cid(), b.pid, name="b")
    assert e2.ip == "10.213.7.2"  # released address handed out again
    nm.release_container(e2.container_id)
    assert nm.inspect(net.id[:10]).pool.allocated == {}
    nm.remove(net.id)
    assert net.bridge not in ip_links()
    with pytest.raises(NotFound):
        nm.inspect(net.name)


def test_exhaustion_leaves_nothing(nm, netns):
    net = nm.create(uname(), subnet="10.213.8.0/30")  # one container address
    a, b = netns(), netns()
    nm.connect(net.name, cid(), a.pid, name="a")
    links = ip_links()
    with pytest.raises(Conflict, match="no available IPv4"):
        nm.connect(net.name, cid(), b.pid, name="b")
    assert ip_links() == links
    assert "eth0" not in run_in(b.pid, "ip", "-o", "link").stdout


def test_bad_input(nm, netns):
    name = uname()
    net = nm.create(name, subnet="10.213.9.0/24", labels={"k": "v"})
    assert nm.inspect(name).labels == {"k": "v"}
    with pytest.raises(Conflict, match="already exists"):
        nm.create(name)
    with pytest.raises(Forbidden, match="overlaps network"):      # Docker's 403
        nm.create(uname(), subnet="10.213.9.128/25")
    host_route = next(n for n in netlink_host_networks() if not n.is_loopback)
    with pytest.raises(Forbidden, match="overlaps"):
        nm.create(uname(), subnet=str(host_route))
    with pytest.raises(InvalidArgument):
        nm.create("bad name")
    with pytest.raises(InvalidArgument):
        nm.create(uname(), driver="overlay")
    with pytest.raises(Conflict):
        nm.create("bridge")
    with pytest.raises(NotFound):
        nm.connect(uname(), cid(), os.getpid(), name="x")
    with pytest.raises(InvalidArgument, match="host"):
        nm.connect(name, cid(), os.getpid(), name="x")  # our own (host) netns
    dead = netns()
    dead.kill()
    dead.wait()
    with pytest.raises(NotFound):
        nm.connect(name, cid(), dead.pid, name="x")
    assert nm.inspect(name).pool.allocated == {} and nm.inspect(name).endpoints == {}
    assert [n.name for n in nm.list()] == [name]
    del net


def netlink_host_networks():
    with netlink.host_ipr() as ipr:
        return netlink.host_networks(ipr)


def test_default_network(nm, netns):
    d = nm.ensure_default()
    assert d.name == "bridge" and d.default and d.bridge.startswith("gbx0")
    assert nm.ensure_default().id == d.id
    assert d.bridge in ip_links()
    with pytest.raises(Conflict, match="pre-defined"):
        nm.remove("bridge")
    a = netns()
    e = nm.connect("bridge", cid(), a.pid, name="x")
    assert ping(a.pid, d.gateway)
    # a reboot loses the bridge: the next connect brings it back
    nm.release_container(e.container_id)
    with netlink.host_ipr() as ipr:
        netlink.delete_link(ipr, d.bridge)
    e = nm.connect("bridge", cid(), a.pid, name="x")
    assert d.bridge in ip_links() and ping(a.pid, d.gateway)


def test_dead_container_is_released(nm, netns):
    net = nm.create(uname())
    a = netns()
    e = nm.connect(net.name, cid(), a.pid, name="a")
    a.kill()
    a.wait()
    nm.release_container(e.container_id)  # netns already gone: still fine
    assert nm.inspect(net.name).endpoints == {}
    # no explicit delete: the kernel removes the pair with the dying namespace
    assert wait_gone(e.host_ifname)


@pytest.fixture
def pin_and_kill(tmp_path):
    """Keep a process's network namespace alive after the process (a bind mount of
    its ns file under the test's tmp dir), then kill it; unmounted at the end."""
    pins = []

    def pin(proc) -> str:
        path = str(tmp_path / f"netns-pin-{len(pins)}")
        open(path, "w").close()
        subprocess.run(["mount", "--bind", f"/proc/{proc.pid}/ns/net", path], check=True)
        pins.append(path)
        proc.kill()
        proc.wait()
        return path
    yield pin
    for path in pins:
        subprocess.run(["umount", path], capture_output=True)


def test_address_reused_while_the_old_pair_lingers(nm, netns, pin_and_kill):
    """At exit the host end is only set down (no wait for the kernel's RCU grace
    periods): the address is handed out again at once, even while the old pair
    still exists — worst case here, its namespace is pinned and so stays alive
    with the same address and MAC. The new container gets the traffic; the old
    namespace is unplugged."""
    net = nm.create(uname(), subnet="10.213.9.0/29")
    a, b, c = netns(), netns(), netns()
    ea = nm.connect(net.name, cid(), a.pid, name="a")
    eb = nm.connect(net.name, cid(), b.pid, name="b")
    assert ping(b.pid, ea.ip)  # the bridge has learnt a's MAC on a's port
    pin = pin_and_kill(a)
    assert nm.release_container(ea.container_id) == [net.name]
    assert ea.host_ifname in ip_links() and not link_up(ea.host_ifname)
    ec = nm.connect(net.name, cid(), c.pid, name="c")
    assert (ec.ip, ec.mac) == (ea.ip, ea.mac)
    assert ping(b.pid, ec.ip) and ping(c.pid, eb.ip)
    old = subprocess.run(["nsenter", f"--net={pin}", "busybox", "ping", "-c1", "-W1",
                          eb.ip], capture_output=True, timeout=30)
    assert old.returncode != 0
    assert nm.check()["links"] == [ea.host_ifname]


def test_pinned_namespace_veth_removed_by_check_and_rm(nm, netns, pin_and_kill):
    """Something else keeps the exited container's namespace alive (here a bind
    mount): its down veth survives the release; ``check`` removes it, and so does
    ``network rm``."""
    n1, n2 = nm.create(uname()), nm.create(uname())
    a, b = netns(), netns()
    ea = nm.connect(n1.name, cid(), a.pid, name="a")
    eb = nm.connect(n2.name, cid(), b.pid, name="b")
    pin_and_kill(a)
    pin_and_kill(b)
    nm.release_container(ea.container_id)
    nm.release_container(eb.container_id)
    time.sleep(0.2)
    for e in (ea, eb):
        assert e.host_ifname in ip_links() and not link_up(e.host_ifname)
    assert set(nm.check()["links"]) == {ea.host_ifname, eb.host_ifname}
    links = ip_links()
    assert ea.host_ifname not in links and eb.host_ifname not in links


def test_network_rm_removes_veths_of_pinned_namespaces(nm, netns, pin_and_kill):
    net = nm.create(uname())
    a = netns()
    ea = nm.connect(net.name, cid(), a.pid, name="a")
    pin_and_kill(a)
    nm.release_container(ea.container_id)
    time.sleep(0.2)
    assert ea.host_ifname in ip_links()
    nm.remove(net.name)
    assert ea.host_ifname not in ip_links() and net.bridge not in ip_links()


def test_check_removes_leftovers(nm, netns, tmp_path):
    net = nm.create(uname())
    a, b = netns(), netns()
    gone = nm.connect(net.name, cid(), a.pid, name="a")
    alive = nm.connect(net.name, cid(), b.pid, name="b")
    a.kill()
    a.wait()
    # leftovers of a "crashed engine": a veth and a bridge stamped with our root
    stray_veth, stray_br = "gbxv" + uuid.uuid4().hex[:8], "gbx-" + uuid.uuid4().hex[:8]
    foreign = "gbxv" + uuid.uuid4().hex[:8]
    subprocess.run(["ip", "link", "add", stray_veth, "type", "veth", "peer", "name",
                    stray_veth + "p"], check=True)
    subprocess.run(["ip", "link", "add", stray_br, "type", "bridge"], check=True)
    subprocess.run(["ip", "link", "add", foreign, "type", "veth", "peer", "name",
                    foreign + "p"], check=True)
    try:
        for dev, alias in ((stray_veth, f"glassbox:{nm.tag}:ep:x:y"),
                           (stray_br, f"glassbox:{nm.tag}:net:x"),
                           (foreign, "glassbox:0000000000:ep:x:y")):
            subprocess.run(["ip", "link", "set", dev, "alias", alias], check=True)
        report = nm.check()
        assert sorted(report["links"]) == sorted([stray_veth, stray_br])
        assert report["endpoints"] == [f"{net.name}/{gone.container_id[:12]}"]
        links = ip_links()
        assert stray_veth not in links and stray_br not in links
        assert foreign in links  # another root's device is never touched
        assert alive.host_ifname in links and net.bridge in links
        assert nm.check() == {"endpoints": [], "links": [], "proxies": []}
    finally:
        subprocess.run(["ip", "link", "del", foreign], capture_output=True)
        subprocess.run(["ip", "link", "del", stray_veth], capture_output=True)
        subprocess.run(["ip", "link", "del", stray_br], capture_output=True)


TCP_SERVER = r"""
import socket, sys
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("0.0.0.0", 8080)); s.listen(8); print("ready", flush=True)
while True:
    c, _ = s.accept(); data = c.recv(100); c.sendall(b"echo:" + data); c.close()
"""

UDP_SERVER = r"""
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("0.0.0.0", 5353))
print("ready", flush=True)
while True:
    d, a = s.recvfrom(100); s.sendto(b"udp:" + d, a)
"""


def _server(pid, code):
    p = subprocess.Popen(["nsenter", "-t", str(pid), "-n", PY, "-S", "-c", code],
                         stdout=subprocess.PIPE, text=True)
    assert p.stdout.readline().strip() == "ready"
    return p


def _tcp_ask(port, msg=b"hi"):
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        s.sendall(msg)
        return s.recv(100)


def test_published_ports(nm, netns, proxy_impl):
    net = nm.create(uname())
    a = netns()
    c = cid()
    e = nm.connect(net.name, c, a.pid, name="web")
    tcp, udp = _server(a.pid, TCP_SERVER), _server(a.pid, UDP_SERVER)
    try:
        h = nm.publish(c, parse_publish("127.0.0.1::8080") +
                       parse_publish("127.0.0.1::5353/udp"), e.ip, watch_pid=a.pid)
        (pt, pu) = h.ports
        assert _proxy_is(h.pid, proxy_impl)
        assert pt.proto == "tcp" and pu.proto == "udp" and pt.host_port > 0
        assert _tcp_ask(pt.host_port) == b"echo:hi"
        assert _tcp_ask(pt.host_port, b"again") == b"echo:again"
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.settimeout(10)
            s.sendto(b"ping", ("127.0.0.1", pu.host_port))
            assert s.recvfrom(100)[0] == b"udp:ping"
        assert [p.host_port for p in nm.published(c)[0].ports] == [pt.host_port,
                                                                    pu.host_port]
        # the host port is taken now: a second publish is a conflict, nothing started
        with pytest.raises(Conflict, match="already allocated"):
            nm.publish(cid(), parse_publish(f"127.0.0.1:{pt.host_port}:80"), e.ip)
        assert _our_proxies(nm) == [h.pid]
        nm.release_container(c)
        assert not processes.alive(h.pid, h.start_time)  # gone (or a zombie of init)
        with pytest.raises(ConnectionRefusedError):
            _tcp_ask(pt.host_port)
    finally:
        for p in (tcp, udp):
            p.kill()
            p.wait()


def test_proxy_exits_with_container_and_check(nm, netns, proxy_impl):
    net = nm.create(uname())
    a = netns()
    c = cid()
    e = nm.connect(net.name, c, a.pid, name="web")
    h = nm.publish(c, parse_publish("127.0.0.1::8080"), e.ip, watch_pid=a.pid)
    assert _proxy_is(h.pid, proxy_impl)
    a.kill()
    a.wait()
    for _ in range(1000):  # the proxy polls its container every second
        if not processes.alive(h.pid, h.start_time):
            break
        time.sleep(0.01)
    assert not processes.alive(h.pid, h.start_time)
    report = nm.check()
    assert report["endpoints"] == [f"{net.name}/{c[:12]}"]
    assert nm.published(c) == []


def test_works_inside_a_running_event_loop(nm):
    """A Jupyter kernel runs cells inside an asyncio loop: pyroute2's sync API must
    not try to run its own loop on that thread."""
    import asyncio

    async def cell():
        net = nm.create(uname())
        nm.remove(net.name)
        return net.bridge
    bridge = asyncio.run(cell())
    assert bridge not in ip_links()
