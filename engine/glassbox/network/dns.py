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


def parse_add_host(spec: str) -> tuple[str, list[str]]:
    """``--add-host name:ip`` (or ``name=ip``) → (ip, [name])."""
    import ipaddress
    s = str(spec).strip()
    sep = "=" if "=" in s else ":"
    name, _, ip = s.partition(sep)
    name, ip = name.strip(), ip.strip().strip("[]")
    if not name or not ip:
        raise InvalidArgument(f"invalid --add-host {spec!r}: expected name:ip, e.g. "
                              f"db:10.0.0.5")
    try:
        ipaddress.ip_address(ip)
    except ValueError:
        raise InvalidArgument(f"invalid --add-host {spec!r}: {ip!r} is not an IP "
                              f"address") from None
    return ip, [name]


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
