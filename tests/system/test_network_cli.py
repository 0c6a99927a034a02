"""Networks end to end through the real CLI: ``glassbox network ...``, ``run --network``,
``-p``/``-P``, ``glassbox port``, names and aliases, isolation, and what bad input leaves.

The issue's walkthrough::

    glassbox network create labnet
    glassbox run -d --name db --network labnet busybox httpd -f -p 8080
    glassbox run --rm --network labnet busybox wget -qO- http://db:8080/     # by name
    glassbox run -d -p 127.0.0.1:8080:8080 --name web busybox httpd -f -p 8080
    curl http://127.0.0.1:8080/

Traffic only crosses the bridges these tests create and the host's loopback;
``--network host`` is only *read* (``/proc/net/dev``), never used to send.
Every test checks on teardown (the ``net`` fixture) that this root left no
veth, bridge, endpoint record or port proxy behind.
"""

from __future__ import annotations

import ipaddress
import json
import os
import random
import signal
import socket
import subprocess
import time
import urllib.request
import uuid

import pytest

from glassbox.network.ports import is_proxy_cmdline

pytestmark = pytest.mark.system

if os.geteuid() != 0:
    pytest.skip("needs root", allow_module_level=True)


# ---- helpers ------------------------------------------------------------------------
def no_answer(url: str) -> list[str]:
    """A fetch that must fail, bounded by busybox ``timeout``: Debian's busybox-static
    1.35 ``wget -T`` segfaults (exit 139) even on success. Under ``sh`` so that the
    program ``timeout`` execs is not pid 1 (the kernel ignores SIGKILL sent to a
    namespace's init from inside)."""
    return ["sh", "-c", f"timeout -s KILL 3 wget -qO- {url}; exit $?"]


def uniq(prefix: str) -> str:
    return f"{prefix}{uuid.uuid4().hex[:6]}"


