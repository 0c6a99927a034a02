"""Rootless glassbox: the same lab for an ordinary user (issue 14).

Run as a user who is not root, glassbox works *rootless* by itself, the way
podman and rootless Docker do:

* **Where things live** (:mod:`.paths`): the state root is
  ``$XDG_DATA_HOME/glassbox`` (``~/.local/share/glassbox``), runtime files
  (sockets) are in ``$XDG_RUNTIME_DIR/glassbox`` or a private ``0700``
  directory under ``/tmp``.
* **Who the container's root is** (:mod:`.idmap`, :mod:`.userns`): the shim
  first makes a *user namespace* and becomes its root. Root in there is *you*
  on the host — ``ps`` shows your uid. With subordinate ids
  (``/etc/subuid``, ``/etc/subgid``) mapped by the setuid helpers
  ``newuidmap``/``newgidmap`` the container has 65536 ids; without them a
  single-id map (only root exists inside).
  Every other namespace (pid, mount, uts, ipc, net, cgroup) is then created
  *by* that user namespace, which is what lets an ordinary user mount an
  overlay (``-o userxattr``, kernel ≥ 5.11), a fresh ``/proc`` and a tmpfs.
* **Whose files** (:mod:`.ownership`, :mod:`.cleanup`): image owners are
  kept through the id map; what containers of other ids made is removed from
  inside a user namespace with the same map.
* **What it may use** (:mod:`.cgroups`): cgroup limits need a subtree the user
  may write — a delegated one. Without it containers still run, and a limit is
  refused (exit 125) with the command that fixes it,
  ``glassbox system setup-user NAME`` (:mod:`.setup`, run once as root).
* **What is missing** (:mod:`.features`): ``glassbox info`` lists it.

The root path never comes here: :func:`is_rootless` is false for euid 0 —
except for the same machinery asked for on purpose: ``--userns=private``
(:mod:`.private`) gives a *rootful* container a user namespace whose root is
an unprivileged host uid, with the image layers idmapped rather than copied.

Notebook: ``notebooks/en/01-namespaces.ipynb`` (the user namespace).
"""

from __future__ import annotations

import os


def is_rootless() -> bool:
    """True when glassbox runs as an ordinary user (effective uid not 0)."""
    return os.geteuid() != 0
