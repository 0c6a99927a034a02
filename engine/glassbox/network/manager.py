"""NetworkManager: bridge networks, container endpoints, published ports, cleanup.

The one object the runtime/engine talks to. It knows nothing about containers
beyond an id, a name and *a pid inside the container's network namespace*::

    nm = NetworkManager(root)
    net = nm.ensure_default()                       # "bridge" on gbx0, 172.17.0.0/16
    ep = nm.connect("labnet", cid, pid, name="db", aliases=["database"])
    px = nm.publish(cid, parse_publish("127.0.0.1:8080:80"), ep.ip, watch_pid=pid)
    nm.hosts_entries("labnet")                     # → [("172.18.0.2", ["db", ...])]
    nm.release_container(cid)                       # stop/rm: veths, IPs, proxies
    nm.check()                                      # after a crash: remove leftovers

Bridges are created **eagerly** by :meth:`create` (as Docker does): the subnet
then shows up in the host's routes at once, so a second engine root, Docker, or
a VPN choosing a subnet later sees it taken. A bridge that vanished (reboot) is
recreated on the next :meth:`connect`.

Concurrency: every read-modify-write holds ``<root>/networks/.lock``; choosing a
subnet additionally holds a host-wide lock (``/run/glassbox/network.lock``) so
two roots never pick the same free subnet at the same moment.

The container start and exit paths (:meth:`connect`, :meth:`release_container`,
:meth:`ensure_default` when the bridge exists) speak rtnetlink through the small
hand-built :mod:`.rtnl` client and never import pyroute2; creating and removing
networks and :meth:`check` use pyroute2 (:mod:`.netlink`).
"""

from __future__ import annotations

import os
import re
import sys
import time
from collections.abc import Iterable
from typing import TYPE_CHECKING

from .. import processes
from ..containers.names import new_id
from ..errors import Conflict, Forbidden, InvalidArgument, NotFound
from ..rootless.netns import host_root, in_holder
from . import ipam, netlink, rtnl
from .netlink import off_loop

if TYPE_CHECKING:
    from .ports import PortBinding, ProxyHandle
from .store import Endpoint, Network, NetworkStore, flocked

# .ports (PortBinding, ProxyHandle in the annotations below) is imported only when
# ports are published or stopped: the start path of most containers never needs it
DEFAULT_ROOT = "/var/lib/glassbox"
DEFAULT_NETWORK = "bridge"
RESERVED_NAMES = ("bridge", "host", "none", "default")
HOST_LOCK = "/run/glassbox/network.lock"
_NAME_RE = re.compile(r"^[a-zA-Z0-9][a-zA-Z0-9_.-]*$")


# SHA-256 from the interpreter's own module: importing hashlib loads OpenSSL
# (~4 ms on every CLI start with a network). Resolved once, here: a failing import
# is not cached and would search sys.path again on every call.
try:
    if sys.version_info >= (3, 12):
        from _sha2 import sha256 as _sha256
    else:
        from _sha256 import sha256 as _sha256
except ImportError:  # pragma: no cover — a build without them
    from hashlib import sha256 as _sha256


def sha256_hex(text: str) -> str:
    return _sha256(text.encode()).hexdigest()


def default_bridge_name(root: str) -> str:
    """``gbx0`` for the default root; ``gbx0-<6 hex>`` for any other root (tests)."""
    root = os.path.abspath(root)
    if root == DEFAULT_ROOT:
        return "gbx0"
    return "gbx0-" + sha256_hex(root)[:6]


