"""The hand-built rtnetlink requests, byte for byte (rtnetlink(7)), and the batch
send/acknowledge logic against a fake socket. No root, no kernel."""

import socket
import struct

import pytest

from glassbox.errors import KernelError
from glassbox.network import rtnl


def h(text: str) -> bytes:
    return bytes.fromhex("".join(text.split()))


def test_getlink_by_name_bytes():
    assert rtnl.getlink_request("lo") == h("""
        28000000 1200 0100 00000000 00000000
        00 00 0000 00000000 00000000 00000000
        0700 0300 6c6f00 00""")


def test_setlink_up_by_index_and_alias_by_name_bytes():
    assert rtnl.setlink_request(index=1, up=True) == h("""
        20000000 1300 0500 00000000 00000000
        00 00 0000 01000000 01000000 01000000""")
    assert rtnl.setlink_request(ifname="eth0", up=False) == h("""
        2c000000 1300 0500 00000000 00000000
        00 00 0000 00000000 00000000 01000000
        0900 0300 65746830 00 000000""")
    assert rtnl.setlink_request(ifname="gbxv1", alias="a:b") == h("""
        34000000 1300 0500 00000000 00000000
        00 00 0000 00000000 00000000 00000000
        0a00 0300 67627876 3100 0000
        0800 1400 613a6200""")


def test_dellink_bytes():
    assert rtnl.dellink_request("eth0") == h("""
        2c000000 1100 0500 00000000 00000000
        00 00 0000 00000000 00000000 00000000
        0900 0300 65746830 00 000000""")


def test_addr_with_broadcast_bytes():
    # ip addr add 172.18.0.2/16 brd + dev #7
    assert rtnl.addr_request(7, "172.18.0.2", 16) == h("""
        30000000 1400 0506 00000000 00000000
        02 10 00 00 07000000
        0800 0200 ac120002
        0800 0100 ac120002
        0800 0400 ac12ffff""")
    brd = rtnl.addr_request(3, "10.9.0.5", 30)[-4:]
    assert socket.inet_ntoa(brd) == "10.9.0.7"


def test_default_route_bytes():
    # ip route add default via 172.18.0.1 (main table, proto boot, NLM_F_EXCL)
    assert rtnl.default_route_request("172.18.0.1") == h("""
        24000000 1800 0506 00000000 00000000
        02 00 00 00 fe 03 00 01 00000000
        0800 0500 ac120001""")


def test_veth_request_nests_the_peer():
    msg = rtnl.veth_request("gbxvabcd", "eth0", peer_nsfd=9, peer_mac="02:42:ac:12:00:02",
                            master=42)
    ((kind, _seq, body),) = rtnl.split_messages(msg)
    assert kind == rtnl.RTM_NEWLINK
    length, _t, flags, _s, _p = struct.unpack_from("=IHHII", msg)
    assert length == len(msg) and len(msg) % 4 == 0
    assert flags == rtnl.NLM_F_REQUEST | rtnl.NLM_F_ACK | rtnl.NLM_F_CREATE | rtnl.NLM_F_EXCL
    _fam, _type, index, ifflags, change = struct.unpack_from("=BxHiII", body)
    assert (index, ifflags, change) == (0, rtnl.IFF_UP, rtnl.IFF_UP)  # host end up
    top = rtnl.parse_attrs(body, 16)
    assert top[rtnl.IFLA_IFNAME] == b"gbxvabcd\0"
    assert struct.unpack("=I", top[rtnl.IFLA_MASTER]) == (42,)
    info = rtnl.parse_attrs(top[rtnl.IFLA_LINKINFO])
    assert info[rtnl.IFLA_INFO_KIND] == b"veth\0"
    peer = rtnl.parse_attrs(info[rtnl.IFLA_INFO_DATA])[rtnl.VETH_INFO_PEER]
    assert struct.unpack_from("=BxHiII", peer)[2:] == (0, 0, 0)  # the peer: not up here
    pattrs = rtnl.parse_attrs(peer, 16)
    assert pattrs[rtnl.IFLA_IFNAME] == b"eth0\0"
    assert pattrs[rtnl.IFLA_ADDRESS] == h("0242ac120002")
    assert struct.unpack("=I", pattrs[rtnl.IFLA_NET_NS_FD]) == (9,)
    # nested containers carry NLA_F_NESTED
    assert struct.unpack_from("=HH", body, 16 + 16 + 8)[1] == rtnl.IFLA_LINKINFO | 0x8000


def test_link_from_reply():
    body = struct.pack("=BxHiII", 0, 1, 5, 0x1003, 0) + rtnl.attr_str(rtnl.IFLA_IFNAME, "br0") \
        + rtnl.attr_str(rtnl.IFLA_IFALIAS, "glassbox:x") + rtnl.attr_u32(rtnl.IFLA_MASTER, 3)
    assert rtnl.link_from_reply(body) == {"index": 5, "ifname": "br0",
                                          "alias": "glassbox:x", "master": 3}


