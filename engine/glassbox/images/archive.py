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
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import tarfile

from ..errors import InvalidArgument
from . import layers as _layers
from . import manifest as _mf
from .reference import parse, validate_digest
from .store import DigestMismatch, Image, ImageStore, LayerRef

FORMATS = ("docker", "oci")


# --------------------------------------------------------------------------- save

class _TarOut:
    """A streaming tar writer (the output may be a pipe) with fixed, neutral metadata."""

    def __init__(self, fileobj):
        self.tar = tarfile.open(fileobj=fileobj, mode="w|", format=tarfile.PAX_FORMAT,
                                bufsize=_layers.CHUNK)
        self.dirs: set[str] = set()

    def _info(self, name, size=0, type_=tarfile.REGTYPE):
        ti = tarfile.TarInfo(name)
        ti.type, ti.size, ti.mtime = type_, size, 0
        ti.mode = 0o755 if type_ == tarfile.DIRTYPE else 0o644
        ti.uname = ti.gname = ""
        return ti

    def mkdirs(self, name):
        parts = name.split("/")[:-1]
        for i in range(1, len(parts) + 1):
            d = "/".join(parts[:i])
            if d not in self.dirs:
                self.dirs.add(d)
                self.tar.addfile(self._info(d, type_=tarfile.DIRTYPE))

    def add_bytes(self, name, data: bytes):
        import io
        self.mkdirs(name)
        self.tar.addfile(self._info(name, len(data)), io.BytesIO(data))

    def add_stream(self, name, size, stream):
        self.mkdirs(name)
        self.tar.addfile(self._info(name, size), stream)

    def close(self):
        self.tar.close()


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
    """Write ``layer`` as an uncompressed tar member, verifying it hashes to its diff_id."""
    meta = store.layer_meta(layer.diff_id)
    size = meta.get("tar_size")
    path = store.blob_path(layer.digest)
    if layer.digest == layer.diff_id:
        tar.add_stream(name, os.path.getsize(path), open(path, "rb"))
        return
    if size is None:
        # size unknown: decompress to tmp first (a tar header needs the size up front)
        tmp = store._tmp_path("save")
        try:
            with open(path, "rb") as raw, open(tmp, "wb") as f:
                shutil.copyfileobj(_layers.open_decompressed(raw), f, _layers.CHUNK)
            with open(tmp, "rb") as f:
                tar.add_stream(name, os.path.getsize(tmp), f)
        finally:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)
        return
    with open(path, "rb") as raw:
        r = _layers.HashingReader(_layers.open_decompressed(raw))
        tar.add_stream(name, size, r)
        if r.read(1) or r.digest != layer.diff_id:
            raise DigestMismatch(f"layer {layer.digest} does not decompress to {layer.diff_id}: "
                                 "the store is corrupt (run `glassbox system check`)")


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
    manifest, repositories, written = [], {}, set()
    for im, tags in images:
        cfg_name = im.id.split(":", 1)[1] + ".json"
        tar.add_bytes(cfg_name, store.read_blob(im.id))
        layer_names = []
        for l in im.layers:
            name = l.diff_id.split(":", 1)[1] + "/layer.tar"
            if name not in written:
                written.add(name)
                _uncompressed_layer(store, l, tar, name)
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
            path = store.blob_path(digest)
            with open(path, "rb") as f:
                tar.add_stream(name, os.path.getsize(path), f)

    tar.add_bytes("oci-layout", json.dumps({"imageLayoutVersion": "1.0.0"}).encode())
    entries = []
    for im, tags in images:
        for l in im.layers:
            blob(l.digest)
        blob(im.id)
        mbytes = _oci_manifest_bytes(store, im)
        mdigest = "sha256:" + hashlib.sha256(mbytes).hexdigest()
        blob(mdigest, mbytes)
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
    tar.add_bytes("index.json", json.dumps(index, indent=2).encode())


# --------------------------------------------------------------------------- load

def load(store: ImageStore, src, *, repository: str | None = None) -> list[Image]:
    """Load images from a docker-archive or OCI layout: a tar stream, a tar file path
    or an OCI layout directory. Returns the loaded images.

    An OCI ``ref.name`` that is only a tag (``latest``) names no repository:
    pass ``repository="myimg"`` to tag it ``myimg:latest``, otherwise the
    image is loaded untagged (use its ID) — unless the entry also carries
    ``io.containerd.image.name`` (as docker's and glassbox's saves do).
    """
    if repository is not None:
        r = parse(repository, default_tag=False)
        if r.tag or r.digest:
            raise InvalidArgument(f"repository {repository!r} must not have a tag or digest")
    with store.lease():
        if isinstance(src, (str, os.PathLike)) and os.path.isdir(src):
            return _load_dir(store, os.fspath(src), owned=False, repository=repository)
        tmpdir = store._tmp_path("load")
        os.mkdir(tmpdir, 0o700)
        try:
            if isinstance(src, (str, os.PathLike)):
                with open(src, "rb") as f:
                    _layers.safe_extract(f, tmpdir, whiteouts="keep", same_owner=False)
            else:
                _layers.safe_extract(src, tmpdir, whiteouts="keep", same_owner=False)
            return _load_dir(store, tmpdir, owned=True, repository=repository)
        finally:
            shutil.rmtree(tmpdir, ignore_errors=True)


