"""The build context: the files a build may read, filtered by ``.dockerignore``.

``docker build ctx/`` sends the directory ``ctx/`` (or a tar of it: ``build - < ctx.tar``)
to the builder; ``COPY``/``ADD`` can read only from it. ``.dockerignore`` removes paths
from it, with the rules of Docker's ``moby/patternmatcher``:

- one pattern a line; a line *starting* with ``#`` is a comment; blank lines are skipped;
- each pattern is cleaned like Go's ``filepath.Clean`` and a leading ``/`` dropped, so
  ``/a/./b/`` is ``a/b``; patterns are relative to the context root;
- ``*`` and ``?`` never cross ``/``; ``[a-z]`` classes; ``**`` spans any number of
  directories (``**/*.go``, ``a/**/b``; a trailing ``a/**`` is everything under ``a``);
- a pattern that matches a directory excludes everything under it;
- ``!pattern`` re-includes; the *last* matching line wins. Files can be re-included under
  an excluded directory only when the exception names a path under it (``!dir/keep``):
  Docker does not descend into an excluded directory for a wildcard exception.

The Dockerfile and ``.dockerignore`` can be excluded: the builder still reads them, but a
``COPY .`` does not copy them (Docker's behaviour). ``<Dockerfile>.dockerignore`` (e.g.
``app.Dockerfile.dockerignore``) takes precedence over ``.dockerignore``, as in BuildKit.

:class:`BuildContext` also resolves ``COPY``/``ADD`` sources (Go ``filepath.Match`` globs,
symlinks followed *inside* the context only) and computes the content checksum that the
layer cache keys on (content and metadata, never mtime — as Docker's cache).

Shown in the notebook on Dockerfiles, section "the build context".
"""

from __future__ import annotations

import hashlib
import io
import lzma
import os
import posixpath
import re
import shutil
import stat as _stat
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Iterable, Iterator, Sequence

from glassbox.errors import BuildError

__all__ = ["Pattern", "PatternMatcher", "read_dockerignore", "go_clean", "go_match",
           "has_glob", "Source", "BuildContext"]


# ---------------------------------------------------------------------------------------
# Go path helpers
# ---------------------------------------------------------------------------------------

def go_clean(path: str) -> str:
    """Go's ``filepath.Clean`` (POSIX): the shortest equivalent path, "." for empty."""
    if path == "":
        return "."
    rooted = path.startswith("/")
    out: list[str] = []
    for part in path.split("/"):
        if part in ("", "."):
            continue
        if part == "..":
            if out and out[-1] != "..":
                out.pop()
            elif not rooted:
                out.append("..")
            continue
        out.append(part)
    cleaned = "/".join(out)
    if rooted:
        return "/" + cleaned
    return cleaned or "."


_GLOB_CHARS = re.compile(r"[*?\[\\]")


def has_glob(pattern: str) -> bool:
    """Does ``pattern`` use ``filepath.Match`` metacharacters (``* ? [ \\``)?"""
    return bool(_GLOB_CHARS.search(pattern))


def _go_match_regex(pattern: str) -> re.Pattern[str]:
    """``filepath.Match`` pattern → regex; ValueError("syntax error in pattern")."""
    out, i, n = [], 0, len(pattern)
    while i < n:
        ch = pattern[i]
        if ch == "*":
            out.append("[^/]*")
        elif ch == "?":
            out.append("[^/]")
        elif ch == "\\":
            i += 1
            if i >= n:
                raise ValueError("syntax error in pattern")
            out.append(re.escape(pattern[i]))
        elif ch == "[":
            j = i + 1
            cls = []
            if j < n and pattern[j] == "^":
                cls.append("^")
                j += 1
            first = True
            while True:
                if j >= n:
                    raise ValueError("syntax error in pattern")
                c = pattern[j]
                if c == "]" and not first:
                    break
                first = False
                if c == "\\":
                    j += 1
                    if j >= n:
                        raise ValueError("syntax error in pattern")
                    c = pattern[j]
                if c == "/":
                    raise ValueError("syntax error in pattern")
                if c == "-" and cls and cls[-1] not in ("^",) and j + 1 < n \
                        and pattern[j + 1] != "]":
                    cls.append("-")
                else:
                    cls.append(re.escape(c))
                j += 1
            if not cls or cls == ["^"]:
                raise ValueError("syntax error in pattern")
            out.append("[" + "".join(cls) + "]")
            i = j
        else:
            out.append(re.escape(ch))
        i += 1
    return re.compile("".join(out), re.S)


