"""A small rtnetlink client for the container start path: requests built by hand.

pyroute2 (:mod:`.netlink`) is the seam for everything else, but importing it
costs 200-400 ms and each of its calls ~1 ms of Python encoding and decoding.
Wiring a container needs only a handful of fixed requests, so they are packed
here with :mod:`struct` and sent over a plain ``AF_NETLINK`` socket
(rtnetlink(7), netlink(7))::

    nlmsghdr   len u32, type u16, flags u16, seq u32, pid u32        16 bytes
    ifinfomsg  family u8, pad, type u16, index i32, flags u32, change u32
    ifaddrmsg  family u8, prefixlen u8, flags u8, scope u8, index u32
    rtmsg      family, dst_len, src_len, tos, table, protocol, scope, type u8; flags u32
    rtattr     len u16, type u16, payload, padded to 4 bytes (attributes nest)

Several requests go out in **one** ``sendmsg`` (the kernel handles each message
of the datagram in turn and acknowledges each one), so a batch costs one system
call plus the kernel's own work. The builders are pure functions returning
bytes; :class:`Rtnl` sends them and turns a negative ``NLMSG_ERROR`` into
:class:`~glassbox.errors.KernelError` (errno, operation, device).
"""

from __future__ import annotations

import os
import socket
import struct
from collections.abc import Iterable

from ..errors import KernelError

NETLINK_ROUTE = 0
NETLINK_CAP_ACK = 10          # acknowledgements without a copy of the request

# message types
NLMSG_ERROR, NLMSG_DONE = 2, 3
RTM_NEWLINK, RTM_DELLINK, RTM_GETLINK, RTM_SETLINK = 16, 17, 18, 19
RTM_NEWADDR = 20
RTM_NEWROUTE = 24

# flags
NLM_F_REQUEST, NLM_F_ACK = 0x1, 0x4
NLM_F_EXCL, NLM_F_CREATE = 0x200, 0x400
IFF_UP = 0x1

# attributes
IFLA_ADDRESS, IFLA_IFNAME, IFLA_MASTER = 1, 3, 10
IFLA_LINKINFO, IFLA_IFALIAS, IFLA_NET_NS_FD = 18, 20, 28
IFLA_INFO_KIND, IFLA_INFO_DATA = 1, 2
VETH_INFO_PEER = 1
IFA_ADDRESS, IFA_LOCAL, IFA_BROADCAST = 1, 2, 4
RTA_GATEWAY = 5
RT_TABLE_MAIN, RTPROT_BOOT, RT_SCOPE_UNIVERSE, RTN_UNICAST = 254, 3, 0, 1
NLA_F_NESTED = 0x8000

LOOPBACK_INDEX = 1            # ``lo`` is index 1 in every network namespace

_HDR = struct.Struct("=IHHII")
_IFINFO = struct.Struct("=BxHiII")
_IFADDR = struct.Struct("=BBBBI")
_RTMSG = struct.Struct("=BBBBBBBBI")
_RTA = struct.Struct("=HH")
_ERR = struct.Struct("=i")


# ---------------------------------------------------------------------- encoding
def _pad(n: int) -> int:
    return (n + 3) & ~3


def attr(kind: int, payload: bytes) -> bytes:
    """One rtattr, padded to a multiple of 4."""
    n = _RTA.size + len(payload)
    return _RTA.pack(n, kind) + payload + b"\0" * (_pad(n) - n)


def attr_str(kind: int, text: str) -> bytes:
    return attr(kind, text.encode() + b"\0")


def attr_u32(kind: int, value: int) -> bytes:
    return attr(kind, struct.pack("=I", value))


def nested(kind: int, *attrs: bytes) -> bytes:
    return attr(kind | NLA_F_NESTED, b"".join(attrs))


def mac_bytes(mac: str) -> bytes:
    return bytes(int(b, 16) for b in mac.split(":"))


