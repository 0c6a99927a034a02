"""``--userns=private``: a *rootful* container whose root is not the host's root (issue 14).

By default a rootful container's uid 0 *is* the host's uid 0, kept in check
only by capabilities, seccomp and the mounts. With ``--userns=private`` it is
root of its own user namespace, and that root is an ordinary, unprivileged
uid on the host (Docker's ``userns-remap``, podman's ``--userns``)::

    inside        0      1   ...  65535
    host     100000 100001   ... 165535      (/proc/<pid>/uid_map: "0 100000 65536")

A process that breaks out of every other fence is then still uid 100000 on the
host: it cannot write a root-owned file, signal a host process, or load a module.

**Which ids.** The range is root's entry in ``/etc/subuid`` and ``/etc/subgid``
(``root:100000:65536``, written with ``usermod --add-subuids 100000-165535
--add-subgids 100000-165535 root``): the same files an administrator already
uses to hand out subordinate ids, so the range cannot collide with a rootless
user's. Every private container gets the first 65536 ids of that entry, as
Docker's ``userns-remap`` gives every container the ``dockremap`` range (one
range, not one per container: containers are told apart by their other
namespaces). Tests point ``GLASSBOX_SUBID_DIR`` at a directory with their own
two files instead of ``/etc``.

**How it is built** — the shim stays host root (it makes the cgroup and wires
the network), and so does the container's child while it builds the root
filesystem; only at the very end does the child step into the user namespace:

1. the shim forks a short-lived *holder* that ``unshare(CLONE_NEWUSER)``\\ s; the
   shim, host root, writes the holder's ``uid_map``/``gid_map`` itself (no
   ``newuidmap`` needed). The holder then makes the network, UTS and IPC
   namespaces, so *they belong to the new user namespace* — container root may
   bind port 80 or open a raw socket there. The shim keeps the namespaces as
   fds and lets the holder go (:func:`prepare`);
2. the child joins that network namespace instead of making one; its mount
   namespace is made by host root, who mounts each image layer *idmapped*
   (``open_tree(OPEN_TREE_CLONE)`` + ``mount_setattr(MOUNT_ATTR_IDMAP)``,
   :func:`idmap_lowers`): a file root owns on disk shows as uid 100000 through
   that mount — root inside — with no chowned copy of the image. The
   container's own upper layer is chowned to 100000 (it starts empty);
3. after ``pivot_root`` the child ``setns``\\ es into the user namespace and
   becomes its root (:func:`become_container_root`). The mount, PID and cgroup
   namespaces stay host root's: container root cannot unmount what hides the
   host (a PID namespace's ``/proc`` must be mounted by its owner anyway).

**Volumes and binds.** A ``-v /host/dir:/dir`` bind is *not* idmapped: files
the container makes there belong to uid 100000 on the host, and a file the
host's root owns stays out of container root's reach (it is "nobody" inside).
A named volume's top directory is chowned to the container's root the first
time such a container uses it (what Docker does with ``userns-remap``), so the
container can write into a fresh volume.

``exec`` joins the user namespace last (:mod:`glassbox.runtime.exec`);
``commit`` maps the high ids back (:func:`owner_shift`). ``inspect`` shows
``HostConfig.UsernsMode`` and ``IdMap``.
"""

from __future__ import annotations

import os

from ..errors import InvalidArgument
from .idmap import IdMapPlan, IdRange, parse_subids

SIZE = 65536                     # ids a private container has: 0..65535
SUBID_DIR_ENV = "GLASSBOX_SUBID_DIR"

#: the namespaces the holder makes inside the new user namespace, by /proc name
_OWNED = ("net", "uts", "ipc")

#: set by :func:`prepare` in the shim; the forked child inherits them: the
#: namespaces' fds by name, and the host uid/gid of the container's root
_held: dict[str, int] = {}
_root: list[int] = []


def parse_mode(value: str | None) -> str:
    """``--userns`` / ``HostConfig.UsernsMode``: ``""`` (default) or ``host`` ->
    ``""``; ``private`` -> ``"private"``; anything else is refused."""
    if value in (None, "", "host"):
        return ""
    if value == "private":
        return "private"
    raise InvalidArgument(f"invalid --userns value {value!r}: use --userns=private (container "
                          "root is an unprivileged host uid) or --userns=host (the default)")


def _fix(what: str) -> str:
    return (f"{what}: add a range of {SIZE} ids for root, e.g. `usermod --add-subuids "
            f"100000-{100000 + SIZE - 1} --add-subgids 100000-{100000 + SIZE - 1} root` (or the "
            "lines root:100000:65536 in /etc/subuid and /etc/subgid)")


