"""``VolumeManager``: named volumes on disk, Docker's ``local`` driver.

A volume is just a directory that lives outside every container::

    <root>/volumes/.lock                 flock: one writer at a time
    <root>/volumes/<name>/_data/         the data (bind-mounted into containers)
    <root>/volumes/<name>/meta.json      {Name, Driver, Mountpoint, CreatedAt, Labels, ...}
    <root>/volumes/<name>/refs/<cid>     "container <cid> mounts me" (see below)
    <root>/volumes/.trash/               removed volumes, deleted after the rename

Removing a container's read/write layer never touches ``_data``: that is the
whole point of a volume (the data outlives the container).

**Who uses a volume?** Each container's ``config.json`` lists its mounts, so
a scan of ``<root>/containers/*/config.json`` answers. A container being
created has no config yet, so :class:`~glassbox.volumes.mounts.VolumeHooks`
also drops a ``refs/<cid>`` marker (with the creating process's pid) under
the lock while it resolves mounts. Once the container's directory exists its
config is the authority and the marker is swept; a marker whose container
never appeared (the create failed, its process died) is swept too.

Writes are atomic (temp + rename) and serialised by ``.lock``; a volume is
removed by renaming it into ``.trash`` first, so a crash leaves either the
whole volume or none of it.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from typing import Callable, Iterable

from .._files import locked, write_json
from ..errors import Conflict, InvalidArgument, NotFound
from .specs import check_volume_name

ANON_LABEL = "com.docker.volume.anonymous"
#: a ref marker without its container is trusted this long (the create in flight)
REF_GRACE_SECONDS = 60


def _now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


def _write_json(path: str, data: dict) -> None:
    write_json(path, data, durable=True, indent=1)


class VolumeManager:
    """All volumes of one state root."""

    def __init__(self, root: str):
        self.root = os.path.abspath(root)
        self.dir = os.path.join(self.root, "volumes")
        os.makedirs(self.dir, mode=0o701, exist_ok=True)

    # ---- paths ------------------------------------------------------------------
    def path(self, name: str) -> str:
        return os.path.join(self.dir, name)

    def data_dir(self, name: str) -> str:
        """Where the volume's files are: the bind-mount source."""
        return os.path.join(self.dir, name, "_data")

    def name_of(self, source: str) -> str | None:
        """The volume whose data dir is ``source`` (a mount's source), else None."""
        head, tail = os.path.split(os.path.normpath(source))
        if tail != "_data" or os.path.dirname(head) != self.dir:
            return None
        return os.path.basename(head)

    def locked(self):
        return locked(os.path.join(self.dir, ".lock"))

    # ---- create / read ----------------------------------------------------------
    def create(self, name: str | None = None, labels: dict | None = None,
               anonymous: bool = False, driver: str = "local",
               options: dict | None = None) -> dict:
        """``docker volume create``: a new empty volume, or the existing one of
        that name unchanged (Docker answers the same way). ``name=None`` makes
        an anonymous volume with a random 64-hex name."""
        return self.ensure(name, labels, anonymous, driver, options)[0]

    def ensure(self, name: str | None, labels: dict | None = None, anonymous: bool = False,
               driver: str = "local", options: dict | None = None,
               ref: str | None = None) -> tuple[dict, bool]:
        """Like :meth:`create`, also saying whether the volume is new; ``ref``
        (a container id) is recorded as a user under the same lock."""
        if driver not in ("", "local", None):
            raise InvalidArgument(f"volume driver {driver!r} is not available: glassbox has "
                                  "only the 'local' driver")
        if options:
            raise InvalidArgument("volume options (-o/--opt) are not supported by glassbox's "
                                  "local driver: create the volume without them")
        if name is None:
            name, anonymous = os.urandom(32).hex(), True
        check_volume_name(name)
        labels = dict(labels or {})
        if anonymous:
            labels.setdefault(ANON_LABEL, "")
        with self.locked():
            vdir = self.path(name)
            existing = self._read(name)
            created = existing is None
            if created:
                tmp = os.path.join(self.dir, f".new-{name}")
                shutil.rmtree(tmp, ignore_errors=True)
                os.makedirs(os.path.join(tmp, "_data"), mode=0o755)
                os.chmod(os.path.join(tmp, "_data"), 0o755)
                meta = {"CreatedAt": _now(), "Driver": "local", "Labels": labels,
                        "Mountpoint": self.data_dir(name), "Name": name, "Options": {},
                        "Scope": "local", "Anonymous": bool(anonymous)}
                _write_json(os.path.join(tmp, "meta.json"), meta)
                os.rename(tmp, vdir)
                existing = meta
            if ref:
                self._add_ref(name, ref)
        return existing, created

    def _read(self, name: str) -> dict | None:
        try:
            with open(os.path.join(self.path(name), "meta.json")) as f:
                return json.load(f)
        except FileNotFoundError:
            return None
        except (OSError, ValueError):
            # a volume dir without readable metadata: present it with defaults
            if os.path.isdir(self.data_dir(name)):
                return {"CreatedAt": "", "Driver": "local", "Labels": {},
                        "Mountpoint": self.data_dir(name), "Name": name, "Options": {},
                        "Scope": "local", "Anonymous": False}
            return None

    def get(self, name: str) -> dict:
        """``docker volume inspect``'s document for one volume."""
        if not name or name.startswith(".") or "/" in name:
            raise NotFound(f"No such volume: {name}")
        meta = self._read(name)
        if meta is None:
            raise NotFound(f"No such volume: {name}")
        return meta

    def exists(self, name: str) -> bool:
        return bool(name) and not name.startswith(".") and "/" not in name and \
            self._read(name) is not None

    def names(self) -> list[str]:
        return sorted(n for n in os.listdir(self.dir) if not n.startswith(".") and
                      os.path.isdir(self.path(n)))

    def list(self, filters: dict | None = None,
             in_use: Callable[[str], list] | None = None) -> list[dict]:
        """All volumes, optionally filtered like ``docker volume ls -f``:
        ``name`` (substring), ``label`` (``k`` or ``k=v``), ``driver``,
        ``dangling`` (``true``: used by no container)."""
        filters = {k: list(v) if isinstance(v, (list, tuple, set)) else [v]
                   for k, v in (filters or {}).items()}
        for key in filters:
            if key not in ("name", "label", "driver", "dangling"):
                raise InvalidArgument(f"invalid filter '{key}'")
        in_use = in_use or self.users
        out = []
        for name in self.names():
            meta = self._read(name)
            if meta is None:
                continue
            if _matches(meta, filters, in_use):
                out.append(meta)
        return out

    # ---- users ------------------------------------------------------------------
    def _refs_dir(self, name: str) -> str:
        return os.path.join(self.path(name), "refs")

    def _add_ref(self, name: str, cid: str) -> None:
        """Mark ``cid`` (being created by this process) as a user of ``name``."""
        from .. import processes
        os.makedirs(self._refs_dir(name), exist_ok=True)
        pid = os.getpid()
        _write_json(os.path.join(self._refs_dir(name), cid),
                    {"pid": pid, "start": processes.start_time(pid)})

    def add_ref(self, name: str, cid: str) -> None:
        with self.locked():
            if self._read(name) is None:
                raise NotFound(f"No such volume: {name}")
            self._add_ref(name, cid)

    def drop_ref(self, name: str, cid: str) -> None:
        try:
            os.unlink(os.path.join(self._refs_dir(name), cid))
        except OSError:
            pass

    def users(self, name: str, exclude: Iterable[str] = ()) -> list[str]:
        """Ids of the containers that mount volume ``name`` (any state)."""
        exclude = set(exclude)
        found: set[str] = set()
        data = self.data_dir(name)
        cdir = os.path.join(self.root, "containers")
        try:
            entries = os.listdir(cdir)
        except FileNotFoundError:
            entries = []
        for entry in entries:
            if entry in (".trash", ".lock"):
                continue
            cid = entry[len(".new-"):] if entry.startswith(".new-") else entry
            if cid in exclude:
                continue
            try:
                with open(os.path.join(cdir, entry, "config.json")) as f:
                    mounts = json.load(f).get("Mounts") or []
            except (OSError, ValueError):
                continue
            if any(isinstance(m, dict) and m.get("source") == data for m in mounts):
                found.add(cid)
        try:
            refs = os.listdir(self._refs_dir(name))
        except FileNotFoundError:
            refs = []
        for cid in refs:
            if cid in exclude or ".tmp" in cid:
                continue
            if self._ref_live(name, cid):
                found.add(cid)
        return sorted(found)

    def _ref_live(self, name: str, cid: str) -> bool:
        """A ref marks a container *being created*. Once ``containers/<cid>`` exists
        its config is the authority (the ref is swept); while ``.new-<cid>`` exists
        it is live; with neither, it is live only while its creator process runs
        and for at most ``REF_GRACE_SECONDS`` (a failed create must not pin the
        volume forever)."""
        from .. import processes
        cdir = os.path.join(self.root, "containers")
        ref = os.path.join(self._refs_dir(name), cid)
        if os.path.isdir(os.path.join(cdir, cid)):
            self.drop_ref(name, cid)
            return False
        if os.path.isdir(os.path.join(cdir, f".new-{cid}")):
            return True
        try:
            age = time.time() - os.stat(ref).st_mtime
            with open(ref) as f:
                owner = json.load(f)
        except (OSError, ValueError):
            return False
        if age < REF_GRACE_SECONDS and processes.alive(owner.get("pid", 0), owner.get("start")):
            return True
        self.drop_ref(name, cid)  # the create failed (or its container is long gone)
        return False

    # ---- remove / prune ---------------------------------------------------------
    def remove(self, name: str, force: bool = False,
               in_use: Callable[[str], list] | None = None) -> None:
        """``docker volume rm``: refuses a volume a container uses (even with
        ``force``, as Docker); ``force`` only hides "no such volume"."""
        in_use = in_use or self.users
        with self.locked():
            if not self.exists(name):
                if force:
                    return
                raise NotFound(f"No such volume: {name}")
            users = in_use(name)
            if users:
                raise Conflict(f"remove {name}: volume is in use - [{' '.join(users)}]")
            self._trash(name)
        self.empty_trash()

    def _trash(self, name: str) -> None:
        trash = os.path.join(self.dir, ".trash")
        os.makedirs(trash, exist_ok=True)
        os.rename(self.path(name), os.path.join(trash, f"{name}.{os.getpid()}.{time.time_ns()}"))

    def empty_trash(self) -> None:
        trash = os.path.join(self.dir, ".trash")
        try:
            entries = os.listdir(trash)
        except FileNotFoundError:
            return
        for entry in entries:
            _rmtree_no_mounts(os.path.join(trash, entry))

    def prune(self, in_use: Callable[[str], list] | None = None, all: bool = False,
              filters: dict | None = None) -> list[str]:
        """``docker volume prune``: remove unused *anonymous* volumes (``all``:
        every unused volume, named ones too — Docker 23+ ``--all``)."""
        in_use = in_use or self.users
        removed = []
        for meta in self.list(filters, in_use):
            if not all and not meta.get("Anonymous"):
                continue
            try:
                self.remove(meta["Name"], in_use=in_use)
            except (Conflict, NotFound):
                continue
            removed.append(meta["Name"])
        return removed

    def size(self, name: str) -> int:
        """Bytes used by the volume's files (``du``-like, files counted once)."""
        total, seen = 0, set()
        for base, _, files in os.walk(self.data_dir(name)):
            for f in files:
                try:
                    st = os.lstat(os.path.join(base, f))
                except OSError:
                    continue
                if (st.st_dev, st.st_ino) in seen:
                    continue
                seen.add((st.st_dev, st.st_ino))
                total += st.st_size
        return total


