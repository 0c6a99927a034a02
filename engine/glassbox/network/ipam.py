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

Two speeds: choosing a subnet and validating what a user typed (``network
create --subnet/--gateway``, ``--ip``) use :mod:`ipaddress`, imported lazily
there. The container start path — load a pool, hand out the next free address,
derive its MAC — is int arithmetic over :func:`socket.inet_pton`, because
importing :mod:`ipaddress` (~2 ms) would land on every networked CLI start.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from socket import AF_INET, inet_ntop, inet_pton

from ..errors import Conflict, InvalidArgument

TYPE_CHECKING = False  # no `typing` import for this
if TYPE_CHECKING:  # for the annotations; at run time see __getattr__
    from ipaddress import IPv4Address, IPv4Network

MAX_PREFIXLEN = 30  # a /30 still has one gateway and one container address

# IPv4Network, IPv4Address and DEFAULT_BRIDGE_SUBNET (ipaddress objects) are
# resolved on first use by the module __getattr__ below
_LAZY = {"IPv4Network", "IPv4Address", "DEFAULT_BRIDGE_SUBNET"}


def __getattr__(name):
    if name in globals():  # already resolved (a direct call from this module)
        return globals()[name]
    if name in _LAZY:
        import ipaddress
        value = (ipaddress.IPv4Network("172.17.0.0/16") if name == "DEFAULT_BRIDGE_SUBNET"
                 else getattr(ipaddress, name))
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


# -------------------------------------------------------------- int addresses
def ip_to_int(ip: str) -> int:
    """``"10.0.0.1"`` → 167772161. ValueError for anything but a dotted quad."""
    try:
        return int.from_bytes(inet_pton(AF_INET, ip), "big")
    except (OSError, TypeError):
        raise ValueError(f"invalid IPv4 address {ip!r}") from None


def int_to_ip(n: int) -> str:
    """167772161 → ``"10.0.0.1"``."""
    return inet_ntop(AF_INET, n.to_bytes(4, "big"))


def parse_cidr(cidr: str) -> tuple[int, int]:
    """``"172.18.0.0/16"`` → (network address as int, prefix length).

    For records already validated when their network was created; host bits set
    are a ValueError (as ``IPv4Network(strict=True)`` would say)."""
    addr, sep, plen = str(cidr).partition("/")
    if not sep or not plen.isdigit() or not 0 <= int(plen) <= 32:
        raise ValueError(f"invalid IPv4 subnet {cidr!r}")
    prefixlen = int(plen)
    net = ip_to_int(addr)
    if net & ~_mask(prefixlen) & 0xFFFFFFFF:
        raise ValueError(f"{cidr} has host bits set")
    return net, prefixlen


def _mask(prefixlen: int) -> int:
    return (0xFFFFFFFF << (32 - prefixlen)) & 0xFFFFFFFF


def candidate_subnets() -> Iterator[IPv4Network]:
    """Docker's default address pools, in order (172.17/16 first)."""
    from ipaddress import IPv4Network
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
    default = __getattr__("DEFAULT_BRIDGE_SUBNET")
    taken = [t for t in taken if t.prefixlen > 0]  # a default route overlaps everything
    for cand in candidate_subnets():
        if exclude_default and cand == default:
            continue
        if overlaps(cand, taken) is None:
            return cand
    raise Conflict("no free subnet left in the default address pools "
                   "(172.17-31.0.0/16, 192.168.0.0/16 in /20 blocks): "
                   "remove unused networks (glassbox network prune) or pass --subnet")


def parse_subnet(text: str) -> IPv4Network:
    """Validate a user's ``--subnet`` (IPv4 CIDR, no host bits, room for 2 hosts)."""
    from ipaddress import IPv4Network
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
    from ipaddress import IPv4Address
    if text is None or text == "":
        return subnet.network_address + 1
    try:
        gw = IPv4Address(str(text).strip())
    except ValueError:
        raise InvalidArgument(f"invalid gateway {text!r}: expected an IPv4 address") from None
    if gw not in subnet or gw in (subnet.network_address, subnet.broadcast_address):
        raise InvalidArgument(f"gateway {gw} is not a host address of subnet {subnet}")
    return gw


def parse_ip_range(text: str | None, subnet: IPv4Network) -> str | None:
    """``--ip-range`` / IPAM ``IPRange``: a CIDR inside the subnet from which
    containers get their addresses when they ask for none (Docker's sub-pool);
    None when not given."""
    if text is None or text == "":
        return None
    from ipaddress import IPv4Network
    try:
        rng = IPv4Network(str(text).strip(), strict=True)
    except ValueError as e:
        raise InvalidArgument(f"invalid ip range {text!r}: {e}; expected IPv4 CIDR inside "
                              f"the subnet {subnet}") from None
    if not rng.subnet_of(subnet):
        raise InvalidArgument(f"ip range {rng} is not inside the subnet {subnet}")
    return str(rng)


def mac_for_ip(ip: str | IPv4Address) -> str:
    """Docker's scheme: 02:42 followed by the four IPv4 bytes (locally administered)."""
    try:
        packed = inet_pton(AF_INET, str(ip))
    except OSError:
        raise ValueError(f"invalid IPv4 address {ip!r}") from None
    return "02:42:%02x:%02x:%02x:%02x" % tuple(packed)


