"""The HTTP side of the daemon: routes, version negotiation, errors, the socket.

Every route is served both with a version prefix (``/v1.43/containers/json``)
and without one (``/containers/json``), as dockerd does. A client that asks for
a version outside ``[MIN_API_VERSION, API_VERSION]`` gets a 400 saying which
range is served. Engine errors become Docker's JSON errors::

    NotFound -> 404   Conflict -> 409   InvalidArgument -> 400   others -> 500
    body: {"message": "..."}

The Engine's calls block (they read state files, fork shims, wait for
processes): they run in a thread pool (:meth:`Daemon.run`) so one slow pull
never stalls the ``docker ps`` of someone else.

Who may talk to the daemon is who may talk to its socket — and that is root
on the host (a container with ``-v /:/host`` is root on the host). So there is
no TCP listener unless asked for with ``--tcp HOST:PORT`` (see
:func:`tcp_listener`): with ``--tlscacert/--tlscert/--tlskey`` it speaks TLS
and *requires* a client certificate signed by that CA (dockerd's
``--tlsverify``); without TLS only loopback is accepted, with a loud warning.
"""

from __future__ import annotations

import asyncio
import functools
import grp
import json
import logging
import os
import signal
import socket
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from ..errors import Conflict, GlassboxError, InvalidArgument, http_status
from ..safejson import loads_json
from .translate import version_tuple

API_VERSION = "1.45"
"""The newest API version served. Of 1.44 (moby's ``api/docs/CHANGELOG.md``) glassbox
honours ``EndpointSettings.MacAddress`` and several ``EndpointsConfig`` at create,
``HealthConfig.StartInterval``, the ``BindOptions`` it can keep (a read-only bind is
read-only at its top mount, ``ReadOnlyNonRecursive``, as with a runtime without
``rro``: ``ReadOnlyForceRecursive`` is refused by name), ``DNSNames``, the ``until``
filter of ``GET /images/json``, and ``VirtualSize`` gone from images — the shapes by
the request's version (:func:`request_version`).

Of 1.45: ``VolumeOptions.Subpath`` (honoured at any version), ``Aliases`` without the
short id (:func:`.containers.endpoint_names`: docker-compose 1.29, which takes the
daemon's version, then disconnects each created container from its network and
connects it again with its aliases, as dockerd allows), image inspect without
``Container``/``ContainerConfig``. Its create fields are 1.44's plus ``Subpath``
(moby's ``api/docs/v1.45.yaml``)."""
MIN_API_VERSION = "1.24"
DEFAULT_SOCKET = "/run/glassbox.sock"
MAX_JSON_BODY = 4 << 20     # JSON requests; archives (build, load) are streamed

log = logging.getLogger("glassbox.daemon")


LOOPBACK_HOSTS = ("127.0.0.1", "localhost")


@dataclass(frozen=True)
class TcpListener:
    """Where and how to listen on TCP (``ssl`` is None for plain loopback HTTP)."""
    host: str
    port: int
    ssl: object = None
    warning: str | None = None

    @property
    def url(self) -> str:
        return f"tcp://{self.host}:{self.port}"


def parse_tcp(spec: str) -> tuple[str, int]:
    """``HOST:PORT`` (or ``tcp://HOST:PORT``) -> ``(host, port)``; both required."""
    s = spec[len("tcp://"):] if spec.startswith("tcp://") else spec
    host, sep, port = s.rpartition(":")
    host = host.strip("[]")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise InvalidArgument(f"invalid --tcp {spec!r}: expected HOST:PORT, e.g. "
                              "127.0.0.1:2376")
    return host, int(port)


def tls_context(cacert: str, cert: str, key: str):
    """A server TLS context that demands a client certificate signed by ``cacert``."""
    import ssl
    for flag, path in (("--tlscacert", cacert), ("--tlscert", cert), ("--tlskey", key)):
        if not os.path.isfile(path):
            raise InvalidArgument(f"{flag} {path}: no such file")
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    try:
        ctx.load_cert_chain(cert, key)
        ctx.load_verify_locations(cafile=cacert)
    except (ssl.SSLError, OSError) as e:
        raise InvalidArgument(f"cannot use the TLS files (--tlscert {cert}, --tlskey {key}, "
                              f"--tlscacert {cacert}): {e}") from None
    ctx.verify_mode = ssl.CERT_REQUIRED
    return ctx


