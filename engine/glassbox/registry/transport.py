"""HTTP to one registry host: TLS or plain, keep-alive connections, auth, errors.

Everything a registry speaks is plain HTTP/1.1 (the OCI distribution spec), so
this is :mod:`http.client` and nothing else:

* **Which scheme.** HTTPS, certificate verified. Plain ``http://`` only for
  loopback hosts (``localhost``, ``127.0.0.1``, ``[::1]``) and registries the
  user named as insecure; for those, HTTPS is tried first (without
  verification, as Docker does) and plain HTTP is the fallback.
* **Connections.** One keep-alive connection per thread (several layers
  download in parallel, each on its own socket). A reused socket that the
  server has closed is replaced once, transparently.
* **Auth.** The first ``GET /v2/`` tells whether and how to authenticate
  (see :mod:`.auth`); Bearer tokens are cached per scope; a ``401`` later on
  (token expired, wider scope needed) fetches a new one and retries once.
* **Errors.** The registry's JSON error body (``{"errors": [{"code": ...}]}``)
  becomes :class:`~glassbox.errors.RegistryError` or
  :class:`~glassbox.errors.NotFound`; connection failures say which host.
"""

from __future__ import annotations

import http.client
import ipaddress
import json
import socket
import ssl
import threading
import urllib.parse

from ..errors import NotFound, RegistryError
from .auth import Challenge, Credentials, parse_challenge

USER_AGENT = "glassbox (OCI distribution client; python http.client)"
BLOCK = 1 << 20
NETWORK_ERRORS = (OSError, http.client.HTTPException)


def is_loopback(host: str) -> bool:
    name = host.rsplit(":", 1)[0] if not host.endswith("]") else host
    name = name.strip("[]")
    if name == "localhost" or name.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


class Response:
    """A response whose body may still be on the wire (``read`` it or ``close`` it)."""

    def __init__(self, raw: http.client.HTTPResponse, transport, conn):
        self.raw, self._t, self._conn = raw, transport, conn
        self.status = raw.status
        self.headers = raw.headers

    def header(self, name: str, default=None):
        return self.raw.getheader(name, default)

    def read(self, n: int = -1) -> bytes:
        return self.raw.read() if n is None or n < 0 else self.raw.read(n)

    def readinto(self, b) -> int:
        return self.raw.readinto(b)

    def close(self) -> None:
        """Release the connection: kept for reuse only when the body was read to its end."""
        if self._conn is None:
            return
        if self.raw.isclosed() or self.raw.length == 0:
            self.raw.close()
            self._t._release(self._conn)
        else:
            self._t._discard(self._conn)
        self._conn = None

    def json(self):
        try:
            return json.loads(self.read())
        finally:
            self.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def error_detail(body: bytes) -> tuple[str, str]:
    """(first error code, readable message) of a distribution error body."""
    try:
        errs = json.loads(body).get("errors") or []
    except (ValueError, AttributeError):
        text = body.decode(errors="replace").strip()[:200]
        return "", text
    if not errs:
        return "", ""
    parts = []
    for e in errs:
        msg = e.get("message") or e.get("code", "")
        code = str(e.get("code", "")).lower().replace("_", " ")
        parts.append(f"{code}: {msg}" if code and msg and code != msg.lower() else (msg or code))
    return str(errs[0].get("code", "")), "; ".join(parts)


