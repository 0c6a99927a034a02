"""``RemoteEngine``: the glassbox CLI as a client of a daemon (``glassbox -H``).

``glassbox -H unix:///run/glassbox.sock ps`` runs the same command code as the
daemonless CLI, but on an object that speaks the Docker Engine API over the
socket (``http.client`` on an ``AF_UNIX`` socket; nothing else needed) instead
of an :class:`~glassbox.engine.Engine` on a local state root. It has the part
of the Engine's surface those commands use — ``ps``, ``images``, ``run``
(detached or attached, ``-i`` and ``-it`` with the detach keys included), ``stop``, ``rm``, ``logs``, ``inspect``,
``start``, ``kill``, ``wait``, ``tag``, ``rmi``, ``image prune``, ``save``, ``load``,
``import``; anything else raises a
:class:`~glassbox.errors.GlassboxError` saying it is not supported over -H yet.
"""

from __future__ import annotations

import http.client
import json
import os
import socket
import time
import urllib.parse

from ..engine import ContainerVerbs
from ..errors import Conflict, GlassboxError, InvalidArgument, NotFound

API = "/v1.43"


class _UnixConnection(http.client.HTTPConnection):
    def __init__(self, path: str, timeout: float | None = None):
        super().__init__("localhost", timeout=timeout)
        self.path = path

    def connect(self):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        if self.timeout is not None:
            s.settimeout(self.timeout)
        try:
            s.connect(self.path)
        except OSError as e:
            s.close()
            raise GlassboxError(f"cannot connect to the glassbox daemon at unix://{self.path}: "
                                f"{e.strerror or e}. Is `glassbox daemon` running?") from None
        self.sock = s


def socket_path(host: str) -> str:
    if host.startswith("unix://"):
        return host[len("unix://"):]
    if "://" in host:
        raise InvalidArgument(f"unsupported host {host!r}: only unix:///path sockets are "
                              "supported")
    return host


def _error(status: int, body: bytes) -> GlassboxError:
    try:
        msg = json.loads(body).get("message") or body.decode(errors="replace")
    except (ValueError, AttributeError):
        msg = body.decode(errors="replace").strip() or f"HTTP {status}"
    cls = {404: NotFound, 409: Conflict, 400: InvalidArgument}.get(status, GlassboxError)
    return cls(msg)


def _iso(epoch: int) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(epoch or 0))


class Client:
    """A tiny Docker Engine API client."""

    def __init__(self, host: str):
        self.path = socket_path(host)

    def request(self, method: str, url: str, query: dict | None = None, body=None,
                headers: dict | None = None, stream: bool = False, timeout=None):
        conn = _UnixConnection(self.path, timeout=timeout)
        q = ""
        if query:
            q = "?" + urllib.parse.urlencode({k: v for k, v in query.items() if v is not None},
                                             doseq=True)
        hdrs = dict(headers or {})
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            hdrs["Content-Type"] = "application/json"
        try:
            conn.request(method, API + url + q, body=data, headers=hdrs)
            resp = conn.getresponse()
        except (OSError, http.client.HTTPException) as e:
            conn.close()
            if isinstance(e, GlassboxError):
                raise
            raise GlassboxError(f"the daemon at unix://{self.path} did not answer: {e}") \
                from None
        if resp.status >= 400:
            err = _error(resp.status, resp.read())
            conn.close()
            raise err
        if stream:
            return conn, resp
        out = resp.read()
        conn.close()
        if not out:
            return None
        try:
            return json.loads(out)
        except ValueError:
            return out

    def hijack(self, url: str, query: dict) -> socket.socket:
        """POST with ``Upgrade: tcp``; return the raw socket after the 101 answer."""
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.connect(self.path)
        q = urllib.parse.urlencode(query)
        s.sendall(f"POST {API}{url}?{q} HTTP/1.1\r\nHost: localhost\r\nContent-Length: 0\r\n"
                  "Connection: Upgrade\r\nUpgrade: tcp\r\n\r\n".encode())
        head = b""
        while b"\r\n\r\n" not in head:
            chunk = s.recv(1)
            if not chunk:
                raise GlassboxError("the daemon closed the attach connection")
            head += chunk
        status = int(head.split(b" ", 2)[1])
        if status >= 400:
            rest = s.recv(65536)
            s.close()
            raise _error(status, rest.split(b"\r\n\r\n", 1)[-1])
        return s


