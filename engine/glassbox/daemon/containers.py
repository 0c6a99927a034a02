"""Container endpoints: create, start, attach, wait, logs, ps, inspect, stop, ...

Attach before start
    The docker CLI attaches to a *created* container first, then starts it. The
    shim can only be given the terminal when it is launched, so an attach to a
    created container makes pipes (a :class:`Pending` attach) and parks them in
    the :class:`AttachHub`; ``start`` hands their child ends to
    ``containers.start(cid, (in, out, err))`` and the shim writes the output
    straight into them. With a TTY the shim copies the pty to the ``out`` pipe
    and writes our ``in`` pipe into the pty. When such an attach ends (the
    detach keys, or the client went away) the shim sees its output pipe lose
    its reader, lets go of the pipes and hands over to the C monitor.

Attach to a running container
    follows its log (a TTY's is written as it comes, a prompt included) and
    writes the client's input into the container's stdin FIFO
    (``Engine.open_stdin``): without a TTY that is its stdin itself, with one its
    monitor copies it into the pty, so ``docker attach`` of ``docker run -dit
    busybox sh`` is interactive. A TTY's input is scanned for the detach keys,
    which end the attach and leave the container running. ``/resize`` sizes the
    pty through ``Engine.resize`` (the helper the CLI's attach uses too).

Exits
    A container started here has its shim's status pipe watched by a thread;
    its ``{"exit": code}`` wakes ``wait`` requests at once (also for ``--rm``
    containers, whose state is gone by then). Containers started by someone else
    (the CLI, a notebook) are waited for by polling their state.
"""

from __future__ import annotations

import asyncio
import os
import threading

from ..errors import ContainerExit, GlassboxError, InvalidArgument, NotFound
from ..containers.detach import parse_detach_keys
from .hijack import hijack, pump_input, pump_output
from .server import json_response, qbool, qint, read_json, request_version
from .translate import (STDERR, STDOUT, container_inspect, container_summary,
                        create_endpoints, create_options, epoch, frame, parse_filters,
                        stats_doc, update_changes)

ZERO_TIME = "0001-01-01T00:00:00Z"


def _json(data, status: int = 200):
    return json_response(data, status)


def _empty(status: int = 204):
    from aiohttp import web
    return web.Response(status=status)


class Pending:
    """Pipes made by an attach to a created container, waiting for ``start``."""

    def __init__(self, tty: bool, stdin: bool, stdout: bool, stderr: bool):
        self.tty = tty
        self.lock = threading.Lock()
        self.child: list[int | None] = [None, None, None]
        self.ours: dict[int, int] = {}
        self.in_w: int | None = None
        if stdin:
            self.child[0], self.in_w = os.pipe2(os.O_CLOEXEC)
        if stdout or (tty and stderr):
            r, self.child[1] = os.pipe2(os.O_CLOEXEC)
            self.ours[r] = STDOUT
        if stderr and not tty:
            r, self.child[2] = os.pipe2(os.O_CLOEXEC)
            self.ours[r] = STDERR

    def child_fds(self) -> tuple:
        return tuple(self.child)

    def close_child(self) -> None:
        with self.lock:
            for i, fd in enumerate(self.child):
                if fd is not None:
                    _close(fd)
                    self.child[i] = None

    def close_in(self) -> None:
        with self.lock:
            if self.in_w is not None:
                _close(self.in_w)
                self.in_w = None

    def close_all(self) -> None:
        self.close_child()
        self.close_in()
        with self.lock:
            for fd in self.ours:
                _close(fd)
            self.ours = {}


def _close(fd: int) -> None:
    try:
        os.close(fd)
    except OSError:
        pass


