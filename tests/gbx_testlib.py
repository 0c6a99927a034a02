"""Helpers shared by the test suites, in a module of its own name: ``from conftest
import ...`` is ambiguous once several directories' conftest files are collected in
one run (the first one imported owns the name)."""

from __future__ import annotations

import contextlib
import os
import time


def wait_for(pred, timeout: float = 20.0, every: float = 0.05) -> bool:
    """Poll ``pred`` (every 50 ms) until it is true or ``timeout`` seconds passed."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if pred():
            return True
        time.sleep(every)
    return False


def shim_pids(root: str = "/") -> set[int]:
    """Shims (and C monitors) watching containers under ``root``: a shim's cwd is
    its container's directory.

    Also the moment between the two names: the C monitor execs Python for the
    container's finish (``finish_main``), and until that names itself ``gbx-shim``
    its comm is the interpreter's. Missing it there made a leak check that saw
    "none left" and then, one look later, "one left" (the rare finish_main leak of
    stops 22–28: the helper was only starting)."""
    out = set()
    for pid in os.listdir("/proc"):
        if pid.isdigit():
            try:
                with open(f"/proc/{pid}/comm", "rb") as f:
                    if f.read().strip() not in (b"gbx-shim", b"gbx-monitor"):
                        with open(f"/proc/{pid}/cmdline", "rb") as c:
                            if b"import finish_main" not in c.read():
                                continue
                if os.readlink(f"/proc/{pid}/cwd").startswith(root):
                    out.add(int(pid))
            except OSError:
                pass
    return out


class FakeVerbs:
    """Mixed into a unit test's fake Engine: the Engine's typed verbs played by its
    fake parts (``ps`` is ``containers.list``, ``image_X`` is ``images.X``, every
    other verb the fake ``containers``' method of that name)."""

    def __getattr__(self, name):
        if name == "ps":
            return self.containers.list
        if name in ("pull", "push"):
            return getattr(self.registry, name)
        if name.startswith("image_"):
            return getattr(self.images, name[len("image_"):])
        if name.startswith("_"):
            raise AttributeError(name)
        return getattr(self.containers, name)


@contextlib.contextmanager
def http_server(ip: str, answer):
    """A tiny HTTP server on ``ip`` (a free port, yielded) whose ``GET /`` answers
    ``answer()`` (bytes; it may block, as a gate a test opens later: requests are
    served each in a thread). Shut down and closed on leaving."""
    import http.server
    import threading

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 — the http.server API
            body = answer()
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    srv = http.server.ThreadingHTTPServer((ip, 0), Handler)
    t = threading.Thread(target=srv.serve_forever, daemon=True)
    t.start()
    try:
        yield srv.server_address[1]
    finally:
        srv.shutdown()
        srv.server_close()
        t.join()
