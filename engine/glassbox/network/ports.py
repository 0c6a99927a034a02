"""Published ports: ``-p [ip:]hostPort:containerPort[/tcp|udp]``, ``-P``, and the proxy.

Parsing (pure)
    :func:`parse_publish` turns one ``-p`` value into :class:`PortBinding` values
    (ranges expand to one binding per port); :func:`parse_expose` reads ``EXPOSE`` /
    ``ExposedPorts`` entries; :func:`publish_all` is ``-P``: every exposed port on an
    ephemeral host port. Bad specs raise ``InvalidArgument`` quoting the spec.

Forwarding: a userland proxy, not DNAT
    Docker can publish with nftables/iptables DNAT (plus its ``docker-proxy``). We
    use only a userland proxy — one small process per container
    (:mod:`glassbox.network._proxy`) that listens on ``host_ip:host_port`` and
    opens a connection to ``container_ip:container_port`` for every client:

    * the lab's main client is the host's own loopback (``curl 127.0.0.1:8080``).
      Locally generated packets never cross PREROUTING, so DNAT would need an
      OUTPUT rule too, and DNAT-ing ``127.0.0.1`` to another interface is dropped
      as a "martian" unless ``net.ipv4.conf.*.route_localnet=1`` — a host-wide
      knob with security side effects;
    * it needs no firewall tool or ruleset ownership, cannot clash with Docker's or
      the distro's rules, and leaves nothing behind if the engine crashes: the
      proxy exits by itself when the container's process is gone;
    * "port is already allocated" is exact and immediate: the *engine* binds the
      listening sockets (so ``EADDRINUSE`` becomes a :class:`Conflict` right here)
      and hands them to the proxy as inherited file descriptors.

    The cost: one extra hop through the host (the C proxy moves the bytes with
    ``splice()``, they never enter user space), and the container sees the
    proxy's address (the bridge gateway) as the client, not the real client.
"""

from __future__ import annotations

import contextlib
import errno
import ipaddress
import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from typing import Iterable

from ..errors import Conflict, InvalidArgument, KernelError

PROTOCOLS = ("tcp", "udp")
_PROXY_SCRIPT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "_proxy.py")
#: ``GLASSBOX_PROXY=python`` forces the Python proxy even when the C one is built
PROXY_ENV = "GLASSBOX_PROXY"


@dataclass(frozen=True)
class PortBinding:
    """One published port. ``host_port`` 0 means "any free port" (ephemeral);
    ``host_port_end`` > ``host_port`` means "the first free port in that range"."""

    container_port: int
    proto: str = "tcp"
    host_ip: str = "0.0.0.0"
    host_port: int = 0
    host_port_end: int = 0

    @property
    def key(self) -> str:
        """Docker's key for the container side, e.g. ``"80/tcp"``."""
        return f"{self.container_port}/{self.proto}"


def _bad(spec: str, why: str) -> InvalidArgument:
    return InvalidArgument(f"invalid port specification {spec!r}: {why} "
                           f"(expected [ip:][hostPort:]containerPort[/tcp|udp], e.g. "
                           f"127.0.0.1:8080:80/tcp)")


def _port_range(text: str, spec: str, what: str) -> tuple[int, int]:
    text = text.strip()
    lo, sep, hi = text.partition("-")
    try:
        a = int(lo, 10)
        b = int(hi, 10) if sep else a
    except ValueError:
        raise _bad(spec, f"{what} {text!r} is not a number or range") from None
    if not (1 <= a <= 65535 and 1 <= b <= 65535):
        raise _bad(spec, f"{what} {text!r} is out of range 1-65535")
    if b < a:
        raise _bad(spec, f"{what} range {text!r} ends before it starts")
    return a, b


def _proto(text: str, spec: str) -> str:
    p = (text or "tcp").lower()
    if p not in PROTOCOLS:
        raise _bad(spec, f"protocol {text!r} is not supported (tcp or udp)")
    return p


def parse_publish(spec: str) -> list[PortBinding]:
    """Parse one ``-p`` value into bindings (a range gives one binding per port)."""
    s = str(spec).strip()
    if not s:
        raise _bad(spec, "it is empty")
    body, _, proto = s.partition("/")
    proto = _proto(proto, spec)
    if body.startswith("["):
        raise _bad(spec, "IPv6 host addresses are not supported")
    parts = body.split(":")
    if len(parts) == 1:
        host_ip, host, ctr = "", "", parts[0]
    elif len(parts) == 2:
        host_ip, host, ctr = "", parts[0], parts[1]
    elif len(parts) == 3:
        host_ip, host, ctr = parts
    else:
        raise _bad(spec, "too many ':'")
    if host_ip:
        try:
            ipaddress.IPv4Address(host_ip)
        except ValueError:
            raise _bad(spec, f"host address {host_ip!r} is not an IPv4 address") from None
    host_ip = host_ip or "0.0.0.0"
    if not ctr:
        raise _bad(spec, "the container port is missing")
    c_lo, c_hi = _port_range(ctr, spec, "container port")
    if not host:
        return [PortBinding(p, proto, host_ip) for p in range(c_lo, c_hi + 1)]
    h_lo, h_hi = _port_range(host, spec, "host port")
    if c_lo == c_hi and h_hi > h_lo:  # 8000-8010:80 → any free port of the range
        return [PortBinding(c_lo, proto, host_ip, h_lo, h_hi)]
    if (h_hi - h_lo) != (c_hi - c_lo):
        raise _bad(spec, f"host range {host} and container range {ctr} differ in size")
    return [PortBinding(c, proto, host_ip, h)
            for c, h in zip(range(c_lo, c_hi + 1), range(h_lo, h_hi + 1))]