class RemoteContainer:
    """A container as the daemon describes it (``GET /containers/{id}/json``)."""

    def __init__(self, doc: dict):
        self.doc = doc
        self.id = doc["Id"]
        self.config = doc
        self.state = doc.get("State") or {}
        self.dir = ""

    name = property(lambda self: self.doc.get("Name", "").lstrip("/"))
    status = property(lambda self: self.state.get("Status", "created"))
    running = property(lambda self: self.status in ("running", "paused"))
    pid = property(lambda self: self.state.get("Pid", 0))
    exit_code = property(lambda self: self.state.get("ExitCode", 0))

    def inspect(self) -> dict:
        return self.doc


class RemoteImage:
    def __init__(self, row: dict):
        self.id = row["Id"]
        self.repo_tags = tuple(row.get("RepoTags") or ())
        self.repo_digests = tuple(row.get("RepoDigests") or ())
        self.manifest_digest = (self.repo_digests[0].split("@", 1)[-1]
                                if self.repo_digests else "")
        self.created = _iso(row.get("Created", 0))
        self.size = row.get("Size", 0)
        self.short_id = self.id.split(":", 1)[-1][:12]
        # not in the list answer: an untagged build step is then listed like any image
        self.config: dict = {}
        self.diff_ids: tuple = ()


class _RemoteStarted:
    """What ``containers.start`` returns when the output is attached to local fds."""

    def __init__(self, api: Client, cid: str, pump, waiting):
        self.api, self.id, self.pump, self.pid = api, cid, pump, 0
        self.waiting = waiting  # (conn, resp) of a wait request made before start
        self.reader = None

    def wait_exit(self):
        if self.pump is not None:
            self.pump.join()
        if self.waiting is None:
            return {}
        conn, resp = self.waiting
        try:
            doc = json.loads(resp.read() or b"{}")
        except ValueError:
            doc = {}
        finally:
            conn.close()
        return {"exit": doc.get("StatusCode")}

    def detach(self):
        pass