class AttachHub:
    """Pending attaches and exit notifications, per container id."""

    def __init__(self, d):
        self.d = d
        self.pending: dict[str, Pending] = {}
        self.waiters: dict[str, list[asyncio.Future]] = {}
        self.exits: dict[str, int] = {}
        self.watching: set[str] = set()   # started here; the shim will report the exit

    def park(self, cid: str, p: Pending) -> None:
        old = self.pending.pop(cid, None)
        if old is not None:
            old.close_child()  # an earlier attacher loses the race: its output ends
        self.pending[cid] = p

    def take(self, cid: str) -> Pending | None:
        return self.pending.pop(cid, None)

    def drop(self, cid: str, p: Pending) -> None:
        if self.pending.get(cid) is p:
            del self.pending[cid]

    def watch_exit(self, cid: str, started) -> None:
        loop = asyncio.get_running_loop()
        self.watching.add(cid)

        def wait():
            try:
                msg = started.wait_exit() or {}
            except Exception:  # noqa: BLE001
                msg = {}
            code = msg.get("exit")
            if code is None:
                # the monitor took over without a word on the status pipe: wait for
                # it to record the exit (it wakes on the process's exit, no polling)
                # (not for --rm: its record may vanish mid-wait, taking the code along)
                try:
                    c = self.d.eng.get(cid)
                    if not (c.config.get("HostConfig") or {}).get("AutoRemove"):
                        code = self.d.eng.wait(cid)
                except GlassboxError:   # gone or unreadable: waiters poll the state
                    code = None
            loop.call_soon_threadsafe(self.exited, cid, None if code is None else int(code))
        threading.Thread(target=wait, name=f"exit-{cid[:12]}", daemon=True).start()

    def exited(self, cid: str, code: int | None) -> None:
        self.watching.discard(cid)
        if code is None:
            return  # the shim went away without a word: waiters poll the state
        self.exits[cid] = code
        if len(self.exits) > 4096:
            self.exits.pop(next(iter(self.exits)))
        for fut in self.waiters.pop(cid, []):
            if not fut.done():
                fut.set_result(code)

    def waiter(self, cid: str) -> asyncio.Future:
        fut = asyncio.get_running_loop().create_future()
        self.waiters.setdefault(cid, []).append(fut)
        return fut

    async def shutdown(self) -> None:
        for p in list(self.pending.values()):
            p.close_all()
        self.pending.clear()


# ---- create / start ---------------------------------------------------------------
async def create(d, request):
    body = await read_json(request, required=True)
    if request_version(request) < (1, 44) and isinstance(body, dict) \
            and isinstance(body.get("Healthcheck"), dict):
        # StartInterval is API 1.44: an older client never meant it (dockerd drops it too)
        body["Healthcheck"] = {k: v for k, v in body["Healthcheck"].items()
                               if k != "StartInterval"}
    opts = create_options(body, request.query.get("name") or None)
    endpoints = create_endpoints(body)
    from .translate import create_endpoint_extras
    extras = create_endpoint_extras(body)       # a MAC, links: per endpoint
    try:                                         # Docker's create never pulls: the
        await d.run(d.eng.image_resolve, opts.image)   # client pulls on this 404
    except NotFound:
        raise NotFound(f"No such image: {opts.image}") from None
    c = await d.run(d.eng.create, opts)
    try:
        await d.run(_plan_endpoints, d, c, endpoints, extras)
    except BaseException:
        await d.run(d.eng.remove, c.id, force=True)
        raise
    return _json({"Id": c.id, "Warnings": []}, 201)


def _plan_endpoints(d, c, endpoints: dict, extras: dict | None = None) -> None:
    """The rest of a create's ``EndpointsConfig`` into the container's network plan,
    each as :meth:`Engine.network_connect <glassbox.engine.Engine.network_connect>`
    on the created container (which plans it, wired at start): the primary network's
    fixed address (its aliases are in the options already), and any further network.
    The primary's MAC and links came with the options (Config.MacAddress,
    HostConfig.Links); another network's are its connect's."""
    mode = c.config["HostConfig"].get("NetworkMode") or "none"
    for net, (aliases, ip) in endpoints.items():
        if net in (mode, "default") or len(endpoints) == 1:
            if ip is not None:
                d.eng.network_connect(mode, c.id, aliases=aliases, ip=ip)
        else:
            d.eng.network_connect(net, c.id, aliases=aliases, ip=ip,
                                  **(extras or {}).get(net, {}))


