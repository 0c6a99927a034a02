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
import os
import shutil
import threading
import time

from ..errors import GlassboxError, RegistryError
from ..images import streams as _streams
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
                got = resp.read(min(left, _streams.CHUNK))
                if not got:
                    break
                left -= len(got)
        self.resp = resp

    def read(self, n: int = -1) -> bytes:
        if n is None or n < 0:
            n = _streams.CHUNK
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


def _check(got, digest: str, size: int | None) -> None:
    """The staged blob ``got`` must be ``size`` bytes hashing to ``digest``."""
    if size is not None and got.size != size:
        raise DigestMismatch(f"blob {digest} is {got.size} bytes, the manifest says {size}: "
                             "truncated or corrupt download, nothing stored")
    if got.digest != digest:
        raise DigestMismatch(f"blob digest mismatch: expected {digest}, got {got.digest}: "
                             "corrupt or tampered content, nothing stored")


def ingest_layer(store, stream, digest: str, size: int | None, diff_id: str | None,
                 progress=None) -> str:
    """Store a layer blob from ``stream`` and unpack it, in one pass; returns the diff_id.

    Verifies the blob's sha256 (``digest``) and size, and the tar's sha256
    (``diff_id``, when given), with the store's stage-then-commit ingest
    (:meth:`~glassbox.images.store.ImageStore.stage_layer`): the blob and the
    unpacked dir stay in ``tmp/`` until both digests match.
    """
    with store.lease():
        work = store._tmp_path("pull")
        os.mkdir(work, 0o700)
        try:
            st = store.stage_layer(stream, work, limit=size, progress=progress)
            # a garbled blob usually fails as a corrupt tar first: the digest says what it is
            _check(st, digest, size)
            return store.commit_layer(st, diff_id)
        finally:
            shutil.rmtree(work, ignore_errors=True)
