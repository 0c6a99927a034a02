"""Container networking: bridges, veth pairs, IPAM, names and published ports.

A *bridge network* is a virtual switch (a Linux bridge) on the host whose own
address is the gateway. Each container joins it through a *veth pair* — a
virtual cable whose one end is a bridge port and whose other end is ``eth0``
inside the container's network namespace. Containers on one bridge talk
directly; different bridges never route to each other (forwarding is off on
them), which is the isolation between networks. Everything is done through
rtnetlink — see :mod:`.netlink` for the picture: the start and exit paths of a
container with a few hand-built requests (:mod:`.rtnl`), the rest with pyroute2.

Modules
    :mod:`.ipam`     subnets without overlaps, addresses per network (pure)
    :mod:`.store`    Network/Endpoint records, JSON under ``<root>/networks/``
    :mod:`.netlink`  the kernel work through pyroute2 (bridges, dumps, cleanup)
    :mod:`.rtnl`     the start path's kernel work: veth + inside config, ~2 ms
    :mod:`.manager`  :class:`NetworkManager`, the API the runtime calls
    :mod:`.ports`    ``-p``/``-P`` parsing and the userland port proxy
    :mod:`.dns`      names via generated ``/etc/hosts`` (no DNS server), ``--add-host``
                     and ``host-gateway`` (the host, as the default bridge's gateway)
    :mod:`.links`    Docker's legacy ``--link`` environment variables (default bridge)

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

    * container stop / exit / rm: ``nm.release_container(cid)`` (idempotent; once
      the container's process is gone its veth pair is left to the kernel, which
      deletes it with the namespace);
    * ``glassbox system check``: ``nm.check()``.

Shown in the course notebook on networks.

Notebook: ``notebooks/en/10-networks.ipynb``
"""

_EXPORTS = {"AddressPool": "ipam", "Endpoint": "store", "Network": "store",
            "PortBinding": "ports", "ProxyHandle": "ports", "PublishedPort": "ports",
            "parse_expose": "ports", "parse_publish": "ports", "publish_all": "ports",
            "NetworkManager": "manager"}


def __getattr__(name):
    # lazy: `glassbox run` without a network must not pay for ipaddress/dataclasses;
    # pyroute2 (~200-400 ms) is imported only to create/remove networks or check
    if name in _EXPORTS:
        import importlib
        return getattr(importlib.import_module(f"{__name__}.{_EXPORTS[name]}"), name)
    raise AttributeError(name)
