"""Who you are to a registry: stored credentials and the ``WWW-Authenticate`` dance.

Credentials live where Docker keeps them, ``~/.docker/config.json`` (or
``$GLASSBOX_CONFIG/config.json``)::

    {"auths": {"127.0.0.1:5001": {"auth": "<base64 of user:password>"}}}

so ``docker login`` and ``glassbox login`` see each other's logins. The file
is written atomically with mode 0600; other keys in it are kept as they are.
Docker Hub is stored under Docker's historical key ``https://index.docker.io/v1/``.

A registry that wants credentials answers ``401`` with a challenge:

* ``Basic realm="..."`` — send ``Authorization: Basic base64(user:pass)``;
* ``Bearer realm="https://auth/token",service="registry",scope="repository:app:pull"``
  — ask the *token server* at ``realm`` for a token for that service and scope
  (anonymously, or with Basic credentials), then send ``Authorization: Bearer <token>``.
  Docker Hub does this even for anonymous pulls.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import re
import tempfile
from dataclasses import dataclass

from ..errors import InvalidArgument

DOCKER_HUB_KEY = "https://index.docker.io/v1/"
_HUB_ALIASES = {"docker.io", "index.docker.io", "registry-1.docker.io", "registry.hub.docker.com"}


@dataclass(frozen=True)
class Credentials:
    username: str
    password: str

    def basic_header(self) -> str:
        raw = f"{self.username}:{self.password}".encode()
        return "Basic " + base64.b64encode(raw).decode()

    def __repr__(self) -> str:  # never print the password
        return f"Credentials(username={self.username!r}, password=***)"


@dataclass(frozen=True)
class Challenge:
    """One parsed ``WWW-Authenticate`` header."""

    scheme: str                 # "basic" or "bearer" (lowercase)
    params: dict

    @property
    def realm(self) -> str | None:
        return self.params.get("realm")


_PARAM_RE = re.compile(r'\s*([A-Za-z0-9_.-]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s,]*))\s*,?')


def parse_challenge(header: str) -> Challenge:
    """``Bearer realm="x",service="y"`` -> Challenge("bearer", {...})."""
    header = (header or "").strip()
    scheme, _, rest = header.partition(" ")
    params = {}
    for m in _PARAM_RE.finditer(rest):
        val = m.group(2) if m.group(2) is not None else m.group(3)
        params[m.group(1).lower()] = re.sub(r"\\(.)", r"\1", val or "")
    return Challenge(scheme.lower(), params)


def registry_key(registry: str) -> str:
    """Normalize what the user typed (``https://host:5000/``, ``docker.io``) to the
    key Docker uses in ``config.json``."""
    if not registry:
        return DOCKER_HUB_KEY
    r = registry.strip()
    r = re.sub(r"^[a-z]+://", "", r).rstrip("/")
    host = r.split("/", 1)[0]
    if host in _HUB_ALIASES:
        return DOCKER_HUB_KEY
    if not host:
        raise InvalidArgument(f"invalid registry address {registry!r}: expected host[:port]")
    return host


class CredentialStore:
    """Docker-compatible ``config.json`` credentials (the ``auths`` section)."""

    def __init__(self, config_dir: str | None = None):
        self.config_dir = config_dir or os.path.join(os.path.expanduser("~"), ".docker")
        self.path = os.path.join(self.config_dir, "config.json")

    def _load(self) -> dict:
        try:
            with open(self.path, "rb") as f:
                data = json.load(f)
        except FileNotFoundError:
            return {}
        except ValueError:
            raise InvalidArgument(f"{self.path} is not valid JSON: fix or remove it") from None
        return data if isinstance(data, dict) else {}

    def _save(self, data: dict) -> None:
        os.makedirs(self.config_dir, mode=0o700, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".config.json.", dir=self.config_dir)
        try:
            os.fchmod(fd, 0o600)
            with os.fdopen(fd, "w") as f:
                json.dump(data, f, indent="\t")
                f.write("\n")
            os.replace(tmp, self.path)
        finally:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)

    def get(self, registry: str) -> Credentials | None:
        """The stored login for ``registry`` (host[:port] or a Docker Hub alias)."""
        key = registry_key(registry)
        entry = (self._load().get("auths") or {}).get(key)
        if not entry and key == DOCKER_HUB_KEY:
            entry = (self._load().get("auths") or {}).get("docker.io")
        if not isinstance(entry, dict):
            return None
        if entry.get("username") and entry.get("password"):
            return Credentials(entry["username"], entry["password"])
        auth = entry.get("auth")
        if not auth:
            return None
        try:
            user, _, pw = base64.b64decode(auth).decode().partition(":")
        except (ValueError, UnicodeDecodeError):
            raise InvalidArgument(f"{self.path}: the stored auth for {key} is not valid "
                                  "base64 user:password: log in again") from None
        return Credentials(user, pw)

    def put(self, registry: str, creds: Credentials) -> None:
        data = self._load()
        auths = data.setdefault("auths", {})
        auths[registry_key(registry)] = {
            "auth": base64.b64encode(f"{creds.username}:{creds.password}".encode()).decode()}
        self._save(data)

    def remove(self, registry: str) -> bool:
        """Forget the login; False when there was none."""
        data = self._load()
        auths = data.get("auths") or {}
        if registry_key(registry) not in auths:
            return False
        del auths[registry_key(registry)]
        self._save(data)
        return True
