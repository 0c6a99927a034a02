"""System endpoints (``_ping``, version, info, df, events) and volumes/networks."""

from __future__ import annotations

import os
import platform

from ..errors import Conflict, GlassboxError, InvalidArgument
from .server import json_response, API_VERSION, MIN_API_VERSION, qbool, read_json
from .translate import parse_filters


def _ping_headers() -> dict:
    # Builder-Version 1: the classic builder, so the docker CLI sends a tar context
    # to /build instead of trying BuildKit's session protocol.
    return {"Api-Version": API_VERSION, "Docker-Experimental": "false", "OSType": "linux",
            "Builder-Version": "1", "Swarm": "inactive", "Cache-Control": "no-cache, no-store, "
            "must-revalidate", "Pragma": "no-cache"}


async def ping(d, request):
    from aiohttp import web
    if request.method == "HEAD":
        return web.Response(status=200, headers={**_ping_headers(),
                                                 "Content-Type": "text/plain; charset=utf-8"})
    return web.Response(text="OK", headers=_ping_headers())


def version_doc() -> dict:
    from .. import __version__
    return {"Platform": {"Name": "glassbox"},
            "Components": [{"Name": "Engine", "Version": __version__,
                            "Details": {"ApiVersion": API_VERSION,
                                        "MinAPIVersion": MIN_API_VERSION,
                                        "Os": "linux", "Arch": _arch(),
                                        "KernelVersion": platform.release(),
                                        "Experimental": "false", "GitCommit": "glassbox",
                                        "GoVersion": "python" + platform.python_version(),
                                        "BuildTime": ""}}],
            "Version": __version__, "ApiVersion": API_VERSION,
            "MinAPIVersion": MIN_API_VERSION, "GitCommit": "glassbox",
            "GoVersion": "python" + platform.python_version(), "Os": "linux", "Arch": _arch(),
            "KernelVersion": platform.release(), "BuildTime": "", "Experimental": False}


def _arch() -> str:
    m = platform.machine()
    return {"x86_64": "amd64", "aarch64": "arm64"}.get(m, m)


async def version(d, request):
    return json_response(version_doc())


def _mem_total() -> int:
    from ..present import host_memory
    return host_memory()


async def info(d, request):
    from .. import __version__
    base = await d.run(d.eng.info)
    cs = await d.run(d.eng.ps)
    paused = len([c for c in cs if c.status == "paused"])
    running = len([c for c in cs if c.status == "running"])
    doc = {"ID": "glassbox", "Containers": len(cs), "ContainersRunning": running,
           "ContainersPaused": paused, "ContainersStopped": len(cs) - running - paused,
           "Images": base.get("Images", 0), "Driver": "overlay",
           "DriverStatus": [["Backing Filesystem", "overlay"]], "DockerRootDir": d.eng.root,
           "Plugins": {"Volume": ["local"], "Network": ["bridge", "host", "none"],
                       "Authorization": None, "Log": ["json-file"]},
           "MemoryLimit": True, "SwapLimit": True, "CpuCfsPeriod": True, "CpuCfsQuota": True,
           "CPUShares": True, "CPUSet": False, "PidsLimit": True, "IPv4Forwarding": True,
           "BridgeNfIptables": False, "BridgeNfIp6tables": False, "Debug": False,
           "NFd": len(os.listdir("/proc/self/fd")), "OomKillDisable": False,
           "NGoroutines": 0, "SystemTime": _now(), "LoggingDriver": "json-file",
           "CgroupDriver": "cgroupfs",
           "CgroupVersion": str(base.get("Cgroup Version", "")).lstrip("v") or "1",
           "NEventsListener": 0, "KernelVersion": platform.release(),
           "OperatingSystem": "glassbox on " + _os_name(), "OSVersion": "", "OSType": "linux",
           "Architecture": platform.machine(), "IndexServerAddress":
           "https://index.docker.io/v1/",
           "RegistryConfig": {"AllowNondistributableArtifactsCIDRs": None,
                              "AllowNondistributableArtifactsHostnames": None,
                              "InsecureRegistryCIDRs": ["127.0.0.0/8"],
                              "IndexConfigs": {}, "Mirrors": []},
           "NCPU": os.cpu_count() or 1, "MemTotal": _mem_total(), "GenericResources": None,
           "HttpProxy": "", "HttpsProxy": "", "NoProxy": "", "Name": platform.node(),
           "Labels": [], "ExperimentalBuild": False, "ServerVersion": __version__,
           "Runtimes": {"glassbox": {"path": "glassbox-shim"}}, "DefaultRuntime": "glassbox",
           "Swarm": {"NodeID": "", "NodeAddr": "", "LocalNodeState": "inactive",
                     "ControlAvailable": False, "Error": "", "RemoteManagers": None},
           "LiveRestoreEnabled": True, "Isolation": "", "InitBinary": "",
           "ContainerdCommit": {"ID": ""}, "RuncCommit": {"ID": ""},
           "InitCommit": {"ID": ""}, "Warnings": None,
           "SecurityOptions": str(base.get("Security Options", "")).split()}
    return json_response(doc)


