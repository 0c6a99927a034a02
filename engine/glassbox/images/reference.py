"""Image references, parsed and normalized exactly as Docker does.

A reference names an image in a registry::

    [domain[:port]/]path[:tag][@algorithm:hex]

``busybox`` is shorthand for ``docker.io/library/busybox:latest``: no domain
means Docker Hub, a one-component path on Docker Hub lives under ``library/``
and no tag (and no digest) means ``latest``. The first path component counts
as a domain only when it looks like one (has a ``.`` or a ``:``, or is
``localhost``), so ``team/app`` is ``docker.io/team/app`` while
``host:5000/team/app`` is a private registry.

``str(ref)`` is the full, normalized form; ``ref.familiar`` is the short form
``docker images`` prints. The grammar follows distribution/reference
(``reference/regexp.go``); invalid input raises
:class:`~glassbox.errors.InvalidArgument` with ``invalid reference format``
like the Docker CLI.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ..errors import InvalidArgument

DEFAULT_DOMAIN = "docker.io"
LEGACY_DEFAULT_DOMAIN = "index.docker.io"
OFFICIAL_REPO_PREFIX = "library/"
DEFAULT_TAG = "latest"
NAME_TOTAL_LENGTH_MAX = 255

_ALNUM = r"[a-z0-9]+"
_SEPARATOR = r"(?:[._]|__|[-]+)"
_PATH_COMPONENT = rf"{_ALNUM}(?:{_SEPARATOR}{_ALNUM})*"
_DOMAIN_COMPONENT = r"(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])"
_DOMAIN_NAME = rf"{_DOMAIN_COMPONENT}(?:\.{_DOMAIN_COMPONENT})*"
_IPV6 = r"\[(?:[a-fA-F0-9:]+)\]"
_HOST = rf"(?:{_DOMAIN_NAME}|{_IPV6})"
_DOMAIN = rf"{_HOST}(?::[0-9]+)?"
_TAG = r"[\w][\w.-]{0,127}"
_DIGEST = r"[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}"

_REFERENCE_RE = re.compile(
    rf"^(?P<name>(?:{_DOMAIN}/)?{_PATH_COMPONENT}(?:/{_PATH_COMPONENT})*)"
    rf"(?::(?P<tag>{_TAG}))?(?:@(?P<digest>{_DIGEST}))?$")
_DOMAIN_RE = re.compile(rf"^{_DOMAIN}$")
_PATH_RE = re.compile(rf"^{_PATH_COMPONENT}(?:/{_PATH_COMPONENT})*$")
_TAG_RE = re.compile(rf"^{_TAG}$")
_HEX64_RE = re.compile(r"^[a-f0-9]{64}$")

#: hex lengths of the digest algorithms the OCI image spec registers
DIGEST_HEX_LENGTH = {"sha256": 64, "sha384": 96, "sha512": 128}


def _invalid(s: str, why: str = "") -> InvalidArgument:
    detail = f": {why}" if why else ""
    return InvalidArgument(f"invalid reference format{detail}: {s!r} — expected "
                           "[host[:port]/]name[:tag][@sha256:<64 hex>], lowercase name")


def validate_digest(digest: str) -> str:
    """Check ``algorithm:hex`` (sha256 = 64 lowercase hex) and return it."""
    alg, sep, hexpart = digest.partition(":")
    want = DIGEST_HEX_LENGTH.get(alg)
    if not sep or want is None or len(hexpart) != want or \
            not re.fullmatch(r"[a-f0-9]+", hexpart):
        raise InvalidArgument(f"invalid digest {digest!r}: expected sha256:<64 lowercase hex>")
    return digest


@dataclass(frozen=True)
class Reference:
    """A normalized image reference (pure value, no I/O)."""

    domain: str
    path: str
    tag: str | None = None
    digest: str | None = None

    @property
    def repository(self) -> str:
        """``docker.io/library/busybox`` — the name without tag or digest."""
        return f"{self.domain}/{self.path}"

    @property
    def familiar_name(self) -> str:
        """The repository as Docker prints it (``busybox``, ``team/app``, ``host:5000/app``)."""
        if self.domain == DEFAULT_DOMAIN:
            path = self.path
            if path.startswith(OFFICIAL_REPO_PREFIX) and "/" not in path[len(OFFICIAL_REPO_PREFIX):]:
                path = path[len(OFFICIAL_REPO_PREFIX):]
            return path
        return self.repository

    @property
    def familiar(self) -> str:
        """Docker's short form: ``busybox:latest``, ``127.0.0.1:5000/team/app:1``."""
        return self.familiar_name + self._suffix()

    def _suffix(self) -> str:
        s = f":{self.tag}" if self.tag else ""
        if self.digest:
            s += f"@{self.digest}"
        return s

    def with_tag(self, tag: str) -> "Reference":
        if not _TAG_RE.match(tag):
            raise _invalid(tag, "bad tag")
        return Reference(self.domain, self.path, tag, None)

    def with_digest(self, digest: str) -> "Reference":
        return Reference(self.domain, self.path, None, validate_digest(digest))

    @property
    def registry(self) -> str:
        """Host[:port] to talk to (Docker Hub's API lives at registry-1.docker.io)."""
        return "registry-1.docker.io" if self.domain == DEFAULT_DOMAIN else self.domain

    def __str__(self) -> str:
        return self.repository + self._suffix()