def remove_root_bridges(root: str) -> None:
    """Delete the host bridges of the state root ``root``: its default bridge (made at
    the first networked start — a ``run`` on the bridge, a build's RUN — and kept while
    the root lives, as Docker keeps docker0) and the bridge of every network recorded in
    it. For a root that is going away (a test's or a bench's tmp root): its bridges must
    go with it. Only links glassbox made are touched (:func:`.netlink.ours`)."""
    names = {default_bridge_name(root)}
    try:
        names |= {n.bridge for n in NetworkManager(root).list() if n.bridge}
    except Exception:  # noqa: BLE001 — a root whose store is gone or unreadable
        pass
    with netlink.host_ipr() as ipr:
        for name in sorted(names):
            if netlink.ours(name):        # delete_link: a missing link is no error
                netlink.delete_link(ipr, name)


def predefined_id(root: str, name: str) -> str:
    """The id of a pre-defined network (``bridge``, ``host``, ``none``) of a root.

    Stable (derived from the root and the name) so ``network ls`` shows the same
    id before and after the default bridge is first created.
    """
    return sha256_hex(f"glassbox:{os.path.abspath(root)}:{name}")


# Docker's bridge driver options that say what a glassbox bridge is (no NAT, containers
# on one bridge talk to each other, the kernel's default MTU); anything else would be
# an option glassbox ignores, so it is refused (see :func:`bridge_options`)
BRIDGE_OPTIONS = {"com.docker.network.bridge.enable_icc": ("true",),
                  "com.docker.network.bridge.enable_ip_masquerade": ("false",),
                  "com.docker.network.driver.mtu": ("1500",)}
OVERLAP_MESSAGE = "Pool overlaps with other one on this address space"


def bridge_options(options: dict | None) -> dict[str, str]:
    """Validate a network's driver options (``-o``, ``Options``); return them as text.

    Only the values that describe what glassbox builds are accepted: a request for
    NAT, another MTU or an unknown option is refused, never stored and ignored.
    """
    out: dict[str, str] = {}
    for key, value in (options or {}).items():
        value = str(value).lower() if isinstance(value, bool) else str(value)
        allowed = BRIDGE_OPTIONS.get(str(key))
        if allowed is None:
            raise InvalidArgument(f"network driver option {key!r} is not supported by glassbox "
                                  f"(supported: {', '.join(f'{k}={v[0]}' for k, v in BRIDGE_OPTIONS.items())})")
        if value not in allowed:
            raise InvalidArgument(f"network driver option {key}={value}: glassbox bridges "
                                  f"only have {key}={allowed[0]}")
        out[str(key)] = value
    return out


def validate_name(name: str) -> str:
    if not isinstance(name, str) or not _NAME_RE.match(name) or len(name) > 128:
        raise InvalidArgument(f"invalid network name {name!r}: use letters, digits and "
                              f"'_.-', starting with a letter or digit")
    return name


