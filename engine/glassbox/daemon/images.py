"""Image endpoints: list, inspect, pull (``/images/create``), push, tag, rmi,
history, prune, save (``/images/get``), load, build.

Long jobs (pull, push, build) stream Docker's JSON progress: one object a line
(``{"status": ..., "id": ..., "progressDetail": ...}``, ``{"stream": "..."}``
for build output); a failure after the stream has begun is sent as
``{"error": msg, "errorDetail": {"message": msg}}``, which the docker CLI
prints and turns into exit code 1.

Request bodies that are archives (load, build contexts, import) are read by
the Engine in a worker thread through :class:`BodyReader`, a file-like view of
the request stream — never held in memory whole.
"""

from __future__ import annotations

import asyncio
import json

from ..errors import GlassboxError, InvalidArgument, NotFound
from .server import json_response, qbool, request_version
from ..safejson import loads_json
from .translate import build_stream, epoch, image_summary, parse_filters

MAX_ARCHIVE = 8 << 30   # a body bigger than this is refused (load, build, import)


def _json(data, status: int = 200):
    return json_response(data, status)


class BodyReader:
    """A blocking ``read(n)`` over the aiohttp request body, for worker threads."""

    def __init__(self, request, loop, limit: int = MAX_ARCHIVE):
        self.content = request.content
        self.loop = loop
        self.limit = limit
        self.total = 0

    def read(self, n: int = -1) -> bytes:
        if n is None or n < 0:
            chunks = []
            while chunk := self.read(1 << 20):
                chunks.append(chunk)
            return b"".join(chunks)
        fut = asyncio.run_coroutine_threadsafe(self.content.read(n), self.loop)
        data = fut.result()
        self.total += len(data)
        if self.total > self.limit:
            raise InvalidArgument(f"request body larger than {self.limit} bytes: refused")
        return data

    def readable(self) -> bool:
        return True


async def _progress(d, request, job, *, final=None):
    """Run ``job(emit)`` in the pool and stream what it emits as JSON lines."""
    from aiohttp import web
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue = asyncio.Queue()

    def emit(event) -> None:
        if isinstance(event, str):
            event = {"stream": event}
        elif not isinstance(event, dict):
            event = {"status": str(event)}
        loop.call_soon_threadsafe(queue.put_nowait, event)

    resp = web.StreamResponse(headers={"Content-Type": "application/json"})
    await resp.prepare(request)
    fut = loop.run_in_executor(d.pool, job, emit)
    getter = None
    while True:
        getter = getter or asyncio.ensure_future(queue.get())
        done, _ = await asyncio.wait([getter, fut], return_when=asyncio.FIRST_COMPLETED)
        if getter in done:
            await resp.write(json.dumps(getter.result()).encode() + b"\r\n")
            getter = None
            continue
        break
    getter.cancel()
    while not queue.empty():
        await resp.write(json.dumps(queue.get_nowait()).encode() + b"\r\n")
    try:
        result = fut.result()
        if final:
            for ev in final(result):
                await resp.write(json.dumps(ev).encode() + b"\r\n")
    except GlassboxError as e:
        msg = str(e)
        await resp.write(json.dumps({"errorDetail": {"message": msg}, "error": msg}).encode()
                         + b"\r\n")
    await resp.write_eof()
    return resp


def _registry(d):
    from .system import _registry as reg
    return reg(d)


# ---- list / inspect / history -------------------------------------------------------
async def image_list(d, request):
    filters = parse_filters(request.query.get("filters"))
    imgs = await d.run(d.eng.image_list)
    from ..present import shown_images
    until = _until(filters["until"][-1]) if filters.get("until") else None
    rows = []
    for img in shown_images(imgs, request.query.get("all") in ("1", "true", "True")):
        if until is not None and epoch(img.created) >= until:
            continue
        if "dangling" in filters:
            want = filters["dangling"][0].lower() in ("1", "true")
            if bool(img.repo_tags) == want:
                continue
        if "reference" in filters:
            import fnmatch
            refs = filters["reference"]
            fam = [t.replace("docker.io/library/", "").replace("docker.io/", "")
                   for t in img.repo_tags]
            if not any(fnmatch.fnmatch(t, r) or fnmatch.fnmatch(t.rsplit(":", 1)[0], r)
                       for t in list(img.repo_tags) + fam for r in refs):
                continue
        if "label" in filters:
            labels = ((img.config or {}).get("config") or {}).get("Labels") or {}
            ok = True
            for v in filters["label"]:
                k, sep, val = v.partition("=")
                if k not in labels or (sep and labels[k] != val):
                    ok = False
            if not ok:
                continue
        rows.append(image_summary(img))
    old = request_version(request) < (1, 44)     # API 1.44 dropped VirtualSize
    for r in rows:
        r["RepoTags"] = [_familiar(t) for t in r["RepoTags"]]
        if not old:
            r.pop("VirtualSize", None)
    return _json(rows)