def go_match(pattern: str, name: str) -> bool:
    """Go's ``filepath.Match``: whole-name match, ``*``/``?`` never match ``/``."""
    return _go_match_regex(pattern).fullmatch(name) is not None


# ---------------------------------------------------------------------------------------
# .dockerignore (moby/patternmatcher)
# ---------------------------------------------------------------------------------------

def read_dockerignore(text: str | bytes) -> list[str]:
    """The patterns of a ``.dockerignore`` file, cleaned as Docker does (``!`` kept)."""
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    text = text.removeprefix("\ufeff")
    out = []
    for line in text.splitlines():
        if line.startswith("#"):
            continue
        p = line.strip()
        if not p:
            continue
        invert = p.startswith("!")
        if invert:
            p = p[1:].strip()
        if p:
            p = go_clean(p)
            if len(p) > 1 and p.startswith("/"):
                p = p[1:]
        out.append("!" + p if invert else p)
    return out


@dataclass
class Pattern:
    """One compiled pattern (``cleaned`` has no ``!``; ``exclusion`` says it had one)."""

    cleaned: str
    exclusion: bool
    kind: str  # "exact" | "prefix" | "suffix" | "regex"
    regex: re.Pattern[str] | None = None

    @classmethod
    def compile(cls, text: str) -> "Pattern":
        text = text.strip()
        exclusion = text.startswith("!")
        if exclusion:
            text = text[1:]
            if not text:
                raise BuildError('illegal exclusion pattern: "!" (write !path to re-include '
                                 "a path)", file=".dockerignore")
        text = go_clean(text)
        try:
            _go_match_regex(text)
        except ValueError:
            raise BuildError(f"syntax error in pattern {text!r} (an unclosed [ ?)",
                             file=".dockerignore") from None
        kind, rx, i, n = "exact", ["^"], 0, len(text)
        in_class = False
        while i < n:
            ch = text[i]
            if in_class and ch not in "]\\":
                rx.append(ch)
            elif ch == "*":
                if i + 1 < n and text[i + 1] == "*":
                    i += 1
                    if i + 1 < n and text[i + 1] == "/":
                        i += 1
                    if i + 1 >= n:  # "**" at the end: everything below
                        if kind == "exact":
                            kind = "prefix"
                        else:
                            rx.append(".*")
                            kind = "regex"
                    else:
                        rx.append("(.*/)?")
                        kind = "regex"
                    if i <= 2 and text.startswith("**"):  # "**" first: suffix match
                        kind = "suffix"
                else:
                    rx.append("[^/]*")
                    kind = "regex"
            elif ch == "?":
                rx.append("[^/]")
                kind = "regex"
            elif ch in ".+()|{}$^":
                rx.append("\\" + ch)
            elif ch == "\\":
                if i + 1 < n:
                    i += 1
                    rx.append(re.escape(text[i]))
                    kind = "regex"
                else:
                    rx.append("\\\\")
            elif ch in "[]":
                rx.append(ch)
                in_class = ch == "["
                kind = "regex"
            else:
                rx.append(ch)
            i += 1
        compiled = re.compile("".join(rx) + "$", re.S) if kind == "regex" else None
        return cls(cleaned=text, exclusion=exclusion, kind=kind, regex=compiled)

    def match(self, path: str) -> bool:
        if self.kind == "exact":
            return path == self.cleaned
        if self.kind == "prefix":
            return path.startswith(self.cleaned[:-2])
        if self.kind == "suffix":
            suffix = self.cleaned[2:]
            if path.endswith(suffix):
                return True
            return suffix.startswith("/") and path == suffix[1:]  # **/foo matches foo
        assert self.regex is not None
        return self.regex.match(path) is not None

    def __str__(self) -> str:
        return ("!" if self.exclusion else "") + self.cleaned