def tcp_listener(spec: str | None, tlscacert: str | None = None, tlscert: str | None = None,
                 tlskey: str | None = None) -> TcpListener | None:
    """Check the ``--tcp``/``--tls*`` flags *before* anything listens.

    * no ``--tcp``: None (unix socket only); TLS flags alone are an error;
    * all three TLS files: TLS with client-certificate verification, any host;
    * no TLS: only 127.0.0.1/localhost, and a warning to print loudly —
      anyone who can reach the port is root on this host;
    * some but not all TLS files, or another host without TLS: InvalidArgument.
    """
    tls = [x for x in (tlscacert, tlscert, tlskey) if x]
    if spec is None:
        if tls:
            raise InvalidArgument("--tlscacert/--tlscert/--tlskey need --tcp HOST:PORT")
        return None
    host, port = parse_tcp(spec)
    if tls and len(tls) != 3:
        raise InvalidArgument("TLS needs all three of --tlscacert, --tlscert and --tlskey "
                              "(the CA that signs client certificates, the server's "
                              "certificate and its key)")
    if tls:
        return TcpListener(host, port, tls_context(tlscacert, tlscert, tlskey))
    if host not in LOOPBACK_HOSTS:
        raise InvalidArgument(
            f"refusing to serve the API without TLS on {host}:{port}: whoever reaches it "
            "is root on this host. Give --tlscacert, --tlscert and --tlskey (clients "
            "must then present a certificate signed by that CA), or listen on "
            f"127.0.0.1:{port}")
    warning = (f"WARNING: the Docker Engine API is served WITHOUT TLS on tcp://{host}:{port}. "
               "Any local user or process that can connect to it is root on this host. "
               "Use the unix socket, or --tlscacert/--tlscert/--tlskey.")
    return TcpListener(host, port, None, warning)


