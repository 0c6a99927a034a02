"""Pull and push of a ~180 MB, 3-layer image to a local registry, side by side (issue 5).

    .venv/bin/python bench/pull_push.py [-n 3] [--mb 180] [--no-text]

* the registry is Debian's ``docker-registry`` on 127.0.0.1 (a fresh one per run, so no
  run benefits from blobs an earlier run left — and glassbox cannot mount them);
* **glassbox push**: ``glassbox push`` (the CLI, interpreter start included) from a root
  holding the image; **glassbox pull**: ``glassbox pull`` into an empty root — download,
  verify and *extract* every layer;
* **skopeo copy** of the same image as an OCI layout: ``oci:`` -> ``docker://`` (push)
  and ``docker://`` -> ``oci:`` (pull: download and verify; skopeo does not unpack);
* **docker push / docker pull** through the private dockerd of
  ``bench/setup_anchors.sh`` (``DOCKER_HOST``; it treats 127.0.0.1 as an insecure
  registry), measured in the same run against the same registry; skipped, with the
  reason, when no dockerd answers;
* a second, compressible image (text files) shows what gzip costs.

Not a test: prints medians and ratios.
"""

from __future__ import annotations

import argparse
import io
import os
import shutil
import statistics
import subprocess
import sys
import tarfile
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "tests", "interop"))
from _common import GLASSBOX, Load, docker_available, report  # noqa: E402
from registry_fixtures import RegistryProcess  # noqa: E402

import time  # noqa: E402


