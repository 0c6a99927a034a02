"""Layer diagrams: which layers images share, and a container's read/write layer.

``layers("hello:1", "busybox", container=c)`` reads the store
(:mod:`.layertree`), draws with :func:`.plots.layers_figure`, and returns a
:class:`Diagram`: shown as a PNG in the cell, ``.save("layers.svg")`` to keep it.
"""

from __future__ import annotations

from .session import resolve


class Diagram:
    """A matplotlib figure that displays itself in a notebook and saves to a file."""

    def __init__(self, figure, description: str = "", data=None):
        self.figure = figure
        self.description = description
        self.data = data

    def _repr_png_(self) -> bytes:
        from .plots import to_png
        return to_png(self.figure)

    def svg(self) -> str:
        from .plots import to_svg
        return to_svg(self.figure)

    def save(self, path: str, **kw) -> str:
        """Write the picture (format from the extension: .png, .svg, .pdf)."""
        self.figure.savefig(path, bbox_inches="tight", **kw)
        return path

    def __repr__(self) -> str:
        return f"<Diagram {self.description}>"


def layers(*images, container=None, engine=None, title: str = "") -> Diagram:
    """Draw the layer stacks of ``images`` (names, ids or Image handles).

    Layers the images share are drawn once, at the bottom, as wide as the images
    that stand on them; each image's own layers on top; ``container`` (one or a
    list: handles, names or ids) adds its read/write layer above its image.
    Each box: short diff_id, size, and the instruction that made it.
    """
    from ..errors import InvalidArgument
    from ..layertree import stacks_from_engine
    from .plots import layers_figure
    eng = resolve(engine)
    if container is None:
        containers = []
    elif isinstance(container, (list, tuple)):
        containers = list(container)
    else:
        containers = [container]
    refs = [getattr(i, "ref", None) or str(i) for i in images]
    if not refs and not containers:
        raise InvalidArgument("layers() needs at least one image (e.g. layers('busybox'))")
    containers = [getattr(c, "id", None) or str(c) for c in containers]
    stacks, rws = stacks_from_engine(eng, refs, containers)
    fig = layers_figure(stacks, rws, title=title)
    desc = ", ".join(f"{s.name} ({len(s.layers)} layers)" for s in stacks)
    if rws:
        desc += " + R/W of " + ", ".join(r.container for r in rws)
    return Diagram(fig, desc, (stacks, rws))
