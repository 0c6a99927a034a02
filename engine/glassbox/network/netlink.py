"""The kernel side of networking, through rtnetlink (pyroute2) — never the ``ip`` tool.

Three objects make a bridge network::

    host netns                                   container netns (pid P)
    ┌───────────────────────────────┐            ┌──────────────────────┐
    │ bridge gbx-1a2b3c4d           │            │ eth0 172.18.0.2/16   │
    │   172.18.0.1/16 (the gateway) │            │ default via          │
    │   └── gbxv0a1b2c3d ═══════════╪═ veth ═════╪═ 172.18.0.1          │
    └───────────────────────────────┘            └──────────────────────┘

* a **bridge** is a virtual switch; its own address is the containers' gateway;
* a **veth pair** is a virtual cable: the host end is a port of the bridge, the
  other end is created *directly inside* the container's network namespace
  (``IFLA_NET_NS_FD``), already named ``eth0`` — no move-and-rename round trip;
* the container end is configured **from inside** its namespace through one
  netlink socket opened there: the thread ``setns()``-es into
  ``/proc/<pid>/ns/net``, opens the socket and ``setns()``-es back. A socket stays
  bound to the namespace it was created in, so no helper process is forked
  (pyroute2's ``NetNS`` forks one).

Wiring a container (the veth, its address, routes) is on every start, so it
goes through :mod:`.rtnl`, a few hand-built requests over a raw netlink socket
(no pyroute2 import, ~2 ms of kernel work). This module is the pyroute2 seam
for the rest: creating bridges, dumps of links/routes/addresses, cleanup.

Our host devices carry a recognisable name (``gbx0``/``gbx0-*``/``gbx-*`` bridges,
``gbxv*`` veths) *and* an ``ifalias`` naming the state root that owns them, so a
cleanup only ever touches devices of its own root.

pyroute2 ≥ 0.9 drives an asyncio loop under its synchronous API, which cannot run
inside a thread whose loop is already running (a Jupyter kernel's main thread):
:func:`off_loop` moves such calls to a worker thread.
"""

from __future__ import annotations

import contextlib
import functools
import os
import socket
import sys
from collections.abc import Callable, Iterator

from ..errors import InvalidArgument, KernelError, NotFound

TYPE_CHECKING = False
if TYPE_CHECKING:  # annotations only: ipaddress is imported where it is used
    import ipaddress

BRIDGE_PREFIXES = ("gbx0", "gbx-")
VETH_PREFIX = "gbxv"
ALIAS_PREFIX = "glassbox:"


def preload() -> None:
    """Import what attaching a container to a network needs, before forking shims.

    That is the manager and the hand-built :mod:`.rtnl` client, not pyroute2 (an
    import of 200-400 ms that the start and exit paths never need)."""
    from . import manager, rtnl  # noqa: F401


def ours(ifname: str) -> bool:
    """Does the device name follow glassbox's naming (bridge or veth)?"""
    return ifname.startswith(BRIDGE_PREFIXES) or ifname.startswith(VETH_PREFIX)


def off_loop(fn: Callable) -> Callable:
    """Run ``fn`` in a worker thread when this thread already runs an asyncio loop."""
    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        asyncio = sys.modules.get("asyncio")  # not imported yet: no loop can be running
        try:
            if asyncio is None:
                raise RuntimeError
            asyncio.get_running_loop()
        except RuntimeError:
            return fn(*args, **kwargs)
        box: dict = {}

        def run():
            try:
                box["value"] = fn(*args, **kwargs)
            except BaseException as e:  # re-raised in the caller
                box["error"] = e
        import threading  # a running loop means asyncio, hence threading, is loaded
        th = threading.Thread(target=run, name=f"glassbox-netlink-{fn.__name__}")
        th.start()
        th.join()
        if "error" in box:
            raise box["error"]
        return box["value"]
    return wrapper


def _kernel_error(e: Exception, op: str, what: str | None) -> KernelError:
    code = getattr(e, "code", None) or getattr(e, "errno", None) or 5
    return KernelError(int(code), op, what)


@contextlib.contextmanager
def netlink_errors(op: str, what: str | None = None) -> Iterator[None]:
    """Turn pyroute2's NetlinkError/OSError into KernelError(errno, op, what)."""
    from pyroute2.netlink.exceptions import NetlinkError
    try:
        yield
    except (NetlinkError, OSError) as e:
        raise _kernel_error(e, op, what) from None


@contextlib.contextmanager
def host_ipr():
    """One rtnetlink socket in the caller's (host) namespace, closed on exit."""
    from pyroute2 import IPRoute
    ipr = IPRoute()
    try:
        yield ipr
    finally:
        ipr.close()


def netns_path(pid: int) -> str:
    return f"/proc/{pid}/ns/net"