class FakeSock:
    """Answers each request of a datagram in order: the errno to return, or a reply."""

    def __init__(self, answers):
        self.answers = list(answers)
        self.sent = []
        self.out = []

    def setsockopt(self, *a):
        pass

    def send(self, data):
        self.sent.append(data)
        for kind, seq, _body in rtnl.split_messages(data):
            ans = self.answers.pop(0)
            if isinstance(ans, bytes):
                self.out.append(rtnl.message(rtnl.RTM_NEWLINK, 0, ans, seq))
            else:
                self.out.append(rtnl.message(rtnl.NLMSG_ERROR, 0, struct.pack("=i", -ans) +
                                             struct.pack("=IHHII", 16, kind, 0, seq, 0), seq))
        return len(data)

    def recv(self, n):
        # the kernel may split the answers over several datagrams: one at a time here
        return self.out.pop(0)

    def close(self):
        pass


def test_batch_in_one_datagram_with_per_request_results():
    link = struct.pack("=BxHiII", 0, 1, 4, 0, 0) + rtnl.attr_str(rtnl.IFLA_IFNAME, "eth0")
    sock = FakeSock([0, 17, link])
    nl = rtnl.Rtnl(sock)
    res = nl.send([(rtnl.setlink_request(index=1, up=True), "up", "lo"),
                   (rtnl.default_route_request("10.0.0.1"), "route", "x"),
                   (rtnl.getlink_request("eth0"), "get", "eth0")])
    assert len(sock.sent) == 1  # one system call for the three
    seqs = [seq for _k, seq, _b in rtnl.split_messages(sock.sent[0])]
    assert seqs == sorted(set(seqs)) and len(seqs) == 3
    assert res[0] is None and isinstance(res[1], KernelError) and res[1].errno == 17
    assert rtnl.link_from_reply(res[2])["index"] == 4
    rtnl.Rtnl.check(res, ignore=(17,))
    with pytest.raises(KernelError, match="route"):
        rtnl.Rtnl.check(res)


def test_get_delete_down_missing_device_are_not_errors():
    nl = rtnl.Rtnl(FakeSock([19, 19, 19, 1]))
    assert nl.get_link("nope") is None
    assert nl.delete_link("nope") is False
    assert nl.set_down("nope") is False
    with pytest.raises(KernelError) as e:
        nl.delete_link("eperm")
    assert e.value.errno == 1 and e.value.op == "delete link"


def test_configure_inside_requests():
    link = struct.pack("=BxHiII", 0, 1, 6, 0, 0) + rtnl.attr_str(rtnl.IFLA_IFNAME, "eth1")
    sock = FakeSock([0, 0, link, 0, 17])  # a default route exists already: fine
    rtnl.configure_inside(rtnl.Rtnl(sock), "eth1", "10.1.0.3", 24, "10.1.0.1")
    first, second = ([k for k, _s, _b in rtnl.split_messages(d)] for d in sock.sent)
    assert first == [rtnl.RTM_SETLINK, rtnl.RTM_SETLINK, rtnl.RTM_GETLINK]
    assert second == [rtnl.RTM_NEWADDR, rtnl.RTM_NEWROUTE]
    addr = rtnl.split_messages(sock.sent[1])[0][2]
    assert struct.unpack_from("=BBBBI", addr)[4] == 6  # on the index the kernel gave
    sock = FakeSock([0, 0, link, 17])
    with pytest.raises(KernelError, match="add address"):
        rtnl.configure_inside(rtnl.Rtnl(sock), "eth1", "10.1.0.3", 24, None)


def test_create_veth_sets_the_alias_only_after_the_pair_exists():
    sock = FakeSock([0, 0])
    rtnl.create_veth(rtnl.Rtnl(sock), "gbxv1", "eth0", peer_nsfd=5, peer_mac="02:42:0a:00:00:02",
                     master=3, alias="glassbox:t:ep:n:c")
    kinds = [[k for k, _s, _b in rtnl.split_messages(d)] for d in sock.sent]
    assert kinds == [[rtnl.RTM_NEWLINK], [rtnl.RTM_SETLINK]]
    sock = FakeSock([17])  # the name exists: that other device's alias is left alone
    with pytest.raises(KernelError, match="create veth"):
        rtnl.create_veth(rtnl.Rtnl(sock), "gbxv1", "eth0", peer_nsfd=5,
                         peer_mac="02:42:0a:00:00:02", master=3, alias="glassbox:t:ep:n:c")
    assert len(sock.sent) == 1
