"""``GET /events``: what happened, as Docker's event stream.

The daemon is one front end among several (the CLI, a notebook, another
daemon all change the same state store), so its events do not come from its
own request handlers: the daemon's :class:`~glassbox.events.EventWatcher`
compares snapshots of the state store four times a second and turns every
difference into Docker's event objects (:mod:`glassbox.events`). A container
started by ``glassbox run`` in a terminal shows up in ``docker events`` like
one started through the API.

A bounded history (since the daemon started) answers ``since``; ``until`` ends
the stream; ``filters`` select by ``type``, ``event``, ``container``, ``image``,
``network``, ``volume`` and ``label``.
"""

from __future__ import annotations

import asyncio
import json
import time

from ..events import EventWatcher, matches


def _parse_time(value: str | None) -> float | None:
    if not value:
        return None
    try:
        return float(value)
    except ValueError:
        from ..present import parse_time
        return parse_time(value)


async def events(d, request):
    """``GET /events?since=&until=&filters=``: a JSON object per line."""
    from aiohttp import web
    from .translate import parse_filters
    watcher: EventWatcher = d.events
    watcher.start()
    filters = parse_filters(request.query.get("filters"))
    since = _parse_time(request.query.get("since"))
    until = _parse_time(request.query.get("until"))
    resp = web.StreamResponse(headers={"Content-Type": "application/json"})
    await resp.prepare(request)
    q: asyncio.Queue = asyncio.Queue()
    watcher.subscribers.add(q)
    try:
        if since is not None:
            for ev in list(watcher.history):
                if ev["time"] >= int(since) and (until is None or ev["time"] <= until) \
                        and matches(ev, filters):
                    await resp.write((json.dumps(ev) + "\n").encode())
        while True:
            timeout = None if until is None else until - time.time()
            if timeout is not None and timeout <= 0:
                break
            try:
                ev = await asyncio.wait_for(q.get(), timeout)
            except asyncio.TimeoutError:
                break
            if matches(ev, filters):
                await resp.write((json.dumps(ev) + "\n").encode())
    finally:
        watcher.subscribers.discard(q)
    return resp
