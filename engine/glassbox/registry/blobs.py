"""Moving blobs: a download that resumes itself, and a one-pass layer ingest.

A layer is downloaded **once** and touched **once**: the bytes from the socket
are hashed (sha256 of the blob, checked against the manifest's digest),
written to ``tmp/`` as the blob, and at the same time decompressed and
extracted (the tar's own sha256 is the config's ``diff_id``). Only when both
digests match are the blob and the unpacked directory renamed into the store;
on any mismatch both temporary copies are deleted — nothing corrupt is kept.

If the connection breaks mid-blob, :class:`ResumableBlob` re-asks the registry
for the rest (``Range: bytes=<done>-``) and the extraction simply goes on.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import threading
import time

from ..errors import GlassboxError, RegistryError
from ..images import layers as _layers
from ..images.store import DigestMismatch
from .transport import NETWORK_ERRORS


class Cancelled(RegistryError):
    """Another layer of the same pull failed: this one stops too."""


class ResumableBlob:
    """A readable stream over ``GET /v2/<repo>/blobs/<digest>`` that survives drops.

    ``open_at(offset)`` returns a response positioned at ``offset`` (it sends a
    ``Range`` header; a server that ignores it answers 200 with the whole blob,
    and the bytes already seen are skipped). Up to ``retries`` reconnections.
    """

    def __init__(self, open_at, size: int | None, *, retries: int = 4,
                 cancel: threading.Event | None = None, what: str = "blob"):
        self.open_at, self.size, self.retries = open_at, size, retries
        self.cancel, self.what = cancel, what
        self.pos, self.resp, self.resumes = 0, None, 0

    def _open(self):
        resp = self.open_at(self.pos)
        if self.pos and resp.status == 200:  # Range ignored: skip what we already have
            left = self.pos
            while left:
                got = resp.read(min(left, _layers.CHUNK))
                if not got:
                    break
                left -= len(got)
        self.resp = resp

    def read(self, n: int = -1) -> bytes:
        if n is None or n < 0:
            n = _layers.CHUNK
        while True:
            if self.cancel is not None and self.cancel.is_set():
                raise Cancelled(f"{self.what}: cancelled because another download failed")
            try:
                if self.resp is None:
                    if self.size is not None and self.pos >= self.size:
                        return b""
                    self._open()
                data = self.resp.read(n)
                if data:
                    self.pos += len(data)
                    return data
                if self.size is None or self.pos >= self.size:
                    return b""
                raise ConnectionResetError(f"connection closed at byte {self.pos} of {self.size}")
            except GlassboxError:
                raise
            except NETWORK_ERRORS as e:
                self._drop()
                if self.resumes >= self.retries:
                    raise RegistryError(f"{self.what}: download failed at byte {self.pos} after "
                                        f"{self.resumes} resume(s): {type(e).__name__}: {e}") from None
                self.resumes += 1
                time.sleep(min(0.1 * 2 ** self.resumes, 2.0))

    def _drop(self):
        if self.resp is not None:
            with contextlib.suppress(Exception):
                self.resp.close()
            self.resp = None

    def close(self):
        if self.resp is not None:
            self.resp.close()  # keeps the socket when the body was read to its end
            self.resp = None


class _HashTee:
    """Read from ``src``; hash, count, write to ``sink`` and report progress."""

    def __init__(self, src, sink, progress=None, limit: int | None = None):
        self.src, self.sink, self.progress, self.limit = src, sink, progress, limit
        self.hash, self.count = hashlib.sha256(), 0

    def read(self, n=-1):
        data = self.src.read(_layers.CHUNK if n is None or n < 0 else n)
        if data:
            self.count += len(data)
            if self.limit is not None and self.count > self.limit:
                raise DigestMismatch(f"blob is larger than the {self.limit} bytes the manifest "
                                     "announced: refusing it")
            self.hash.update(data)
            self.sink.write(data)
            if self.progress:
                self.progress(self.count)
        return data

    def readinto(self, b):
        data = self.read(len(b))
        b[:len(data)] = data
        return len(data)

    def readable(self):
        return True

    def drain(self):
        while self.read(_layers.CHUNK):
            pass

    @property
    def digest(self) -> str:
        return "sha256:" + self.hash.hexdigest()


def _check(tee: _HashTee, digest: str, size: int | None) -> None:
    if size is not None and tee.count != size:
        raise DigestMismatch(f"blob {digest} is {tee.count} bytes, the manifest says {size}: "
                             "truncated or corrupt download, nothing stored")
    if tee.digest != digest:
        raise DigestMismatch(f"blob digest mismatch: expected {digest}, got {tee.digest}: "
                             "corrupt or tampered content, nothing stored")


def ingest_layer(store, stream, digest: str, size: int | None, diff_id: str | None,
                 progress=None) -> str:
    """Store a layer blob from ``stream`` and unpack it, in one pass; returns the diff_id.

    Verifies the blob's sha256 (``digest``) and size, and the tar's sha256
    (``diff_id``, when given). Uses the store's atomic extract-then-rename.
    (Candidate for ``ImageStore.ingest_layer``: it reaches into two of the
    store's private helpers.)
    """
    tmp = store._tmp_path("blob")
    with store.lease():
        try:
            with open(tmp, "wb") as f:
                tee = _HashTee(stream, f, progress, size)

                def commit_blob(_got_diff_id):
                    tee.drain()           # the compressed trailer the tar reader never asked for
                    _check(tee, digest, size)
                    f.flush()
                    os.replace(tmp, store.blob_path(digest))

                try:
                    got = store._extract_into_store(_layers.open_decompressed(tee, "auto"),
                                                    expected_diff_id=diff_id,
                                                    before_commit=commit_blob)
                except DigestMismatch:
                    raise
                except GlassboxError as e:
                    # a garbled blob usually fails as a corrupt tar first: say what it really is
                    if not isinstance(e, RegistryError):
                        mismatch = None
                        try:
                            tee.drain()
                            _check(tee, digest, size)
                        except DigestMismatch as m:
                            mismatch = m
                        except Exception:  # noqa: BLE001 — keep the original error
                            pass
                        if mismatch is not None:
                            raise mismatch from e
                    raise
        finally:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)
        store._record_diff_id(digest, got)
        return got