async def start(d, request):
    c = await d.run(d.eng.get, request.match_info["id"])
    if c.status == "running":
        return _empty(304)
    p = d.hub.take(c.id)
    try:
        started = await d.run(d.eng.start, c.id,
                              p.child_fds() if p else (None, None, None))
    except ContainerExit as e:
        raise InvalidArgument(_start_error(e)) from None
    finally:
        if p is not None:
            p.close_child()
    if started.reader is not None:
        d.hub.watch_exit(c.id, started)
    return _empty(204)


def _start_error(e: ContainerExit) -> str:
    """Word a 126/127 failure so the docker CLI picks the same exit code
    (it looks for these phrases)."""
    msg = str(e)
    low = msg.lower()
    if e.exit_code == 127 and "executable file not found" not in low and \
            "no such file or directory" not in low:
        msg += ": executable file not found in $PATH"
    if e.exit_code == 126 and "permission denied" not in low:
        msg += ": permission denied"
    return msg


# ---- wait -------------------------------------------------------------------------
async def wait(d, request):
    """``condition``: ``not-running`` (default), ``next-exit`` or ``removed``.

    Headers go out at once: the docker CLI sends this *before* start and only
    starts the container once the response has begun."""
    from aiohttp import web
    cond = request.query.get("condition") or "not-running"
    if cond not in ("not-running", "next-exit", "removed"):
        raise InvalidArgument(f"invalid condition {cond!r}: use not-running, next-exit or "
                              "removed")
    c = await d.run(d.eng.get, request.match_info["id"])
    fut = d.hub.waiter(c.id)
    finished0 = c.state.get("FinishedAt", ZERO_TIME)
    resp = web.StreamResponse(headers={"Content-Type": "application/json"})
    await resp.prepare(request)
    code = c.exit_code
    exited = cond == "not-running" and not c.running
    check_now = False   # just told of the exit: look for the removal (--rm) at once
    try:
        while True:
            if exited and cond != "removed":
                break
            if not check_now:
                try:
                    code = await asyncio.wait_for(asyncio.shield(fut), 0.25)
                    exited = check_now = True
                    fut = d.hub.waiter(c.id)
                    continue
                except asyncio.TimeoutError:
                    pass
            check_now = False
            try:
                cur = await d.run(d.eng.get, c.id)
            except NotFound:
                # --rm: the shim removes the container, *then* reports the exit code
                if c.id in d.hub.watching and c.id not in d.hub.exits and not exited:
                    try:
                        code = await asyncio.wait_for(asyncio.shield(fut), 10)
                    except asyncio.TimeoutError:
                        pass
                code = d.hub.exits.get(c.id, code)
                break
            if not cur.running and cur.status != "created" and \
                    cur.state.get("FinishedAt", ZERO_TIME) != finished0:
                exited = True
                code = cur.exit_code
            elif cond == "not-running" and not cur.running:
                exited = True
                code = cur.exit_code
    finally:
        fut.cancel()
        left = [f for f in d.hub.waiters.get(c.id, []) if not f.done()]
        if left:
            d.hub.waiters[c.id] = left
        else:
            d.hub.waiters.pop(c.id, None)
    import json
    await resp.write(json.dumps({"StatusCode": code, "Error": None}).encode() + b"\n")
    await resp.write_eof()
    return resp


# ---- attach -----------------------------------------------------------------------
def _stream_type(tty: bool) -> str:
    return "application/vnd.docker.raw-stream" if tty else \
        "application/vnd.docker.multiplexed-stream"


