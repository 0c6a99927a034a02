"""Images: immutable layers stacked into a filesystem, named by content (seed a.4).

An image is a *config* (what to run: Cmd, Env, WorkingDir, ... plus the list
of layer ``diff_ids``) and an ordered list of *layers* (tars of filesystem
changes). Everything is addressed by sha256, so two images that share a base
share its layers on disk, and a layer unpacked once serves every container.

* :mod:`.reference` — ``busybox`` -> ``docker.io/library/busybox:latest``
* :mod:`.manifest`  — OCI / Docker media types, manifests, indexes
* :mod:`.layers`    — overlay upper dir <-> OCI layer tar (whiteouts), safe extraction
* :mod:`.compression` — gzip / zstd layers: recognise, inflate, deflate (stored pieces)
* :mod:`.streams`   — hashing readers, a zero-copy tar source, the hashing/writing helper thread
* :mod:`.store`     — the content-addressed store: blobs, layers, tags, rmi, prune, gc
* :mod:`.changes`   — ``commit -c`` / ``import -c`` Dockerfile instructions
* :mod:`.archive`   — ``save`` / ``load`` (docker-archive and OCI image layout)

Notebook: ``notebooks/en/04-images.ipynb`` shows the layer tree.
"""

from .reference import Reference, parse  # noqa: F401
from .store import DigestMismatch, Image, ImageStore, LayerRef  # noqa: F401
