"""``/containers/{id}/archive`` (GET, HEAD, PUT) and ``/containers/{id}/export``.

What ``docker cp``, docker-py's ``get_archive``/``put_archive`` and ``docker export``
call. The work — paths resolved inside the container's root, Docker's path rules —
is :mod:`glassbox.containers.archive`, reached through ``Engine.archive_*``; this
module only moves the tar between the HTTP body and a pipe:

* GET/export: the engine writes the tar into a pipe from a worker thread; the
  handler streams the pipe's other end to the client as it fills;
* PUT: a worker thread copies the request body into a pipe; the engine unpacks from
  its other end. Neither side holds the whole archive in memory or on disk.

Statuses as Docker's: 404 for a missing container or path, 400 for a bad path
(not a directory, a hostile archive), 403 for a read-only rootfs or volume.
"""

from __future__ import annotations

import asyncio
import base64
import json
import os

from ..errors import Conflict, InvalidArgument
from .images import BodyReader
from .server import json_response, qbool

STAT_HEADER = "X-Docker-Container-Path-Stat"
CHUNK = 1 << 20


def _path(request) -> str:
    path = request.query.get("path")
    if not path:
        raise InvalidArgument("the path query parameter is required (the path in the "
                              "container, e.g. ?path=/etc)")
    return path


def _stat_header(doc: dict) -> str:
    return base64.b64encode(json.dumps(doc).encode()).decode()


def _forbidden_or_raise(e: Conflict):
    if "read-only" in str(e):
        return json_response({"message": str(e)}, 403)
    raise e


async def head(d, request):
    from aiohttp import web
    doc = await d.run(d.eng.archive_stat, request.match_info["id"], _path(request))
    return web.Response(status=200, headers={STAT_HEADER: _stat_header(doc),
                                             "Content-Type": "application/x-tar"})


async def _stream(d, request, job, headers: dict):
    """Run ``job(out)`` in the pool, streaming what it writes into ``out`` (a pipe)."""
    from aiohttp import web
    r, w = os.pipe2(os.O_CLOEXEC)
    out = os.fdopen(w, "wb", buffering=CHUNK)

    def work():
        try:
            job(out)
        finally:
            try:
                out.close()
            except BrokenPipeError:
                pass

    fut = asyncio.ensure_future(d.run(work))
    resp = None
    try:
        first = await d.run(os.read, r, CHUNK)
        if not first:
            await fut                # an error before the first byte: a proper status
        resp = web.StreamResponse(status=200, headers=headers)
        await resp.prepare(request)
        chunk = first
        while chunk:
            await resp.write(chunk)
            chunk = await d.run(os.read, r, CHUNK)
    finally:
        os.close(r)                  # a client gone: the writer gets EPIPE and stops
    try:
        await fut
    except (BrokenPipeError, ConnectionResetError):
        pass
    except Exception:
        if resp is None:
            raise
        # the headers are out: the truncated tar is the error the client sees
        # (Docker does the same); the daemon log has the cause
        import logging
        logging.getLogger("glassbox.daemon").exception("archive stream failed")
    await resp.write_eof()
    return resp


async def get(d, request):
    ref, path = request.match_info["id"], _path(request)
    doc = await d.run(d.eng.archive_stat, ref, path)
    return await _stream(d, request, lambda out: d.eng.archive_get(ref, path, out),
                         {"Content-Type": "application/x-tar",
                          STAT_HEADER: _stat_header(doc)})


async def export(d, request):
    ref = request.match_info["id"]
    await d.run(d.eng.get, ref)     # 404 before any header
    return await _stream(d, request, lambda out: d.eng.export(ref, out),
                         {"Content-Type": "application/x-tar"})


async def put(d, request):
    from aiohttp import web
    ref, path = request.match_info["id"], _path(request)
    await d.run(d.eng.get, ref)
    body = BodyReader(request, asyncio.get_running_loop())
    r, w = os.pipe2(os.O_CLOEXEC)

    def pump():
        try:
            while chunk := body.read(CHUNK):
                view = memoryview(chunk)
                while view:
                    view = view[os.write(w, view):]
        except (BrokenPipeError, OSError):
            pass                      # the extractor stopped (done, or an error it reports)
        finally:
            os.close(w)

    pumping = asyncio.ensure_future(d.run(pump))
    src = os.fdopen(r, "rb", buffering=0)
    try:
        await d.run(d.eng.archive_put, ref, path, src,
                    no_overwrite_dir_non_dir=qbool(request, "noOverwriteDirNonDir"),
                    copy_uid_gid=qbool(request, "copyUIDGID"))
    except Conflict as e:
        return _forbidden_or_raise(e)
    finally:
        src.close()
        await pumping
    return web.Response(status=200)


ROUTES = [
    ("HEAD", "/containers/{id}/archive", head), ("GET", "/containers/{id}/archive", get),
    ("PUT", "/containers/{id}/archive", put), ("GET", "/containers/{id}/export", export),
]
