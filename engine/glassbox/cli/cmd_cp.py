"""``glassbox cp`` and ``glassbox export`` — Docker's copy commands.

``cp`` has two halves: the container side (a tar of a container path, or a tar
unpacked into a container directory — resolved inside the container's root, see
:mod:`glassbox.containers.archive`) and this client side, which applies the docker
CLI's rules for where things land:

* ``cp CTR:SRC DEST``: into ``DEST`` when it is a directory (``SRC/.``: only its
  contents); else as ``DEST`` (its parent must exist; a directory cannot replace a
  file); ``-`` writes the tar to stdout;
* ``cp SRC CTR:DEST``: the same rules against a stat of ``DEST`` in the container;
  ``-`` reads a tar from stdin and unpacks it into the directory ``DEST``.

Files copied into a container are owned by root unless ``-a`` keeps the source's
owners (and then, like Docker's ``copyUIDGID``, the container's user if it has
one); files copied out are owned by the caller unless ``-a``.
Local extraction goes through the layer extractor (never through a symlink).
"""

from __future__ import annotations

import os
import stat
import sys
import threading

GO_MODE_DIR = 1 << 31


def _split(arg: str) -> tuple[str | None, str]:
    """``ctr:/path`` -> (ctr, /path); a local path (``./a:b``, ``/x``) -> (None, path)."""
    if arg == "-" or arg.startswith(("/", ".")):
        return None, arg
    name, sep, path = arg.partition(":")
    if not sep or not name:
        return None, arg
    return name, path


def cmd_cp(eng, args) -> int:
    from ..errors import InvalidArgument
    src_ctr, src = _split(args.src)
    dst_ctr, dst = _split(args.dest)
    if src_ctr is None and dst_ctr is None or src_ctr is not None and dst_ctr is not None:
        raise InvalidArgument("copying between containers or between local paths is not "
                              "supported: exactly one of SRC and DEST must be CONTAINER:PATH")
    if src_ctr is not None:
        if not src:
            raise InvalidArgument(f"no path given in {args.src!r} (use CONTAINER:/path)")
        return _from_container(eng, src_ctr, src, dst, args)
    if not dst or dst_ctr is None:
        raise InvalidArgument(f"no path given in {args.dest!r} (use CONTAINER:/path)")
    return _to_container(eng, src, dst_ctr, dst, args)


# ---- container -> local ------------------------------------------------------------------
def _from_container(eng, ctr: str, src: str, dst: str, args) -> int:
    from ..errors import InvalidArgument
    info = eng.archive_stat(ctr, src)
    if dst == "-":
        eng.archive_get(ctr, src, sys.stdout.buffer)
        sys.stdout.buffer.flush()
        return 0
    from ..containers.archive import rebase_name
    src_dir = bool(info["mode"] & GO_MODE_DIR)
    top = rebase_name(src)                        # the archive's top entry
    contents = top == "."                         # SRC/. (or /): the directory's contents
    try:
        dst_st = os.stat(dst)
    except FileNotFoundError:
        dst_st = None
    if dst_st is not None and stat.S_ISDIR(dst_st.st_mode):
        return _unpack(eng, ctr, src, dst, None, args)
    if dst_st is not None and src_dir:
        raise InvalidArgument(f"cannot copy a directory to a file: {dst} is a file")
    if dst_st is None and dst.endswith("/") and not src_dir:
        raise InvalidArgument(f"no such directory: {dst}")
    parent = os.path.dirname(os.path.abspath(dst.rstrip("/") or "/"))
    if not os.path.isdir(parent):
        raise InvalidArgument(f"no such directory: {parent} (the parent of {dst})")
    return _unpack(eng, ctr, src, parent, os.path.basename(dst.rstrip("/")), args,
                   top=None if contents else top, mode=info["mode"] & 0o7777)


def _unpack(eng, ctr, src, into: str, rename: str | None, args, top: str | None = None,
            mode: int = 0o755) -> int:
    """The container's tar unpacked into the local directory ``into``; with ``rename``
    its top entry ``top`` becomes ``into/rename`` (through a private temp dir; ``top``
    None: the temp dir itself, given ``mode``, becomes it)."""
    import tempfile
    from ..images.layers import safe_extract
    work: str | None = tempfile.mkdtemp(prefix=".glassbox-cp-", dir=into) if rename else into
    assert work is not None
    try:
        _pipe_through(lambda w: eng.archive_get(ctr, src, w),
                      lambda r: safe_extract(r, work, whiteouts="keep",
                                             same_owner=bool(args.archive), compression=None))
        if rename:
            made = os.path.join(work, top) if top else work
            final = os.path.join(into, rename)
            if top is None:                       # SRC/. to a new DEST: the contents
                os.chmod(work, mode)
                os.rename(work, final)
                work = None
            else:
                os.rename(made, final)
    finally:
        if rename and work:
            import shutil
            shutil.rmtree(work, ignore_errors=True)
    return 0


