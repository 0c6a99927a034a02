"""Bind propagation: which mount events cross between the host and the container.

Every mount belongs to a *peer group* (``shared:N`` in ``/proc/self/mountinfo``),
follows one as a *slave* (``master:N``), or is *private* (neither). A mount made
on one peer appears on all its peers; one made on a master appears on its
slaves, never the other way round. ``unshare(CLONE_NEWNS)`` copies the host's
mount table with every shared mount a peer of the host's original — so the
first thing the container's child does is cut that link:

* **default** (``rprivate``): ``mount(MS_REC|MS_PRIVATE)`` on ``/``
  (:func:`.pivot.make_private`); nothing crosses either way.
* **(r)slave** binds, or any **(r)shared** one: ``MS_REC|MS_SLAVE`` on ``/``
  instead. Host events keep arriving (a disk mounted under ``/src`` later shows
  up under ``/dst``), nothing flows back, and every bind is then given its own
  mode (:data:`PROPAGATION_FLAGS`; the default rprivate too, explicitly).
* **(r)shared** binds reach back to the host, as Docker's do::

      glassbox run --privileged -v /src:/dst:rshared busybox mount -t tmpfs none /dst/sub
      # ... and /src/sub is a tmpfs on the host

  A bind made *after* the namespace is made rslave would be a slave too, so
  :func:`clone_shared_sources` takes each such source first, right after the
  unshare, with ``open_tree(OPEN_TREE_CLONE|AT_RECURSIVE)``: a detached copy of
  the mount, and a copy of a shared mount *joins its peer group*. The
  ``MS_REC|MS_SLAVE`` on ``/`` does not reach a detached tree, so the copy stays
  a peer of the host's mount while everything else (the overlay at the rootfs,
  /proc, /dev...) stays out of the host's sight. :func:`attach_clone` then puts
  it at its destination with ``move_mount(MOVE_MOUNT_F_EMPTY_PATH)`` once the
  overlay is up. ``pivot_root`` stays legal: the new root, its parent and the
  old root are not shared — only a mount *below* the new root is.

Docker's rules, kept (:func:`check_source`): a ``(r)shared`` bind needs its
source on a shared mount and a ``(r)slave`` one on a shared or slave mount, or
the run is refused before anything is made (``path /src is mounted on / but it
is not a shared mount``; ``mount --make-shared`` fixes it). Checked at create,
and again at every start for the rshared sources about to be cloned: the host
may have made the mount private since, and a clone of a private mount would
share nothing.
Only a container that may mount — ``--privileged`` or ``--cap-add SYS_ADMIN`` —
can make a mount that then reaches the host. A mount glassbox itself places
*under* an rshared bind (``-v /b:/dst/y`` next to ``-v /a:/dst:rshared``)
propagates to the host too, and stays there after the container is gone, as
with Docker; so do the container's own mounts there.

**User namespaces.** A rootless container's mount namespace belongs to its user
namespace, and the kernel turns every shared mount it copies into that less
privileged namespace into a slave (so a user cannot mount on the host through
it): the clone is a slave of the host's mount, host mounts under the source
still appear inside, and what the container mounts stays inside. With
``--userns=private`` the clone is a real peer (host root builds the namespace),
but container root is root of a *child* user namespace and may not mount in
it at all: again only the host → container direction is left.
"""

from __future__ import annotations

import os

from .._sys.constants import (AT_RECURSIVE, MS_PRIVATE, MS_REC, MS_SHARED, MS_SLAVE,
                              OPEN_TREE_CLOEXEC, OPEN_TREE_CLONE)
from ..errors import InvalidArgument
from ..runtime.spec import Mount, ProcessSpec

MOUNTINFO = "/proc/self/mountinfo"

PROPAGATION_FLAGS = {"private": MS_PRIVATE, "rprivate": MS_PRIVATE | MS_REC,
                     "slave": MS_SLAVE, "rslave": MS_SLAVE | MS_REC,
                     "shared": MS_SHARED, "rshared": MS_SHARED | MS_REC}
"""A bind's propagation mode → the flags of ``mount(NULL, dest, NULL, flags)``."""


def wants_host_events(spec: ProcessSpec) -> bool:
    """True when a bind asks for slave or shared propagation: the namespace must
    then be made rslave (not rprivate), or there is no host peer left to follow."""
    return any(m.type == "bind" and ("slave" in m.propagation or "shared" in m.propagation)
               for m in spec.mounts)


def shares_with_host(m: Mount) -> bool:
    """A ``(r)shared`` host bind: its mount must be a peer of the host's."""
    return m.type == "bind" and "shared" in m.propagation and not m.subpath


def mount_of(path: str, mountinfo: str = MOUNTINFO) -> tuple[str, set[str]]:
    """The mount point ``path`` is on (the longest one above it; the last of stacked
    ones) and its propagation tags: ``shared`` and/or ``master``, or none (private)."""
    best, tags = "/", set()
    with open(mountinfo) as f:
        for line in f:
            fields = line.split()
            if "-" not in fields:
                continue
            point = fields[4].replace("\\040", " ")
            if (path == point or path.startswith(point.rstrip("/") + "/")) and \
                    len(point) >= len(best):
                best = point
                tags = {t.split(":", 1)[0] for t in fields[6:fields.index("-")]}
    return best, tags


def check_source(source: str, mode: str, mountinfo: str = MOUNTINFO) -> None:
    """Docker's ``ensureShared``/``ensureSharedOrSlave`` (moby daemon/oci_linux.go),
    with its words: the mount ``source`` is on must be shared for a ``(r)shared``
    bind, shared or slave for a ``(r)slave`` one — on a private mount there is no
    peer group to join or follow, and the mode would silently do nothing."""
    if "shared" not in mode and "slave" not in mode:
        return
    point, tags = mount_of(os.path.realpath(source), mountinfo)
    if "shared" in mode and "shared" not in tags:
        raise InvalidArgument(f"path {source} is mounted on {point} but it is not a shared "
                              "mount")
    if "slave" in mode and not tags & {"shared", "master"}:
        raise InvalidArgument(f"path {source} is mounted on {point} but it is not a shared "
                              "or slave mount")


def clone_shared_sources(sys_, spec: ProcessSpec) -> dict[int, int]:
    """Right after ``unshare(CLONE_NEWNS)``, before the namespace is made rslave: a
    detached recursive copy of each shared bind's source, by its index in
    ``spec.mounts``. Each fd is close-on-exec; :func:`attach_clone` closes it (or
    :func:`close_clones`, when the build fails first).

    Host root's namespace (rootful, ``--userns=private``) is a copy of the host's
    with the same tags, so the source is checked again here; a rootless one has
    every shared mount turned slave by the kernel, and is not."""
    clones: dict[int, int] = {}
    try:
        for i, m in enumerate(spec.mounts):
            if shares_with_host(m):
                if spec.userns in ("", "private"):
                    check_source(m.source, m.propagation)
                clones[i] = sys_.open_tree(m.source, OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC |
                                           AT_RECURSIVE)
    except BaseException:
        close_clones(clones)
        raise
    return clones


def attach_clone(sys_, fd: int, dest: str) -> None:
    """Put the detached copy ``fd`` at ``dest`` (in the rootfs), then close it."""
    try:
        sys_.move_mount(fd, dest)
    finally:
        os.close(fd)


def close_clones(clones: dict[int, int]) -> None:
    """Drop the copies not attached: a detached tree goes with its last fd."""
    for fd in clones.values():
        try:
            os.close(fd)
        except OSError:
            pass
    clones.clear()