async def attach(d, request):
    c = await d.run(d.eng.get, request.match_info["id"])
    cfg = c.config["Config"]
    tty = bool(cfg.get("Tty"))
    stdin = qbool(request, "stdin") and bool(cfg.get("OpenStdin"))
    stdout, stderr = qbool(request, "stdout"), qbool(request, "stderr")
    logs, stream = qbool(request, "logs"), qbool(request, "stream")
    if not (stdin or stdout or stderr):
        raise InvalidArgument("attach: choose at least one of stdin, stdout or stderr")
    # a TTY's input is scanned for the detach keys (daemon/hijack.py), checked up front
    keys = parse_detach_keys(request.query.get("detachKeys")) if tty and stdin else None
    if c.status == "created" and stream:
        p = Pending(tty, stdin, stdout, stderr)
        d.hub.park(c.id, p)
        raw = await hijack(request, _stream_type(tty))
        d.hijacked.add(raw)
        tasks = [asyncio.ensure_future(pump_output(raw, p.ours, tty)),
                 asyncio.ensure_future(raw.closed.wait())]
        feeder = asyncio.ensure_future(pump_input(raw, p.in_w, p.close_in, detach_keys=keys))
        if keys is not None:
            # a TTY's input ending (the keys, or the client closed it) ends the attach, as
            # dockerd's: our pipes close and the shim hands the pty over to its monitor.
            # (A client that exited is seen only as EOF until a write fails, and an idle
            # shell writes nothing.)
            tasks.append(feeder)
        try:
            await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for t in tasks + [feeder]:
                t.cancel()
            d.hub.drop(c.id, p)
            p.close_all()
            raw.close()
            d.hijacked.discard(raw)
        return _empty(200)
    # running or finished: replay (logs=1) and/or follow (stream=1) the log; stdin
    # goes to the FIFO an OpenStdin container keeps (containers.stdin: with a TTY,
    # its monitor copies it into the pty).
    # Without logs=1, where the log ends is taken *before* the client may send: what
    # the container answers to its first input is after it, never lost in between
    start = None if logs else log_end(c)
    log = await open_log(d, c, stream and c.running)   # before the hijack: see open_log
    try:
        raw = await hijack(request, _stream_type(tty))
    except BaseException:
        if log is not None:
            log.close()
        raise
    d.hijacked.add(raw)
    feeder = None
    if stdin and stream and c.running:
        in_fd = await d.run(d.eng.open_stdin, c.id)
        closed = []

        def close_in(fd=in_fd):
            if fd is not None and not closed:
                closed.append(True)
                os.close(fd)
        # the detach keys (a TTY's) end this attach: our writer goes, the input stays
        feeder = asyncio.ensure_future(pump_input(raw, in_fd, close_in, detach_keys=keys,
                                                  on_detach=close_in))

    async def copy_log():
        entries = follow_log(d, c, follow=stream and c.running, tail=None, start=start,
                             f=log) if log is not None else None
        async for s, text, _ts in entries or _nothing():
            if (s == "stdout" and not stdout) or (s == "stderr" and not stderr):
                continue
            data = text.encode()
            if not await raw.write(data if tty else frame(STDERR if s == "stderr" else STDOUT,
                                                           data)):
                break
    try:
        if feeder is None:
            await copy_log()
        else:   # the client may detach (or go away) while the log is quiet: stop then too
            copier = asyncio.ensure_future(copy_log())
            gone = asyncio.ensure_future(raw.closed.wait())
            ends = [copier, gone] + ([feeder] if keys is not None else [])   # (as above)
            try:
                await asyncio.wait(ends, return_when=asyncio.FIRST_COMPLETED)
                if copier.done():
                    copier.result()          # its error, if it had one
            finally:
                copier.cancel()
                gone.cancel()
    finally:
        if log is not None:
            log.close()
        if feeder is not None:
            feeder.cancel()
        raw.close()
        d.hijacked.discard(raw)
    return _empty(200)


async def resize(d, request):
    """Set the container's terminal size (``Engine.resize``: ``TIOCSWINSZ`` on its
    pty, reached through ``/proc/<pid>/fd/0``; the kernel sends SIGWINCH)."""
    h, w = qint(request, "h", 0), qint(request, "w", 0)
    await d.run(d.eng.resize, request.match_info["id"], h, w)
    return _empty(200)


# ---- logs -------------------------------------------------------------------------
def _entry(raw: bytes):
    import json
    try:
        e = json.loads(raw)
    except ValueError:
        return None
    return e.get("stream", "stdout"), e.get("log", ""), e.get("time", "")


def log_end(c) -> int:
    """The byte length of the container's log now (0 before its first line)."""
    try:
        return os.path.getsize(os.path.join(c.dir, "container.log"))
    except FileNotFoundError:
        return 0