class PatternMatcher:
    """Ordered ``.dockerignore`` patterns; :meth:`matches` says "excluded"."""

    def __init__(self, patterns: Iterable[str] = ()):
        self.patterns = [Pattern.compile(p) for p in patterns if p.strip()]
        self.exclusions = any(p.exclusion for p in self.patterns)

    def matches(self, path: str) -> bool:
        """Is ``path`` (relative, ``/``-separated) excluded? (MatchesOrParentMatches)

        Patterns are tried in order; an exclusion (``!``) is only consulted while the
        path is excluded, an inclusion only while it is not. A pattern also applies when
        it matches one of the path's parent directories.
        """
        path = go_clean(path)
        if path == ".":
            return False  # "don't let them exclude everything"
        parent = posixpath.dirname(path)
        parents = parent.split("/") if parent else []
        matched = False
        for p in self.patterns:
            if p.exclusion != matched:
                continue
            hit = p.match(path)
            if not hit and parents:
                for k in range(len(parents)):
                    if p.match("/".join(parents[:k + 1])):
                        hit = True
                        break
            if hit:
                matched = not p.exclusion
        return matched

    def may_reinclude_under(self, dirpath: str) -> bool:
        """Must the walk enter excluded ``dirpath``? Only if an exception names a path
        under it (Docker's simple prefix test: wildcard exceptions do not count)."""
        prefix = dirpath + "/"
        return any(p.exclusion and (p.cleaned + "/").startswith(prefix)
                   for p in self.patterns)


# ---------------------------------------------------------------------------------------
# The context
# ---------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Source:
    """One resolved COPY/ADD source.

    ``rel`` is the path in the context as the user named it (what lands in the image
    under its base name); ``path`` is the file to read on disk, after following
    symlinks *inside* the context; ``is_dir`` copies the directory's content.
    """

    rel: str
    path: Path
    is_dir: bool
    pattern: str


_HASH_CACHE: dict[tuple, str] = {}
_HASH_CACHE_MAX = 200_000


def _file_digest(path: str, st: os.stat_result) -> str:
    """sha256 of a file's content, memoised on (path, dev, inode, size, mtime, ctime).

    ctime is in the key because ``utime`` can restore an edited file's mtime but
    nothing can restore its ctime: an in-place edit is never served from the memo.
    """
    key = (path, st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)
    hit = _HASH_CACHE.get(key)
    if hit is not None:
        return hit
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    digest = h.hexdigest()
    if len(_HASH_CACHE) >= _HASH_CACHE_MAX:
        _HASH_CACHE.clear()
    _HASH_CACHE[key] = digest
    return digest