class RemoteContainers:
    def __init__(self, api: Client):
        self.api = api

    def list(self, all: bool = True):  # noqa: A002 (the Engine's name)
        rows = self.api.request("GET", "/containers/json", {"all": "1" if all else "0"}) or []
        out = []
        for r in rows:
            try:
                out.append(self.get(r["Id"]))
            except NotFound:
                continue  # removed meanwhile
        return out

    def get(self, ref: str) -> RemoteContainer:
        return RemoteContainer(self.api.request("GET", f"/containers/{_q(ref)}/json"))

    def create(self, opts):
        from .translate import create_body
        opts.env = [e if "=" in e else f"{e}={os.environ[e]}" for e in opts.env
                    if "=" in e or e in os.environ]
        body, name = create_body(opts)
        doc = self.api.request("POST", "/containers/create", {"name": name}, body)
        return self.get(doc["Id"])

    def start(self, ref: str, attach=(None, None, None)):
        c = self.get(ref)
        pump = waiting = None
        if any(fd is not None for fd in attach[1:]):
            auto_rm = bool((c.doc.get("HostConfig") or {}).get("AutoRemove"))
            waiting = self.api.request("POST", f"/containers/{c.id}/wait",
                                       {"condition": "removed" if auto_rm else "next-exit"},
                                       stream=True)
            query = {"stream": 1, "stdout": 1, "stderr": 1}
            if attach[0] is not None:
                query["stdin"] = 1
            sock = self.api.hijack(f"/containers/{c.id}/attach", query)
            import threading
            tty = bool((c.doc.get("Config") or {}).get("Tty"))
            # our own copies of the fds: the caller may close its own once started,
            # as it does after handing them to a local shim
            in_fd, out_fd, err_fd = (None if fd is None else os.dup(fd) for fd in attach)
            pump = threading.Thread(target=_demux, args=(sock, out_fd, err_fd, tty),
                                    daemon=True)
            pump.start()
            if in_fd is not None:       # -i: our input goes up the same connection
                threading.Thread(target=_feed, args=(sock, in_fd), daemon=True).start()
        self.api.request("POST", f"/containers/{c.id}/start")
        return _RemoteStarted(self.api, c.id, pump, waiting)

    def stop(self, ref, timeout=None):
        self.api.request("POST", f"/containers/{_q(ref)}/stop", {"t": timeout})

    def restart(self, ref, timeout=None):
        self.api.request("POST", f"/containers/{_q(ref)}/restart", {"t": timeout})

    def kill(self, ref, sig=None):
        self.api.request("POST", f"/containers/{_q(ref)}/kill",
                         {"signal": str(sig) if sig is not None else None})

    def remove(self, ref, force=False, volumes=False, hooks=None):
        cid = self.get(ref).id                  # the Engine returns the id, not the ref
        self.api.request("DELETE", f"/containers/{cid}",
                         {"force": "1" if force else "0", "v": "1" if volumes else "0"})
        return cid

    def wait(self, ref, timeout=None):
        doc = self.api.request("POST", f"/containers/{_q(ref)}/wait")
        return (doc or {}).get("StatusCode", 0)

    def pause(self, ref):
        self.api.request("POST", f"/containers/{_q(ref)}/pause")

    def unpause(self, ref):
        self.api.request("POST", f"/containers/{_q(ref)}/unpause")

    def rename(self, ref, new):
        self.api.request("POST", f"/containers/{_q(ref)}/rename", {"name": new})

    def top(self, ref):
        return self.api.request("GET", f"/containers/{_q(ref)}/top")

    def prune(self, hooks=None):
        return (self.api.request("POST", "/containers/prune") or {}).get(
            "ContainersDeleted") or []

    def logs_count(self, ref) -> int:
        """The API has no count: the log is streamed once and its entries counted."""
        return sum(1 for _ in self.logs(ref))

    def logs(self, ref, follow=False, tail=None, since=None):
        c = self.get(ref)
        tty = bool((c.doc.get("Config") or {}).get("Tty"))
        conn, resp = self.api.request(
            "GET", f"/containers/{c.id}/logs",
            {"stdout": 1, "stderr": 1, "timestamps": 1, "follow": 1 if follow else 0,
             "tail": "all" if tail is None else tail, "since": since}, stream=True)
        try:
            buf = b""
            while True:
                chunk = resp.read1(65536) if hasattr(resp, "read1") else resp.read(65536)
                if not chunk:
                    break
                buf += chunk
                while True:
                    if tty:
                        if b"\n" not in buf:
                            break
                        line, buf = buf.split(b"\n", 1)
                        yield _split_ts("stdout", line + b"\n")
                        continue
                    if len(buf) < 8:
                        break
                    n = int.from_bytes(buf[4:8], "big")
                    if len(buf) < 8 + n:
                        break
                    stream = "stderr" if buf[0] == 2 else "stdout"
                    payload, buf = buf[8:8 + n], buf[8 + n:]
                    yield _split_ts(stream, payload)
            if buf and tty:
                yield _split_ts("stdout", buf)
        finally:
            conn.close()

    def stats(self, ref):
        c = self.get(ref)
        if not c.running:
            return None
        return _stats(self.api.request("GET", f"/containers/{c.id}/stats",
                                       {"stream": "0", "one-shot": "1"}), c)

    def stats_stream(self, ref):
        c = self.get(ref)
        if not c.running:
            return
        conn, resp = self.api.request("GET", f"/containers/{c.id}/stats", {"stream": "1"},
                                      stream=True)
        try:
            for line in resp:
                if not line.strip():
                    continue
                st = _stats(json.loads(line), c)
                if st is None:
                    return
                yield st
        finally:
            conn.close()

    def update(self, ref, restart=None, **limits):
        """``POST /containers/{id}/update`` with the Engine's keywords in Docker's
        names; the limits in force after it, read back from ``inspect``."""
        body = {"Memory": limits.get("memory"), "MemorySwap": limits.get("memory_swap"),
                "NanoCpus": int(limits["cpus"] * 1e9) if limits.get("cpus") else None,
                "CpuShares": limits.get("cpu_shares"), "PidsLimit": limits.get("pids"),
                "CpusetCpus": limits.get("cpuset_cpus"), "CpusetMems": limits.get("cpuset_mems")}
        body = {k: v for k, v in body.items() if v is not None}
        if restart is not None:
            from ..containers.restart import RestartPolicy, parse
            policy = restart if isinstance(restart, RestartPolicy) else parse(restart)
            body["RestartPolicy"] = policy.to_json()
        self.api.request("POST", f"/containers/{_q(ref)}/update", body=body)
        doc = self.get(ref).doc
        if doc.get("Limits"):
            return dict(doc["Limits"])
        hc = doc.get("HostConfig") or {}
        return {"memory": hc.get("Memory") or None, "memory_swap": hc.get("MemorySwap") or None,
                "cpus": (hc.get("NanoCpus") or 0) / 1e9 or None,
                "cpu_shares": hc.get("CpuShares") or None, "pids": hc.get("PidsLimit") or None,
                "cpuset_cpus": hc.get("CpusetCpus") or None,
                "cpuset_mems": hc.get("CpusetMems") or None}


