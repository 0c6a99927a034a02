"""``glassbox build`` options that shape the RUN containers and the cache (issue 20).

``--add-host`` (the RUN steps' ``/etc/hosts``), ``--network`` (none, default = bridge, a
user network with a real service on it, host; an unknown one refused by name),
``--cache-from`` with an image saved on one state root and loaded into a fresh one,
and a RUN's stderr streamed while the step runs. Each test has its own state root
(``gbx``: leak-checked on teardown); the network tests add the ``net`` leak check.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import uuid

import pytest
from gbx_testlib import http_server

from glassbox.network.manager import remove_root_bridges

sys.path.insert(0, os.path.dirname(__file__))
from test_build import write_ctx  # noqa: E402
from test_network_cli import httpd, net, uniq, wait_running  # noqa: E402,F401

pytestmark = pytest.mark.system


@pytest.fixture(autouse=True)
def classic_output(gbx):
    """These tests read docker's legacy builder text (``--progress classic``)."""
    gbx.env["GLASSBOX_BUILD_PROGRESS"] = "classic"


def tag() -> str:
    return f"t{uuid.uuid4().hex[:8]}:1"


def image_id(gbx, ref: str, env=None) -> str:
    p = subprocess.run([_glassbox(), "image", "inspect", ref], env=env or gbx.env,
                       capture_output=True, check=True)
    doc = json.loads(p.stdout)
    return (doc[0] if isinstance(doc, list) else doc)["Id"]


def _glassbox() -> str:
    return os.path.join(os.path.dirname(sys.executable), "glassbox")   # the venv's CLI


def test_add_host_lines_are_in_every_run_steps_etc_hosts(gbx, tmp_path):
    ctx = write_ctx(tmp_path / "ctx", {"Dockerfile": f"""\
FROM busybox
RUN cp /etc/hosts /hosts-1 # {uuid.uuid4().hex}
RUN cp /etc/hosts /hosts-2
"""})
    t = tag()
    gbx.out("build", "--add-host", "db:10.1.2.3", "--add-host", "mirror=fe80::7",
            "-t", t, ctx)
    for n in (1, 2):
        lines = [ln.split() for ln in gbx.out("run", "--rm", t, "cat", f"/hosts-{n}")
                 .splitlines()]
        assert ["10.1.2.3", "db"] in lines and ["fe80::7", "mirror"] in lines, lines
        assert ["127.0.0.1", "localhost"] in lines
    # a container made from the image does not inherit them (a build option only)
    assert "10.1.2.3" not in gbx.out("run", "--rm", t, "cat", "/etc/hosts")


def test_bad_network_or_add_host_is_refused_by_name_before_any_step(gbx, tmp_path):
    ctx = write_ctx(tmp_path / "ctx", {"Dockerfile": "FROM busybox\nRUN touch /x\n"})
    for args, word in ((["--network", "nosuchnet"], "nosuchnet"),
                       (["--network", "container:abc"], "container:abc"),
                       (["--add-host", "no-address"], "no-address"),
                       (["--add-host", "db:not-an-ip"], "not-an-ip")):
        r = gbx.cli("build", *args, ctx)
        err = r.stderr.decode()
        assert r.returncode == 125 and word in err, (args, r.returncode, err)
        assert b"Step" not in r.stdout, r.stdout       # refused before the first step
    assert gbx.out("ps", "-a", "-q") == ""


def _interfaces(gbx, ref: str) -> dict[str, str]:
    """``{ifname: ipv4 or ""}`` as a RUN step saw them (written to /ifs)."""
    out = {}
    for line in gbx.out("run", "--rm", ref, "cat", "/ifs").splitlines():
        name, _, addr = line.partition(" ")
        out[name] = addr
    return out


def test_network_none_default_and_bridge(gbx, net, tmp_path):  # noqa: F811
    ctx = write_ctx(tmp_path / "ctx", {"Dockerfile": """\
FROM busybox
RUN for i in $(ls /sys/class/net); do \
      echo "$i $(ip -4 -o addr show $i | awk '{print $4}')"; done > /ifs
"""})
    t = tag()
    gbx.out("build", "--no-cache", "--network", "none", "-t", t, ctx)
    assert list(_interfaces(gbx, t)) == ["lo"]
    # default (what the docker CLI sends) is the default bridge, as dockerd's docker0
    for mode in ("default", "bridge"):
        t = tag()
        gbx.out("build", "--no-cache", "--network", mode, "-t", t, ctx)
        ifs = _interfaces(gbx, t)
        assert sorted(ifs) == ["eth0", "lo"], (mode, ifs)
        bridge = json.loads(gbx.out("network", "inspect", "bridge"))
        bridge = bridge[0] if isinstance(bridge, list) else bridge
        import ipaddress
        subnet = ipaddress.IPv4Network(bridge["IPAM"]["Config"][0]["Subnet"])
        assert ipaddress.IPv4Interface(ifs["eth0"]).ip in subnet, (mode, ifs, subnet)
    assert gbx.out("ps", "-a", "-q") == ""


