"""Mount requests as pure values: ``-v``, ``--mount`` and ``--tmpfs`` parsed like Docker.

Three spellings, one result — a :class:`VolumeSpec` saying *what* to mount
(``kind``: a named or anonymous ``volume``, a host ``bind``, or a ``tmpfs``),
*where* (``target``, inside the container) and *how* (``readonly``, tmpfs
``options``). Nothing here touches the disk except ``--mount type=bind``,
whose source must exist (Docker checks it; ``-v`` instead creates a missing
host directory, an old Docker habit kept for compatibility).

The rules and error texts follow moby's ``volume/mounts/linux_parser.go``
(``-v``) and docker/cli's ``opts/mount.go`` (``--mount``)::

    parse_volume_spec("data:/data")          -> volume "data" at /data
    parse_volume_spec("/srv/site:/www:ro")   -> bind /srv/site at /www, read-only
    parse_volume_spec("/cache")              -> an anonymous volume at /cache
    parse_mount_spec("type=tmpfs,dst=/t,tmpfs-size=64m")
    parse_tmpfs_spec("/run:size=64m,mode=1777")
"""

from __future__ import annotations

import csv
import os
import posixpath
import re
from dataclasses import dataclass, field

from ..errors import InvalidArgument

#: Docker's rule for local volume names (and the text it prints when one breaks it).
VOLUME_NAME_RE = re.compile(r"^[a-zA-Z0-9][a-zA-Z0-9_.-]+$")
VOLUME_NAME_CHARS = "[a-zA-Z0-9][a-zA-Z0-9_.-]"

_RW_MODES = {"rw", "ro"}
_LABEL_MODES = {"z", "Z"}
_PROPAGATION = {"private", "rprivate", "slave", "rslave", "shared", "rshared"}
_COPY_MODES = {"nocopy"}
_CONSISTENCY = {"consistent", "cached", "delegated"}

#: tmpfs options the kernel takes as mount *data* (kept in ``Mount.options``).
_TMPFS_DATA = {"size", "mode", "uid", "gid", "nr_inodes", "nr_blocks", "mpol", "huge"}
#: mount *flags* Docker accepts in ``--tmpfs``; glassbox's runtime always mounts a
#: tmpfs nosuid,nodev (ro is honoured through ``readonly``), the rest are accepted and
#: not applied (see the package notes).
_TMPFS_FLAGS = {"rw", "ro", "exec", "noexec", "suid", "nosuid", "dev", "nodev", "sync",
                "async", "dirsync", "atime", "noatime", "diratime", "nodiratime", "relatime",
                "norelatime", "strictatime", "nostrictatime", "mand", "nomand", "tmpcopyup",
                *_PROPAGATION}


@dataclass
class VolumeSpec:
    """One requested mount. ``source`` is the volume name (``""``: anonymous),
    the host path (bind) or ``""`` (tmpfs)."""

    kind: str                      # "volume" | "bind" | "tmpfs"
    source: str
    target: str
    readonly: bool = False
    options: str = ""              # tmpfs mount data, e.g. "size=64m,mode=1777"
    nocopy: bool = False           # volume: don't copy the image's files in
    create_source: bool = False    # bind from -v: create a missing host directory
    labels: dict[str, str] = field(default_factory=dict)   # --mount volume-label=
    mode: str = field(default="", compare=False)           # the raw mode text (inspect)
    propagation: str = field(default="", compare=False)
    subpath: str = ""              # --mount volume-subpath=: a path inside the volume
    raw: str = field(default="", compare=False)            # what the user typed

    @property
    def anonymous(self) -> bool:
        return self.kind == "volume" and not self.source


# --------------------------------------------------------------------------- helpers

def clean_target(path: str) -> str:
    """``path.Clean`` as Go does it (``//a/./b/`` -> ``/a/b``)."""
    cleaned = posixpath.normpath(path)
    if cleaned.startswith("//"):
        cleaned = "/" + cleaned.lstrip("/")
    return cleaned


def _config_error(kind: str, message: str) -> str:
    return f'invalid mount config for type "{kind}": {message}'


#: the files under /proc a mount may cover — those lxcfs emulates; runc's
#: ``checkProcMount`` list (libcontainer/rootfs_linux.go), taken as data
PROC_MOUNTS_ALLOWED = frozenset({
    "/proc/cpuinfo", "/proc/diskstats", "/proc/meminfo", "/proc/stat", "/proc/swaps",
    "/proc/uptime", "/proc/loadavg", "/proc/slabinfo", "/proc/net/dev",
    "/proc/sys/kernel/ns_last_pid", "/proc/sys/crypto/fips_enabled"})


