"""``RegistryClient``: pull, push, login, logout over the OCI distribution spec.

**Pull** ``host/team/app:1``::

    GET  /v2/                                   which scheme, which auth
    GET  /v2/team/app/manifests/1               Accept: OCI + Docker manifest and index
         (an index: pick this machine's platform, GET that manifest by digest)
    GET  /v2/team/app/blobs/<config digest>     the config: diff_ids, Cmd, Env, ...
    GET  /v2/team/app/blobs/<layer digest>      x N, three at a time, streamed into the
                                                store (hash + extract in one pass);
                                                layers the store has are skipped
    then the tag is written — last, so a failed pull leaves no half image.

**Push** is the mirror image: for each blob ``HEAD`` (already there? skip), or
mount it from another repository of the same registry that we know has it
(``POST .../uploads/?mount=<digest>&from=<repo>``), or upload it
(``POST .../uploads/`` then one ``PUT ?digest=`` with the bytes, or ``PATCH``
chunks then the ``PUT``); the manifest ``PUT`` comes last and its digest is
the answer.

Progress is reported as Docker's JSON-message dicts (``{"id", "status",
"progressDetail": {"current", "total"}}``): the CLI draws bars from them, the
Jupyter widgets plot them, the daemon streams them. ``progress`` may be called
from several threads, but never concurrently (calls are serialized).
"""

from __future__ import annotations

import concurrent.futures as _cf
import contextlib
import fcntl
import hashlib
import json
import os
import threading
import urllib.parse

from ..errors import GlassboxError, InvalidArgument, NotFound, RegistryError
from ..images import manifest as _mf
from ..images.reference import Reference, parse
from ..images.store import DigestMismatch
from . import blobs as _blobs
from .auth import DOCKER_HUB_KEY, CredentialStore, Credentials, registry_key
from .transport import Transport, is_loopback

MANIFEST_ACCEPT = ", ".join([_mf.OCI_MANIFEST, _mf.DOCKER_MANIFEST, _mf.OCI_INDEX,
                             _mf.DOCKER_MANIFEST_LIST])
MAX_MANIFEST = 4 << 20
PARALLEL = 3                      # layers in flight, as dockerd's default
CHUNK_SIZE = 64 << 20             # blobs larger than this are uploaded in PATCH chunks


def parse_platform(s: str | None) -> dict | None:
    """``linux/arm64/v8`` -> ``{"os": "linux", "architecture": "arm64", "variant": "v8"}``."""
    if not s:
        return None
    parts = s.strip().lower().split("/")
    if len(parts) not in (2, 3) or not all(parts):
        raise InvalidArgument(f"invalid platform {s!r}: expected os/arch[/variant], "
                              "e.g. linux/amd64 or linux/arm64/v8")
    p = {"os": parts[0], "architecture": _mf._ARCH.get(parts[1], parts[1])}
    if len(parts) == 3:
        p["variant"] = parts[2]
    return p


def _fmt_platform(p: dict) -> str:
    return "/".join(x for x in (p.get("os"), p.get("architecture"), p.get("variant")) if x)


def _short(digest: str) -> str:
    return digest.split(":", 1)[-1][:12]


class _Emitter:
    """Serializes progress callbacks from the worker threads; never lets one break a pull."""

    def __init__(self, cb):
        self.cb, self.lock = cb, threading.Lock()

    def __call__(self, event: dict) -> None:
        if self.cb is None:
            return
        with self.lock:
            self.cb(event)

    def bytes(self, ident: str, status: str, total: int | None, step: int = 512 << 10):
        """A ``progress(n)`` callback that emits at most every ``step`` bytes."""
        last = [-step]

        def report(n):
            if n - last[0] >= step or (total and n >= total):
                last[0] = n
                self({"id": ident, "status": status,
                      "progressDetail": {"current": n, "total": total}})
        return report