def open_netns(pid: int) -> int:
    """An fd of the network namespace of ``pid`` (NotFound if the process is gone)."""
    try:
        fd = os.open(netns_path(pid), os.O_RDONLY | os.O_CLOEXEC)
    except FileNotFoundError:
        raise NotFound(f"process {pid} does not exist: cannot reach its network "
                       f"namespace (did the container exit?)") from None
    except OSError as e:
        raise KernelError(e.errno, "open", netns_path(pid)) from None
    if os.fstat(fd).st_ino == os.stat("/proc/self/ns/net").st_ino:
        os.close(fd)
        raise InvalidArgument(f"process {pid} shares the engine's (host) network "
                              f"namespace: a bridge network needs a container with its "
                              f"own namespace (not --network host)")
    return fd


# ---------------------------------------------------------------------- queries
def link_index(ipr, ifname: str) -> int | None:
    found = ipr.link_lookup(ifname=ifname)
    return found[0] if found else None


def _link_dict(link) -> dict:
    info = link.get("IFLA_LINKINFO")
    kind = info.get("IFLA_INFO_KIND") if info is not None else None
    return {"index": link["index"], "ifname": link.get("IFLA_IFNAME"),
            "alias": link.get("IFLA_IFALIAS"), "kind": kind,
            "address": link.get("IFLA_ADDRESS"), "master": link.get("IFLA_MASTER")}


def links(ipr) -> list[dict]:
    """[{index, ifname, alias, kind, address, master}] for every link (a dump)."""
    return [_link_dict(link) for link in ipr.get_links()]


def get_link(ipr, ifname: str) -> dict | None:
    """One link by name (a single RTM_GETLINK, not a dump), or None."""
    from pyroute2.netlink.exceptions import NetlinkError
    try:
        found = list(ipr.link("get", ifname=ifname))
    except NetlinkError as e:
        if e.code == 19:  # ENODEV
            return None
        raise _kernel_error(e, "get link", ifname) from None
    return _link_dict(found[0]) if found else None


def host_networks(ipr) -> list[ipaddress.IPv4Network]:
    """The IPv4 networks the host already reaches: routes (all tables) and addresses.

    The default route (/0) is left out: it overlaps everything by definition.
    """
    import ipaddress  # not at module level: the start path never needs it
    nets: set[ipaddress.IPv4Network] = set()
    for r in ipr.get_routes(family=socket.AF_INET, table=0):
        dst, plen = r.get("RTA_DST"), r["dst_len"]
        if dst and plen > 0 and r.get("type", 1) in (1, 2):  # unicast, local
            with contextlib.suppress(ValueError):
                nets.add(ipaddress.IPv4Network(f"{dst}/{plen}", strict=False))
    for a in ipr.get_addr(family=socket.AF_INET):
        addr = a.get("IFA_ADDRESS") or a.get("IFA_LOCAL")
        if addr:
            nets.add(ipaddress.IPv4Network(f"{addr}/{a['prefixlen']}", strict=False))
    return sorted(nets)


# ---------------------------------------------------------------------- changes
def set_alias(ipr, index: int, alias: str) -> None:
    ipr.link("set", index=index, ifalias=alias)


def create_bridge(ipr, name: str, gateway: str, prefixlen: int, alias: str,
                  mac: str | None = None) -> int:
    """Create bridge ``name`` with the gateway address, up; returns its index.

    An explicit MAC keeps the bridge's address stable (otherwise it follows the
    lowest port MAC and changes as containers come and go).
    """
    with netlink_errors("create bridge", name):
        kwargs = {"address": mac} if mac else {}
        ipr.link("add", ifname=name, kind="bridge", **kwargs)
        idx = link_index(ipr, name)
        set_alias(ipr, idx, alias)
        ipr.addr("add", index=idx, address=gateway, prefixlen=prefixlen)
        ipr.link("set", index=idx, state="up")
    return idx


def delete_link(ipr, ifname: str) -> bool:
    """Delete a link by name; False if it did not exist (idempotent)."""
    from pyroute2.netlink.exceptions import NetlinkError
    idx = link_index(ipr, ifname)
    if idx is None:
        return False
    try:
        ipr.link("del", index=idx)
    except NetlinkError as e:
        if e.code == 19:  # ENODEV: gone meanwhile
            return False
        raise _kernel_error(e, "delete link", ifname) from None
    return True


def set_forwarding(ifname: str, on: bool, proc: str = "/proc/sys") -> None:
    """``net.ipv4.conf.<ifname>.forwarding``: may packets arriving here be routed on?

    Off on our bridges: traffic inside one bridge is switched (layer 2) and needs no
    routing, and a bridge that never routes cannot leak into another network even if
    the host has ``ip_forward=1`` for something else. (Writing the global
    ``ip_forward`` later resets every interface, e.g. when Docker starts.)
    """
    path = f"{proc}/net/ipv4/conf/{ifname}/forwarding"
    try:
        with open(path, "w") as f:
            f.write("1" if on else "0")
    except OSError as e:
        raise KernelError(e.errno, "write", path) from None
