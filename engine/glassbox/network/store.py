"""Network records and their on-disk store under ``<root>/networks/``.

Layout::

    <root>/networks/.lock            flock: one writer at a time (CLIs, kernel, daemon)
    <root>/networks/<id>.json        one network: config, address pool, endpoints
    <root>/networks/proxies/<cid>.json   the port proxies running for a container

Every write is atomic (write a temp file in the same directory, fsync, rename), so
a crash at any point leaves the old record or the new one, never half of one.
Readers need no lock (they see a whole file); read-modify-write cycles hold
:meth:`NetworkStore.lock`.

The records are plain classes (no I/O): :class:`Network` and :class:`Endpoint`.
"""

from __future__ import annotations

import contextlib
import json
import os

from .._files import locked as flocked  # noqa: F401  (used by the manager)
from .._files import write_json
from .ipam import AddressPool

# Plain classes rather than dataclasses: these records are loaded on every
# networked container start, and ``@dataclass`` builds (exec's) its methods at
# import (~2.5 ms per CLI process). Same constructors (positional and keyword),
# attributes, repr, equality and JSON.

class _Record:
    """Value equality and a dataclass-like repr over the subclass's ``__slots__``."""

    __slots__ = ()
    __hash__ = None  # mutable, compared by value

    def __eq__(self, other):
        if other.__class__ is not self.__class__:
            return NotImplemented
        return all(getattr(self, k) == getattr(other, k) for k in self.__slots__)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(" + ", ".join(
            f"{k}={getattr(self, k)!r}" for k in self.__slots__) + ")"


_ENDPOINT_FIELDS = ("network", "network_id", "container_id", "name", "ip", "prefixlen",
                    "gateway", "mac", "host_ifname", "ifname", "aliases", "netns_pid",
                    "pid_start")


class Endpoint(_Record):
    """A container's attachment to one network: one veth pair and one address.

    network       network name
    name          container name, resolvable by peers
    host_ifname   host side of the veth pair (on the bridge)
    ifname        name inside the container
    netns_pid     a process in the container's network namespace
    pid_start     its start time (/proc/<pid>/stat field 22): guards pid reuse
    """

    __slots__ = _ENDPOINT_FIELDS

    def __init__(self, network: str, network_id: str, container_id: str, name: str,
                 ip: str, prefixlen: int, gateway: str, mac: str, host_ifname: str,
                 ifname: str = "eth0", aliases: list[str] | None = None,
                 netns_pid: int = 0, pid_start: int = 0):
        self.network = network
        self.network_id = network_id
        self.container_id = container_id
        self.name = name
        self.ip = ip
        self.prefixlen = prefixlen
        self.gateway = gateway
        self.mac = mac
        self.host_ifname = host_ifname
        self.ifname = ifname
        self.aliases = [] if aliases is None else aliases
        self.netns_pid = netns_pid
        self.pid_start = pid_start

    def to_dict(self) -> dict:
        d = {k: getattr(self, k) for k in _ENDPOINT_FIELDS}
        d["aliases"] = list(self.aliases)  # a copy, as dataclasses.asdict made
        return d

    @classmethod
    def from_dict(cls, d: dict) -> "Endpoint":
        return cls(**{k: v for k, v in d.items() if k in _ENDPOINT_FIELDS})


_NETWORK_FIELDS = ("id", "name", "driver", "bridge", "pool", "internal", "labels",
                   "created", "default", "outbound", "endpoints", "options", "attachable")