def _pipe_through(write, read) -> None:
    """``write(w)`` in a thread into a pipe while ``read(r)`` consumes it here."""
    r, w = os.pipe()
    rf, wf = os.fdopen(r, "rb"), os.fdopen(w, "wb")
    failure: list[BaseException] = []

    def writer():
        try:
            write(wf)
        except BaseException as e:  # noqa: BLE001 — re-raised below
            failure.append(e)
        finally:
            try:
                wf.close()
            except OSError:
                pass

    t = threading.Thread(target=writer, daemon=True)
    t.start()
    try:
        read(rf)
    finally:
        rf.close()
        t.join()
    if failure and not isinstance(failure[0], BrokenPipeError):
        raise failure[0]


# ---- local -> container ------------------------------------------------------------------
def _to_container(eng, src: str, ctr: str, dst: str, args) -> int:
    from ..errors import InvalidArgument, NotFound
    if src == "-":
        eng.archive_put(ctr, dst, sys.stdin.buffer, copy_uid_gid=bool(args.archive))
        return 0
    if args.follow_link:
        src = os.path.realpath(src)
    try:
        src_st = os.lstat(src)
    except FileNotFoundError:
        raise InvalidArgument(f"no such file or directory: {src}") from None
    src_dir = stat.S_ISDIR(src_st.st_mode)
    contents = src.endswith("/.")
    try:
        info = eng.archive_stat(ctr, dst if not dst.endswith("/") else dst)
        if info["linkTarget"]:
            info = eng.archive_stat(ctr, info["linkTarget"])
    except NotFound:
        info = None
    base = os.path.basename(os.path.normpath(src))
    if info is not None and info["mode"] & GO_MODE_DIR:
        into, name = dst, (None if contents else base)
    elif info is not None:
        if src_dir:
            raise InvalidArgument(f"cannot copy a directory to a file: {dst} is a file in "
                                  f"the container")
        into, name = os.path.dirname(dst.rstrip("/")) or "/", os.path.basename(dst)
    else:
        if dst.endswith("/") and not src_dir:
            raise InvalidArgument(f"no such directory: {dst} in the container")
        into, name = os.path.dirname(dst.rstrip("/")) or "/", os.path.basename(dst.rstrip("/"))
    _pipe_through(lambda w: _tar_local(src, name, w, keep_owner=bool(args.archive)),
                  lambda r: eng.archive_put(ctr, into, r, copy_uid_gid=bool(args.archive)))
    return 0


def _tar_local(src: str, name: str | None, out, *, keep_owner: bool) -> None:
    """A tar of the local ``src`` named ``name`` (None: the directory's contents)."""
    import tarfile

    def owner(ti):
        if not keep_owner:
            ti.uid = ti.gid = 0
            ti.uname = ti.gname = ""
        return ti

    with tarfile.open(fileobj=out, mode="w|", format=tarfile.PAX_FORMAT) as tar:
        if name is None:
            for entry in sorted(os.listdir(src)):
                tar.add(os.path.join(src, entry), arcname=entry, filter=owner)
        else:
            tar.add(src, arcname=name, filter=owner)


# ---- export -------------------------------------------------------------------------------
def cmd_export(eng, args) -> int:
    from ..errors import InvalidArgument
    if args.output:
        with open(args.output, "wb") as f:
            eng.export(args.container, f)
        return 0
    if sys.stdout.isatty():
        raise InvalidArgument("cowardly refusing to write a tar to a terminal: use "
                              "-o FILE or redirect the output")
    eng.export(args.container, sys.stdout.buffer)
    sys.stdout.buffer.flush()
    return 0


def register(cmd, sub) -> None:
    """Add ``glassbox cp`` and ``glassbox export`` (called by :mod:`.parser`)."""
    p = cmd("cp", "Copy files/folders between a container and the local filesystem", cmd_cp)
    p.add_argument("-a", "--archive", action="store_true",
                   help="Archive mode (copy all uid/gid information)")
    p.add_argument("-L", "--follow-link", action="store_true",
                   help="Always follow symbol link in SRC_PATH")
    p.add_argument("-q", "--quiet", action="store_true", help="Suppress progress output")
    p.add_argument("src", metavar="SRC", help="CONTAINER:SRC_PATH, a local path, or - (a tar "
                   "on stdin)")
    p.add_argument("dest", metavar="DEST", help="CONTAINER:DEST_PATH, a local path, or - "
                   "(a tar on stdout)")
    p = cmd("export", "Export a container's filesystem as a tar archive", cmd_export)
    p.add_argument("-o", "--output", help="Write to a file, instead of STDOUT")
    p.add_argument("container")