def proc_target_error(target: str) -> str | None:
    """Why a mount may not go at ``target`` (a clean path inside the container), or
    None. Nothing but the container's own procfs goes at ``/proc`` or inside it
    (runc's rule, so Docker's): a bind over ``/proc/sys`` or ``/proc/sysrq-trigger``
    would undo the read-only and masked paths that keep the host's kernel knobs out
    of reach, and a mount placed there under an ``rshared`` bind would travel to
    the host. Checked at create on the path as written, and again at start on the
    path as resolved in the image (a symlink such as ``/data -> /proc/sys``)."""
    if target == "/proc":
        return f'"{target}" cannot be mounted because it is not of type proc'
    if target.startswith("/proc/") and target not in PROC_MOUNTS_ALLOWED:
        return f'"{target}" cannot be mounted because it is inside /proc'
    return None


def _check_target(kind: str, target: str) -> str | None:
    """Docker's target rules; returns the error text or None."""
    if not target:
        return _config_error(kind, "field Target must not be empty")
    if clean_target(target.replace("\\", "/")) == "/":
        return _config_error(kind, "invalid specification: destination can't be '/'")
    if not target.startswith("/"):
        return _config_error(kind, f"invalid mount path: '{target}' mount path must be "
                                   "absolute")
    err = proc_target_error(clean_target(target))
    return _config_error(kind, err) if err else None


def volume_name_error(name: str) -> str | None:
    """The local driver's complaint about ``name``, or None when it is a good name."""
    if VOLUME_NAME_RE.match(name):
        return None
    return (f'create {name}: "{name}" includes invalid characters for a local volume name, '
            f'only "{VOLUME_NAME_CHARS}" are allowed. If you intended to pass a host '
            "directory, use absolute path")


def check_volume_name(name: str) -> str:
    err = volume_name_error(name)
    if err:
        raise InvalidArgument(err)
    return name


def valid_mode(mode: str) -> bool:
    """``linuxValidMountMode``: comma-separated, at most one of each family."""
    if mode == "":
        return True
    counts = [0, 0, 0, 0, 0]
    for o in mode.split(","):
        for i, family in enumerate((_RW_MODES, _LABEL_MODES, _PROPAGATION, _COPY_MODES,
                                    _CONSISTENCY)):
            if o in family:
                counts[i] += 1
                break
        else:
            return False
    return max(counts) <= 1


def _mode_has(mode: str, family: set[str]) -> str:
    return next((o for o in mode.split(",") if o in family), "")


# --------------------------------------------------------------------------- -v

def parse_volume_spec(spec: str) -> VolumeSpec:
    """``-v [SOURCE:]TARGET[:MODE]``: SOURCE absolute -> bind, else a volume name;
    TARGET alone -> an anonymous volume."""
    invalid = f"invalid volume specification: '{spec}'"
    arr = spec.split(":", 3)
    if not arr[0]:
        raise InvalidArgument(invalid)
    source, mode = "", ""
    if len(arr) == 1:
        target = arr[0]
    elif len(arr) == 2:
        if valid_mode(arr[1]):
            # "/foo:ro" — a destination and a mode, but volumes cannot have a mode
            raise InvalidArgument(invalid)
        source, target = arr
    elif len(arr) == 3:
        source, target, mode = arr
    else:
        raise InvalidArgument(invalid)
    if not valid_mode(mode):
        raise InvalidArgument(f"invalid mode: {mode}")
    kind = "bind" if source.startswith("/") else "volume"
    readonly = "ro" in mode.split(",")
    err = _check_target(kind, target)
    if err:
        raise InvalidArgument(f"{invalid}: {err}")
    if kind == "volume" and source:
        name_err = volume_name_error(source)
        if name_err:
            raise InvalidArgument(name_err)
    if kind == "volume" and not source and readonly:
        raise InvalidArgument(f"{invalid}: " + _config_error(
            kind, "must not set ReadOnly mode when using anonymous volumes"))
    return VolumeSpec(kind=kind, source=clean_target(source) if kind == "bind" else source,
                      target=clean_target(target), readonly=readonly,
                      nocopy=kind == "volume" and "nocopy" in mode.split(","),
                      create_source=kind == "bind", mode=mode,
                      propagation=_mode_has(mode, _PROPAGATION) or
                      ("rprivate" if kind == "bind" else ""), raw=spec)


# --------------------------------------------------------------------------- --mount

def _parse_bool(key: str, val: str, flag_err) -> bool:
    v = val.strip().lower()
    if v in ("1", "t", "true"):
        return True
    if v in ("0", "f", "false"):
        return False
    raise flag_err(f"invalid value for {key}: {val}")