def parse_publish_all_specs(specs: Iterable[str]) -> list[PortBinding]:
    """Parse several ``-p`` values; the same host ip:port/proto twice is an error."""
    out: list[PortBinding] = []
    seen: set[tuple[str, int, str]] = set()
    for spec in specs:
        for b in parse_publish(spec):
            k = (b.host_ip, b.host_port, b.proto)
            if b.host_port and not b.host_port_end and k in seen:
                raise InvalidArgument(f"host port {b.host_ip}:{b.host_port}/{b.proto} "
                                      f"is published twice")
            seen.add(k)
            out.append(b)
    return out


def parse_expose(spec: str) -> list[tuple[int, str]]:
    """``EXPOSE`` entries: ``80``, ``80/tcp``, ``8000-8002/udp`` → [(port, proto)]."""
    s = str(spec).strip()
    body, _, proto = s.partition("/")
    proto = _proto(proto, spec)
    lo, hi = _port_range(body, spec, "port")
    return [(p, proto) for p in range(lo, hi + 1)]


def publish_all(exposed: Iterable[str], host_ip: str = "0.0.0.0") -> list[PortBinding]:
    """``-P``: each exposed port (``"80/tcp"`` keys or EXPOSE words) → ephemeral port."""
    out, seen = [], set()
    for e in exposed:
        for port, proto in parse_expose(e):
            if (port, proto) not in seen:
                seen.add((port, proto))
                out.append(PortBinding(port, proto, host_ip))
    return out


# --------------------------------------------------------------------- the proxy
@dataclass(frozen=True)
class PublishedPort:
    """A port as actually published (ephemeral ports resolved)."""

    container_port: int
    proto: str
    host_ip: str
    host_port: int

    def to_dict(self) -> dict:
        return {"container_port": self.container_port, "proto": self.proto,
                "host_ip": self.host_ip, "host_port": self.host_port}


@dataclass
class ProxyHandle:
    """What the runtime records about a running proxy, to show and to stop it."""

    pid: int
    start_time: int
    container_id: str
    container_ip: str
    ports: list[PublishedPort] = field(default_factory=list)

    def to_dict(self) -> dict:
        return {"pid": self.pid, "start_time": self.start_time,
                "container_id": self.container_id, "container_ip": self.container_ip,
                "ports": [p.to_dict() for p in self.ports]}

    @classmethod
    def from_dict(cls, d: dict) -> "ProxyHandle":
        return cls(int(d["pid"]), int(d.get("start_time", 0)), d.get("container_id", ""),
                   d.get("container_ip", ""), [PublishedPort(**p) for p in d.get("ports", [])])


def _bind_one(b: PortBinding) -> socket.socket:
    kind = socket.SOCK_STREAM if b.proto == "tcp" else socket.SOCK_DGRAM
    candidates = range(b.host_port, (b.host_port_end or b.host_port) + 1)
    last: OSError | None = None
    for port in candidates:
        s = socket.socket(socket.AF_INET, kind)
        if b.proto == "tcp":
            # lets us rebind over TIME_WAIT leftovers; never over a live listener
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((b.host_ip, port))
            if b.proto == "tcp":
                s.listen(128)  # clients queue in the kernel until the proxy accepts
            return s
        except OSError as e:
            s.close()
            last = e
            if e.errno != errno.EADDRINUSE:
                break
    assert last is not None
    where = f"{b.host_ip}:{b.host_port}" + (f"-{b.host_port_end}" if b.host_port_end else "")
    if last.errno == errno.EADDRINUSE:
        raise Conflict(f"Bind for {where}/{b.proto} failed: port is already allocated "
                       f"(stop whatever listens there or publish another host port)")
    if last.errno == errno.EADDRNOTAVAIL:
        raise InvalidArgument(f"cannot publish on {b.host_ip}: it is not an address of "
                              f"this machine")
    raise KernelError(last.errno or errno.EIO, "bind", f"{where}/{b.proto}")


def proxy_program(python: str | None = None) -> list[str]:
    """The proxy's command (before its arguments): the compiled ``gbx-proxy`` when
    it is built and up to date with its source, else the Python script through a
    small detaching launcher. Both detach and print the proxy's pid on stdout."""
    from . import proxy
    native = proxy.binary()
    if native and os.environ.get(PROXY_ENV, "") != "python":
        return [native]
    return [python or sys.executable, "-S", "-E", "-c", _LAUNCHER, _PROXY_SCRIPT]


