"""A fake OCI registry in one thread of this process — a stand-in, said to be one.

The real peer is Debian's ``docker-registry`` (tests/interop); this fake is
for what a real registry will not do on demand: serve corrupt bytes, drop a
connection half-way through a blob, die mid-pull, or speak the Bearer-token
flow without a PKI. It implements the parts of the distribution spec the
client uses: ``/v2/``, manifests (GET/HEAD/PUT by tag or digest), blobs
(GET with ``Range``, HEAD), uploads (POST, PATCH, PUT ``?digest=``, cross-repo
``?mount=&from=``), per-repository blob links, Basic auth and Bearer tokens
(its own token endpoint at ``/token``).

    with FakeRegistry(auth="bearer", users={"alice": "pw"}) as reg:
        client.push(f"{reg.host}/team/app:1")
        reg.log            # [("GET", "/v2/"), ("HEAD", "/v2/team/app/blobs/sha256:..."), ...]
"""

from __future__ import annotations

import base64
import hashlib
import http.server
import json
import re
import secrets
import threading
import urllib.parse

_MANIFEST_RE = re.compile(r"^/v2/(?P<name>.+)/manifests/(?P<ref>[^/]+)$")
_BLOB_RE = re.compile(r"^/v2/(?P<name>.+)/blobs/(?P<digest>sha256:[a-f0-9]{64})$")
_UPLOAD_RE = re.compile(r"^/v2/(?P<name>.+)/blobs/uploads/(?P<uuid>[^/]*)$")