def _size_to_option(n: int) -> str:
    for suffix, div in (("g", 1 << 30), ("m", 1 << 20), ("k", 1 << 10)):
        if n % div == 0:
            return f"{n // div}{suffix}"
    return str(n)


def parse_mount_spec(spec: str, *, check_source: bool = True) -> VolumeSpec:
    """``--mount type=bind|volume|tmpfs,source=..,target=..[,readonly][,...]``.

    Keys as docker/cli: ``type``, ``source``/``src``, ``target``/``dst``/
    ``destination``, ``readonly``/``ro``, ``volume-nocopy``, ``volume-label``,
    ``volume-driver`` (only ``local``), ``volume-subpath`` (a named volume's
    sub-directory: :mod:`.subpath`), ``bind-propagation``, ``bind-nonrecursive``,
    ``consistency``, ``tmpfs-size``, ``tmpfs-mode``. A bind source must exist
    (unlike ``-v``, ``--mount`` never creates it)."""

    def flag_err(msg: str) -> InvalidArgument:
        return InvalidArgument(f'invalid argument "{spec}" for "--mount" flag: {msg}')

    try:
        fields = next(csv.reader([spec]))
    except (csv.Error, StopIteration):
        raise flag_err("not a comma-separated list of key=value pairs") from None
    kind, source, target, readonly = "volume", "", "", False
    nocopy, labels, propagation, subpath = False, {}, "", ""
    vol_opts = bind_opts = tmpfs_opts = False
    size, tmode = None, None
    for fld in fields:
        key, sep, val = fld.partition("=")
        if not sep:
            if key in ("readonly", "ro"):
                readonly = True
            elif key == "volume-nocopy":
                nocopy, vol_opts = True, True
            elif key == "bind-nonrecursive":
                bind_opts = True
            else:
                raise flag_err(f"invalid field '{fld}' must be a key=value pair")
            continue
        if key == "type":
            kind = val.lower()
        elif key in ("source", "src"):
            source = val
            if val == "." or val.startswith("./"):
                source = os.path.abspath(val)
        elif key in ("target", "dst", "destination"):
            target = val
        elif key in ("readonly", "ro"):
            readonly = _parse_bool(key, val, flag_err)
        elif key == "consistency":
            pass
        elif key == "bind-propagation":
            bind_opts, propagation = True, val.lower()
        elif key == "bind-nonrecursive":
            bind_opts = True
            _parse_bool(key, val, flag_err)
        elif key == "volume-nocopy":
            vol_opts = True
            nocopy = _parse_bool(key, val, flag_err)
        elif key == "volume-label":
            vol_opts = True
            lk, _, lv = val.partition("=")
            if lk:
                labels[lk] = lv
        elif key == "volume-driver":
            vol_opts = True
            if val not in ("", "local"):
                raise flag_err(f"volume driver {val!r} is not available: glassbox has only "
                               "the 'local' driver")
        elif key == "volume-subpath":
            vol_opts = True
            from .subpath import check_subpath
            check_subpath(val)
            subpath = val
        elif key == "volume-opt":
            raise flag_err("volume-opt is not supported by glassbox's local driver; "
                           "create a plain volume instead")
        elif key == "tmpfs-size":
            tmpfs_opts = True
            size = _ram_in_bytes(val)
            if size is None:
                raise flag_err(f"invalid value for {key}: {val}")
        elif key == "tmpfs-mode":
            tmpfs_opts = True
            try:
                tmode = int(val, 8)
            except ValueError:
                tmode = None
            if tmode is None or not 0 <= tmode < 1 << 32:
                raise flag_err(f"invalid value for {key}: {val}")
        else:
            raise flag_err(f"unexpected key '{key}' in '{fld}'")
    if not kind:
        raise flag_err("type is required")
    if not target:
        raise flag_err("target is required")
    if vol_opts and kind != "volume":
        raise flag_err(f"cannot mix 'volume-*' options with mount type '{kind}'")
    if bind_opts and kind != "bind":
        raise flag_err(f"cannot mix 'bind-*' options with mount type '{kind}'")
    if tmpfs_opts and kind != "tmpfs":
        raise flag_err(f"cannot mix 'tmpfs-*' options with mount type '{kind}'")
    if kind not in ("bind", "volume", "tmpfs"):
        raise InvalidArgument(_config_error(kind, "mount type unknown") +
                              " (use bind, volume or tmpfs)")
    err = _check_target(kind, target)
    if err:
        raise InvalidArgument(err)
    if kind == "bind":
        if not source:
            raise InvalidArgument(_config_error(kind, "field Source must not be empty"))
        if not source.startswith("/"):
            raise InvalidArgument(_config_error(
                kind, f"invalid mount path: '{source}' mount path must be absolute"))
        if propagation and propagation not in _PROPAGATION:
            raise InvalidArgument(_config_error(kind, f"invalid propagation mode: "
                                                      f"{propagation}"))
        if check_source and not os.path.exists(source):
            raise InvalidArgument(_config_error(
                kind, f"bind source path does not exist: {clean_target(source)}"))
        return VolumeSpec("bind", clean_target(source), clean_target(target), readonly,
                          propagation=propagation or "rprivate", raw=spec)
    if kind == "volume":
        if source:
            check_volume_name(source)
        elif readonly:
            raise InvalidArgument(_config_error(
                kind, "must not set ReadOnly mode when using anonymous volumes"))
        if subpath and not source:
            raise InvalidArgument(_config_error(
                kind, f"volume-subpath {subpath!r} needs a named volume (source=NAME)"))
        return VolumeSpec("volume", source, clean_target(target), readonly, nocopy=nocopy,
                          labels=labels, subpath=subpath, raw=spec)
    if source:
        raise InvalidArgument(_config_error(kind, "field Source must not be specified"))
    opts = []
    if tmode:
        opts.append(f"mode={tmode:o}")
    if size:
        opts.append(f"size={_size_to_option(size)}")
    return VolumeSpec("tmpfs", "", clean_target(target), readonly, options=",".join(opts),
                      raw=spec)