class Daemon:
    """Shared state of one daemon: the Engine, a thread pool, exec sessions,
    pending attaches and exit notifications (see :mod:`.containers`)."""

    def __init__(self, eng):
        self.eng = eng
        self.pool = ThreadPoolExecutor(max_workers=32, thread_name_prefix="gbx-api")
        self.execs: dict[str, dict] = {}
        from .containers import AttachHub
        self.hub = AttachHub(self)
        self.hijacked: set = set()
        from ..events import EventWatcher
        self.events = EventWatcher(self)

    async def run(self, fn, *args, **kw):
        """Call a blocking Engine function in the pool."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self.pool, functools.partial(fn, *args, **kw))


def json_response(data, status: int = 200):
    """JSON with ``Content-Type: application/json`` exactly — the docker CLI only
    decodes error bodies whose type is that string (no ``; charset``)."""
    from aiohttp import web
    return web.Response(body=json.dumps(data).encode(), status=status,
                        headers={"Content-Type": "application/json"})


def _json_error(status: int, message: str):
    return json_response({"message": message}, status)


def _middlewares(d: Daemon):
    from aiohttp import web

    @web.middleware
    async def version_and_errors(request, handler):
        v = request.match_info.get("_v")
        if v:
            try:
                want = version_tuple(v[1:])
            except InvalidArgument as e:
                return _json_error(400, str(e))
            if want > version_tuple(API_VERSION):
                return _json_error(400, f"client version {v[1:]} is too new. Maximum "
                                        f"supported API version is {API_VERSION}")
            if want < version_tuple(MIN_API_VERSION):
                return _json_error(400, f"client version {v[1:]} is too old. Minimum "
                                        f"supported API version is {MIN_API_VERSION}, "
                                        "please upgrade your client to a newer version")
        try:
            resp = await handler(request)
        except web.HTTPException as e:
            if e.status < 400:
                raise
            msg = e.text if e.text and not e.text.startswith(f"{e.status}:") else e.reason
            if e.status == 404 and request.match_info.route.name is None:
                msg = "page not found"
            return _json_error(e.status, msg)
        except GlassboxError as e:
            status = http_status(e)
            if status == 500:
                log.warning("%s %s: %s", request.method, request.path, e)
            return _json_error(status, str(e))
        except (ConnectionError, asyncio.CancelledError):
            raise
        except Exception as e:  # noqa: BLE001 - the daemon must keep serving
            log.exception("%s %s failed", request.method, request.path)
            return _json_error(500, f"internal error: {type(e).__name__}: {e}")
        try:
            resp.headers.setdefault("Api-Version", API_VERSION)
            resp.headers.setdefault("Server", "glassbox (linux)")
        except (AttributeError, RuntimeError):
            pass  # streamed/hijacked: headers already gone
        return resp
    return [version_and_errors]


def request_version(request) -> tuple[int, int]:
    """The API version a request speaks: its ``/v1.xx`` prefix, else the newest served
    (dockerd's rule). Response shapes that changed between versions are chosen by it,
    so a client that negotiated 1.41 (docker-compose 1.29) keeps the 1.41 shapes."""
    v = request.match_info.get("_v")
    return version_tuple(v[1:]) if v else version_tuple(API_VERSION)


async def read_json(request, default=None, *, required: bool = False):
    """The request body as JSON (400 on anything else; empty -> ``default``)."""
    if request.content_length is not None and request.content_length > MAX_JSON_BODY:
        raise InvalidArgument(f"request body too large ({request.content_length} bytes; "
                              f"the limit for JSON is {MAX_JSON_BODY})")
    data = await request.content.read(MAX_JSON_BODY + 1)
    if len(data) > MAX_JSON_BODY:
        raise InvalidArgument(f"request body too large (limit {MAX_JSON_BODY} bytes)")
    if not data.strip():
        if required:
            raise InvalidArgument("a JSON request body is required")
        return default
    try:
        return loads_json(data)
    except ValueError as e:
        raise InvalidArgument(f"invalid JSON in request body: {e}") from None


def qbool(request, name: str, default: bool = False) -> bool:
    v = request.query.get(name)
    if v is None:
        return default
    return v.lower() not in ("", "0", "false", "no")


def qint(request, name: str, default=None):
    v = request.query.get(name)
    if v is None or v == "":
        return default
    try:
        return int(v)
    except ValueError:
        raise InvalidArgument(f"invalid value for {name}: {v!r} is not an integer") from None


def build_app(d: Daemon):
    """The aiohttp application with every route."""
    from aiohttp import web
    from . import archive, containers, execs, images, swarm, system
    app = web.Application(middlewares=_middlewares(d), client_max_size=MAX_JSON_BODY)
    app["daemon"] = d

    def add(method: str, path: str, fn):
        handler = functools.partial(fn, d)

        async def h(request):
            return await handler(request)
        app.router.add_route(method, path, h)
        app.router.add_route(method, r"/{_v:v[0-9]+\.[0-9]+}" + path, h)

    for mod in (system, containers, archive, execs, images, swarm):
        for method, path, fn in mod.ROUTES:
            add(method, path, fn)
    return app


def _prepare_socket(path: str) -> None:
    if os.path.exists(path) or os.path.islink(path):
        probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            probe.connect(path)
        except OSError:
            os.unlink(path)  # stale: nobody listens
        else:
            raise Conflict(f"{path} is in use: another daemon is listening on it; stop it "
                           "or choose another --socket")
        finally:
            probe.close()
    os.makedirs(os.path.dirname(os.path.abspath(path)) or ".", exist_ok=True)


SOCKET_UMASK = 0o177
"""The umask while the socket is bound: it is born 0600 (root only) — never a
moment wider — and only opened to the group once it belongs to that group."""


def _secure_socket(path: str, group: str | None) -> str:
    """0660 owned by ``group`` when that group exists (root and its members may
    talk to the daemon), else left at 0600: root only. Never wider."""
    gid = -1
    note = "root only"
    if group:
        try:
            gid = grp.getgrnam(group).gr_gid
        except KeyError:
            note = f"root only (group {group!r} does not exist; create it to share access)"
    if gid >= 0:
        os.chown(path, -1, gid)      # first the group, then its permission
        os.chmod(path, 0o660)
        note = f"root and group {group}"
    else:
        os.chmod(path, 0o600)
    return note


async def serve_async(eng, path: str, group: str | None = "docker", ready=None,
                      tcp: TcpListener | None = None) -> None:
    from aiohttp import web
    d = Daemon(eng)
    app = build_app(d)
    runner = web.AppRunner(app, handler_cancellation=True, access_log=None)
    await runner.setup()
    _prepare_socket(path)
    old_umask = os.umask(SOCKET_UMASK)
    try:
        site = web.UnixSite(runner, path)
        await site.start()
    finally:
        os.umask(old_umask)
    note = _secure_socket(path, group)
    log.warning("glassbox daemon: serving the Docker Engine API %s (min %s) on unix://%s "
                "(%s); state root %s", API_VERSION, MIN_API_VERSION, path, note, eng.root)
    tls_server = None
    if tcp is not None:
        try:
            if tcp.ssl is not None:   # TLS by hand: see .tls (half-close must survive)
                from .tls import start_tls_server
                tls_server = await start_tls_server(tcp.host, tcp.port, tcp.ssl, runner)
            else:
                await web.TCPSite(runner, tcp.host, tcp.port, reuse_address=True).start()
        except OSError as e:
            await runner.cleanup()
            _unlink(path)
            raise Conflict(f"cannot listen on {tcp.url}: {e.strerror or e}") from None
        if tcp.warning:
            _loud(tcp.warning)
        log.warning("glassbox daemon: also serving on %s (%s)", tcp.url,
                    "TLS, client certificates required" if tcp.ssl else "plain HTTP, loopback")
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await _restore_after_boot(d)
    if ready:
        ready()
    try:
        await stop.wait()
    finally:
        log.warning("glassbox daemon: shutting down")
        if tls_server is not None:
            tls_server.close()
        for raw in list(d.hijacked):
            raw.close()
        await d.hub.shutdown()
        await runner.cleanup()
        _unlink(path)
        d.pool.shutdown(wait=False, cancel_futures=True)


async def _restore_after_boot(d) -> None:
    """A boot of the state root: bring back the containers whose restart policy
    says so (``always``, ``unless-stopped``), as dockerd does when it starts."""
    from ..containers.restart import restore_after_boot
    try:
        started = await d.run(restore_after_boot, d.eng.containers)
    except Exception as e:  # noqa: BLE001 — the daemon serves anyway
        log.warning("glassbox daemon: restoring containers after boot failed: %s", e)
        return
    if started:
        log.warning("glassbox daemon: restarted %d container(s) after boot (restart policy)",
                    len(started))


def _unlink(path: str) -> None:
    try:
        os.unlink(path)
    except OSError:
        pass


def _loud(msg: str) -> None:
    """A warning nobody can miss: straight to stderr, framed, whatever the log level."""
    import sys
    bar = "!" * 78
    sys.stderr.write(f"{bar}\n{msg}\n{bar}\n")
    sys.stderr.flush()


def serve(eng, path: str = DEFAULT_SOCKET, group: str | None = "docker",
          tcp: TcpListener | None = None) -> None:
    """Run the daemon in the foreground until SIGTERM/SIGINT (``tcp``: see
    :func:`tcp_listener`, which checks the flags before anything listens)."""
    logging.basicConfig(level=os.environ.get("GLASSBOX_LOG_LEVEL", "WARNING"),
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    spawner = None
    if _single_threaded():   # fork the shim launcher before any thread exists (.spawner)
        from .spawner import Spawner
        spawner = Spawner.start()
        spawner.install()
    try:
        asyncio.run(serve_async(eng, path, group, tcp=tcp))
    finally:
        if spawner is not None:
            spawner.close()


def _single_threaded() -> bool:
    try:
        return len(os.listdir("/proc/self/task")) == 1
    except OSError:
        return False
