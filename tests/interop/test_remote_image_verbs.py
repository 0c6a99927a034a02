"""The image verbs a front end calls — import, save, rmi, load, prune — answer alike on a
local ``Engine`` and on a ``RemoteEngine`` (the daemon client over a real ``glassbox
daemon``), and ``glassbox -H`` runs them through the daemon.

Each engine works on its own image name in the same state root: an image is imported
from a one-file rootfs tar, saved to a docker-archive, removed, loaded back from the
archive (same id), then shadowed by a second import under its tag so that the first
becomes dangling and ``image_prune`` deletes exactly it. What differs by nature (the
name) is left out of the comparison; each value is also checked on its own.
"""

from __future__ import annotations

import io
import tarfile
import uuid

import pytest

from glassbox.daemon.client import RemoteEngine
from glassbox.errors import GlassboxError, NotFound

pytestmark = [pytest.mark.interop]


def _rootfs(text: str) -> io.BytesIO:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as t:
        data = text.encode()
        info = tarfile.TarInfo("hello.txt")
        info.size = len(data)
        t.addfile(info, io.BytesIO(data))
    buf.seek(0)
    return buf


def _members(archive: bytes) -> list[str]:
    with tarfile.open(fileobj=io.BytesIO(archive)) as t:
        return sorted(t.getnames())


def _scenario(eng, name: str) -> dict:
    tag = f"{name}:1"
    first = eng.image_import(_rootfs("one"), tag, ['CMD ["/hello.txt"]'], "the first")
    saved = io.BytesIO()
    eng.image_save([tag], saved)
    removed = eng.image_remove(tag)
    try:
        eng.image_resolve(tag)
        still_there = True
    except NotFound:
        still_there = False
    saved.seek(0)
    loaded = eng.image_load(saved)
    back = eng.image_resolve(tag).id
    second = eng.image_import(_rootfs("two"), tag)          # the first is dangling now
    pruned = eng.image_prune()
    left = {i.id for i in eng.image_list()}
    eng.image_remove(tag)
    return {"first_is_id": first.startswith("sha256:"), "untagged": removed[0],
            "deleted_first": {"Deleted": first} in removed, "still_there": still_there,
            "archive": {"manifest.json", "repositories"} <= set(_members(saved.getvalue())),
            "loaded": loaded, "same_id": back == first, "second_differs": second != first,
            "pruned": pruned == [first], "second_kept": second in left and first not in left}


def test_image_verbs_answer_alike_locally_and_over_the_daemon(gbx, daemon):
    a, b = "gbl-" + uuid.uuid4().hex[:8], "gbr-" + uuid.uuid4().hex[:8]
    local = _scenario(gbx.engine, a)
    remote = _scenario(RemoteEngine(daemon.url), b)
    assert local["first_is_id"] and local["deleted_first"] and not local["still_there"]
    assert local["untagged"] == {"Untagged": f"{a}:1"}
    assert local["archive"] and local["loaded"] == [f"{a}:1"] and local["same_id"]
    assert local["second_differs"] and local["pruned"] and local["second_kept"]
    for r in (local, remote):
        r.pop("untagged"), r.pop("loaded")
    assert remote == local
    assert [i.repo_tags for i in gbx.engine.image_list()] == [("busybox:latest",)]


def test_oci_save_over_the_daemon_is_refused_with_the_reason(gbx, daemon):
    with pytest.raises(GlassboxError, match=r"'save --format oci' is not supported over -H"):
        RemoteEngine(daemon.url).image_save(["busybox"], io.BytesIO(), format="oci")


def test_cli_save_load_import_prune_over_dash_h(gbx, daemon, tmp_path):
    name = "gbh-" + uuid.uuid4().hex[:8]
    host = ["-H", daemon.url]
    one, two = tmp_path / "one.tar", tmp_path / "two.tar"
    one.write_bytes(_rootfs("one").getvalue())
    two.write_bytes(_rootfs("two").getvalue())
    first = gbx.out(*host, "import", "-c", 'CMD ["/hello.txt"]', str(one), f"{name}:1").strip()
    assert first == gbx.engine.image_resolve(f"{name}:1").id
    out = tmp_path / "saved.tar"
    gbx.out(*host, "save", "-o", str(out), f"{name}:1")
    assert "manifest.json" in _members(out.read_bytes())
    assert f"Deleted: {first}" in gbx.out(*host, "rmi", f"{name}:1")
    assert gbx.out(*host, "load", "-i", str(out)) == f"Loaded image: {name}:1\n"
    assert gbx.engine.image_resolve(f"{name}:1").id == first
    second = gbx.out(*host, "import", str(two), f"{name}:1").strip()   # the first: dangling
    assert second != first
    assert gbx.out(*host, "image", "prune") == f"Deleted Images:\ndeleted: {first}\n"
    gbx.out(*host, "rmi", f"{name}:1")
    assert [i.repo_tags for i in gbx.engine.image_list()] == [("busybox:latest",)]


def _volumes(eng, name: str) -> dict:
    made = eng.volume_create(name, labels={"course": "17"})
    anon = eng.volume_create()["Name"]                   # anonymous: pruned without --all
    listed = [v["Name"] for v in eng.volume_list({"label": ["course=17"]})]
    doc = eng.volume_inspect(name)
    pruned = eng.volume_prune()
    kept = name in [v["Name"] for v in eng.volume_list()]
    pruned_all = eng.volume_prune(all=True, filters={"label": ["course=17"]})
    try:
        eng.volume_inspect(name)
        gone = False
    except NotFound:
        gone = True
    eng.volume_remove(name, force=True)                   # force: no error for a gone one
    return {"made": made["Name"] == name, "listed": listed == [name],
            "labels": doc["Labels"], "pruned": pruned["VolumesDeleted"] == [anon],
            "kept": kept, "pruned_all": pruned_all["VolumesDeleted"] == [name],
            "gone": gone}


def test_volume_verbs_answer_alike_locally_and_over_the_daemon(gbx, daemon):
    local = _volumes(gbx.engine, "gbl-" + uuid.uuid4().hex[:8])
    remote = _volumes(RemoteEngine(daemon.url), "gbr-" + uuid.uuid4().hex[:8])
    assert local == {"made": True, "listed": True, "labels": {"course": "17"}, "pruned": True,
                     "kept": True, "pruned_all": True, "gone": True}
    assert remote == local
    assert gbx.engine.volume_list() == []