def message(kind: int, flags: int, body: bytes, seq: int = 0) -> bytes:
    """nlmsghdr + body (the sender's port id 0: the kernel fills it in)."""
    return _HDR.pack(_HDR.size + len(body), kind, flags, seq, 0) + body


def ifinfo(index: int = 0, flags: int = 0, change: int = 0) -> bytes:
    return _IFINFO.pack(socket.AF_UNSPEC, 0, index, flags, change)


def veth_request(host_ifname: str, peer_ifname: str, *, peer_nsfd: int, peer_mac: str,
                 master: int) -> bytes:
    """RTM_NEWLINK for a whole veth pair in one request: the host end named,
    enslaved to bridge ``master`` and up; the peer created in namespace
    ``peer_nsfd`` with its name and MAC. (The peer cannot be brought up in this
    request: the kernel configures it before the pair is joined, and a veth
    without its peer refuses to open — ENOTCONN.)"""
    peer = ifinfo() + attr_str(IFLA_IFNAME, peer_ifname) + \
        attr(IFLA_ADDRESS, mac_bytes(peer_mac)) + attr_u32(IFLA_NET_NS_FD, peer_nsfd)
    body = ifinfo(0, IFF_UP, IFF_UP) + attr_str(IFLA_IFNAME, host_ifname) + \
        attr_u32(IFLA_MASTER, master) + \
        nested(IFLA_LINKINFO, attr_str(IFLA_INFO_KIND, "veth"),
               nested(IFLA_INFO_DATA, attr(VETH_INFO_PEER, peer)))
    return message(RTM_NEWLINK, NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL,
                   body)


def setlink_request(*, index: int = 0, ifname: str | None = None, up: bool | None = None,
                    alias: str | None = None) -> bytes:
    """RTM_SETLINK by index or by name: state up/down and/or the ifalias."""
    flags = change = 0
    if up is not None:
        flags, change = (IFF_UP if up else 0), IFF_UP
    body = ifinfo(index, flags, change)
    if ifname is not None:
        body += attr_str(IFLA_IFNAME, ifname)
    if alias is not None:
        body += attr_str(IFLA_IFALIAS, alias)
    return message(RTM_SETLINK, NLM_F_REQUEST | NLM_F_ACK, body)


def getlink_request(ifname: str) -> bytes:
    """RTM_GETLINK of one device by name (a single reply, not a dump)."""
    return message(RTM_GETLINK, NLM_F_REQUEST, ifinfo() + attr_str(IFLA_IFNAME, ifname))


def dellink_request(ifname: str) -> bytes:
    return message(RTM_DELLINK, NLM_F_REQUEST | NLM_F_ACK,
                   ifinfo() + attr_str(IFLA_IFNAME, ifname))


def addr_request(index: int, ip: str, prefixlen: int) -> bytes:
    """RTM_NEWADDR: ``ip/prefixlen`` on ``index`` with its broadcast address, as
    ``ip addr add IP/LEN brd + dev DEV`` does."""
    packed = socket.inet_aton(ip)
    host = 0xFFFFFFFF >> prefixlen if prefixlen < 32 else 0
    brd = struct.pack("!I", struct.unpack("!I", packed)[0] | host)
    body = _IFADDR.pack(socket.AF_INET, prefixlen, 0, RT_SCOPE_UNIVERSE, index) + \
        attr(IFA_LOCAL, packed) + attr(IFA_ADDRESS, packed) + attr(IFA_BROADCAST, brd)
    return message(RTM_NEWADDR, NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL, body)


def default_route_request(gateway: str) -> bytes:
    """RTM_NEWROUTE ``default via GATEWAY`` in the main table; EEXIST if the
    namespace already has a default route (of the same metric)."""
    body = _RTMSG.pack(socket.AF_INET, 0, 0, 0, RT_TABLE_MAIN, RTPROT_BOOT,
                       RT_SCOPE_UNIVERSE, RTN_UNICAST, 0) + \
        attr(RTA_GATEWAY, socket.inet_aton(gateway))
    return message(RTM_NEWROUTE, NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL, body)


