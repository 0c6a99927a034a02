"""Commit, save and load of big images, side by side with umoci and skopeo (issue 3).

    .venv/bin/python bench/images.py [-n 3] [--files 1000] [--file-kb 100] [--mb 180]
                                     [--skip-commit] [--skip-archive]

1. **commit**: a container writes 1,000 files of random data (100 MB) into its
   read/write layer — really, with ``glassbox run busybox sh -c 'head -c 100000
   /dev/urandom > /data/f$i ...'`` — then ``glassbox commit`` is timed (the CLI,
   interpreter start included; it tars + gzips the upper dir into a blob *and* unpacks
   it as a shared layer). The anchor, ``umoci repack``, gets the same 1,000 files
   (copied from that upper dir) in a fresh ``umoci unpack`` bundle of the same busybox
   image and is timed doing the same job: walk the rootfs, diff it against its mtree,
   write one gzip'd layer blob and a new manifest. Only the commit / repack step is
   timed; umoci does not unpack the new layer (its bundle already is the rootfs).
2. **save / load** of a ~180 MB image of 3 layers of random (incompressible) data:
   ``glassbox save -o`` and ``glassbox load -i`` (into an empty root each time: verify,
   store and *unpack* every layer) in docker-archive and OCI-layout formats, vs
   ``skopeo copy oci:DIR:tag docker-archive:FILE:name:tag`` and back (docker-archive ->
   ``oci:`` directory; skopeo does not unpack), plus ``oci-archive:`` (the exact
   counterpart of ``save --format oci``: a tar of an OCI layout). When a dockerd answers
   (see bench/setup_anchors.sh) ``docker save`` / ``docker load`` are timed too.

Every file lives in a private root under $TMPDIR, removed at the end. Not a test: prints
medians and ratios. The machine may be shared: figures are noisy.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import shutil
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _common import GLASSBOX, Root, docker_available, report  # noqa: E402

IMAGE = "bench/app:1"


def run(cmd, env=None, cwd=None) -> float:
    """Run ``cmd`` and return its wall time; a failure ends the bench with its stderr."""
    t = time.perf_counter()
    r = subprocess.run(cmd, capture_output=True, env=env, cwd=cwd)
    dt = time.perf_counter() - t
    if r.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed ({r.returncode}): "
                         f"{(r.stderr or r.stdout).decode(errors='replace')[-2000:]}")
    return dt




def oci_layout_of(root: Root, ref: str, dest: str) -> str:
    """``glassbox save --format oci`` unpacked as an OCI layout directory; returns its tag."""
    tar = dest + ".tar"
    run([GLASSBOX, "save", "--format", "oci", "-o", tar, ref], env=root.env)
    os.mkdir(dest)
    subprocess.run(["tar", "-xf", tar, "-C", dest], check=True)
    os.unlink(tar)
    with open(os.path.join(dest, "index.json")) as f:
        return json.load(f)["manifests"][0]["annotations"]["org.opencontainers.image.ref.name"]


# ---------------------------------------------------------------------------- commit
WRITE_LOOP = ("mkdir -p /data; i=0; while [ $i -lt {files} ]; do "
              "head -c {size} /dev/urandom > /data/f$i; i=$((i+1)); done")


def bench_commit(root: Root, work: str, n: int, files: int, size: int) -> None:
    print(f"== commit of a R/W layer holding {files} files x {size // 1000} kB "
          f"= {files * size / 1e6:.0f} MB (random) (n={n}) ==")
    umoci = shutil.which("umoci")
    layout = os.path.join(work, "umoci-layout")
    tag = oci_layout_of(root, "busybox:latest", layout) if umoci else None
    eng = root.engine()
    gbx, umo, walk, fill = [], [], [], []
    for i in range(n):
        name = f"gbxbench-commit-{os.getpid()}-{i}"
        t = time.perf_counter()
        run([GLASSBOX, "run", "--name", name, "busybox", "sh", "-c",
             WRITE_LOOP.format(files=files, size=size)], env=root.env)
        fill.append(time.perf_counter() - t)
        upper = eng.containers.get(name).config["Spec"]["upper_dir"]
        gbx.append(run([GLASSBOX, "commit", name, f"bench/commit:{i}"], env=root.env))
        if umoci:
            bundle = os.path.join(work, f"bundle{i}")
            run([umoci, "unpack", "--image", f"{layout}:{tag}", bundle])
            walk.append(run([umoci, "repack", "--image", f"{layout}:nochange{i}", bundle]))
            run(["cp", "-a", os.path.join(upper, "data"), os.path.join(bundle, "rootfs", "data")])
            umo.append(run([umoci, "repack", "--image", f"{layout}:commit{i}", bundle]))
            shutil.rmtree(bundle)
        eng.containers.remove(name, force=True)
        run([GLASSBOX, "rmi", f"bench/commit:{i}"], env=root.env)
    print(f"  (filling the R/W layer from inside the container took "
          f"{statistics.median(fill):.2f} s median; not counted)")
    report([("umoci repack (same files, fresh bundle)", umo or None),
            ("glassbox commit (CLI)", gbx),
            ("(umoci repack of an unchanged bundle)", walk or None)],
           anchor="umoci repack (same files, fresh bundle)")
    if walk:
        print("  (umoci walks and sha256-hashes the whole rootfs on every repack: busybox's\n"
              "   ~270 hard links to a 2 MB binary are hashed one by one, so an unchanged\n"
              "   bundle already costs the third row; glassbox reads only the upper dir)")
    shutil.rmtree(layout, ignore_errors=True)


# ------------------------------------------------------------------------ save / load
def layer_tar(size: int, seed: int) -> io.BytesIO:
    """An uncompressed layer tar of ~``size`` bytes of random data in 1 MB files."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as t:
        d = tarfile.TarInfo(f"layer{seed}")
        d.type, d.mode, d.mtime = tarfile.DIRTYPE, 0o755, 1_600_000_000
        t.addfile(d)
        for i in range(size // (1 << 20)):
            data = os.urandom(1 << 20)
            ti = tarfile.TarInfo(f"layer{seed}/file{i:03d}")
            ti.size, ti.mode, ti.mtime = len(data), 0o644, 1_600_000_000
            t.addfile(ti, io.BytesIO(data))
    buf.seek(0)
    return buf


def make_big_image(root: Root, mb: int) -> int:
    """Put ``IMAGE`` (3 layers of random data, ~``mb`` MB) in ``root``; returns blob bytes."""
    from glassbox.images import ImageStore
    store = ImageStore(root.dir)
    layers = [store.import_layer(layer_tar(mb * 1000_000 // 3, k)) for k in range(3)]
    store.put_image({"architecture": "amd64", "os": "linux", "config": {"Cmd": ["sh"]}},
                    layers, [IMAGE])
    return sum(layer.size for layer in layers)


def bench_archive(root: Root, work: str, n: int, mb: int) -> None:
    t0 = time.perf_counter()
    blob_bytes = make_big_image(root, mb)
    print(f"\n== save / load of a 3-layer image, {blob_bytes / 1e6:.0f} MB of gzip'd blobs "
          f"(random data; made in {time.perf_counter() - t0:.1f} s) (n={n}) ==")
    skopeo = shutil.which("skopeo")
    layout = os.path.join(work, "layout")
    tag = oci_layout_of(root, IMAGE, layout)
    res: dict[str, list[float]] = {}

    def add(key, dt):
        res.setdefault(key, []).append(dt)

    def out(name):  # a path that does not exist yet (skopeo refuses to overwrite)
        p = os.path.join(work, name)
        if os.path.isdir(p):
            shutil.rmtree(p)
        elif os.path.exists(p):
            os.unlink(p)
        return p

    archives = {}
    for i in range(n):
        for fmt in ("docker", "oci"):
            p = out(f"gbx-{fmt}.tar")
            add(f"glassbox save --format {fmt}",
                run([GLASSBOX, "save", "--format", fmt, "-o", p, IMAGE], env=root.env))
            archives[fmt] = p
            dst = out(f"gbx-load-root-{fmt}")
            add(f"glassbox load ({fmt} archive)",
                run([GLASSBOX, "load", "-q", "-i", p], env=dict(root.env, GLASSBOX_ROOT=dst)))
            shutil.rmtree(dst)
        if skopeo:
            p = out("skopeo-docker.tar")
            add("skopeo copy oci: -> docker-archive:",
                run([skopeo, "copy", "-q", f"oci:{layout}:{tag}", f"docker-archive:{p}:{IMAGE}"]))
            add("skopeo copy docker-archive: -> oci:",
                run([skopeo, "copy", "-q", f"docker-archive:{archives['docker']}",
                     f"oci:{out('skopeo-oci-dir')}:app"]))
            p = out("skopeo-oci.tar")
            add("skopeo copy oci: -> oci-archive:",
                run([skopeo, "copy", "-q", f"oci:{layout}:{tag}", f"oci-archive:{p}:{tag}"]))
            add("skopeo copy oci-archive: -> oci:",
                run([skopeo, "copy", "-q", f"oci-archive:{archives['oci']}",
                     f"oci:{out('skopeo-oci-dir2')}:app"]))
    if docker_available():
        run(["docker", "load", "-q", "-i", archives["docker"]])
        for i in range(n):
            add("docker save", run(["docker", "save", "-o", out("docker-save.tar"), IMAGE]))
        for i in range(n):
            run(["docker", "rmi", "-f", IMAGE])
            add("docker load", run(["docker", "load", "-q", "-i", archives["docker"]]))
        run(["docker", "rmi", "-f", IMAGE])

    if skopeo:
        sk_oci_dir = os.path.join(work, "skopeo-oci-dir")
        with open(os.path.join(sk_oci_dir, "index.json")) as f:
            mdesc = json.load(f)["manifests"][0]
        with open(os.path.join(sk_oci_dir, "blobs", *mdesc["digest"].split(":"))) as f:
            types = sorted({layer["mediaType"] for layer in json.load(f)["layers"]})
        print(f"  (skopeo's docker-archive -> oci: layers are {', '.join(types)})")

    def rows(*names):
        return [(k, res.get(k)) for k in names]

    sk = "skopeo copy oci: -> docker-archive:"
    print("  save, docker-archive:")
    report(rows(sk, "glassbox save --format docker", "docker save"), anchor=sk)
    sk = "skopeo copy docker-archive: -> oci:"
    print("  load, docker-archive:")
    report(rows(sk, "glassbox load (docker archive)", "docker load"), anchor=sk)
    sk = "skopeo copy oci: -> oci-archive:"
    print("  save, OCI layout:")
    report(rows(sk, "skopeo copy oci: -> docker-archive:", "glassbox save --format oci"),
           anchor=sk)
    sk = "skopeo copy oci-archive: -> oci:"
    print("  load, OCI layout:")
    report(rows(sk, "skopeo copy docker-archive: -> oci:", "glassbox load (oci archive)"),
           anchor=sk)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("-n", type=int, default=3, help="runs per side (default 3)")
    ap.add_argument("--files", type=int, default=1000)
    ap.add_argument("--file-kb", type=int, default=100, help="kB (1000 bytes) per file")
    ap.add_argument("--mb", type=int, default=180, help="save/load image size in MB")
    ap.add_argument("--skip-commit", action="store_true")
    ap.add_argument("--skip-archive", action="store_true")
    a = ap.parse_args()
    root = Root()
    work = tempfile.mkdtemp(prefix="gbx-bench-images-")
    try:
        if not a.skip_commit:
            bench_commit(root, work, a.n, a.files, a.file_kb * 1000)
        if not a.skip_archive:
            bench_archive(root, work, a.n, a.mb)
    finally:
        root.close()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