async def open_log(d, c, follow: bool):
    """The container's log, opened for reading — or None when it has none and, with
    ``follow``, is no longer running.

    Callers open it *before* they answer (before the response headers, before the
    hijack): a client may remove the container as soon as it has the answer's
    headers (docker-py's ``containers.run(remove=True)``: ``logs(follow)``, ``wait``,
    ``remove``, and only then reads the body). An open file outlives the removal; a
    path opened later does not — the output was lost. Right after ``start`` the
    monitor may not have created the file yet: a running container's log is waited
    for (it appears within milliseconds). When the container is found stopped, the
    file is looked for once more: it may have been made, written and the exit
    recorded between the first look and that check (``echo hi`` takes no longer)."""
    path = os.path.join(c.dir, "container.log")
    while True:
        try:
            return open(path, "rb")
        except FileNotFoundError:
            pass
        if not follow or not await d.run(_still_running, d.eng, c.id):
            try:
                return open(path, "rb")
            except FileNotFoundError:
                return None
        await asyncio.sleep(0.02)


async def _nothing():
    """An empty log (a container that never wrote one)."""
    return
    yield


async def follow_log(d, c, follow: bool, tail: int | None, since: float = 0,
                     until: float = 0, start: int | None = None, f=None):
    """``(stream, text, time)`` from the container's json-file log; with ``follow``,
    keep reading until the container is no longer running. ``start``: a byte offset
    taken earlier (:func:`log_end`): only what was written after it, nothing before.
    ``f``: the log already opened by :func:`open_log` (else it is opened here)."""

    def keep(e):
        if e is None:
            return False
        if since or until:
            t = epoch(e[2])
            if since and t < since:
                return False
            if until and t > until:
                return False
        return True

    if f is None:
        f = await open_log(d, c, follow)
        if f is None:
            return
    with f:
        if start is not None:
            f.seek(start)
            data = b""
        else:
            data = await d.run(f.read)
        lines = data.split(b"\n")
        buf = lines.pop()
        if tail is not None and tail >= 0:
            lines = lines[-tail:] if tail else []
        for ln in lines:
            e = _entry(ln)
            if keep(e):
                yield e
        if not follow:
            return
        done = False
        while True:
            chunk = await d.run(f.read)
            if chunk:
                buf += chunk
                lines = buf.split(b"\n")
                buf = lines.pop()
                for ln in lines:
                    e = _entry(ln)
                    if keep(e):
                        yield e
                continue
            if done:
                if buf.strip():
                    e = _entry(buf)
                    if keep(e):
                        yield e
                return
            if not await d.run(_still_running, d.eng, c.id):
                done = True  # one more read: whatever the shim wrote before exiting
                continue
            await asyncio.sleep(0.1)


def _since(v: str | None) -> float:
    if not v:
        return 0.0
    try:
        return float(v)
    except ValueError:
        t = epoch(v)
        if not t:
            raise InvalidArgument(f"invalid since/until value {v!r}: give a unix timestamp")
        return float(t)


async def logs(d, request):
    from aiohttp import web
    c = await d.run(d.eng.get, request.match_info["id"])
    stdout, stderr = qbool(request, "stdout"), qbool(request, "stderr")
    if not (stdout or stderr):
        raise InvalidArgument("You must choose at least one stream")
    follow, ts = qbool(request, "follow"), qbool(request, "timestamps")
    tail_s = request.query.get("tail", "all")
    try:
        tail = None if tail_s in ("all", "") else int(tail_s)
    except ValueError:
        raise InvalidArgument(f"invalid tail value {tail_s!r}: a number or 'all'") from None
    since, until = _since(request.query.get("since")), _since(request.query.get("until"))
    tty = bool(c.config["Config"].get("Tty"))
    f = await open_log(d, c, follow)   # before the headers: see open_log
    try:
        resp = web.StreamResponse(headers={"Content-Type": _stream_type(tty)})
        await resp.prepare(request)
        if f is not None:
            async for s, text, t in follow_log(d, c, follow, tail, since, until, f=f):
                if (s == "stdout" and not stdout) or (s == "stderr" and not stderr):
                    continue
                data = ((t + " ") if ts else "").encode() + text.encode()
                await resp.write(data if tty else frame(STDERR if s == "stderr" else STDOUT,
                                                        data))
    finally:
        if f is not None:
            f.close()
    await resp.write_eof()
    return resp