# ---------------------------------------------------------------------- decoding
def parse_attrs(data: bytes, offset: int = 0) -> dict[int, bytes]:
    """Top-level rtattrs from ``offset`` on: {type (without flag bits): payload}."""
    out = {}
    while offset + _RTA.size <= len(data):
        n, kind = _RTA.unpack_from(data, offset)
        if n < _RTA.size:
            break
        out[kind & 0x3FFF] = data[offset + _RTA.size:offset + n]
        offset += _pad(n)
    return out


def split_messages(data: bytes) -> list[tuple[int, int, bytes]]:
    """A datagram → [(type, seq, body)]."""
    out, off = [], 0
    while off + _HDR.size <= len(data):
        n, kind, _flags, seq, _pid = _HDR.unpack_from(data, off)
        if n < _HDR.size:
            break
        out.append((kind, seq, data[off + _HDR.size:off + n]))
        off += _pad(n)
    return out


def link_from_reply(body: bytes) -> dict:
    """An RTM_NEWLINK body → {index, ifname, alias, master}."""
    _fam, _type, index, _flags, _change = _IFINFO.unpack_from(body)
    attrs = parse_attrs(body, _IFINFO.size)

    def text(k):
        v = attrs.get(k)
        return v.rstrip(b"\0").decode() if v is not None else None
    master = attrs.get(IFLA_MASTER)
    return {"index": index, "ifname": text(IFLA_IFNAME), "alias": text(IFLA_IFALIAS),
            "master": struct.unpack("=I", master)[0] if master else None}


# ---------------------------------------------------------------------- the socket
class Rtnl:
    """One NETLINK_ROUTE socket (in the namespace it was created in)."""

    def __init__(self, sock: socket.socket | None = None):
        self.sock = sock or socket.socket(socket.AF_NETLINK, socket.SOCK_RAW | socket.SOCK_CLOEXEC,
                                          NETLINK_ROUTE)
        try:
            self.sock.setsockopt(getattr(socket, "SOL_NETLINK", 270), NETLINK_CAP_ACK, 1)
        except OSError:
            pass
        self.seq = 0

    def close(self) -> None:
        self.sock.close()

    def __enter__(self) -> "Rtnl":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def send(self, requests: Iterable[tuple[bytes, str, str | None]]) -> list:
        """Send ``(request, op, what)`` batch in one datagram; one result each.

        A result is the reply body (GETLINK) or None (an acknowledgement), or the
        KernelError for that request: :meth:`check` raises the first one.
        """
        reqs = list(requests)
        out = bytearray()
        seqs = {}
        for i, (msg, _op, _what) in enumerate(reqs):
            self.seq += 1
            seqs[self.seq] = i
            out += msg[:8] + struct.pack("=I", self.seq) + msg[12:]
        self.sock.send(bytes(out))
        results: list = [None] * len(reqs)
        pending = set(seqs)
        while pending:
            data = self.sock.recv(65536)
            for kind, seq, body in split_messages(data):
                i = seqs.get(seq)
                if i is None or seq not in pending:
                    continue
                if kind == NLMSG_ERROR:
                    code = -_ERR.unpack_from(body)[0]
                    if code:
                        _msg, op, what = reqs[i]
                        results[i] = KernelError(code, op, what)
                elif kind == NLMSG_DONE:
                    pass
                else:
                    results[i] = body
                pending.discard(seq)
        return results

    @staticmethod
    def check(results: list, *, ignore: tuple[int, ...] = ()) -> list:
        for r in results:
            if isinstance(r, KernelError) and r.errno not in ignore:
                raise r
        return results

    def get_link(self, ifname: str) -> dict | None:
        """One link by name, or None if there is no such device."""
        (r,) = self.send([(getlink_request(ifname), "get link", ifname)])
        if isinstance(r, KernelError):
            if r.errno == 19:  # ENODEV
                return None
            raise r
        return link_from_reply(r)

    def delete_link(self, ifname: str) -> bool:
        """Delete a device by name; False if it did not exist."""
        return self._by_name(dellink_request(ifname), "delete link", ifname)

    def set_down(self, ifname: str) -> bool:
        """Set a device down by name; False if it did not exist."""
        return self._by_name(setlink_request(ifname=ifname, up=False), "set link down", ifname)

    def _by_name(self, request: bytes, op: str, ifname: str) -> bool:
        (r,) = self.send([(request, op, ifname)])
        if isinstance(r, KernelError):
            if r.errno == 19:  # ENODEV
                return False
            raise r
        return True


