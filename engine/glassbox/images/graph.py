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


def _chain(img):
    cfg = img.config or {}
    return [h.get("created_by", "") for h in cfg.get("history") or []], list(img.diff_ids)


def _is_prefix(parent, child) -> bool:
    (ph, pl), (ch, cl) = _chain(parent), _chain(child)
    return len(ch) > len(ph) and ch[:len(ph)] == ph and cl[:len(pl)] == pl


def remove_with_parents(store, ref: str, *, force: bool = False, in_use=None) -> list[dict]:
    """``docker rmi``: remove ``ref`` and then, as Docker does, the untagged
    build-step images it was built on that no other image needs any more."""
    before = {img.id: img for img in store.list()}
    try:
        target = store.resolve(ref)
    except Exception:  # noqa: BLE001 — let remove() give the real error
        target = None
    out = store.remove(ref, force=force, in_use=in_use)
    if target is None or not any("Deleted" in row for row in out):
        return out
    in_use = in_use or (lambda _id: False)
    parents = sorted((img for img in before.values()
                      if img.id != target.id and not img.repo_tags
                      and _is_prefix(img, target)),
                     key=lambda img: -len(_chain(img)[0]))   # deepest step first
    for parent in parents:
        remaining = [img for img in store.list() if img.id != parent.id]
        if any(_is_prefix(parent, other) for other in remaining) or in_use(parent.id):
            break                                           # still somebody's base
        try:
            out.extend(row for row in store.remove(parent.id, in_use=in_use)
                       if "Deleted" in row)
        except Exception:  # noqa: BLE001 — a parent we cannot remove stays, like docker's
            break
    return out