_RAM_RE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([kmgtp]?)(?:i?b)?\s*$", re.IGNORECASE)


def _ram_in_bytes(text: str) -> int | None:
    """go-units ``RAMInBytes``: binary units, ``64m`` == ``64MB`` == ``64MiB``."""
    m = _RAM_RE.match(text)
    if not m:
        return None
    mult = {"": 1, "k": 1 << 10, "m": 1 << 20, "g": 1 << 30, "t": 1 << 40, "p": 1 << 50}
    return int(float(m.group(1)) * mult[m.group(2).lower()])


# --------------------------------------------------------------------------- --tmpfs

_TMPFS_VALUE_RE = {
    "size": re.compile(r"^\d+[kmgtpe%]?$", re.IGNORECASE),
    "nr_blocks": re.compile(r"^\d+[kmgtpe%]?$", re.IGNORECASE),
    "nr_inodes": re.compile(r"^\d+[kmgtpe%]?$", re.IGNORECASE),
    "mode": re.compile(r"^[0-7]{1,4}$"),
    "uid": re.compile(r"^\d+$"),
    "gid": re.compile(r"^\d+$"),
}


def parse_tmpfs_spec(spec: str) -> VolumeSpec:
    """``--tmpfs TARGET[:OPTIONS]``, e.g. ``/run:rw,size=64m,mode=1777``.

    ``size``/``mode``/``uid``/``gid``/``nr_inodes``/``nr_blocks`` become the
    tmpfs mount data; ``ro`` makes it read-only; other mount flags Docker knows
    (``noexec``, ``nosuid``...) are accepted."""
    target, _, options = spec.partition(":")
    err = _check_target("tmpfs", target)
    if err:
        raise InvalidArgument(f"invalid tmpfs specification '{spec}': {err}")
    data, readonly = [], False
    for opt in filter(None, options.split(",")):
        key, sep, val = opt.partition("=")
        if key in _TMPFS_DATA and sep:
            rx = _TMPFS_VALUE_RE.get(key)
            if rx and not rx.match(val):
                raise InvalidArgument(f"invalid tmpfs option {opt!r} in '{spec}'")
            data.append(f"{key}={val}")
        elif key in _TMPFS_FLAGS and not sep:
            if key in ("ro", "rw"):
                readonly = key == "ro"
        else:
            raise InvalidArgument(f"invalid tmpfs option {opt!r} in '{spec}': expected "
                                  "size=, mode=, uid=, gid=, nr_inodes= or a mount flag "
                                  "such as ro, noexec")
    return VolumeSpec("tmpfs", "", clean_target(target), readonly, options=",".join(data),
                      raw=spec)


def parse_volumes_from(spec: str) -> tuple[str, str]:
    """``--volumes-from CONTAINER[:ro|rw]`` -> (container, mode)."""
    if not spec:
        raise InvalidArgument("volumes-from specification cannot be an empty string")
    ref, _, mode = spec.partition(":")
    if not mode:
        return ref, "rw"
    if not valid_mode(mode) or _mode_has(mode, _PROPAGATION) or _mode_has(mode, _COPY_MODES):
        raise InvalidArgument(f"invalid mode: {mode}")
    return ref, mode