class BuildContext:
    """The files a build may read: a directory (or an extracted tar) minus ignored paths.

    ``BuildContext.from_dir(path)`` uses a directory in place; ``from_tar(stream)`` and
    ``from_stream(stream)`` extract safely into a private temporary directory that
    :meth:`close` (or ``with``) removes. ``dockerfile`` is the -f path inside the context.
    """

    def __init__(self, root: str | os.PathLike, *, dockerfile: str = "Dockerfile",
                 patterns: Sequence[str] | None = None, _owned_tmp: str | None = None):
        self.root = Path(root).resolve()
        if not self.root.is_dir():
            raise BuildError(f"unable to prepare context: path {str(root)!r} is not a "
                             "directory", file=dockerfile)
        self.dockerfile = dockerfile
        self._tmp = _owned_tmp
        if patterns is None:
            patterns, self.ignore_file = self._load_ignore(dockerfile)
        else:
            self.ignore_file = None
        self.patterns = list(patterns)
        try:
            self.ignore = PatternMatcher(self.patterns)
        except BuildError as e:
            raise BuildError(e.message.split(": ", 1)[-1],
                             file=self.ignore_file or ".dockerignore") from None

    # -- construction ------------------------------------------------------------------

    @classmethod
    def from_dir(cls, path: str | os.PathLike, *, dockerfile: str = "Dockerfile"
                 ) -> "BuildContext":
        return cls(path, dockerfile=dockerfile)

    @classmethod
    def from_tar(cls, stream: BinaryIO, *, dockerfile: str = "Dockerfile",
                 tmp_dir: str | None = None, max_bytes: int | None = None
                 ) -> "BuildContext":
        """Extract a (plain, gzip, bzip2 or xz) tar stream safely and use it as context.

        Hostile members are refused: absolute names, ``..`` escapes, writes through a
        symlink, hard links to outside. Device nodes and FIFOs are skipped. Symlinks are
        kept as they are (their targets are checked when a COPY follows them).
        """
        tmp = tempfile.mkdtemp(prefix="glassbox-context-", dir=tmp_dir)
        os.chmod(tmp, 0o700)
        try:
            _safe_extract(stream, Path(tmp), max_bytes=max_bytes)
            return cls(tmp, dockerfile=dockerfile, _owned_tmp=tmp)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise

    @classmethod
    def from_stream(cls, stream: BinaryIO, *, dockerfile: str = "Dockerfile",
                    tmp_dir: str | None = None, max_bytes: int | None = None
                    ) -> "BuildContext":
        """``build -``: a tar (any compression), or a bare Dockerfile (then the context
        is empty apart from it, as Docker does)."""
        head = stream.read(512)
        rest = _Prefixed(head, stream)
        if _looks_like_archive(head):
            return cls.from_tar(rest, dockerfile=dockerfile, tmp_dir=tmp_dir,
                                max_bytes=max_bytes)
        tmp = tempfile.mkdtemp(prefix="glassbox-context-", dir=tmp_dir)
        os.chmod(tmp, 0o700)
        try:
            with open(os.path.join(tmp, "Dockerfile"), "wb") as f:
                shutil.copyfileobj(rest, f)
            return cls(tmp, dockerfile="Dockerfile", _owned_tmp=tmp)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise

    def close(self) -> None:
        if self._tmp:
            shutil.rmtree(self._tmp, ignore_errors=True)
            self._tmp = None

    def __enter__(self) -> "BuildContext":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def _load_ignore(self, dockerfile: str) -> tuple[list[str], str | None]:
        candidates = []
        if dockerfile:
            candidates.append(go_clean(dockerfile).lstrip("/") + ".dockerignore")
        candidates.append(".dockerignore")
        for name in candidates:
            p = self.root / name
            if p.is_file() and not p.is_symlink():
                return read_dockerignore(p.read_bytes()), name
        return [], None

    # -- reading ------------------------------------------------------------------------

    def read_dockerfile(self, name: str | None = None) -> bytes:
        """The Dockerfile's bytes (even when .dockerignore excludes it, as Docker)."""
        name = name or self.dockerfile
        rel = self._clean_rel(name, "the Dockerfile")
        try:
            path = self._resolve(rel, follow_last=True, what=name)
        except (FileNotFoundError, NotADirectoryError):
            path = None
        if path is None or not path.is_file():
            raise BuildError(f"cannot locate specified Dockerfile: {name} (looked in "
                             f"{self.root})", file=name)
        return path.read_bytes()

    def is_included(self, rel: str) -> bool:
        """Is context path ``rel`` sent to the build (not excluded by .dockerignore)?"""
        return not self.ignore.matches(rel)

    def walk(self, rel: str = ".") -> Iterator[tuple[str, os.stat_result]]:
        """Included entries under ``rel`` (itself first if included), sorted, not
        following symlinks; excluded directories are entered only when an exception
        may re-include something in them (Docker's walk)."""
        rel = go_clean(rel)
        top = self.root if rel == "." else self.root / rel
        st = os.lstat(top)
        if rel == "." or self.is_included(rel):
            yield rel, st
        elif not (_stat.S_ISDIR(st.st_mode) and self.ignore.may_reinclude_under(rel)):
            return
        if _stat.S_ISDIR(st.st_mode):
            yield from self._walk_dir(rel, top)

    def _walk_dir(self, rel: str, top: Path) -> Iterator[tuple[str, os.stat_result]]:
        try:
            names = sorted(os.listdir(top))
        except OSError:
            return
        for name in names:
            child = name if rel == "." else f"{rel}/{name}"
            path = top / name
            st = os.lstat(path)
            is_dir = _stat.S_ISDIR(st.st_mode)
            if self.ignore.matches(child):
                if is_dir and self.ignore.exclusions and self.ignore.may_reinclude_under(child):
                    yield from self._walk_dir(child, path)
                continue
            yield child, st
            if is_dir:
                yield from self._walk_dir(child, path)

    def files(self, rel: str = ".") -> list[str]:
        """Relative paths of every included entry under ``rel`` (files, dirs, links)."""
        return [r for r, _ in self.walk(rel) if r != "."]

    # -- COPY / ADD sources ---------------------------------------------------------------

    def _clean_rel(self, name: str, what: str, cmd: str = "COPY", where=None) -> str:
        """A source as written → clean context-relative path ('/x' is context/x)."""
        cleaned = go_clean(name)
        if cleaned.startswith("/"):
            cleaned = go_clean(cleaned.lstrip("/")) if cleaned != "/" else "."
        if cleaned == ".." or cleaned.startswith("../"):
            raise self._error(f"{cmd} failed: forbidden path outside the build context: "
                              f"{name}", where)
        return cleaned

    def _error(self, message: str, where) -> BuildError:
        if where is not None:
            return where.error(message)
        return BuildError(message, file=self.dockerfile)

    def _resolve(self, rel: str, *, follow_last: bool, what: str, cmd: str = "COPY",
                 where=None) -> Path:
        """``rel`` → a real path under the root, following symlinks within the context.

        A symlink whose target leaves the context raises "forbidden path outside the
        build context"; a missing component raises FileNotFoundError.
        """
        parts = [] if rel == "." else rel.split("/")
        resolved: list[str] = []
        budget = 255
        while parts:
            part = parts.pop(0)
            if part in ("", "."):
                continue
            if part == "..":
                if not resolved:
                    raise self._error(f"{cmd} failed: forbidden path outside the build "
                                      f"context: {what}", where)
                resolved.pop()
                continue
            cur = self.root.joinpath(*resolved, part)
            st = os.lstat(cur)  # FileNotFoundError propagates
            if _stat.S_ISLNK(st.st_mode) and (parts or follow_last):
                budget -= 1
                if budget <= 0:
                    raise self._error(f"{cmd} failed: too many levels of symbolic links: "
                                      f"{what}", where)
                target = os.readlink(cur)
                if target.startswith("/"):
                    inside = _relative_inside(self.root, target)
                    if inside is None:
                        raise self._error(
                            f"{cmd} failed: forbidden path outside the build context: "
                            f"{what} (symlink {'/'.join(resolved + [part])} -> {target})",
                            where)
                    resolved = []
                    parts = [p for p in inside.split("/") if p] + parts
                else:
                    up = 0
                    for p in go_clean("/".join(resolved) + "/" + target
                                      if resolved else target).split("/"):
                        if p == "..":
                            up += 1
                    if up:
                        raise self._error(
                            f"{cmd} failed: forbidden path outside the build context: "
                            f"{what} (symlink {'/'.join(resolved + [part])} -> {target})",
                            where)
                    parts = [p for p in target.split("/") if p] + parts
                continue
            resolved.append(part)
        return self.root.joinpath(*resolved)

    def _present(self, rel: str) -> bool:
        """Is ``rel`` in the filtered context (included, or a dir holding included files)?"""
        if self.is_included(rel):
            return True
        p = self.root / rel
        if p.is_dir() and not p.is_symlink() and self.ignore.may_reinclude_under(rel):
            return any(True for _ in self._walk_dir(rel, p))
        return False

    def _glob(self, pattern: str) -> list[str]:
        """Context paths matching a cleaned glob, component by component (Go's Glob)."""
        parts = pattern.split("/")
        found = [""]
        for k, part in enumerate(parts):
            nxt = []
            for base in found:
                base_path = self.root / base if base else self.root
                if not has_glob(part):
                    cand = f"{base}/{part}" if base else part
                    if os.path.lexists(self.root / cand):
                        nxt.append(cand)
                    continue
                try:
                    rx = _go_match_regex(part)
                except ValueError:
                    raise BuildError(f"syntax error in pattern {pattern!r}",
                                     file=self.dockerfile) from None
                try:
                    entries = sorted(os.listdir(base_path))
                except OSError:
                    continue
                for e in entries:
                    if rx.fullmatch(e):
                        nxt.append(f"{base}/{e}" if base else e)
            found = nxt
            if not found:
                break
        return found

    def resolve_sources(self, patterns: Sequence[str], dest_is_dir: bool = True, *,
                        cmd: str = "COPY", instruction=None) -> list[Source]:
        """Resolve COPY/ADD sources against the context.

        Each pattern is a path or a ``filepath.Match`` glob relative to the context root
        (``/x`` is ``context/x``, ``../x`` is refused). Ignored paths do not exist. A
        symlink named directly is followed (within the context). Several sources need a
        directory destination (``dest_is_dir``: it ends with ``/``). Errors are
        :class:`BuildError` at ``instruction`` when given.
        """
        out: list[Source] = []
        for pat in patterns:
            rel = self._clean_rel(pat, pat, cmd, instruction)
            if rel != "." and has_glob(rel):
                names = [n for n in self._glob(rel) if self._present(n)]
                if not names:
                    raise self._error(f"{cmd} failed: no source files were specified: "
                                      f"nothing in the build context matches {pat!r} (or "
                                      "it is excluded by .dockerignore)", instruction)
            else:
                if rel != "." and (not os.path.lexists(self.root / rel)
                                   or not self._present(rel)):
                    raise self._error(
                        f"{cmd} failed: file not found in build context or excluded by "
                        f".dockerignore: stat {pat}: file does not exist", instruction)
                names = [rel]
            for name in names:
                try:
                    path = self._resolve(name, follow_last=True, what=pat, cmd=cmd,
                                         where=instruction)
                    st = os.stat(path, follow_symlinks=False)
                except FileNotFoundError:
                    raise self._error(f"{cmd} failed: {pat}: the symlink {name} points to a "
                                      "file that is not in the build context", instruction
                                      ) from None
                resolved_rel = "." if path == self.root else \
                    path.relative_to(self.root).as_posix()
                if resolved_rel != name and not self._present(resolved_rel):
                    raise self._error(f"{cmd} failed: {name} points to {resolved_rel}, which "
                                      "is excluded by .dockerignore", instruction)
                out.append(Source(rel=name, path=path, is_dir=_stat.S_ISDIR(st.st_mode),
                                  pattern=pat))
        if len(out) > 1 and not dest_is_dir:
            raise self._error(f"When using {cmd} with more than one source file, the "
                              "destination must be a directory and end with a /",
                              instruction)
        return out

    # -- checksum -----------------------------------------------------------------------

    def entries(self, source: Source | str) -> Iterator[tuple[str, Path, os.stat_result]]:
        """(path relative to the source, path on disk, lstat) of what a COPY of
        ``source`` reads: the file itself, or the included tree of a directory."""
        src = source if isinstance(source, Source) else self.resolve_sources([source])[0]
        st = os.stat(src.path, follow_symlinks=False)
        if not src.is_dir:
            yield ".", src.path, st
            return
        rel_root = "." if src.path == self.root else src.path.relative_to(self.root).as_posix()
        for rel, st2 in self.walk(rel_root):
            sub = "." if rel == rel_root else (rel if rel_root == "." else
                                               rel[len(rel_root) + 1:])
            yield sub, self.root / rel if rel != "." else self.root, st2

    def checksum(self, paths: Sequence[Source | str]) -> str:
        """A digest of what COPY/ADD of ``paths`` would read, for the cache key.

        sha256 over, for every entry in order: its path (the source as named, then the
        path inside it), type, permission bits, uid/gid, size, content sha256 (files)
        or link target (symlinks). mtime is left out, as in Docker's cache: touching a
        file without changing it keeps the cache; editing it or its mode does not.
        """
        h = hashlib.sha256()
        srcs: list[Source] = []
        for p in paths:
            srcs.extend([p] if isinstance(p, Source) else self.resolve_sources([p]))
        for src in sorted(srcs, key=lambda s: (s.rel, s.pattern)):
            h.update(b"S\0" + src.rel.encode() + b"\0")
            for sub, path, st in self.entries(src):
                mode = st.st_mode
                if _stat.S_ISREG(mode):
                    kind, extra = "f", _file_digest(str(path), st)
                elif _stat.S_ISDIR(mode):
                    kind, extra = "d", ""
                elif _stat.S_ISLNK(mode):
                    kind, extra = "l", os.readlink(path)
                else:
                    kind, extra = "o", ""
                size = st.st_size if kind == "f" else 0
                rec = (f"{sub}\0{kind}\0{_stat.S_IMODE(mode):o}\0{st.st_uid}\0{st.st_gid}\0"
                       f"{size}\0{extra}\n")
                h.update(rec.encode("utf-8", "surrogateescape"))
        return "sha256:" + h.hexdigest()