def test_network_user_network_reaches_a_service_by_name(gbx, net, tmp_path):  # noqa: F811
    labnet, web = uniq("bnet"), uniq("web")
    gbx.out("network", "create", labnet)
    try:
        gbx.out("run", "-d", "--name", web, "--network", labnet, "busybox",
                *httpd("served-to-the-build"))
        wait_running(gbx, web)
        ctx = write_ctx(tmp_path / "ctx", {"Dockerfile": f"""\
FROM busybox
RUN for i in $(seq 100); do wget -q -O /page http://{web}:8080/ && break; sleep 0.1; done; \
    cat /page
"""})
        t = tag()
        out = gbx.out("build", "--network", labnet, "-t", t, ctx)
        assert "served-to-the-build" in out, out
        assert gbx.out("run", "--rm", t, "cat", "/page") == "served-to-the-build\n"
        # the same Dockerfile without a network cannot reach it
        r = gbx.cli("build", "--no-cache", "--network", "none", ctx)
        assert r.returncode == 1 and b"returned a non-zero code" in r.stderr, r.stderr
    finally:
        gbx.cli("rm", "-f", web)
        gbx.cli("network", "rm", labnet)


def test_cache_from_an_image_loaded_into_a_fresh_state_root(gbx, tmp_path):
    dockerfile = f"""\
FROM busybox
COPY a.txt /a.txt
RUN echo built-{uuid.uuid4().hex} > /stamp
ENV E=1
CMD ["cat", "/stamp"]
"""
    ctx = write_ctx(tmp_path / "ctx", {"Dockerfile": dockerfile, "a.txt": "a\n"})
    t = tag()
    gbx.out("build", "-t", t, ctx)
    source = image_id(gbx, t)
    stamp = gbx.out("run", "--rm", t)
    archive = str(tmp_path / "img.tar")
    gbx.out("save", "-o", archive, t, "busybox")

    # a fresh state root: the image and its base loaded, no intermediate images, no cache
    fresh = dict(gbx.env, GLASSBOX_ROOT=str(tmp_path / "root-fresh"))

    def cli(*args, check=True):
        p = subprocess.run([_glassbox(), *args], env=fresh, capture_output=True, timeout=180)
        if check:
            assert p.returncode == 0, (args, p.stdout, p.stderr)
        return p
    try:
        cli("load", "-i", archive)
        out = cli("build", "--cache-from", t, "-t", "again:1", ctx).stdout.decode()
        assert out.count(" ---> Using cache") == 4 and "Running in" not in out, out
        # cached all the way down: the very image it was cached from
        assert image_id(gbx, "again:1", env=fresh) == source
        assert cli("run", "--rm", "again:1").stdout.decode() == stamp
        # one step more at the end: the steps before it come from the image, it runs
        more = write_ctx(tmp_path / "more", {"Dockerfile": dockerfile + "RUN touch /more\n",
                                             "a.txt": "a\n"})
        out = cli("build", "--cache-from", t, more).stdout.decode()
        assert out.count(" ---> Using cache") == 4 and out.count("Running in") == 1, out
        # a changed file: that COPY and every step after it are built again
        changed = write_ctx(tmp_path / "changed", {"Dockerfile": dockerfile, "a.txt": "b\n"})
        out = cli("build", "--cache-from", t, changed).stdout.decode()
        assert "Using cache" not in out and out.count("Running in") == 1, out
        # without --cache-from the loaded image is no cache: the RUN runs
        out = cli("build", "--no-cache", ctx).stdout.decode()
        assert "Using cache" not in out and "Running in" in out, out
        # an image that is not there: a warning, and the build goes on
        p = cli("build", "--cache-from", "nosuch:1", ctx)
        assert b"nosuch:1" in p.stderr and b"Successfully built" in p.stdout, p.stderr
        assert cli("ps", "-a", "-q").stdout == b""
    finally:
        for c in cli("ps", "-a", "-q", check=False).stdout.decode().split():
            cli("rm", "-f", c, check=False)
        remove_root_bridges(fresh["GLASSBOX_ROOT"])   # its RUN steps made its default bridge


def test_run_stderr_streams_while_the_step_runs(gbx, tmp_path):
    """The RUN writes a line to stderr, then blocks on an HTTP request to the test;
    the test answers only after that line reached ``glassbox build``'s output. A
    builder that held stderr back until the step ends would make the RUN fetch
    "stderr-never-seen" (after the gate's 120 s), and the assert fail."""
    seen = threading.Event()   # the gate: answered once the stderr line came out
    with http_server("127.0.0.1", lambda: b"after-stderr\n" if seen.wait(120)
                     else b"stderr-never-seen\n") as port:
        ctx = write_ctx(tmp_path / "ctx", {"Dockerfile": f"""\
FROM busybox
RUN echo to-stdout; echo waiting-on-stderr >&2; \
    wget -q -O /got http://127.0.0.1:{port}/; cat /got >&2
"""})
        p = subprocess.Popen([_glassbox(), "build", "--no-cache", "--network", "host", ctx],
                             env=gbx.env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        lines = []
        for raw in p.stdout:
            lines.append(raw.decode())
            if raw.strip() == b"waiting-on-stderr":
                seen.set()
        err = p.stderr.read().decode()
        assert p.wait(timeout=60) == 0, (lines, err)
    text = "".join(lines)
    assert seen.is_set(), text
    # stdout and stderr in the order written, the fetched answer after the gate opened
    assert text.index("to-stdout") < text.index("waiting-on-stderr") < \
        text.index("after-stderr") < text.index("Removing intermediate container"), text
