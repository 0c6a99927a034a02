"""Becoming root of a new user namespace, and joining a container's.

:func:`enter` turns the calling process (the shim, single-threaded) into uid 0
of a fresh user namespace with an :class:`~.idmap.IdMapPlan`'s maps:

1. with subordinate ids, first fork a *mapper* that stays outside — a map
   with more than our own id must be written from the parent namespace, by
   the setuid ``newuidmap``/``newgidmap``;
2. ``unshare(CLONE_NEWUSER)``: we now hold every capability *in the new
   namespace* (none more on the host) and are uid 65534 until mapped;
3. the mapper runs ``newuidmap <our pid> 0 1001 1 1 100000 65536`` (and
   ``newgidmap``) — or, single-id map, we write ``/proc/self/uid_map``
   ourselves after ``setgroups`` is set to ``deny`` (the kernel's rule: an
   unprivileged gid map needs it, else a user could *drop* a group that
   denies them access);
4. drop the host's supplementary groups where setgroups is allowed.

Namespaces made afterwards (pid, mount, net, ...) belong to this user
namespace, so root in it may mount overlay, proc and tmpfs there — and never
on the host. :func:`join` is ``setns`` into a running container's user
namespace (``exec``): allowed because we created it.
"""

from __future__ import annotations

import os

from .._sys.constants import CLONE_NEWUSER
from ..errors import GlassboxError, KernelError
from .idmap import IdMapPlan


class UsernsError(GlassboxError):
    """The user namespace could not be made or mapped (exit 125)."""


def unshare_hint(err: int) -> str:
    """What to do when ``unshare(CLONE_NEWUSER)`` fails with ``err``."""
    import errno
    if err in (errno.EPERM, errno.EACCES):
        return ("user namespaces are disabled for unprivileged users on this host "
                "(sysctl kernel.unprivileged_userns_clone=0, an AppArmor "
                "restrict_unprivileged_userns policy, or a seccomp filter): ask root to enable "
                "them (sysctl -w kernel.unprivileged_userns_clone=1) or run glassbox as root")
    if err == errno.ENOSPC:
        try:
            with open("/proc/sys/user/max_user_namespaces") as f:
                limit = f.read().strip()
        except OSError:
            limit = "?"
        if limit == "0":
            return ("user namespaces are disabled (sysctl user.max_user_namespaces = 0): ask "
                    "root to enable them (sysctl -w user.max_user_namespaces=15000)")
        return (f"the limit of user namespaces is reached (user.max_user_namespaces = "
                f"{limit}): ask root to raise it")
    if err == errno.EINVAL:
        return "this kernel has no user namespaces (CONFIG_USER_NS)"
    return "see unshare(2)"


def _unshare_user(sys_) -> None:
    try:
        sys_.unshare(CLONE_NEWUSER)
    except KernelError as e:
        raise UsernsError(f"cannot create a user namespace: {os.strerror(e.errno)} — "
                          f"{unshare_hint(e.errno)}") from None


def _write(path: str, text: str) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CLOEXEC)
    try:
        os.write(fd, text.encode())
    finally:
        os.close(fd)


def map_command(tool: str, pid: int, ranges) -> list[str]:
    """``newuidmap PID INSIDE OUTSIDE COUNT ...`` for ``ranges``."""
    argv = [tool, str(pid)]
    for r in ranges:
        argv += [str(r.inside), str(r.outside), str(r.count)]
    return argv


def _mapper(target: int, plan: IdMapPlan, go_r: int, report_w: int) -> None:
    """The forked mapper: wait until ``target`` has unshared, then run both
    helpers at once (``posix_spawn``: no ``subprocess`` import on the start path)."""
    from .idmap import helpers
    code = 1
    try:
        tools = helpers()
        if os.read(go_r, 1) != b"1":
            return
        if tools is None:
            os.write(report_w, b"newuidmap/newgidmap disappeared (Debian package uidmap)")
            return
        running = []
        for tool, ranges in ((tools[0], plan.uids), (tools[1], plan.gids)):
            r, w = os.pipe()
            pid = os.posix_spawn(tool, map_command(tool, target, ranges), {},
                                 file_actions=[(os.POSIX_SPAWN_DUP2, w, 1),
                                               (os.POSIX_SPAWN_DUP2, w, 2)])
            os.close(w)
            running.append((tool, pid, r))
        code = 0
        for tool, pid, r in running:
            out = b""
            while chunk := os.read(r, 4096):
                out += chunk
            os.close(r)
            status = os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1])
            if status != 0 and code == 0:
                msg = out.decode(errors="replace").strip() or f"exit {status}"
                os.write(report_w, f"{os.path.basename(tool)} refused: {msg}".encode())
                code = 1
    finally:
        os._exit(code)


def enter(plan: IdMapPlan, sys_=None) -> None:
    """Make the calling single-threaded process root of a new user namespace."""
    if sys_ is None:
        from .._sys import real as sys_
    if not plan.helper:
        _unshare_user(sys_)
        _write("/proc/self/setgroups", "deny")
        _write("/proc/self/uid_map", "".join(r.line() + "\n" for r in plan.uids))
        _write("/proc/self/gid_map", "".join(r.line() + "\n" for r in plan.gids))
        return
    go_r, go_w = os.pipe2(os.O_CLOEXEC)
    rep_r, rep_w = os.pipe2(os.O_CLOEXEC)
    me = os.getpid()
    child = os.fork()
    if child == 0:
        os.close(go_w)
        os.close(rep_r)
        _mapper(me, plan, go_r, rep_w)
    os.close(go_r)
    os.close(rep_w)
    try:
        _unshare_user(sys_)
        os.write(go_w, b"1")
    finally:
        os.close(go_w)
        _, status = os.waitpid(child, 0)
        report = b""
        while chunk := os.read(rep_r, 4096):
            report += chunk
        os.close(rep_r)
    if status != 0:
        raise UsernsError(
            f"cannot map the user namespace's ids: {report.decode(errors='replace') or status} "
            "— check this user's lines in /etc/subuid and /etc/subgid (as root: glassbox "
            "system setup-user NAME writes them)")
    os.setgroups([])           # the host's supplementary groups would show as nogroup


def join(pid: int, sys_=None) -> None:
    """``setns`` into the user namespace of ``pid`` (a container this user made)."""
    if sys_ is None:
        from .._sys import real as sys_
    path = f"/proc/{pid}/ns/user"
    fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    try:
        sys_.setns(fd, CLONE_NEWUSER, path)
    finally:
        os.close(fd)


def in_other_userns(pid: int) -> bool:
    """Is ``pid`` in a user namespace other than ours (a rootless container)?"""
    try:
        return os.stat(f"/proc/{pid}/ns/user").st_ino != os.stat("/proc/self/ns/user").st_ino
    except OSError:
        return False


def enter_for_container(cdir: str) -> str:
    """The rootless shim's first step: become root of the container's user
    namespace (everything the shim makes after this belongs to it). Records
    the maps in ``state.json`` (``IdMap``) and returns the plan's mode."""
    from ..containers import state as cstate
    from .idmap import host_plan
    plan = host_plan()
    enter(plan)
    cstate.update_state(cdir, IdMap=plan.to_json())
    return plan.mode