def _until(v: str) -> float:
    """The ``until`` filter of ``GET /images/json`` (API 1.44): a unix timestamp, a
    date (RFC 3339), or a Go duration (``10m``, ``1h30m``) back from now."""
    import time
    from ..build.dockerfile import parse_duration
    try:
        return float(v)
    except ValueError:
        pass
    try:
        return time.time() - parse_duration(v) / 1e9
    except ValueError:
        pass
    try:
        t = epoch(v)
    except ValueError:
        t = 0
    if t:
        return float(t)
    raise InvalidArgument(f"invalid until filter {v!r}: give a unix timestamp, a date "
                          "(2024-01-31T12:00:00Z) or a duration (10m, 1h30m)")


def _familiar(tag: str) -> str:
    from ..images.reference import parse
    try:
        return parse(tag).familiar
    except GlassboxError:
        return tag


async def image_inspect(d, request):
    doc = await d.run(d.eng.image_inspect, request.match_info["name"])
    doc["RepoTags"] = [_familiar(t) for t in doc.get("RepoTags") or []]
    doc.setdefault("Parent", "")
    doc.setdefault("DockerVersion", "")
    return _json(inspect_shape(doc, request_version(request)))


def inspect_shape(doc: dict, v: tuple[int, int]) -> dict:
    """An image inspect as API version ``v`` has it: 1.44 dropped ``VirtualSize`` (and
    ``Created`` when unknown), 1.45 ``Container`` and ``ContainerConfig``."""
    if v < (1, 44):
        doc.setdefault("VirtualSize", doc.get("Size", 0))
    else:
        doc.pop("VirtualSize", None)
        if not doc.get("Created"):    # 1.44: omitted, not "0001-01-01", when unknown
            doc.pop("Created", None)
    if v < (1, 45):
        doc.setdefault("Container", "")
        doc.setdefault("ContainerConfig", doc.get("Config") or {})
    else:
        doc.pop("Container", None)
        doc.pop("ContainerConfig", None)
    return doc


async def history(d, request):
    rows = await d.run(d.eng.image_history, request.match_info["name"])
    for r in rows:
        if r.get("Tags"):
            r["Tags"] = [_familiar(t) for t in r["Tags"]]
    return _json(rows)


# ---- tag / rmi / prune --------------------------------------------------------------
async def tag(d, request):
    repo = request.query.get("repo")
    if not repo:
        raise InvalidArgument("tag needs ?repo=")
    t = request.query.get("tag")
    await d.run(d.eng.tag, request.match_info["name"], f"{repo}:{t}" if t else repo)
    from aiohttp import web
    return web.Response(status=201)


async def remove(d, request):
    out = await d.run(d.eng.image_remove, request.match_info["name"],
                      force=qbool(request, "force"))
    return _json(out)


async def prune(d, request):
    filters = parse_filters(request.query.get("filters"))
    dangling = (filters.get("dangling") or ["true"])[0].lower() in ("1", "true")
    removed = await d.run(d.eng.image_prune, all=not dangling)
    return _json({"ImagesDeleted": [{"Deleted": i} for i in removed] or None,
                  "SpaceReclaimed": 0})


# ---- pull / import / push -----------------------------------------------------------
async def create(d, request):
    q = request.query
    if q.get("fromSrc"):
        return await _import(d, request)
    image = q.get("fromImage")
    if not image:
        raise InvalidArgument("images/create needs fromImage (pull) or fromSrc (import)")
    t = q.get("tag") or ""
    if t and "@" not in image and not _has_tag(image):
        ref = f"{image}@{t}" if t.startswith("sha256:") else f"{image}:{t}"
    else:
        ref = image
    reg = _registry(d)
    platform = q.get("platform") or None

    def job(emit):
        return reg.pull(ref, platform=platform, progress=emit)
    return await _progress(d, request, job)


def _has_tag(image: str) -> bool:
    last = image.rsplit("/", 1)[-1]
    return ":" in last


async def _import(d, request):
    q = request.query
    if q["fromSrc"] != "-":
        raise InvalidArgument("only fromSrc=- (the archive in the request body) is supported")
    repo = q.get("repo") or None
    if repo and q.get("tag"):
        repo = f"{repo}:{q['tag']}"
    changes = [ln for ch in q.getall("changes", []) for ln in ch.split("\n") if ln.strip()]
    body = BodyReader(request, asyncio.get_running_loop())

    def job(emit):
        image_id = d.eng.image_import(body, repo, changes, q.get("message", ""))
        emit({"status": image_id})
        return image_id
    return await _progress(d, request, job)


