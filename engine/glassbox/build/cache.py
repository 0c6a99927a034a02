"""The build cache: which image a build step produced last time, keyed as Docker keys it.

Docker's classic builder reuses a step when it finds an image that was built from
*the same parent image* by *the same instruction*. Here a step's **cache key** is a
sha256 over:

- the parent image id (``scratch`` for an empty base) — the parent's config carries
  everything else a step sees: ENV, WORKDIR, USER, SHELL, the layers below;
- the instruction after ``$VAR`` expansion, in a canonical form (flags included);
- the build args it sees (``StageScope.cache_args()``: ``A=1``), so ``--build-arg A=2``
  re-runs the RUN steps that can see ``A`` — and only those;
- for COPY/ADD, the checksum of the files it reads (content, mode, owner — never
  mtime, as Docker), so editing one copied file re-runs that COPY and every step after
  it (their parent changed), and no step before it.

Entries live in the state root, ``<root>/build-cache/<key[:2]>/<key>.json``, one small
JSON file per key written atomically (temp file + rename): several builds in several
processes share the cache, a crash leaves the old entry or the new one, and there is no
lock to contend on. An entry points at an image id; a hit counts only while that image
is still in the store (``rmi``/``prune`` of an intermediate image is a cache miss, never
an error).

``--cache-from IMAGE``: an image pulled from a registry, or saved and loaded from
another machine, comes without its intermediate images and without cache entries —
only its final config, whose ``history`` says which instruction made each layer.
The classic builder's rule reads that history instead (:func:`match_cache_from`,
the exact rule there): the step is found in the image when the image's history
starts like the parent's, over the same layers, and continues with this step's
``created_by``. The step is then *restored*, not run: the image's layer and its
history entry (with its time) go onto the parent, so a chain restored to the end is
the cached image itself, byte for byte.

Shown in the notebook on Dockerfiles, section "the layer cache".
"""

from __future__ import annotations

import hashlib
import json
import os
import time
import uuid
from dataclasses import dataclass
from typing import Iterable, Sequence

__all__ = ["CACHE_VERSION", "cache_key", "BuildCache", "CacheFromHit", "match_cache_from",
           "history_signature", "FileHashMemo"]

#: Bump when the key recipe changes: old entries then simply stop matching.
CACHE_VERSION = 1


def cache_key(parent: str | None, instruction: str, build_args: Iterable[str] = (),
              checksum: str | None = None) -> str:
    """The cache key of one step (hex sha256). Pure: same inputs, same key.

    ``parent`` is the parent image id (None/"" for ``FROM scratch``), ``instruction``
    the canonical expanded instruction, ``build_args`` ``"K=V"`` strings (order does
    not matter), ``checksum`` what COPY/ADD read (None for other instructions).
    """
    doc = {"v": CACHE_VERSION, "parent": parent or "scratch", "instruction": instruction,
           "args": sorted(build_args), "checksum": checksum}
    data = json.dumps(doc, sort_keys=True, separators=(",", ":")).encode()
    return hashlib.sha256(data).hexdigest()


class BuildCache:
    """Cache entries under ``<root>/build-cache``: ``get(key)`` / ``put(key, image_id)``."""

    def __init__(self, root: str | os.PathLike):
        self.dir = os.path.join(os.fspath(root), "build-cache")

    def _path(self, key: str) -> str:
        if len(key) != 64 or any(c not in "0123456789abcdef" for c in key):
            raise ValueError(f"not a cache key: {key!r}")
        return os.path.join(self.dir, key[:2], key + ".json")

    def get(self, key: str) -> str | None:
        """The image id stored for ``key``, or None (no entry, unreadable entry)."""
        path = self._path(key)
        try:
            with open(path, "rb") as f:
                doc = json.load(f)
        except (OSError, ValueError):
            return None
        image = doc.get("image") if isinstance(doc, dict) else None
        return image if isinstance(image, str) and image.startswith("sha256:") else None

    def put(self, key: str, image_id: str, **info) -> None:
        """Record that the step ``key`` produced ``image_id`` (atomic replace)."""
        path = self._path(key)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        doc = {"image": image_id, "time": time.time(), **info}
        tmp = f"{path}.tmp-{os.getpid()}-{uuid.uuid4().hex[:8]}"
        try:
            with open(tmp, "w") as f:
                json.dump(doc, f, sort_keys=True)
            os.replace(tmp, path)
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)

    def forget(self, key: str) -> None:
        try:
            os.unlink(self._path(key))
        except FileNotFoundError:
            pass

    def entries(self) -> list[tuple[str, str]]:
        """Every (key, image id) in the cache."""
        out = []
        if not os.path.isdir(self.dir):
            return out
        for sub in sorted(os.listdir(self.dir)):
            d = os.path.join(self.dir, sub)
            if not os.path.isdir(d):
                continue
            for name in sorted(os.listdir(d)):
                if name.endswith(".json") and len(name) == 69:
                    image = self.get(name[:-5])
                    if image:
                        out.append((name[:-5], image))
        return out

    def prune(self, exists) -> int:
        """Drop entries whose image ``exists(image_id)`` says is gone; return how many."""
        n = 0
        for key, image in self.entries():
            if not exists(image):
                self.forget(key)
                n += 1
        return n


