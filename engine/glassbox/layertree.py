"""Which layers do images share? The data behind :func:`glassbox.jupyter.layers`.

An image is a stack of layers named by content (``diff_id``). Two images built
``FROM`` the same base start with the same layers, so their stacks share a
bottom part, and the store keeps that part once. Put every stack into a *trie*
(a tree keyed by layer) and the sharing becomes visible: a layer is drawn once,
as wide as the set of images standing on it; each image's own layers sit on top
of it in its own column; a container's read/write layer (the overlay
``upperdir``) sits above the image it runs.

:func:`stacks_from_engine` reads the store (I/O); :func:`layout` is pure: it
turns stacks into boxes (column span, level) that :mod:`glassbox.jupyter.plots` draws (and the lab panel, in the browser).
"""

from __future__ import annotations

from dataclasses import dataclass, field


from .engine import LayerInfo  # noqa: E402 (the value Engine.image_layers returns)


@dataclass(frozen=True)
class ImageStack:
    name: str
    """What the user called it (``hello:1``), or the short id."""
    image_id: str
    layers: tuple[LayerInfo, ...]
    """Bottom (base) first."""


@dataclass(frozen=True)
class RWLayer:
    """A container's read/write layer: the overlay upper directory."""

    container: str
    image_id: str
    size: int
    changes: tuple[tuple[str, str], ...] = ()
    """``(kind, path)`` like ``glassbox diff``: A added, C changed, D deleted."""


@dataclass
class Box:
    """One rectangle of the diagram: columns ``[x0, x1)``, row ``level`` (0 = bottom)."""

    kind: str            # "layer" or "rw"
    key: str             # diff_id, or "rw:<container>"
    x0: int
    x1: int
    level: int
    size: int
    label: str
    images: tuple[str, ...] = field(default_factory=tuple)


def short(digest: str, n: int = 12) -> str:
    return digest.split(":", 1)[-1][:n]


def _trim(text: str, n: int = 48) -> str:
    text = " ".join(text.split())
    for prefix in ("/bin/sh -c #(nop) ", "/bin/sh -c "):
        if text.startswith(prefix):
            text = ("RUN " if prefix == "/bin/sh -c " else "") + text[len(prefix):]
    return text if len(text) <= n else text[:n - 1] + "…"


def human(n: int) -> str:
    from .present import human_size
    return human_size(n)


def layout(stacks: list[ImageStack], rw: list[RWLayer] = ()) -> tuple[list[Box], list[str]]:
    """Boxes for the diagram and the column titles (one column per image).

    Columns are ordered so images sharing a prefix of layers are neighbours:
    each shared layer is then one contiguous box spanning its images.
    A layer appears once per distinct *path* from the base (the same diff_id on
    two different bases is two different stacks, and drawn twice).
    """
    # de-duplicate images (the same id asked twice) and order by their layer chains
    seen, uniq = set(), []
    for s in stacks:
        if s.image_id not in seen:
            seen.add(s.image_id)
            uniq.append(s)
    uniq.sort(key=lambda s: tuple(l.diff_id for l in s.layers))
    col_of = {s.image_id: i for i, s in enumerate(uniq)}
    boxes: dict[tuple[str, ...], Box] = {}
    for s in uniq:
        path: tuple[str, ...] = ()
        for level, layer in enumerate(s.layers):
            path = path + (layer.diff_id,)
            box = boxes.get(path)
            col = col_of[s.image_id]
            if box is None:
                label = short(layer.diff_id) + "  " + human(layer.size)
                if layer.created_by:
                    label += "\n" + _trim(layer.created_by)
                boxes[path] = Box("layer", layer.diff_id, col, col + 1, level, layer.size, label,
                                  (s.name,))
            else:
                box.x1 = col + 1
                box.images = box.images + (s.name,)
    out = list(boxes.values())
    top = {s.image_id: len(s.layers) for s in uniq}
    for r in rw:
        if r.image_id not in col_of:
            continue
        col = col_of[r.image_id]
        kinds = {}
        for kind, _ in r.changes:
            kinds[kind] = kinds.get(kind, 0) + 1
        from .jupyter.messages import t
        summary = " ".join(f"{k}{kinds[k]}" for k in "ACD" if k in kinds) or t("layers.no_changes")
        paths = ", ".join(p for _, p in list(r.changes)[:3])
        label = f"R/W {r.container}  {human(r.size)}\n{summary}" + (f": {_trim(paths, 40)}"
                                                                     if paths else "")
        level = top[r.image_id]
        top[r.image_id] += 1
        out.append(Box("rw", "rw:" + r.container, col, col + 1, level, r.size, label,
                       (r.container,)))
    return out, [s.name for s in uniq]


# ---- reading the store (I/O) ----------------------------------------------------
def image_stack(eng, ref: str) -> ImageStack:
    """One image's layers with sizes (``store.layer_meta``) and ``created_by`` (history)."""
    layers = eng.image_layers(ref)          # local or over a daemon (RemoteEngine)
    name = ref if not ref.startswith("sha256:") else short(ref)
    return ImageStack(name, eng.image_resolve(ref).id, tuple(layers))


def rw_layer(eng, ref: str) -> RWLayer:
    """A container's read/write layer: its size and what it changed (``glassbox diff``)."""
    c = eng.get(ref)
    img = eng.image_resolve(c.config["Image"])
    try:
        changes = tuple(eng.diff(c.id))
    except (OSError, KeyError):
        changes = ()
    return RWLayer(c.name, img.id, eng.rw_size(c.id), changes)


def stacks_from_engine(eng, refs, containers=()) -> tuple[list[ImageStack], list[RWLayer]]:
    """Read the images ``refs`` and containers from the store. A container's image
    is added if it was not asked for."""
    stacks = [image_stack(eng, str(r)) for r in refs]
    rws = [rw_layer(eng, str(c)) for c in containers]
    have = {s.image_id for s in stacks}
    for r in rws:
        if r.image_id not in have:
            c = eng.get(r.container)
            stacks.append(image_stack(eng, c.config["Config"].get("Image") or r.image_id))
            have.add(r.image_id)
    return stacks, rws