class AddressPool:
    """The addresses of one network: who holds which. Serialisable to a dict.

    ``allocated`` maps address → owner (a container id). The gateway, the network
    and broadcast addresses are never handed out. ``ip_range`` (a CIDR inside the
    subnet, Docker's ``IPRange``) limits the addresses handed out to containers that
    ask for none; a fixed address (``--ip``) may be anywhere in the subnet.

    Kept as ints (network address, prefix length, gateway) so that loading a pool
    and allocating from it needs no :mod:`ipaddress`; :attr:`subnet` and
    :attr:`gateway` still give ``IPv4Network``/``IPv4Address`` objects (importing
    it) for the code that creates networks. ``subnet``/``gateway`` given to the
    constructor may be those objects or their strings.
    """

    __slots__ = ("_net", "_prefixlen", "_gw", "allocated", "ip_range")
    __hash__ = None  # mutable, compared by value (as the dataclass it was)

    def __init__(self, subnet, gateway, allocated: dict[str, str] | None = None,
                 ip_range: str | None = None):
        self._net, self._prefixlen = parse_cidr(str(subnet))
        self._gw = ip_to_int(str(gateway))
        self.allocated = {} if allocated is None else allocated
        self.ip_range = ip_range or None

    # the views ----------------------------------------------------------------
    @property
    def cidr(self) -> str:
        """The subnet as text, ``"172.18.0.0/16"``."""
        return f"{int_to_ip(self._net)}/{self._prefixlen}"

    @property
    def prefixlen(self) -> int:
        return self._prefixlen

    @property
    def gateway_ip(self) -> str:
        """The gateway as text, ``"172.18.0.1"``."""
        return int_to_ip(self._gw)

    @property
    def subnet(self) -> IPv4Network:
        from ipaddress import IPv4Network
        return IPv4Network(self.cidr)

    @property
    def gateway(self) -> IPv4Address:
        from ipaddress import IPv4Address
        return IPv4Address(self._gw)

    @property
    def capacity(self) -> int:
        """How many container addresses the subnet has in total."""
        return max((1 << (32 - self._prefixlen)) - 3, 0)

    def _bounds(self) -> tuple[int, int]:
        """(network address, broadcast address) as ints."""
        return self._net, self._net | (~_mask(self._prefixlen) & 0xFFFFFFFF)

    # allocation ----------------------------------------------------------------
    def allocate(self, owner: str, ip: str | None = None) -> str:
        """Hand out ``ip`` (if given and free) or the lowest free address; the
        address as text."""
        if ip is not None:
            return self._allocate_wanted(owner, ip)
        net, bcast = self._bounds()
        lo, hi = net + 1, bcast - 1
        if self.ip_range:
            rnet, rlen = parse_cidr(self.ip_range)
            lo, hi = max(lo, rnet), min(hi, rnet + (1 << (32 - rlen)) - 1)
        allocated, gw = self.allocated, self._gw
        for n in range(lo, hi + 1):
            if n == gw:
                continue
            cand = f"{n >> 24}.{(n >> 16) & 255}.{(n >> 8) & 255}.{n & 255}"
            if cand not in allocated:
                allocated[cand] = owner
                return cand
        raise Conflict(f"no available IPv4 addresses on this network ({self.cidr}, "
                       f"{len(allocated)} in use): disconnect containers or create "
                       f"a network with a larger subnet")

    def _allocate_wanted(self, owner: str, ip: str) -> str:
        # user input (``--ip``): validated by ipaddress, with its messages
        from ipaddress import IPv4Address
        try:
            want = IPv4Address(str(ip).strip())
        except ValueError:
            raise InvalidArgument(f"invalid IPv4 address {ip!r}") from None
        net, bcast = self._bounds()
        n = int(want)
        if not net <= n <= bcast:
            raise InvalidArgument(f"address {want} is not in the network's subnet "
                                  f"{self.cidr}")
        if n in (net, bcast, self._gw):
            raise InvalidArgument(f"address {want} is reserved (network, broadcast "
                                  f"or gateway) in {self.cidr}")
        key = str(want)
        if key in self.allocated:
            raise Conflict(f"address {want} is already in use by container "
                           f"{self.allocated[key][:12]}")
        self.allocated[key] = owner
        return key

    def release(self, ip) -> bool:
        """Give ``ip`` back; returns whether it was allocated (idempotent)."""
        return self.allocated.pop(str(ip), None) is not None

    # records -------------------------------------------------------------------
    def to_dict(self) -> dict:
        d = {"subnet": self.cidr, "gateway": int_to_ip(self._gw),
             "allocated": dict(sorted(self.allocated.items(),
                                      key=lambda kv: ip_to_int(kv[0])))}
        if self.ip_range:
            d["ip_range"] = self.ip_range
        return d

    @classmethod
    def from_dict(cls, d: dict) -> "AddressPool":
        return cls(d["subnet"], d["gateway"], dict(d.get("allocated", {})),
                   d.get("ip_range"))

    def __eq__(self, other):
        if not isinstance(other, AddressPool):
            return NotImplemented
        return (self._net, self._prefixlen, self._gw, self.allocated, self.ip_range) == \
            (other._net, other._prefixlen, other._gw, other.allocated, other.ip_range)

    def __repr__(self) -> str:
        rng = f", ip_range={self.ip_range!r}" if self.ip_range else ""
        return (f"AddressPool(subnet={self.cidr!r}, gateway={self.gateway_ip!r}, "
                f"allocated={self.allocated!r}{rng})")
