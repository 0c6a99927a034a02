"""Byte streams for moving layers: hash while reading, copy as little as possible.

A layer goes through several hands at once — a socket or an archive, an
inflater, a hasher, the blob file, the extractor — and Python's generic file
objects copy every byte at each hand-over. These small classes are the
plumbing that avoids it:

* :class:`HashingReader` — a reader that hashes what passes through it;
* :class:`TarStream` — a forward-only source :mod:`tarfile` can read (so pipes
  work) that hands a member's data straight to a file descriptor;
* :class:`Offload` / :class:`OffloadedHash` — one helper thread for hashing
  and writing while the caller inflates and extracts (hashlib, ISA-L and
  ``os.write`` release the GIL, so a layer uses two cores);
(``os.write`` until everything is written: :func:`glassbox._files.write_all`.)
"""

from __future__ import annotations

import hashlib
import io
import tarfile
import threading

from .._files import write_all

#: the unit of every copy: big enough to amortise a system call, small enough to stay in cache
CHUNK = 1 << 20


class HashingReader(io.RawIOBase):
    """A read-only stream that sha256-hashes and counts everything read through it."""

    def __init__(self, raw):
        self.raw, self.hash, self.count = raw, hashlib.sha256(), 0

    def readable(self):
        return True

    def readinto(self, b):
        data = self.raw.read(len(b))
        if not data:
            return 0
        n = len(data)
        b[:n] = data
        self.hash.update(data)
        self.count += n
        return n

    def read(self, n=-1):
        data = self.raw.read() if n is None or n < 0 else self.raw.read(n)
        if data:
            self.hash.update(data)
            self.count += len(data)
        return data

    def drain(self) -> None:
        while self.read(CHUNK):
            pass

    @property
    def digest(self) -> str:
        return "sha256:" + self.hash.hexdigest()


class _Prefixed(io.RawIOBase):
    """Give back bytes already read (for sniffing) before the rest of a stream."""

    def __init__(self, head: bytes, raw):
        self.head, self.raw = head, raw

    def readable(self):
        return True

    def read(self, n=-1):
        if self.head:
            if n is None or n < 0:
                data, self.head = self.head + self.raw.read(), b""
                return data
            data, self.head = self.head[:n], self.head[n:]
            return data
        return self.raw.read() if n is None or n < 0 else self.raw.read(n)

    def readinto(self, b):
        data = self.read(len(b))
        b[:len(data)] = data
        return len(data)


class TarStream:
    """A forward-only file object for :class:`tarfile.TarFile` that copies little.

    tarfile's own stream mode (``"r|"``) joins and slices its buffer on every
    read: each data byte is copied three times more. This reader gives
    tarfile's seekable mode what it needs — ``read``, ``tell`` and a ``seek``
    that only moves forward (or back within its buffer) — so it still works
    on pipes and sockets, and :meth:`copy_to_fd` moves a member's data from
    the source to a file descriptor through one reused buffer.

    With ``hasher`` every byte read from the source is hashed (the source is
    read to its end by :meth:`drain`), ``count`` says how many there were.
    """

    def __init__(self, raw, hasher=None, bufsize: int = CHUNK):
        self.raw, self.hash = raw, hasher
        # a source that makes its own chunks (an inflater) hands them over as they come;
        # a file reads straight into our buffer
        self._chunk = getattr(raw, "read_chunk", None)
        self._readinto = None if self._chunk else getattr(raw, "readinto", None)
        self.buf = bytearray(bufsize)
        self.view = memoryview(self.buf)
        self.start = self.end = 0   # unread buffered bytes are buf[start:end]
        self.pos = 0                # stream offset of buf[start]
        self.count = 0              # bytes taken from the source

    def readable(self):
        return True

    def _fill(self, mv) -> int:
        if self._readinto is not None:
            try:
                n = self._readinto(mv) or 0
            except NotImplementedError:     # a RawIOBase that only implements read()
                self._readinto = None
                return self._fill(mv)
            if n and self.hash is not None:
                self.hash.update(mv[:n])
        else:
            data = self._chunk(len(mv)) if self._chunk else self.raw.read(len(mv))
            n = len(data)
            mv[:n] = data
            if n and self.hash is not None:
                self.hash.update(data)
        self.count += n
        return n

    def _refill(self) -> bool:
        self.start, self.end = 0, self._fill(self.view)
        return self.end > 0

    def read(self, n: int = -1) -> bytes:
        if n is None or n < 0:
            n = 1 << 62
        if self.end - self.start >= n:  # the common case: a header from the buffer
            out = bytes(self.view[self.start:self.start + n])
            self.start += n
            self.pos += n
            return out
        parts = []
        while n > 0:
            if self.start == self.end and not self._refill():
                break
            k = min(n, self.end - self.start)
            parts.append(bytes(self.view[self.start:self.start + k]))
            self.start += k
            self.pos += k
            n -= k
        return parts[0] if len(parts) == 1 else b"".join(parts)

    def readinto(self, b) -> int:
        data = self.read(len(b))
        b[:len(data)] = data
        return len(data)

    def tell(self) -> int:
        return self.pos

    def seek(self, pos: int, whence: int = 0) -> int:
        if whence == 1:
            pos += self.pos
        elif whence != 0:
            raise io.UnsupportedOperation("TarStream seeks from the start or current position only")
        if pos < self.pos:
            back = self.pos - pos
            if back > self.start:
                raise tarfile.StreamError("seeking backwards is not allowed")
            self.start -= back
            self.pos = pos
            return pos
        self.skip(pos - self.pos)
        return self.pos

    def skip(self, n: int) -> int:
        """Read and drop ``n`` bytes (fewer at the end of the stream); returns how many."""
        done = min(n, self.end - self.start)
        self.start += done
        while done < n:
            k = self._fill(self.view[:min(n - done, len(self.buf))])
            if not k:
                break
            done += k
            self.start = self.end = 0
        self.pos += done
        return done

    def drain(self) -> None:
        """Read the source to its end (so a hasher sees all of it)."""
        self.pos += self.end - self.start
        self.start = self.end = 0
        while k := self._fill(self.view):
            self.pos += k

    def copy_to_fd(self, fd: int, n: int) -> None:
        """Write the next ``n`` bytes to ``fd``; a short stream is a :class:`tarfile.ReadError`."""
        k = min(n, self.end - self.start)
        if k:
            write_all(fd, self.view[self.start:self.start + k])
            self.start += k
            self.pos += k
            n -= k
        while n:
            # the buffer is empty: read straight into it, never past the n bytes
            k = self._fill(self.view[:min(n, len(self.buf))])
            if not k:
                self.start = self.end = 0
                raise tarfile.ReadError("unexpected end of data")
            write_all(fd, self.view[:k])
            self.pos += k
            n -= k
            self.start = self.end = 0

    def limited(self, n: int) -> "_Limited":
        """A readable stream of the next ``n`` bytes (a member's data, read in place)."""
        return _Limited(self, n)