def httpd(text: str = "hello", port: int = 8080) -> list[str]:
    """A busybox httpd serving ``text`` at ``/`` (foreground, so it is the container)."""
    return ["sh", "-c", f"mkdir -p /www && echo {text} > /www/index.html && "
                        f"exec httpd -f -p {port} -h /www"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def http_get(url: str, timeout: float = 2.0) -> str:
    with urllib.request.urlopen(url, timeout=timeout) as r:  # noqa: S310 (loopback/bridge)
        return r.read().decode()


def wait_http(url: str, deadline_s: float = 15.0) -> str:
    """GET ``url`` until the server answers (readiness, not a timing assert)."""
    deadline = time.monotonic() + deadline_s
    while True:
        try:
            return http_get(url)
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


def root_links(tag: str) -> dict[str, str]:
    """name → ``ip -o link`` line, for every device stamped with this root's alias."""
    out = subprocess.run(["ip", "-o", "link"], capture_output=True, text=True).stdout
    found = {}
    for line in out.splitlines():
        if f"alias glassbox:{tag}:" in line:
            found[line.split(":")[1].strip().split("@")[0]] = line
    return found


def settled_root_links(tag: str, timeout: float = 5.0) -> dict[str, str]:
    """:func:`root_links` once the kernel is done: an exited container's veth pair
    goes away with its namespace, in the kernel's cleanup worker, tens of ms later
    (glassbox does not wait for it)."""
    deadline = time.monotonic() + timeout
    while True:
        found = root_links(tag)
        if not any(k.startswith("gbxv") for k in found) or time.monotonic() > deadline:
            return found
        time.sleep(0.01)


def proxy_pids(tag: str) -> list[int]:
    """Port proxy processes started for this root (their command line names the owner)."""
    pids = []
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                cmd = f.read()
        except OSError:
            continue
        if is_proxy_cmdline(cmd) and f"glassbox:{tag}".encode() in cmd:
            pids.append(int(pid))
    return pids


def inspect(gbx, ref: str) -> dict:
    return json.loads(gbx.out("inspect", ref))[0]


def net_inspect(gbx, ref: str) -> dict:
    return json.loads(gbx.out("network", "inspect", ref))[0]


def ip_on(gbx, container: str, network: str) -> str:
    return inspect(gbx, container)["NetworkSettings"]["Networks"][network]["IPAddress"]


def unrouted_subnet(prefix: int = 24) -> ipaddress.IPv4Network:
    """A random 10.x subnet that this host routes nowhere (so creating it is ours)."""
    routes = subprocess.run(["ip", "-4", "route", "show", "table", "all"],
                            capture_output=True, text=True).stdout
    taken = []
    for line in routes.splitlines():
        word = line.split()[0] if line.split() else ""
        if word in ("local", "broadcast", "unicast"):
            word = line.split()[1]
        try:
            net = ipaddress.IPv4Network(word, strict=False)
        except ValueError:
            continue
        if net.prefixlen:
            taken.append(net)
    for _ in range(200):
        cand = ipaddress.IPv4Network(f"10.{random.randint(100, 250)}."
                                     f"{random.randint(0, 255)}.0/{prefix}", strict=False)
        if not any(cand.overlaps(t) for t in taken):
            return cand
    pytest.skip("no free 10.x subnet on this host")


def wait_running(gbx, ref: str) -> None:
    assert inspect(gbx, ref)["State"]["Running"], f"{ref} is not running"


@pytest.fixture
def net(gbx):
    """The root's NetworkManager; on teardown, reports (and removes) anything of this
    root still present: endpoints, user networks, proxies, and ``gbx*`` devices.

    The default ``bridge`` device persists by design (like ``docker0``): it is removed
    here, not reported.
    """
    from glassbox.network import netlink
    from glassbox.network.manager import NetworkManager
    nm = NetworkManager(gbx.root)
    before = set(root_links(nm.tag))

    def leaks() -> list[str]:
        out = []
        for n in nm.list():
            for cid, ep in n.endpoints.items():
                out.append(f"endpoint {n.name}/{ep.name or cid[:12]} ({ep.host_ifname})")
                nm.release_container(cid)
        for cid in nm.store.proxies():
            out.append(f"proxy record of {cid[:12]}")
            nm.unpublish(cid)
        for n in nm.list():
            if not n.default:
                out.append(f"network {n.name}")
                nm.remove(n.id)
        with netlink.host_ipr() as ipr:
            for n in nm.list():
                netlink.delete_link(ipr, n.bridge)  # the default bridge: expected
        for pid in proxy_pids(nm.tag):
            out.append(f"proxy process {pid}")
            os.kill(pid, signal.SIGKILL)
        left = {k: v for k, v in settled_root_links(nm.tag).items() if k not in before}
        if left:
            out.append(f"links {sorted(left)}")
            with netlink.host_ipr() as ipr:
                for name in left:
                    netlink.delete_link(ipr, name)
        return out

    gbx.check_network_leaks = leaks
    return nm


# ---- network commands alone -----------------------------------------------------------
def test_network_create_ls_inspect_rm(gbx, net):
    name = uniq("labnet")
    nid = gbx.out("network", "create", "--label", "course=net", name).strip()
    assert len(nid) == 64 and all(c in "0123456789abcdef" for c in nid)

    table = gbx.out("network", "ls").splitlines()
    assert table[0].split() == ["NETWORK", "ID", "NAME", "DRIVER", "SCOPE"]
    rows = {ln.split()[1]: ln.split() for ln in table[1:]}
    assert rows[name] == [nid[:12], name, "bridge", "local"]
    assert rows["bridge"][2] == "bridge" and rows["host"][2] == "host"
    assert rows["none"][2] == "null"

    assert nid[:12] in gbx.out("network", "ls", "-q").split()
    only = gbx.out("network", "ls", "--filter", f"name={name}").splitlines()
    assert len(only) == 2 and only[1].split()[1] == name
    assert gbx.out("network", "ls", "-f", "type=custom", "-q").split() == [nid[:12]]
    js = [json.loads(ln) for ln in gbx.out("network", "ls", "--format", "json").splitlines()]
    mine = [r for r in js if r["Name"] == name]
    assert mine and mine[0]["ID"] == nid[:12] and mine[0]["Labels"] == "course=net"
    assert gbx.out("network", "ls", "--format", "{{.Name}}", "-f", f"id={nid[:10]}") \
        .split() == [name]

    doc = net_inspect(gbx, name)
    assert doc["Name"] == name and doc["Id"] == nid and doc["Driver"] == "bridge"
    assert doc["Scope"] == "local" and doc["Internal"] is False and doc["EnableIPv6"] is False
    cfg = doc["IPAM"]["Config"][0]
    subnet = ipaddress.IPv4Network(cfg["Subnet"])
    assert ipaddress.IPv4Address(cfg["Gateway"]) in subnet
    assert doc["Containers"] == {} and doc["Labels"] == {"course": "net"}
    assert doc["Created"].endswith("Z")
    # by id prefix too, and the pre-defined ones
    assert net_inspect(gbx, nid[:12])["Name"] == name
    both = json.loads(gbx.out("network", "inspect", "host", "none"))
    assert [d["Driver"] for d in both] == ["host", "null"]
    assert gbx.out("network", "inspect", "-f", "{{.Driver}}", name).strip() == "bridge"

    bridge = doc["Options"]["com.docker.network.bridge.name"]
    assert bridge in root_links(net.tag)  # the bridge exists as soon as it is created
    assert gbx.out("network", "rm", name).strip() == name
    assert bridge not in root_links(net.tag)
    assert name not in gbx.out("network", "ls")


def test_network_create_internal_and_fixed_subnet(gbx, net):
    name = uniq("fixed")
    sub = unrouted_subnet()
    gw = str(sub.network_address + 1)
    gbx.out("network", "create", "--internal", "--subnet", str(sub), "--gateway", gw, name)
    try:
        doc = net_inspect(gbx, name)
        assert doc["Internal"] is True
        assert doc["IPAM"]["Config"] == [{"Subnet": str(sub), "Gateway": gw}]
    finally:
        gbx.out("network", "rm", name)


def test_network_create_name_clash(gbx, net):
    name = uniq("dup")
    gbx.out("network", "create", name)
    try:
        p = gbx.cli("network", "create", name)
        assert p.returncode == 125
        assert "already exists" in p.stderr.decode()
        assert [ln.split()[1] for ln in gbx.out("network", "ls").splitlines()[1:]] \
            .count(name) == 1
    finally:
        gbx.out("network", "rm", name)


@pytest.mark.parametrize("bad", ["_bad", "a b", "x" * 200, "bridge", "host", "none"])
def test_network_create_bad_or_reserved_name(gbx, net, bad):
    before = gbx.out("network", "ls")
    p = gbx.cli("network", "create", bad)
    assert p.returncode == 125, p.stderr.decode()
    assert "network name" in p.stderr.decode() or "reserved" in p.stderr.decode()
    assert gbx.out("network", "ls") == before


def test_network_create_overlapping_subnet(gbx, net):
    sub = unrouted_subnet(24)
    a, b = uniq("ovla"), uniq("ovlb")
    gbx.out("network", "create", "--subnet", str(sub), a)
    try:
        inner = ipaddress.IPv4Network(f"{sub.network_address + 128}/25")
        p = gbx.cli("network", "create", "--subnet", str(inner), b)
        assert p.returncode == 125
        err = p.stderr.decode()
        assert "overlaps" in err and a in err
        assert b not in gbx.out("network", "ls")
        assert len(root_links(net.tag)) == 1  # only a's bridge
    finally:
        gbx.out("network", "rm", a)


def test_network_create_bad_subnet_and_driver(gbx, net):
    for argv in (["--subnet", "10.300.0.0/24"], ["--subnet", "nonsense"],
                 ["--gateway", "10.0.0.1"], ["-d", "overlay"]):
        p = gbx.cli("network", "create", *argv, uniq("bad"))
        assert p.returncode == 125, (argv, p.stderr.decode())
        assert p.stderr.decode().startswith("glassbox: Error:")
    assert gbx.out("network", "ls", "-q", "-f", "type=custom") == ""
    assert root_links(net.tag) == {}


def test_network_rm_missing_and_predefined(gbx, net):
    p = gbx.cli("network", "rm", "no-such-net")
    assert p.returncode != 0
    assert "not found" in p.stderr.decode()
    p = gbx.cli("network", "rm", "none")
    assert p.returncode != 0 and "pre-defined" in p.stderr.decode()
    p = gbx.cli("network", "inspect", "no-such-net")
    assert p.returncode == 125 and "not found" in p.stderr.decode()


def test_network_prune_unused(gbx, net):
    names = [uniq("prn"), uniq("prn")]
    for n in names:
        gbx.out("network", "create", n)
    out = gbx.out("network", "prune", "-f")
    assert out.splitlines()[0] == "Deleted Networks:"
    assert sorted(out.splitlines()[1:]) == sorted(names)
    assert gbx.out("network", "ls", "-q", "-f", "type=custom") == ""
    assert root_links(net.tag) == {}


# ---- the walkthrough ------------------------------------------------------------------
def test_walkthrough_names_aliases_isolation(gbx, net):
    labnet, other = uniq("labnet"), uniq("other")
    gbx.out("network", "create", labnet)
    gbx.out("network", "create", other)
    try:
        cid = gbx.out("run", "-d", "--name", "db", "--network", labnet,
                      "--network-alias", "database", "busybox", *httpd("hello")).strip()
        wait_running(gbx, "db")
        ns = inspect(gbx, "db")["NetworkSettings"]
        ep = ns["Networks"][labnet]
        doc = net_inspect(gbx, labnet)
        subnet = ipaddress.IPv4Network(doc["IPAM"]["Config"][0]["Subnet"])
        assert ipaddress.IPv4Address(ep["IPAddress"]) in subnet
        assert ep["Gateway"] == doc["IPAM"]["Config"][0]["Gateway"]
        assert ep["NetworkID"] == doc["Id"] and "database" in ep["Aliases"]
        assert ns["IPAddress"] == ep["IPAddress"] and ns["MacAddress"] == ep["MacAddress"]
        assert doc["Containers"][cid]["Name"] == "db"
        assert doc["Containers"][cid]["IPv4Address"] == \
            f"{ep['IPAddress']}/{subnet.prefixlen}"
        assert doc["Containers"][cid]["MacAddress"] == ep["MacAddress"]
        # the host sits on the bridge (its gateway address): wait until httpd serves
        assert wait_http(f"http://{ep['IPAddress']}:8080/").strip() == "hello"

        by_name = gbx.cli("run", "--rm", "--network", labnet, "busybox",
                          "wget", "-qO-", "http://db:8080/")
        assert by_name.returncode == 0, by_name.stderr.decode()
        assert by_name.stdout.decode().strip() == "hello"
        by_alias = gbx.cli("run", "--rm", "--network", labnet, "busybox",
                           "wget", "-qO-", "http://database:8080/")
        assert by_alias.stdout.decode().strip() == "hello", by_alias.stderr.decode()
        hosts = gbx.cli("run", "--rm", "--network", labnet, "busybox", "cat", "/etc/hosts")
        assert f"{ep['IPAddress']}\tdb database" in hosts.stdout.decode()

        # another network: no name, and no route to db's address
        cross = gbx.cli("run", "--rm", "--network", other, "busybox",
                        *no_answer(f"http://{ep['IPAddress']}:8080/"))
        assert cross.returncode != 0 and b"hello" not in cross.stdout
        noname = gbx.cli("run", "--rm", "--network", other, "busybox",
                         *no_answer("http://db:8080/"))
        assert noname.returncode != 0 and b"hello" not in noname.stdout

        # in use: refused, nothing changes
        p = gbx.cli("network", "rm", labnet)
        assert p.returncode != 0 and "active endpoints" in p.stderr.decode()
        assert labnet in gbx.out("network", "ls")
        out = gbx.out("network", "prune", "-f")
        assert labnet not in out and other in out

        # --network container:db shares db's namespace (its address)
        shared = gbx.out("run", "--rm", "--network", "container:db", "busybox",
                         "ip", "-4", "-o", "addr")
        assert ep["IPAddress"] in shared
        local = gbx.out("run", "--rm", "--network", "container:db", "busybox",
                        "wget", "-qO-", "http://127.0.0.1:8080/")
        assert local.strip() == "hello"

        gbx.out("rm", "-f", "db")
        assert net_inspect(gbx, labnet)["Containers"] == {}
        assert [k for k in root_links(net.tag) if k.startswith("gbxv")] == []
        assert gbx.out("network", "rm", labnet).strip() == labnet
    finally:
        gbx.cli("rm", "-f", "db")
        gbx.cli("network", "rm", labnet)
        gbx.cli("network", "rm", other)


def test_network_rm_in_use_refused(gbx, net):
    name = uniq("busy")
    gbx.out("network", "create", name)
    try:
        gbx.out("run", "-d", "--name", "busy", "--network", name, "busybox", "sleep", "60")
        p = gbx.cli("network", "rm", name)
        assert p.returncode != 0
        assert "active endpoints" in p.stderr.decode() and "busy" in p.stderr.decode()
        assert name in gbx.out("network", "ls")
        gbx.out("rm", "-f", "busy")
        gbx.out("network", "rm", name)
        assert name not in gbx.out("network", "ls")
    finally:
        gbx.cli("rm", "-f", "busy")
        gbx.cli("network", "rm", name)


def test_publish_port_to_host_loopback(gbx, net):
    port = free_port()
    gbx.out("run", "-d", "-p", f"127.0.0.1:{port}:8080", "--name", "web", "busybox",
            *httpd("from-web"))
    assert wait_http(f"http://127.0.0.1:{port}/").strip() == "from-web"
    assert gbx.out("port", "web").splitlines() == [f"8080/tcp -> 127.0.0.1:{port}"]
    assert gbx.out("port", "web", "8080").splitlines() == [f"127.0.0.1:{port}"]
    assert gbx.out("port", "web", "8080/tcp").splitlines() == [f"127.0.0.1:{port}"]
    p = gbx.cli("port", "web", "81")
    assert p.returncode != 0 and "No public port '81/tcp'" in p.stderr.decode()
    ns = inspect(gbx, "web")["NetworkSettings"]
    assert ns["Ports"]["8080/tcp"] == [{"HostIp": "127.0.0.1", "HostPort": str(port)}]
    assert "bridge" in ns["Networks"]  # -p without --network joins the default bridge
    assert len(proxy_pids(net.tag)) == 1

    gbx.out("rm", "-f", "web")
    assert proxy_pids(net.tag) == []
    with socket.socket() as s:  # no listener left on the host port (TIME_WAIT is fine)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(("127.0.0.1", port))
        s.listen(1)


def test_publish_all_from_expose_flag(gbx, net):
    gbx.out("run", "-d", "--expose", "8080", "-P", "--name", "pall", "busybox",
            *httpd("all"))
    lines = gbx.out("port", "pall").splitlines()
    assert len(lines) == 1 and lines[0].startswith("8080/tcp -> 0.0.0.0:")
    port = int(lines[0].rsplit(":", 1)[1])
    assert port > 0
    assert wait_http(f"http://127.0.0.1:{port}/").strip() == "all"
    gbx.out("rm", "-f", "pall")


def test_publish_all_from_image_expose(gbx, net, busybox_tar):
    with open(busybox_tar, "rb") as f:
        gbx.engine.images.import_tarball(f, "exposing:latest", ['CMD ["sh"]', "EXPOSE 8080"])
    gbx.out("run", "-d", "-P", "--name", "exp", "exposing", *httpd("exposed"))
    ports = inspect(gbx, "exp")["NetworkSettings"]["Ports"]
    assert list(ports) == ["8080/tcp"]
    port = int(ports["8080/tcp"][0]["HostPort"])
    assert wait_http(f"http://127.0.0.1:{port}/").strip() == "exposed"
    assert gbx.out("port", "exp", "8080") .strip().endswith(f":{port}")
    gbx.out("rm", "-f", "exp")


def _ifnames(proc_net_dev: str) -> set[str]:
    return {ln.split(":")[0].strip() for ln in proc_net_dev.splitlines()[2:] if ":" in ln}


def test_network_none_and_default_have_only_loopback(gbx, net):
    for argv in (["--network", "none"], []):
        p = gbx.cli("run", "--rm", *argv, "busybox", "cat", "/proc/net/dev")
        assert p.returncode == 0, p.stderr.decode()
        assert _ifnames(p.stdout.decode()) == {"lo"}, argv
    assert root_links(net.tag) == {}  # no bridge was made for them


def test_network_host_sees_host_interfaces(gbx, net):
    with open("/proc/net/dev") as f:
        host = {n for n in _ifnames(f.read()) if not n.startswith("gbx")}
    p = gbx.cli("run", "--rm", "--network", "host", "busybox", "cat", "/proc/net/dev")
    assert p.returncode == 0, p.stderr.decode()
    inside = _ifnames(p.stdout.decode())
    assert host <= inside and len(host) > 1


def test_add_host_and_dns(gbx, net):
    out = gbx.out("run", "--rm", "--add-host", "x:10.1.2.3", "--dns", "10.9.9.9", "busybox",
                  "sh", "-c", "cat /etc/hosts; echo ---; cat /etc/resolv.conf")
    hosts, resolv = out.split("---\n")
    assert any(ln.split() == ["10.1.2.3", "x"] for ln in hosts.splitlines())
    assert "127.0.0.1\tlocalhost" in hosts
    assert "nameserver 10.9.9.9" in resolv.splitlines()
    # on a user network, next to the peers' names
    name = uniq("ah")
    gbx.out("network", "create", name)
    try:
        out = gbx.out("run", "--rm", "--network", name, "--add-host", "y:10.1.2.4",
                      "--name", "ahc", "busybox", "cat", "/etc/hosts")
        assert any(ln.split() == ["10.1.2.4", "y"] for ln in out.splitlines())
        assert any(ln.split()[1:2] == ["ahc"] for ln in out.splitlines()
                   if not ln.startswith(("127.", "::", "f")))
    finally:
        gbx.cli("network", "rm", name)


def test_network_connect_disconnect(gbx, net):
    name = uniq("cn")
    gbx.out("network", "create", name)
    try:
        gbx.out("run", "-d", "--name", "srv", "--network", name, "busybox", *httpd("srv"))
        gbx.out("run", "-d", "--name", "cli", "busybox", "sleep", "120")
        wait_http(f"http://{ip_on(gbx, 'srv', name)}:8080/")
        gbx.out("network", "connect", "--alias", "client", name, "cli")
        ns = inspect(gbx, "cli")["NetworkSettings"]
        assert name in ns["Networks"] and ns["Networks"][name]["IPAddress"]
        assert "client" in ns["Networks"][name]["Aliases"]
        cid = inspect(gbx, "cli")["Id"]
        assert cid in net_inspect(gbx, name)["Containers"]
        got = gbx.cli("exec", "cli", "wget", "-qO-", "http://srv:8080/")
        assert got.stdout.decode().strip() == "srv", got.stderr.decode()
        srv_hosts = gbx.out("exec", "srv", "cat", "/etc/hosts")
        assert f"{ns['Networks'][name]['IPAddress']}\tcli client" in srv_hosts

        p = gbx.cli("network", "connect", name, "cli")  # twice
        assert p.returncode == 125 and "already connected" in p.stderr.decode()

        gbx.out("network", "disconnect", name, "cli")
        assert name not in inspect(gbx, "cli")["NetworkSettings"]["Networks"]
        assert cid not in net_inspect(gbx, name)["Containers"]
        dev = gbx.out("exec", "cli", "cat", "/proc/net/dev")
        assert _ifnames(dev) == {"lo"}
        assert "cli" not in gbx.out("exec", "srv", "cat", "/etc/hosts").split()
        p = gbx.cli("network", "disconnect", name, "cli")
        assert p.returncode == 125 and "not connected" in p.stderr.decode()
    finally:
        gbx.cli("rm", "-f", "srv", "cli")
        gbx.cli("network", "rm", name)


def test_network_connect_of_a_created_container(gbx, net):
    """Created on a network, a container may be connected to another before it
    starts (as Docker, and compose): both are wired at its start. Created with
    glassbox's default (no network) it must be started first. A missing
    container is refused; nothing is recorded in either case."""
    name, other = uniq("cr"), uniq("co")
    gbx.out("network", "create", name)
    gbx.out("network", "create", other)
    try:
        gbx.out("create", "--name", "idle", "busybox", "sleep", "60")
        p = gbx.cli("network", "connect", name, "idle")
        assert p.returncode == 125 and "start it first" in p.stderr.decode()
        gbx.out("create", "--name", "planned", "--network", other, "busybox", "sleep", "60")
        gbx.out("network", "connect", name, "planned")
        assert net_inspect(gbx, name)["Containers"] == {}      # nothing live yet
        gbx.out("start", "planned")
        live = net_inspect(gbx, name)["Containers"]
        assert [v["Name"] for v in live.values()] == ["planned"], live
        nets = json.loads(gbx.out("inspect", "planned"))[0]["NetworkSettings"]["Networks"]
        assert nets[name]["IPAddress"] and nets[other]["IPAddress"], nets
        p = gbx.cli("network", "connect", name, "ghost")
        assert p.returncode == 125 and "No such container" in p.stderr.decode()
    finally:
        gbx.cli("rm", "-f", "idle", "planned")
        gbx.cli("network", "rm", name, other)


# ---- bad input on run -----------------------------------------------------------------
def _nothing_created(gbx, net):
    assert gbx.out("ps", "-a", "-q") == ""
    assert [k for k in root_links(net.tag) if k.startswith("gbxv")] == []
    assert proxy_pids(net.tag) == []


def test_run_unknown_network(gbx, net):
    p = gbx.cli("run", "--rm", "--network", "no-such-net", "busybox", "true")
    assert p.returncode == 125
    assert "no-such-net" in p.stderr.decode() and "not found" in p.stderr.decode()
    _nothing_created(gbx, net)
    assert root_links(net.tag) == {}


@pytest.mark.parametrize("spec", ["99999:80", "abc", "127.0.0.1:80:abc", "1.2.3:80:80",
                                  "80/sctp", "8080:"])
def test_run_bad_publish_spec(gbx, net, spec):
    p = gbx.cli("run", "-d", "-p", spec, "busybox", "sleep", "30")
    assert p.returncode == 125, p.stderr.decode()
    assert "port" in p.stderr.decode()
    _nothing_created(gbx, net)
    assert root_links(net.tag) == {}


def test_run_host_port_already_taken(gbx, net):
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen(1)
        port = holder.getsockname()[1]
        p = gbx.cli("run", "-d", "--name", "clash", "-p", f"127.0.0.1:{port}:8080",
                    "busybox", *httpd())
        assert p.returncode == 125
        err = p.stderr.decode()
        assert "port is already allocated" in err and str(port) in err
        assert gbx.out("ps", "-q") == ""  # nothing running
        assert [k for k in root_links(net.tag) if k.startswith("gbxv")] == []
        assert proxy_pids(net.tag) == []
        assert all(not n.endpoints for n in net.list())
    gbx.cli("rm", "-f", "clash")


def test_add_host_equals_form(gbx, net):
    """``--add-host name=ip`` (Docker >= 25 accepts '=' as well as ':')."""
    out = gbx.out("run", "--rm", "--add-host", "y=10.1.2.4", "busybox", "cat", "/etc/hosts")
    assert any(ln.split() == ["10.1.2.4", "y"] for ln in out.splitlines())


@pytest.mark.parametrize("spec", ["nocolon", "x:not-an-ip", ":10.1.2.3"])
def test_run_bad_add_host(gbx, net, spec):
    p = gbx.cli("run", "--rm", "--add-host", spec, "busybox", "true")
    assert p.returncode == 125, p.stderr.decode()
    assert "--add-host" in p.stderr.decode()
    _nothing_created(gbx, net)


def test_a_created_container_leaves_its_primary_network_and_rejoins_it_with_aliases(gbx, net):
    """compose's order (dockerd allows it): create on a network, disconnect from it,
    connect again with the service's aliases, start. The aliases answer; and a container
    left disconnected starts with loopback only."""
    name = uniq("cp")
    gbx.out("network", "create", name)
    try:
        gbx.out("create", "--name", "svc1", "--network", name, "busybox", "sleep", "60")
        gbx.out("network", "disconnect", name, "svc1")
        assert name not in json.loads(gbx.out("inspect", "svc1"))[0]["NetworkSettings"]["Networks"]
        gbx.out("network", "connect", "--alias", "api", name, "svc1")
        gbx.out("start", "svc1")
        out = gbx.out("run", "--rm", "--network", name, "busybox", "ping", "-c", "1", "-W", "2", "api")
        assert "1 packets received" in out, out
        gbx.out("create", "--name", "alone", "--network", name, "busybox", "ip", "-o", "link")
        gbx.out("network", "disconnect", name, "alone")
        links = gbx.out("start", "-a", "alone")
        assert "lo:" in links and "eth0" not in links, links
        assert [v["Name"] for v in net_inspect(gbx, name)["Containers"].values()] == ["svc1"]
    finally:
        gbx.cli("rm", "-f", "svc1", "alone")
        gbx.cli("network", "rm", name)


def test_rm_releases_connected_network(gbx, net):
    """A container given a network by ``network connect`` (not by ``run``) still
    releases it on ``rm``: no endpoint record, no veth left."""
    name = uniq("rl")
    gbx.out("network", "create", name)
    try:
        gbx.out("run", "-d", "--name", "late", "busybox", "sleep", "120")
        gbx.out("network", "connect", name, "late")
        assert len(net_inspect(gbx, name)["Containers"]) == 1
        gbx.out("rm", "-f", "late")
        assert net_inspect(gbx, name)["Containers"] == {}
        assert [k for k in settled_root_links(net.tag) if k.startswith("gbxv")] == []
    finally:
        gbx.cli("rm", "-f", "late")
        gbx.cli("network", "rm", name)


def test_exit_leaves_the_veth_to_the_kernel(gbx, net):
    """A container that exits releases its address and endpoint at once; its host
    veth is not deleted explicitly (that waits ~25 ms for RCU) but set down, and
    the kernel removes the pair with the namespace shortly after."""
    name = uniq("ex")
    gbx.out("network", "create", name)
    try:
        gbx.out("run", "-d", "--name", "short", "--network", name, "busybox", "sleep", "120")
        cid = inspect(gbx, "short")["Id"]
        (ep,) = net.endpoints(cid)
        assert ep.host_ifname in root_links(net.tag)
        gbx.out("kill", "short")
        deadline = time.monotonic() + 10
        while net.endpoints(cid) and time.monotonic() < deadline:
            time.sleep(0.02)
        assert net.endpoints(cid) == [] and net_inspect(gbx, name)["Containers"] == {}
        assert ep.host_ifname not in settled_root_links(net.tag)
        # the address is handed out again, and the new container is reachable
        out = gbx.out("run", "--rm", "--network", name, "busybox", "sh", "-c",
                      "ip -o -4 addr show eth0; ping -c1 -W2 " + ep.gateway)
        assert f"{ep.ip}/" in out and "1 packets received" in out
    finally:
        gbx.cli("rm", "-f", "short")
        gbx.cli("network", "rm", name)


@pytest.mark.parametrize("command, code", [(["nosuchcmd"], 127), (["/etc/passwd"], 126)])
def test_a_command_that_cannot_start_gives_its_network_back(gbx, net, command, code):
    """The network is wired while the container builds its rootfs; when its command
    then cannot start (127/126), the endpoint and address are released at once —
    with --rm and without."""
    name = uniq("nc")
    gbx.out("network", "create", name)
    try:
        p = gbx.cli("run", "--rm", "--network", name, "busybox", *command)
        assert p.returncode == code, p.stderr
        assert net_inspect(gbx, name)["Containers"] == {}
        p = gbx.cli("run", "--name", "failed", "--network", name, "busybox", *command)
        assert p.returncode == code, p.stderr
        assert net_inspect(gbx, name)["Containers"] == {}
        assert [k for k in settled_root_links(net.tag) if k.startswith("gbxv")] == []
    finally:
        gbx.cli("rm", "-f", "failed")
        gbx.cli("network", "rm", name)


def test_run_ip_fixes_the_address_on_a_user_network(gbx, net):
    """``run --ip``: the address on the user network, as Docker; refused by name
    where the network cannot give it, and no container is left then."""
    name = uniq("fixip")
    sub = unrouted_subnet()
    fixed = str(sub.network_address + 77)
    gbx.out("network", "create", "--subnet", str(sub), name)
    try:
        out = gbx.out("run", "--rm", "--network", name, "--ip", fixed, "busybox",
                      "ip", "-4", "-o", "addr", "show", "eth0")
        assert f"inet {fixed}/{sub.prefixlen}" in out
        for args, why in ((["--network", name, "--ip", str(sub.network_address + 1)],
                           "gateway"),
                          (["--network", name, "--ip", "10.255.255.7"], "subnet"),
                          (["--network", "bridge", "--ip", fixed], "user defined networks"),
                          (["--ip", fixed], "--ip needs --network NAME")):
            p = gbx.cli("run", "--rm", *args, "busybox", "true")
            err = p.stderr.decode()
            assert p.returncode == 125 and why in err, (args, err)
        assert gbx.out("ps", "-a", "-q") == ""
    finally:
        gbx.out("network", "rm", name)
