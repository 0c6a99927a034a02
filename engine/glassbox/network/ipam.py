"""IP address management: which subnet a network gets, which address a container gets.

Pure logic, no I/O: the manager passes in what is already taken (other glassbox
networks and the host's own routes/addresses) and persists the result.

Subnets come from Docker's default pools, in Docker's order:

* ``172.17.0.0/16`` is *preferred* for the default ``bridge`` network,
* user networks take the next free ``/16`` of ``172.18.0.0/16 … 172.31.0.0/16``,
  then the ``/20`` blocks of ``192.168.0.0/16``.

A candidate is skipped when it overlaps anything taken — another glassbox network
or a route/address the host already has (a VPN, a LAN, Docker's own ``docker0``):
a container subnet that shadows the host's LAN would make that LAN unreachable.

Inside a subnet the gateway is the first host address (``.1``, it lives on the
bridge) and containers get the lowest free address after it. Reusing an address
right away is safe here because a container's MAC is derived from its IP
(:func:`mac_for_ip`), so stale neighbour caches still point at the right place,
and because the manager sets an exited container's bridge port down at once
(the kernel deletes that veth pair a little later, with the namespace).
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from collections.abc import Iterable, Iterator

from ..errors import Conflict, InvalidArgument

IPv4Network = ipaddress.IPv4Network
IPv4Address = ipaddress.IPv4Address

DEFAULT_BRIDGE_SUBNET = IPv4Network("172.17.0.0/16")
MAX_PREFIXLEN = 30  # a /30 still has one gateway and one container address


def candidate_subnets() -> Iterator[IPv4Network]:
    """Docker's default address pools, in order (172.17/16 first)."""
    for second in range(17, 32):
        yield IPv4Network(f"172.{second}.0.0/16")
    yield from IPv4Network("192.168.0.0/16").subnets(new_prefix=20)


def overlaps(net: IPv4Network, taken: Iterable[IPv4Network]) -> IPv4Network | None:
    """The first network in ``taken`` that overlaps ``net``, else None."""
    for other in taken:
        if net.overlaps(other):
            return other
    return None


def choose_subnet(taken: Iterable[IPv4Network], *, exclude_default: bool = True
                  ) -> IPv4Network:
    """First pool subnet that overlaps nothing in ``taken``.

    ``exclude_default`` keeps 172.17.0.0/16 for the default bridge network, as
    Docker does; the default network itself asks with ``exclude_default=False``.
    """
    taken = [t for t in taken if t.prefixlen > 0]  # a default route overlaps everything
    for cand in candidate_subnets():
        if exclude_default and cand == DEFAULT_BRIDGE_SUBNET:
            continue
        if overlaps(cand, taken) is None:
            return cand
    raise Conflict("no free subnet left in the default address pools "
                   "(172.17-31.0.0/16, 192.168.0.0/16 in /20 blocks): "
                   "remove unused networks (glassbox network prune) or pass --subnet")


def parse_subnet(text: str) -> IPv4Network:
    """Validate a user's ``--subnet`` (IPv4 CIDR, no host bits, room for 2 hosts)."""
    if "/" not in str(text):
        raise InvalidArgument(f"invalid subnet {text!r}: give a prefix length, "
                              f"e.g. {text}/24")
    try:
        net = IPv4Network(str(text).strip(), strict=True)
    except ValueError as e:
        raise InvalidArgument(f"invalid subnet {text!r}: {e}; expected IPv4 CIDR such "
                              f"as 10.10.0.0/24") from None
    if net.prefixlen > MAX_PREFIXLEN:
        raise InvalidArgument(f"subnet {text} is too small: use /{MAX_PREFIXLEN} or "
                              f"larger (it needs a gateway and a container address)")
    if net.is_loopback or net.is_multicast or net.is_link_local or net.is_unspecified:
        raise InvalidArgument(f"subnet {text} is a loopback/multicast/link-local range; "
                              f"use a private range such as 10.x, 172.16-31.x, 192.168.x")
    return net


def parse_gateway(text: str | None, subnet: IPv4Network) -> IPv4Address:
    """The gateway: given, or the subnet's first host. Must be a host of the subnet."""
    if text is None or text == "":
        return subnet.network_address + 1
    try:
        gw = IPv4Address(str(text).strip())
    except ValueError:
        raise InvalidArgument(f"invalid gateway {text!r}: expected an IPv4 address") from None
    if gw not in subnet or gw in (subnet.network_address, subnet.broadcast_address):
        raise InvalidArgument(f"gateway {gw} is not a host address of subnet {subnet}")
    return gw


def mac_for_ip(ip: str | IPv4Address) -> str:
    """Docker's scheme: 02:42 followed by the four IPv4 bytes (locally administered)."""
    packed = IPv4Address(str(ip)).packed
    return "02:42:" + ":".join(f"{b:02x}" for b in packed)


@dataclass
class AddressPool:
    """The addresses of one network: who holds which. Serialisable to a dict.

    ``allocated`` maps address → owner (a container id). The gateway, the network
    and broadcast addresses are never handed out.
    """

    subnet: IPv4Network
    gateway: IPv4Address
    allocated: dict[str, str] = field(default_factory=dict)

    @property
    def capacity(self) -> int:
        """How many container addresses the subnet has in total."""
        return max(self.subnet.num_addresses - 3, 0)

    def _reserved(self, ip: IPv4Address) -> bool:
        return ip in (self.subnet.network_address, self.subnet.broadcast_address,
                      self.gateway)

    def allocate(self, owner: str, ip: str | None = None) -> IPv4Address:
        """Hand out ``ip`` (if given and free) or the lowest free address."""
        if ip is not None:
            try:
                want = IPv4Address(str(ip).strip())
            except ValueError:
                raise InvalidArgument(f"invalid IPv4 address {ip!r}") from None
            if want not in self.subnet:
                raise InvalidArgument(f"address {want} is not in the network's subnet "
                                      f"{self.subnet}")
            if self._reserved(want):
                raise InvalidArgument(f"address {want} is reserved (network, broadcast "
                                      f"or gateway) in {self.subnet}")
            if str(want) in self.allocated:
                raise Conflict(f"address {want} is already in use by container "
                               f"{self.allocated[str(want)][:12]}")
            self.allocated[str(want)] = owner
            return want
        first = int(self.subnet.network_address) + 1
        last = int(self.subnet.broadcast_address) - 1
        for n in range(first, last + 1):
            cand = IPv4Address(n)
            if cand == self.gateway or str(cand) in self.allocated:
                continue
            self.allocated[str(cand)] = owner
            return cand
        raise Conflict(f"no available IPv4 addresses on this network ({self.subnet}, "
                       f"{len(self.allocated)} in use): disconnect containers or create "
                       f"a network with a larger subnet")

    def release(self, ip: str | IPv4Address) -> bool:
        """Give ``ip`` back; returns whether it was allocated (idempotent)."""
        return self.allocated.pop(str(ip), None) is not None

    def to_dict(self) -> dict:
        return {"subnet": str(self.subnet), "gateway": str(self.gateway),
                "allocated": dict(sorted(self.allocated.items(),
                                         key=lambda kv: int(IPv4Address(kv[0]))))}

    @classmethod
    def from_dict(cls, d: dict) -> "AddressPool":
        return cls(IPv4Network(d["subnet"]), IPv4Address(d["gateway"]),
                   dict(d.get("allocated", {})))