def _stats(doc: dict, c: RemoteContainer):
    """Docker's stats JSON back into :class:`~glassbox.cgroups.stats.Stats`. The
    daemon reports an unlimited memory as the host's RAM; the container's own
    ``HostConfig.Memory`` (0: none) says which it is."""
    from ..cgroups.stats import Stats
    mem = doc.get("memory_stats") or {}
    if not mem:
        return None                                   # stopped meanwhile
    cpu = doc.get("cpu_stats") or {}
    pids = doc.get("pids_stats") or {}
    limit = (c.doc.get("HostConfig") or {}).get("Memory") or None
    read = doc.get("read") or ""
    try:
        from datetime import datetime
        ts = datetime.fromisoformat(read.replace("Z", "+00:00")).timestamp()
    except ValueError:
        ts = time.time()
    return Stats(cpu_usage_ns=int((cpu.get("cpu_usage") or {}).get("total_usage") or 0),
                 memory_usage=int(mem.get("usage") or 0),
                 memory_limit=mem.get("limit") if limit else None,
                 memory_max_usage=mem.get("max_usage") or None,
                 pids_current=int(pids.get("current") or 0), pids_limit=pids.get("limit"),
                 oom_kills=int((mem.get("stats") or {}).get("oom_kill") or 0),
                 cpu_throttled_ns=(cpu.get("throttling_data") or {}).get("throttled_time"),
                 timestamp=ts)


def _split_ts(stream: str, payload: bytes):
    text = payload.decode(errors="replace")
    ts, sep, rest = text.partition(" ")
    return (stream, rest, ts) if sep else (stream, text, "")


def _demux(sock: socket.socket, out_fd, err_fd, tty: bool) -> None:
    buf = b""
    try:
        while True:
            chunk = sock.recv(65536)
            if not chunk:
                return
            if tty:
                if out_fd is not None:
                    os.write(out_fd, chunk)
                continue
            buf += chunk
            while len(buf) >= 8:
                n = int.from_bytes(buf[4:8], "big")
                if len(buf) < 8 + n:
                    break
                fd = err_fd if buf[0] == 2 else out_fd
                if fd is not None:
                    os.write(fd, buf[8:8 + n])
                buf = buf[8 + n:]
    except OSError:
        return
    finally:
        sock.close()
        for fd in {out_fd, err_fd} - {None}:
            os.close(fd)


def _feed(sock: socket.socket, in_fd: int) -> None:
    """Copy ``in_fd`` up an attach connection; at its end, half-close the
    connection's write side: the daemon takes that as the end of the container's
    input (what a closed stdin is to a local ``run -i``)."""
    try:
        while True:
            chunk = os.read(in_fd, 65536)
            if not chunk:
                break
            sock.sendall(chunk)
        sock.shutdown(socket.SHUT_WR)
    except OSError:
        return
    finally:
        os.close(in_fd)


def _q(ref: str) -> str:
    return urllib.parse.quote(str(ref), safe="")