def bind_all(bindings: Iterable[PortBinding]) -> list[tuple[socket.socket, PortBinding]]:
    """Bind every host port, all or nothing (a Conflict closes those already bound)."""
    socks: list[tuple[socket.socket, PortBinding]] = []
    try:
        for b in bindings:
            socks.append((_bind_one(b), b))
    except BaseException:
        for s, _ in socks:
            s.close()
        raise
    return socks


def start_proxy(bindings: Iterable[PortBinding], container_ip: str, *,
                container_id: str = "", watch_pid: int = 0, owner: str = "",
                python: str | None = None,
                bound: list[tuple[socket.socket, PortBinding]] | None = None) -> ProxyHandle:
    """Bind every host port (all or nothing) and start one proxy process for them.

    ``owner`` is only a label on the command line (``ps`` shows whose proxy it is).
    ``watch_pid`` (the container's init): the proxy exits when it is gone. The
    proxy is double-forked (its parent is init, not the caller), so no caller ever
    has to reap it; stop it with :func:`stop_proxy`. ``bound``: sockets already
    bound by :func:`bind_all` (rootless: on the host, before the shim joined the
    per-user network namespace), used instead of ``bindings`` and closed here.
    """
    from .. import processes
    socks: list[tuple[socket.socket, PortBinding]] = list(bound or [])
    try:
        if bound is None:
            socks = bind_all(bindings)
        if not socks:
            raise InvalidArgument("no ports to publish")
        ports, specs = [], []
        for s, b in socks:
            ip, port = s.getsockname()
            ports.append(PublishedPort(b.container_port, b.proto, ip, port))
            specs.append(f"{s.fileno()}:{b.proto}:{container_ip}:{b.container_port}")
        watch = []
        if watch_pid:
            watch = ["--watch", f"{watch_pid}:{processes.start_time(watch_pid) or 0}"]
        argv = [*proxy_program(python), "--container", container_id or "-",
                "--owner", owner or "-", *watch, *specs]
        proc = subprocess.Popen(argv, pass_fds=[s.fileno() for s, _ in socks],
                                stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                stderr=subprocess.DEVNULL, start_new_session=True)
        line = proc.stdout.readline()
        proc.stdout.close()
        proc.wait()
        if not line.strip().isdigit():
            raise KernelError(errno.ECHILD, "start port proxy", argv[0],
                              hint="the proxy process did not start")
        pid = int(line)
    finally:
        for s, _ in socks:
            s.close()  # the proxy holds its own copies
    return ProxyHandle(pid, processes.start_time(pid) or 0, container_id, container_ip, ports)


# Runs in the fresh interpreter: detach (double fork), report the proxy's pid on
# stdout once its sockets are served, then become the proxy.
_LAUNCHER = r"""
import os, sys, runpy
script = sys.argv[1]
if os.fork():
    os._exit(0)
out = os.dup(1)
null = os.open(os.devnull, os.O_RDWR)
os.dup2(null, 1)
os.write(out, b"%d\n" % os.getpid())
os.close(out)
sys.argv = sys.argv[1:]
runpy.run_path(script, run_name="__main__")
"""


def is_proxy_cmdline(cmdline: bytes) -> bool:
    """Is this ``/proc/PID/cmdline`` one of our proxy programs (either kind)?"""
    from . import proxy
    args = cmdline.split(b"\0")
    return args[0] == proxy.BINARY.encode() or _PROXY_SCRIPT.encode() in args


def _is_our_proxy(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return is_proxy_cmdline(f.read())
    except OSError:
        return False


def stop_proxy(handle: ProxyHandle | dict, timeout: float = 5.0) -> bool:
    """Stop a proxy (SIGTERM, then SIGKILL); False if it was already gone. Idempotent.

    The pid is only signalled if it is still the same process (start time) and
    still our proxy program (command line), so a reused pid is never hit.
    """
    from .. import processes
    h = ProxyHandle.from_dict(handle) if isinstance(handle, dict) else handle
    if not processes.alive(h.pid, h.start_time) or not _is_our_proxy(h.pid):
        return False
    with contextlib.suppress(ProcessLookupError):
        os.kill(h.pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not processes.alive(h.pid, h.start_time) and _threads_gone(h.pid):
            return True
        time.sleep(0.005)
    with contextlib.suppress(ProcessLookupError):
        os.kill(h.pid, signal.SIGKILL)
    return True


def _threads_gone(pid: int) -> bool:
    """A threaded process's leader turns zombie while its other threads still exit —
    and they still hold its files, the listening sockets included. The port is only
    free once the leader is the last task left (or the process is gone)."""
    try:
        return len(os.listdir(f"/proc/{pid}/task")) <= 1
    except FileNotFoundError:
        return True