class Transport:
    """Requests to one registry ``host[:port]``; safe to share between threads."""

    def __init__(self, host: str, *, insecure: bool = False,
                 credentials: Credentials | None = None, timeout: float = 60.0):
        self.host = host
        self.insecure = insecure or is_loopback(host)
        self.credentials = credentials
        self.timeout = timeout
        self.scheme: str | None = None     # decided by ping()
        self.challenge: Challenge | None = None
        self._tokens: dict[tuple, str] = {}
        self._basic = False
        self._lock = threading.Lock()
        self._ping_lock = threading.Lock()       # one ping, even with several threads
        self._token_lock = threading.Lock()
        self._pinged = False
        self._local = threading.local()
        self._all_conns: list = []
        #: counters for tests and benchmarks: ("GET", "/v2/...") -> n
        self.requests: list[tuple[str, str]] = []

    # ------------------------------------------------------------------ connections
    def _new_conn(self, scheme: str, host: str):
        if scheme == "https":
            if self.insecure and host == self.host:
                # nothing is verified: skip loading the CA bundle (~90 ms per process)
                ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
                ctx.check_hostname = False
                ctx.verify_mode = ssl.CERT_NONE
            else:
                ctx = ssl.create_default_context()
            conn = http.client.HTTPSConnection(host, timeout=self.timeout, context=ctx,
                                               blocksize=BLOCK)
        else:
            conn = http.client.HTTPConnection(host, timeout=self.timeout, blocksize=BLOCK)
        with self._lock:
            self._all_conns.append(conn)
        return conn

    def _conn(self):
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = self._new_conn(self.scheme, self.host)
        self._local.conn = None  # checked out
        return conn

    def _release(self, conn):
        if getattr(self._local, "conn", None) is None:
            self._local.conn = conn
        else:
            self._discard(conn)

    def _discard(self, conn):
        conn.close()
        with self._lock:
            if conn in self._all_conns:
                self._all_conns.remove(conn)

    def close(self):
        with self._lock:
            conns, self._all_conns = self._all_conns, []
        for c in conns:
            c.close()

    # ------------------------------------------------------------------ raw requests
    def _send(self, method, target, headers, body, conn=None):
        """One request on a pooled connection; a stale keep-alive socket is retried once."""
        for attempt in (0, 1):
            fresh = conn is not None
            c = conn or self._conn()
            reused = getattr(c, "sock", None) is not None
            try:
                if hasattr(body, "seek") and attempt:
                    body.seek(0)
                c.request(method, target, body=body, headers=headers)
                resp = c.getresponse()
                return Response(resp, self, c)
            except (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError,
                    http.client.CannotSendRequest, http.client.BadStatusLine) as e:
                self._discard(c)
                if attempt or not reused or fresh or (body is not None and not hasattr(body, "seek")):
                    raise self._net_error(e) from None
            except ssl.SSLError:
                self._discard(c)
                raise
            except NETWORK_ERRORS as e:
                self._discard(c)
                raise self._net_error(e) from None

    def _net_error(self, e: Exception) -> RegistryError:
        if isinstance(e, ConnectionRefusedError):
            why = "connection refused: is the registry running and the port right?"
        elif isinstance(e, socket.timeout):
            why = f"no answer within {self.timeout:g}s"
        elif isinstance(e, socket.gaierror):
            why = f"cannot resolve the host name ({e.strerror})"
        else:
            why = f"{type(e).__name__}: {e}"
        return RegistryError(f"cannot talk to registry {self.host}: {why}")

    # ------------------------------------------------------------------ ping and auth
    def ping(self) -> None:
        """``GET /v2/``: pick the scheme and learn the auth challenge (once)."""
        if self._pinged:
            return
        with self._ping_lock:
            if not self._pinged:
                self._ping()
                self._pinged = True

    def _ping(self) -> None:
        schemes = ["https", "http"] if self.insecure else ["https"]
        last = None
        for scheme in schemes:
            self.scheme = scheme
            try:
                resp = self._send("GET", "/v2/", self._base_headers(), None)
            except ssl.SSLError as e:
                last = RegistryError(f"TLS handshake with {self.host} failed: {e.reason or e}"
                                     + ("" if self.insecure else
                                        " — if it serves plain http, pass it with "
                                        "--insecure-registry (or GLASSBOX_INSECURE_REGISTRIES)"))
                continue
            except RegistryError as e:
                last = e
                continue
            body = resp.read()
            resp.close()
            if resp.status == 401:
                self.challenge = parse_challenge(resp.header("WWW-Authenticate", ""))
            elif resp.status >= 400 and resp.status != 404:
                _, msg = error_detail(body)
                self.scheme = None
                raise RegistryError(f"registry {self.host} answered GET /v2/ with "
                                    f"{resp.status}: {msg or resp.raw.reason}")
            return
        self.scheme = None
        raise last

    def _base_headers(self, extra=None):
        h = {"User-Agent": USER_AGENT, "Host": self.host}
        if extra:
            h.update(extra)
        return h

    def _authorization(self, scopes: tuple) -> str | None:
        if self._basic and self.credentials:
            return self.credentials.basic_header()
        ch = self.challenge
        if ch is None:
            return None
        if ch.scheme == "basic":
            if self.credentials is None:
                return None
            self._basic = True
            return self.credentials.basic_header()
        if ch.scheme == "bearer":
            key = tuple(sorted(scopes))
            tok = self._tokens.get(key)
            if tok is None:
                with self._token_lock:
                    tok = self._tokens.get(key)
                    if tok is None:
                        tok = self.fetch_token(ch, scopes)
                        self._tokens[key] = tok
            return "Bearer " + tok
        return None

    def fetch_token(self, ch: Challenge, scopes=()) -> str:
        """Ask the token server named by a Bearer challenge for a token."""
        realm = ch.realm
        if not realm:
            raise RegistryError(f"registry {self.host} asked for a Bearer token but named no realm")
        u = urllib.parse.urlsplit(realm)
        if u.scheme not in ("http", "https") or not u.netloc:
            raise RegistryError(f"registry {self.host} gave an invalid token realm {realm!r}")
        if u.scheme == "http" and not (is_loopback(u.netloc) or self.insecure):
            raise RegistryError(f"refusing to send credentials to the plain-http token "
                                f"server {realm}: only loopback or insecure registries may")
        q = urllib.parse.parse_qsl(u.query)
        if ch.params.get("service"):
            q.append(("service", ch.params["service"]))
        wanted = list(dict.fromkeys([*scopes, *([ch.params["scope"]] if ch.params.get("scope") else [])]))
        q += [("scope", s) for s in wanted]
        if self.credentials:
            q.append(("account", self.credentials.username))
        target = (u.path or "/") + ("?" + urllib.parse.urlencode(q) if q else "")
        headers = {"User-Agent": USER_AGENT}
        if self.credentials:
            headers["Authorization"] = self.credentials.basic_header()
        conn = (http.client.HTTPSConnection(u.netloc, timeout=self.timeout,
                                            context=ssl.create_default_context())
                if u.scheme == "https" else http.client.HTTPConnection(u.netloc, timeout=self.timeout))
        try:
            conn.request("GET", target, headers=headers)
            resp = conn.getresponse()
            body = resp.read()
        except NETWORK_ERRORS as e:
            raise RegistryError(f"cannot reach the token server {u.netloc} of {self.host}: "
                                f"{type(e).__name__}: {e}") from None
        finally:
            conn.close()
        if resp.status in (401, 403):
            raise self.unauthorized(detail=error_detail(body)[1])
        if resp.status != 200:
            raise RegistryError(f"token server {u.netloc} answered {resp.status}: "
                                f"{error_detail(body)[1] or resp.reason}")
        try:
            data = json.loads(body)
            return data.get("token") or data["access_token"]
        except (ValueError, KeyError, AttributeError):
            raise RegistryError(f"token server {u.netloc} sent no token") from None

    def unauthorized(self, detail: str = "") -> RegistryError:
        extra = f" ({detail})" if detail else ""
        if self.credentials:
            return RegistryError(
                f"unauthorized: {self.host} rejected the credentials of user "
                f"{self.credentials.username!r}{extra}: check the username and password "
                f"and run `glassbox login {self.host}` again")
        return RegistryError(f"unauthorized: {self.host} requires authentication{extra}: "
                             f"run `glassbox login {self.host}` first")

    # ------------------------------------------------------------------ requests
    def request(self, method: str, url: str, *, headers=None, body=None, scopes=(),
                expect=(200,), redirects: bool = True) -> Response:
        """Send ``method url`` with auth; return the response if its status is in
        ``expect`` (body unread), else raise a RegistryError/NotFound."""
        self.ping()
        u = urllib.parse.urlsplit(url)
        if u.netloc and u.netloc != self.host:
            return self._foreign(method, url, headers, expect)
        target = (u.path or "/") + (f"?{u.query}" if u.query else "")
        retried_auth = False
        while True:
            h = self._base_headers(headers)
            auth = self._authorization(tuple(scopes))
            if auth:
                h["Authorization"] = auth
            self.requests.append((method, u.path))
            resp = self._send(method, target, h, body)
            if resp.status == 401 and not retried_auth:
                resp.read()
                resp.close()
                new = parse_challenge(resp.header("WWW-Authenticate", ""))
                if new.scheme == "bearer":
                    self.challenge = new
                    self._tokens.pop(tuple(sorted(scopes)), None)
                    retried_auth = True
                    continue
                if new.scheme == "basic" and self.credentials and not self._basic:
                    self.challenge, retried_auth = new, True
                    continue
                raise self.unauthorized()
            if redirects and resp.status in (301, 302, 303, 307, 308) and method in ("GET", "HEAD"):
                loc = resp.header("Location")
                resp.read()
                resp.close()
                if not loc:
                    raise RegistryError(f"{self.host} redirected {u.path} without a Location")
                loc = urllib.parse.urljoin(f"{self.scheme}://{self.host}{target}", loc)
                return self._foreign(method, loc, headers, expect)
            if resp.status in expect:
                return resp
            raise self._status_error(method, u.path, resp)

    def _foreign(self, method, url, headers, expect) -> Response:
        """Follow a redirect to blob storage elsewhere (no registry credentials sent)."""
        for _ in range(5):
            u = urllib.parse.urlsplit(url)
            if u.scheme == "http" and not is_loopback(u.netloc) and not self.insecure:
                raise RegistryError(f"{self.host} redirected to plain-http {u.netloc}: refused")
            conn = self._new_conn(u.scheme, u.netloc)
            h = {"User-Agent": USER_AGENT}
            h.update({k: v for k, v in (headers or {}).items() if k.lower() != "authorization"})
            try:
                conn.request(method, (u.path or "/") + (f"?{u.query}" if u.query else ""), headers=h)
                raw = conn.getresponse()
            except NETWORK_ERRORS as e:
                self._discard(conn)
                raise RegistryError(f"cannot fetch {u.netloc}{u.path} (redirected from "
                                    f"{self.host}): {type(e).__name__}: {e}") from None
            resp = _OneShot(raw, self, conn)
            if raw.status in (301, 302, 303, 307, 308) and raw.getheader("Location"):
                url = urllib.parse.urljoin(url, raw.getheader("Location"))
                resp.read()
                resp.close()
                continue
            if raw.status in expect:
                return resp
            raise self._status_error(method, u.path, resp)
        raise RegistryError(f"too many redirects fetching from {self.host}")

    def _status_error(self, method, path, resp) -> RegistryError:
        body = resp.read(64 * 1024) if method != "HEAD" else b""
        resp.close()
        code, msg = error_detail(body)
        msg = msg or resp.raw.reason or ""
        if resp.status == 404 or code in ("MANIFEST_UNKNOWN", "NAME_UNKNOWN", "BLOB_UNKNOWN"):
            return NotFound(f"{self.host}: {method} {path}: {msg or 'not found'}")
        if resp.status == 401:
            return self.unauthorized(msg)
        if resp.status == 403:
            return RegistryError(f"denied: {self.host} refused {method} {path}: {msg} "
                                 "(no permission for this repository?)")
        return RegistryError(f"{self.host}: {method} {path} failed with HTTP {resp.status}: {msg}")


class _OneShot(Response):
    """A response on a connection that is never reused (redirect targets)."""

    def close(self):
        if self._conn is not None:
            self._t._discard(self._conn)
            self._conn = None
