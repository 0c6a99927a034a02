"""How images relate: which untagged images are steps other images were built on.

A build leaves one image per step; only the last is tagged. Docker calls the
others *intermediate* images and hides them from ``docker images`` (``-a``
shows them); an untagged image nothing was built on is *dangling*.
"""

from __future__ import annotations


def intermediate_ids(images) -> set[str]:
    """Untagged images that another image was built on (build steps): Docker
    shows them only with ``images -a``."""
    def chain(img):
        cfg = img.config or {}
        return [h.get("created_by", "") for h in cfg.get("history") or []], list(img.diff_ids)
    chains = {img.id: chain(img) for img in images}
    out = set()
    for img in images:
        if img.repo_tags:
            continue
        hist, layers = chains[img.id]
        for other in images:
            if other.id == img.id:
                continue
            ohist, olayers = chains[other.id]
            if len(ohist) > len(hist) and ohist[:len(hist)] == hist and \
                    olayers[:len(layers)] == layers:
                out.add(img.id)
                break
    return out
