"""Exec endpoints: ``POST /containers/{id}/exec``, ``/exec/{id}/start|resize|json``.

An exec instance is a record kept in the daemon's memory (as dockerd does:
they do not survive a daemon restart). ``start`` runs it through
:mod:`._exec_runner` in a fresh single-threaded interpreter whose stdio are
pipes; their output is sent on the hijacked connection (framed unless Tty) and
the client's bytes go to its stdin. The exit code is recorded *before* the
stream closes, so the client's ``GET /exec/{id}/json`` right after sees it.
"""

from __future__ import annotations

import asyncio
import json
import os
import secrets
import subprocess
import sys

from ..errors import Conflict, InvalidArgument, NotFound
from .hijack import hijack, pump_input, pump_output, read_streams
from .server import json_response, read_json
from .translate import STDERR, STDOUT

_BOOT = ("import sys; sys.path.insert(0, sys.argv[1]); del sys.argv[1]; "
         "from glassbox.daemon._exec_runner import main; main()")


def _json(data, status: int = 200):
    return json_response(data, status)


async def exec_create(d, request):
    body = await read_json(request, required=True)
    if not isinstance(body, dict):
        raise InvalidArgument("the request body must be a JSON object")
    cmd = body.get("Cmd")
    if isinstance(cmd, str):
        cmd = [cmd]
    if not cmd or not all(isinstance(x, str) for x in cmd):
        raise InvalidArgument("No exec command specified")
    c = await d.run(d.eng.get, request.match_info["id"])
    if not c.running:
        raise Conflict(f"Container {c.id} is not running")
    if c.status == "paused":
        raise Conflict(f"Container {c.id} is paused, unpause the container before exec")
    from ..containers.detach import parse_detach_keys
    # (docker-py spells it detachKeys: dockerd's JSON decoding ignores the case)
    keys = body.get("DetachKeys") or body.get("detachKeys") or ""
    parse_detach_keys(keys or None, "DetachKeys")   # a bad one: 400 now
    eid = secrets.token_hex(32)
    d.execs[eid] = {
        "ID": eid, "ContainerID": c.id, "Running": False, "ExitCode": None, "Pid": 0,
        "OpenStdin": bool(body.get("AttachStdin")), "OpenStdout": bool(body.get("AttachStdout")),
        "OpenStderr": bool(body.get("AttachStderr")), "CanRemove": False,
        "DetachKeys": keys,
        "ProcessConfig": {"tty": bool(body.get("Tty")), "entrypoint": cmd[0],
                          "arguments": cmd[1:], "privileged": bool(body.get("Privileged")),
                          "user": body.get("User") or ""},
        "_env": list(body.get("Env") or []), "_workdir": body.get("WorkingDir") or None,
        "_started": False,
    }
    if len(d.execs) > 1024:  # forget the oldest finished ones
        for k in [k for k, v in d.execs.items() if v["_started"] and not v["Running"]][:256]:
            d.execs.pop(k, None)
    return _json({"Id": eid}, 201)


def _get(d, eid: str) -> dict:
    rec = d.execs.get(eid)
    if rec is None:
        raise NotFound(f"No such exec instance: {eid}")
    return rec


async def exec_inspect(d, request):
    rec = _get(d, request.match_info["id"])
    return _json({k: v for k, v in rec.items() if not k.startswith("_")})


async def exec_resize(d, request):
    from aiohttp import web
    _get(d, request.match_info["id"])
    return web.Response(status=201)  # accepted; the runner's own pty keeps its size


def _spawn(d, rec: dict, stdin, stdout, stderr) -> subprocess.Popen:
    import glassbox
    pc = rec["ProcessConfig"]
    payload = json.dumps({"root": d.eng.root, "id": rec["ContainerID"],
                          "argv": [pc["entrypoint"], *pc["arguments"]], "env": rec["_env"],
                          "workdir": rec["_workdir"], "user": pc["user"] or None,
                          "tty": pc["tty"], "interactive": rec["OpenStdin"],
                          "privileged": pc["privileged"]})
    pkg_parent = os.path.dirname(os.path.dirname(glassbox.__file__))
    return subprocess.Popen([sys.executable, "-I", "-S", "-c", _BOOT, pkg_parent, payload],
                            stdin=stdin, stdout=stdout, stderr=stderr, start_new_session=True)


