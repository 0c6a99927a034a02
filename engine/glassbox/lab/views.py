"""What the panel shows, as JSON: one function per view, each reading the Engine.

These are the lab's equivalents of the CLI's table printers: they call the same
Engine methods (``containers.list``, ``image_inspect``, ``diff``, ``update``, ...)
and turn what comes back into plain dicts the TypeScript side renders. Nothing
here reads the state store or a cgroup file by itself — the one exception is the
namespace table, which is read through :func:`glassbox.namespaces.read_table`,
the reader the notebooks use.
"""

from __future__ import annotations

import collections
import itertools
import os

LOG_PAGE = 500
"""Log lines per page when the client does not say."""
LOG_PAGE_MAX = 5000


def container_row(c) -> dict:
    """One line of the containers list: what ``glassbox ps -a`` shows, plus the limit."""
    limits = c.config.get("Limits") or {}
    memory = limits.get("memory") or (c.config.get("HostConfig") or {}).get("Memory") or None
    return {"id": c.id, "name": c.name, "image": (c.config.get("Config") or {}).get("Image", ""),
            "state": c.status, "running": c.running, "exit_code": c.exit_code,
            "oom_killed": bool(c.state.get("OOMKilled", False)),
            "created": c.config.get("Created", ""), "memory_limit": memory}


def containers(eng) -> list[dict]:
    return [container_row(c) for c in eng.ps(all=True)]


def container_detail(eng, ref: str) -> dict:
    c = eng.get(ref)
    return {**container_row(c), "pid": c.pid if c.running else 0,
            "started_at": c.state.get("StartedAt", ""),
            "finished_at": c.state.get("FinishedAt", ""),
            "exec_command": exec_command(eng, c.id)}


def exec_command(eng, cid: str) -> str:
    """The shell line the Terminal tab types: ``glassbox exec -it <id> sh`` with the CLI
    that sits beside this server's Python and the engine this server uses — a login
    shell's profile may reset ``PATH`` and knows nothing of ``GLASSBOX_ROOT``."""
    import shlex
    import sys
    cli = os.path.join(os.path.dirname(sys.executable), "glassbox")
    if not os.path.exists(cli):
        cli = "glassbox"
    if getattr(eng, "remote", False):
        return shlex.join([cli, "-H", eng.host, "exec", "-it", cid, "sh"])
    env = [f"GLASSBOX_ROOT={eng.root}", f"GLASSBOX_CGROUP_PARENT={eng.cgroup_parent}"]
    return shlex.join(["env", *env, cli, "exec", "-it", cid, "sh"])


def inspect(eng, ref: str) -> dict:
    """Docker's inspect document, and beside it the process spec glassbox derived from it
    (what ``runtime.init`` turns into namespaces, mounts and an ``execve``)."""
    c = eng.get(ref)
    return {"inspect": c.inspect(), "process_spec": (c.config.get("Spec") or None),
            "limits": c.config.get("Limits") or None}


def logs(eng, ref: str, start: int | None = None, limit: int = LOG_PAGE,
         query: str = "") -> dict:
    """One page of the container's log: lines ``[start, start+limit)`` of those that
    contain ``query`` (all lines when empty). Without ``start`` the last page.

    ``total`` is how many (matching) lines there are, so the client can page back.
    """
    from ..errors import InvalidArgument
    if limit <= 0 or limit > LOG_PAGE_MAX:
        raise InvalidArgument(f"limit must be between 1 and {LOG_PAGE_MAX} (got {limit})")
    if start is not None and start < 0:
        raise InvalidArgument(f"start must be >= 0 (got {start})")
    entries = eng.logs(ref)     # a generator: the file is streamed, never held whole
    if query:
        entries = (e for e in entries if query in e[1])
    if start is None and not query:     # the last page: read from the end (seek back)
        page = list(eng.logs(ref, tail=limit))
        total = max(len(page), eng.logs_count(ref))
        start = total - len(page)
    elif start is None:         # the last matching page: a ring of `limit`, counting all
        ring: collections.deque = collections.deque(maxlen=limit)
        total = 0
        for e in entries:
            ring.append(e)
            total += 1
        page, start = list(ring), total - len(ring)
    else:
        page = list(itertools.islice(entries, start, start + limit))
        total = start + len(page) + sum(1 for _ in entries)
    return {"start": start, "total": total,
            "lines": [{"stream": s, "text": t, "time": ts} for s, t, ts in page]}


def namespaces(eng, ref: str) -> dict:
    """The container's ``/proc/<pid>/ns`` inodes beside the host's: those of this server,
    which runs where the engine runs (pid 1 can sit in other namespaces, e.g. in a sandbox)."""
    from ..errors import Conflict
    from ..namespaces import KINDS, NOT_UNSHARED, read_table, shared
    c = eng.get(ref)
    if not c.running:
        raise Conflict(f"container {c.name} is not running: its namespaces are gone with its "
                       "processes; start it to see them")
    mine, host = read_table(c.pid), read_table(os.getpid())
    same = shared(mine, host)
    what = dict(KINDS + NOT_UNSHARED)
    hosts = {e.kind: e.inode for e in host}
    return {"pid": c.pid, "rows": [
        {"kind": e.kind, "container": e.inode, "host": hosts.get(e.kind),
         "shared": same.get(e.kind, False), "what": what.get(e.kind, "")} for e in mine]}


