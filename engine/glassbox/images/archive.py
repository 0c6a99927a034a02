"""``save`` and ``load``: images as one tar file, in the two formats tools agree on.

**docker-archive** (what ``docker save`` writes and ``docker load`` reads)::

    manifest.json          [{"Config": "<hex>.json", "RepoTags": ["busybox:latest"],
                             "Layers": ["<diff_id hex>/layer.tar", ...]}]
    repositories           {"busybox": {"latest": "<top layer hex>"}}
    <config hex>.json      the image config
    <diff_id hex>/layer.tar  each layer, *uncompressed* (so its sha256 is the diff_id)

**OCI image layout** (what skopeo, umoci, buildkit exchange)::

    oci-layout             {"imageLayoutVersion": "1.0.0"}
    index.json             manifests, each annotated with
                           org.opencontainers.image.ref.name = "<tag>"
    blobs/sha256/<hex>     manifests, configs, layers exactly as stored

Loading treats the archive as hostile: it is unpacked with the same safe
extractor as layers, paths named inside it are opened without following
symlinks, and every blob is verified against its digest before it enters the
store. The index is written last (``ImageStore.put_image``), so an interrupted
load leaves no half image.

``save`` writes the small metadata (manifest.json and the configs; oci-layout,
index.json, manifests and configs) before any layer, so ``load`` knows each layer
before its bytes come and skips the ones the store already has (they are not
read into the store again, and never trusted: the store's own copy stands in).
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import shutil
import tarfile
import zlib

from .._files import write_all
from ..errors import InvalidArgument
from . import compression as _compression
from . import layers as _layers
from . import manifest as _mf
from . import streams as _streams
from .reference import parse, validate_digest
from .store import DigestMismatch, Image, ImageStore, LayerRef, StagedLayer

FORMATS = ("docker", "oci")


# --------------------------------------------------------------------------- save

class _TarOut:
    """A streaming tar writer (the output may be a pipe) with fixed, neutral metadata.

    It writes exactly the bytes ``tarfile.open(mode="w|", format=PAX_FORMAT)`` would
    (headers from :meth:`tarfile.TarInfo.tobuf`, data padded to 512, two zero blocks
    and padding to a 10 KiB record at the end) without tarfile's stream buffer, which
    joins and slices — copies — every byte several times. A real file or pipe
    (``open()``, ``sys.stdout.buffer``) gets member data straight on its descriptor;
    any other writable object (the daemon's HTTP sink, BytesIO) gets ``write`` calls.
    """

    def __init__(self, fileobj):
        self.dirs: set[str] = set()
        self.offset = 0                 # bytes of tar written (or pending)
        self.pending = bytearray()      # headers, padding, small members
        self.fileobj, self.fd = fileobj, None
        if isinstance(fileobj, (io.BufferedWriter, io.BufferedRandom, io.FileIO)):
            fileobj.flush()
            self.fd = fileobj.fileno()

    # -- output
    def _write(self, data) -> None:
        if self.fd is not None:
            write_all(self.fd, data)
        else:
            self.fileobj.write(data)

    def _put(self, data) -> None:
        """Queue a small piece (a header, padding, a config) behind the pending ones."""
        self.pending += data
        self.offset += len(data)
        if len(self.pending) >= _streams.CHUNK:
            self._flush()

    def _flush(self) -> None:
        if self.pending:
            data, self.pending = self.pending, bytearray()  # a sink may keep what it got
            self._write(data)

    def _member(self, name, size) -> None:
        """The directories above ``name`` (once each), then ``name``'s header."""
        self.mkdirs(name)
        self._header(self._info(name, size))

    def _header(self, ti: tarfile.TarInfo) -> None:
        # tarfile's own header bytes: the encoding and errors a "w|" TarFile uses
        self._put(ti.tobuf(tarfile.PAX_FORMAT, tarfile.ENCODING, "strict"))

    def _pad(self, size) -> None:
        if size % tarfile.BLOCKSIZE:
            self._put(tarfile.NUL * (tarfile.BLOCKSIZE - size % tarfile.BLOCKSIZE))

    def _info(self, name, size=0, type_=tarfile.REGTYPE):
        ti = tarfile.TarInfo(name)
        ti.type, ti.size, ti.mtime = type_, size, 0
        ti.mode = 0o755 if type_ == tarfile.DIRTYPE else 0o644
        ti.uname = ti.gname = ""
        return ti

    # -- members
    def mkdirs(self, name):
        parts = name.split("/")[:-1]
        for i in range(1, len(parts) + 1):
            d = "/".join(parts[:i])
            if d not in self.dirs:
                self.dirs.add(d)
                self._header(self._info(d, type_=tarfile.DIRTYPE))

    def add_bytes(self, name, data: bytes):
        self._member(name, len(data))
        self._put(data)
        self._pad(len(data))

    def add_file(self, name, path):
        """The file at ``path`` as it is (a blob of the store)."""
        with open(path, "rb") as f:
            size = os.fstat(f.fileno()).st_size
            self._member(name, size)
            self._flush()
            left = size
            if self.fd is not None:
                with contextlib.suppress(OSError):  # no sendfile here: copy below
                    while left and (n := os.sendfile(self.fd, f.fileno(), size - left, left)):
                        left -= n
                f.seek(size - left)
            while left:
                chunk = f.read(min(left, _streams.CHUNK))
                if not chunk:
                    raise OSError(f"{path} shrank while it was saved")
                self._write(chunk)
                left -= len(chunk)
        self.offset += size
        self._pad(size)

    def add_hashed(self, name, size, stream) -> str | None:
        """``size`` bytes of ``stream`` as member ``name``; returns their sha256 digest,
        or None when the stream holds fewer or more bytes than that.

        The data go to the output as the stream hands them over (an inflater's own
        chunks, never joined) while a helper thread hashes them: hashlib, ISA-L and
        ``os.write`` release the GIL, so inflating/writing and hashing use both cores.
        The member is written before the caller can judge the digest: on a mismatch
        the output must be dropped.
        """
        self._member(name, size)
        self._flush()
        read = getattr(stream, "read_chunk", None) or stream.read
        off = _streams.Offload()
        try:
            h = _streams.OffloadedHash(off)
            left = size
            while left:
                chunk = read(min(left, _streams.CHUNK))
                if not chunk:
                    break
                h.update(chunk)
                self._write(chunk)
                left -= len(chunk)
            extra = read(1)
            off.finish()
        finally:
            off.close()
        if left or extra:
            return None
        self.offset += size
        self._pad(size)
        return "sha256:" + h.hexdigest()

    def close(self):
        self._put(tarfile.NUL * (2 * tarfile.BLOCKSIZE))
        if self.offset % tarfile.RECORDSIZE:     # a whole last record, as tar -b20 writes
            self._put(tarfile.NUL * (tarfile.RECORDSIZE - self.offset % tarfile.RECORDSIZE))
        self._flush()


def _images_for(store: ImageStore, refs) -> list[tuple[Image, list[str]]]:
    """Resolve refs; group tags per image (an id alone saves the image untagged)."""
    out: dict[str, tuple[Image, list[str]]] = {}
    for r in refs:
        im = store.resolve(r)
        entry = out.setdefault(im.id, (im, []))
        tag = None
        with contextlib.suppress(InvalidArgument):
            ref = parse(r)
            if not ref.digest and (ref.familiar in im.repo_tags):
                tag = ref.familiar
        if tag and tag not in entry[1]:
            entry[1].append(tag)
    if not out:
        raise InvalidArgument("save needs at least one image")
    return list(out.values())


def _uncompressed_layer(store: ImageStore, layer: LayerRef, tar: _TarOut, name: str):
    """Write ``layer`` as an uncompressed tar member, verifying it hashes to its diff_id.

    A blob that does not inflate (bad CRC, truncated) or inflates to anything else
    raises :class:`DigestMismatch`; the member is already (partly) written by then,
    so the output is no archive to keep (``save -o`` removes its temporary file)."""
    path = store.blob_path(layer.digest)
    if layer.digest == layer.diff_id:
        tar.add_file(name, path)
        return
    size = store.layer_meta(layer.diff_id).get("tar_size")
    try:
        if size is not None:
            with open(path, "rb") as raw:
                got = tar.add_hashed(name, size, _compression.open_decompressed(raw))
        else:
            # size unknown: decompress to tmp first (a tar header needs the size up front)
            tmp = store._tmp_path("save")
            try:
                with open(path, "rb") as raw, open(tmp, "wb") as f:
                    r = _streams.HashingReader(_compression.open_decompressed(raw))
                    shutil.copyfileobj(r, f, _streams.CHUNK)
                got = r.digest
                if got == layer.diff_id:
                    tar.add_file(name, tmp)
            finally:
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(tmp)
    except (EOFError, zlib.error, _compression._inflate_lib.error, InvalidArgument) as e:
        if isinstance(e, DigestMismatch):
            raise
        got = f"an error ({e})"
    if got != layer.diff_id:
        raise DigestMismatch(f"layer {layer.digest} does not decompress to {layer.diff_id} "
                             f"(got {got or 'a different length'}): the store is corrupt "
                             "(run `glassbox system check`)")


def save(store: ImageStore, refs, out_fileobj, format: str = "docker") -> None:  # noqa: A002
    """Write the images ``refs`` name as one tar to ``out_fileobj`` (may be a pipe)."""
    if format not in FORMATS:
        raise InvalidArgument(f"unknown archive format {format!r}: use 'docker' or 'oci'")
    images = _images_for(store, refs)
    tar = _TarOut(out_fileobj)
    if format == "docker":
        _save_docker(store, images, tar)
    else:
        _save_oci(store, images, tar)
    tar.close()


def _save_docker(store, images, tar):
    """manifest.json, repositories and the configs first, then the layers: a loader
    reading the tar front to back knows every layer before its bytes come (and can
    skip the ones it has). Layers shared by several images are written once."""
    manifest, repositories, configs, layers = [], {}, [], {}
    for im, tags in images:
        cfg_name = im.id.split(":", 1)[1] + ".json"
        configs.append((cfg_name, im.id))
        layer_names = []
        for l in im.layers:
            name = l.diff_id.split(":", 1)[1] + "/layer.tar"
            layers.setdefault(name, l)
            layer_names.append(name)
        manifest.append({"Config": cfg_name, "RepoTags": tags or None, "Layers": layer_names})
        for t in tags:
            r = parse(t)
            if im.layers:
                repositories.setdefault(r.familiar_name, {})[r.tag] = \
                    im.layers[-1].diff_id.split(":", 1)[1]
    tar.add_bytes("manifest.json", json.dumps(manifest).encode())
    if repositories:
        tar.add_bytes("repositories", json.dumps(repositories).encode())
    written = set()
    for cfg_name, image_id in configs:
        if cfg_name not in written:
            written.add(cfg_name)
            tar.add_bytes(cfg_name, store.read_blob(image_id))
    for name, l in layers.items():
        _uncompressed_layer(store, l, tar, name)


def _oci_manifest_bytes(store: ImageStore, im: Image) -> bytes:
    """The image's manifest as OCI (Docker v2s2 ones are converted; blobs are the same)."""
    raw = store.read_blob(im.manifest_digest)
    if (im.manifest.get("mediaType") or _mf.OCI_MANIFEST) == _mf.OCI_MANIFEST:
        return raw
    m = json.loads(raw)
    m["mediaType"] = _mf.OCI_MANIFEST
    m["config"]["mediaType"] = _mf.OCI_CONFIG
    for d in m["layers"]:
        d["mediaType"] = _mf.to_oci(d["mediaType"])
    return json.dumps(m, indent=2).encode()


def _save_oci(store, images, tar):
    """oci-layout, index.json, the manifests and configs first, then the layer blobs
    (so a loader knows every layer before its bytes come)."""
    import hashlib
    written: set[str] = set()

    def blob(digest, data=None):
        if digest in written:
            return
        written.add(digest)
        name = "blobs/sha256/" + digest.split(":", 1)[1]
        if data is not None:
            tar.add_bytes(name, data)
        else:
            tar.add_file(name, store.blob_path(digest))

    entries, metadata = [], []
    for im, tags in images:
        mbytes = _oci_manifest_bytes(store, im)
        mdigest = "sha256:" + hashlib.sha256(mbytes).hexdigest()
        metadata.append((im, mdigest, mbytes))
        desc = _mf.descriptor(_mf.OCI_MANIFEST, mdigest, len(mbytes))
        plat = {"architecture": im.config.get("architecture", "amd64"), "os": im.config.get("os", "linux")}
        if im.config.get("variant"):
            plat["variant"] = im.config["variant"]
        desc["platform"] = plat
        if not tags:
            entries.append(desc)
        for t in tags:
            r = parse(t)
            entries.append(dict(desc, annotations={
                _mf.REF_NAME_ANNOTATION: r.tag,
                _mf.CONTAINERD_NAME_ANNOTATION: str(r)}))
    index = {"schemaVersion": 2, "mediaType": _mf.OCI_INDEX, "manifests": entries}
    tar.add_bytes("oci-layout", json.dumps({"imageLayoutVersion": "1.0.0"}).encode())
    tar.add_bytes("index.json", json.dumps(index, indent=2).encode())
    for im, mdigest, mbytes in metadata:
        blob(mdigest, mbytes)
        blob(im.id)
    for im, _md, _mb in metadata:
        for l in im.layers:
            blob(l.digest)


# --------------------------------------------------------------------------- load

#: archive members up to this size are kept in memory (manifest.json, index.json,
#: configs, manifests); bigger ones are streamed to tmp/ (and unpacked) as they come
SMALL_MEMBER = 1 << 20


def load(store: ImageStore, src, *, repository: str | None = None) -> list[Image]:
    """Load images from a docker-archive or OCI layout: a tar stream, a tar file path
    or an OCI layout directory. Returns the loaded images.

    An OCI ``ref.name`` that is only a tag (``latest``) names no repository:
    pass ``repository="myimg"`` to tag it ``myimg:latest``, otherwise the
    image is loaded untagged (use its ID) — unless the entry also carries
    ``io.containerd.image.name`` (as docker's and glassbox's saves do).

    A tar is read **once**, front to back, whatever the order of its members
    (``docker save`` writes manifest.json last): small members are kept in
    memory; every big one is hashed, written to a work dir in ``tmp/`` and, when
    it looks like a layer, unpacked there in the same pass
    (:meth:`ImageStore.stage_layer`). Then the manifests decide: each layer is
    checked (blob digest, diff_id) and moved into the store, anything the
    manifests do not name is dropped with the work dir, and the images are
    listed last.

    A layer member the store already has is skipped unread when it is known
    before its bytes come: an OCI blob by its digest name, a docker-archive member
    once manifest.json and its config have come (``save`` writes them first;
    ``docker save`` puts manifest.json last, so its layers are all read).
    """
    if repository is not None:
        r = parse(repository, default_tag=False)
        if r.tag or r.digest:
            raise InvalidArgument(f"repository {repository!r} must not have a tag or digest")
    with store.lease():
        if isinstance(src, (str, os.PathLike)) and os.path.isdir(src):
            return _load_members(store, _DirMembers(store, os.fspath(src)), repository)
        work = store._tmp_path("load")
        os.mkdir(work, 0o700)
        try:
            if isinstance(src, (str, os.PathLike)):
                with open(src, "rb") as f:
                    members = _TarMembers.scan(store, f, work)
            else:
                members = _TarMembers.scan(store, src, work)
            return _load_members(store, members, repository)
        finally:
            shutil.rmtree(work, ignore_errors=True)


def _key(rel: str) -> str:
    try:
        parts = _layers.clean_member_name(rel)
    except ValueError as e:
        raise InvalidArgument(f"unsafe path in archive: {e}") from None
    if not parts:
        raise InvalidArgument(f"unsafe path in archive: {rel!r}")
    return "/".join(parts)


class _TarMembers:
    """What one pass over an archive tar kept: small members' bytes, big ones staged."""

    def __init__(self, store: ImageStore, work: str):
        self.store, self.work = store, work
        self.small: dict[str, bytes] = {}
        self.big: dict[str, StagedLayer] = {}
        self.other: set[str] = set()        # directories, links, ...: not regular files
        #: layer members whose bytes were skipped: the store's own copy stands in
        self.skipped: dict[str, StagedLayer] = {}
        self.committed: dict[int, str] = {}
        # docker-archive member -> diff_id, from manifest.json and the configs seen so far
        self._docker_layers: dict[str, str] = {}
        self._docker_meta: set[str] = {"manifest.json"}  # members that change that map
        self._docker_stale = False
        self._config_diff_ids: dict[str, object] = {}     # config member -> its diff_ids

    @classmethod
    def scan(cls, store: ImageStore, stream, work: str) -> "_TarMembers":
        self = cls(store, work)
        ts = _streams.TarStream(_compression.open_decompressed(stream, "auto"))
        # empty: "it has neither manifest.json nor index.json" comes later
        _layers.walk_tar(ts, lambda tar, m: self._member(ts, m), what="archive")
        return self

    def _member(self, ts: _streams.TarStream, m: tarfile.TarInfo) -> None:
        try:
            parts = _layers.clean_member_name(m.name)
        except ValueError:
            return          # never named by a sane manifest; refused if it is
        if not parts:
            return
        key = "/".join(parts)
        old = self.big.pop(key, None)     # a later member of the same name wins
        if old is not None:
            old.discard()
        self.small.pop(key, None)
        self.other.discard(key)
        self.skipped.pop(key, None)
        self._config_diff_ids.pop(key, None)
        meta = key in self._docker_meta     # manifest.json or a config it names
        if meta:
            self._docker_stale = True
        if not m.isreg() or m.sparse is not None:
            self.other.add(key)
            return
        if ts.tell() != m.offset_data:
            ts.seek(m.offset_data)
        known = None if meta else self._known_layer(key)
        if known is not None:
            # a layer the store has, named before its bytes come: skip them unread
            # (not hashed, not written, not unpacked); the store's copy stands in
            if ts.skip(m.size) != m.size:
                raise tarfile.ReadError("unexpected end of data")
            self.skipped[key] = known
            return
        if m.size <= SMALL_MEMBER:
            data = ts.read(m.size)
            if len(data) != m.size:
                raise tarfile.ReadError("unexpected end of data")
            self.small[key] = data
            return
        body = ts.limited(m.size)
        self.big[key] = self.store.stage_layer(body, self.work, unpack=None)
        if body.left:
            raise tarfile.ReadError("unexpected end of data")

    # -- layers known before their bytes come
    def _known_layer(self, key: str) -> StagedLayer | None:
        """The store's own copy of the layer member ``key`` names, if it has it.

        OCI blobs are named by their digest: one the store has, with the diff_id
        it unpacked to and that layer, is known by its name alone. A docker-archive
        member is known once manifest.json and its image's config have come: the
        config's diff_id names an uncompressed blob (the layer tar itself) and an
        unpacked layer. Either way, what stands in is only what the store verified
        when it took it in; the loader still checks it against the config's diff_ids.
        """
        digest = _oci_blob_digest(key)
        if digest is not None:
            diff_id = self.store.diff_id_of(digest) if self.store.has_blob(digest) else None
            if diff_id is not None and self.store.has_layer(diff_id):
                return _stored_layer(self.store, digest, diff_id)
        if self._docker_stale:
            self._docker_stale = False
            self._docker_layers = self._docker_plan()
        diff_id = self._docker_layers.get(key)
        if diff_id is not None and self.store.has_blob(diff_id) and self.store.has_layer(diff_id):
            return _stored_layer(self.store, diff_id, diff_id)
        return None

    def _docker_plan(self) -> dict[str, str]:
        """Layer member -> diff_id from manifest.json and the configs already read
        (anything malformed or contradictory is simply not known: the loader judges it)."""
        layers: dict[str, str] = {}
        self._docker_meta = {"manifest.json"}
        try:
            entries = json.loads(self.small["manifest.json"])
        except (KeyError, ValueError, RecursionError):
            return layers
        if not isinstance(entries, list):
            return layers
        clash = set()
        for e in entries:
            try:
                cfg_key = _key(e["Config"])
                self._docker_meta.add(cfg_key)
                diff_ids = self._config_diff_ids.get(cfg_key)
                if diff_ids is None and cfg_key in self.small:
                    try:
                        diff_ids = json.loads(self.small[cfg_key])["rootfs"]["diff_ids"]
                    except (KeyError, TypeError, ValueError, RecursionError):
                        diff_ids = False
                    self._config_diff_ids[cfg_key] = diff_ids
                paths = e["Layers"]
                if not isinstance(paths, list) or not isinstance(diff_ids, list) \
                        or len(paths) != len(diff_ids):
                    continue
                for rel, diff_id in zip(paths, diff_ids):
                    key = _key(rel)
                    validate_digest(diff_id)
                    if not diff_id.startswith("sha256:"):
                        continue
                    if layers.setdefault(key, diff_id) != diff_id:
                        clash.add(key)
            except (KeyError, TypeError, ValueError, AttributeError, InvalidArgument):
                continue
        for key in clash:
            del layers[key]
        return layers

    # -- what the manifests ask for
    def _lookup(self, rel: str):
        key = _key(rel)
        if key in self.small:
            return self.small[key]
        if key in self.big:
            return self.big[key]
        if key in self.skipped:
            return self.skipped[key]
        if key in self.other:
            raise InvalidArgument(f"{rel!r} in archive is not a regular file")
        raise InvalidArgument(f"archive lacks {rel!r}")

    def read(self, rel: str) -> bytes:
        got = self._lookup(rel)
        if isinstance(got, bytes):
            return got
        if got.blob_tmp is None:    # skipped as a known layer: it is no metadata
            raise InvalidArgument(f"{rel!r} in archive is a layer, not a JSON document")
        with open(got.blob_tmp, "rb") as f:
            return f.read()

    def staged(self, rel: str) -> StagedLayer:
        got = self._lookup(rel)
        if isinstance(got, bytes):   # a small layer: stage it now, from memory
            got = self.store.stage_layer(io.BytesIO(got), self.work, unpack=True)
            self.big[_key(rel)] = got
            self.small.pop(_key(rel), None)
        return got

    def commit(self, st: StagedLayer, diff_id: str, media_type: str | None) -> str:
        """Move a staged layer into the store once (images may share it)."""
        done = self.committed.get(id(st))
        if done is None:
            done = self.committed[id(st)] = self.store.commit_layer(st, diff_id, media_type)
        if done != diff_id:
            raise DigestMismatch(f"layer diff_id mismatch: the config says {diff_id}, "
                                 f"the tar hashes to {done}: corrupt or tampered layer")
        return done

    def exists(self, rel: str) -> bool:
        key = _key(rel)
        return key in self.small or key in self.big or key in self.skipped or key in self.other


class _DirMembers(_TarMembers):
    """An OCI layout directory: files opened without following symlinks, staged on demand."""

    def __init__(self, store: ImageStore, root: str):
        super().__init__(store, None)
        self.root = root

    def exists(self, rel: str) -> bool:
        return os.path.lexists(os.path.join(self.root, rel))

    def read(self, rel: str) -> bytes:
        fd = _layers.open_beneath(self.root, rel)
        with open(fd, "rb") as f:
            return f.read()

    def staged(self, rel: str) -> StagedLayer:
        key = _key(rel)
        st = self.big.get(key)
        if st is None:
            st = self._known_layer(key)     # an OCI blob the store has, unpacked
            if st is not None:
                self.big[key] = st
                return st
            if self.work is None:
                self.work = self.store._tmp_path("load")
                os.mkdir(self.work, 0o700)
            fd = _layers.open_beneath(self.root, rel)
            with open(fd, "rb") as f:
                st = self.big[key] = self.store.stage_layer(f, self.work, unpack=True)
        return st


def _oci_blob_digest(key: str) -> str | None:
    """``sha256:<hex>`` for an archive member named ``blobs/sha256/<hex>``, else None."""
    alg, _, rest = key.partition("/")
    if alg != "blobs" or not rest.startswith("sha256/"):
        return None
    digest = "sha256:" + rest[len("sha256/"):]
    try:
        return validate_digest(digest)
    except InvalidArgument:
        return None


def _stored_layer(store: ImageStore, digest: str, diff_id: str) -> StagedLayer | None:
    """A layer the store already has (blob ``digest`` unpacked to ``diff_id``), as a
    :class:`StagedLayer` with nothing to move: committing it only returns its diff_id."""
    try:
        with open(store.blob_path(digest), "rb") as f:
            head = f.read(512)
            size = os.fstat(f.fileno()).st_size
    except FileNotFoundError:
        return None
    return StagedLayer(blob_tmp=None, digest=digest, size=size,
                       compression=_compression.sniff_compression(head), diff_id=diff_id)


def _load_members(store, members: _TarMembers, repository) -> list[Image]:
    try:
        if members.exists("manifest.json"):
            return _load_docker(store, members)
        if members.exists("index.json"):
            return _load_oci(store, members, repository)
        raise InvalidArgument("not an image archive: it has neither manifest.json (docker save) "
                              "nor index.json (OCI image layout)")
    finally:
        if isinstance(members, _DirMembers) and members.work is not None:
            shutil.rmtree(members.work, ignore_errors=True)


_DOCKER_LAYER_TYPES = {None: _mf.DOCKER_LAYER, "gzip": _mf.DOCKER_LAYER_GZIP,
                       "zstd": _mf.OCI_LAYER_ZSTD}


def _load_docker(store, members: _TarMembers) -> list[Image]:
    try:
        entries = json.loads(members.read("manifest.json"))
    except ValueError:
        raise InvalidArgument("manifest.json in the archive is not valid JSON") from None
    if not isinstance(entries, list):
        raise InvalidArgument("manifest.json must be a list of images")
    plan = []
    for e in entries:
        config_bytes = members.read(e["Config"])
        try:
            config = json.loads(config_bytes)
        except ValueError:
            raise InvalidArgument(f"{e['Config']} in the archive is not valid JSON") from None
        diff_ids = (config.get("rootfs") or {}).get("diff_ids") or []
        paths = e.get("Layers") or []
        if len(paths) != len(diff_ids):
            raise InvalidArgument(f"{e['Config']}: {len(diff_ids)} diff_ids but {len(paths)} layers")
        for d in diff_ids:
            validate_digest(d)
        plan.append((e, config_bytes, paths, diff_ids))
    # every layer is checked before any is moved into the store
    staged = {}
    for _e, _c, paths, diff_ids in plan:
        for rel, diff_id in zip(paths, diff_ids):
            st = staged.get(rel) or members.staged(rel)
            staged[rel] = st
            if st.compression is None and st.digest != diff_id:
                raise DigestMismatch(f"layer {rel} hashes to {st.digest}, config says {diff_id}")
            if st.error is not None:
                raise st.error
            if st.diff_id is not None and st.diff_id != diff_id:
                raise DigestMismatch(f"layer {rel} unpacks to {st.diff_id}, config says {diff_id}")
    loaded = []
    for e, config_bytes, paths, diff_ids in plan:
        layers = []
        for rel, diff_id in zip(paths, diff_ids):
            st = staged[rel]
            media_type = _DOCKER_LAYER_TYPES.get(st.compression, _mf.DOCKER_LAYER)
            members.commit(st, diff_id, media_type)
            layers.append(LayerRef(st.digest, diff_id, st.size, media_type))
        tags = [parse(t).familiar for t in (e.get("RepoTags") or [])]
        loaded.append(store.put_image(config_bytes, layers, tags, _mf.DOCKER_MANIFEST))
    return loaded


def _blob_rel(digest: str) -> str:
    alg, _, hexpart = validate_digest(digest).partition(":")
    return f"blobs/{alg}/{hexpart}"


def _read_blob_member(members: _TarMembers, digest) -> bytes:
    import hashlib
    data = members.read(_blob_rel(digest))
    got = "sha256:" + hashlib.sha256(data).hexdigest()
    if got != digest:
        raise DigestMismatch(f"blob {digest} in the layout hashes to {got}")
    return data


def _tags_for(desc: dict, repository: str | None) -> list[str]:
    ann = desc.get("annotations") or {}
    full = ann.get(_mf.CONTAINERD_NAME_ANNOTATION)
    name = ann.get(_mf.REF_NAME_ANNOTATION)
    if full:
        return [parse(full).familiar]
    if not name:
        return []
    if repository:
        return [parse(f"{repository}:{name}").familiar]
    if "/" in name or ":" in name:
        with contextlib.suppress(InvalidArgument):
            return [parse(name).familiar]
    return []


def _load_oci(store, members: _TarMembers, repository) -> list[Image]:
    try:
        index = json.loads(members.read("index.json"))
    except ValueError:
        raise InvalidArgument("index.json in the layout is not valid JSON") from None
    plan = []
    for desc in index.get("manifests") or []:
        mt = desc.get("mediaType") or _mf.OCI_MANIFEST
        mdesc = desc
        if mt in _mf.INDEX_TYPES:
            nested = json.loads(_read_blob_member(members, desc["digest"]))
            mdesc = _mf.select_manifest(nested)
            mt = mdesc.get("mediaType") or _mf.OCI_MANIFEST
        if mt not in _mf.MANIFEST_TYPES:
            continue  # an artifact or something else we cannot run
        mbytes = _read_blob_member(members, mdesc["digest"])
        m = _mf.parse_manifest(mbytes)
        config_bytes = _read_blob_member(members, m["config"]["digest"])
        config = json.loads(config_bytes)
        diff_ids = (config.get("rootfs") or {}).get("diff_ids") or []
        if len(diff_ids) != len(m["layers"]):
            raise InvalidArgument(f"manifest {mdesc['digest']}: layers and diff_ids differ in number")
        staged = []
        for ld, diff_id in zip(m["layers"], diff_ids):
            validate_digest(diff_id)
            st = members.staged(_blob_rel(ld["digest"]))
            if st.digest != ld["digest"]:
                raise DigestMismatch(f"blob digest mismatch: expected {ld['digest']}, got {st.digest}")
            if st.error is not None:
                raise st.error
            if st.diff_id is not None and st.diff_id != diff_id:
                raise DigestMismatch(f"layer diff_id mismatch: the config says {diff_id}, "
                                     f"the tar hashes to {st.diff_id}: corrupt or tampered layer")
            staged.append(st)
        plan.append((desc, m, mbytes, config_bytes, diff_ids, staged))
    if not plan:
        raise InvalidArgument("the OCI layout's index.json lists no runnable image manifest")
    loaded = []
    for desc, m, mbytes, config_bytes, diff_ids, staged in plan:
        layers = []
        for ld, diff_id, st in zip(m["layers"], diff_ids, staged):
            members.commit(st, diff_id, ld.get("mediaType"))
            layers.append(LayerRef(st.digest, diff_id, st.size,
                                   ld.get("mediaType") or _mf.OCI_LAYER_GZIP))
        loaded.append(store.put_image(config_bytes, layers, _tags_for(desc, repository),
                                      manifest_bytes=mbytes))
    return loaded
