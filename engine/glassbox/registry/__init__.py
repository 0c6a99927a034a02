"""Registries: pull and push images over the OCI distribution spec (seed a.4 / a.5).

A registry is an HTTP server that stores the same three kinds of blobs the
image store keeps (manifests, configs, layers), addressed by sha256. Pulling
is fetching what the store lacks; pushing is uploading what the registry
lacks — in both directions a layer that is already there is never moved again.

* :mod:`.auth`      — ``config.json`` logins, Basic and Bearer-token challenges
* :mod:`.transport` — HTTP(S) to one registry: scheme, keep-alive, auth retry, errors
* :mod:`.blobs`     — resumable blob downloads, hash + extract in one pass
* :mod:`.client`    — :class:`RegistryClient`: ``pull``, ``push``, ``login``, ``logout``
* :mod:`.fake`      — an in-process fake registry for unit tests and offline demos

Notebook: ``notebooks/en/07-registry.ipynb`` pushes to a local registry and
watches per-layer progress (the same events ``glassbox pull`` draws as bars).
"""

from .client import RegistryClient, parse_platform  # noqa: F401