class _Limited(io.RawIOBase):
    """The next ``left`` bytes of a :class:`TarStream`, read without a copy when possible."""

    def __init__(self, ts: TarStream, left: int):
        self.ts, self.left = ts, left

    def readable(self):
        return True

    def readinto(self, b) -> int:
        ts = self.ts
        want = min(len(b), self.left)
        if want <= 0:
            return 0
        avail = ts.end - ts.start
        if avail:
            k = min(want, avail)
            b[:k] = ts.view[ts.start:ts.start + k]
            ts.start += k
        else:
            k = ts._fill(memoryview(b).cast("B")[:want])
            if not k:
                return 0
        ts.pos += k
        self.left -= k
        return k

    def read(self, n: int = -1) -> bytes:
        if n is None or n < 0:
            n = self.left
        buf = bytearray(min(n, self.left))
        k = self.readinto(buf)
        return bytes(buf[:k]) if k != len(buf) else bytes(buf)


class Offload:
    """One helper thread that runs submitted calls in order, joined by :meth:`close`.

    Hashing and writing the blob go here while the caller inflates and
    extracts: hashlib, ISA-L and ``os.write`` release the GIL, so a layer uses
    both cores. A failure in the helper is raised by the next :meth:`submit`
    or by :meth:`finish`. No thread outlives the call that made it (DESIGN §3:
    the process must stay forkable).
    """

    DEPTH = 8

    def __init__(self):
        import queue
        self.q: queue.Queue = queue.Queue(self.DEPTH)
        self.error: BaseException | None = None
        self.thread: threading.Thread | None = threading.Thread(
            target=self._run, name="glassbox-offload", daemon=True)
        self.thread.start()

    def _run(self):
        while True:
            item = self.q.get()
            if item is None:
                return
            if self.error is None:
                fn, args = item
                try:
                    fn(*args)
                except BaseException as e:  # noqa: BLE001 (re-raised in the caller)
                    self.error = e

    def submit(self, fn, *args) -> None:
        if self.error is not None:
            raise self.error
        self.q.put((fn, args))

    def close(self) -> None:
        """Wait for everything submitted and end the thread (idempotent, never raises)."""
        if self.thread is not None:
            self.q.put(None)
            self.thread.join()
            self.thread = None

    def finish(self) -> None:
        """:meth:`close`, then raise what failed in the helper, if anything did."""
        self.close()
        if self.error is not None:
            raise self.error


class OffloadedHash:
    """A sha256 whose ``update`` runs on an :class:`Offload` (read it after ``finish``)."""

    def __init__(self, offload: Offload):
        self.offload, self.h = offload, hashlib.sha256()

    def update(self, data) -> None:
        self.offload.submit(self.h.update, data if isinstance(data, bytes) else bytes(data))

    def hexdigest(self) -> str:
        return self.h.hexdigest()


def _read_exact(f, n: int) -> bytes:
    buf = b""
    while len(buf) < n:
        chunk = f.read(n - len(buf))
        if not chunk:
            break
        buf += chunk
    return buf