class FileHashMemo:
    """Content hashes of context files, remembered across builds (and processes).

    Checking the cache of a COPY means hashing what it reads; a 30 MB context costs
    ~50 ms of sha256 on every build. The memo maps ``(path, dev, inode, size, mtime_ns,
    ctime_ns)`` to the sha256 of the content: any write to a file changes its ctime (which
    no one can set back), so a stale hash is never served. Stored as one JSON file,
    replaced atomically; at most ``limit`` entries, newest kept.
    """

    def __init__(self, root: str | os.PathLike, limit: int = 20_000):
        self.path = os.path.join(os.fspath(root), "build-cache", "file-hashes.json")
        self.limit = limit

    def load(self) -> dict[tuple, str]:
        try:
            with open(self.path, "rb") as f:
                rows = json.load(f)
        except (OSError, ValueError):
            return {}
        out = {}
        for row in rows if isinstance(rows, list) else ():
            if isinstance(row, list) and len(row) == 7 and isinstance(row[6], str):
                out[tuple(row[:6])] = row[6]
        return out

    def save(self, memo: dict[tuple, str]) -> None:
        rows = [[*k, v] for k, v in list(memo.items())[-self.limit:]]
        os.makedirs(os.path.dirname(self.path), exist_ok=True)
        tmp = f"{self.path}.tmp-{os.getpid()}-{uuid.uuid4().hex[:8]}"
        try:
            with open(tmp, "w") as f:
                json.dump(rows, f, separators=(",", ":"))
            os.replace(tmp, self.path)
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)


# ---------------------------------------------------------------------------------------
# --cache-from
# ---------------------------------------------------------------------------------------

def history_signature(history: Sequence[dict] | None) -> list[tuple[str, bool]]:
    """``(created_by, empty_layer)`` per history entry: what cache-from compares."""
    return [(str(h.get("created_by", "")), bool(h.get("empty_layer"))) for h in history or ()]


@dataclass(frozen=True)
class CacheFromHit:
    """A ``--cache-from`` image that already holds the step: the history entry to copy
    and the index of its layer (None for a metadata-only step)."""

    source: object          # the candidate (an images.store.Image or anything with .config)
    history: dict
    layer_index: int | None


def match_cache_from(parent_config: dict | None, created_by: str, empty_layer: bool,
                     candidates: Iterable) -> CacheFromHit | None:
    """Find the step in a ``--cache-from`` image: the first candidate, in the order
    given, for which all of these hold (``n`` = the parent's number of history
    entries, ``k`` = its number of layers; ``parent_config`` None is ``scratch``:
    n = k = 0):

    1. the candidate has more than ``n`` history entries, and its first ``n`` have
       the parent's ``created_by`` and ``empty_layer``, line by line;
    2. its ``rootfs.diff_ids`` begin with the parent's ``k`` diff ids (the same
       layers below, by content);
    3. its entry ``n`` has ``created_by`` equal to the step's — the expanded
       instruction as the history records it: RUN's argv (after ``|N A=1 ...``
       when it sees build args), COPY/ADD's checksum of what they read, a
       metadata instruction's ``#(nop)`` text — and the same ``empty_layer``;
    4. for a step with a layer, it has a layer ``k``: that layer is the step's.

    This is Docker's classic builder (moby ``image/cache``: ``isValidParent`` +
    ``isValidConfig``) with one difference: Docker compares the parent's history
    entries whole, times included, where this compares their commands and, through
    the diff ids, the layers' content — so a base image imported separately on each
    machine still matches. The builder tries its local cache first, the candidates
    only on a local miss (Docker ignores its local cache when ``--cache-from`` is
    given), and after a hit follows that candidate alone for the stage's next
    steps, as Docker does (Docker: for the rest of the build). ``candidates`` have a ``.config`` (image config dict).
    """
    pcfg = parent_config or {}
    p_hist = history_signature(pcfg.get("history"))
    p_diffs = list((pcfg.get("rootfs") or {}).get("diff_ids") or [])
    want = (created_by, bool(empty_layer))
    for cand in candidates:
        cfg = getattr(cand, "config", None) or {}
        hist = list(cfg.get("history") or [])
        diffs = list((cfg.get("rootfs") or {}).get("diff_ids") or [])
        n = len(p_hist)
        if len(hist) <= n or history_signature(hist[:n]) != p_hist:
            continue
        if diffs[:len(p_diffs)] != p_diffs:
            continue
        if history_signature([hist[n]])[0] != want:
            continue
        if empty_layer:
            return CacheFromHit(cand, dict(hist[n]), None)
        if len(diffs) <= len(p_diffs):
            continue
        return CacheFromHit(cand, dict(hist[n]), len(p_diffs))
    return None