def _relative_inside(root: Path, target: str) -> str | None:
    """An absolute symlink target as a path inside ``root``, or None if outside."""
    t = go_clean(target)
    r = str(root)
    if t == r:
        return "."
    if t.startswith(r + "/"):
        return t[len(r) + 1:]
    return None


# ---------------------------------------------------------------------------------------
# Safe tar extraction
# ---------------------------------------------------------------------------------------

class _Prefixed(io.RawIOBase):
    """A stream that replays ``head`` then continues with ``rest`` (for sniffing)."""

    def __init__(self, head: bytes, rest: BinaryIO):
        self.head, self.rest = head, rest

    def readable(self) -> bool:
        return True

    def readinto(self, b) -> int:
        if self.head:
            n = min(len(b), len(self.head))
            b[:n] = self.head[:n]
            self.head = self.head[n:]
            return n
        data = self.rest.read(len(b))
        b[:len(data)] = data
        return len(data)


def _looks_like_archive(head: bytes) -> bool:
    return (head[:2] == b"\x1f\x8b" or head[:3] == b"BZh" or head[:6] == b"\xfd7zXZ\x00"
            or head[257:262] == b"ustar" or (len(head) >= 512 and _tar_checksum_ok(head)))


def _tar_checksum_ok(block: bytes) -> bool:
    try:
        stored = int(block[148:156].replace(b"\0", b" ").strip() or b"-1", 8)
    except ValueError:
        return False
    calc = sum(block[:148]) + 8 * 32 + sum(block[156:512])
    return stored == calc