async def push(d, request):
    name = request.match_info["name"]
    t = request.query.get("tag")
    ref = f"{name}:{t}" if t and not _has_tag(name) else name
    reg = _registry(d)
    try:
        await d.run(d.eng.image_resolve, ref)
    except NotFound:
        raise NotFound(f"An image does not exist locally with the tag: {ref}") from None

    def job(emit):
        return reg.push(ref, progress=emit)
    return await _progress(d, request, job)


# ---- distribution -------------------------------------------------------------------
async def distribution(d, request):
    """``GET /distribution/{name}/json``: the registry's descriptor of ``name`` and the
    platforms it has — what ``docker buildx imagetools``-style clients and ``docker
    service create`` ask before pulling (:meth:`Engine.distribution
    <glassbox.engine.Engine.distribution>`). Nothing is stored."""
    _registry(d)                      # a clear error when there is no registry client
    return _json(await d.run(d.eng.distribution, request.match_info["name"]))


# ---- save / load ----------------------------------------------------------------------
async def get(d, request):
    """``docker save``: a docker-archive tar streamed as it is written."""
    from aiohttp import web
    name = request.match_info.get("name")
    refs = [name] if name else request.query.getall("names", [])
    if not refs:
        raise InvalidArgument("save needs at least one image name")
    for r in refs:
        await d.run(d.eng.image_resolve, r)  # 404 before the stream starts
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue = asyncio.Queue(maxsize=16)

    class Sink:
        def write(self, data):
            if data:
                asyncio.run_coroutine_threadsafe(queue.put(bytes(data)), loop).result()
            return len(data)

        def flush(self):
            pass

    def job():
        try:
            d.eng.image_save(refs, Sink())
        finally:
            asyncio.run_coroutine_threadsafe(queue.put(None), loop).result()
    resp = web.StreamResponse(headers={"Content-Type": "application/x-tar"})
    await resp.prepare(request)
    fut = loop.run_in_executor(d.pool, job)
    while (chunk := await queue.get()) is not None:
        await resp.write(chunk)
    await fut
    await resp.write_eof()
    return resp


async def load(d, request):
    body = BodyReader(request, asyncio.get_running_loop())
    quiet = qbool(request, "quiet")

    def job(emit):
        loaded = d.eng.image_load(body)
        for t in loaded:
            if t.startswith("sha256:"):                     # an image that came untagged
                emit({"stream": f"Loaded image ID: {t}\n"})
            else:
                emit({"stream": f"Loaded image: {_familiar(t)}\n"})
        return loaded
    del quiet
    return await _progress(d, request, job)


# ---- build ------------------------------------------------------------------------------
def _builder(d):
    try:
        return d.eng.builder
    except (ImportError, AttributeError) as e:
        raise GlassboxError(f"this glassbox has no image builder yet ({e}); "
                            "build is not available through the daemon") from None


#: Build parameters accepted only at the value that asks for nothing (what the docker
#: CLI and docker-py send when the option is not used); anything else is refused with
#: 400 and the parameter's name, before the context is read. Honoured: t, dockerfile,
#: buildargs, labels, target, nocache, pull, q, cachefrom, networkmode, extrahosts.
#: Ignored: rm/forcerm (intermediate containers are always removed), session, buildid.
#: Parameters the API does not have are ignored, as dockerd ignores them.
_BUILD_DEFAULTS_ONLY: dict[str, tuple[str, ...]] = {
    "memory": ("", "0"), "memswap": ("", "0", "-1"), "cpushares": ("", "0"),
    "cpuquota": ("", "0"), "cpuperiod": ("", "0"), "cpusetcpus": ("",), "cpusetmems": ("",),
    "cgroupparent": ("",), "shmsize": ("", "0"), "ulimits": ("", "null", "[]"),
    "squash": ("", "0", "false", "False"), "isolation": ("", "default"), "outputs": ("",),
    "version": ("", "1"), "securityopt": ("",),
}


_BUILD_WHY = {
    "version": "BuildKit (version=2) is not available: glassbox builds as Docker's classic "
               "builder (version=1)",
    "squash": "the image keeps one layer per step", "outputs": "the image goes to the store",
    "isolation": "Linux containers have only the default isolation",
}


def _refuse_build_options(q) -> None:
    """Refuse (400, by name) the build options glassbox does not implement."""
    for key, fine in _BUILD_DEFAULTS_ONLY.items():
        for value in q.getall(key, []):
            if value.strip() not in fine:
                why = _BUILD_WHY.get(key, "the build's RUN containers take no resource "
                                          "limits or security options")
                raise InvalidArgument(f"build option {key}={value!r} is not supported by "
                                      f"glassbox: {why}")
    platform = (q.get("platform") or "").strip().lower()
    if platform:
        from ..images.manifest import host_platform
        host = host_platform()
        mine = f"{host.get('os', 'linux')}/{host['architecture']}"
        full = mine + (f"/{host['variant']}" if host.get("variant") else "")
        if platform not in (mine, full):
            raise InvalidArgument(f"build option platform={platform!r} is not supported: "
                                  f"glassbox builds for this host's platform ({full}) only")
    if q.get("remote"):
        raise InvalidArgument("remote build contexts (git, URLs) are not supported: send "
                              "the context as a tar")