class FakeRegistry:
    """A threaded fake registry on 127.0.0.1:<free port> (``.host``)."""

    def __init__(self, *, auth: str | None = None, users: dict | None = None,
                 anonymous_pull: bool = True):
        self.auth, self.users, self.anonymous_pull = auth, dict(users or {}), anonymous_pull
        self.blobs: dict[str, bytes] = {}
        self.links: dict[str, set] = {}                 # repo -> digests it has
        self.manifests: dict[tuple, tuple] = {}         # (repo, tag|digest) -> (bytes, type)
        self.uploads: dict[str, bytearray] = {}
        self.tokens: dict[str, tuple] = {}              # token -> (user, scopes)
        self.log: list[tuple[str, str]] = []
        #: fault injection: serve these bytes instead of the blob
        self.corrupt: dict[str, bytes] = {}
        #: fault injection: close the connection after N bytes of this blob (once each)
        self.drop_after: dict[str, int] = {}
        #: fault injection: after N bytes of any blob, stop answering (the registry "dies")
        self.die_after_bytes: int | None = None
        self.ignore_range = False
        self.lock = threading.Lock()
        self._srv = None
        self._thread = None

    # ------------------------------------------------------------------ lifecycle
    def start(self) -> "FakeRegistry":
        reg = self

        class Handler(_Handler):
            registry = reg

        self._srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._srv.daemon_threads = True
        self._thread = threading.Thread(target=self._srv.serve_forever, name="fake-registry",
                                        daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._srv is not None:
            self._srv.shutdown()
            self._srv.server_close()
            self._srv = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    @property
    def port(self) -> int:
        return self._srv.server_address[1]

    @property
    def host(self) -> str:
        return f"127.0.0.1:{self.port}"

    # ------------------------------------------------------------------ content helpers
    def put_blob(self, repo: str, data: bytes) -> str:
        d = "sha256:" + hashlib.sha256(data).hexdigest()
        with self.lock:
            self.blobs[d] = bytes(data)
            self.links.setdefault(repo, set()).add(d)
        return d

    def put_manifest(self, repo: str, tag: str | None, data: bytes, media_type: str) -> str:
        d = "sha256:" + hashlib.sha256(data).hexdigest()
        with self.lock:
            self.manifests[(repo, d)] = (bytes(data), media_type)
            if tag:
                self.manifests[(repo, tag)] = (bytes(data), media_type)
        return d

    def count(self, method: str, pattern: str) -> int:
        return sum(1 for m, p in self.log if m == method and re.search(pattern, p))


class _Handler(http.server.BaseHTTPRequestHandler):
    registry: FakeRegistry
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):  # quiet
        pass

    # ------------------------------------------------------------------ helpers
    def _reply(self, status, body=b"", headers=None, head=False):
        self.send_response(status)
        h = {"Content-Length": str(len(body)), "Docker-Distribution-API-Version": "registry/2.0"}
        h.update(headers or {})
        for k, v in h.items():
            self.send_header(k, v)
        self.end_headers()
        if body and not head:
            self.wfile.write(body)

    def _error(self, status, code, message, headers=None):
        body = json.dumps({"errors": [{"code": code, "message": message}]}).encode()
        self._reply(status, body, dict({"Content-Type": "application/json"}, **(headers or {})),
                    head=self.command == "HEAD")

    def _body(self) -> bytes:
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n else b""

    def _basic_user(self):
        h = self.headers.get("Authorization", "")
        if not h.startswith("Basic "):
            return None
        try:
            user, _, pw = base64.b64decode(h[6:]).decode().partition(":")
        except ValueError:
            return None
        return user if self.registry.users.get(user) == pw else False

    def _authorized(self, repo: str | None, action: str) -> bool:
        reg = self.registry
        if reg.auth is None:
            return True
        if reg.auth == "basic":
            if self._basic_user():
                return True
            self._error(401, "UNAUTHORIZED", "authentication required",
                        {"WWW-Authenticate": 'Basic realm="fake"'})
            return False
        # bearer
        h = self.headers.get("Authorization", "")
        scope = f"repository:{repo}:{action}" if repo else ""
        if h.startswith("Bearer "):
            user, scopes = reg.tokens.get(h[7:], (None, None))
            if scopes is not None and (not repo or _allows(scopes, repo, action)):
                return True
        realm = f"http://{reg.host}/token"
        ch = f'Bearer realm="{realm}",service="fake-registry"'
        if scope:
            ch += f',scope="{scope}"'
        self._error(401, "UNAUTHORIZED", "authentication required", {"WWW-Authenticate": ch})
        return False

    def _token(self, query):
        reg = self.registry
        user = self._basic_user()
        if user is False or (self.headers.get("Authorization") and user is None):
            return self._error(401, "UNAUTHORIZED", "invalid username or password")
        scopes = []
        for s in query.get("scope", []):
            typ, _, rest = s.partition(":")
            name, _, actions = rest.rpartition(":")
            allowed = [a for a in actions.split(",") if a == "pull" and
                       (user or reg.anonymous_pull) or (a == "push" and user)]
            scopes.append((name, tuple(allowed)))
        tok = secrets.token_hex(16)
        reg.tokens[tok] = (user, scopes)
        self._reply(200, json.dumps({"token": tok, "expires_in": 300}).encode(),
                    {"Content-Type": "application/json"})

    # ------------------------------------------------------------------ verbs
    def do_GET(self):
        self._dispatch("GET")

    def do_HEAD(self):
        self._dispatch("HEAD")

    def do_POST(self):
        self._dispatch("POST")

    def do_PATCH(self):
        self._dispatch("PATCH")

    def do_PUT(self):
        self._dispatch("PUT")

    def _dispatch(self, method):
        reg = self.registry
        u = urllib.parse.urlsplit(self.path)
        q = urllib.parse.parse_qs(u.query)
        with reg.lock:
            reg.log.append((method, u.path))
        if reg.die_after_bytes is not None and reg.die_after_bytes <= 0:
            self.close_connection = True
            self.connection.close()
            return
        if u.path == "/token":
            return self._token(q)
        if u.path == "/v2/" or u.path == "/v2":
            if not self._authorized(None, "pull"):
                return
            return self._reply(200, b"{}", {"Content-Type": "application/json"})
        m = _UPLOAD_RE.match(u.path)
        if m:
            if not self._authorized(m["name"], "push"):
                return
            return self._upload(method, m["name"], m["uuid"], q)
        m = _BLOB_RE.match(u.path)
        if m:
            if not self._authorized(m["name"], "pull"):
                return
            return self._blob(method, m["name"], m["digest"])
        m = _MANIFEST_RE.match(u.path)
        if m:
            if not self._authorized(m["name"], "push" if method == "PUT" else "pull"):
                return
            return self._manifest(method, m["name"], m["ref"])
        self._error(404, "NOT_FOUND", "no such endpoint")

    def _manifest(self, method, repo, ref):
        reg = self.registry
        if method == "PUT":
            data = self._body()
            mt = self.headers.get("Content-Type", "")
            try:
                doc = json.loads(data)
            except ValueError:
                return self._error(400, "MANIFEST_INVALID", "manifest invalid")
            have = reg.links.get(repo, set())
            for d in [doc.get("config", {}).get("digest")] + [l["digest"] for l in doc.get("layers", [])]:
                if d and d not in have:
                    return self._error(400, "MANIFEST_BLOB_UNKNOWN", f"blob unknown to registry: {d}")
            d = reg.put_manifest(repo, None if ref.startswith("sha256:") else ref, data, mt)
            return self._reply(201, b"", {"Docker-Content-Digest": d,
                                          "Location": f"/v2/{repo}/manifests/{d}"})
        got = reg.manifests.get((repo, ref))
        if got is None:
            return self._error(404, "MANIFEST_UNKNOWN", "manifest unknown")
        data, mt = got
        d = "sha256:" + hashlib.sha256(data).hexdigest()
        self._reply(200, data, {"Content-Type": mt, "Docker-Content-Digest": d},
                    head=method == "HEAD")

    def _blob(self, method, repo, digest):
        reg = self.registry
        if digest not in reg.links.get(repo, set()):
            return self._error(404, "BLOB_UNKNOWN", "blob unknown to registry")
        data = reg.corrupt.get(digest, reg.blobs[digest])
        if method == "HEAD":
            return self._reply(200, data, {"Docker-Content-Digest": digest}, head=True)
        start = 0
        rng = self.headers.get("Range")
        status = 200
        if rng and not reg.ignore_range:
            mm = re.match(r"bytes=(\d+)-", rng)
            if mm:
                start, status = int(mm.group(1)), 206
        body = data[start:]
        self.send_response(status)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Docker-Content-Digest", digest)
        if status == 206:
            self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
        self.end_headers()
        cut = None
        with reg.lock:
            if digest in reg.drop_after:
                cut = reg.drop_after.pop(digest)
            if reg.die_after_bytes is not None:
                cut = min(cut if cut is not None else len(body), reg.die_after_bytes)
                reg.die_after_bytes -= cut
        if cut is not None and cut < len(body):
            self.wfile.write(body[:cut])
            self.wfile.flush()
            self.close_connection = True
            self.connection.shutdown(2)
            return
        self.wfile.write(body)

    def _upload(self, method, repo, uuid, q):
        reg = self.registry
        if method == "POST":
            if "mount" in q:
                d, src = q["mount"][0], q.get("from", [""])[0]
                if d in reg.links.get(src, set()) and self._may_pull(src):
                    reg.links.setdefault(repo, set()).add(d)
                    return self._reply(201, b"", {"Location": f"/v2/{repo}/blobs/{d}",
                                                  "Docker-Content-Digest": d})
            self._body()
            new = secrets.token_hex(8)
            reg.uploads[new] = bytearray()
            return self._reply(202, b"", {"Location": f"/v2/{repo}/blobs/uploads/{new}",
                                          "Range": "0-0", "Docker-Upload-UUID": new})
        if uuid not in reg.uploads:
            return self._error(404, "BLOB_UPLOAD_UNKNOWN", "blob upload unknown")
        buf = reg.uploads[uuid]
        if method == "PATCH":
            cr = self.headers.get("Content-Range")
            if cr:
                start = int(cr.split("-")[0])
                if start != len(buf):
                    self._body()
                    return self._error(416, "BLOB_UPLOAD_INVALID", "out of order chunk")
            buf += self._body()
            return self._reply(202, b"", {"Location": f"/v2/{repo}/blobs/uploads/{uuid}",
                                          "Range": f"0-{max(len(buf) - 1, 0)}"})
        if method == "PUT":
            buf += self._body()
            d = q.get("digest", [""])[0]
            got = "sha256:" + hashlib.sha256(bytes(buf)).hexdigest()
            if got != d:
                return self._error(400, "DIGEST_INVALID", "provided digest did not match "
                                   "uploaded content")
            del reg.uploads[uuid]
            reg.put_blob(repo, bytes(buf))
            return self._reply(201, b"", {"Location": f"/v2/{repo}/blobs/{d}",
                                          "Docker-Content-Digest": d})
        self._error(405, "UNSUPPORTED", "method not allowed")

    def _may_pull(self, repo):
        reg = self.registry
        if reg.auth != "bearer":
            return True
        h = self.headers.get("Authorization", "")
        _, scopes = reg.tokens.get(h[7:], (None, None))
        return bool(scopes) and _allows(scopes, repo, "pull")


def _allows(scopes, repo, action) -> bool:
    return any(name == repo and action in actions for name, actions in scopes)