class RemoteImages:
    def __init__(self, api: Client):
        self.api = api

    def list(self):
        return [RemoteImage(r) for r in self.api.request("GET", "/images/json") or []]

    def resolve(self, ref):
        doc = self.api.request("GET", f"/images/{ref}/json")
        return RemoteImage({"Id": doc["Id"], "RepoTags": doc.get("RepoTags"),
                            "RepoDigests": doc.get("RepoDigests"), "Size": doc.get("Size", 0)})

    def exists(self, ref) -> bool:
        try:
            self.resolve(ref)
            return True
        except NotFound:
            return False

    def tag(self, source, target):
        repo, tag = target, None
        last = target.rsplit("/", 1)[-1]
        if ":" in last:
            repo, tag = target.rsplit(":", 1)
        self.api.request("POST", f"/images/{source}/tag", {"repo": repo, "tag": tag})

    def remove(self, ref, force=False, in_use=None):
        return self.api.request("DELETE", f"/images/{ref}",
                                {"force": "1" if force else "0"}) or []

    def history(self, ref):
        return self.api.request("GET", f"/images/{ref}/history") or []


class RemoteEngine(ContainerVerbs):
    """The Engine surface the CLI commands use, over the Docker Engine API."""

    remote = True

    def __init__(self, host: str):
        self.host = host
        self.api = Client(host)
        self.containers = RemoteContainers(self.api)
        self.images = RemoteImages(self.api)
        self.root = host

    def run(self, image, command=None, *, detach=False, capture=True, on_output=None,
            attach_fds=None, **options):
        """:meth:`glassbox.engine.Engine.run`'s very steps, on this client's ``create``
        and ``containers.start`` (whose attach pumps the daemon's stream into the fds
        given): detached, attached to fds, or captured. Without stdin (``-i``)."""
        from ..engine import Engine
        return Engine.run(self, image, command, detach=detach,  # type: ignore[arg-type]
                          capture=capture, on_output=on_output, attach_fds=attach_fds,
                          **options)

    def _run_captured(self, cid, opts, capture, on_output):
        from ..engine import Engine
        return Engine._run_captured(self, cid, opts, capture, on_output)  # type: ignore[arg-type]

    def create(self, opts, progress=None):
        self.ensure_image(opts.image, getattr(opts, "pull", "missing"), progress)
        return self.containers.create(opts)

    def start(self, ref, attach=(None, None, None)):
        return self.containers.start(ref, attach)

    def open_stdin(self, ref):
        """Over the API a container's input travels in an attach hijack: the fd of
        one that carries stdin only (what is written reaches the container; closing
        it ends that attach, not the container's input). None when it has no stdin."""
        c = self.containers.get(ref)
        if not c.running or not (c.doc.get("Config") or {}).get("OpenStdin"):
            return None
        return self.api.hijack(f"/containers/{c.id}/attach", {"stream": 1, "stdin": 1}).detach()

    def resize(self, ref, rows, cols):
        """``POST /containers/{id}/resize``: the daemon sizes the container's pty."""
        self.api.request("POST", f"/containers/{_q(ref)}/resize", {"h": rows, "w": cols})

    def ensure_image(self, ref: str, pull: str = "missing", progress=None,
                     platform: str | None = None):
        """Have ``ref`` on the daemon's host, pulling it there when asked."""
        if pull not in ("missing", "always", "never"):
            raise InvalidArgument(f"invalid pull option: {pull!r}: must be one of "
                                  '"always", "missing", "never"')
        if pull != "always":
            try:
                return self.images.resolve(ref)
            except NotFound:
                if pull == "never":
                    raise
                if progress:
                    progress({"status": f"Unable to find image '{ref}' locally"})
        conn, resp = self.api.request("POST", "/images/create",
                                      {"fromImage": ref, **({"platform": platform}
                                                            if platform else {})}, stream=True)
        try:
            for line in resp:
                if not line.strip():
                    continue
                ev = json.loads(line)
                if "error" in ev:
                    raise GlassboxError(ev["error"])
                if progress:
                    progress(ev)
        finally:
            conn.close()
        return self.images.resolve(ref)

    # ---- the Engine's typed verbs, over the API (checked by test_engine_protocol);
    # those that are one call on a component come from ContainerVerbs ----------------
    def stats_stream(self, ref: str, interval: float = 1.0):
        """``GET /containers/{id}/stats`` (the daemon's stream, one reading a second);
        ends once the container has stopped. ``interval`` is the daemon's own (1 s)."""
        return self.containers.stats_stream(ref)

    def image_layers(self, ref: str) -> list:
        """The layers from ``inspect`` (``RootFS.Layers``) named by ``history``.

        Docker's history does not say which rows made a layer; a row of size > 0
        did. Walking base first, a row of size 0 is taken as a layer only while
        more layers are left than sized rows — exact unless an image has a layer of
        0 bytes, whose ``created_by`` may then be a neighbouring metadata step's."""
        from ..engine import LayerInfo
        diff_ids = list((self.image_inspect(ref).get("RootFS") or {}).get("Layers") or [])
        rows = list(reversed(self.images.history(ref)))       # base first
        out: list = []
        sized_left = sum(1 for r in rows if (r.get("Size") or 0) > 0)
        for r in rows:
            if len(out) == len(diff_ids):
                break
            size = int(r.get("Size") or 0)
            if size > 0:
                sized_left -= 1
            elif len(diff_ids) - len(out) <= sized_left:
                continue
            out.append(LayerInfo(diff_ids[len(out)], size, r.get("CreatedBy", "")))
        out += [LayerInfo(d, 0, "") for d in diff_ids[len(out):]]
        return out

    def removed_exit_codes(self) -> dict[str, int]:
        """The API keeps no such record: empty. (The daemon's own ``GET /events``
        reports those ``die`` events with their codes.)"""
        return {}

    def image_remove(self, ref: str, force: bool = False) -> list[dict]:
        return self.images.remove(ref, force=force)

    def image_prune(self, all: bool = False) -> list[str]:  # noqa: A002 (docker's flag)
        """``POST /images/prune``: Docker's ``dangling`` filter says which ones
        (``false``: every unused image, as ``prune -a``)."""
        doc = self.api.request("POST", "/images/prune", {"filters": json.dumps(
            {"dangling": ["false" if all else "true"]})}) or {}
        return [r["Deleted"] for r in doc.get("ImagesDeleted") or [] if r.get("Deleted")]

    def image_save(self, refs: list[str], out, format: str = "docker") -> None:  # noqa: A002
        """``GET /images/get?names=...``: the daemon's docker-archive, copied to ``out``
        as it comes. The API has no OCI format: ``format="oci"`` needs the daemon's
        host."""
        if format == "oci":
            raise _unsupported("save --format oci")
        if format != "docker":
            raise InvalidArgument(f"unknown archive format {format!r}: use 'docker' or 'oci'")
        self._copy_out("/images/get", {"names": list(refs)}, out)

    def image_import(self, src, reference: str | None = None, changes=(),
                     message: str = "") -> str:
        """``POST /images/create?fromSrc=-`` with the tar read from ``src`` as the body;
        the daemon's last ``status`` line is the new image's id."""
        conn, resp = self._upload("POST", "/images/create", {
            "fromSrc": "-", **({"repo": reference} if reference else {}),
            "changes": "\n".join(changes), "message": message}, src)
        image_id = ""
        try:
            for ev in _json_lines(resp):
                image_id = ev.get("status", image_id)
        finally:
            conn.close()
        if not image_id:
            raise GlassboxError("the daemon answered the import without an image id")
        return image_id

    def image_load(self, src) -> list[str]:
        """``POST /images/load`` with the tar read from ``src`` as the body; the names
        come back in the daemon's ``Loaded image: ...`` lines (an error line raises)."""
        conn, resp = self._upload("POST", "/images/load", {}, src)
        loaded = []
        try:
            for ev in _json_lines(resp):
                kind, sep, name = str(ev.get("stream", "")).strip().partition(": ")
                if sep and kind in ("Loaded image", "Loaded image ID"):
                    loaded.append(name)
        finally:
            conn.close()
        return loaded

    def pull(self, ref: str, progress=None, platform: str | None = None):
        return self.ensure_image(ref, "always", progress, platform=platform)

    def distribution(self, ref: str) -> dict:
        return self.api.request("GET", f"/distribution/{ref}/json")

    def volume_list(self, filters: dict | None = None) -> list[dict]:
        q = {"filters": json.dumps(filters)} if filters else None
        return (self.api.request("GET", "/volumes", q) or {}).get("Volumes") or []

    def volume_create(self, name: str | None = None, *, labels: dict | None = None,
                      driver: str = "local", options: dict | None = None) -> dict:
        return self.api.request("POST", "/volumes/create", body={
            "Name": name or "", "Labels": labels or {}, "Driver": driver,
            "DriverOpts": options or {}})

    def volume_inspect(self, name: str) -> dict:
        return self.api.request("GET", f"/volumes/{_q(name)}")

    def volume_remove(self, name: str, force: bool = False) -> None:
        self.api.request("DELETE", f"/volumes/{_q(name)}", {"force": "1" if force else "0"})

    def volume_prune(self, all: bool = False,  # noqa: A002 (docker's flag)
                     filters: dict | None = None) -> dict:
        """``POST /volumes/prune``; ``all`` travels as Docker's ``all=true`` filter."""
        f = {**(filters or {}), **({"all": ["true"]} if all else {})}
        doc = self.api.request("POST", "/volumes/prune",
                               {"filters": json.dumps(f)} if f else None) or {}
        return {"VolumesDeleted": doc.get("VolumesDeleted") or [],
                "SpaceReclaimed": int(doc.get("SpaceReclaimed") or 0)}

    def volume_users(self, name: str) -> list[str]:
        return [c.id for c in self.ps(all=True)
                if any(m.get("Name") == name for m in c.doc.get("Mounts") or [])]

    def rw_size(self, ref: str) -> int:
        """``GET /containers/{id}/json?size=1``: its ``SizeRw``."""
        doc = self.api.request("GET", f"/containers/{_q(ref)}/json?size=1") or {}
        return int(doc.get("SizeRw") or 0)

    def diff(self, ref: str) -> list[tuple[str, str]]:
        """``GET /containers/{id}/changes``: Docker's Kind 0/1/2 as C/A/D."""
        kinds = {0: "C", 1: "A", 2: "D"}
        return [(kinds.get(r.get("Kind"), "C"), r.get("Path", ""))
                for r in self.api.request("GET", f"/containers/{_q(ref)}/changes") or []]

    def system_df(self) -> dict:
        """``GET /system/df`` (Docker's document), folded into the rows the local
        :meth:`Engine.system_df` gives, so ``glassbox -H ... system df`` prints the
        same table: images (active = used by a container; reclaimable = what only
        unused images hold) and containers (their writable layers)."""
        doc = self.api.request("GET", "/system/df") or {}
        images, cs = doc.get("Images") or [], doc.get("Containers") or []
        unused = [i for i in images if not i.get("Containers")]
        return {"Summary": [
            {"Type": "Images", "TotalCount": len(images), "Active": len(images) - len(unused),
             "Size": int(doc.get("LayersSize") or 0),
             "Reclaimable": sum(max(int(i.get("Size") or 0) - int(i.get("SharedSize") or 0), 0)
                                for i in unused)},
            {"Type": "Containers", "TotalCount": len(cs),
             "Active": len([c for c in cs if c.get("State") == "running"]),
             "Size": sum(int(c.get("SizeRw") or 0) for c in cs),
             "Reclaimable": sum(int(c.get("SizeRw") or 0) for c in cs
                                if c.get("State") != "running")}],
            "Images": images, "Layers": []}

    def network_connect(self, network: str, container: str, *, aliases=(),
                        ip: str | None = None, mac: str | None = None, links=()) -> None:
        ipam = {"IPv4Address": ip} if ip else None
        self.api.request("POST", f"/networks/{_q(network)}/connect", body={
            "Container": container, "EndpointConfig": {
                "Aliases": list(aliases or ()), **({"IPAMConfig": ipam} if ipam else {}),
                **({"MacAddress": mac} if mac else {}),
                **({"Links": list(links)} if links else {})}})

    def network_disconnect(self, network: str, container: str, *, force: bool = False) -> None:
        self.api.request("POST", f"/networks/{_q(network)}/disconnect",
                         body={"Container": container, "Force": force})

    def network_create(self, name: str, *, subnet: str | None = None,
                       gateway: str | None = None, driver: str = "bridge",
                       internal: bool = False, labels: dict | None = None) -> str:
        ipam = {"Config": [{k: v for k, v in (("Subnet", subnet), ("Gateway", gateway)) if v}]}
        doc = self.api.request("POST", "/networks/create", body={
            "Name": name, "Driver": driver, "Internal": internal, "Labels": labels or {},
            **({"IPAM": ipam} if subnet or gateway else {})})
        return doc["Id"]

    def network_remove(self, ref: str) -> None:
        self.api.request("DELETE", f"/networks/{_q(ref)}")

    def network_prune(self) -> list[str]:
        return (self.api.request("POST", "/networks/prune") or {}).get("NetworksDeleted") or []

    def _forget(self, cid):
        try:
            self.containers.remove(cid, force=True)
        except NotFound:
            pass

    def image_inspect(self, ref):
        return self.api.request("GET", f"/images/{ref}/json")

    def version(self) -> dict:
        return self.api.request("GET", "/version")

    def info(self) -> dict:
        return self.api.request("GET", "/info")

    # ---- cp / export (``glassbox -H ... cp``): the daemon's archive endpoints
    def archive_stat(self, ref: str, path: str) -> dict:
        import base64
        try:
            conn, resp = self.api.request("HEAD", f"/containers/{_q(ref)}/archive",
                                          {"path": path}, stream=True)
        except GlassboxError:
            # a HEAD answer has no body: ask again for the message (which container,
            # which path) with a request that carries one
            self.api.request("GET", f"/containers/{_q(ref)}/json")
            conn, resp = self.api.request("GET", f"/containers/{_q(ref)}/archive",
                                          {"path": path}, stream=True)
        try:
            return json.loads(base64.b64decode(resp.getheader(
                "X-Docker-Container-Path-Stat") or "e30="))
        finally:
            conn.close()

    def _copy_out(self, url: str, query: dict | None, out) -> None:
        conn, resp = self.api.request("GET", url, query, stream=True)
        try:
            while chunk := resp.read(1 << 20):
                out.write(chunk)
        finally:
            conn.close()

    def archive_get(self, ref: str, path: str, out) -> None:
        self._copy_out(f"/containers/{_q(ref)}/archive", {"path": path}, out)

    def export(self, ref: str, out) -> None:
        self._copy_out(f"/containers/{_q(ref)}/export", None, out)

    def archive_put(self, ref: str, path: str, src, *, no_overwrite_dir_non_dir: bool = False,
                    copy_uid_gid: bool = False) -> None:
        conn, resp = self._upload("PUT", f"/containers/{_q(ref)}/archive",
                                  {"path": path, "noOverwriteDirNonDir":
                                   int(no_overwrite_dir_non_dir),
                                   "copyUIDGID": int(copy_uid_gid)}, src)
        try:
            resp.read()
        finally:
            conn.close()

    def _upload(self, method: str, url: str, query: dict, src):
        """Send the binary file ``src`` as a chunked tar body (it may be a pipe: its
        size is not known); returns ``(conn, resp)`` for the caller to read and close,
        or raises the daemon's error."""
        q = urllib.parse.urlencode(query)
        conn = _UnixConnection(self.api.path)
        try:
            conn.request(method, f"{API}{url}" + (f"?{q}" if q else ""), body=src,
                         headers={"Content-Type": "application/x-tar"}, encode_chunked=True)
            resp = conn.getresponse()
            if resp.status >= 400:
                raise _error(resp.status, resp.read())
        except (OSError, http.client.HTTPException) as e:
            conn.close()
            raise GlassboxError(f"the daemon at unix://{self.api.path} did not answer: "
                                f"{e}") from None
        except BaseException:
            conn.close()
            raise
        return conn, resp

    def __getattr__(self, name):
        if name.startswith("__"):
            raise AttributeError(name)
        raise _unsupported(name)


def _json_lines(resp):
    """The objects of a JSON-lines progress answer; an ``error`` line raises it."""
    for line in resp:
        if not line.strip():
            continue
        ev = json.loads(line)
        if "error" in ev:
            raise GlassboxError(ev["error"])
        yield ev


def _unsupported(what: str) -> GlassboxError:
    """The error of a verb this client cannot do over the API (yet)."""
    return GlassboxError(f"'{what}' is not supported over -H yet: run the command on the "
                         "daemon's host without -H")
