"""The port proxy on its own, both kinds: the compiled ``gbx-proxy`` and the Python
fallback (``GLASSBOX_PROXY=python``), with the same tests.

The "container" is a server thread of this test on 127.0.0.1: the proxy does
not care where its target is, and the traffic stays on loopback. (Publishing a
real container's port through a bridge is tested in test_network.py.)
"""

import hashlib
import os
import signal
import socket
import subprocess
import threading
import time
import uuid

import pytest

from glassbox import processes
from glassbox.network import proxy as native_proxy
from glassbox.network.ports import (is_proxy_cmdline, parse_publish,
                                    start_proxy, stop_proxy)

pytestmark = pytest.mark.system


def _tagged(tag):
    pids = []
    for pid in os.listdir("/proc"):
        if pid.isdigit():
            try:
                with open(f"/proc/{pid}/cmdline", "rb") as f:
                    cmd = f.read()
            except OSError:
                continue
            if is_proxy_cmdline(cmd) and tag.encode() in cmd:
                pids.append(int(pid))
    return pids


def _wait_gone(h, timeout=10.0):
    deadline = time.monotonic() + timeout
    while processes.alive(h.pid, h.start_time):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True


@pytest.fixture
def proxy(proxy_impl):
    """Factory: a proxy for ``spec`` (``[proto]`` and the target port) on loopback;
    stopped on teardown, and none of ours may be left running."""
    tag = f"test-proxy-{uuid.uuid4().hex[:8]}"
    handles = []

    def make(target_port, proto="tcp", watch_pid=0):
        h = start_proxy(parse_publish(f"127.0.0.1::{target_port}/{proto}"), "127.0.0.1",
                        container_id="c-" + tag, owner=tag, watch_pid=watch_pid)
        handles.append(h)
        with open(f"/proc/{h.pid}/cmdline", "rb") as f:
            argv0 = f.read().split(b"\0")[0]
        assert (argv0 == native_proxy.BINARY.encode()) == (proxy_impl == "c")
        return h
    yield make
    for h in handles:
        stop_proxy(h)
        assert _wait_gone(h)
    assert _tagged(tag) == [], "leaked port proxies"


def _listener(proto="tcp"):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM if proto == "tcp"
                      else socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", 0))
    return s


def _serve(srv, handler):
    """Accept on ``srv`` forever (until it is closed), one thread per connection."""
    def loop():
        while True:
            try:
                c, _ = srv.accept()
            except OSError:
                return
            threading.Thread(target=handler, args=(c,), daemon=True).start()
    threading.Thread(target=loop, daemon=True).start()


def _read_all(s):
    out = bytearray()
    while True:
        d = s.recv(1 << 20)
        if not d:
            return bytes(out)
        out += d


def _reply_after_eof(c):
    """A server that reads the whole request (to EOF) before it answers: only
    works when the client's half-close is passed on."""
    with c:
        data = _read_all(c)
        c.sendall(b"echo:" + data)


def _ask(port, msg, timeout=20):
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        s.sendall(msg)
        s.shutdown(socket.SHUT_WR)
        return _read_all(s)


def _fds(pid):
    return len(os.listdir(f"/proc/{pid}/fd"))


def _settled_fds(pid):
    """The proxy's fd count once it has finished starting (the Python one reports
    its pid before its interpreter has read the script)."""
    seen = []
    while len(seen) < 5 or len(set(seen[-5:])) > 1:
        seen.append(_fds(pid))
        time.sleep(0.02)
    return seen[-1]


def test_tcp_echo_with_half_close(proxy, proxy_impl):
    srv = _listener()
    srv.listen(8)
    _serve(srv, _reply_after_eof)
    try:
        h = proxy(srv.getsockname()[1])
        port = h.ports[0].host_port
        assert _ask(port, b"hello") == b"echo:hello"
        assert _ask(port, b"") == b"echo:"
        if proxy_impl == "c":
            with open(f"/proc/{h.pid}/comm") as f:
                assert f.read().strip() == "gbx-proxy"
    finally:
        srv.close()


def test_server_half_close_passed_to_client(proxy):
    """The other way round: the server shuts its write side first, the client
    sees EOF and can still send, and the server gets it."""
    got = []

    def handler(c):
        with c:
            c.sendall(b"banner")
            c.shutdown(socket.SHUT_WR)
            got.append(_read_all(c))
    srv = _listener()
    srv.listen(8)
    _serve(srv, handler)
    try:
        port = proxy(srv.getsockname()[1]).ports[0].host_port
        with socket.create_connection(("127.0.0.1", port), timeout=20) as s:
            assert _read_all(s) == b"banner"
            s.sendall(b"still talking")
            s.shutdown(socket.SHUT_WR)
            s.settimeout(20)
            assert s.recv(10) == b""  # the proxy closes once both ways are done
        deadline = time.monotonic() + 10
        while not got and time.monotonic() < deadline:
            time.sleep(0.01)
        assert got == [b"still talking"]
    finally:
        srv.close()