class Network(_Record):
    """A bridge network: its bridge device, subnet, addresses and endpoints.

    default     the pre-defined "bridge" network
    outbound    masquerade set up (never by default)
    endpoints   container id → :class:`Endpoint`
    options     the driver options it was created with (Docker's ``Options``)
    attachable  Docker's ``Attachable`` flag, as asked (shown by inspect)
    """

    __slots__ = _NETWORK_FIELDS

    def __init__(self, id: str, name: str, driver: str, bridge: str, pool: AddressPool,
                 internal: bool = False, labels: dict[str, str] | None = None,
                 created: float = 0.0, default: bool = False, outbound: bool = False,
                 endpoints: dict[str, Endpoint] | None = None,
                 options: dict[str, str] | None = None, attachable: bool = False):
        self.id = id
        self.name = name
        self.driver = driver
        self.bridge = bridge
        self.pool = pool
        self.internal = internal
        self.labels = {} if labels is None else labels
        self.created = created
        self.default = default
        self.outbound = outbound
        self.endpoints = {} if endpoints is None else endpoints
        self.options = {} if options is None else options
        self.attachable = attachable

    @property
    def subnet(self) -> str:
        return self.pool.cidr

    @property
    def gateway(self) -> str:
        return self.pool.gateway_ip

    @property
    def prefixlen(self) -> int:
        return self.pool.prefixlen

    def to_dict(self) -> dict:
        d = {"id": self.id, "name": self.name, "driver": self.driver,
             "bridge": self.bridge, "ipam": self.pool.to_dict(),
             "internal": self.internal, "labels": dict(self.labels),
             "created": self.created, "default": self.default,
             "outbound": self.outbound,
             "endpoints": {cid: ep.to_dict() for cid, ep in self.endpoints.items()}}
        if self.options:        # written only when set: older records stay byte-identical
            d["options"] = dict(self.options)
        if self.attachable:
            d["attachable"] = True
        return d

    @classmethod
    def from_dict(cls, d: dict) -> "Network":
        return cls(id=d["id"], name=d["name"], driver=d.get("driver", "bridge"),
                   bridge=d["bridge"], pool=AddressPool.from_dict(d["ipam"]),
                   internal=bool(d.get("internal", False)),
                   labels=dict(d.get("labels", {})), created=float(d.get("created", 0)),
                   default=bool(d.get("default", False)),
                   outbound=bool(d.get("outbound", False)),
                   options=dict(d.get("options", {})),
                   attachable=bool(d.get("attachable", False)),
                   endpoints={cid: Endpoint.from_dict(e)
                              for cid, e in d.get("endpoints", {}).items()})


def atomic_write_json(path: str, data) -> None:
    """Network records are durable: a lost one would orphan a bridge or a veth."""
    write_json(path, data, durable=True, indent=1, sort_keys=True)


class NetworkStore:
    """The JSON files of one state root's networks."""

    def __init__(self, root: str):
        self.dir = os.path.join(root, "networks")
        self.proxy_dir = os.path.join(self.dir, "proxies")

    def lock(self):
        """Context manager: exclusive lock for a read-modify-write of the store."""
        return flocked(os.path.join(self.dir, ".lock"))

    # networks -------------------------------------------------------------
    def _path(self, net_id: str) -> str:
        return os.path.join(self.dir, f"{net_id}.json")

    def all(self) -> list[Network]:
        """Every network, oldest first."""
        try:
            names = os.listdir(self.dir)
        except FileNotFoundError:
            return []
        nets = []
        for n in names:
            if n.endswith(".json") and not n.startswith("."):
                try:
                    with open(os.path.join(self.dir, n)) as f:
                        nets.append(Network.from_dict(json.load(f)))
                except FileNotFoundError:
                    continue  # removed meanwhile
        nets.sort(key=lambda n: (not n.default, n.created, n.name))
        return nets

    def save(self, net: Network) -> None:
        os.makedirs(self.dir, exist_ok=True)
        atomic_write_json(self._path(net.id), net.to_dict())

    def delete(self, net: Network) -> None:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self._path(net.id))

    # proxies --------------------------------------------------------------
    def proxies(self) -> dict[str, list[dict]]:
        """container id → the proxy records (see ports.ProxyHandle.to_dict)."""
        out: dict[str, list[dict]] = {}
        try:
            names = os.listdir(self.proxy_dir)
        except FileNotFoundError:
            return out
        for n in names:
            if n.endswith(".json") and not n.startswith("."):
                try:
                    with open(os.path.join(self.proxy_dir, n)) as f:
                        out[n[:-5]] = json.load(f)
                except FileNotFoundError:
                    continue
        return out

    def save_proxies(self, container_id: str, records: list[dict]) -> None:
        os.makedirs(self.proxy_dir, exist_ok=True)
        atomic_write_json(os.path.join(self.proxy_dir, f"{container_id}.json"), records)

    def delete_proxies(self, container_id: str) -> None:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(os.path.join(self.proxy_dir, f"{container_id}.json"))
