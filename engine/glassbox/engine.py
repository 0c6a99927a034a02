"""``Engine``: the one facade every front end uses (CLI, magics, daemon).

It composes the image store, the container manager, and (as they land) the
builder, registry client, volumes and networks, all on one state root
(``GLASSBOX_ROOT``, default ``/var/lib/glassbox``). The same call gives the
same result whichever front end made it.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cached_property

from .containers.options import CreateOptions
from .errors import ContainerExit, InvalidArgument

TYPE_CHECKING = False   # (typing.TYPE_CHECKING without importing typing at CLI start)
if TYPE_CHECKING:
    from .cgroups.stats import Stats
    from typing import Any

DEFAULT_ROOT = "/var/lib/glassbox"


@dataclass(frozen=True)
class LayerInfo:
    """One filesystem layer of an image, as the layer diagram draws it."""

    diff_id: str
    """``sha256:`` of the uncompressed layer tar (the image config's ``rootfs.diff_ids``)."""
    size: int
    """Bytes of the unpacked layer."""
    created_by: str = ""
    """The build instruction that made it (from the config's ``history``)."""


@dataclass
class RunResult:
    """What ``run`` returns: the container id, its exit code and (when captured) output."""

    id: str
    exit_code: int | None
    stdout: bytes = b""
    stderr: bytes = b""
    oom_killed: bool = False


class _Lazy:
    """Stands for an object built on first use (``ps`` never opens the image store)."""

    def __init__(self, make):
        self._make, self._obj = make, None

    def __getattr__(self, name):
        if self._obj is None:
            self._obj = self._make()
        return getattr(self._obj, name)


def _refuse_offline(ref: str) -> None:
    """``GLASSBOX_OFFLINE=1`` (set by the test suite): only registries on this
    machine may be asked, never the internet."""
    if not os.environ.get("GLASSBOX_OFFLINE"):
        return
    from .errors import NotFound
    from .images.reference import parse
    host = parse(ref).domain.split(":")[0]
    if host not in ("localhost", "127.0.0.1", "::1", "[::1]") and not host.startswith("127."):
        raise NotFound(f"Unable to find image '{ref}' locally, and GLASSBOX_OFFLINE is set: "
                       f"not pulling from {parse(ref).domain}")


def _user_root() -> str:
    """A rootless user's own state root, ``~/.local/share/glassbox`` (issue 14)."""
    from .rootless.paths import state_root
    return state_root(create=True)


class ContainerVerbs:
    """The verbs that are one call on a component, shared by :class:`Engine` and
    :class:`~glassbox.daemon.client.RemoteEngine` (each has ``containers`` and
    ``images`` with the same methods: the local stores, or their API clients)."""

    containers: Any
    images: Any

    # ---- containers: one typed method each (what ``docker <verb>`` does) ----
    def ps(self, all: bool = True) -> list:  # noqa: A002 (docker's flag)
        """``glassbox ps``: the containers (running ones only when ``all`` is false),
        each a :class:`~glassbox.containers.manager.Container` read from its state dir."""
        return self.containers.list(all=all)

    def get(self, ref: str):
        """One container by id, id prefix or name (:class:`~glassbox.errors.NotFound`
        otherwise): its ``config`` (Docker's inspect shape), ``status``, ``pid``, ..."""
        return self.containers.get(ref)

    def stop(self, ref: str, timeout: int | None = None) -> None:
        """``glassbox stop``: SIGTERM (or the image's ``StopSignal``), then SIGKILL
        after ``timeout`` seconds (the container's own ``StopTimeout``, else 10)."""
        self.containers.stop(ref, timeout)

    def kill(self, ref: str, sig: str | int | None = None) -> None:
        """``glassbox kill``: send ``sig`` (default SIGKILL) to the container's init."""
        self.containers.kill(ref, sig)

    def restart(self, ref: str, timeout: int | None = None) -> None:
        """``glassbox restart``: stop (with ``timeout``), then start again detached."""
        self.containers.restart(ref, timeout)

    def pause(self, ref: str) -> None:
        """``glassbox pause``: freeze every process of the container's cgroup."""
        self.containers.pause(ref)

    def unpause(self, ref: str) -> None:
        """``glassbox unpause``: thaw the cgroup frozen by :meth:`pause`."""
        self.containers.unpause(ref)

    def remove(self, ref: str, force: bool = False, volumes: bool = False) -> str:
        """``glassbox rm``: delete a stopped container (``force`` kills a running one
        first; ``volumes`` also drops its anonymous volumes). Returns its id."""
        return self.containers.remove(ref, force=force, volumes=volumes)

    def rename(self, ref: str, new: str) -> None:
        """``glassbox rename``: a new name (peers' ``/etc/hosts`` keep the old one
        until they restart, as in Docker)."""
        self.containers.rename(ref, new)

    def wait(self, ref: str, timeout: float | None = None) -> int:
        """``glassbox wait``: block until the container exits, return its exit code."""
        return self.containers.wait(ref, timeout)

    def top(self, ref: str) -> dict:
        """``glassbox top``: ``{"Titles": [...], "Processes": [[...], ...]}``, the
        processes of the container's cgroup as the host sees them."""
        return self.containers.top(ref)

    def stats(self, ref: str) -> Stats | None:
        """One reading of the container's cgroup (:class:`~glassbox.cgroups.stats.Stats`:
        CPU ns, memory, pids, OOM kills), or None when it is not running. CPU % needs
        two readings: :func:`glassbox.cgroups.stats.cpu_percent`."""
        return self.containers.stats(ref)

    def update(self, ref: str, restart=None, **limits) -> dict:
        """``glassbox update``: new limits (``memory``, ``memory_swap``, ``cpus``,
        ``cpu_shares``, ``pids`` — bytes, CPUs, counts; ``cpuset_cpus``/``cpuset_mems``
        — CPU and node lists like ``"0-1"``), written live into the running
        cgroup and into the record; ``restart`` a new restart policy. Returns the
        limits now in force (:class:`~glassbox.cgroups.limits.Limits` as a dict)."""
        return self.containers.update(ref, restart=restart, **limits)

    def logs(self, ref: str, follow: bool = False, tail: int | None = None,
             since: str | None = None) -> Iterator[tuple[str, str, str]]:
        """``glassbox logs``: ``(stream, text, time)`` entries, the last ``tail`` only
        when given, those after ``since`` (an RFC 3339 time) only when given; with
        ``follow`` the generator waits for more until the container stops."""
        return self.containers.logs(ref, follow=follow, tail=tail, since=since)

    def logs_count(self, ref: str) -> int:
        """How many entries ``logs`` would give: where a pager's last page starts."""
        return self.containers.logs_count(ref)

    def container_prune(self) -> list[str]:
        """``glassbox container prune``: remove every stopped container; their ids."""
        return self.containers.prune()

    # ---- images ----
    def image_list(self) -> list:
        """``glassbox images``: every image in the store (id, ``repo_tags``, size, ...)."""
        return self.images.list()

    def image_resolve(self, ref: str):
        """One image by name[:tag], digest or id prefix (NotFound otherwise)."""
        return self.images.resolve(ref)

    def image_history(self, ref: str) -> list[dict]:
        """``glassbox history``: Docker's rows, newest first (Id, Created, CreatedBy,
        Tags, Size, Comment); metadata-only steps are rows of size 0."""
        return self.images.history(ref)

    def tag(self, source: str, target: str) -> None:
        """``glassbox tag``: ``target`` (name[:tag]) now also names ``source``."""
        self.images.tag(source, target)


class Engine(ContainerVerbs):
    def __init__(self, root: str | None = None, *, cgroup_parent: str | None = None):
        self.root = os.path.abspath(root or os.environ.get("GLASSBOX_ROOT") or
                                    (DEFAULT_ROOT if os.geteuid() == 0 else _user_root()))
        self.cgroup_parent = cgroup_parent or os.environ.get("GLASSBOX_CGROUP_PARENT") or \
            "glassbox"
        os.makedirs(self.root, exist_ok=True)
        if not os.access(self.root, os.R_OK | os.W_OK | os.X_OK):   # (root: always true)
            raise InvalidArgument(f"state root {self.root}: permission denied — it belongs to "
                                  "another user; use your own (unset GLASSBOX_ROOT)")

    # ---- composed parts (created on first use: keeps the CLI fast) ----------
    @cached_property
    def images(self):
        from .images.store import ImageStore
        return ImageStore(self.root)

    @cached_property
    def containers(self):
        from .containers.manager import ContainerManager
        return ContainerManager(self.root, _Lazy(lambda: self.images), self.cgroup_parent)

    @cached_property
    def networks(self):
        """Bridge networks, veths, IPAM, published ports (:mod:`glassbox.network`)."""
        from .network import NetworkManager
        return NetworkManager(self.root)

    @cached_property
    def volumes(self):
        """Named volumes (:mod:`glassbox.volumes`)."""
        from .volumes import VolumeManager
        return VolumeManager(self.root)

    @cached_property
    def registry(self):
        """OCI distribution client: pull, push, login (:mod:`glassbox.registry`)."""
        from .registry import RegistryClient
        return RegistryClient(self.images, config_dir=os.environ.get("GLASSBOX_CONFIG"))

    @cached_property
    def builder(self):
        """Dockerfile builds with a layer cache (:mod:`glassbox.build`)."""
        from .build.builder import Builder
        return Builder(self)

    # ---- containers ---------------------------------------------------------
    def ensure_image(self, ref: str, pull: str = "missing", progress=None,
                     platform: str | None = None):
        """``--pull missing|always|never``: have ``ref`` locally, pulling it from its
        registry when asked (Docker's ``Unable to find image ... locally``); ``platform``
        as ``linux/amd64`` picks from a multi-platform index (the host's by default)."""
        from .errors import NotFound
        if pull not in ("missing", "always", "never"):
            raise InvalidArgument(f'invalid pull option: {pull!r}: must be one of '
                                  '"always", "missing", "never"')
        if pull != "always":
            try:
                return self.images.resolve(ref)
            except NotFound:
                if pull == "never" or ref.startswith("sha256:") or \
                        ref.replace("sha256:", "").isalnum() and len(ref) in (12, 64):
                    raise
                if progress:
                    progress({"status": f"Unable to find image '{ref}' locally"})
        _refuse_offline(ref)
        return self.registry.pull(ref, platform=platform, progress=progress)

    def build(self, context, **kw):
        """``glassbox build``: a Dockerfile build with the layer cache; ``context`` is
        a directory or a tar stream, ``kw`` the builder's options (tags, build_args,
        target, no_cache, cache_from, labels, progress, pull, network, extra_hosts,
        dockerfile...: :meth:`glassbox.build.builder.Builder.build`). Returns the image."""
        return self.builder.build(context, **kw)

    def create(self, opts: CreateOptions, progress=None):
        """``glassbox create``: pull the image if needed, then create the container
        (with ``opts.ip``, its fixed address planned on the network: refused, and the
        container removed, when the network cannot give it)."""
        mode = opts.network or "none"
        if opts.ip is not None and (mode in ("none", "host") or mode.startswith("container:")):
            raise InvalidArgument(f"--ip needs --network NAME (a user-defined network), not "
                                  f"--network {mode}")
        self.ensure_image(opts.image, opts.pull, progress)
        c = self.containers.create(opts)
        if opts.ip is not None:
            from .network import attach
            try:
                attach.plan(self.networks, c, c.config["HostConfig"]["NetworkMode"], ip=opts.ip)
            except BaseException:
                self.containers.remove(c.id, force=True)
                raise
        return c

    def start(self, ref: str, attach=(None, None, None)):
        return self.containers.start(ref, attach)

    def run(self, image: str | CreateOptions, command: list[str] | None = None, *,
            detach: bool = False, capture: bool = True, on_output=None,
            attach_fds: tuple | None = None, **options) -> RunResult:
        """Create and start a container, like ``docker run``.

        Detached: returns once the command is running. Attached: returns once it
        exits, with its exit code and, when ``capture`` is true, its stdout and
        stderr (``on_output(stream, bytes)`` is called as output arrives — the
        notebook streams into the cell that way). ``attach_fds=(in, out, err)``
        hands real file descriptors to the container instead (the CLI does).
        A command that cannot start raises :class:`ContainerExit` (126/127).
        """
        opts = image if isinstance(image, CreateOptions) else \
            CreateOptions(image=image, command=command, **options)
        c = self.create(opts)
        if detach:
            try:
                self.containers.start(c.id).detach()
            except ContainerExit:
                if opts.auto_remove:
                    self._forget(c.id)
                raise
            return RunResult(c.id, None)
        if attach_fds is not None:
            try:
                started = self.containers.start(c.id, attach_fds)
            except ContainerExit:
                if opts.auto_remove:
                    self._forget(c.id)
                raise
            msg = started.wait_exit() or {}
            code = msg.get("exit")
            if code is None:
                code = self.containers.wait(c.id) if not opts.auto_remove else 125
            return RunResult(c.id, code, oom_killed=msg.get("oom", False))
        return self._run_captured(c.id, opts, capture, on_output)

    def _forget(self, cid: str) -> None:
        from .errors import NotFound
        try:
            self.containers.remove(cid, force=True)
        except NotFound:
            pass

    def _run_captured(self, cid, opts, capture, on_output) -> RunResult:
        import selectors
        out_r, out_w = os.pipe2(os.O_CLOEXEC)
        err_r, err_w = os.pipe2(os.O_CLOEXEC)
        try:
            started = self.containers.start(cid, (None, out_w, err_w))
        except ContainerExit:
            os.close(out_r)
            os.close(err_r)
            if opts.auto_remove:
                self._forget(cid)
            raise
        finally:
            os.close(out_w)
            os.close(err_w)
        bufs = {"stdout": bytearray(), "stderr": bytearray()}
        sel = selectors.DefaultSelector()
        sel.register(out_r, selectors.EVENT_READ, "stdout")
        sel.register(err_r, selectors.EVENT_READ, "stderr")
        open_fds = 2
        while open_fds:
            for key, _ in sel.select():
                data = os.read(key.fd, 65536)
                if not data:
                    sel.unregister(key.fd)
                    os.close(key.fd)
                    open_fds -= 1
                    continue
                if capture:
                    bufs[key.data] += data
                if on_output:
                    on_output(key.data, data)
        msg = started.wait_exit() or {}
        return RunResult(cid, msg.get("exit"), bytes(bufs["stdout"]), bytes(bufs["stderr"]),
                         msg.get("oom", False))

    def stats_stream(self, ref: str, interval: float = 1.0) -> Iterator[Stats]:
        """``glassbox stats`` without ``--no-stream``: a reading every ``interval``
        seconds while the container runs; ends once it has stopped."""
        import time
        while True:
            st = self.stats(ref)
            if st is None:
                return
            yield st
            time.sleep(interval)

    def removed_exit_codes(self) -> dict[str, int]:
        """``{id: exit code}`` of the containers removed in the last couple of minutes:
        an event watcher that saw one running and then gone (``run --rm`` between two
        looks) still reports its ``die`` with the right code."""
        from .containers.state import removed_exit_codes
        return removed_exit_codes(self.containers.dir)

    # ---- images ---------------------------------------------------------------
    def image_layers(self, ref: str) -> list[LayerInfo]:
        """The image's filesystem layers, base first, each with its unpacked size and
        the instruction that made it (``created_by``): what the layer diagram draws.

        The config's ``history`` has one entry per build step; those marked
        ``empty_layer`` (ENV, CMD, ...) made no layer, the others made one each, in
        order — so the n-th non-empty entry names the n-th layer."""
        from .errors import NotFound
        img = self.images.resolve(ref)
        made = [h for h in (img.config.get("history") or []) if not h.get("empty_layer")]
        out = []
        for i, layer in enumerate(img.layers):
            try:
                size = int(self.images.layer_meta(layer.diff_id).get("size") or 0)
            except NotFound:
                size = layer.size
            out.append(LayerInfo(layer.diff_id, size,
                                 made[i].get("created_by", "") if i < len(made) else ""))
        return out

    def image_remove(self, ref: str, force: bool = False) -> list[dict]:
        """``glassbox rmi``: untag, and delete the image (and untagged parents) once no
        name is left, like Docker; refuses an image a container uses unless ``force``.
        Returns Docker's ``[{"Untagged": ...}, {"Deleted": ...}]`` rows."""
        from .images.graph import remove_with_parents
        return list(remove_with_parents(self.images, ref, force=force,
                                        in_use=self._image_in_use))

    def _image_in_use(self, image_id: str) -> bool:
        """Is ``image_id`` some container's image? (Docker will not delete it then.)"""
        return any(c.config.get("Image") == image_id for c in self.containers.list())

    def image_prune(self, all: bool = False) -> list[str]:  # noqa: A002 (docker's flag)
        """``glassbox image prune [-a]``: delete the dangling images (untagged), or with
        ``all`` every image no container uses; returns the deleted ids."""
        return self.images.prune(all=all, in_use=self._image_in_use)

    def image_save(self, refs: list[str], out, format: str = "docker") -> None:  # noqa: A002
        """``glassbox save``: the images ``refs`` name as one tar written to the binary
        file ``out`` (it may be a pipe): a docker-archive, or an OCI layout with
        ``format="oci"`` (:mod:`glassbox.images.archive`)."""
        from .images.archive import save
        save(self.images, list(refs), out, format=format)

    def image_import(self, src, reference: str | None = None, changes=(),
                     message: str = "") -> str:
        """``glassbox import``: the root filesystem tar read from the binary file ``src``
        (plain, gzip or zstd; it may be a pipe) becomes a one-layer image, named
        ``reference`` when given; ``changes`` are Dockerfile instructions for its
        config (``CMD ["sh"]``). Returns the new image's id."""
        return self.images.import_tarball(src, reference, list(changes), message).id

    def image_load(self, src) -> list[str]:
        """``glassbox load``: the images of a docker-archive or OCI-layout tar read from
        the binary file ``src`` into the store. Returns what was loaded, as Docker
        names it: each tag (``busybox:latest``), or the id of an image that came
        untagged (``sha256:...``)."""
        from .images.archive import load
        return [tag for img in load(self.images, src) for tag in img.repo_tags or [img.id]]

    def pull(self, ref: str, progress=None, platform: str | None = None):
        """``glassbox pull``: fetch ``ref`` from its registry (``progress(event)`` is
        called with Docker's JSON progress lines; ``platform`` as ``linux/amd64``
        picks from a multi-platform index, the host's by default). Returns the image."""
        return self.ensure_image(ref, "always", progress, platform=platform)

    def distribution(self, ref: str) -> dict:
        """What the registry says ``ref`` is, without pulling it (the daemon's
        ``GET /distribution/{name}/json``): ``{"Descriptor": {mediaType, digest,
        size}, "Platforms": [...]}``. An index lists its platforms; a single
        manifest's one platform is read from its image config. Nothing is stored."""
        from .images import manifest as mf
        from .safejson import loads_json
        _refuse_offline(ref)
        desc = self.registry.manifest_descriptor(ref)
        body, digest, doc = desc["body"], desc["digest"], desc["doc"]
        if mf.is_index(doc):
            media = doc.get("mediaType") or mf.OCI_INDEX
            platforms = [m["platform"] for m in doc.get("manifests") or []
                         if isinstance(m, dict) and isinstance(m.get("platform"), dict)]
        else:
            media = doc.get("mediaType") or mf.OCI_MANIFEST
            cdesc = doc.get("config") or {}
            if not isinstance(cdesc, dict) or not cdesc.get("digest"):
                from .errors import GlassboxError
                raise GlassboxError(f"the manifest of {ref} has no config descriptor")
            cfg = loads_json(desc["blob"](cdesc["digest"], cdesc.get("size")), "the image config")
            plat = {"architecture": cfg.get("architecture", ""), "os": cfg.get("os", "")}
            for k in ("variant", "os.version"):
                if cfg.get(k):
                    plat[k] = cfg[k]
            platforms = [plat]
        return {"Descriptor": {"mediaType": media, "digest": digest, "size": len(body)},
                "Platforms": platforms}

    def push(self, ref: str, progress=None) -> str:
        """``glassbox push``: upload ``ref``'s blobs and manifest; returns its digest."""
        return self.registry.push(ref, progress=progress)

    def login(self, registry: str, username: str, password: str) -> str:
        """``glassbox login``: check the credentials with ``registry`` and keep them
        in the config dir (``GLASSBOX_CONFIG``); returns the registry's answer."""
        return self.registry.login(registry, username, password)

    def logout(self, registry: str) -> bool:
        """``glassbox logout``: forget ``registry``'s credentials (False: none kept)."""
        return self.registry.logout(registry)

    # ---- volumes and networks: the records front ends list ------------------
    def volume_list(self, filters: dict | None = None) -> list[dict]:
        """``glassbox volume ls``: Docker's volume documents (Name, Driver, Mountpoint, ...);
        ``filters`` as ``volume ls -f`` (``{"name": [...], "label": [...], "dangling":
        ["true"]}``)."""
        return self.volumes.list(filters)

    def volume_create(self, name: str | None = None, *, labels: dict | None = None,
                      driver: str = "local", options: dict | None = None) -> dict:
        """``glassbox volume create``: a new empty volume (a random 64-hex name without
        ``name``), or the existing one of that name unchanged, as Docker answers."""
        return self.volumes.create(name, labels=labels, driver=driver, options=options)

    def volume_inspect(self, name: str) -> dict:
        """``glassbox volume inspect``: the volume's document (NotFound otherwise)."""
        return self.volumes.get(name)

    def volume_remove(self, name: str, force: bool = False) -> None:
        """``glassbox volume rm``: refused while a container uses it (even with ``force``,
        as Docker); ``force`` only hides "no such volume"."""
        self.volumes.remove(name, force=force)

    def volume_prune(self, all: bool = False,  # noqa: A002 (docker's flag)
                     filters: dict | None = None) -> dict:
        """``glassbox volume prune``: remove the unused anonymous volumes (``all``: named
        ones too). Docker's answer: ``{"VolumesDeleted": [names], "SpaceReclaimed":
        bytes}`` (the sizes are measured before they go)."""
        sizes = {v["Name"]: self.volumes.size(v["Name"]) for v in self.volumes.list()}
        removed = self.volumes.prune(all=all, filters=filters)
        return {"VolumesDeleted": removed,
                "SpaceReclaimed": sum(sizes.get(n, 0) for n in removed)}

    def volume_users(self, name: str) -> list[str]:
        """Ids of the containers that mount volume ``name``."""
        return list(self.volumes.users(name))

    def network_create(self, name: str, *, subnet: str | None = None,
                       gateway: str | None = None, driver: str = "bridge",
                       internal: bool = False, labels: dict | None = None) -> str:
        """``network create``: a bridge with its own subnet (chosen from the pool
        unless given); returns the network's id."""
        return self.networks.create(name, subnet=subnet, gateway=gateway, driver=driver,
                                    internal=internal, labels=labels).id

    def network_remove(self, ref: str) -> None:
        """``network rm``: refused while a container is attached (Docker's 403)."""
        from .errors import Conflict
        from .network.docs import PREDEFINED
        if ref in PREDEFINED:
            raise Conflict(f"{ref} is a pre-defined network and cannot be removed")
        self.networks.remove(ref)

    def network_prune(self) -> list[str]:
        """``network prune``: the user networks no container uses, removed; their names."""
        return list(self.networks.prune())

    def network_list(self) -> list:
        """``glassbox network ls``: the bridge networks, each with its endpoints."""
        return self.networks.list()

    def image_inspect(self, ref: str) -> dict:
        """Docker's ``image inspect`` document."""
        img = self.images.resolve(ref)
        cfg = img.config or {}
        return {"Id": img.id, "RepoTags": list(img.repo_tags),
                "RepoDigests": list(getattr(img, "repo_digests", ()) or ()),
                "Created": cfg.get("created", img.created), "Author": cfg.get("author", ""),
                "Comment": ((cfg.get("history") or [{}])[-1] or {}).get("comment", ""),
                "Config": cfg.get("config") or {}, "Architecture": cfg.get("architecture"),
                "Os": cfg.get("os"), "Size": img.size,
                "GraphDriver": {"Name": "overlay",
                                "Data": {"LowerDir": ":".join(reversed(img.layer_dirs))}},
                "RootFS": {"Type": "layers", "Layers": [l.diff_id for l in img.layers]},
                "Descriptor": {"digest": img.manifest_digest},
                "Metadata": {"LastTagTime": img.created}}

    def rw_size(self, ref: str) -> int:
        """The bytes of the files in the container's read/write layer (the overlay's
        ``upperdir``): what it wrote, Docker's ``SizeRw``."""
        from .containers.diff import upper_size
        return upper_size(self.containers.get(ref).config["Spec"]["upper_dir"])

    def diff(self, ref: str) -> list[tuple[str, str]]:
        """``glassbox diff``: A/C/D lines from the container's read/write layer."""
        from .containers.diff import changes
        c = self.containers.get(ref)
        spec = c.config["Spec"]
        return changes(spec["upper_dir"], spec["lower_dirs"])

    # ---- cp / export: paths resolved inside the container's root (containers.archive)
    def archive_stat(self, ref: str, path: str) -> dict:
        """``HEAD /containers/{id}/archive``: Docker's stat document of a container path."""
        from .containers import archive
        return archive.run(self.containers.get(ref), "stat", path)

    def archive_get(self, ref: str, path: str, out) -> None:
        """A tar of a container path to the binary file ``out`` (``cp ctr:path``)."""
        from .containers import archive
        archive.run(self.containers.get(ref), "get", path, out=out)

    def archive_put(self, ref: str, path: str, src, *, no_overwrite_dir_non_dir: bool = False,
                    copy_uid_gid: bool = False) -> int:
        """Unpack the tar read from ``src`` into the container directory ``path``."""
        from .containers import archive
        return archive.run(self.containers.get(ref), "put", path, src=src,
                           no_overwrite=no_overwrite_dir_non_dir, copy_uid_gid=copy_uid_gid)

    def export(self, ref: str, out) -> None:
        """``export``: the container's whole filesystem as a tar to ``out``."""
        from .containers import archive
        archive.run(self.containers.get(ref), "export", out=out)

    def commit(self, ref: str, target: str | None = None, *, message: str = "",
               author: str = "", changes=(), pause: bool = True):
        """Turn a container's read/write layer into a new image version: the
        base image's layers plus one new layer, and its config with ``changes``."""
        import copy
        from .containers.manager import now_iso
        from .images.changes import apply_changes
        c = self.containers.get(ref)
        base = self.images.resolve(c.config["Image"])
        frozen = False
        if pause and c.status == "running":
            self.containers._cgroup(c).freeze()
            frozen = True
        try:
            layer = self.images.create_layer(c.config["Spec"]["upper_dir"])
        finally:
            if frozen:
                self.containers._cgroup(c).thaw()
        config = copy.deepcopy(base.config)
        cc = dict(config.get("config") or {})
        run_cfg = c.config["Config"]
        cc.update({k: v for k, v in {"Env": run_cfg.get("Env"), "Cmd": run_cfg.get("Cmd"),
                                     "Entrypoint": run_cfg.get("Entrypoint"),
                                     "WorkingDir": run_cfg.get("WorkingDir"),
                                     "User": run_cfg.get("User") or None}.items()
                   if v is not None})
        config["config"] = cc
        config = apply_changes(config, list(changes))
        now = now_iso()
        config["created"] = now
        if author:
            config["author"] = author
        config.setdefault("rootfs", {"type": "layers", "diff_ids": []})
        config["rootfs"]["diff_ids"] = list(base.diff_ids) + [layer.diff_id]
        argv = " ".join([c.config["Path"]] + c.config["Args"])
        config["history"] = list(config.get("history") or []) + [
            {"created": now, "created_by": argv, "comment": message,
             **({"author": author} if author else {})}]
        return self.images.put_image(config, list(base.layers) + [layer],
                                     [target] if target else [])

    # ---- system ---------------------------------------------------------------
    def system_df(self) -> dict:
        from .containers.diff import upper_size
        du = self.images.disk_usage()
        containers = self.containers.list()
        used_images = {c.config["Image"] for c in containers}
        img_rows = du.get("images", [])
        size = du.get("layers_size", sum(r["size"] for r in img_rows))
        reclaim = sum(r["unique_size"] for r in img_rows if r["id"] not in used_images)
        c_size = c_reclaim = 0
        for c in containers:
            rw = upper_size(c.config["Spec"]["upper_dir"])
            c_size += rw
            if not c.running:      # what `container prune` would give back, as Docker says
                c_reclaim += rw
        layers = []
        for row in du.get("layers", []):
            layers.append({"DiffID": row.get("diff_id", ""), "Size": row.get("size", 0),
                           "Images": row.get("images", [])})
        return {"Summary": [
            {"Type": "Images", "TotalCount": len(img_rows),
             "Active": len([r for r in img_rows if r["id"] in used_images]), "Size": size,
             "Reclaimable": reclaim},
            {"Type": "Containers", "TotalCount": len(containers),
             "Active": len([c for c in containers if c.running]), "Size": c_size,
             "Reclaimable": c_reclaim}],
            "Images": img_rows, "Layers": layers}

    def system_check(self) -> dict:
        """Find and repair what a crash left: trash, half-created containers,
        orphan blobs/layers and partial writes in the image store."""
        import shutil
        report = {}
        cdir = self.containers.dir
        trash = os.path.join(cdir, ".trash")
        n = 0
        if os.path.isdir(trash):
            for entry in os.listdir(trash):
                shutil.rmtree(os.path.join(trash, entry), ignore_errors=True)
                if os.geteuid() != 0 and os.path.lexists(os.path.join(trash, entry)):
                    from .rootless.cleanup import remove_tree   # subordinate ids' files
                    remove_tree(os.path.join(trash, entry))
                n += 1
        from .containers.state import TRASH_PREFIX
        for entry in os.listdir(cdir):
            if entry.startswith((".new-", TRASH_PREFIX)):
                shutil.rmtree(os.path.join(cdir, entry), ignore_errors=True)
                n += 1
        report["containers_cleaned"] = n
        report["images"] = self.images.gc()
        vols = self.volumes
        if hasattr(vols, "empty_trash"):
            report["volumes"] = vols.empty_trash()
        build_tmp = os.path.join(self.root, "build-tmp")
        if os.path.isdir(build_tmp):
            for entry in os.listdir(build_tmp):
                shutil.rmtree(os.path.join(build_tmp, entry), ignore_errors=True)
        if os.path.isdir(os.path.join(self.root, "networks")):
            report["networks"] = self.networks.check()
        return report

    def info(self) -> dict:
        """``glassbox info``: counts, the kernel's facts, the security options
        (seccomp) and, for an ordinary user, what rootless glassbox can do here
        (:mod:`glassbox.rootless.features`: user namespaces, id map, cgroups)."""
        from .cgroups import detect_version
        from .seccomp import host_security_options
        import platform
        cs = self.containers.list()
        info = {"Containers": len(cs), "Running": len([c for c in cs if c.running]),
                "Stopped": len([c for c in cs if not c.running]),
                "Images": len(self.images.list()), "Storage Driver": "overlay",
                "Cgroup Version": detect_version(), "Kernel Version": platform.release(),
                "Operating System": "linux", "Architecture": platform.machine(),
                "CPUs": os.cpu_count(), "Docker Root Dir": self.root,
                "Security Options": " ".join(host_security_options())}
        if os.geteuid() != 0:                                        # issue 14
            from .rootless.features import detect
            info.update(detect(self.containers.cgroup_parent).rows())
        return info

    # ---- networks: connect/disconnect is one operation for every front end ---
    def network_connect(self, network: str, container: str, *, aliases=(),
                        ip: str | None = None, mac: str | None = None, links=()) -> None:
        """``network connect``: a live endpoint now if the container runs, and in its
        plan either way (a created container is wired at its start); the record,
        ``inspect`` and every peer's ``/etc/hosts`` follow. ``mac`` fixes the
        endpoint's MAC address, ``links`` (``name:alias``) are legacy links."""
        from .network import attach
        attach.connect(self.networks, self.containers.get(container), network,
                       aliases=list(aliases or ()), ip=ip, mac=mac, links=list(links or ()))

    def network_disconnect(self, network: str, container: str, *, force: bool = False) -> None:
        """``network disconnect``; ``force`` also drops the stale endpoint of a
        container that no longer exists."""
        from .errors import NotFound
        from .network import attach
        try:
            c = self.containers.get(container)
        except NotFound:
            if not force:
                raise
            net = self.networks.inspect(network)
            found = [cid for cid, ep in net.endpoints.items()
                     if cid.startswith(container) or ep.name == container]
            if len(found) != 1:
                raise
            self.networks.disconnect(net.id, found[0])
            from .runtime.shim import refresh_hosts
            refresh_hosts(self.networks.root, net.name)
            return
        attach.disconnect(self.networks, c, network)

    def open_stdin(self, ref: str) -> int | None:
        """A write fd on the stdin of the running container ``ref`` (opened with
        ``-i``): what is written reaches its process — without a TTY its stdin
        itself, with one its terminal, as if typed (the monitor copies it into the
        pty). ``glassbox attach`` and the daemon's attach pump a client's input into
        it. ``None`` when the container has no stdin to write to. The caller owns
        and closes the fd; closing it is no end of input (a later attach types on)."""
        from .containers.stdin import open_for_writer
        return open_for_writer(self.containers.get(ref).dir)

    def resize(self, ref: str, rows: int, cols: int) -> None:
        """``docker container resize``: size the running TTY container's terminal
        (an attach sets it to the attaching terminal's; the program gets SIGWINCH).
        Nothing happens for a container without a TTY, or one not running."""
        c = self.containers.get(ref)
        if c.running and c.config["Config"].get("Tty"):
            from .containers.stdin import set_winsize
            set_winsize(c.pid, rows, cols)

    def exec(self, ref: str, argv: list[str], **kw) -> int:
        from .runtime.exec import exec_in
        c = self.containers.get(ref)
        return exec_in(c, argv, **kw)
