"""Image file owners for a rootless user: kept *through the id map*.

An ordinary user cannot ``chown`` a file to another uid, so a layer unpacked
on the host side has every file owned by the user — container root. With
subordinate ids the image's owners can still be kept: root of a user
namespace with the user's map may chown to any mapped id, and container uid
1000 is then host uid ``<subuid start> + 999``, as podman stores it.

* unpacking (:func:`restore`): the extractor records each member whose owner
  is not ``0:0``; before the layer enters the store a fresh interpreter
  (:func:`main`; safe from any caller, even a multithreaded kernel) becomes
  root of such a namespace and chowns them, each path opened beneath the
  layer directory without following a symlink;
* committing (:func:`write_layer_tar`): a container's files are owned by
  host ids and may be unreadable from the host side; the tar is written from
  inside the id map, where ``stat`` shows the container's ids
  (:func:`container_owner` maps them back where that is not needed).

With a single-id map nothing can be kept (podman's ``ignore_chown_errors``):
every file stays the user's, ``glassbox info`` says so.
"""

from __future__ import annotations

import functools
import json
import os
import subprocess
import sys

#: a fresh ``python -I -S`` running one function of this module (see shim.boot_path)
_BOOT = ("import sys; sys.path[:0] = sys.argv[1].split(':'); "
         "from glassbox.rootless.ownership import {}; {}(sys.argv[2:])")


def restore(layer_dir: str, owners: list[tuple[str, int, int]]) -> str | None:
    """chown ``owners`` (``(relpath, uid, gid)`` inside the container) in
    ``layer_dir``; returns a warning when they cannot be kept, else None."""
    from .idmap import host_plan
    if not owners:
        return None
    plan = host_plan()
    if not plan.helper:
        return (f"{len(owners)} file owners not kept (single-id map: {plan.reason}); "
                "they belong to container root")
    from ..runtime.shim import boot_path
    p = subprocess.run([sys.executable, "-I", "-S", "-c", _BOOT.format("main", "main"),
                        boot_path(), layer_dir],
                       input=json.dumps(owners).encode(), capture_output=True, check=False)
    if p.returncode != 0:
        return f"file owners not kept: {p.stderr.decode(errors='replace').strip()[-300:]}"
    return None


def _chown_beneath(root_fd: int, rel: str, uid: int, gid: int) -> None:
    from ..images.layers import _DIR_FLAGS, clean_member_name
    parts = clean_member_name(rel)
    fd = os.dup(root_fd)
    try:
        for p in parts[:-1]:
            nfd = os.open(p, _DIR_FLAGS, dir_fd=fd)
            os.close(fd)
            fd = nfd
        os.chown(parts[-1], uid, gid, dir_fd=fd, follow_symlinks=False)
    finally:
        os.close(fd)


def main(argv: list[str]) -> None:
    """``LAYER_DIR`` with the owners as JSON on stdin, in a fresh interpreter."""
    from .idmap import host_plan
    from .userns import enter
    owners = json.loads(sys.stdin.read())
    root_fd = os.open(argv[0], os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    enter(host_plan())
    failed = 0
    for rel, uid, gid in owners:
        try:
            _chown_beneath(root_fd, rel, uid, gid)
        except (OSError, ValueError):
            failed += 1
    if failed:
        sys.exit(f"{failed} of {len(owners)} owners could not be set (ids beyond the map?)")


@functools.lru_cache(maxsize=1)
def _plan():
    from .idmap import host_plan
    return host_plan()


def container_owner(st: os.stat_result) -> tuple[int, int]:
    """The container's ``(uid, gid)`` of a file a rootless container made."""
    plan = _plan()
    return plan.inside(st.st_uid), plan.inside(st.st_gid, gids=True)


def write_layer_tar(upper_dir: str, out) -> None:
    """``commit``/``build`` of a rootless container's read/write layer.

    Files a container user other than root made belong to subordinate ids and
    may be unreadable for the user on the host (a ``0600`` file of uid 1000):
    with subordinate ids the tar is written by a fresh interpreter that is root
    of a user namespace with the same map (:func:`tar_main`) — it reads them
    all, and ``stat`` there already shows the container's ids."""
    from ..images.layers import write_layer_tar as direct
    plan = _plan()
    if not plan.helper:
        direct(upper_dir, out)            # single-id map: every file is the user's
        return
    from ..errors import GlassboxError
    from ..runtime.shim import boot_path
    p = subprocess.Popen([sys.executable, "-I", "-S", "-c", _BOOT.format("tar_main", "tar_main"),
                          boot_path(), upper_dir], stdin=subprocess.DEVNULL,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert p.stdout is not None and p.stderr is not None
    try:
        while chunk := p.stdout.read(1 << 20):
            out.write(chunk)
    finally:
        p.stdout.close()
        err = p.stderr.read()
        p.stderr.close()
        code = p.wait()
    if code != 0:
        raise GlassboxError(f"cannot read the container's layer {upper_dir} as root of the "
                            f"user's id map: {err.decode(errors='replace').strip()[-400:]}")


def tar_main(argv: list[str]) -> None:
    """``UPPER_DIR``: the layer tar on stdout, written from inside the id map."""
    from ..images.layers import write_layer_tar as direct
    from .idmap import host_plan
    from .userns import enter
    enter(host_plan())
    direct(argv[0], sys.stdout.buffer)
    sys.stdout.buffer.flush()
