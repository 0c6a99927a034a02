"""Compile once, load many: the seccomp program cache (the start path).

Parsing Docker's profile and compiling it takes milliseconds; a container
start may spend less than one on seccomp. So the program for a (profile,
capabilities, arch, kernel) is compiled the first time and kept twice: in this
process (the daemon, a notebook kernel) and on disk under the state root
(``<root>/seccomp/<key>.bpf``), which every later shim and ``exec`` reads —
one small file read instead of a compile.

The key names everything the program depends on: the compiler (its version
and its files' mtimes), the profile (the built-in file's size and mtime, or a
SHA-256 of a custom profile's text), the capability set as a bit mask, the
machine and the kernel's major.minor (``minKernel`` rules). A cache file that does not look like a
program is recompiled, never loaded.

Only ``os`` and the capability table are imported here: this runs on every start.
"""

from __future__ import annotations

import os

from .._sys.constants import CAP_NUMBER

VERSION = 1
_MAGIC = b"GBXSECC%d" % VERSION
_MEMO: dict[str, tuple[bytes, int]] = {}
DEFAULT_PATH = os.path.join(os.path.dirname(__file__), "default.json")


def _cap_mask(caps) -> int:
    mask = 0
    for c in caps:
        n = CAP_NUMBER.get(c)
        if n is not None:
            mask |= 1 << n
    return mask


def _stamps() -> tuple[str, str]:
    """(host part, built-in profile part) of the key. Taken once per process, at
    import: a warm parent (the agent, the daemon, a notebook) hands them to every
    shim it forks."""
    u = os.uname()
    here = os.path.dirname(__file__)
    stamp = 0          # the compiler's own files too: an edited compiler recompiles
    for name in ("compile.py", "bpf.py", "profile.py", "syscalls.json"):
        try:
            st = os.stat(os.path.join(here, name))
            stamp = (stamp * 31 + st.st_mtime_ns + st.st_size) & (2**64 - 1)
        except OSError:
            pass
    host = f"{stamp:x}-{u.machine}-{'.'.join(u.release.split('.')[:2])}"
    try:
        st = os.stat(DEFAULT_PATH)
        default = f"default-{st.st_size:x}-{st.st_mtime_ns:x}"
    except OSError:
        default = "default-missing"
    return host, default


_HOST, _DEFAULT = _stamps()


def _sha256(data: bytes):
    """SHA-256 from CPython's built-in module when there is one (hashlib would load
    OpenSSL: ~4 ms, more than the whole seccomp budget of a start)."""
    try:
        from _sha256 import sha256  # type: ignore[import-not-found]   # 3.11
    except ImportError:
        try:
            from _sha2 import sha256  # type: ignore[import-not-found,no-redef]  # 3.12+
        except ImportError:
            from hashlib import sha256  # type: ignore[assignment]
    return sha256(data)


def cache_key(choice: str, caps) -> str:
    """The file name (without ``.bpf``) for ``choice`` = ``"default"`` or a
    profile's JSON text."""
    if choice == "default":
        prof = _DEFAULT
    else:
        prof = _sha256(choice.encode()).hexdigest()[:32]
    return f"v{VERSION}-{prof}-{_cap_mask(caps):x}-{_HOST}"


def program_for(choice: str, caps, root: str | None = None) -> tuple[bytes, int] | None:
    """The compiled filter for a container: ``(program, seccomp flags)``, or
    ``None`` for ``"unconfined"``. ``choice`` is what the container's spec holds:
    ``"default"`` (Docker's profile), ``"unconfined"`` or a profile's JSON text.
    ``caps`` is the container's capability set (conditional rules)."""
    if choice == "unconfined":
        return None
    key = cache_key(choice, caps)
    hit = _MEMO.get(key)
    if hit is not None:
        return hit
    path = os.path.join(root, "seccomp", key + ".bpf") if root else None
    if path:
        try:
            fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
            try:
                blob = os.read(fd, 65536)
            finally:
                os.close(fd)
        except OSError:
            blob = b""
        if blob.startswith(_MAGIC) and (len(blob) - len(_MAGIC) - 4) % 8 == 0 \
                and len(blob) > len(_MAGIC) + 4:
            n = len(_MAGIC)
            hit = (blob[n + 4:], int.from_bytes(blob[n:n + 4], "little"))
            _MEMO[key] = hit
            return hit
    hit = compile_choice(choice, caps)
    _MEMO[key] = hit
    if path:
        _store(path, _MAGIC + hit[1].to_bytes(4, "little") + hit[0])
    return hit


def compile_choice(choice: str, caps) -> tuple[bytes, int]:
    """Parse, resolve for ``caps`` and compile — no cache (the cold path)."""
    from .compile import compile_filter, filter_flags
    from .profile import parse, resolve
    if choice == "default":
        with open(DEFAULT_PATH, "rb") as f:
            text: str | bytes = f.read()
        source = "default.json"
    else:
        text, source = choice, "(container's)"
    resolved = resolve(parse(text, source), caps)
    return compile_filter(resolved), filter_flags(resolved)


def _store(path: str, blob: bytes) -> None:
    """Atomic write (temp + rename); a cache we cannot write is only slower."""
    from .._files import write_bytes
    try:
        os.makedirs(os.path.dirname(path), mode=0o700, exist_ok=True)
        write_bytes(path, blob, mode=0o600)
    except OSError:
        pass