def test_many_concurrent_connections(proxy):
    n = 50
    srv = _listener()
    srv.listen(128)
    _serve(srv, _reply_after_eof)
    try:
        h = proxy(srv.getsockname()[1])
        port = h.ports[0].host_port
        fds = _settled_fds(h.pid)
        _ask(port, b"warm")
        barrier = threading.Barrier(n)
        answers = {}

        def client(i):
            with socket.create_connection(("127.0.0.1", port), timeout=30) as s:
                s.sendall(b"%d" % i)
                barrier.wait(timeout=30)  # all 50 open through the proxy at once
                s.shutdown(socket.SHUT_WR)
                answers[i] = _read_all(s)
        threads = [threading.Thread(target=client, args=(i,)) for i in range(n)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        assert answers == {i: b"echo:%d" % i for i in range(n)}
        deadline = time.monotonic() + 10  # every connection's fds are closed again
        while _fds(h.pid) != fds and time.monotonic() < deadline:
            time.sleep(0.02)
        assert _fds(h.pid) == fds
    finally:
        srv.close()


def test_large_transfer_is_byte_exact(proxy):
    def echo(c):  # streams back what it gets
        with c:
            while True:
                d = c.recv(1 << 16)
                if not d:
                    break
                c.sendall(d)
    srv = _listener()
    srv.listen(8)
    _serve(srv, echo)
    data = os.urandom(24 << 20)
    try:
        port = proxy(srv.getsockname()[1]).ports[0].host_port
        with socket.create_connection(("127.0.0.1", port), timeout=60) as s:
            def send():
                s.sendall(data)
                s.shutdown(socket.SHUT_WR)
            t = threading.Thread(target=send)
            t.start()
            back = _read_all(s)
            t.join()
        assert len(back) == len(data)
        assert hashlib.sha256(back).digest() == hashlib.sha256(data).digest()
    finally:
        srv.close()


def test_udp_round_trip(proxy):
    srv = _listener("udp")

    def loop():
        while True:
            try:
                d, a = srv.recvfrom(65536)
                srv.sendto(b"udp:" + d, a)
            except OSError:
                return
    threading.Thread(target=loop, daemon=True).start()
    try:
        port = proxy(srv.getsockname()[1], "udp").ports[0].host_port
        clients = [socket.socket(socket.AF_INET, socket.SOCK_DGRAM) for _ in range(3)]
        for i, c in enumerate(clients):
            c.settimeout(10)
            for j in range(3):  # each client gets its own replies, on its own flow
                msg = b"c%d-m%d" % (i, j)
                c.sendto(msg, ("127.0.0.1", port))
                assert c.recvfrom(100)[0] == b"udp:" + msg
        big = os.urandom(60000)
        clients[0].sendto(big, ("127.0.0.1", port))
        assert clients[0].recvfrom(65536)[0] == b"udp:" + big
        for c in clients:
            c.close()
    finally:
        srv.close()


def test_container_not_listening_yet_is_retried(proxy):
    """A container just starting refuses for a moment: the proxy retries (~2 s)."""
    srv = _listener()  # bound, not listening yet: connections are refused
    try:
        port = proxy(srv.getsockname()[1]).ports[0].host_port
        with socket.create_connection(("127.0.0.1", port), timeout=20) as s:
            s.sendall(b"early")
            s.shutdown(socket.SHUT_WR)
            time.sleep(0.4)
            srv.listen(8)
            _serve(srv, _reply_after_eof)
            assert _read_all(s) == b"echo:early"
    finally:
        srv.close()


def test_container_never_listening_closes_cleanly(proxy):
    srv = _listener()  # bound, never listening
    try:
        h = proxy(srv.getsockname()[1])
        port = h.ports[0].host_port
        fds = _settled_fds(h.pid)
        others = [socket.create_connection(("127.0.0.1", port), timeout=20)
                  for _ in range(3)]
        t = time.monotonic()
        with socket.create_connection(("127.0.0.1", port), timeout=20) as s:
            s.sendall(b"anyone?")
            try:
                assert s.recv(10) == b""  # closed after the patience window
            except ConnectionResetError:
                pass
        assert time.monotonic() - t < 15
        for o in others:  # waiting connections never blocked each other
            o.settimeout(20)
            try:
                assert o.recv(10) == b""
            except ConnectionResetError:
                pass
            o.close()
        assert processes.alive(h.pid, h.start_time)
        deadline = time.monotonic() + 10
        while _fds(h.pid) != fds and time.monotonic() < deadline:
            time.sleep(0.02)
        assert _fds(h.pid) == fds
        srv.listen(8)  # the container is up now: served
        _serve(srv, _reply_after_eof)
        assert _ask(port, b"now") == b"echo:now"
    finally:
        srv.close()


def test_exits_when_the_watched_process_dies(proxy):
    sleeper = subprocess.Popen(["sleep", "600"])
    try:
        h = proxy(9, watch_pid=sleeper.pid)
        assert processes.alive(h.pid, h.start_time)
    finally:
        sleeper.kill()
        sleeper.wait()
    assert _wait_gone(h)  # it polls once a second


def test_exits_when_the_watched_pid_is_another_process(proxy, monkeypatch):
    """Same pid, other start time: the pid was reused, the container is gone."""
    sleeper = subprocess.Popen(["sleep", "600"])
    try:
        real = processes.start_time
        monkeypatch.setattr(processes, "start_time",
                            lambda pid: real(pid) + 1 if pid == sleeper.pid else real(pid))
        h = proxy(9, watch_pid=sleeper.pid)
        monkeypatch.setattr(processes, "start_time", real)
        h.start_time = real(h.pid)
        assert _wait_gone(h)
    finally:
        sleeper.kill()
        sleeper.wait()


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_exits_on_signal(proxy, sig):
    h = proxy(9)
    os.kill(h.pid, sig)
    assert _wait_gone(h)
    assert stop_proxy(h) is False  # already gone: nothing signalled
