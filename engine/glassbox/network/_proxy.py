"""The userland port proxy in Python: the fallback of ``proxy/gbx-proxy.c``.

:func:`glassbox.network.ports.start_proxy` runs the compiled proxy when it is built
(``python -m glassbox.network.proxy``), else this tiny standalone program
(standard library only); ``GLASSBOX_PROXY=python`` forces this one. Same contract.

Started by :func:`glassbox.network.ports.start_proxy` as
``python -S -E _proxy.py --container ID --owner TAG --watch PID:START SPEC...`` with the
*already bound* listening sockets inherited as file descriptors, one SPEC per
published port: ``FD:tcp|udp:CONTAINER_IP:CONTAINER_PORT``.

* TCP: accept, connect to the container address, copy bytes both ways (two
  threads per connection), pass half-closes on (``shutdown(SHUT_WR)``).
* UDP: one upstream socket per client address, replies go back to that client;
  idle flows are dropped after 60 s.
* It exits on SIGTERM/SIGINT, and by itself when the watched process (the
  container's init) is gone — a crashed engine does not leave it running forever.

It imports nothing from glassbox (``-S`` skips site-packages: ~10 ms to start).
"""

import os
import selectors
import signal
import socket
import sys
import threading
import time

UDP_IDLE = 60.0
BUF = 65536


def _pump(src, dst):
    try:
        while True:
            data = src.recv(BUF)
            if not data:
                break
            dst.sendall(data)
    except OSError:
        pass
    finally:
        try:
            dst.shutdown(socket.SHUT_WR)
        except OSError:
            pass


def _connect_upstream(target, patience: float = 2.0):
    """Connect to the container; a container that is just starting may refuse
    (or its address may not answer ARP yet) for a moment: retry briefly."""
    deadline = time.monotonic() + patience
    while True:
        try:
            upstream = socket.create_connection(target, timeout=10)
            upstream.settimeout(None)
            return upstream
        except OSError:
            if time.monotonic() >= deadline:
                raise
            time.sleep(0.05)


def _tcp_conn(client, target):
    try:
        upstream = _connect_upstream(target)
    except OSError:
        client.close()
        return
    t = threading.Thread(target=_pump, args=(upstream, client), daemon=True)
    t.start()
    _pump(client, upstream)
    t.join()
    client.close()
    upstream.close()


def serve_tcp(listener, target):
    while True:
        try:
            client, _ = listener.accept()
        except OSError:
            return
        threading.Thread(target=_tcp_conn, args=(client, target), daemon=True).start()


def serve_udp(listener, target):
    flows = {}  # client address -> [upstream socket, last activity]
    lock = threading.Lock()
    sel = selectors.DefaultSelector()
    sel.register(listener, selectors.EVENT_READ, None)
    while True:
        for key, _ in sel.select(timeout=5):
            if key.data is None:
                try:
                    data, client = listener.recvfrom(BUF)
                except OSError:
                    continue
                with lock:
                    flow = flows.get(client)
                    if flow is None:
                        up = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
                        up.connect(target)
                        flow = flows[client] = [up, time.monotonic()]
                        sel.register(up, selectors.EVENT_READ, client)
                flow[1] = time.monotonic()
                try:
                    flow[0].send(data)
                except OSError:
                    pass
            else:
                client = key.data
                try:
                    data = key.fileobj.recv(BUF)
                    listener.sendto(data, client)
                    flows[client][1] = time.monotonic()
                except OSError:
                    pass
        now = time.monotonic()
        for client, (up, last) in list(flows.items()):
            if now - last > UDP_IDLE:
                sel.unregister(up)
                up.close()
                del flows[client]


def _start_time(pid):
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            data = f.read()
    except OSError:
        return None
    return int(data[data.rindex(b")") + 2:].split()[19])


def watch(pid, start):
    while True:
        now = _start_time(pid)
        if now is None or (start and now != start):
            os._exit(0)
        time.sleep(1.0)


def main(argv):
    watch_pid = watch_start = 0
    specs = []
    i = 0
    while i < len(argv):
        a = argv[i]
        if a == "--watch":
            watch_pid, watch_start = (int(x) for x in argv[i + 1].split(":"))
            i += 2
        elif a in ("--container", "--owner"):
            i += 2  # only a label, so `ps` shows whose proxy this is
        else:
            specs.append(a)
            i += 1
    signal.signal(signal.SIGTERM, lambda *_: os._exit(0))
    signal.signal(signal.SIGINT, lambda *_: os._exit(0))
    for spec in specs:
        fd, proto, ip, port = spec.split(":")
        kind = socket.SOCK_STREAM if proto == "tcp" else socket.SOCK_DGRAM
        sock = socket.socket(socket.AF_INET, kind, fileno=int(fd))
        serve = serve_tcp if proto == "tcp" else serve_udp
        threading.Thread(target=serve, args=(sock, (ip, int(port))), daemon=True).start()
    if watch_pid:
        watch(watch_pid, watch_start)
    while True:
        signal.pause()


if __name__ == "__main__":
    main(sys.argv[1:])
