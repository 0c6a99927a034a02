"""Container networking: bridges, veth pairs, IPAM, names and published ports.

A *bridge network* is a virtual switch (a Linux bridge) on the host whose own
address is the gateway. Each container joins it through a *veth pair* — a
virtual cable whose one end is a bridge port and whose other end is ``eth0``
inside the container's network namespace. Containers on one bridge talk
directly; different bridges never route to each other (forwarding is off on
them), which is the isolation between networks. Everything is done through
rtnetlink with pyroute2 — see :mod:`.netlink` for the picture.

Modules
    :mod:`.ipam`     subnets without overlaps, addresses per network (pure)
    :mod:`.store`    Network/Endpoint records, JSON under ``<root>/networks/``
    :mod:`.netlink`  the kernel work (bridge, veth, configure inside the netns)
    :mod:`.manager`  :class:`NetworkManager`, the API the runtime calls
    :mod:`.ports`    ``-p``/``-P`` parsing and the userland port proxy
    :mod:`.dns`      names via generated ``/etc/hosts`` (no DNS server)

What the runtime calls, and when
    * container start, after the init process exists (its pid is in the new
      netns) and before the user command runs::

          nm = NetworkManager(root)
          if net == "bridge": nm.ensure_default()
          ep = nm.connect(net, cid, init_pid, name=name, aliases=aliases, ip=ip)
          handle = nm.publish(cid, bindings, ep.ip, watch_pid=init_pid)  # if -p/-P
          # write /etc/hosts: dns.render_hosts(hostname, [ep.ip],
          #     nm.hosts_entries(net) (user networks only), add_hosts)
          # and rewrite the hosts file of the other containers on that network

    * container stop / exit / rm: ``nm.release_container(cid)`` (idempotent);
    * ``glassbox system check``: ``nm.check()``.

Shown in the course notebook on networks.
"""

_EXPORTS = {"AddressPool": "ipam", "Endpoint": "store", "Network": "store",
            "PortBinding": "ports", "ProxyHandle": "ports", "PublishedPort": "ports",
            "parse_expose": "ports", "parse_publish": "ports", "publish_all": "ports",
            "NetworkManager": "manager"}


def __getattr__(name):
    # lazy: `glassbox run` without a network must not pay for ipaddress/dataclasses,
    # and the manager pulls in pyroute2 (~200 ms) only when a network is wired
    if name in _EXPORTS:
        import importlib
        return getattr(importlib.import_module(f"{__name__}.{_EXPORTS[name]}"), name)
    raise AttributeError(name)