async def exec_start(d, request):
    from aiohttp import web
    rec = _get(d, request.match_info["id"])
    body = await read_json(request, {}) or {}
    if rec["_started"]:
        raise Conflict(f"exec {rec['ID'][:12]} has already been started")
    c = await d.run(d.eng.get, rec["ContainerID"])
    if not c.running:
        raise Conflict(f"Container {c.id} is not running")
    rec["_started"] = True
    tty = rec["ProcessConfig"]["tty"]
    from ..containers.detach import parse_detach_keys
    keys = parse_detach_keys(body.get("DetachKeys") or rec["DetachKeys"] or None, "DetachKeys") \
        if tty and rec["OpenStdin"] else None
    detach = bool(body.get("Detach"))
    if detach:
        proc = await d.run(_spawn, d, rec, subprocess.DEVNULL, subprocess.DEVNULL,
                           subprocess.DEVNULL)
        rec["Running"], rec["Pid"] = True, proc.pid
        asyncio.ensure_future(_reap(d, rec, proc))
        return web.Response(status=200)
    ours: dict[int, int] = {}
    child: list = [subprocess.DEVNULL, subprocess.DEVNULL, subprocess.DEVNULL]
    in_w = None
    to_close = []
    if rec["OpenStdin"]:
        child[0], in_w = os.pipe2(os.O_CLOEXEC)
        to_close.append(child[0])
    if rec["OpenStdout"] or tty:
        r, child[1] = os.pipe2(os.O_CLOEXEC)
        ours[r] = STDOUT
        to_close.append(child[1])
    if rec["OpenStderr"] and not tty:
        r, child[2] = os.pipe2(os.O_CLOEXEC)
        ours[r] = STDERR
        to_close.append(child[2])
    elif tty and child[1] is not subprocess.DEVNULL:
        child[2] = child[1]
    in_box = [in_w]

    def close_in():
        if in_box[0] is not None:
            try:
                os.close(in_box[0])
            except OSError:
                pass
            in_box[0] = None
    try:
        proc = await d.run(_spawn, d, rec, *child)
    except BaseException:
        for fd in ours:
            os.close(fd)
        close_in()
        raise
    finally:
        for fd in to_close:
            try:
                os.close(fd)
            except OSError:
                pass
    rec["Running"], rec["Pid"] = True, proc.pid
    # reaped whatever becomes of this handler: aiohttp cancels it when the client goes
    # (a detach closes the connection too), and the exit code must still be recorded
    reaped = asyncio.ensure_future(_reap(d, rec, proc))
    raw = await hijack(request, "application/vnd.docker.raw-stream" if tty else
                       "application/vnd.docker.multiplexed-stream")
    d.hijacked.add(raw)
    out = asyncio.ensure_future(pump_output(raw, ours, tty))
    gone = asyncio.ensure_future(raw.closed.wait())
    detached: list[bool] = []
    feeder = asyncio.ensure_future(pump_input(raw, in_w, close_in, detach_keys=keys,
                                              on_detach=lambda: detached.append(True)))
    try:
        await asyncio.wait([out, gone], return_when=asyncio.FIRST_COMPLETED)
        if out.done():      # the output ended: the exit code is recorded before the stream closes
            await asyncio.shield(reaped)
    finally:
        for t in (out, gone, feeder):
            t.cancel()
        if detached:   # the process runs on: its terminal stays open, its output drained
            asyncio.ensure_future(_drain(dict(ours), close_in))
        else:
            close_in()
            for fd in ours:
                try:
                    os.close(fd)
                except OSError:
                    pass
        raw.close()
        d.hijacked.discard(raw)
    return web.Response(status=200)


async def _drain(fds: dict[int, int], on_done) -> None:
    """A detached exec's output, read and dropped until it ends (a closed pipe would
    kill the process writing to it); then its fds and stdin are closed."""
    async def drop(fd: int, data: bytes) -> bool:
        return True
    try:
        await read_streams(fds, drop)
    finally:
        for fd in fds:
            try:
                os.close(fd)
            except OSError:
                pass
        on_done()


async def _reap(d, rec: dict, proc: subprocess.Popen) -> None:
    code = await d.run(proc.wait)
    rec["ExitCode"] = code if code >= 0 else 128 - code
    rec["Running"] = False


ROUTES = [
    ("POST", "/containers/{id}/exec", exec_create), ("POST", "/exec/{id}/start", exec_start),
    ("POST", "/exec/{id}/resize", exec_resize), ("GET", "/exec/{id}/json", exec_inspect),
]