def layer_tar(path: str, size: int, text: bool, seed: int) -> None:
    """A tar of ~``size`` bytes: random (incompressible) or log-like text files."""
    with tarfile.open(path, "w", format=tarfile.PAX_FORMAT) as t:
        per = 8 << 20
        i = 0
        while size > 0:
            n = min(per, size)
            if text:
                line = (f"{seed:04d} INFO glassbox layer line with some repeated words %08d\n")
                data = "".join(line % k for k in range(n // len(line % 0) + 1)).encode()[:n]
            else:
                data = os.urandom(n)
            ti = tarfile.TarInfo(f"layer{seed}/file{i:03d}")
            ti.size, ti.mode, ti.mtime = len(data), 0o644, 1_600_000_000
            t.addfile(ti, io.BytesIO(data))
            size -= n
            i += 1


def build_image(root: str, mb: int, text: bool) -> tuple[str, int]:
    from glassbox.images import ImageStore
    store = ImageStore(root)
    layers = []
    with tempfile.TemporaryDirectory() as d:
        for k in range(3):
            p = os.path.join(d, f"l{k}.tar")
            layer_tar(p, mb * 1000_000 // 3, text, k)
            with open(p, "rb") as f:
                layers.append(store.import_layer(f))
    store.put_image({"config": {"Cmd": ["sh"]}}, layers, ["bench/app:1"])
    return "bench/app:1", sum(l.size for l in layers)


def timed_run(cmd, env=None):
    t = time.perf_counter()
    r = subprocess.run(cmd, capture_output=True, env=env)
    dt = time.perf_counter() - t
    if r.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed: {r.stderr.decode()[-2000:]}")
    return dt


def bench(label: str, mb: int, text: bool, n: int) -> None:
    work = tempfile.mkdtemp(prefix="gbx-bench-reg-")
    try:
        src = os.path.join(work, "src")
        t0 = time.perf_counter()
        ref, blob_bytes = build_image(src, mb, text)
        print(f"\n{label}: 3 layers, {blob_bytes / 1e6:.0f} MB of blobs "
              f"(built in {time.perf_counter() - t0:.1f}s)")
        env = dict(os.environ, GLASSBOX_ROOT=src, GLASSBOX_CONFIG=os.path.join(work, "cfg"))
        layout = os.path.join(work, "layout")
        from glassbox.images import ImageStore, archive
        with open(os.path.join(work, "oci.tar"), "wb") as f:
            archive.save(ImageStore(src), [ref], f, format="oci")
        os.mkdir(layout)
        subprocess.run(["tar", "-xf", os.path.join(work, "oci.tar"), "-C", layout], check=True)
        os.unlink(os.path.join(work, "oci.tar"))
        import json
        tag = json.load(open(os.path.join(layout, "index.json")))["manifests"][0][
            "annotations"]["org.opencontainers.image.ref.name"]
        skopeo = shutil.which("skopeo")
        res: dict[str, list[float]] = {"glassbox push": [], "glassbox pull": [], "skopeo copy (push)": [],
               "skopeo copy (pull)": [], "docker push": [], "docker pull": []}
        docker_tar = None
        if docker_available():
            docker_tar = os.path.join(work, "docker.tar")
            with open(docker_tar, "wb") as f:
                archive.save(ImageStore(src), [ref], f, format="docker")
        else:
            print("  docker push / docker pull: not measured (no dockerd answers; start one "
                  "with bench/setup_anchors.sh and export DOCKER_HOST)")
        load = Load()
        for i in range(n):
            reg = RegistryProcess(os.path.join(work, f"reg{i}")).start()
            try:
                target = f"{reg.host}/bench/app:1"
                subprocess.run([GLASSBOX, "tag", ref, target], env=env, check=True)
                res["glassbox push"].append(timed_run([GLASSBOX, "push", target], env))
                dst = os.path.join(work, f"dst{i}")
                denv = dict(env, GLASSBOX_ROOT=dst)
                res["glassbox pull"].append(timed_run([GLASSBOX, "pull", target], denv))
                shutil.rmtree(dst, ignore_errors=True)
                if skopeo:
                    sk = f"{reg.host}/bench/skopeo:1"
                    res["skopeo copy (push)"].append(timed_run(
                        [skopeo, "copy", "-q", "--dest-tls-verify=false", f"oci:{layout}:{tag}",
                         f"docker://{sk}"]))
                    out = os.path.join(work, f"skopeo-out{i}")
                    res["skopeo copy (pull)"].append(timed_run(
                        [skopeo, "copy", "-q", "--src-tls-verify=false", f"docker://{sk}",
                         f"oci:{out}:app"]))
                    shutil.rmtree(out, ignore_errors=True)
                if docker_tar:
                    dk = f"{reg.host}/bench/docker:1"
                    subprocess.run(["docker", "load", "-q", "-i", docker_tar], check=True,
                                   capture_output=True)
                    subprocess.run(["docker", "tag", ref, dk], check=True)
                    res["docker push"].append(timed_run(["docker", "push", "-q", dk]))
                    # pull into a dockerd that has none of the layers left
                    subprocess.run(["docker", "rmi", "-f", dk, ref], capture_output=True)
                    res["docker pull"].append(timed_run(["docker", "pull", "-q", dk]))
                    subprocess.run(["docker", "rmi", "-f", dk], capture_output=True)
            finally:
                reg.stop()
                shutil.rmtree(os.path.join(work, f"reg{i}"), ignore_errors=True)
            load.sample()
        print(f"  glassbox, skopeo and docker take turns, one fresh registry per round; {load}")
        rows = dict((k, v or None) for k, v in res.items())
        anchor = "docker" if docker_tar else "skopeo copy"
        print("  push:")
        report([(k, rows[k]) for k in ("glassbox push", "docker push", "skopeo copy (push)")],
               anchor=f"{anchor} push" if docker_tar else "skopeo copy (push)")
        print("  pull (glassbox and docker extract the layers; skopeo only stores them):")
        report([(k, rows[k]) for k in ("glassbox pull", "docker pull", "skopeo copy (pull)")],
               anchor=f"{anchor} pull" if docker_tar else "skopeo copy (pull)")
        gp, gl = statistics.median(res["glassbox push"]), statistics.median(res["glassbox pull"])
        print(f"  throughput: push {blob_bytes / gp / 1e6:.0f} MB/s, pull {blob_bytes / gl / 1e6:.0f} MB/s")
    finally:
        shutil.rmtree(work, ignore_errors=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("-n", type=int, default=3, help="runs per side (default 3)")
    ap.add_argument("--mb", type=int, default=180, help="image size in MB (default 180)")
    ap.add_argument("--no-text", action="store_true", help="skip the compressible image")
    a = ap.parse_args()
    if not os.path.exists("/usr/bin/docker-registry"):
        raise SystemExit("docker-registry is not installed (Debian package docker-registry)")
    bench("random data (incompressible)", a.mb, False, a.n)
    if not a.no_text:
        bench("text files (compressible)", a.mb, True, a.n)


if __name__ == "__main__":
    main()
