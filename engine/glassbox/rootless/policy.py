"""What a rootless container may ask for, checked at ``create`` — before
anything is written, so a refusal (exit 125) leaves nothing behind.

* limits need a delegated cgroup (:mod:`.cgroups`);
* networks: ``none`` (its own empty network namespace with loopback), the
  ``bridge`` network and user networks — their bridges live in the user's own
  network namespace, kept by a holder process (:mod:`.netns`, as rootlesskit
  does). Not ``--network host`` (the host's network namespace is root's) nor
  ``container:NAME`` (each such container would need the other's user
  namespace). Published host ports must be ones an ordinary user may bind:
  at or above ``net.ipv4.ip_unprivileged_port_start`` (1024 by default);
* ``--device`` and ``--privileged`` need host device nodes bound in
  (``mknod`` is never allowed in a user namespace);
* and the user must be able to create a user namespace at all.
"""

from __future__ import annotations

from ..errors import InvalidArgument
from .cgroups import refuse


def check_create(opts, limits, net_mode: str, cgroup_parent: str | None,
                 publish=()) -> None:
    """Raise InvalidArgument for what a rootless container cannot have.
    ``publish``: the parsed ``-p`` bindings (:class:`~glassbox.network.ports.PortBinding`)."""
    from .features import userns_available
    ok, problem = userns_available()        # a real try (fork + unshare), ~1 ms
    if not ok:
        raise InvalidArgument(f"rootless containers need a user namespace, and this user "
                              f"cannot create one: {problem}")
    refuse(limits, cgroup_parent)
    if net_mode == "host" or net_mode.startswith("container:"):
        shown = "container:NAME" if net_mode.startswith("container:") else net_mode
        raise InvalidArgument(
            f"--network {shown} is not available rootless: "
            + ("the host's network namespace belongs to root" if net_mode == "host" else
               "the other container's network namespace belongs to its own user namespace")
            + "; use --network bridge or a user network (they live in your own network "
            "namespace) or --network none")
    if publish:
        from .netns import unprivileged_port_start
        low = unprivileged_port_start()
        for b in publish:
            if b.host_port and b.host_port < low:
                raise InvalidArgument(
                    f"-p: host port {b.host_port} is below net.ipv4.ip_unprivileged_port_"
                    f"start ({low}): an ordinary user may not bind it; publish on a host "
                    f"port of {low} or above (-p {low + b.host_port}:{b.container_port})")
    if getattr(opts, "devices", None) or getattr(opts, "device_cgroup_rules", None) or \
            opts.privileged:
        raise InvalidArgument("--device, --device-cgroup-rule and --privileged are not "
                              "available rootless: a user namespace may not make device "
                              "nodes; run as root")
