"""``daemon.containers.open_log``: the log is opened before the daemon answers, and a
log that appears together with the container's exit is not missed (the races behind
docker-py's ``containers.run(remove=True)`` returning ``b""``; the real clients'
loop is tests/interop/test_daemon_build_options.py)."""

from __future__ import annotations

import asyncio
import os
from types import SimpleNamespace

from glassbox.daemon.containers import open_log


class _Daemon:
    """Just what open_log uses: ``run`` and the Engine's ``get`` (is it running?)."""

    def __init__(self, still_running):
        self.eng = SimpleNamespace(get=lambda cid: SimpleNamespace(running=still_running(cid)))

    async def run(self, fn, *args):
        return fn(*args)


def test_a_log_written_between_the_look_and_the_exit_is_found(tmp_path):
    """No file at the first look; by the time the state is read the monitor has
    made the log, written the line and recorded the exit: the log is still opened."""
    log = tmp_path / "container.log"

    def still_running(cid):
        log.write_bytes(b'{"log":"hi\\n","stream":"stdout","time":"t"}\n')
        return False
    c = SimpleNamespace(id="c1", dir=str(tmp_path))
    f = asyncio.run(open_log(_Daemon(still_running), c, follow=True))
    assert f is not None
    with f:
        assert b'"hi\\n"' in f.read()


def test_a_running_container_s_log_is_waited_for(tmp_path):
    looks = []

    def still_running(cid):
        looks.append(cid)
        if len(looks) == 3:                 # the monitor starts on the third look
            open(os.path.join(tmp_path, "container.log"), "wb").close()
        return True
    c = SimpleNamespace(id="c2", dir=str(tmp_path))
    f = asyncio.run(open_log(_Daemon(still_running), c, follow=True))
    assert f is not None and len(looks) == 3
    f.close()


def test_no_log_and_not_running_is_none(tmp_path):
    c = SimpleNamespace(id="c3", dir=str(tmp_path))
    assert asyncio.run(open_log(_Daemon(lambda cid: False), c, follow=True)) is None
    assert asyncio.run(open_log(_Daemon(lambda cid: True), c, follow=False)) is None