def _os_name() -> str:
    try:
        with open("/etc/os-release") as f:
            for line in f:
                if line.startswith("PRETTY_NAME="):
                    return line.split("=", 1)[1].strip().strip('"')
    except OSError:
        pass
    return "Linux"


def _now() -> str:
    from .._files import timestamp
    return timestamp()


async def system_df(d, request):
    from .translate import container_summary, epoch
    df = await d.run(d.eng.system_df)
    cs = await d.run(d.eng.ps)
    images = []
    for r in df.get("Images", []):
        images.append({"Id": r["id"], "ParentId": "", "RepoTags": r.get("repo_tags") or [],
                       "RepoDigests": [], "Created": epoch(r.get("created")),
                       "Size": r.get("size", 0), "SharedSize": r.get("shared_size", 0),
                       "VirtualSize": r.get("size", 0), "Labels": {},
                       "Containers": len([c for c in cs if c.config.get("Image") == r["id"]])})
    containers = []
    for c in cs:
        s = container_summary(c)
        s["SizeRw"] = await d.run(d.eng.rw_size, c.id)
        s["SizeRootFs"] = s["SizeRw"] + next((r.get("size", 0) for r in df.get("Images", [])
                                              if r["id"] == c.config.get("Image")), 0)
        containers.append(s)
    volumes = []
    vm = _volumes(d, required=False)
    if vm is not None:
        try:
            for v in await d.run(vm.list):
                volumes.append({**_volume_doc(v), "UsageData": {"Size": -1, "RefCount": -1}})
        except GlassboxError:
            pass
    layers = sum(r["Size"] for r in df.get("Summary", []) if r["Type"] == "Images")
    return json_response({"LayersSize": layers, "Images": images,
                              "Containers": containers, "Volumes": volumes,
                              "BuildCache": []})


async def events(d, request):
    """``GET /events``: see :mod:`.events` (a watcher of the state store)."""
    from .events import events as stream
    return await stream(d, request)


async def auth(d, request):
    body = await read_json(request, {}) or {}
    reg = _registry(d)
    user, pw = body.get("username"), body.get("password")
    server = body.get("serveraddress") or "docker.io"
    if user and pw:
        await d.run(reg.login, server, user, pw)
    return json_response({"Status": "Login Succeeded", "IdentityToken": ""})


def _registry(d):
    try:
        reg = d.eng.registry
    except (ImportError, AttributeError) as e:
        raise GlassboxError(f"this glassbox has no registry client yet ({e}); pull/push "
                            "are not available through the daemon") from None
    return reg


# ---- volumes --------------------------------------------------------------------
def _volumes(d, required: bool = True):
    try:
        return d.eng.volumes
    except (ImportError, AttributeError) as e:
        if not required:
            return None
        raise GlassboxError(f"volumes are not available in this glassbox ({e})") from None


def _volume_doc(v: dict) -> dict:
    doc = {"Name": v.get("Name"), "Driver": v.get("Driver", "local"),
           "Mountpoint": v.get("Mountpoint", ""), "CreatedAt": v.get("CreatedAt", ""),
           "Labels": v.get("Labels") or {}, "Scope": v.get("Scope", "local"),
           "Options": v.get("Options") or {}}
    for k, val in v.items():
        doc.setdefault(k, val)
    return doc


async def volume_list(d, request):
    filters = parse_filters(request.query.get("filters"))
    vols = await d.run(d.eng.volume_list, filters or None)
    return json_response({"Volumes": [_volume_doc(v) for v in vols], "Warnings": []})


async def volume_create(d, request):
    body = await read_json(request, {}) or {}
    if not isinstance(body, dict):
        raise InvalidArgument("the request body must be a JSON object")
    v = await d.run(d.eng.volume_create, body.get("Name") or None,
                    labels=body.get("Labels") or None,
                    driver=body.get("Driver") or "local",
                    options=body.get("DriverOpts") or None)
    return json_response(_volume_doc(v), status=201)