def changes(eng, ref: str) -> list[dict]:
    """``glassbox diff``: A/C/D of the container's read/write layer."""
    return [{"kind": k, "path": p} for k, p in eng.diff(ref)]


def images(eng) -> list[dict]:
    out = []
    for img in eng.image_list():
        out.append({"id": img.id, "tags": list(img.repo_tags), "size": img.size,
                    "created": img.created})
    return out


def _local_only(eng, what: str) -> None:
    """The daemon client (:class:`~glassbox.daemon.client.RemoteEngine`) has no call for
    ``what`` yet: say so instead of failing somewhere inside."""
    from ..errors import GlassboxError
    if getattr(eng, "remote", False):
        raise GlassboxError(f"{what} is not supported over a daemon connection ({eng.host}) "
                            "yet: unset GLASSBOX_HOST/DOCKER_HOST to use the local state root")


def layer_tree(eng, refs: list[str]) -> dict:
    """The layer diagram's data for ``refs`` (every tagged image when empty): boxes
    from :func:`glassbox.layertree.layout`, shared layers once, each with
    its size and the instruction that made it."""
    from ..layertree import layout, stacks_from_engine
    if not refs:
        refs = [img.repo_tags[0] if img.repo_tags else img.id for img in eng.image_list()]
    stacks, rws = stacks_from_engine(eng, refs)
    boxes, names = layout(stacks, rws)
    made_by = {l.diff_id: l.created_by for s in stacks for l in s.layers}
    notes: dict[str, str] = {}
    for s in stacks:
        if any(not l.created_by for l in s.layers):
            notes.update(layer_comments(eng, s))
    return {"columns": names,
            "boxes": [{"key": b.key, "kind": b.kind, "x0": b.x0, "x1": b.x1, "level": b.level,
                       "size": b.size, "label": b.label, "images": list(b.images),
                       "created_by": made_by.get(b.key, ""), "comment": notes.get(b.key, "")}
                      for b in boxes]}


def layer_comments(eng, stack) -> dict[str, str]:
    """What the history says of layers no instruction made: ``docker import`` writes an
    entry with an empty ``created_by`` and the comment ``Imported from <source>`` (``-``
    for stdin), which ``docker history`` shows in its COMMENT column. Those entries are
    matched, base first, to the image's layers that have no instruction."""
    rows = [r for r in reversed(eng.image_history(stack.image_id))
            if not r.get("CreatedBy") and r.get("Comment")]
    bare = [l.diff_id for l in stack.layers if not l.created_by]
    return {d: r["Comment"] for d, r in zip(bare, rows)}


def networks(eng) -> list[dict]:
    out = []
    for n in eng.network_list():
        out.append({"id": n.id, "name": n.name, "driver": n.driver, "bridge": n.bridge,
                    "subnet": n.subnet, "gateway": n.gateway, "default": n.default,
                    "endpoints": [{"container": ep.container_id, "name": ep.name, "ip": ep.ip,
                                   "mac": ep.mac, "host_ifname": ep.host_ifname}
                                  for ep in n.endpoints.values()]})
    return out


def volumes(eng) -> list[dict]:
    out = []
    for meta in eng.volume_list():
        name = meta.get("Name", "")
        out.append({"name": name, "driver": meta.get("Driver", "local"),
                    "mountpoint": meta.get("Mountpoint", ""), "created": meta.get("CreatedAt", ""),
                    "users": eng.volume_users(name)})
    return out


# ---- actions ------------------------------------------------------------------
ACTIONS = ("start", "stop", "kill", "restart", "rm", "update")


def act(eng, ref: str, action: str, body: dict) -> dict:
    """Do ``action`` on container ``ref``, as the CLI verb of the same name does."""
    from ..errors import InvalidArgument
    if action not in ACTIONS:
        raise InvalidArgument(f"unknown action {action!r}: one of {', '.join(ACTIONS)}")
    c = eng.get(ref)          # NotFound when it was removed meanwhile
    if action == "start":
        eng.start(c.id).detach()
    elif action == "stop":
        eng.stop(c.id, body.get("timeout"))
    elif action == "kill":
        eng.kill(c.id, body.get("signal"))
    elif action == "restart":
        eng.restart(c.id, body.get("timeout"))
    elif action == "rm":
        eng.remove(c.id, force=bool(body.get("force")))
        return {"id": c.id, "removed": True}
    else:
        return {"id": c.id, "limits": update(eng, c.id, body)}
    return container_detail(eng, c.id)


def update(eng, ref: str, body: dict) -> dict:
    """``glassbox update -m``: the same parse and the same live cgroup write."""
    from ..cgroups.limits import parse_bytes
    from ..errors import InvalidArgument
    memory = body.get("memory")
    if memory is None or memory == "":
        raise InvalidArgument("update needs a memory limit, e.g. {\"memory\": \"48m\"}")
    nbytes = parse_bytes(str(memory), "memory")
    return eng.update(ref, memory=nbytes)


def remove_image(eng, ref: str, force: bool = False) -> list[dict]:
    """``glassbox rmi``: untag/delete like Docker, refusing an image a container uses."""
    return eng.image_remove(ref, force=force)
