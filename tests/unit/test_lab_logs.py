"""A huge log is paged, not loaded whole: the backwards block scan of
``glassbox.containers.logfile`` and the lab's log pages on a 200 MB log file.

The engine seam: a fake engine whose ``logs`` reads a real file exactly as
``ContainerManager.logs`` does (``last_lines`` for ``tail``, ``lines_from`` else).
Memory is measured with tracemalloc and reads are counted; no timing asserts.
"""

from __future__ import annotations

import io
import json
import random
import tracemalloc

import pytest

from glassbox.containers.logfile import count_lines, last_lines, lines_from
from glassbox.containers.manager import _entry

LINE_TEXT = 4000            # bytes of text per log line: 200 MB is ~50 000 lines
BIG = 200 * 1024 * 1024


class CountingFile(io.FileIO):
    """A raw file that counts the bytes read from it (wrapped in a buffer, as ``open``
    does: unbuffered ``readline`` would read byte by byte)."""

    read_bytes = 0

    def readinto(self, b):
        n = super().readinto(b)
        CountingFile.read_bytes += n or 0
        return n

    def read(self, n=-1):
        data = super().read(n)
        CountingFile.read_bytes += len(data)
        return data


class LogEngine:
    """Engine.logs over one file, read like ContainerManager.logs reads container.log."""

    def __init__(self, path):
        self.path = path

    def logs(self, ref, follow=False, tail=None, since=None):
        with io.BufferedReader(CountingFile(self.path, "r")) as f:     # as open(.., "rb")
            lines = last_lines(f, tail) if tail is not None and tail >= 0 else lines_from(f)
            for raw in lines:
                yield _entry(raw)

    def logs_count(self, ref):
        with io.BufferedReader(CountingFile(self.path, "r")) as f:
            return count_lines(f)


@pytest.fixture(scope="module")
def big_log(tmp_path_factory):
    path = tmp_path_factory.mktemp("biglog") / "container.log"
    pad = "x" * LINE_TEXT
    n = 0
    with open(path, "wb") as f:
        while f.tell() < BIG:
            batch = b"".join(json.dumps({"log": f"line {n + i} {'needle ' if (n + i) % 997 == 0 else ''}"
                                                f"{pad}\n", "stream": "stdout",
                                         "time": "2026-12-04T06:00:00Z"}).encode() + b"\n"
                             for i in range(256))
            f.write(batch)
            n += 256
    return str(path), n


@pytest.mark.parametrize("data, n", [(b"", 0), (b"a\n", 1), (b"a", 1), (b"a\nb", 2),
                                     (b"a\n\nb\n", 3), (b"x" * 70_000 + b"\n" + b"y", 2)])
def test_count_lines_counts_like_splitlines(data, n):
    assert count_lines(io.BytesIO(data), block=4096) == n == len(data.splitlines())


@pytest.mark.parametrize("trailing", [True, False])
def test_last_lines_matches_reading_everything(tmp_path, trailing):
    rng = random.Random(13)
    lines = [b"x" * rng.randrange(0, 300) + b"\n" for _ in range(400)]
    if not trailing:
        lines[-1] = lines[-1].rstrip(b"\n") or b"z"
    p = tmp_path / "log"
    p.write_bytes(b"".join(lines))
    for n in (0, 1, 2, 7, 64, 399, 400, 1000):
        for block in (1, 5, 64, 4096):
            with open(p, "rb") as f:
                got = last_lines(f, n, block)
                assert f.tell() == p.stat().st_size        # left at the end, for a follower
            assert got == (lines[-n:] if n else []), (n, block)
    (tmp_path / "empty").write_bytes(b"")
    with open(tmp_path / "empty", "rb") as f:
        assert last_lines(f, 5) == []


def test_tail_reads_only_the_blocks_it_shows(big_log):
    path, n = big_log
    CountingFile.read_bytes = 0
    got = list(LogEngine(path).logs("c", tail=10))
    assert [t.split()[1] for _, t, _ in got] == [str(i) for i in range(n - 10, n)]
    assert CountingFile.read_bytes < 20 * (LINE_TEXT + 200) + 2 * 64 * 1024


def _peak(fn):
    tracemalloc.start()
    try:
        out = fn()
        return out, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_the_labs_log_pages_stay_bounded_on_a_200_mb_log(big_log):
    from glassbox.lab import views
    path, n = big_log
    eng = LogEngine(path)
    limit = 100
    bound = 8 * 1024 * 1024              # a page of 100 lines is ~0.4 MB; the file is 200 MB

    last, peak = _peak(lambda: views.logs(eng, "c", limit=limit))
    assert peak < bound, f"last page: {peak} bytes traced"
    assert last["total"] == n and last["start"] == n - limit
    assert last["lines"][-1]["text"].startswith(f"line {n - 1} ")

    fwd, peak = _peak(lambda: views.logs(eng, "c", start=20_000, limit=limit))
    assert peak < bound, f"page at 20000: {peak} bytes traced"
    assert fwd["lines"][0]["text"].startswith("line 20000 ") and fwd["total"] == n

    hits = [i for i in range(n) if i % 997 == 0]
    found, peak = _peak(lambda: views.logs(eng, "c", limit=limit, query="needle"))
    assert peak < bound, f"search: {peak} bytes traced"
    assert found["total"] == len(hits)
    want = hits[-limit:]
    assert [int(ln["text"].split()[1]) for ln in found["lines"]] == want
