"""Media types, manifests and indexes: the JSON that ties an image together.

An image is three kinds of content-addressed blobs:

* the **config** (``architecture``, ``os``, ``config{Cmd,Env,...}``,
  ``rootfs.diff_ids`` and ``history``): its sha256 is Docker's image ID;
* the **layers**: tar archives (gzip/zstd/plain) of filesystem changes;
* the **manifest** listing the config and the layers by digest, size and
  media type; its digest is what a registry serves (``busybox@sha256:...``).

An **index** (Docker calls it a manifest list) points at one manifest per
platform. Both the OCI image-spec media types and Docker's v2 schema 2 ones
are read; new manifests are written as OCI unless asked otherwise.
"""

from __future__ import annotations

import json

from ..errors import InvalidArgument

# OCI image-spec
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
OCI_LAYER = "application/vnd.oci.image.layer.v1.tar"
OCI_LAYER_GZIP = "application/vnd.oci.image.layer.v1.tar+gzip"
OCI_LAYER_ZSTD = "application/vnd.oci.image.layer.v1.tar+zstd"
OCI_LAYER_NONDIST_GZIP = "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip"
OCI = OCI_MANIFEST

# Docker image manifest v2, schema 2
DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
DOCKER_MANIFEST_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
DOCKER_CONFIG = "application/vnd.docker.container.image.v1+json"
DOCKER_LAYER = "application/vnd.docker.image.rootfs.diff.tar"
DOCKER_LAYER_GZIP = "application/vnd.docker.image.rootfs.diff.tar.gzip"
DOCKER_FOREIGN_LAYER_GZIP = "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip"
DOCKER = DOCKER_MANIFEST

MANIFEST_TYPES = (OCI_MANIFEST, DOCKER_MANIFEST)
INDEX_TYPES = (OCI_INDEX, DOCKER_MANIFEST_LIST)
CONFIG_TYPES = (OCI_CONFIG, DOCKER_CONFIG)

REF_NAME_ANNOTATION = "org.opencontainers.image.ref.name"
CONTAINERD_NAME_ANNOTATION = "io.containerd.image.name"

_OCI_TO_DOCKER = {
    OCI_LAYER: DOCKER_LAYER, OCI_LAYER_GZIP: DOCKER_LAYER_GZIP,
    OCI_LAYER_NONDIST_GZIP: DOCKER_FOREIGN_LAYER_GZIP, OCI_CONFIG: DOCKER_CONFIG,
    OCI_MANIFEST: DOCKER_MANIFEST, OCI_INDEX: DOCKER_MANIFEST_LIST,
}
_DOCKER_TO_OCI = {v: k for k, v in _OCI_TO_DOCKER.items()}


def compression_of(media_type: str | None) -> str | None:
    """``"gzip"``, ``"zstd"``, ``None`` (plain tar) for a layer media type; unknown -> None."""
    if not media_type:
        return None
    if media_type.endswith("gzip"):
        return "gzip"
    if media_type.endswith("zstd"):
        return "zstd"
    return None


def to_oci(media_type: str) -> str:
    """The OCI media type for a Docker one (OCI ones and zstd pass through)."""
    return _DOCKER_TO_OCI.get(media_type, media_type)


def to_docker(media_type: str) -> str:
    """The Docker v2s2 media type for an OCI one (zstd has no Docker type: kept)."""
    return _OCI_TO_DOCKER.get(media_type, media_type)


def canonical_json(obj) -> bytes:
    """Compact JSON with sorted keys: equal dicts give equal bytes, so equal digests."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def descriptor(media_type: str, digest: str, size: int, **extra) -> dict:
    d = {"mediaType": media_type, "digest": digest, "size": size}
    d.update({k: v for k, v in extra.items() if v})
    return d


def make_manifest(config_digest: str, config_size: int, layers, media_type: str = OCI_MANIFEST,
                  annotations: dict | None = None) -> dict:
    """A manifest dict for ``layers`` (objects with digest, size, media_type)."""
    if media_type == DOCKER_MANIFEST:
        conv, cfg_type = to_docker, DOCKER_CONFIG
    elif media_type == OCI_MANIFEST:
        conv, cfg_type = to_oci, OCI_CONFIG
    else:
        raise InvalidArgument(f"unsupported manifest media type {media_type!r}: "
                              f"use {OCI_MANIFEST} or {DOCKER_MANIFEST}")
    m = {
        "schemaVersion": 2,
        "mediaType": media_type,
        "config": descriptor(cfg_type, config_digest, config_size),
        "layers": [descriptor(conv(l.media_type), l.digest, l.size) for l in layers],
    }
    if annotations:
        m["annotations"] = dict(annotations)
    return m


def parse_manifest(data: bytes | dict) -> dict:
    """Parse and sanity-check an image manifest (OCI or Docker v2s2)."""
    m = json.loads(data) if isinstance(data, (bytes, bytearray, str)) else data
    if not isinstance(m, dict) or m.get("schemaVersion") != 2:
        raise InvalidArgument("not an image manifest: schemaVersion must be 2 "
                              "(Docker schema 1 manifests are not supported)")
    mt = m.get("mediaType") or OCI_MANIFEST
    if mt in INDEX_TYPES or "manifests" in m:
        raise InvalidArgument(f"expected an image manifest, got an index ({mt})")
    cfg = m.get("config")
    if not isinstance(cfg, dict) or "digest" not in cfg or not isinstance(m.get("layers", []), list):
        raise InvalidArgument("invalid image manifest: missing config descriptor or layers list")
    return m


def is_index(data: dict) -> bool:
    return data.get("mediaType") in INDEX_TYPES or ("manifests" in data and "config" not in data)


_ARCH = {"x86_64": "amd64", "amd64": "amd64", "aarch64": "arm64", "arm64": "arm64",
         "armv7l": "arm", "armv6l": "arm", "i386": "386", "i686": "386",
         "ppc64le": "ppc64le", "s390x": "s390x", "riscv64": "riscv64"}


def host_platform() -> dict:
    """This machine as an OCI platform: ``{"os": "linux", "architecture": "amd64"}``."""
    m = __import__('platform').machine().lower()
    p = {"os": "linux", "architecture": _ARCH.get(m, m)}
    if m.startswith("armv"):
        p["variant"] = "v" + m[4]
    elif p["architecture"] == "arm64":
        p["variant"] = "v8"
    return p


def select_manifest(index: dict, want: dict | None = None) -> dict:
    """Pick the descriptor for ``want`` (default: the host) from an index.

    Raises NotFound-like InvalidArgument naming the platforms available.
    """
    want = want or host_platform()
    entries = [d for d in index.get("manifests", []) if isinstance(d, dict)]
    best = None
    for d in entries:
        p = d.get("platform")
        if not p:
            continue
        if p.get("os") == want["os"] and p.get("architecture") == want["architecture"]:
            if want.get("variant") and p.get("variant") and p["variant"] != want["variant"]:
                continue
            if best is None or p.get("variant") == want.get("variant"):
                best = d
    if best is None:
        plain = [d for d in entries if not d.get("platform")
                 and d.get("mediaType", OCI_MANIFEST) in MANIFEST_TYPES]
        if len(plain) == 1:
            return plain[0]
        have = ", ".join(f"{d['platform'].get('os')}/{d['platform'].get('architecture')}"
                         for d in entries if d.get("platform")) or "none"
        raise InvalidArgument(f"no manifest for platform {want['os']}/{want['architecture']} "
                              f"in the index (available: {have})")
    return best