# ---------------------------------------------------------------------- the steps
def free_ifname(inside: Rtnl, prefix: str = "eth") -> str:
    """The lowest ``ethN`` not yet present in the namespace (one lookup each)."""
    n = 0
    while inside.get_link(f"{prefix}{n}") is not None:
        n += 1
    return f"{prefix}{n}"


def create_veth(host: Rtnl, host_ifname: str, peer_ifname: str, *, peer_nsfd: int,
                peer_mac: str, master: int, alias: str) -> None:
    """The veth pair, then the host end's alias (the kernel ignores IFLA_IFALIAS
    when it creates a link). Not in one datagram: had the creation failed because
    the name exists, the alias would land on that other device."""
    host.check(host.send([
        (veth_request(host_ifname, peer_ifname, peer_nsfd=peer_nsfd, peer_mac=peer_mac,
                      master=master), "create veth", f"{host_ifname}<->{peer_ifname}")]))
    host.check(host.send([
        (setlink_request(ifname=host_ifname, alias=alias), "set alias", host_ifname)]))


def configure_inside(inside: Rtnl, ifname: str, ip: str, prefixlen: int,
                     gateway: str | None) -> None:
    """Inside the container: ``ifname`` and lo up, the address, the default route.

    Two datagrams: the first brings the links up and asks for ``ifname``'s index,
    which the address needs. The default route is added only when the namespace
    has none yet (the first network a container joins provides it, as in
    Docker): an existing one answers EEXIST, which is fine.
    """
    up = inside.check(inside.send([
        (setlink_request(ifname=ifname, up=True), "set link up", ifname),
        (setlink_request(index=LOOPBACK_INDEX, up=True), "set link up", "lo"),
        (getlink_request(ifname), "get link", ifname)]))
    index = link_from_reply(up[2])["index"]
    reqs = [(addr_request(index, ip, prefixlen), "add address", f"{ip}/{prefixlen} on {ifname}")]
    if gateway:
        reqs.append((default_route_request(gateway), "add default route", f"via {gateway}"))
    results = inside.send(reqs)
    inside.check(results[:1])
    inside.check(results[1:], ignore=(17,))  # EEXIST: a default route is there already


def socket_in_netns(nsfd: int) -> socket.socket:
    """A NETLINK_ROUTE socket bound to the network namespace ``nsfd``.

    The calling thread enters the namespace, creates the socket (a socket stays
    in the namespace it was created in) and goes back at once: cheaper than a
    helper thread (~1 ms). If it cannot go back, the process must not go on in
    the container's namespace: it aborts.
    """
    from .._sys import CLONE_NEWNET, real as sys_
    home = os.open("/proc/thread-self/ns/net", os.O_RDONLY | os.O_CLOEXEC)
    try:
        sys_.setns(nsfd, CLONE_NEWNET, "netns")
        try:
            return socket.socket(socket.AF_NETLINK, socket.SOCK_RAW | socket.SOCK_CLOEXEC,
                                 NETLINK_ROUTE)
        finally:
            try:
                sys_.setns(home, CLONE_NEWNET, "/proc/thread-self/ns/net")
            except BaseException:  # pragma: no cover — never seen; do not go on elsewhere
                os.abort()
    finally:
        os.close(home)