def host_range(etc: str | None = None) -> IdMapPlan:
    """The id map of every private container: the first ``SIZE`` ids of root's
    first large enough range in ``subuid``/``subgid`` (in ``etc``, default
    ``$GLASSBOX_SUBID_DIR`` or ``/etc``). InvalidArgument names the fix."""
    etc = etc or os.environ.get(SUBID_DIR_ENV) or "/etc"
    ranges = []
    for kind in ("subuid", "subgid"):
        path = os.path.join(etc, kind)
        try:
            with open(path) as f:
                text = f.read()
        except OSError:
            raise InvalidArgument(_fix(f"--userns=private needs ids for root in {path}, and "
                                       "there is no such file")) from None
        good = [s for s, n in parse_subids(text, "root", 0) if n >= SIZE and s > 0]
        if not good:
            raise InvalidArgument(_fix(f"--userns=private needs {SIZE} ids for root in {path}, "
                                       "and it has no such range"))
        ranges.append(IdRange(0, good[0], SIZE))
    return IdMapPlan((ranges[0],), (ranges[1],), helper=False, kind="private")


def check_create(opts) -> IdMapPlan | None:
    """``create``'s checks, before anything is written: the mode, the range, and
    what a private user namespace cannot have. Returns the plan (None: host)."""
    if not parse_mode(getattr(opts, "userns", None)):
        return None
    if os.geteuid() != 0:
        raise InvalidArgument("--userns=private is for rootful glassbox: a rootless container "
                              "already has its own user namespace")
    if opts.privileged:
        raise InvalidArgument("--privileged cannot be combined with --userns=private (its "
                              "host devices and /sys need host root): drop one of them")
    return host_range()


def _write(path: str, text: str) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CLOEXEC)
    try:
        os.write(fd, text.encode())
    finally:
        os.close(fd)


def _holder(go_r: int, report_w: int, own_net: bool, hostname: str) -> None:
    """The forked holder: a new user namespace, and (once mapped) namespaces it owns."""
    code = 1
    try:
        from .._sys import real as sys_
        from .._sys.constants import CLONE_NEWIPC, CLONE_NEWNET, CLONE_NEWUSER, CLONE_NEWUTS
        sys_.unshare(CLONE_NEWUSER)
        os.write(report_w, b"u")
        if os.read(go_r, 1) != b"m":                 # the shim wrote our maps
            return
        sys_.unshare(CLONE_NEWUTS | CLONE_NEWIPC | (CLONE_NEWNET if own_net else 0))
        if own_net:
            sys_.set_link_up("lo")
        if hostname:
            sys_.sethostname(hostname)
        os.write(report_w, b"n")
        os.read(go_r, 1)                             # the shim has our namespaces: done
        code = 0
    except BaseException as e:  # noqa: BLE001 — reported to the shim, never raised on
        try:
            os.write(report_w, f"!{getattr(e, 'message', None) or e}".encode())
        except OSError:
            pass
    finally:
        os._exit(code)


def _read_reply(fd: int) -> bytes:
    data = os.read(fd, 4096)
    if data[:1] == b"!" or not data:
        raise InvalidArgument("cannot make the private user namespace: "
                              + (data[1:].decode(errors="replace") or "the holder died"))
    return data


def prepare(cdir: str, config: dict, spec) -> None:
    """The shim's step before it forks the container (host root, single-threaded).

    Makes the user namespace with the container's map and the namespaces it
    owns, keeps them as fds for the child (:data:`_held`), chowns what belongs
    to the container's root, and records ``IdMap`` in ``state.json``. Sets
    ``spec.userns = "private"`` and points ``spec.netns_path`` at the new
    network namespace. On failure nothing stays: the holder is reaped."""
    from ..containers import state as cstate
    release()                     # a restart's leftovers, if any
    plan = IdMapPlan.from_json(config["IdMap"])
    root_uid, root_gid = plan.uids[0].outside, plan.gids[0].outside
    _chown_owned(cdir, config, spec, root_uid, root_gid)
    own_net = "net" in spec.namespaces and not spec.netns_path
    go_r, go_w = os.pipe2(os.O_CLOEXEC)
    rep_r, rep_w = os.pipe2(os.O_CLOEXEC)
    pid = os.fork()
    if pid == 0:
        os.close(go_w)
        os.close(rep_r)
        _holder(go_r, rep_w, own_net, spec.hostname if "uts" in spec.namespaces else "")
    os.close(go_r)
    os.close(rep_w)
    fds: dict[str, int] = {}
    try:
        _read_reply(rep_r)
        # host root may write any map for a child namespace in one go (no newuidmap)
        _write(f"/proc/{pid}/uid_map", "".join(r.line() + "\n" for r in plan.uids))
        _write(f"/proc/{pid}/gid_map", "".join(r.line() + "\n" for r in plan.gids))
        os.write(go_w, b"m")
        _read_reply(rep_r)
        for ns in ("user",) + _OWNED:
            if ns == "net" and not own_net:
                continue
            fds[ns] = os.open(f"/proc/{pid}/ns/{ns}", os.O_RDONLY | os.O_CLOEXEC)
    except BaseException:
        for fd in fds.values():
            os.close(fd)
        raise
    finally:
        os.close(go_w)                # the holder's last read ends: it exits
        os.close(rep_r)
        try:
            os.waitpid(pid, 0)
        except ChildProcessError:
            pass
    _held.clear()
    _held.update(fds)
    _root[:] = [root_uid, root_gid]
    spec.userns = "private"
    if own_net:
        spec.netns_path = f"/proc/self/fd/{fds['net']}"
    cstate.update_state(cdir, IdMap=plan.to_json())


