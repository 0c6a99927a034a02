"""Network records and their on-disk store under ``<root>/networks/``.

Layout::

    <root>/networks/.lock            flock: one writer at a time (CLIs, kernel, daemon)
    <root>/networks/<id>.json        one network: config, address pool, endpoints
    <root>/networks/proxies/<cid>.json   the port proxies running for a container

Every write is atomic (write a temp file in the same directory, fsync, rename), so
a crash at any point leaves the old record or the new one, never half of one.
Readers need no lock (they see a whole file); read-modify-write cycles hold
:meth:`NetworkStore.lock`.

The records are plain dataclasses (no I/O): :class:`Network` and :class:`Endpoint`.
"""

from __future__ import annotations

import contextlib
import json
import os
from dataclasses import asdict, dataclass, field

from .._files import locked as flocked  # noqa: F401  (used by the manager)
from .._files import write_json
from .ipam import AddressPool


@dataclass
class Endpoint:
    """A container's attachment to one network: one veth pair and one address."""

    network: str            # network name
    network_id: str
    container_id: str
    name: str               # container name, resolvable by peers
    ip: str
    prefixlen: int
    gateway: str
    mac: str
    host_ifname: str        # host side of the veth pair (on the bridge)
    ifname: str = "eth0"    # name inside the container
    aliases: list[str] = field(default_factory=list)
    netns_pid: int = 0      # a process in the container's network namespace
    pid_start: int = 0      # its start time (/proc/<pid>/stat field 22): guards pid reuse

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "Endpoint":
        known = cls.__dataclass_fields__.keys()
        return cls(**{k: v for k, v in d.items() if k in known})


@dataclass
class Network:
    """A bridge network: its bridge device, subnet, addresses and endpoints."""

    id: str
    name: str
    driver: str
    bridge: str
    pool: AddressPool
    internal: bool = False
    labels: dict[str, str] = field(default_factory=dict)
    created: float = 0.0
    default: bool = False                   # the pre-defined "bridge" network
    outbound: bool = False                  # masquerade set up (never by default)
    endpoints: dict[str, Endpoint] = field(default_factory=dict)  # container id → endpoint

    @property
    def subnet(self) -> str:
        return str(self.pool.subnet)

    @property
    def gateway(self) -> str:
        return str(self.pool.gateway)

    @property
    def prefixlen(self) -> int:
        return self.pool.subnet.prefixlen

    def to_dict(self) -> dict:
        return {"id": self.id, "name": self.name, "driver": self.driver,
                "bridge": self.bridge, "ipam": self.pool.to_dict(),
                "internal": self.internal, "labels": dict(self.labels),
                "created": self.created, "default": self.default,
                "outbound": self.outbound,
                "endpoints": {cid: ep.to_dict() for cid, ep in self.endpoints.items()}}

    @classmethod
    def from_dict(cls, d: dict) -> "Network":
        return cls(id=d["id"], name=d["name"], driver=d.get("driver", "bridge"),
                   bridge=d["bridge"], pool=AddressPool.from_dict(d["ipam"]),
                   internal=bool(d.get("internal", False)),
                   labels=dict(d.get("labels", {})), created=float(d.get("created", 0)),
                   default=bool(d.get("default", False)),
                   outbound=bool(d.get("outbound", False)),
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
