"""The image store: content-addressed blobs, unpacked layers, tags.

Everything lives under one root (``GLASSBOX_ROOT``)::

    blobs/sha256/<hex>        manifests, configs, layer tars — named by their sha256,
                              verified while written, never changed afterwards
    layers/<diff_id hex>/     a layer unpacked once, shared by every image and container
                              that uses it (an overlay lowerdir as is)
    layers/<diff_id hex>.json its size and extraction warnings
    diffids/<blob hex>        which diff_id a (compressed) layer blob unpacks to
    images/index.json         the images (config digest -> manifest) and the tags
                              (``docker.io/library/busybox:latest`` -> manifest digest)
    tmp/                      partial writes; anything here after a crash is garbage
    locks/                    flock(2) files

Consistency rules (DESIGN §4):

* every file is written in ``tmp/`` and ``os.replace``-d into place, so a reader
  sees the old or the new version, never half;
* blobs and layers are written *before* the ``images/index.json`` that refers to
  them; the index is one JSON file replaced atomically under ``locks/index.lock``,
  so a crash never leaves a half image listed;
* writers hold a shared lease (``locks/gc.lock``, :meth:`ImageStore.lease`) while
  they add content; :meth:`ImageStore.gc` takes it exclusively, so it never deletes
  blobs a running pull or commit is about to reference, and then anything in ``tmp/``
  and any blob or layer no image refers to is garbage.

A multi-step writer (a registry pull: many ``ingest_blob`` + ``unpack_layer``,
then ``put_image``) should wrap the whole job in ``with store.lease():``.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import errno
import fcntl
import hashlib
import json
import os
import re
import shutil
import threading
import time
import uuid
from dataclasses import dataclass, field

from .._files import write_all
from ..errors import Conflict, GlassboxError, InvalidArgument, NotFound, RegistryError
from ._lazy import lazy_module

from . import manifest as _mf
from .reference import Reference, parse, validate_digest

_layers = lazy_module("glassbox.images.layers")  # tarfile & co: only when layers move
_streams = lazy_module("glassbox.images.streams")
_compression = lazy_module("glassbox.images.compression")

OCI = _mf.OCI_MANIFEST
DOCKER = _mf.DOCKER_MANIFEST

_HEX_RE = re.compile(r"^[a-f0-9]+$")


class DigestMismatch(RegistryError, InvalidArgument):
    """Content did not hash to the digest it was announced with (corrupt or hostile)."""

    http_status = 400


@dataclass(frozen=True)
class LayerRef:
    """One layer of an image: its blob (as shipped) and its diff_id (as unpacked)."""

    digest: str        # sha256 of the blob (compressed or not)
    diff_id: str       # sha256 of the uncompressed tar
    size: int          # blob size in bytes
    media_type: str = _mf.OCI_LAYER_GZIP


@dataclass(frozen=True)
class Image:
    """An image in the store (a pure value: reading it does no I/O)."""

    id: str
    manifest_digest: str
    config: dict
    layers: tuple[LayerRef, ...]
    repo_tags: tuple[str, ...]
    created: str
    size: int
    layer_dirs: tuple[str, ...]
    repo_digests: tuple[str, ...] = ()
    manifest: dict = field(default_factory=dict, compare=False, repr=False)
    manifest_media_type: str = OCI

    @property
    def short_id(self) -> str:
        """The 12 hex characters ``docker images`` prints."""
        return self.id.split(":", 1)[-1][:12]

    @property
    def container_config(self) -> dict:
        """``config["config"]``: Cmd, Entrypoint, Env, WorkingDir, User, ..."""
        return self.config.get("config") or {}

    @property
    def diff_ids(self) -> tuple[str, ...]:
        return tuple(l.diff_id for l in self.layers)


def _now() -> str:
    return _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="microseconds").replace("+00:00", "Z")


def _hex(digest: str) -> str:
    alg, _, h = validate_digest(digest).partition(":")
    if alg != "sha256":
        raise InvalidArgument(f"only sha256 digests are stored, not {alg}")
    return h


def _epoch(created: str | None) -> int:
    if not created:
        return 0
    try:
        s = created.replace("Z", "+00:00")
        # Go writes nanoseconds; Python parses at most microseconds
        s = re.sub(r"(\.\d{6})\d+", r"\1", s)
        return int(_dt.datetime.fromisoformat(s).timestamp())
    except ValueError:
        return 0


# --------------------------------------------------------------------------- locks

class _Lease:
    """A per-process shared flock on ``locks/gc.lock`` with a use count.

    flock locks belong to an open file description, so every ImageStore in
    this process for the same root shares one fd (otherwise our own shared
    lock would block our own gc).
    """

    _registry: dict[str, "_Lease"] = {}
    _registry_lock = threading.Lock()

    def __init__(self, path: str):
        self.path, self.fd, self.count, self.lock = path, None, 0, threading.Lock()

    @classmethod
    def for_path(cls, path: str) -> "_Lease":
        with cls._registry_lock:
            lease = cls._registry.get(path)
            if lease is None:
                lease = cls._registry[path] = cls(path)
            return lease

    def acquire(self):
        with self.lock:
            if self.count == 0:
                fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
                fcntl.flock(fd, fcntl.LOCK_SH)
                self.fd = fd
            self.count += 1

    def release(self):
        with self.lock:
            self.count -= 1
            if self.count == 0:
                os.close(self.fd)  # closing drops the flock
                self.fd = None


@contextlib.contextmanager
def _flock(path: str, how: int = fcntl.LOCK_EX, timeout: float | None = None):
    """Hold flock(how) on ``path``; with ``timeout`` give up (yield False) after it."""
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    try:
        if timeout is None:
            fcntl.flock(fd, how)
            yield True
            return
        deadline = time.monotonic() + timeout
        while True:
            try:
                fcntl.flock(fd, how | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    yield False
                    return
                time.sleep(0.02)
        yield True
    finally:
        os.close(fd)


# --------------------------------------------------------------------------- the store

class ImageStore:
    """Content-addressed OCI image store under ``root``; safe for many processes."""

    def __init__(self, root: str | os.PathLike, *, whiteouts: str | None = None):
        self.root = os.path.abspath(os.fspath(root))
        self.blobs_dir = os.path.join(self.root, "blobs", "sha256")
        self.layers_dir = os.path.join(self.root, "layers")
        self.diffids_dir = os.path.join(self.root, "diffids")
        self.images_dir = os.path.join(self.root, "images")
        self.tmp_dir = os.path.join(self.root, "tmp")
        self.locks_dir = os.path.join(self.root, "locks")
        self.index_path = os.path.join(self.images_dir, "index.json")
        #: how unpacked layers record deletions: overlay markers (or .wh. files when asked);
        # rootless too (issue 14): a 0:0 whiteout needs no CAP_MKNOD since Linux 5.8, and
        # opaque dirs get user.overlay.opaque (layers._whiteout)
        self.whiteouts = whiteouts or "overlay"
        os.makedirs(self.root, mode=0o711, exist_ok=True)
        for d in (self.blobs_dir, self.layers_dir, self.diffids_dir, self.images_dir,
                  self.locks_dir):
            os.makedirs(d, mode=0o711, exist_ok=True)
        os.makedirs(self.tmp_dir, mode=0o700, exist_ok=True)
        self._lease = _Lease.for_path(os.path.join(self.locks_dir, "gc.lock"))
        self._json_cache: dict[str, dict] = {}
        self._layer_meta_cache: dict[str, dict] = {}

    def __repr__(self):
        return f"ImageStore({self.root!r})"

    # ----------------------------------------------------------------- plumbing
    @contextlib.contextmanager
    def lease(self):
        """Protect content being added from a concurrent :meth:`gc` (see module doc)."""
        self._lease.acquire()
        try:
            yield self
        finally:
            self._lease.release()

    def _tmp_path(self, kind: str) -> str:
        return os.path.join(self.tmp_dir, f"{kind}-{os.getpid()}-{uuid.uuid4().hex[:12]}")

    def _atomic_write(self, path: str, data: bytes) -> None:
        tmp = self._tmp_path("file")
        with open(tmp, "wb") as f:
            f.write(data)
        os.replace(tmp, path)

    def _read_index(self) -> dict:
        try:
            with open(self.index_path, "rb") as f:
                idx = json.load(f)
        except FileNotFoundError:
            idx = {}
        idx.setdefault("version", 1)
        idx.setdefault("images", {})
        idx.setdefault("tags", {})
        return idx

    @contextlib.contextmanager
    def _index_txn(self):
        """Read-modify-write the index under its lock; the write is one os.replace."""
        with _flock(os.path.join(self.locks_dir, "index.lock")):
            idx = self._read_index()
            yield idx
            self._atomic_write(self.index_path, json.dumps(idx, indent=1, sort_keys=True).encode())

    # ----------------------------------------------------------------- blobs
    def blob_path(self, digest: str) -> str:
        return os.path.join(self.blobs_dir, _hex(digest))

    def has_blob(self, digest: str) -> bool:
        return os.path.isfile(self.blob_path(digest))

    def read_blob(self, digest: str) -> bytes:
        try:
            with open(self.blob_path(digest), "rb") as f:
                return f.read()
        except FileNotFoundError:
            raise NotFound(f"blob {digest} is not in the store: pull or load the image again") from None

    def _read_json_blob(self, digest: str) -> dict:
        obj = self._json_cache.get(digest)
        if obj is None:
            try:
                obj = json.loads(self.read_blob(digest))
            except ValueError:
                raise InvalidArgument(f"blob {digest} is not valid JSON") from None
            self._json_cache[digest] = obj
        return obj

    def put_blob(self, data: bytes, media_type: str | None = None) -> str:
        """Store ``data``; returns its digest (``media_type`` is informational)."""
        digest = "sha256:" + hashlib.sha256(data).hexdigest()
        path = self.blob_path(digest)
        if not os.path.exists(path):
            with self.lease():
                self._atomic_write(path, data)
        return digest

    def ingest_blob(self, stream, expected_digest: str | None = None,
                    expected_size: int | None = None, progress=None) -> tuple[str, int]:
        """Stream a blob into the store, verifying size and sha256 on the way.

        Written to ``tmp/`` and renamed into place only when the digest matches;
        on mismatch nothing is left behind and :class:`DigestMismatch` (a
        RegistryError and an InvalidArgument) is raised. ``progress(n)`` is
        called with the byte count so far.
        """
        if expected_digest is not None:
            _hex(expected_digest)
        h, n = hashlib.sha256(), 0
        tmp = self._tmp_path("blob")
        with self.lease():
            try:
                with open(tmp, "wb") as f:
                    while True:
                        chunk = stream.read(_streams.CHUNK)
                        if not chunk:
                            break
                        n += len(chunk)
                        if expected_size is not None and n > expected_size:
                            raise DigestMismatch(f"blob {expected_digest or ''} is larger than the "
                                                 f"announced {expected_size} bytes: refusing it")
                        h.update(chunk)
                        f.write(chunk)
                        if progress:
                            progress(n)
                digest = "sha256:" + h.hexdigest()
                if expected_size is not None and n != expected_size:
                    raise DigestMismatch(f"blob {expected_digest or digest} is {n} bytes, "
                                         f"expected {expected_size}: truncated or corrupt download")
                if expected_digest is not None and digest != expected_digest:
                    raise DigestMismatch(f"blob digest mismatch: expected {expected_digest}, "
                                         f"got {digest}: corrupt or tampered content, not stored")
                os.replace(tmp, self.blob_path(digest))
                return digest, n
            finally:
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(tmp)

    def _adopt_file(self, path: str, expected_digest: str | None = None) -> tuple[str, int]:
        """Move a file already in ``tmp/`` (same filesystem) into blobs after hashing it."""
        h, n = hashlib.sha256(), 0
        with open(path, "rb") as f:
            while chunk := f.read(_streams.CHUNK):
                h.update(chunk)
                n += len(chunk)
        digest = "sha256:" + h.hexdigest()
        if expected_digest is not None and digest != expected_digest:
            raise DigestMismatch(f"blob digest mismatch: expected {expected_digest}, got {digest}")
        os.replace(path, self.blob_path(digest))
        return digest, n

    # ----------------------------------------------------------------- layers
    def layer_dir(self, diff_id: str) -> str:
        """Where layer ``diff_id`` is (or would be) unpacked — an overlay lowerdir."""
        return os.path.join(self.layers_dir, _hex(diff_id))

    def has_layer(self, diff_id: str) -> bool:
        return os.path.isdir(self.layer_dir(diff_id))

    def layer_meta(self, diff_id: str) -> dict:
        """``{"diff_id", "size", "tar_size", "entries", "warnings"}`` of an unpacked layer."""
        meta = self._layer_meta_cache.get(diff_id)
        if meta is None:
            try:
                with open(self.layer_dir(diff_id) + ".json", "rb") as f:
                    meta = json.load(f)
            except (FileNotFoundError, ValueError):
                if not self.has_layer(diff_id):
                    raise NotFound(f"layer {diff_id} is not unpacked in the store") from None
                meta = {"diff_id": diff_id, "size": _du(self.layer_dir(diff_id)),
                        "tar_size": None, "entries": None, "warnings": []}
            self._layer_meta_cache[diff_id] = meta
        return meta

    def diff_id_of(self, blob_digest: str) -> str | None:
        """The diff_id a layer blob unpacked to, if it was unpacked here before."""
        try:
            with open(os.path.join(self.diffids_dir, _hex(blob_digest))) as f:
                return f.read().strip() or None
        except FileNotFoundError:
            return None

    def _record_diff_id(self, blob_digest: str, diff_id: str):
        path = os.path.join(self.diffids_dir, _hex(blob_digest))
        if not os.path.exists(path):
            self._atomic_write(path, diff_id.encode())

    def _extract_into_store(self, tar_stream, *, expected_diff_id: str | None = None,
                            before_commit=None) -> str:
        """Extract an (uncompressed) tar stream to tmp/, hash it, rename to layers/<diff_id>."""
        tmpdir = self._tmp_path("layer")
        os.mkdir(tmpdir, 0o755)
        try:
            report = _layers.safe_extract(tar_stream, tmpdir, whiteouts=self.whiteouts,
                                          compression=None, hash_tar=True)
            diff_id = report.tar_digest
            if expected_diff_id is not None and diff_id != expected_diff_id:
                raise DigestMismatch(f"layer diff_id mismatch: the config says {expected_diff_id}, "
                                     f"the tar hashes to {diff_id}: corrupt or tampered layer")
            if before_commit is not None:
                before_commit(diff_id)
            self._place_layer(tmpdir, diff_id, report)
            return diff_id
        finally:
            if os.path.lexists(tmpdir):
                shutil.rmtree(tmpdir, ignore_errors=True)

    def _place_layer(self, tmpdir: str, diff_id: str, report) -> None:
        """Rename an unpacked (verified) layer dir into ``layers/<diff_id>`` with its meta."""
        final = self.layer_dir(diff_id)
        if getattr(report, "owners", None) and os.geteuid() != 0:
            from ..rootless.ownership import restore   # image owners via the id map (issue 14)
            note = restore(tmpdir, report.owners)
            if note:
                report.warnings.append(note)
        meta = {"diff_id": diff_id, "size": report.size, "tar_size": report.tar_size,
                "entries": report.entries, "warnings": report.warnings[:100]}
        self._atomic_write(final + ".json", json.dumps(meta).encode())
        try:
            os.rename(tmpdir, final)
        except OSError as e:
            if e.errno not in (errno.EEXIST, errno.ENOTEMPTY):
                raise
            # someone else unpacked the same layer first: theirs is as good as ours
        self._layer_meta_cache.pop(diff_id, None)

    # ----------------------------------------------------------------- one-pass layer ingest
    def stage_layer(self, stream, workdir: str, *, unpack: bool | None = True,
                    limit: int | None = None, progress=None) -> "StagedLayer":
        """Read a layer blob from ``stream`` once: hash it, write it to ``workdir`` and
        unpack it beside it. Nothing enters the store until :meth:`commit_layer`.

        ``workdir`` is a private directory under ``tmp/`` (so renames are atomic and a
        crash leaves only garbage for :meth:`gc`). ``unpack=None`` unpacks only what
        looks like a layer (compressed, or a tar by its magic): for archive members
        whose role is not known yet. An unpack failure (a corrupt tar) does not raise
        here: the blob is still read to its end and hashed, the error is kept in
        ``StagedLayer.error`` and raised by :meth:`commit_layer` — so the caller can
        first tell a corrupt *download* (digest mismatch) from a bad layer. More than
        ``limit`` bytes raise :class:`DigestMismatch` at once.
        """
        blob_tmp = os.path.join(workdir, f"blob-{uuid.uuid4().hex[:12]}")
        fd = os.open(blob_tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o644)
        st = StagedLayer(blob_tmp=blob_tmp)
        off = _streams.Offload()
        try:
            tee = _BlobTee(stream, fd, limit, progress, off)
            head = tee.peek(512)
            st.compression = _compression.sniff_compression(head)
            if unpack is None:
                unpack = st.compression is not None or head[257:262] == b"ustar"
            if unpack:
                st.layer_tmp = os.path.join(workdir, f"layer-{uuid.uuid4().hex[:12]}")
                os.mkdir(st.layer_tmp, 0o755)
                plain = st.compression is None
                try:
                    src = tee if plain else _compression.open_decompressed(tee, st.compression)
                    tar_hash = None if plain else _streams.OffloadedHash(off)
                    st.report = _layers.safe_extract(src, st.layer_tmp, whiteouts=self.whiteouts,
                                                     compression=None, hash_tar=tar_hash)
                except RegistryError:
                    raise   # the download itself failed (too big, cancelled, broken)
                except GlassboxError as e:
                    st.error = e
                    shutil.rmtree(st.layer_tmp, ignore_errors=True)
                    st.layer_tmp = None
            tee.drain()
            off.finish()
            st.digest, st.size = tee.digest, tee.count
            if st.report is not None:
                if st.compression is None:
                    st.report.tar_digest, st.report.tar_size = st.digest, st.size
                else:
                    st.report.tar_digest = "sha256:" + tar_hash.hexdigest()
                st.diff_id = st.report.tar_digest
            return st
        except BaseException:
            off.close()
            st.discard()
            raise
        finally:
            off.close()
            os.close(fd)

    def commit_layer(self, st: "StagedLayer", expected_diff_id: str | None = None,
                     media_type: str | None = None) -> str:
        """Move a staged blob (and its unpacked dir) into the store; returns the diff_id.

        Raises the staged unpack error, or :class:`DigestMismatch` when the tar does
        not hash to ``expected_diff_id`` (then nothing is stored). The blob digest
        itself is the caller's to check (it knows what was announced).
        """
        if st.error is not None:
            raise st.error
        if st.diff_id is not None and expected_diff_id is not None \
                and st.diff_id != expected_diff_id:
            raise DigestMismatch(f"layer diff_id mismatch: the config says {expected_diff_id}, "
                                 f"the tar hashes to {st.diff_id}: corrupt or tampered layer")
        if st.blob_tmp is not None:
            os.replace(st.blob_tmp, self.blob_path(st.digest))
            st.blob_tmp = None
        if st.layer_tmp is None:    # not unpacked while read: from the stored blob
            if st.diff_id is None:
                st.diff_id = self.unpack_layer(st.digest, media_type, diff_id=expected_diff_id)
            return st.diff_id
        self._place_layer(st.layer_tmp, st.diff_id, st.report)
        if os.path.lexists(st.layer_tmp):
            shutil.rmtree(st.layer_tmp, ignore_errors=True)
        st.layer_tmp = None
        self._record_diff_id(st.digest, st.diff_id)
        return st.diff_id

    def unpack_layer(self, blob_digest: str, media_type: str | None = None,
                     diff_id: str | None = None) -> str:
        """Unpack a layer blob into ``layers/<diff_id>/`` (once) and return its diff_id.

        gzip, zstd and plain tars are recognized by their magic bytes (the
        media type is only a hint). Extraction is safe against hostile tars
        (:func:`glassbox.images.layers.safe_extract`) and atomic: it happens in
        ``tmp/`` and the directory is renamed into place at the end. When the
        expected ``diff_id`` is given it is verified.
        """
        known = diff_id or self.diff_id_of(blob_digest)
        if known and self.has_layer(known):
            self._record_diff_id(blob_digest, known)
            return known
        with self.lease(), _flock(os.path.join(self.locks_dir, f"layer-{_hex(blob_digest)[:16]}.lock")):
            known = diff_id or self.diff_id_of(blob_digest)
            if known and self.has_layer(known):
                return known
            try:
                raw = open(self.blob_path(blob_digest), "rb")
            except FileNotFoundError:
                raise NotFound(f"layer blob {blob_digest} is not in the store") from None
            with raw:
                stream = _compression.open_decompressed(raw, "auto")
                got = self._extract_into_store(stream, expected_diff_id=diff_id)
            self._record_diff_id(blob_digest, got)
            return got

    def create_layer(self, upper_dir: str | os.PathLike) -> LayerRef:
        """Turn an overlay upper dir (a container's R/W layer) into a stored layer.

        Writes a deterministic gzip'd OCI tar (whiteouts translated), stores it
        as a blob and unpacks it as ``layers/<diff_id>/`` so images built on it
        can be run at once. The same tree always gives the same digests.
        """
        with self.lease():
            tmp = self._tmp_path("blob")
            pipe = _QueuePipe()
            result: dict = {}

            def extract():  # unpack the same tar bytes while they are being written
                try:
                    result["diff_id"] = self._extract_into_store(pipe)
                except BaseException as e:  # noqa: BLE001 (re-raised in the caller)
                    result["error"] = e
                    pipe.abort()

            t = threading.Thread(target=extract, name="glassbox-unpack", daemon=True)
            t.start()
            try:
                try:
                    with open(tmp, "wb") as f:
                        w = _compression.LayerWriter(f)
                        w.tee = pipe.put
                        if os.geteuid() != 0:   # rootless: read it as root of the id map
                            from ..rootless.ownership import write_layer_tar
                            write_layer_tar(upper_dir, w)
                        else:
                            _layers.write_layer_tar(upper_dir, w)
                        w.finish()
                except _PipeAborted:
                    t.join()
                    raise result.get("error") or GlassboxError("layer extraction failed") from None
                pipe.close()
                t.join()
                if "error" in result:
                    raise result["error"]
                if result["diff_id"] != w.diff_id:
                    raise GlassboxError(f"layer changed while it was committed "
                                        f"({result['diff_id']} != {w.diff_id}): pause the container")
                os.replace(tmp, self.blob_path(w.digest))
            finally:
                pipe.abort()
                t.join()
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(tmp)
            self._record_diff_id(w.digest, w.diff_id)
            return LayerRef(w.digest, w.diff_id, w.blob_size, _mf.OCI_LAYER_GZIP)

    def import_layer(self, fileobj) -> LayerRef:
        """Store a layer from a tar stream (plain/gzip/zstd, may be a pipe) in one pass.

        The uncompressed tar is hashed (diff_id), re-compressed with gzip into a
        new blob and safely extracted, all while it is read once.
        """
        with self.lease():
            tmp = self._tmp_path("blob")
            try:
                with open(tmp, "wb") as f:
                    w = _compression.LayerWriter(f)
                    tee = _Tee(_compression.open_decompressed(fileobj, "auto"), w)

                    def commit_blob(diff_id):
                        w.finish()
                        f.flush()
                        os.replace(tmp, self.blob_path(w.digest))

                    diff_id = self._extract_into_store(tee, before_commit=commit_blob)
            finally:
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(tmp)
            self._record_diff_id(w.digest, diff_id)
            return LayerRef(w.digest, diff_id, w.blob_size, _mf.OCI_LAYER_GZIP)

    # ----------------------------------------------------------------- images
    def _image_id_of_manifest(self, manifest_digest: str) -> str:
        return _mf.parse_manifest(self._read_json_blob(manifest_digest))["config"]["digest"]

    def _build_image(self, manifest_digest: str, idx: dict) -> Image:
        m = _mf.parse_manifest(self._read_json_blob(manifest_digest))
        image_id = m["config"]["digest"]
        config = self._read_json_blob(image_id)
        diff_ids = list((config.get("rootfs") or {}).get("diff_ids") or [])
        descs = m.get("layers", [])
        if len(diff_ids) != len(descs):
            raise InvalidArgument(f"image {image_id}: config lists {len(diff_ids)} diff_ids "
                                  f"but the manifest {len(descs)} layers")
        layers = tuple(LayerRef(d["digest"], diff_ids[i], int(d.get("size", 0)),
                                d.get("mediaType", _mf.OCI_LAYER_GZIP))
                       for i, d in enumerate(descs))
        size = 0
        for l in layers:
            try:
                size += int(self.layer_meta(l.diff_id).get("size") or 0)
            except NotFound:
                pass
        tags, digests = [], []
        for t, md in sorted(idx["tags"].items()):
            try:
                if md == manifest_digest or self._image_id_of_manifest(md) == image_id:
                    tags.append(t)
            except GlassboxError:
                continue
        for t in tags:
            r = parse(t)
            dg = f"{r.familiar_name}@{idx['tags'][t]}"
            if dg not in digests:
                digests.append(dg)
        rec = idx["images"].get(image_id, {})
        return Image(
            id=image_id, manifest_digest=manifest_digest, config=config, layers=layers,
            repo_tags=tuple(parse(t).familiar for t in tags),
            created=config.get("created") or rec.get("added", ""),
            size=size, layer_dirs=tuple(self.layer_dir(l.diff_id) for l in layers),
            repo_digests=tuple(digests), manifest=m,
            manifest_media_type=m.get("mediaType") or OCI)

    def _lookup(self, s: str, idx: dict) -> tuple[str, str | None]:
        """(image_id, tag key or None) for a name, reference, id or id prefix."""
        if not isinstance(s, str) or not s:
            raise NotFound(f"No such image: {s!r}")
        if s.startswith("sha256:") and len(s) == 71:
            if s in idx["images"]:
                return s, None
            for md in set(idx["tags"].values()) | {r["manifest"] for r in idx["images"].values()}:
                if md == s:
                    return self._image_id_of_manifest(md), None
            raise NotFound(f"No such image: {s}")
        ref = None
        try:
            ref = parse(s)
        except InvalidArgument:
            pass
        if ref is not None:
            if ref.digest:
                for key, md in idx["tags"].items():
                    if md == ref.digest and parse(key).repository == ref.repository:
                        return self._image_id_of_manifest(md), None
                for iid, rec in idx["images"].items():
                    if rec.get("manifest") == ref.digest:
                        return iid, None
            else:
                key = str(ref)
                if key in idx["tags"]:
                    return self._image_id_of_manifest(idx["tags"][key]), key
        prefix = s[len("sha256:"):] if s.startswith("sha256:") else s
        if len(prefix) >= 4 and _HEX_RE.match(prefix):
            hits = [iid for iid in idx["images"] if iid[len("sha256:"):].startswith(prefix)]
            if len(hits) == 1:
                return hits[0], None
            if len(hits) > 1:
                raise Conflict(f"image ID prefix {prefix!r} is ambiguous ({len(hits)} images): "
                               "give more characters")
        raise NotFound(f"No such image: {s}")

    def _image(self, image_id: str, idx: dict, tag_key: str | None = None) -> Image:
        if tag_key is not None:
            return self._build_image(idx["tags"][tag_key], idx)
        rec = idx["images"].get(image_id)
        if rec is None:
            # tagged but its record vanished (should not happen): use the tag's manifest
            for md in idx["tags"].values():
                if self._image_id_of_manifest(md) == image_id:
                    return self._build_image(md, idx)
            raise NotFound(f"No such image: {image_id}")
        return self._build_image(rec["manifest"], idx)

    def resolve(self, ref_or_id: str) -> Image:
        """Find an image by ``name[:tag]``, full reference, ``name@digest``,
        ``sha256:<id>`` or a unique id prefix (>= 4 hex). NotFound otherwise."""
        idx = self._read_index()
        image_id, key = self._lookup(ref_or_id, idx)
        return self._image(image_id, idx, key)

    def exists(self, ref_or_id: str) -> bool:
        try:
            self.resolve(ref_or_id)
            return True
        except NotFound:
            return False

    def list(self) -> list[Image]:
        """Every image, newest first (dangling ones have no repo_tags)."""
        idx = self._read_index()
        out = []
        for iid in idx["images"]:
            try:
                out.append(self._image(iid, idx))
            except GlassboxError:
                continue  # unreadable record: `system check` will report it
        out.sort(key=lambda im: (im.created, im.id), reverse=True)
        return out

    def put_image(self, config: dict | bytes, layers, tags=(), manifest_media_type: str = OCI, *,
                  manifest_bytes: bytes | None = None, annotations: dict | None = None) -> Image:
        """Add an image: config blob, manifest blob, then (last, atomically) index + tags.

        ``config`` is a dict (serialized canonically; ``rootfs.diff_ids`` is
        filled from ``layers`` when missing) or the exact bytes of a pulled
        config. ``manifest_bytes`` keeps a pulled manifest byte for byte (its
        digest is what the registry said). Missing unpacked layers are unpacked
        from their blobs.
        """
        layers = list(layers)
        tag_refs = [self._tag_ref(t) for t in tags]
        with self.lease():
            if isinstance(config, (bytes, bytearray)):
                config_bytes = bytes(config)
                try:
                    cfg = json.loads(config_bytes)
                except ValueError:
                    raise InvalidArgument("image config is not valid JSON") from None
            else:
                cfg = json.loads(json.dumps(config))
                rootfs = cfg.setdefault("rootfs", {"type": "layers"})
                rootfs.setdefault("type", "layers")
                rootfs.setdefault("diff_ids", [l.diff_id for l in layers])
                cfg.setdefault("architecture", _mf.host_platform()["architecture"])
                cfg.setdefault("os", "linux")
                config_bytes = _mf.canonical_json(cfg)
            diff_ids = list((cfg.get("rootfs") or {}).get("diff_ids") or [])
            if diff_ids != [l.diff_id for l in layers]:
                raise InvalidArgument("image config rootfs.diff_ids do not match the layers given")
            for l in layers:
                if not self.has_blob(l.digest):
                    raise NotFound(f"layer blob {l.digest} is not in the store")
                if not self.has_layer(l.diff_id):
                    self.unpack_layer(l.digest, l.media_type, diff_id=l.diff_id)
            config_digest = self.put_blob(config_bytes)
            if manifest_bytes is not None:
                m = _mf.parse_manifest(manifest_bytes)
                if m["config"]["digest"] != config_digest:
                    raise DigestMismatch(f"manifest names config {m['config']['digest']}, "
                                         f"but the config hashes to {config_digest}")
                if [d["digest"] for d in m.get("layers", [])] != [l.digest for l in layers]:
                    raise InvalidArgument("manifest layers differ from the layers given")
                mbytes = bytes(manifest_bytes)
            else:
                m = _mf.make_manifest(config_digest, len(config_bytes), layers,
                                      manifest_media_type, annotations)
                mbytes = json.dumps(m, indent=2).encode()
            manifest_digest = self.put_blob(mbytes)
            with self._index_txn() as idx:
                rec = idx["images"].get(config_digest)
                if rec is None:
                    idx["images"][config_digest] = {"manifest": manifest_digest, "added": _now()}
                elif rec.get("manifest") != manifest_digest and not any(
                        md == rec.get("manifest") for md in idx["tags"].values()):
                    rec["manifest"] = manifest_digest
                for r in tag_refs:
                    idx["tags"][str(r)] = manifest_digest
            return self._build_image(manifest_digest, self._read_index())

    @staticmethod
    def _tag_ref(tag: str) -> Reference:
        r = parse(tag)
        if r.digest:
            raise InvalidArgument(f"refusing to create a tag with a digest reference: {tag!r}")
        return r

    def tag(self, source: str, target: str) -> None:
        """``docker tag``: point ``target`` at the image ``source`` names."""
        r = self._tag_ref(target)
        with self._index_txn() as idx:
            image_id, key = self._lookup(source, idx)
            md = idx["tags"][key] if key else (idx["images"].get(image_id) or {}).get("manifest")
            if md is None:
                raise NotFound(f"No such image: {source}")
            idx["tags"][str(r)] = md
            idx["images"].setdefault(image_id, {"manifest": md, "added": _now()})

    def untag(self, ref: str) -> None:
        key = str(parse(ref))
        with self._index_txn() as idx:
            if key not in idx["tags"]:
                raise NotFound(f"No such image: {ref}")
            del idx["tags"][key]

    def _tags_of(self, image_id: str, idx: dict) -> list[str]:
        out = []
        for t, md in sorted(idx["tags"].items()):
            try:
                if self._image_id_of_manifest(md) == image_id:
                    out.append(t)
            except GlassboxError:
                pass
        return out

    def remove(self, ref_or_id: str, *, force: bool = False, in_use=None) -> list[dict]:
        """``docker rmi``: untag, and delete the image when its last tag goes.

        * by name with other tags left: only that tag goes (``Untagged``);
        * by name, last tag: the image is deleted too — unless ``in_use(id)``,
          then Conflict, or with ``force`` it is only untagged (kept dangling
          while a container needs its layers);
        * by id: refused when several tags point at it (unless ``force``),
          refused when in use (with ``force``: untagged, kept).
        """
        in_use = in_use or (lambda _id: False)
        out: list[dict] = []
        deleted = None
        with self._index_txn() as idx:
            image_id, key = self._lookup(ref_or_id, idx)
            short = image_id.split(":", 1)[1][:12]
            tags = self._tags_of(image_id, idx)
            if key is not None:
                if len(tags) > 1:
                    del idx["tags"][key]
                    return [{"Untagged": parse(key).familiar}]
                if in_use(image_id):
                    if not force:
                        raise Conflict(f'conflict: unable to remove repository reference '
                                       f'"{ref_or_id}" (must force) - a container is using its '
                                       f'referenced image {short}: remove the container first or use -f')
                    del idx["tags"][key]
                    return [{"Untagged": parse(key).familiar}]
            else:
                if len(tags) > 1 and not force:
                    raise Conflict(f"conflict: unable to delete {short} (must be forced) - image "
                                   "is referenced in multiple repositories: remove the tags or use -f")
                if in_use(image_id) and not force:
                    raise Conflict(f"conflict: unable to delete {short} (must be forced) - image "
                                   "is being used by a container: remove it first or use -f")
            removed_manifests = [idx["tags"][t] for t in tags]
            for t in tags:
                del idx["tags"][t]
                out.append({"Untagged": parse(t).familiar})
            if in_use(image_id):
                return out  # forced while in use: untagged, kept for the container
            rec = idx["images"].pop(image_id, None)
            deleted = [idx_md for idx_md in ([rec.get("manifest")] if rec else []) if idx_md]
            deleted += removed_manifests
            out.append({"Deleted": image_id})
        if deleted is not None:
            out.extend({"Deleted": d} for d in self._collect(deleted))
        return out

    def prune(self, all: bool = False, in_use=None) -> list[str]:  # noqa: A002 (docker's flag)
        """``docker image prune [-a]``: delete dangling (or all unused) images; returns ids."""
        in_use = in_use or (lambda _id: False)
        with self._index_txn() as idx:
            tagged = set()
            for md in idx["tags"].values():
                with contextlib.suppress(GlassboxError):
                    tagged.add(self._image_id_of_manifest(md))
            victims = [iid for iid in idx["images"]
                       if (all or iid not in tagged) and not in_use(iid)]
            manifests = []
            for iid in victims:
                manifests.append(idx["images"].pop(iid).get("manifest"))
                for t in [t for t, md in idx["tags"].items() if iid in self._safe_id(md)]:
                    manifests.append(idx["tags"].pop(t))
        if victims:
            self._collect([m for m in manifests if m])
        return victims

    def _safe_id(self, md: str) -> tuple[str, ...]:
        try:
            return (self._image_id_of_manifest(md),)
        except GlassboxError:
            return ()

    # ----------------------------------------------------------------- garbage
    def _referenced(self, idx: dict) -> tuple[set[str], set[str]]:
        """(blob digests, diff_ids) that some image or tag needs."""
        blobs, diffs = set(), set()
        manifests = set(idx["tags"].values()) | {r.get("manifest") for r in idx["images"].values()}
        for md in manifests:
            if not md:
                continue
            blobs.add(md)
            try:
                m = _mf.parse_manifest(self._read_json_blob(md))
                cfg = self._read_json_blob(m["config"]["digest"])
            except GlassboxError:
                continue
            blobs.add(m["config"]["digest"])
            blobs.update(d["digest"] for d in m.get("layers", []))
            diffs.update((cfg.get("rootfs") or {}).get("diff_ids") or [])
        return blobs, diffs

    def _collect(self, manifest_digests) -> list[str]:
        """Delete the blobs/layers of removed images (given by manifest) that nothing else needs.

        Only when no writer holds a lease (non-blocking); otherwise left to gc().
        Returns the deleted diff_ids.
        """
        if self._lease.count:
            return []
        with _flock(os.path.join(self.locks_dir, "gc.lock"), fcntl.LOCK_EX, timeout=0) as got:
            if not got:
                return []
            idx = self._read_index()
            keep_blobs, keep_diffs = self._referenced(idx)
            removed: list[str] = []
            for md in dict.fromkeys(manifest_digests):
                self._delete_image_content(md, keep_blobs, keep_diffs, removed)
            return removed

    def _delete_image_content(self, md, keep_blobs, keep_diffs, removed):
        try:
            m = _mf.parse_manifest(self._read_json_blob(md))
            cfg = self._read_json_blob(m["config"]["digest"])
        except GlassboxError:
            return
        for d in [md, m["config"]["digest"]] + [l["digest"] for l in m.get("layers", [])]:
            if d not in keep_blobs:
                self._rm_blob(d)
        for diff in (cfg.get("rootfs") or {}).get("diff_ids") or []:
            if diff not in keep_diffs and self._rm_layer(diff):
                removed.append(diff)

    def _rm_blob(self, digest: str) -> int:
        path = self.blob_path(digest)
        try:
            n = os.path.getsize(path)
            os.unlink(path)
        except FileNotFoundError:
            return 0
        self._json_cache.pop(digest, None)
        with contextlib.suppress(FileNotFoundError):
            os.unlink(os.path.join(self.diffids_dir, _hex(digest)))
        return n

    def _rm_layer(self, diff_id: str) -> bool:
        d = self.layer_dir(diff_id)
        existed = os.path.isdir(d)
        if existed:
            # rename first so a half-deleted layer is never visible under its name
            trash = self._tmp_path("trash")
            os.rename(d, trash)
            shutil.rmtree(trash, ignore_errors=True)
            if os.path.lexists(trash) and os.geteuid() != 0:   # files of subordinate ids
                from ..rootless.cleanup import remove_tree
                remove_tree(trash)
        with contextlib.suppress(FileNotFoundError):
            os.unlink(d + ".json")
        self._layer_meta_cache.pop(diff_id, None)
        return existed

    def gc(self, timeout: float | None = 60.0) -> dict:
        """Remove every blob and layer no image needs, and all of ``tmp/`` (crash repair).

        Waits (up to ``timeout`` s) until no writer holds a lease. Returns what
        went: ``{"blobs": [...], "layers": [...], "tmp": [...], "reclaimed": bytes}``.
        """
        if self._lease.count:
            raise Conflict("gc() called while this process holds a store lease")
        with _flock(os.path.join(self.locks_dir, "gc.lock"), fcntl.LOCK_EX, timeout=timeout) as got:
            if not got:
                raise Conflict("the image store is busy (a pull, load or commit is running): "
                               "try again when it has finished")
            idx = self._read_index()
            keep_blobs, keep_diffs = self._referenced(idx)
            report = {"blobs": [], "layers": [], "tmp": [], "reclaimed": 0}
            for name in sorted(os.listdir(self.tmp_dir)):
                p = os.path.join(self.tmp_dir, name)
                report["reclaimed"] += _du(p)
                if os.path.isdir(p) and not os.path.islink(p):
                    shutil.rmtree(p, ignore_errors=True)
                    if os.path.lexists(p) and os.geteuid() != 0:   # rootless (issue 14)
                        from ..rootless.cleanup import remove_tree
                        remove_tree(p)
                else:
                    with contextlib.suppress(FileNotFoundError):
                        os.unlink(p)
                report["tmp"].append(name)
            for name in sorted(os.listdir(self.blobs_dir)):
                d = "sha256:" + name
                if not _HEX_RE.match(name) or len(name) != 64:
                    continue
                if d not in keep_blobs:
                    report["reclaimed"] += self._rm_blob(d)
                    report["blobs"].append(d)
            for name in sorted(os.listdir(self.layers_dir)):
                hexpart = name[:-5] if name.endswith(".json") else name
                if not _HEX_RE.match(hexpart) or len(hexpart) != 64:
                    continue
                diff = "sha256:" + hexpart
                if diff in keep_diffs:
                    continue
                if name.endswith(".json"):
                    if not os.path.isdir(os.path.join(self.layers_dir, hexpart)):
                        with contextlib.suppress(FileNotFoundError):
                            os.unlink(os.path.join(self.layers_dir, name))
                    continue
                report["reclaimed"] += _du(os.path.join(self.layers_dir, name))
                self._rm_layer(diff)
                report["layers"].append(diff)
            for name in os.listdir(self.diffids_dir):
                if not os.path.exists(os.path.join(self.blobs_dir, name)):
                    with contextlib.suppress(FileNotFoundError):
                        os.unlink(os.path.join(self.diffids_dir, name))
            return report

    def check(self) -> list[str]:
        """Problems ``system check`` should report (without repairing anything)."""
        problems = []
        idx = self._read_index()
        for t, md in idx["tags"].items():
            if not self.has_blob(md):
                problems.append(f"tag {t} points at missing manifest {md}")
        for iid, rec in idx["images"].items():
            try:
                im = self._build_image(rec["manifest"], idx)
            except GlassboxError as e:
                problems.append(f"image {iid}: {e}")
                continue
            for l in im.layers:
                if not self.has_layer(l.diff_id):
                    problems.append(f"image {iid}: layer {l.diff_id} is not unpacked")
        leftovers = os.listdir(self.tmp_dir)
        if leftovers:
            problems.append(f"{len(leftovers)} partial write(s) in {self.tmp_dir} (gc removes them)")
        return problems

    # ----------------------------------------------------------------- import / history / df
    def import_tarball(self, fileobj, ref: str | None = None, changes=(), message: str = "", *,
                       platform: dict | None = None) -> Image:
        """``docker import``: a rootfs tar (plain/gzip/zstd; may be a pipe) becomes a
        one-layer image; ``changes`` are Dockerfile instructions for its config."""
        from .changes import apply_changes

        tag_ref = self._tag_ref(ref) if ref else None
        with self.lease():
            layer = self.import_layer(fileobj)
            now = _now()
            plat = platform or _mf.host_platform()
            config = {
                "architecture": plat["architecture"], "os": plat.get("os", "linux"),
                "created": now,
                "config": {},
                "rootfs": {"type": "layers", "diff_ids": [layer.diff_id]},
                "history": [{"created": now, "created_by": "",
                             "comment": message or "Imported from -"}],
            }
            if plat.get("variant"):
                config["variant"] = plat["variant"]
            config = apply_changes(config, changes)
            if not config["config"]:
                config["config"] = None
            return self.put_image(config, [layer], [str(tag_ref)] if tag_ref else [])

    def history(self, ref: str) -> list[dict]:
        """``docker history`` rows, newest first: Id, Created, CreatedBy, Tags, Size, Comment."""
        im = self.resolve(ref)
        hist = im.config.get("history") or [{"created": im.created, "created_by": ""}
                                              for _ in im.layers]
        layer_iter = iter(im.layers)
        rows = []
        for h in hist:
            size = 0
            if not h.get("empty_layer"):
                l = next(layer_iter, None)
                if l is not None:
                    with contextlib.suppress(NotFound):
                        size = int(self.layer_meta(l.diff_id).get("size") or 0)
            rows.append({"Id": "<missing>", "Created": _epoch(h.get("created")),
                         "CreatedBy": h.get("created_by", ""), "Tags": None, "Size": size,
                         "Comment": h.get("comment", "")})
        rows.reverse()
        if rows:
            rows[0]["Id"] = im.id
            rows[0]["Tags"] = list(im.repo_tags) or None
        return rows

    def disk_usage(self) -> dict:
        """Sizes for ``system df``: each image's shared and unique layer bytes.

        ``{"images": [{id, repo_tags, created, size, shared_size, unique_size}],
        "layers": [{diff_id, size, images}], "layer_count", "layers_size",
        "blobs_size", "total_size"}``.

        A layer used by several images is stored once (``layers/<diff_id>``):
        its bytes count as *shared* for each of them and once in ``layers_size``.
        """
        images = self.list()
        users: dict[str, int] = {}
        for im in images:
            for d in set(im.diff_ids):
                users[d] = users.get(d, 0) + 1
        rows = []
        for im in images:
            shared = unique = 0
            for d in set(im.diff_ids):
                try:
                    sz = int(self.layer_meta(d).get("size") or 0)
                except NotFound:
                    sz = 0
                if users[d] > 1:
                    shared += sz
                else:
                    unique += sz
            rows.append({"id": im.id, "repo_tags": list(im.repo_tags), "created": im.created,
                         "size": im.size, "shared_size": shared, "unique_size": unique})
        layer_rows = []
        for d in users:
            try:
                sz = int(self.layer_meta(d).get("size") or 0)
            except NotFound:
                sz = 0
            layer_rows.append({"diff_id": d, "size": sz,
                               "images": [im.id for im in images if d in im.diff_ids]})
        layers_size = sum(r["size"] for r in layer_rows)
        blobs_size = sum(e.stat().st_size for e in os.scandir(self.blobs_dir) if e.is_file())
        return {"images": rows, "layers": layer_rows, "layer_count": len(layer_rows),
                "layers_size": layers_size, "blobs_size": blobs_size,
                "total_size": layers_size + blobs_size}


@dataclass
class StagedLayer:
    """A layer blob in a work dir under ``tmp/`` and (maybe) unpacked beside it, hashed."""

    blob_tmp: str | None = None
    digest: str = ""
    size: int = 0
    compression: str | None = None
    layer_tmp: str | None = None        # the unpacked dir, when it was unpacked
    diff_id: str | None = None          # sha256 of the tar, when it was unpacked
    report: object = None               # layers.ExtractReport
    error: GlassboxError | None = None  # why unpacking failed

    def discard(self) -> None:
        if self.blob_tmp is not None:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(self.blob_tmp)
            self.blob_tmp = None
        if self.layer_tmp is not None:
            shutil.rmtree(self.layer_tmp, ignore_errors=True)
            self.layer_tmp = None


class _BlobTee:
    """Read ``src``; sha256, count and write to ``fd`` every byte; ``peek`` gives bytes back.

    ``readinto`` reads straight into the caller's buffer (one copy from the source).
    """

    def __init__(self, src, fd: int, limit: int | None = None, progress=None, offload=None):
        self.src, self.fd, self.limit, self.progress = src, fd, limit, progress
        self.offload = offload
        self._readinto = getattr(src, "readinto", None)
        self.hash, self.count, self.head = hashlib.sha256(), 0, b""

    def readable(self):
        return True

    def _account(self, data) -> None:
        self.count += len(data)
        if self.limit is not None and self.count > self.limit:
            raise DigestMismatch(f"blob is larger than the {self.limit} bytes the manifest "
                                 "announced: refusing it")
        if self.offload is not None:
            self.offload.submit(self._hash_write, data if isinstance(data, bytes) else bytes(data))
        else:
            self._hash_write(data)
        if self.progress:
            self.progress(self.count)

    def _hash_write(self, data) -> None:
        self.hash.update(data)
        write_all(self.fd, data)

    def _read_src(self, n: int) -> bytes:
        data = self.src.read(n)
        if data:
            self._account(data)
        return data

    def peek(self, n: int) -> bytes:
        while len(self.head) < n:
            data = self._read_src(n - len(self.head))
            if not data:
                break
            self.head += data
        return self.head[:n]

    def read(self, n: int = -1) -> bytes:
        if n is None or n < 0:
            n = _streams.CHUNK
        if self.head:
            data, self.head = self.head[:n], self.head[n:]
            return data
        return self._read_src(n)

    def readinto(self, b) -> int:
        if self.head or self._readinto is None:
            data = self.read(len(b))
            b[:len(data)] = data
            return len(data)
        try:
            n = self._readinto(b) or 0
        except NotImplementedError:         # a RawIOBase that only implements read()
            self._readinto = None
            return self.readinto(b)
        if n:
            self._account(memoryview(b)[:n])
        return n

    def drain(self) -> None:
        self.head = b""
        while self._read_src(_streams.CHUNK):
            pass

    @property
    def digest(self) -> str:
        return "sha256:" + self.hash.hexdigest()


class _QueuePipe:
    """A bounded in-memory pipe between a writer thread and a reading extractor."""

    def __init__(self, depth: int = 16):
        import queue
        self.q = queue.Queue(depth)
        self.buf = b""
        self.eof = self.aborted = False

    def put(self, data: bytes):
        if self.aborted:
            raise _PipeAborted()
        self.q.put(bytes(data))

    def close(self):
        self.q.put(None)

    def abort(self):
        self.aborted = True
        import queue
        try:  # unblock a writer waiting on a full queue / a reader on an empty one
            while True:
                self.q.get_nowait()
        except queue.Empty:
            pass
        with contextlib.suppress(Exception):
            self.q.put_nowait(None)

    def read(self, n=-1):
        while not self.eof and (n < 0 or len(self.buf) < n):
            item = self.q.get()
            if item is None or self.aborted:
                self.eof = True
                break
            self.buf += item
        if n < 0:
            data, self.buf = self.buf, b""
        else:
            data, self.buf = self.buf[:n], self.buf[n:]
        return data


class _PipeAborted(Exception):
    pass


class _Tee:
    """Read from ``src`` and copy everything read into ``sink.write``."""

    def __init__(self, src, sink):
        self.src, self.sink = src, sink

    def read(self, n=-1):
        data = self.src.read(n)
        if data:
            self.sink.write(data)
        return data


def _du(path: str) -> int:
    """Bytes of regular files under ``path`` (hardlinks counted once)."""
    total, seen = 0, set()
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return 0
    if not os.path.isdir(path) or os.path.islink(path):
        return st.st_size
    for dirpath, dirnames, filenames in os.walk(path):
        for n in filenames:
            try:
                s = os.lstat(os.path.join(dirpath, n))
            except FileNotFoundError:
                continue
            if s.st_nlink > 1:
                if (s.st_dev, s.st_ino) in seen:
                    continue
                seen.add((s.st_dev, s.st_ino))
            if not os.path.islink(os.path.join(dirpath, n)):
                total += s.st_size
    return total
