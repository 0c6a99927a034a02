"""Docker-shaped network documents, shared by ``glassbox network`` and the daemon.

``docker network inspect`` / ``GET /networks/{id}`` show a network as one JSON
document (name, id, driver, IPAM subnet and gateway, the attached containers
with their addresses). Three networks are *pre-defined* and always listed, as
Docker lists them: ``bridge`` (the default bridge: a record and a device once
first used), ``host`` and ``none`` (modes of ``run``: never a record). Pure:
the callers hand in :class:`~glassbox.network.Network` records.
"""

from __future__ import annotations


PREDEFINED = {"bridge": "bridge", "host": "host", "none": "null"}  # name → driver


def rfc3339(ts: float) -> str:
    if not ts:
        return "0001-01-01T00:00:00Z"
    from .._files import timestamp
    return timestamp(ts)


def endpoint_id(network_id: str, container_id: str) -> str:
    """A stable 64-hex endpoint id (Docker shows one per attachment)."""
    from .manager import sha256_hex   # the interpreter's own SHA-256: no OpenSSL on a start
    return sha256_hex(f"{network_id}:{container_id}")


def network_doc(net) -> dict:
    """Docker's ``network inspect`` document for a :class:`~glassbox.network.Network`."""
    containers = {}
    for cid, ep in sorted(net.endpoints.items()):
        containers[cid] = {"Name": ep.name, "EndpointID": endpoint_id(net.id, cid),
                           "MacAddress": ep.mac, "IPv4Address": f"{ep.ip}/{ep.prefixlen}",
                           "IPv6Address": ""}
    options = {**net.options, "com.docker.network.bridge.name": net.bridge}
    ipam_cfg = {"Subnet": net.subnet, "Gateway": net.gateway}
    if net.pool.ip_range:
        ipam_cfg["IPRange"] = net.pool.ip_range
    if net.default:
        options.update({"com.docker.network.bridge.default_bridge": "true",
                        "com.docker.network.bridge.enable_icc": "true"})
    return {"Name": net.name, "Id": net.id, "Created": rfc3339(net.created),
            "Scope": "local", "Driver": net.driver, "EnableIPv6": False,
            "IPAM": {"Driver": "default", "Options": {},
                     "Config": [ipam_cfg]},
            "Internal": bool(net.internal), "Attachable": bool(net.attachable), "Ingress": False,
            "ConfigFrom": {"Network": ""}, "ConfigOnly": False,
            "Containers": containers, "Options": options, "Labels": dict(net.labels)}


def predefined_doc(root: str, name: str) -> dict:
    """``host``/``none`` (and ``bridge`` before its first use): no record, no device."""
    from .manager import predefined_id
    return {"Name": name, "Id": predefined_id(root, name), "Created": rfc3339(0),
            "Scope": "local", "Driver": PREDEFINED[name], "EnableIPv6": False,
            "IPAM": {"Driver": "default", "Options": None, "Config": []},
            "Internal": False, "Attachable": False, "Ingress": False,
            "ConfigFrom": {"Network": ""}, "ConfigOnly": False, "Containers": {},
            "Options": {}, "Labels": {}}


def network_docs(nm) -> list[dict]:
    """Every network of a :class:`~glassbox.network.NetworkManager`, pre-defined
    ones included, sorted by name."""
    docs = [network_doc(n) for n in nm.list()]
    have = {d["Name"] for d in docs}
    docs += [predefined_doc(nm.root, n) for n in PREDEFINED if n not in have]
    return sorted(docs, key=lambda d: d["Name"])


def find_doc(nm, ref: str) -> dict:
    """One network's document by name, id or id prefix (pre-defined ones too)."""
    from ..errors import NotFound
    try:
        return network_doc(nm.inspect(ref))
    except NotFound:
        for d in network_docs(nm):
            if d["Name"] == ref or d["Id"] == ref:
                return d
        raise


def matches(doc: dict, filters: dict[str, list[str]]) -> bool:
    """Docker's ``network ls --filter`` (name, id, driver, scope, type, label)."""
    for key, values in filters.items():
        if key == "name" and not any(v in doc["Name"] for v in values):
            return False
        if key == "id" and not any(doc["Id"].startswith(v) for v in values):
            return False
        if key == "driver" and doc["Driver"] not in values:
            return False
        if key == "scope" and doc["Scope"] not in values:
            return False
        if key == "type":
            kind = "builtin" if doc["Name"] in PREDEFINED else "custom"
            if kind not in values:
                return False
        if key == "label":
            for v in values:
                k, sep, want = v.partition("=")
                if k not in doc["Labels"] or (sep and doc["Labels"][k] != want):
                    return False
    return True