# ---- list / inspect ---------------------------------------------------------------
async def ps(d, request):
    from ..present import matches as _match
    all_ = qbool(request, "all")
    limit = qint(request, "limit", -1)
    filters = parse_filters(request.query.get("filters"))
    known = {k: v for k, v in filters.items()
             if k in ("status", "name", "id", "label", "ancestor", "exited")}
    cs = await d.run(d.eng.ps)
    rows = []
    for c in cs:
        if not (all_ or c.running or c.status == "restarting" or "status" in known
                or "exited" in known):
            continue
        if known and not _match(c, known):
            continue
        rows.append(container_summary(c))
    if limit and limit > 0:
        rows = rows[:limit]
    return _json(rows)


async def inspect(d, request):
    c = await d.run(d.eng.get, request.match_info["id"])
    doc = container_inspect(c)
    if qbool(request, "size"):        # what it wrote; and with its image's files under it
        doc["SizeRw"] = await d.run(d.eng.rw_size, c.id)
        doc["SizeRootFs"] = doc["SizeRw"] + await d.run(_image_size, d.eng, c)
    endpoint_names(doc, c, request_version(request))
    return _json(doc)


def _still_running(eng, cid: str) -> bool:
    try:
        return bool(eng.get(cid).running)
    except NotFound:                             # removed meanwhile (--rm)
        return False


def _image_size(eng, c) -> int:
    try:
        return int(eng.image_resolve(c.config["Image"]).size or 0)
    except Exception:  # noqa: BLE001 — its image removed meanwhile (rmi -f)
        return 0


def endpoint_names(doc: dict, c, version: tuple[int, int]) -> None:
    """The names of each endpoint in an inspect, as the request's API version shows them.

    Before 1.44 ``Aliases`` is all a container answers to on a user network (its name,
    the aliases asked for, its short id: docker-compose 1.29 looks for the short id).
    1.44 adds ``DNSNames`` with that list; from 1.45 ``Aliases`` is exactly what the
    create or connect asked for, and only ``DNSNames`` has the rest."""
    if version < (1, 44):
        return
    from ..network.plan import planned
    plan = planned(c.config)
    nets = (doc.get("NetworkSettings") or {}).get("Networks") or {}
    for net, ep in nets.items():
        if not isinstance(ep, dict):
            continue
        names = ep.get("Aliases")
        ep["DNSNames"] = list(names) if names else None
        if version >= (1, 45):
            asked = (plan.get(net) or {}).get("Aliases")
            if asked is None:   # connected outside the plan: what is not name or id
                asked = [a for a in names or [] if a not in (c.name, c.id[:12])]
            ep["Aliases"] = list(asked) or None


async def top(d, request):
    return _json(await d.run(d.eng.top, request.match_info["id"]))


async def changes(d, request):
    kinds = {"C": 0, "A": 1, "D": 2}
    rows = await d.run(d.eng.diff, request.match_info["id"])
    return _json([{"Path": p, "Kind": kinds.get(k, 0)} for k, p in rows] or None)


# ---- stop / kill / restart / rm ----------------------------------------------------
async def stop(d, request):
    c = await d.run(d.eng.get, request.match_info["id"])
    if not c.running and c.status != "restarting":   # restarting: its restart is cancelled
        return _empty(304)
    await d.run(d.eng.stop, c.id, qint(request, "t"))
    return _empty(204)


async def kill(d, request):
    await d.run(d.eng.kill, request.match_info["id"],
                request.query.get("signal") or None)
    return _empty(204)


async def restart(d, request):
    c = await d.run(d.eng.get, request.match_info["id"])
    await d.run(d.eng.stop, c.id, qint(request, "t"))
    started = await d.run(d.eng.start, c.id)
    if started.reader is not None:
        d.hub.watch_exit(c.id, started)
    return _empty(204)


async def remove(d, request):
    await d.run(d.eng.remove, request.match_info["id"], force=qbool(request, "force"),
                volumes=qbool(request, "v"))
    return _empty(204)


