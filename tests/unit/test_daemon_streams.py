"""The daemon's one output read loop (daemon/hijack.py ``read_streams``) on real pipes:
every chunk of every fd delivered in order until all reach EOF, an early stop when the
client is gone, the event loop's readers removed however it ends, and its two users —
``pump_output`` (framed or raw to the client) and a detached exec's drain (read and
dropped, then the fds and stdin closed)."""

from __future__ import annotations

import asyncio
import os
import struct

import pytest

from glassbox.daemon.execs import _drain
from glassbox.daemon.hijack import pump_output, read_streams
from glassbox.daemon.translate import STDERR, STDOUT


class _Pipes:
    """Pipes made by a test; what the test did not close (``close``) or hand over to
    code that closes it (``forget``) is closed at the end — never a number twice,
    which by then could be someone else's fd."""

    def __init__(self):
        self.open: set[int] = set()

    def __call__(self) -> tuple[int, int]:
        r, w = os.pipe()
        self.open |= {r, w}
        return r, w

    def close(self, fd: int) -> None:
        self.forget(fd)
        os.close(fd)

    def forget(self, fd: int) -> None:
        self.open.discard(fd)


@pytest.fixture
def pipes():
    made = _Pipes()
    yield made
    for fd in made.open:
        os.close(fd)


def _watched(loop, fd: int) -> bool:
    """Whether the loop had a reader on ``fd`` (remove_reader says so; it removes it)."""
    return bool(loop.remove_reader(fd))


def test_every_chunk_of_every_fd_arrives_in_order_until_all_reach_eof(pipes):
    (r1, w1), (r2, w2) = pipes(), pipes()

    async def main():
        got: dict[int, bytes] = {r1: b"", r2: b""}

        async def deliver(fd, data):
            got[fd] += data
            return True
        task = asyncio.ensure_future(read_streams([r1, r2], deliver))
        for i in range(50):
            os.write(w1, b"a%d," % i)
            os.write(w2, b"b%d," % i)
            await asyncio.sleep(0)
        pipes.close(w1)
        await asyncio.sleep(0.01)
        assert not task.done()               # one fd still open: the loop goes on
        os.write(w2, b"last")
        pipes.close(w2)
        await task
        loop = asyncio.get_running_loop()
        assert not _watched(loop, r1) and not _watched(loop, r2)
        return got
    got = asyncio.run(main())
    assert got[r1] == b"".join(b"a%d," % i for i in range(50))
    assert got[r2] == b"".join(b"b%d," % i for i in range(50)) + b"last"
    assert not os.get_blocking(r1) and not os.get_blocking(r2)


def test_deliver_saying_false_stops_the_loop_and_removes_the_readers(pipes):
    r, w = pipes()

    async def main():
        seen = []

        async def deliver(fd, data):
            seen.append(data)
            return False                     # the client is gone
        os.write(w, b"first")
        await asyncio.wait_for(read_streams([r], deliver), 10)
        assert not _watched(asyncio.get_running_loop(), r)
        return seen
    assert asyncio.run(main()) == [b"first"]
    os.write(w, b"more")                     # the fd is the caller's: still open
    assert os.read(r, 10) == b"more"


def test_a_cancelled_loop_removes_its_readers(pipes):
    r, w = pipes()

    async def main():
        async def deliver(fd, data):
            return True
        task = asyncio.ensure_future(read_streams([r], deliver))
        await asyncio.sleep(0.01)
        loop = asyncio.get_running_loop()
        assert _watched(loop, r)             # it watches r (and this took the reader away) ...
        loop.add_reader(r, lambda: None)     # ... so put one back: the cancel must remove it
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert not _watched(asyncio.get_running_loop(), r)
    asyncio.run(main())


class _Client:
    """A hijacked connection's write side, recorded."""

    def __init__(self, gone_after: int | None = None):
        self.sent: list[bytes] = []
        self.gone_after = gone_after

    async def write(self, data: bytes) -> bool:
        self.sent.append(data)
        return self.gone_after is None or len(self.sent) < self.gone_after


def _frames(data: bytes) -> list[tuple[int, bytes]]:
    out = []
    while data:
        stream, size = struct.unpack(">BxxxI", data[:8])
        out.append((stream, data[8:8 + size]))
        data = data[8 + size:]
    return out


def test_pump_output_frames_each_stream_without_a_tty_and_sends_raw_with_one(pipes):
    (ro, wo), (re_, we) = pipes(), pipes()
    os.write(wo, b"out\n")
    pipes.close(wo)
    os.write(we, b"err\n")
    pipes.close(we)
    client = _Client()
    asyncio.run(pump_output(client, {ro: STDOUT, re_: STDERR}, tty=False))
    frames = _frames(b"".join(client.sent))
    assert sorted(frames) == [(STDOUT, b"out\n"), (STDERR, b"err\n")]

    r, w = pipes()
    os.write(w, b"tty bytes")
    pipes.close(w)
    client = _Client()
    asyncio.run(pump_output(client, {r: STDOUT}, tty=True))
    assert b"".join(client.sent) == b"tty bytes"


def test_pump_output_stops_when_the_client_is_gone(pipes):
    r, w = pipes()
    os.write(w, b"x")
    client = _Client(gone_after=1)

    async def main():
        await asyncio.wait_for(pump_output(client, {r: STDOUT}, tty=True), 10)
    asyncio.run(main())                      # w is still open: only the client ended it
    assert client.sent == [b"x"]


def test_a_detached_exec_drain_reads_more_than_a_pipe_holds_then_closes_everything(pipes):
    r, w = pipes()
    pipes.forget(r)                          # the drain closes it
    closed_stdin = []
    big = b"z" * (1 << 20)                   # 16 times a pipe's 64 KiB buffer

    async def main():
        drain = asyncio.ensure_future(_drain({r: STDOUT}, lambda: closed_stdin.append(True)))
        os.set_blocking(w, False)
        view = memoryview(big)
        for _ in range(100_000):             # only a drain that reads lets all of it in
            try:
                view = view[os.write(w, view):]
            except BlockingIOError:
                await asyncio.sleep(0.001)
            if not view:
                break
        assert not view, f"{len(view)} bytes could not be written: nobody read the pipe"
        pipes.close(w)
        await asyncio.wait_for(drain, 10)
    asyncio.run(main())
    assert closed_stdin == [True]
    with pytest.raises(OSError):
        os.fstat(r)                          # the drain closed the read end
