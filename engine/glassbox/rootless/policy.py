"""What a rootless container may ask for, checked at ``create`` — before
anything is written, so a refusal (exit 125) leaves nothing behind.

* limits need a delegated cgroup (:mod:`.cgroups`);
* networking is ``--network none`` only for now: the container gets its own
  empty network namespace with loopback. Bridges, user networks and published
  ports need the per-user network namespace (a holder process, the way
  rootlesskit does) that is not written yet; ``--network host`` would need
  the host's ``/sys`` bound instead of a fresh sysfs;
* ``--device`` and ``--privileged`` need host device nodes bound in
  (``mknod`` is never allowed in a user namespace);
* and the user must be able to create a user namespace at all.
"""

from __future__ import annotations

from ..errors import InvalidArgument
from .cgroups import refuse


def check_create(opts, limits, net_mode: str, cgroup_parent: str | None) -> None:
    """Raise InvalidArgument for what a rootless container cannot have."""
    from .features import userns_available
    ok, problem = userns_available()        # a real try (fork + unshare), ~1 ms
    if not ok:
        raise InvalidArgument(f"rootless containers need a user namespace, and this user "
                              f"cannot create one: {problem}")
    refuse(limits, cgroup_parent)
    if net_mode != "none":
        raise InvalidArgument(
            f"--network {net_mode} is not available rootless yet: a rootless container gets "
            "its own empty network namespace (--network none, loopback only); bridge and user "
            "networks and published ports (-p) need the per-user network namespace "
            "(issue 14) or root")
    if getattr(opts, "devices", None) or getattr(opts, "device_cgroup_rules", None) or \
            opts.privileged:
        raise InvalidArgument("--device, --device-cgroup-rule and --privileged are not "
                              "available rootless: a user namespace may not make device "
                              "nodes; run as root")
