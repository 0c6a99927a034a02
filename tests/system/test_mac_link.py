"""``--mac-address`` and ``--link`` through the real CLI (issue 20).

A chosen MAC is the one the container's ``eth0`` has (read inside from
``/sys/class/net/eth0/address``) and the one inspect shows; a link puts the linked
container's address into this one's ``/etc/hosts`` under its name and alias. The
``net`` fixture proves no veth, bridge or endpoint record of the root is left.
"""

from __future__ import annotations

import json

import pytest

from test_network_cli import net, uniq  # noqa: F401  (the leak-checking fixture)

pytestmark = pytest.mark.system


def test_mac_address_is_the_containers_eth0_and_inspect_shows_it(gbx, net):  # noqa: F811
    n = uniq("mac")
    gbx.out("network", "create", n)
    try:
        out = gbx.out("run", "--rm", "--network", n, "--mac-address", "02:42:AC:1F:00:09",
                      "busybox", "cat", "/sys/class/net/eth0/address")
        assert out.strip() == "02:42:ac:1f:00:09"
        cid = gbx.out("run", "-d", "--network", n, "--mac-address", "02:42:ac:1f:00:0a",
                      "busybox", "sleep", "600").strip()
        doc = json.loads(gbx.out("inspect", cid))[0]
        assert doc["NetworkSettings"]["Networks"][n]["MacAddress"] == "02:42:ac:1f:00:0a"
        assert doc["Config"]["MacAddress"] == "02:42:ac:1f:00:0a"
        # a restart makes a new veth: it gets the chosen MAC again
        gbx.out("restart", "-t", "0", cid)
        assert gbx.out("exec", cid, "cat", "/sys/class/net/eth0/address").strip() == \
            "02:42:ac:1f:00:0a"
        gbx.out("rm", "-f", cid)
    finally:
        gbx.cli("network", "rm", n)


def test_without_mac_address_it_is_still_derived_from_the_ip(gbx, net):  # noqa: F811
    out = gbx.out("run", "--rm", "--network", "bridge", "busybox", "sh", "-c",
                  "cat /sys/class/net/eth0/address; ip -4 -o addr show eth0")
    mac, addr = out.split("\n", 1)
    ip = addr.split("inet ", 1)[1].split("/", 1)[0]
    assert mac.strip() == "02:42:" + ":".join(f"{int(b):02x}" for b in ip.split("."))


@pytest.mark.parametrize("mac,words", [
    ("02:42:ac:11:00", "expected six hexadecimal bytes"),
    ("zz:42:ac:11:00:02", "expected six hexadecimal bytes"),
    ("01:00:5e:00:00:01", "multicast"),
])
def test_a_bad_mac_is_125_naming_it(gbx, net, mac, words):  # noqa: F811
    p = gbx.cli("run", "--rm", "--network", "bridge", "--mac-address", mac, "busybox", "true")
    assert p.returncode == 125 and words in p.stderr.decode() and mac in p.stderr.decode(), \
        p.stderr
    assert gbx.engine.containers.list(all=True) == []


def test_mac_address_without_a_network_is_refused(gbx):
    p = gbx.cli("run", "--rm", "--mac-address", "02:42:ac:11:00:02", "busybox", "true")
    assert p.returncode == 125 and b"--network none" in p.stderr, p.stderr


def test_link_writes_the_linked_containers_address_into_etc_hosts(gbx, net):  # noqa: F811
    db = uniq("db")
    cid = gbx.out("run", "-d", "--name", db, "--network", "bridge", "busybox",
                  "sleep", "600").strip()
    try:
        ip = json.loads(gbx.out("inspect", cid))[0]["NetworkSettings"]["IPAddress"]
        web = uniq("web")
        wid = gbx.out("run", "-d", "--name", web, "--network", "bridge", "--link",
                      f"{db}:store", "busybox", "sleep", "600").strip()
        hosts = gbx.out("exec", wid, "cat", "/etc/hosts")
        assert f"{ip}\tstore {db}" in hosts, hosts
        assert gbx.out("exec", wid, "ping", "-c", "1", "-W", "2", "store")
        links = json.loads(gbx.out("inspect", wid))[0]["HostConfig"]["Links"]
        assert links == [f"/{db}:/{web}/store"]
        gbx.out("rm", "-f", wid)
    finally:
        gbx.cli("rm", "-f", cid)


def test_a_link_to_a_missing_container_is_125_naming_it(gbx, net):  # noqa: F811
    p = gbx.cli("run", "--rm", "--network", "bridge", "--link", "nosuchdb:db", "busybox", "true")
    assert p.returncode == 125 and b"No such container: nosuchdb" in p.stderr, p.stderr
    assert gbx.engine.containers.list(all=True) == []