class BlobSources:
    """Which repositories of which registries we have seen holding a blob.

    Kept in ``<store root>/registry/blob-sources.json``; push uses it to ask a
    registry to *mount* a blob from a sibling repository instead of uploading it.
    """

    MAX_PER_BLOB = 8

    def __init__(self, root: str):
        self.dir = os.path.join(root, "registry")
        self.path = os.path.join(self.dir, "blob-sources.json")

    def get(self, digest: str) -> list[str]:
        try:
            with open(self.path, "rb") as f:
                return list(json.load(f).get(digest, []))
        except (FileNotFoundError, ValueError):
            return []

    def add(self, repository: str, digests) -> None:
        os.makedirs(self.dir, mode=0o700, exist_ok=True)
        fd = os.open(os.path.join(self.dir, "sources.lock"), os.O_RDWR | os.O_CREAT | os.O_CLOEXEC,
                     0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            try:
                with open(self.path, "rb") as f:
                    data = json.load(f)
            except (FileNotFoundError, ValueError):
                data = {}
            for d in digests:
                repos = [r for r in data.get(d, []) if r != repository]
                data[d] = ([repository] + repos)[: self.MAX_PER_BLOB]
            tmp = f"{self.path}.{os.getpid()}.{threading.get_ident()}.tmp"
            with open(tmp, "w") as f:
                json.dump(data, f)
            os.replace(tmp, self.path)
        finally:
            os.close(fd)


class RegistryClient:
    """Pull and push images between an :class:`~glassbox.images.ImageStore` and registries."""

    def __init__(self, store, config_dir: str | None = None, *, insecure_registries=(),
                 parallel: int = PARALLEL, chunk_size: int = CHUNK_SIZE, timeout: float = 60.0):
        self.store = store
        self.credentials = CredentialStore(config_dir)
        env = os.environ.get("GLASSBOX_INSECURE_REGISTRIES", "")
        self.insecure = {registry_key(h) for h in [*insecure_registries, *env.split(",")]
                         if h.strip()}
        self.parallel = max(1, parallel)
        self.chunk_size = chunk_size
        self.timeout = timeout
        self.sources = BlobSources(store.root)
        self._transports: dict[str, Transport] = {}
        self._lock = threading.Lock()

    # ------------------------------------------------------------------ plumbing
    def add_insecure_registry(self, host: str) -> None:
        """Allow plain http (and unverified TLS) for ``host`` (``--insecure-registry``)."""
        self.insecure.add(registry_key(host))
        with self._lock:
            self._transports.pop(registry_key(host), None)

    def transport(self, host: str) -> Transport:
        """The (cached) transport to ``host``, with the current stored login."""
        creds = self.credentials.get(host)
        with self._lock:
            t = self._transports.get(host)
            if t is None or t.credentials != creds:
                if t is not None:
                    t.close()
                t = Transport(host, insecure=host in self.insecure or is_loopback(host),
                              credentials=creds, timeout=self.timeout)
                self._transports[host] = t
            return t

    def close(self) -> None:
        with self._lock:
            ts, self._transports = list(self._transports.values()), {}
        for t in ts:
            t.close()

    @staticmethod
    def _ref(ref: str | Reference) -> Reference:
        return ref if isinstance(ref, Reference) else parse(ref)

    # ------------------------------------------------------------------ manifests
    def _get_manifest(self, t: Transport, r: Reference, ref_or_digest: str, scopes) -> tuple[bytes, str, dict]:
        """(bytes, digest, parsed JSON) of a manifest or index, its digest verified."""
        try:
            resp = t.request("GET", f"/v2/{r.path}/manifests/{ref_or_digest}",
                             headers={"Accept": MANIFEST_ACCEPT}, scopes=scopes)
        except NotFound:
            raise NotFound(f"manifest for {r.familiar} not found: manifest unknown: "
                           "check the repository name and tag (or digest)") from None
        with resp:
            length = int(resp.header("Content-Length") or 0)
            if length > MAX_MANIFEST:
                raise RegistryError(f"manifest for {r.familiar} is {length} bytes: too large")
            body = resp.read(MAX_MANIFEST + 1)
            header_digest = resp.header("Docker-Content-Digest")
        if len(body) > MAX_MANIFEST:
            raise RegistryError(f"manifest for {r.familiar} is larger than {MAX_MANIFEST} bytes")
        digest = "sha256:" + hashlib.sha256(body).hexdigest()
        if ref_or_digest.startswith("sha256:") and digest != ref_or_digest:
            raise DigestMismatch(f"manifest digest mismatch for {r.familiar}: asked for "
                                 f"{ref_or_digest}, got {digest}: nothing stored")
        if header_digest and header_digest.startswith("sha256:") and header_digest != digest:
            raise DigestMismatch(f"manifest for {r.familiar}: the registry says {header_digest} "
                                 f"but the content hashes to {digest}: nothing stored")
        try:
            doc = json.loads(body)
        except ValueError:
            raise RegistryError(f"manifest for {r.familiar} is not valid JSON") from None
        if not isinstance(doc, dict):
            raise RegistryError(f"manifest for {r.familiar} is not a JSON object")
        return body, digest, doc

    def _get_small_blob(self, t: Transport, r: Reference, digest: str, size: int | None,
                        scopes, limit: int = 32 << 20) -> bytes:
        if size is not None and size > limit:
            raise RegistryError(f"{r.familiar}: config blob of {size} bytes is too large")
        with t.request("GET", f"/v2/{r.path}/blobs/{digest}", scopes=scopes) as resp:
            body = resp.read(limit + 1)
        got = "sha256:" + hashlib.sha256(body).hexdigest()
        if got != digest:
            raise DigestMismatch(f"blob digest mismatch: expected {digest}, got {got}: "
                                 "corrupt or tampered content, nothing stored")
        return body

    def manifest_descriptor(self, ref: str) -> dict:
        """The manifest (or index) ``ref`` names, read and verified but not stored:
        ``{"body", "digest", "doc", "blob"}``, where ``blob(digest, size)`` reads one
        small blob of that repository (its image config). For ``GET /distribution``."""
        r = self._ref(ref)
        t = self.transport(r.registry)
        scopes = (f"repository:{r.path}:pull",)
        body, digest, doc = self._get_manifest(t, r, r.digest or r.tag, scopes)
        return {"body": body, "digest": digest, "doc": doc,
                "blob": lambda d, size=None: self._get_small_blob(t, r, d, size, scopes)}

    # ------------------------------------------------------------------ pull
    def _in_parallel(self, name: str, cancel, calls) -> list[BaseException]:
        """Run ``(fn, args)`` calls on up to ``parallel`` threads; the first failure
        sets ``cancel`` so the others stop early. Returns the errors."""
        errors: list[BaseException] = []
        if not calls:
            return errors
        with _cf.ThreadPoolExecutor(min(self.parallel, len(calls)),
                                    thread_name_prefix=name) as pool:
            futs = [pool.submit(fn, *args) for fn, args in calls]
            for f in _cf.as_completed(futs):
                try:
                    f.result()
                except BaseException as e:  # noqa: BLE001
                    cancel.set()
                    errors.append(e)
        return errors

    def pull(self, ref: str, *, platform: str | None = None, progress=None):
        """Download ``ref`` (``name[:tag]`` or ``name@sha256:...``) into the store.

        Returns the :class:`~glassbox.images.Image`. Layers already in the store
        are not fetched; the tag is written last (all or nothing).
        """
        r = self._ref(ref)
        want = parse_platform(platform)
        emit = _Emitter(progress)
        t = self.transport(r.registry)
        scopes = (f"repository:{r.path}:pull",)
        tag_or_digest = r.digest or r.tag
        if r.digest is None:
            emit({"status": f"Pulling from {r.familiar_name}", "id": r.tag})
        body, top_digest, doc = self._get_manifest(t, r, tag_or_digest, scopes)
        mbytes, mdigest = body, top_digest
        if _mf.is_index(doc):
            try:
                desc = _mf.select_manifest(doc, want)
            except InvalidArgument as e:
                plat = _fmt_platform(want or _mf.host_platform())
                raise NotFound(f"no matching manifest for {plat} in the manifest list entries "
                               f"of {r.familiar}: {e} — pick one with --platform") from None
            mbytes, mdigest, doc = self._get_manifest(t, r, desc["digest"], scopes)
        try:
            m = _mf.parse_manifest(doc)
        except InvalidArgument as e:
            raise RegistryError(f"{r.familiar}: {e}") from None
        cfg_desc = m["config"]
        with self.store.lease():
            config_bytes = self._get_small_blob(t, r, cfg_desc["digest"], cfg_desc.get("size"),
                                                scopes)
            try:
                config = json.loads(config_bytes)
            except ValueError:
                raise RegistryError(f"{r.familiar}: the image config is not valid JSON") from None
            if want and (config.get("os"), config.get("architecture")) != \
                    (want["os"], want["architecture"]):
                raise InvalidArgument(
                    f"image {r.familiar} was found but its platform "
                    f"({config.get('os')}/{config.get('architecture')}) does not match the "
                    f"specified platform ({_fmt_platform(want)})")
            diff_ids = list((config.get("rootfs") or {}).get("diff_ids") or [])
            descs = m.get("layers", [])
            if len(diff_ids) != len(descs):
                raise RegistryError(f"{r.familiar}: the config lists {len(diff_ids)} layers, "
                                    f"the manifest {len(descs)}")
            self._pull_layers(t, r, descs, diff_ids, scopes, emit)
            from ..images.store import LayerRef
            layers = [LayerRef(d["digest"], diff_ids[i], int(d.get("size") or 0),
                               d.get("mediaType") or _mf.OCI_LAYER_GZIP)
                      for i, d in enumerate(descs)]
            before = None
            if r.digest is None:
                with contextlib.suppress(GlassboxError):
                    before = self.store.resolve(str(r)).manifest_digest
            image = self.store.put_image(config_bytes, layers,
                                         [str(r)] if r.digest is None else [],
                                         manifest_bytes=mbytes)
        with contextlib.suppress(OSError):
            self.sources.add(r.repository, [d["digest"] for d in descs] + [cfg_desc["digest"]])
        emit({"status": f"Digest: {top_digest}"})
        name = r.familiar if r.digest is None else f"{r.familiar_name}@{r.digest}"
        if before == mdigest:
            emit({"status": f"Status: Image is up to date for {name}"})
        else:
            emit({"status": f"Status: Downloaded newer image for {name}"})
        return image

    def _pull_layers(self, t, r, descs, diff_ids, scopes, emit) -> None:
        store = self.store
        jobs = []
        for d, diff_id in zip(descs, diff_ids):
            digest = d.get("digest", "")
            if d.get("urls") and d.get("mediaType", "").find("foreign") >= 0 \
                    and not store.has_blob(digest):
                raise RegistryError(f"{r.familiar}: layer {digest} is a foreign layer "
                                    "(served from elsewhere): not supported")
            if store.has_blob(digest) and store.has_layer(diff_id):
                emit({"id": _short(digest), "status": "Already exists", "progressDetail": {}})
            else:
                emit({"id": _short(digest), "status": "Pulling fs layer", "progressDetail": {}})
                jobs.append((d, diff_id))
        if not jobs:
            return
        cancel = threading.Event()
        errors = self._in_parallel("gbx-pull", cancel, [
            (self._pull_layer, (t, r, d, diff_id, scopes, emit, cancel)) for d, diff_id in jobs])
        if errors:
            real = [e for e in errors if not isinstance(e, _blobs.Cancelled)]
            raise (real or errors)[0]

    def _pull_layer(self, t, r, d, diff_id, scopes, emit, cancel) -> None:
        store, digest = self.store, d["digest"]
        size = d.get("size")
        size = int(size) if size is not None else None
        ident = _short(digest)
        if store.has_blob(digest):        # downloaded before, never unpacked here
            emit({"id": ident, "status": "Extracting", "progressDetail": {}})
            store.unpack_layer(digest, d.get("mediaType"), diff_id=diff_id)
            emit({"id": ident, "status": "Pull complete", "progressDetail": {}})
            return

        def open_at(offset):
            headers = {"Range": f"bytes={offset}-"} if offset else None
            return t.request("GET", f"/v2/{r.path}/blobs/{digest}", headers=headers,
                             scopes=scopes, expect=(200, 206))

        body = _blobs.ResumableBlob(open_at, size, cancel=cancel, what=f"layer {ident}")
        report = emit.bytes(ident, "Downloading", size)
        try:
            if store.has_layer(diff_id):   # same files, different compression: keep the blob
                store.ingest_blob(body, digest, size, progress=report)
            else:
                _blobs.ingest_layer(store, body, digest, size, diff_id, progress=report)
        finally:
            body.close()
        emit({"id": ident, "status": "Download complete", "progressDetail": {}})
        emit({"id": ident, "status": "Pull complete", "progressDetail": {}})

    # ------------------------------------------------------------------ push
    def push(self, ref: str, *, progress=None) -> str:
        """Upload the local image ``ref`` to its registry; returns the manifest digest."""
        r = self._ref(ref)
        if r.digest:
            raise InvalidArgument(f"cannot push a digest reference ({r.familiar}): "
                                  "tag the image and push the tag")
        try:
            image = self.store.resolve(str(r))
        except NotFound:
            raise NotFound(f"An image does not exist locally with the tag: {r.familiar_name}"
                           f" (tag {r.tag}): tag it first, e.g. glassbox tag IMAGE "
                           f"{r.familiar}") from None
        emit = _Emitter(progress)
        mbytes = self.store.read_blob(image.manifest_digest)
        m = _mf.parse_manifest(mbytes)
        t = self.transport(r.registry)
        scopes = (f"repository:{r.path}:pull,push",)
        emit({"status": f"The push refers to repository [{r.repository}]"})
        descs = list(reversed(m.get("layers", [])))
        for d in descs:
            emit({"id": _short(d["digest"]), "status": "Preparing", "progressDetail": {}})
        cancel = threading.Event()
        errors = self._in_parallel("gbx-push", cancel, [
            (self._push_blob, (t, r, d, scopes, emit, cancel)) for d in descs])
        if errors:
            raise errors[0]
        self._push_blob(t, r, m["config"], scopes, None, cancel)
        media_type = m.get("mediaType") or _mf.OCI_MANIFEST
        digest = "sha256:" + hashlib.sha256(mbytes).hexdigest()
        with t.request("PUT", f"/v2/{r.path}/manifests/{r.tag}", body=mbytes, scopes=scopes,
                       headers={"Content-Type": media_type,
                                "Content-Length": str(len(mbytes))},
                       expect=(200, 201, 202)) as resp:
            resp.read()
            said = resp.header("Docker-Content-Digest")
        if said and said.startswith("sha256:") and said != digest:
            raise RegistryError(f"{r.registry} stored the manifest as {said}, expected {digest}")
        with contextlib.suppress(OSError):
            self.sources.add(r.repository, [d["digest"] for d in descs] + [m["config"]["digest"]])
        emit({"status": f"{r.tag}: digest: {digest} size: {len(mbytes)}"})
        emit({"progressDetail": {}, "aux": {"Tag": r.tag, "Digest": digest, "Size": len(mbytes)}})
        return digest

    def _push_blob(self, t: Transport, r: Reference, d: dict, scopes, emit, cancel) -> None:
        digest, size = d["digest"], int(d.get("size") or 0)
        ident = _short(digest)
        emit = emit or (lambda e: None)
        if cancel.is_set():
            raise _blobs.Cancelled("push cancelled")
        with t.request("HEAD", f"/v2/{r.path}/blobs/{digest}", scopes=scopes,
                       expect=(200, 404)) as resp:
            present = resp.status == 200
        if present:
            emit({"id": ident, "status": "Layer already exists", "progressDetail": {}})
            return
        path = self.store.blob_path(digest)
        if not os.path.isfile(path):
            raise NotFound(f"blob {digest} of {r.familiar} is not in the local store: pull or "
                           "rebuild the image")
        location = None
        for src in self.sources.get(digest):
            host, _, repo = src.partition("/")
            if host != r.domain or repo == r.path:
                continue
            q = urllib.parse.urlencode({"mount": digest, "from": repo})
            with t.request("POST", f"/v2/{r.path}/blobs/uploads/?{q}",
                           scopes=scopes + (f"repository:{repo}:pull",),
                           headers={"Content-Length": "0"}, expect=(201, 202)) as resp:
                resp.read()
                if resp.status == 201:
                    emit({"id": ident, "status": f"Mounted from {repo}", "progressDetail": {}})
                    return
                location = resp.header("Location")   # not mountable: upload in this session
            break
        for attempt in (0, 1):
            try:
                self._upload(t, r, digest, size, path, location, scopes,
                             emit.bytes(ident, "Pushing", size) if hasattr(emit, "bytes") else None)
                break
            except RegistryError as e:
                if attempt or isinstance(e, NotFound) or "cannot talk" not in str(e):
                    raise
                location = None   # connection broke: start a fresh upload session
        emit({"id": ident, "status": "Pushed", "progressDetail": {}})

    def _upload(self, t, r, digest, size, path, location, scopes, report) -> None:
        if location is None:
            with t.request("POST", f"/v2/{r.path}/blobs/uploads/", scopes=scopes,
                           headers={"Content-Length": "0"}, expect=(202,)) as resp:
                resp.read()
                location = resp.header("Location")
            if not location:
                raise RegistryError(f"{r.registry} started an upload but sent no Location")

        def with_digest(loc):
            sep = "&" if "?" in loc else "?"
            return f"{loc}{sep}digest={urllib.parse.quote(digest, safe=':')}"

        with open(path, "rb") as f:
            if size <= self.chunk_size:
                body = _Counting(f, report)
                with t.request("PUT", with_digest(location), body=body, scopes=scopes,
                               headers={"Content-Type": "application/octet-stream",
                                        "Content-Length": str(size)},
                               expect=(201, 204)) as resp:
                    resp.read()
                return
            done = 0
            while done < size:
                chunk = f.read(min(self.chunk_size, size - done))
                if not chunk:
                    raise RegistryError(f"blob {digest} shrank while being pushed")
                with t.request("PATCH", location, body=chunk, scopes=scopes,
                               headers={"Content-Type": "application/octet-stream",
                                        "Content-Length": str(len(chunk)),
                                        "Content-Range": f"{done}-{done + len(chunk) - 1}"},
                               expect=(202, 204)) as resp:
                    resp.read()
                    location = resp.header("Location") or location
                done += len(chunk)
                if report:
                    report(done)
            with t.request("PUT", with_digest(location), body=b"", scopes=scopes,
                           headers={"Content-Length": "0",
                                    "Content-Type": "application/octet-stream"},
                           expect=(201, 204)) as resp:
                resp.read()

    # ------------------------------------------------------------------ login
    def login(self, registry: str, username: str, password: str) -> str:
        """Check the credentials against ``registry`` and store them (``config.json``)."""
        if not username:
            raise InvalidArgument("login: a username is required (-u)")
        if not password:
            raise InvalidArgument("login: a password is required (-p or --password-stdin)")
        key = registry_key(registry)
        host = "registry-1.docker.io" if key == DOCKER_HUB_KEY else key
        creds = Credentials(username, password)
        t = Transport(host, insecure=key in self.insecure or is_loopback(host),
                      credentials=creds, timeout=self.timeout)
        try:
            t.ping()
            ch = t.challenge
            if ch is not None and ch.scheme == "bearer":
                t.fetch_token(ch, ())
            elif ch is not None:
                with t.request("GET", "/v2/", expect=(200,)) as resp:
                    resp.read()
        finally:
            t.close()
        self.credentials.put(key, creds)
        with self._lock:
            old = self._transports.pop(host, None)
        if old:
            old.close()
        return "Login Succeeded"

    def logout(self, registry: str) -> bool:
        """Forget the stored login; False when there was none."""
        key = registry_key(registry)
        host = "registry-1.docker.io" if key == DOCKER_HUB_KEY else key
        with self._lock:
            old = self._transports.pop(host, None)
        if old:
            old.close()
        return self.credentials.remove(key)


class _Counting:
    """A file wrapper for http.client bodies that reports bytes sent."""

    def __init__(self, f, report):
        self.f, self.report, self.n = f, report, 0

    def read(self, n=-1):
        data = self.f.read(n)
        self.n += len(data)
        if self.report and data:
            self.report(self.n)
        return data

    def seek(self, pos, whence=0):
        self.n = 0
        return self.f.seek(pos, whence)