def _read_member(root: str, rel: str) -> bytes:
    fd = _layers.open_beneath(root, rel)
    with open(fd, "rb") as f:
        return f.read()


def _ingest_member(store: ImageStore, root: str, rel: str, expected: str | None,
                   owned: bool) -> tuple[str, int, str | None]:
    """Copy (or, from our own tmp dir, move) a blob file into the store; verify it."""
    if expected and store.has_blob(expected):
        path = store.blob_path(expected)
        with open(path, "rb") as f:
            return expected, os.path.getsize(path), _layers.sniff_compression(f.read(8))
    fd = _layers.open_beneath(root, rel)
    with open(fd, "rb") as f:
        compression = _layers.sniff_compression(f.read(8))
        f.seek(0)
        if owned:
            path = os.path.join(root, *_layers.clean_member_name(rel))
            digest, size = store._adopt_file(path, expected)
            return digest, size, compression
        digest, size = store.ingest_blob(f, expected_digest=expected)
        return digest, size, compression


def _load_dir(store, root, *, owned, repository) -> list[Image]:
    if os.path.lexists(os.path.join(root, "manifest.json")):
        return _load_docker(store, root, owned)
    if os.path.lexists(os.path.join(root, "index.json")):
        return _load_oci(store, root, owned, repository)
    raise InvalidArgument("not an image archive: it has neither manifest.json (docker save) "
                          "nor index.json (OCI image layout)")


_DOCKER_LAYER_TYPES = {None: _mf.DOCKER_LAYER, "gzip": _mf.DOCKER_LAYER_GZIP,
                       "zstd": _mf.OCI_LAYER_ZSTD}


def _load_docker(store, root, owned) -> list[Image]:
    try:
        entries = json.loads(_read_member(root, "manifest.json"))
    except ValueError:
        raise InvalidArgument("manifest.json in the archive is not valid JSON") from None
    if not isinstance(entries, list):
        raise InvalidArgument("manifest.json must be a list of images")
    loaded, seen_layers = [], {}
    for e in entries:
        config_bytes = _read_member(root, e["Config"])
        config = json.loads(config_bytes)
        diff_ids = (config.get("rootfs") or {}).get("diff_ids") or []
        paths = e.get("Layers") or []
        if len(paths) != len(diff_ids):
            raise InvalidArgument(f"{e['Config']}: {len(diff_ids)} diff_ids but {len(paths)} layers")
        layers = []
        for rel, diff_id in zip(paths, diff_ids):
            validate_digest(diff_id)
            if rel not in seen_layers:
                digest, size, comp = _ingest_member(store, root, rel, None, owned)
                if comp is None and digest != diff_id:
                    raise DigestMismatch(f"layer {rel} hashes to {digest}, config says {diff_id}")
                store.unpack_layer(digest, _DOCKER_LAYER_TYPES.get(comp), diff_id=diff_id)
                seen_layers[rel] = LayerRef(digest, diff_id, size, _DOCKER_LAYER_TYPES.get(comp, _mf.DOCKER_LAYER))
            layers.append(seen_layers[rel])
        tags = [parse(t).familiar for t in (e.get("RepoTags") or [])]
        loaded.append(store.put_image(config_bytes, layers, tags, _mf.DOCKER_MANIFEST))
    return loaded


def _blob_rel(digest: str) -> str:
    alg, _, hexpart = validate_digest(digest).partition(":")
    return f"blobs/{alg}/{hexpart}"


def _read_blob_member(root, digest) -> bytes:
    import hashlib
    data = _read_member(root, _blob_rel(digest))
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


def _load_oci(store, root, owned, repository) -> list[Image]:
    try:
        index = json.loads(_read_member(root, "index.json"))
    except ValueError:
        raise InvalidArgument("index.json in the layout is not valid JSON") from None
    loaded = []
    for desc in index.get("manifests") or []:
        mt = desc.get("mediaType") or _mf.OCI_MANIFEST
        mdesc = desc
        if mt in _mf.INDEX_TYPES:
            nested = json.loads(_read_blob_member(root, desc["digest"]))
            mdesc = _mf.select_manifest(nested)
            mt = mdesc.get("mediaType") or _mf.OCI_MANIFEST
        if mt not in _mf.MANIFEST_TYPES:
            continue  # an artifact or something else we cannot run
        mbytes = _read_blob_member(root, mdesc["digest"])
        m = _mf.parse_manifest(mbytes)
        config_bytes = _read_blob_member(root, m["config"]["digest"])
        config = json.loads(config_bytes)
        diff_ids = (config.get("rootfs") or {}).get("diff_ids") or []
        if len(diff_ids) != len(m["layers"]):
            raise InvalidArgument(f"manifest {mdesc['digest']}: layers and diff_ids differ in number")
        layers = []
        for ld, diff_id in zip(m["layers"], diff_ids):
            digest, size, _ = _ingest_member(store, root, _blob_rel(ld["digest"]), ld["digest"], owned)
            store.unpack_layer(digest, ld.get("mediaType"), diff_id=diff_id)
            layers.append(LayerRef(digest, diff_id, size, ld.get("mediaType") or _mf.OCI_LAYER_GZIP))
        loaded.append(store.put_image(config_bytes, layers, _tags_for(desc, repository),
                                      manifest_bytes=mbytes))
    if not loaded:
        raise InvalidArgument("the OCI layout's index.json lists no runnable image manifest")
    return loaded