def release() -> None:
    """The shim's step after the fork: the child has its own copies of the fds."""
    for fd in _held.values():
        try:
            os.close(fd)
        except OSError:
            pass
    _held.clear()


def _chown_owned(cdir: str, config: dict, spec, uid: int, gid: int) -> None:
    """What the container's root must own: its (empty at first) upper layer, its
    generated /etc files, and the top of each named volume still owned by host root."""
    paths = [spec.upper_dir, *spec.etc_files.values()]
    vol_root = os.path.join(os.path.dirname(os.path.dirname(cdir)), "volumes") + os.sep
    for m in spec.mounts:
        if m.type == "bind" and m.source.startswith(vol_root):
            try:
                if os.stat(m.source).st_uid == 0:
                    paths.append(m.source)
            except OSError:
                continue
    for p in paths:
        try:
            os.lchown(p, uid, gid)
        except FileNotFoundError:
            continue


# ---- in the container's child (host root until become_container_root) ----------------

def join_owned(sys_) -> None:
    """Join the UTS and IPC namespaces the holder made (they belong to the user
    namespace); before /dev/mqueue is mounted, so it shows this IPC namespace."""
    from .._sys.constants import CLONE_NEWIPC, CLONE_NEWUTS
    for ns, flag in (("uts", CLONE_NEWUTS), ("ipc", CLONE_NEWIPC)):
        if ns in _held:
            sys_.setns(_held[ns], flag, f"{ns} namespace of the private user namespace")


def idmap_lowers(sys_, lower_dirs: list[str]) -> None:
    """Cover each image layer directory, in this (private) mount namespace, with
    an idmapped copy of itself: owners on disk are shown through the user
    namespace's map, so root's files are container root's (uid 100000 on the
    host) and the overlay above needs no chowned copy of the image."""
    from .._sys.constants import (AT_RECURSIVE, MOUNT_ATTR_IDMAP, OPEN_TREE_CLOEXEC,
                                  OPEN_TREE_CLONE)
    from ..errors import KernelError
    userns = _held["user"]
    for path in dict.fromkeys(lower_dirs):
        fd = sys_.open_tree(path, OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_RECURSIVE)
        try:
            sys_.mount_setattr(fd, MOUNT_ATTR_IDMAP, userns, AT_RECURSIVE, path)
            sys_.move_mount(fd, path)
        except KernelError as e:
            raise KernelError(e.errno, e.op, path, IDMAP_HINT) from None
        finally:
            os.close(fd)


IDMAP_HINT = ("--userns=private needs idmapped mounts of the image layers, and the kernel "
              "refused one: it takes Linux >= 5.12 and a state root on a filesystem that "
              "supports them (ext4, xfs, btrfs, tmpfs >= 6.3 — not overlay, NFS or FUSE); set "
              "GLASSBOX_ROOT to a directory on one, or run without --userns=private")


def own_dev(rootfs: str) -> None:
    """The fresh ``/dev`` tmpfs belongs to the container's root, as in Docker."""
    os.chown(os.path.join(rootfs, "dev"), *_root)


def become_container_root(sys_) -> None:
    """The child's last step as host root: ``setns`` into the user namespace, then
    uid/gid 0 *there* (100000 on the host), with no host supplementary groups."""
    from .._sys.constants import CLONE_NEWUSER
    fd = _held.pop("user")
    try:
        sys_.setns(fd, CLONE_NEWUSER, "the container's user namespace")
    finally:
        os.close(fd)
    os.setgroups([])
    os.setresgid(0, 0, 0)
    os.setresuid(0, 0, 0)


# ---- commit: the container's files, owned by high host ids ----------------------------

def owner_shift(upper_dir: str) -> tuple[int, int] | None:
    """``(uid, gid)`` to subtract from the owners of a private container's layer
    (``<container>/upper`` whose ``config.json`` records a private ``IdMap``: the
    host ids of the container's root), or None for any other directory."""
    import json
    try:
        with open(os.path.join(os.path.dirname(os.path.abspath(upper_dir)),
                               "config.json")) as f:
            idmap = json.load(f).get("IdMap") or {}
    except (OSError, ValueError, AttributeError):
        return None
    if idmap.get("Mode") != "private":
        return None
    plan = IdMapPlan.from_json(idmap)
    return plan.uids[0].outside, plan.gids[0].outside


def container_owner(st: os.stat_result, shift: tuple[int, int]) -> tuple[int, int]:
    """A host owner in a private container's layer -> the container's id
    (an id outside the container's range is ``nobody``, 65534)."""
    def one(host: int, base: int) -> int:
        return host - base if base <= host < base + SIZE else 65534
    return one(st.st_uid, shift[0]), one(st.st_gid, shift[1])