def _cache_from(q) -> list[str]:
    """``cachefrom``: a JSON list of image references (docker CLI, docker-py)."""
    raw = q.get("cachefrom") or ""
    if raw.strip() in ("", "null"):
        return []
    try:
        refs = loads_json(raw, "cachefrom")
    except ValueError:
        refs = None
    if not isinstance(refs, list) or not all(isinstance(r, str) for r in refs):
        raise InvalidArgument(f"cachefrom must be a JSON list of image names, not {raw!r}")
    return [r for r in refs if r]


async def build(d, request):
    """``POST /build``: the body is the context as a tar (maybe compressed), handed
    as a stream to the Engine's builder, which unpacks it with its own context
    extractor (no path escapes, no writes through symlinks) into a private temp
    dir under the state root, and removes it after the build.

    ``networkmode`` (``default``: the default bridge, as dockerd — the docker CLI sends
    it on every build; ``none``, ``bridge``, a user network, ``host``), ``extrahosts``
    (``name:ip`` or ``name:host-gateway``, repeated) and ``cachefrom`` go to the
    builder, which checks them before the first step (an unknown network: 400 naming
    it). A RUN's
    stdout and stderr both stream as ``{"stream": ...}`` lines while it runs."""
    q = request.query
    builder = _builder(d)
    tags = q.getall("t", [])
    try:
        build_args = loads_json(q.get("buildargs") or "{}", "buildargs")
        labels = loads_json(q.get("labels") or "{}", "labels")
    except ValueError:
        raise InvalidArgument("buildargs and labels must be JSON objects") from None
    if not isinstance(build_args or {}, dict) or not isinstance(labels or {}, dict):
        raise InvalidArgument("buildargs and labels must be JSON objects")
    build_args, labels = build_args or {}, labels or {}
    _refuse_build_options(q)
    cache_from = _cache_from(q)
    extra_hosts = [h for h in q.getall("extrahosts", []) if h.strip()]
    network = q.get("networkmode") or None
    await d.run(_check_build_options, builder, network, extra_hosts)
    body = BodyReader(request, asyncio.get_running_loop())
    quiet = qbool(request, "q")

    def job(emit):
        def progress(ev):
            if quiet:
                return
            if isinstance(ev, dict) and "type" in ev:
                ev = build_stream(ev)
            if ev is not None:
                emit(ev)
        return builder.build(body, dockerfile=q.get("dockerfile") or "Dockerfile", tags=tags,
                             build_args={k: v for k, v in build_args.items() if v is not None},
                             labels=labels, no_cache=qbool(request, "nocache"),
                             target=q.get("target") or None, pull=qbool(request, "pull"),
                             cache_from=cache_from, network=network,
                             extra_hosts=extra_hosts, progress=progress)

    def final(img):
        iid = getattr(img, "id", None) or (img if isinstance(img, str) else "")
        if not iid:
            return []
        evs = [{"aux": {"ID": iid}}]
        if quiet:
            evs.append({"stream": iid + "\n"})
        else:
            evs.append({"stream": f"Successfully built {iid.split(':')[-1][:12]}\n"})
            evs += [{"stream": f"Successfully tagged {_familiar(t)}\n"} for t in tags]
        return evs
    return await _progress(d, request, job, final=final)


def _check_build_options(builder, network: str | None, extra_hosts: list[str]) -> None:
    """The network and the extra hosts, checked before the response begins: a bad one
    is a 400 (the docker CLI's "Error response from daemon"), not an error line."""
    check = getattr(builder, "check_options", None)
    if check is not None:
        check(network=network, extra_hosts=extra_hosts)


async def build_prune(d, request):
    return _json({"CachesDeleted": None, "SpaceReclaimed": 0})


ROUTES = [
    ("GET", "/images/json", image_list), ("POST", "/images/create", create),
    ("POST", "/images/load", load), ("GET", "/images/get", get),
    ("POST", "/images/prune", prune), ("POST", "/build", build),
    ("POST", "/build/prune", build_prune),
    ("GET", "/images/{name:.+}/json", image_inspect),
    ("GET", "/images/{name:.+}/history", history),
    ("GET", "/images/{name:.+}/get", get),
    ("POST", "/images/{name:.+}/tag", tag), ("POST", "/images/{name:.+}/push", push),
    ("DELETE", "/images/{name:.+}", remove),
    ("GET", "/distribution/{name:.+}/json", distribution),
]
