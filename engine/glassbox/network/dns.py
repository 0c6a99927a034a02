"""Name resolution between containers: a generated ``/etc/hosts``, no DNS server.

Choice: Docker runs an embedded DNS server (127.0.0.11) on user-defined networks.
glassbox writes every peer's name into each container's ``/etc/hosts`` instead:

* nothing runs per network (no server to start, supervise or clean up), and the
  student can ``cat /etc/hosts`` and *see* how ``db`` resolves;
* the file is regenerated whenever a container joins or leaves the network
  (:meth:`NetworkManager.hosts_entries` gives the data, :func:`render_hosts`
  the text), so containers started earlier learn about later ones.

Limits: resolution is only as fresh as the last rewrite, and programs that cache
``/etc/hosts`` keep old answers; ``nslookup`` (which asks DNS) does not see the
names — ``getent hosts db`` / ``ping db`` / ``wget http://db`` do.
The default ``bridge`` network, as in Docker, does not resolve names.

``--add-host NAME:IP`` lines come first (:func:`check_add_host` keeps docker's
rules and messages); ``NAME:host-gateway`` names the host itself, as the default
bridge's gateway (:func:`host_gateway`), so a container reaches a server on the host
by a name without knowing the subnet: ``--add-host host.docker.internal:host-gateway``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..errors import InvalidArgument

if TYPE_CHECKING:
    from collections.abc import Iterable

LOOPBACK_LINES = (
    ("127.0.0.1", ["localhost"]),
    ("::1", ["localhost", "ip6-localhost", "ip6-loopback"]),
    ("fe00::0", ["ip6-localnet"]),
    ("ff00::0", ["ip6-mcastprefix"]),
    ("ff02::1", ["ip6-allnodes"]),
    ("ff02::2", ["ip6-allrouters"]),
)


HOST_GATEWAY = "host-gateway"
"""``--add-host NAME:host-gateway``: Docker's special value for "the host, as a
container reaches it" — replaced by the default ``bridge`` network's gateway
address (the host's own address on that bridge; dockerd's ``--host-gateway-ip``
defaults to it). Any container gets it, on any network or ``none``, as Docker
writes it: the name is in ``/etc/hosts`` even where the address is not reachable."""


def check_add_host(spec: str) -> tuple[str, str]:
    """``NAME:IP`` or ``NAME=IP`` (an IPv6 address may be in ``[...]``), or
    ``NAME:host-gateway`` → (name, address or ``host-gateway``); docker's
    ``ValidateExtraHost`` and its two messages (the docker CLI prefixes them with
    ``invalid argument "..." for "--add-host" flag``)."""
    import ipaddress
    s = str(spec).strip()
    sep = "=" if "=" in s else ":"
    name, ok, value = s.partition(sep)
    name, value = name.strip(), value.strip()
    if not ok or not name or ":" in name:
        raise InvalidArgument(f'invalid argument "{spec}" for "--add-host" flag: bad format '
                              f'for add-host: "{spec}" (expected NAME:IP, e.g. db:10.0.0.5, '
                              f"or NAME:{HOST_GATEWAY})")
    if value == HOST_GATEWAY:
        return name, value
    if len(value) > 2 and value[0] == "[" and value[-1] == "]":
        value = value[1:-1]
    try:
        ipaddress.ip_address(value)
    except ValueError:
        raise InvalidArgument(f'invalid argument "{spec}" for "--add-host" flag: invalid IP '
                              f'address in add-host: "{value}"') from None
    return name, value


def parse_add_host(spec: str, gateway: str | None = None) -> tuple[str, list[str]]:
    """``--add-host`` → an ``/etc/hosts`` entry (ip, [name]); ``host-gateway`` becomes
    ``gateway`` (:func:`host_gateway`), which must then be given."""
    name, value = check_add_host(spec)
    if value == HOST_GATEWAY:
        if not gateway:
            raise InvalidArgument(f"--add-host {spec}: unable to derive the IP value for "
                                  f"{HOST_GATEWAY}")
        value = gateway
    return value, [name]


def host_gateway(root: str) -> str:
    """The address ``host-gateway`` stands for on the state root ``root``: the
    default ``bridge`` network's gateway. The network (and its bridge, so the host
    really has that address) is made if it does not exist yet, as dockerd always
    has its ``docker0``; rootless, in the user's own network namespace, whose
    holder is let go again when nothing else uses it."""
    from ..errors import GlassboxError
    from .manager import NetworkManager
    nm = NetworkManager(root)
    try:
        return str(nm.ensure_default().gateway)
    except (GlassboxError, OSError) as e:
        raise InvalidArgument(f"unable to derive the IP value for {HOST_GATEWAY}: the "
                              f"default bridge network is not available ({e})") from None
    finally:
        from ..rootless.netns import host_root, stop_if_idle
        if not host_root():
            try:
                stop_if_idle(nm.root)
            except Exception:  # noqa: BLE001 — best effort: the holder stops with the next user
                pass


def resolve_add_hosts(root: str, specs: Iterable[str]) -> list[str]:
    """``--add-host`` values checked, with ``host-gateway`` replaced by its address
    (:func:`host_gateway`, asked only when one uses it): ``["name:ip", ...]``, what
    a container's spec keeps and its ``/etc/hosts`` shows. (``HostConfig.ExtraHosts``
    keeps the values as given, as Docker's ``inspect`` does.)"""
    out, gateway = [], None
    for spec in specs or ():
        name, value = check_add_host(spec)
        if value == HOST_GATEWAY:
            gateway = gateway or host_gateway(root)
            value = gateway
        out.append(f"{name}:{value}")
    return out


def render_hosts(hostname: str, own_ips: Iterable[str],
                 peers: Iterable[tuple[str, list[str]]] = (),
                 extra: Iterable[tuple[str, list[str]]] = ()) -> str:
    """The text of a container's ``/etc/hosts``.

    ``own_ips``: the container's addresses (its hostname resolves to them);
    ``peers``: :meth:`NetworkManager.hosts_entries` of its user networks (its own
    entry may be included, it is deduplicated); ``extra``: ``--add-host`` entries.
    """
    lines, seen = [], set()

    def add(ip: str, names: list[str]):
        names = [n for n in names if n]
        key = (ip, tuple(names))
        if names and key not in seen:
            seen.add(key)
            lines.append(f"{ip}\t{' '.join(names)}")

    for ip, names in LOOPBACK_LINES:
        add(ip, names)
    for ip, names in extra:
        add(ip, list(names))
    own = list(own_ips)
    for ip in own:
        add(ip, [hostname])
    for ip, names in peers:
        add(ip, list(names))
    return "\n".join(lines) + "\n"