class NetworkManager:
    """Bridge networks of one state root (``<root>/networks/``)."""

    def __init__(self, root: str, *, host_lock: str = HOST_LOCK,
                 proc_sys: str = "/proc/sys"):
        self.root = os.path.abspath(root)
        self.store = NetworkStore(self.root)
        self.tag = sha256_hex(self.root)[:10]
        self.default_bridge = default_bridge_name(self.root)
        if host_lock == HOST_LOCK and not host_root():
            # rootless (also the shim inside the per-user netns, uid 0 there): the
            # subnets of this root's own namespace are chosen under this root's lock
            host_lock = os.path.join(self.root, "networks", ".host.lock")
        self.host_lock = host_lock
        self.proc_sys = proc_sys

    # ------------------------------------------------------------------ naming
    def _alias(self, kind: str, *parts: str) -> str:
        """The ifalias stamped on our devices: which root owns them, and what they are."""
        return ":".join(["glassbox", self.tag, kind, *parts])

    def _owned(self, alias: str | None) -> bool:
        return bool(alias) and alias.startswith(f"glassbox:{self.tag}:")

    # ------------------------------------------------------------------ lookup
    def _find(self, nets: list[Network], name_or_id: str) -> Network:
        if isinstance(name_or_id, Network):
            name_or_id = name_or_id.id
        for n in nets:
            if n.name == name_or_id or n.id == name_or_id:
                return n
        matches = [n for n in nets if name_or_id and n.id.startswith(name_or_id)]
        if len(matches) == 1:
            return matches[0]
        if len(matches) > 1:
            raise Conflict(f"network id prefix {name_or_id!r} is ambiguous: "
                           f"{', '.join(n.name for n in matches)}; give more characters")
        raise NotFound(f"network {name_or_id!r} not found (see `glassbox network ls`)")

    def list(self) -> list[Network]:
        """All networks of this root, the default one first."""
        return self.store.all()

    def inspect(self, name_or_id: str) -> Network:
        """A network by name, id or unique id prefix (NotFound otherwise)."""
        return self._find(self.store.all(), name_or_id)

    # ----------------------------------------------------------------- creation
    def _taken(self, ipr, nets: list[Network]) -> list[ipam.IPv4Network]:
        return [n.pool.subnet for n in nets] + netlink.host_networks(ipr)

    def _new_id(self, ipr) -> str:
        while True:
            nid = new_id()
            if netlink.link_index(ipr, "gbx-" + nid[:8]) is None:
                return nid

    def _bridge_index(self, nl: rtnl.Rtnl, net: Network) -> int | None:
        """The index of the network's bridge (one RTM_GETLINK), None if missing."""
        link = nl.get_link(net.bridge)
        if link is None:
            return None
        if link["alias"] and not self._owned(link["alias"]):
            raise Conflict(f"bridge {net.bridge} exists but belongs to another "
                           f"glassbox root ({link['alias']}); remove it or use "
                           f"another GLASSBOX_ROOT")
        return link["index"]

    def _ensure_bridge(self, ipr, net: Network, nl: rtnl.Rtnl | None = None) -> int:
        """The bridge's index, creating the bridge if it is missing.

        ``ipr`` None: open a pyroute2 socket only if the bridge must be created
        (the start path: a bridge that exists costs one hand-built request).
        """
        if nl is None:
            with rtnl.Rtnl() as own:
                idx = self._bridge_index(own, net)
        else:
            idx = self._bridge_index(nl, net)
        if idx is not None:
            return idx
        if ipr is None:
            with netlink.host_ipr() as ipr:
                return self._create_bridge(ipr, net)
        return self._create_bridge(ipr, net)

    def _create_bridge(self, ipr, net: Network) -> int:
        idx = netlink.create_bridge(ipr, net.bridge, net.gateway, net.prefixlen,
                                    self._alias("net", net.id[:12]),
                                    mac=ipam.mac_for_ip(net.gateway))
        try:
            # a bridge that never routes keeps its network isolated from others
            netlink.set_forwarding(net.bridge, net.outbound, self.proc_sys)
        except Exception:
            netlink.delete_link(ipr, net.bridge)
            raise
        return idx

    @off_loop
    @in_holder()
    def ensure_default(self) -> Network:
        """The pre-defined ``bridge`` network (created on first use), bridge up."""
        # the common case, on every `run`: the record and its bridge exist
        for n in self.store.all():
            if n.default:
                with rtnl.Rtnl() as nl:
                    if self._bridge_index(nl, n) is not None:
                        return n
                break
        with flocked(self.host_lock), self.store.lock(), netlink.host_ipr() as ipr:
            nets = self.store.all()
            for n in nets:
                if n.default:
                    self._ensure_bridge(ipr, n)
                    return n
            subnet = ipam.choose_subnet(self._taken(ipr, nets), exclude_default=False)
            net = Network(id=predefined_id(self.root, DEFAULT_NETWORK), name=DEFAULT_NETWORK,
                          driver="bridge",
                          bridge=self.default_bridge,
                          pool=ipam.AddressPool(subnet, subnet.network_address + 1),
                          created=time.time(), default=True)
            return self._create_locked(ipr, net)

    def _create_locked(self, ipr, net: Network) -> Network:
        self.store.save(net)  # record first: a crash leaves a record, never a stray bridge
        try:
            self._ensure_bridge(ipr, net)
        except BaseException:
            self.store.delete(net)
            raise
        return net

    @off_loop
    @in_holder()
    def create(self, name: str, *, subnet: str | None = None, gateway: str | None = None,
               driver: str = "bridge", internal: bool = False,
               labels: dict[str, str] | None = None, ip_range: str | None = None,
               options: dict[str, str] | None = None, attachable: bool = False) -> Network:
        """A user-defined bridge network; its bridge ``gbx-<id[:8]>`` is created now.

        ``ip_range``: the part of the subnet automatic addresses come from.
        ``options``: driver options (see :func:`bridge_options`).
        Conflict: the name exists (or is reserved). InvalidArgument: bad name,
        driver, subnet, gateway, range or option, or a subnet overlapping another
        network or a route/address of the host (Docker's "Pool overlaps" message).
        """
        validate_name(name)
        if driver != "bridge":
            raise InvalidArgument(f"network driver {driver!r} is not supported: only "
                                  f"'bridge' (use --network host|none on `run` for those)")
        if name in RESERVED_NAMES:
            raise Conflict(f"network name {name!r} is reserved for a pre-defined network")
        want = ipam.parse_subnet(subnet) if subnet else None
        if want is None and gateway:
            raise InvalidArgument("--gateway needs --subnet")
        gw = ipam.parse_gateway(gateway, want) if want else None
        if ip_range and want is None:
            raise InvalidArgument("--ip-range needs --subnet")
        rng = ipam.parse_ip_range(ip_range, want) if want else None
        opts = bridge_options(options)
        with flocked(self.host_lock), self.store.lock(), netlink.host_ipr() as ipr:
            nets = self.store.all()
            if any(n.name == name for n in nets):
                raise Conflict(f"network with name {name!r} already exists: pick another "
                               f"name or remove it first (`glassbox network rm {name}`)")
            if want is not None:
                for n in nets:
                    if want.overlaps(n.pool.subnet):
                        raise Forbidden(f"{OVERLAP_MESSAGE}: subnet {want} overlaps "
                                              f"network {n.name!r} ({n.subnet}); choose a "
                                              f"disjoint subnet")
                clash = ipam.overlaps(want, netlink.host_networks(ipr))
                if clash is not None:
                    raise Forbidden(f"{OVERLAP_MESSAGE}: subnet {want} overlaps {clash}, "
                                          f"which this host already routes (see `ip route`); "
                                          f"choose another subnet")
                pool = ipam.AddressPool(want, gw, ip_range=rng)
            else:
                sub = ipam.choose_subnet(self._taken(ipr, nets))
                pool = ipam.AddressPool(sub, sub.network_address + 1)
            nid = self._new_id(ipr)
            net = Network(id=nid, name=name, driver=driver, bridge="gbx-" + nid[:8],
                          pool=pool, internal=bool(internal), labels=dict(labels or {}),
                          created=time.time(), options=opts, attachable=bool(attachable))
            return self._create_locked(ipr, net)

    # ------------------------------------------------------------------ removal
    def _reap_stale(self, nl: rtnl.Rtnl, net: Network) -> list[str]:
        """Tear down endpoints whose container process is gone; their ids."""
        gone = [cid for cid, ep in net.endpoints.items()
                if not processes.alive(ep.netns_pid, ep.pid_start)]
        for cid in gone:
            self._teardown(nl, net, net.endpoints[cid])
        return gone

    def _teardown(self, nl: rtnl.Rtnl, net: Network, ep: Endpoint, *,
                  kernel_deletes: bool = False) -> None:
        """Forget an endpoint: its address back to the pool, its veth pair gone.

        Deleting one end deletes the pair — but the kernel makes the deleter wait
        for RCU grace periods (~25 ms). ``kernel_deletes``: the container's
        process is gone, so its namespace is being destroyed and the kernel
        deletes the pair with it (in its own worker, ~30 ms later). Then the host
        end is only set down (~0.1 ms): a bridge port that is down forwards
        nothing and the bridge forgets the MACs learnt on it, so the address (and
        the MAC derived from it) can be handed out again at once. Should
        something else keep the namespace alive, the down veth stays until
        :meth:`check` or :meth:`remove` deletes it (its alias names its network).
        """
        if kernel_deletes:
            nl.set_down(ep.host_ifname)
        else:
            nl.delete_link(ep.host_ifname)
        net.pool.release(ep.ip)
        net.endpoints.pop(ep.container_id, None)

    def _remove_locked(self, ipr, nl: rtnl.Rtnl, net: Network) -> None:
        if self._reap_stale(nl, net):
            self.store.save(net)
        if net.endpoints:
            who = ", ".join(ep.name or cid[:12] for cid, ep in net.endpoints.items())
            raise Conflict(f"network {net.name!r} has active endpoints ({who}): stop or "
                           f"disconnect those containers first")
        # veths of released endpoints whose namespace something else keeps alive
        # (deleting a bridge does not delete its ports)
        mine = self._alias("ep", net.id[:12]) + ":"
        for link in netlink.links(ipr):
            if link["kind"] == "veth" and netlink.ours(link["ifname"] or "") and \
                    (link["alias"] or "").startswith(mine):
                nl.delete_link(link["ifname"])
        link = netlink.get_link(ipr, net.bridge)
        if link is not None and (not link["alias"] or self._owned(link["alias"])):
            netlink.delete_link(ipr, net.bridge)
        self.store.delete(net)

    @off_loop
    @in_holder(idle_after=True)
    def remove(self, name_or_id: str) -> None:
        """Remove a network and its bridge. Conflict while containers are attached."""
        with self.store.lock(), netlink.host_ipr() as ipr, rtnl.Rtnl() as nl:
            net = self._find(self.store.all(), name_or_id)
            if net.default:
                raise Conflict(f"{net.name} is a pre-defined network and cannot be removed")
            self._remove_locked(ipr, nl, net)

    @off_loop
    @in_holder(idle_after=True)
    def prune(self) -> list[str]:
        """Remove every user network without live endpoints; their names."""
        removed = []
        with self.store.lock(), netlink.host_ipr() as ipr, rtnl.Rtnl() as nl:
            for net in self.store.all():
                if net.default:
                    continue
                try:
                    self._remove_locked(ipr, nl, net)
                except Conflict:
                    continue
                removed.append(net.name)
        return removed

    # ---------------------------------------------------------------- endpoints
    @off_loop
    @in_holder()
    def connect(self, network: str, container_id: str, netns_pid: int, *, name: str = "",
                aliases: Iterable[str] = (), ip: str | None = None,
                ifname: str | None = None, mac: str | None = None) -> Endpoint:
        """Attach the netns of ``netns_pid`` to ``network``: veth, address, route.

        ``ifname`` None picks the lowest free ``ethN`` inside (``eth0`` first).
        ``mac`` None derives the container end's MAC from its address
        (:func:`.ipam.mac_for_ip`); a chosen one (``--mac-address``) must not be
        another endpoint's on this network.
        The default route goes via this network's gateway unless the container
        already has one (or the network is ``internal``).
        """
        if not container_id:
            raise InvalidArgument("connect needs a container id")
        if ifname is not None and not re.match(r"^[a-zA-Z0-9_.-]{1,15}$", ifname):
            raise InvalidArgument(f"invalid interface name {ifname!r}")
        with self.store.lock(), rtnl.Rtnl() as host:
            net = self._find(self.store.all(), network)
            old = net.endpoints.get(container_id)
            if old is not None:
                if processes.alive(old.netns_pid, old.pid_start):
                    raise Conflict(f"container {name or container_id[:12]} is already "
                                   f"connected to network {net.name!r}")
                self._teardown(host, net, old)
                self.store.save(net)
            nsfd = netlink.open_netns(netns_pid)
            try:
                with rtnl.Rtnl(rtnl.socket_in_netns(nsfd)) as inside:
                    return self._connect_locked(host, inside, net, nsfd, container_id,
                                                netns_pid, name, list(aliases), ip, ifname,
                                                mac)
            finally:
                os.close(nsfd)

    def _connect_locked(self, host: rtnl.Rtnl, inside: rtnl.Rtnl, net: Network, nsfd: int,
                        cid: str, pid: int, name: str, aliases: list[str], ip: str | None,
                        ifname: str | None, mac: str | None = None) -> Endpoint:
        if mac is not None:
            from .attach import check_mac
            mac = check_mac(mac)
            other = next((e for e in net.endpoints.values() if e.mac == mac), None)
            if other is not None:
                raise Conflict(f"MAC address {mac} is already used by "
                               f"{other.name or other.container_id[:12]} on network {net.name}")
        if ifname is None:
            ifname = rtnl.free_ifname(inside)
        elif inside.get_link(ifname) is not None:
            raise Conflict(f"the container already has an interface named {ifname}")
        addr = net.pool.allocate(cid, ip)
        host_ifname = netlink.VETH_PREFIX + os.urandom(4).hex()
        ep = Endpoint(network=net.name, network_id=net.id, container_id=cid,
                      name=name, ip=str(addr), prefixlen=net.prefixlen,
                      gateway="" if net.internal else net.gateway,
                      mac=mac or ipam.mac_for_ip(addr), host_ifname=host_ifname,
                      ifname=ifname, aliases=[a for a in aliases if a],
                      netns_pid=pid, pid_start=processes.start_time(pid) or 0)
        net.endpoints[cid] = ep
        self.store.save(net)  # recorded before the veth exists: check() can undo it
        try:
            br = self._ensure_bridge(None, net, host)
            rtnl.create_veth(host, host_ifname, ifname, peer_nsfd=nsfd, peer_mac=ep.mac,
                             master=br, alias=self._alias("ep", net.id[:12], cid[:12]))
            rtnl.configure_inside(inside, ifname, ep.ip, ep.prefixlen, ep.gateway or None)
        except BaseException:
            self._teardown(host, net, ep)
            # the peer may exist inside without its host end if creation raced
            inside.delete_link(ifname)
            self.store.save(net)
            raise
        return ep

    @off_loop
    @in_holder(idle_after=True)
    def disconnect(self, network: str, container_id: str) -> None:
        """Detach a container: delete its veth pair, release its address."""
        with self.store.lock(), rtnl.Rtnl() as nl:
            net = self._find(self.store.all(), network)
            ep = net.endpoints.get(container_id)
            if ep is None:
                raise NotFound(f"container {container_id[:12]} is not connected to "
                               f"network {net.name!r}")
            self._teardown(nl, net, ep)
            self.store.save(net)

    @off_loop
    @in_holder(idle_after=True)
    def release_container(self, container_id: str) -> list[str]:
        """Everything of a container: endpoints on all networks, port proxies.

        For stop/rm/exit. Idempotent, and fine when the netns is already gone.
        When the container's process has exited, its veth pairs are left to the
        kernel (see :meth:`_teardown`); returns the names of the networks it left.
        """
        left = []
        with self.store.lock(), rtnl.Rtnl() as nl:
            for net in self.store.all():
                ep = net.endpoints.get(container_id)
                if ep is not None:
                    dead = not processes.alive(ep.netns_pid, ep.pid_start)
                    self._teardown(nl, net, ep, kernel_deletes=dead)
                    self.store.save(net)
                    left.append(net.name)
            self._unpublish_locked(container_id)
        return left

    def endpoints(self, container_id: str) -> list[Endpoint]:
        """The container's endpoints on every network."""
        return [n.endpoints[container_id] for n in self.store.all()
                if container_id in n.endpoints]

    def hosts_entries(self, network: str) -> list[tuple[str, list[str]]]:
        """(ip, [name, aliases..., short id]) of every container on ``network``.

        The data for the containers' ``/etc/hosts`` (see :mod:`.dns`). The runtime
        rewrites the hosts file of each peer when one joins or leaves.
        """
        net = self.inspect(network)
        out = []
        for cid, ep in sorted(net.endpoints.items(), key=lambda kv: ipam.ip_to_int(kv[1].ip)):
            names = []
            for n in [ep.name, *ep.aliases, cid[:12]]:
                if n and n not in names:
                    names.append(n)
            out.append((ep.ip, names))
        return out

    # ------------------------------------------------------------------- ports
    def publish(self, container_id: str, bindings: Iterable[PortBinding],
                container_ip: str, *, watch_pid: int = 0, bound=None) -> ProxyHandle:
        """Start a proxy for ``bindings`` to ``container_ip`` and record it.

        Conflict when a host port is taken (nothing is left running then).
        :meth:`release_container` stops it.
        """
        from .ports import start_proxy, stop_proxy
        handle = start_proxy(list(bindings), container_ip, container_id=container_id,
                             watch_pid=watch_pid, owner=f"glassbox:{self.tag}", bound=bound)
        try:
            with self.store.lock():
                records = self.store.proxies().get(container_id, [])
                records.append(handle.to_dict())
                self.store.save_proxies(container_id, records)
        except BaseException:
            stop_proxy(handle)
            raise
        return handle

    def published(self, container_id: str) -> list[ProxyHandle]:
        """The container's proxies (for ``glassbox port``)."""
        from .ports import ProxyHandle
        return [ProxyHandle.from_dict(d)
                for d in self.store.proxies().get(container_id, [])]

    def _unpublish_locked(self, container_id: str) -> list[int]:
        stopped = []
        records = self.store.proxies().get(container_id, [])
        if records:
            from .ports import stop_proxy
        for rec in records:
            if stop_proxy(rec):
                stopped.append(int(rec["pid"]))
        self.store.delete_proxies(container_id)
        return stopped

    def unpublish(self, container_id: str) -> list[int]:
        """Stop the container's proxies; the pids that were stopped."""
        with self.store.lock():
            return self._unpublish_locked(container_id)

    # ------------------------------------------------------------------ repair
    @off_loop
    @in_holder(idle_after=True)
    def check(self) -> dict:
        """Find and remove what a crashed engine left behind; a report of what went.

        * endpoints whose container process is gone (veth deleted, address released),
        * our devices (``gbx*`` named *and* stamped with this root's alias) that no
          record knows — devices of other roots are never touched,
        * port proxies of containers that have no live endpoint any more.
        """
        report: dict[str, list] = {"endpoints": [], "links": [], "proxies": []}
        with self.store.lock(), netlink.host_ipr() as ipr, rtnl.Rtnl() as nl:
            nets = self.store.all()
            for net in nets:
                gone = self._reap_stale(nl, net)
                if gone:
                    self.store.save(net)
                    report["endpoints"] += [f"{net.name}/{cid[:12]}" for cid in gone]
            known = {n.bridge for n in nets}
            known |= {ep.host_ifname for n in nets for ep in n.endpoints.values()}
            links = netlink.links(ipr)
            # veths first: deleting a bridge does not delete its ports
            for link in sorted(links, key=lambda lk: lk["kind"] == "bridge"):
                name = link["ifname"]
                if netlink.ours(name) and self._owned(link["alias"]) and name not in known:
                    if nl.delete_link(name):
                        report["links"].append(name)
            live = {cid for n in nets for cid in n.endpoints}
            for cid in list(self.store.proxies()):
                if cid not in live:
                    report["proxies"] += self._unpublish_locked(cid)
        return report