def parse(s: str, *, default_tag: bool = True) -> Reference:
    """Parse and normalize ``s`` like ``docker pull`` does.

    ``default_tag=False`` leaves ``tag`` as ``None`` when none was given
    (what ``docker push name`` and ``docker images name`` need).
    """
    if not isinstance(s, str) or not s:
        raise _invalid(str(s), "empty")
    if s != s.strip():
        raise _invalid(s, "surrounding whitespace")
    m = _REFERENCE_RE.match(s)
    if not m:
        # Give the most useful message Docker gives: uppercase repository names.
        if _REFERENCE_RE.match(s.lower()):
            raise _invalid(s, "repository name must be lowercase")
        name, _, _ = s.partition("@")
        last = name.rsplit("/", 1)[-1]
        if ":" in last and len(last.split(":", 1)[1]) > 128:
            raise _invalid(s, "tag is longer than 128 characters")
        raise _invalid(s)
    name, tag, digest = m.group("name"), m.group("tag"), m.group("digest")
    if len(name) > NAME_TOTAL_LENGTH_MAX:
        raise _invalid(s, f"repository name longer than {NAME_TOTAL_LENGTH_MAX} characters")
    if _HEX64_RE.match(name):
        raise _invalid(s, "cannot specify 64-byte hexadecimal strings as a name")
    if digest is not None:
        try:
            validate_digest(digest)
        except InvalidArgument:
            raise _invalid(s, "bad digest") from None

    domain, path = _split_domain(name)
    if not _PATH_RE.match(path):
        raise _invalid(s, "repository name must be lowercase")
    if tag is None and digest is None and default_tag:
        tag = DEFAULT_TAG
    return Reference(domain, path, tag, digest)


def _split_domain(name: str) -> tuple[str, str]:
    i = name.find("/")
    if i == -1 or (not any(c in name[:i] for c in ".:") and name[:i] != "localhost"
                   and name[:i].lower() == name[:i]):
        domain, rest = DEFAULT_DOMAIN, name
    else:
        domain, rest = name[:i], name[i + 1:]
    if domain == LEGACY_DEFAULT_DOMAIN:
        domain = DEFAULT_DOMAIN
    if domain == DEFAULT_DOMAIN and "/" not in rest:
        rest = OFFICIAL_REPO_PREFIX + rest
    return domain, rest


def is_reference(s: str) -> bool:
    """True when ``s`` parses as an image reference."""
    try:
        parse(s)
        return True
    except InvalidArgument:
        return False


def familiar(s: str) -> str:
    """Shorthand: ``familiar("docker.io/library/busybox:latest") == "busybox:latest"``."""
    return parse(s).familiar
