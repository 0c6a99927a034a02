"""The process that becomes the container (seed a.1 and a.3; notebook 01).

A container is an ordinary process started in fresh namespaces, inside a
cgroup, with an overlay filesystem as its root. Three pieces do it:

* :mod:`.spec` — a pure description of what to start (argv, env, user,
  hostname, capabilities, mounts, limits), computed from the image config and
  the ``run`` flags, with no I/O.
* :mod:`.init` — the code that runs in the freshly forked child: unshare the
  namespaces, build the root filesystem, drop privileges, ``exec`` the command.
* :mod:`.shim` — the small monitor that stays the container's parent: it puts
  the child in its cgroup, copies its output to the log, records the exit
  status and the OOM kill, and cleans up. It outlives whoever started it.
* :mod:`.exec` — ``glassbox exec``: join a running container's namespaces
  and cgroup with ``setns`` and start one more process there.

Notebook: ``notebooks/en/01-namespaces.ipynb``
"""