def _matches(meta: dict, filters: dict, in_use) -> bool:
    for key, values in filters.items():
        if key == "name" and not any(v in meta["Name"] for v in values):
            return False
        if key == "driver" and meta.get("Driver", "local") not in values:
            return False
        if key == "label":
            labels = meta.get("Labels") or {}
            for v in values:
                lk, sep, lv = v.partition("=")
                if lk not in labels or (sep and labels[lk] != lv):
                    return False
        if key == "dangling":
            want = values[-1].lower()
            if want not in ("true", "false", "1", "0"):
                raise InvalidArgument(f"invalid filter 'dangling={values[-1]}': use true or "
                                      "false")
            dangling = not in_use(meta["Name"])
            if dangling != (want in ("true", "1")):
                return False
    return True


def _rmtree_no_mounts(path: str) -> None:
    """Delete a removed volume without ever crossing into a mount point (a
    container that still had it mounted would otherwise lose *its* mounts)."""
    try:
        root_dev = os.lstat(path).st_dev
    except FileNotFoundError:
        return

    def onerror(func, p, exc_info):
        pass

    for base, dirs, _ in os.walk(path):
        for d in list(dirs):
            try:
                if os.lstat(os.path.join(base, d)).st_dev != root_dev:
                    return  # something is mounted inside: leave the trash for `system check`
            except OSError:
                pass
    shutil.rmtree(path, onerror=onerror)
