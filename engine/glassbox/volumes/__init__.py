"""Volumes: data that outlives the container (seed: the Docker Host's volumes).

A container's own writes land in its overlay upper dir and vanish with
``rm``. A *volume* is a directory the engine keeps outside every container
(``<root>/volumes/<name>/_data``) and bind-mounts into the ones that ask::

    glassbox volume create data
    glassbox run --rm -v data:/data busybox sh -c 'echo 1 >> /data/f'   # survives --rm
    glassbox run --rm -v "$PWD/site:/www:ro" busybox ls /www             # a host directory
    glassbox run --rm --tmpfs /scratch busybox df /scratch                # memory only

- :mod:`.specs` — ``-v`` / ``--mount`` / ``--tmpfs`` parsed into pure
  :class:`VolumeSpec` values, with Docker's rules and error texts;
- :mod:`.store` — :class:`VolumeManager`, the ``local`` driver on disk;
- :mod:`.copyup` — a new empty volume starts with the image's files;
- :mod:`.mounts` — :func:`resolve_mounts` turns a ``run`` request into the
  runtime's mounts; :class:`VolumeHooks` is what the container manager calls.

The notebook on volumes shows a volume's directory from the host while a
container writes into it.

Notebook: ``notebooks/en/09-volumes.ipynb``
"""

from .mounts import (VolumeHooks, inspect_mounts, plan_mounts, release_container_volumes,
                     resolve_mounts)
from .specs import (VolumeSpec, check_volume_name, parse_mount_spec, parse_tmpfs_spec,
                    parse_volume_spec, parse_volumes_from)
from .store import VolumeManager

__all__ = ["VolumeManager", "VolumeHooks", "VolumeSpec", "parse_volume_spec",
           "parse_mount_spec", "parse_tmpfs_spec", "parse_volumes_from", "resolve_mounts",
           "plan_mounts", "inspect_mounts", "check_volume_name", "release_container_volumes"]