async def pause(d, request):
    await d.run(d.eng.pause, request.match_info["id"])
    return _empty(204)


async def unpause(d, request):
    await d.run(d.eng.unpause, request.match_info["id"])
    return _empty(204)


async def rename(d, request):
    name = request.query.get("name")
    if not name:
        raise InvalidArgument("rename needs the new name (?name=)")
    await d.run(d.eng.rename, request.match_info["id"], name)
    return _empty(204)


async def update(d, request):
    body = await read_json(request, {}) or {}
    changes_ = update_changes(body)
    if all(v is None for v in changes_.values()):
        return _json({"Warnings": ["nothing to update: only Memory, MemorySwap, NanoCpus, "
                                   "CpuShares, CpusetCpus, CpusetMems, PidsLimit and "
                                   "RestartPolicy can be changed"]})
    await d.run(d.eng.update, request.match_info["id"], **changes_)
    return _json({"Warnings": []})


async def prune(d, request):
    removed = await d.run(d.eng.container_prune)
    return _json({"ContainersDeleted": removed or None, "SpaceReclaimed": 0})


async def commit(d, request):
    q = request.query
    ref = q.get("container")
    if not ref:
        raise InvalidArgument("commit needs ?container=")
    target = None
    if q.get("repo"):
        target = q["repo"] + (":" + q["tag"] if q.get("tag") else "")
    changes_ = q.getall("changes", [])
    changes_ = [ln for ch in changes_ for ln in ch.split("\n") if ln.strip()]
    img = await d.run(d.eng.commit, ref, target, message=q.get("comment", ""),
                      author=q.get("author", ""), changes=changes_,
                      pause=qbool(request, "pause", True))
    return _json({"Id": img.id}, 201)


# ---- stats ------------------------------------------------------------------------
async def stats(d, request):
    from aiohttp import web
    import json
    from .translate import _proc_stat_system_ns
    c = await d.run(d.eng.get, request.match_info["id"])
    stream = qbool(request, "stream", True)
    one_shot = qbool(request, "one-shot")

    async def sample():
        try:
            s = await d.run(d.eng.stats, c.id)
        except (NotFound, GlassboxError):
            s = None
        return s, _proc_stat_system_ns()

    prev, prev_sys = await sample()
    if not stream:
        if not one_shot and prev is not None:
            await asyncio.sleep(0.5)
            cur, cur_sys = await sample()
        else:
            cur, cur_sys, prev, prev_sys = prev, prev_sys, None, 0
        return _json(stats_doc(c, cur, prev, prev_sys, cur_sys))
    resp = web.StreamResponse(headers={"Content-Type": "application/json"})
    await resp.prepare(request)
    await resp.write(json.dumps(stats_doc(c, prev, None, 0, prev_sys)).encode() + b"\n")
    while True:
        await asyncio.sleep(1.0)
        cur, cur_sys = await sample()
        await resp.write(json.dumps(stats_doc(c, cur, prev, prev_sys, cur_sys)).encode() +
                         b"\n")
        prev, prev_sys = cur, cur_sys


ROUTES = [
    ("POST", "/containers/create", create), ("GET", "/containers/json", ps),
    ("POST", "/containers/prune", prune), ("POST", "/commit", commit),
    ("GET", "/containers/{id}/json", inspect), ("POST", "/containers/{id}/start", start),
    ("POST", "/containers/{id}/wait", wait), ("POST", "/containers/{id}/attach", attach),
    ("POST", "/containers/{id}/resize", resize), ("GET", "/containers/{id}/logs", logs),
    ("GET", "/containers/{id}/top", top), ("GET", "/containers/{id}/changes", changes),
    ("POST", "/containers/{id}/stop", stop), ("POST", "/containers/{id}/kill", kill),
    ("POST", "/containers/{id}/restart", restart), ("DELETE", "/containers/{id}", remove),
    ("POST", "/containers/{id}/pause", pause), ("POST", "/containers/{id}/unpause", unpause),
    ("POST", "/containers/{id}/rename", rename), ("POST", "/containers/{id}/update", update),
    ("GET", "/containers/{id}/stats", stats),
]