async def volume_inspect(d, request):
    return json_response(_volume_doc(await d.run(d.eng.volume_inspect,
                                                 request.match_info["name"])))


async def volume_remove(d, request):
    from aiohttp import web
    await d.run(d.eng.volume_remove, request.match_info["name"], force=qbool(request, "force"))
    return web.Response(status=204)


async def volume_prune(d, request):
    filters = parse_filters(request.query.get("filters"))
    all_ = (filters.pop("all", ["false"]) or ["false"])[0].lower() in ("1", "true")
    return json_response(await d.run(d.eng.volume_prune, all=all_, filters=filters or None))


# ---- networks -------------------------------------------------------------------
def _networks(d):
    try:
        return d.eng.networks
    except (ImportError, AttributeError) as e:
        raise GlassboxError(f"networks are not available in this glassbox ({e})") from None


async def network_list(d, request):
    """``GET /networks``: every network, ``bridge``/``host``/``none`` included —
    the same documents as ``glassbox network ls`` (:mod:`glassbox.network.docs`)."""
    from ..network.docs import matches, network_docs
    nm = _networks(d)
    filters = parse_filters(request.query.get("filters"))
    docs = await d.run(network_docs, nm)
    return json_response([n for n in docs if matches(n, filters)])


async def network_inspect(d, request):
    from ..network.docs import find_doc
    nm = _networks(d)
    return json_response(await d.run(find_doc, nm, request.match_info["id"]))


async def network_create(d, request):
    from .translate import network_create_request
    nm = _networks(d)
    kw = network_create_request(await read_json(request, required=True))
    n = await d.run(lambda: nm.create(kw.pop("name"), **kw))
    return json_response({"Id": n.id, "Warning": ""}, status=201)


async def network_remove(d, request):
    from aiohttp import web
    from ..network.docs import PREDEFINED
    nm = _networks(d)
    if request.match_info["id"] in PREDEFINED:
        raise Conflict(f"{request.match_info['id']} is a pre-defined network and cannot be "
                       "removed")
    await d.run(nm.remove, request.match_info["id"])
    return web.Response(status=204)


async def network_prune(d, request):
    nm = _networks(d)
    return json_response({"NetworksDeleted": await d.run(nm.prune) or []})


async def network_connect(d, request):
    """``POST /networks/{id}/connect``, to a running container (wired now) or a
    created one (wired at its start): :meth:`Engine.network_connect`."""
    from aiohttp import web
    from .translate import endpoint_request
    body = await read_json(request, required=True)
    if not isinstance(body, dict) or not body.get("Container"):
        raise InvalidArgument("network connect needs a Container")
    aliases, ip = endpoint_request(body.get("EndpointConfig"), "EndpointConfig")
    from .translate import endpoint_extras
    extras = endpoint_extras(body.get("EndpointConfig"), "EndpointConfig")   # mac, links
    await d.run(lambda: d.eng.network_connect(request.match_info["id"], body["Container"],
                                              aliases=aliases, ip=ip, **extras))
    return web.Response(status=200)


async def network_disconnect(d, request):
    from aiohttp import web
    body = await read_json(request, required=True)
    if not isinstance(body, dict) or not body.get("Container"):
        raise InvalidArgument("network disconnect needs a Container")
    await d.run(d.eng.network_disconnect, request.match_info["id"], body["Container"],
                force=bool(body.get("Force")))
    return web.Response(status=200)


ROUTES = [
    ("GET", "/_ping", ping), ("HEAD", "/_ping", ping),
    ("GET", "/version", version), ("GET", "/info", info),
    ("GET", "/system/df", system_df), ("GET", "/events", events),
    ("POST", "/auth", auth),
    ("GET", "/volumes", volume_list), ("POST", "/volumes/create", volume_create),
    ("POST", "/volumes/prune", volume_prune),
    ("GET", "/volumes/{name}", volume_inspect), ("DELETE", "/volumes/{name}", volume_remove),
    ("GET", "/networks", network_list), ("POST", "/networks/create", network_create),
    ("POST", "/networks/prune", network_prune),
    ("GET", "/networks/{id}", network_inspect), ("DELETE", "/networks/{id}", network_remove),
    ("POST", "/networks/{id}/connect", network_connect),
    ("POST", "/networks/{id}/disconnect", network_disconnect),
]