def _member_name(name: str) -> str | None:
    """A tar member name → clean relative path, None for the root; ValueError if hostile.

    Stricter than a layer's (:func:`glassbox.images.layers.clean_member_name`): a
    context tar is made by a client from a directory, so an absolute name is no
    packing habit but a mistake or an attack."""
    if name.startswith("/"):
        raise ValueError(f"absolute path {name!r}")
    if "\0" in name:
        raise ValueError(f"NUL byte in name {name!r}")
    parts = [p for p in name.split("/") if p not in ("", ".")]
    if ".." in parts:
        raise ValueError(f"path {name!r} contains '..'")
    return "/".join(parts) or None


def _safe_extract(stream: BinaryIO, root: Path, *, max_bytes: int | None = None) -> None:
    """Extract a tar stream under ``root`` and nowhere else (see BuildContext.from_tar).

    The one safe tar walker of glassbox does the work — the layer extractor
    (:mod:`glassbox.images.layers`: every parent opened with ``O_NOFOLLOW`` from a
    directory fd, hostile headers capped, gzip/zstd/xz/bzip2) — with a build
    context's stricter rules on top: a member it cannot place safely refuses the
    *whole* context instead of being skipped with a warning; absolute names are
    refused; device nodes and FIFOs are skipped; a hard link must name a regular
    file of the archive; directories stay readable by their owner; ``max_bytes``
    caps the file data."""
    from ..errors import InvalidArgument
    from ..images import layers
    from ..images.compression import open_decompressed
    from ..images.streams import TarStream

    class ContextExtractor(layers._Extractor):
        total = 0

        def dir_fd(self, parts: tuple[str, ...], create: bool = True) -> int:
            try:
                return super().dir_fd(parts, create)
            except layers._Skip as why:   # (finish() skips a dir replaced later)
                raise layers._Skip(self._blocked(parts) or str(why)) from None

        def _blocked(self, parts: tuple[str, ...]) -> str | None:
            """Which parent stops the walk: a symlink or a non-directory (for the error)."""
            for i in range(1, len(parts) + 1):
                try:
                    st = os.lstat(os.path.join(root, *parts[:i]))
                except OSError:
                    return None
                if not _stat.S_ISDIR(st.st_mode):
                    what = "symlink" if _stat.S_ISLNK(st.st_mode) else "non-directory"
                    return f"it would be written through the {what} {'/'.join(parts[:i])!r}"
            return None

        def _mode(self, m) -> int:
            return m.mode & 0o7777        # a context is the user's own files: bits as sent

        def member(self, tar, m) -> None:
            rel = _member_name(m.name)
            if rel is None:
                return
            if m.isdir():
                m.mode |= 0o700           # the owner reads it back and cleans it up
            elif m.isreg():
                self.total += m.size
                if max_bytes is not None and self.total > max_bytes:
                    raise BuildError(f"the build context is larger than the "
                                     f"{max_bytes}-byte limit", file="context")
            elif m.islnk():
                self._regular_target(m)
            elif not m.issym():           # devices, FIFOs, others: not context material
                self.dir_fd(layers.clean_member_name(rel)[:-1])
                return
            super().member(tar, m)

        def _regular_target(self, m) -> None:
            link = _member_name(m.linkname)
            if link is None:
                raise ValueError(f"hard link {m.name!r} to the root")
            parts = layers.clean_member_name(link)
            try:
                st = os.stat(parts[-1], dir_fd=self.dir_fd(parts[:-1], create=False),
                             follow_symlinks=False)
            except FileNotFoundError:
                raise ValueError(f"hard link {m.name!r} -> {m.linkname!r}: no such member "
                                 "earlier in the archive") from None
            if not _stat.S_ISREG(st.st_mode):
                raise ValueError(f"hard link {m.name!r} -> {m.linkname!r} does not name a "
                                 "regular file of the archive")

    ex = ContextExtractor(str(root), "keep", False, layers.ExtractReport())
    seen = 0

    def visit(tar, m) -> None:
        nonlocal seen
        seen += 1
        try:
            ex.member(tar, m)
        except (ValueError, FileNotFoundError, layers._Skip) as e:
            raise BuildError(f"refusing the build context tar: member {m.name!r}: {e}",
                             file="context") from None

    try:
        ts = TarStream(open_decompressed(stream, "auto"))
        if not layers.walk_tar(ts, visit, what="build context tar"):
            raise InvalidArgument("empty file")
        ex.finish()
    except layers.UnsafeTar as e:
        raise BuildError(f"refusing the build context tar: {e.message}",
                         file="context") from None
    except (InvalidArgument, EOFError, OSError, lzma.LZMAError) as e:
        # bz2 says "Invalid data stream" as an OSError without an errno, xz says "Corrupt
        # input data" (LZMAError): bad data. An OSError with an errno (a full disk) is not.
        if isinstance(e, OSError) and e.errno is not None:
            raise
        msg = getattr(e, "message", None) or str(e) or "unexpected end of data"
        if seen:
            raise BuildError(f"the build context tar is corrupt: {msg}",
                             file="context") from None
        raise BuildError(f"the build context is not a valid tar archive ({msg}): send a tar "
                         "(optionally gzip-compressed) or a directory",
                         file="context") from None
    finally:
        ex.close()
