"""glassbox.jupyter plots and layer layout: pure functions, headless (Agg)."""

import matplotlib

matplotlib.use("Agg")

from glassbox.jupyter import plots  # noqa: E402
from glassbox.layertree import ImageStack, LayerInfo, RWLayer, layout  # noqa: E402

MIB = 1024 * 1024
BASE = [LayerInfo("sha256:" + "a" * 64, 2_000_000, "ADD rootfs.tar /"),
        LayerInfo("sha256:" + "b" * 64, 1000, "RUN apk add curl")]


def stack(name, own, base=BASE):
    layers = tuple(base) + tuple(LayerInfo("sha256:" + c * 64, 10, f"RUN {name}") for c in own)
    return ImageStack(name, "sha256:" + (name.encode().hex() * 64)[:64], layers)


def gids(fig, prefix):
    out = []
    for ax in fig.axes:
        for a in list(ax.patches) + list(ax.lines) + list(ax.texts) + list(ax.collections):
            if (a.get_gid() or "").startswith(prefix):
                out.append(a)
    return out


def test_stats_figure_draws_cpu_memory_and_limit_line():
    t = [0, 0.2, 0.4, 0.6]
    fig = plots.stats_figure(t, [0, 50, 100, 90], [1 * MIB, 5 * MIB, 9 * MIB, 9 * MIB],
                             [16 * MIB, 16 * MIB, 32 * MIB, 32 * MIB], title="hog")
    assert len(fig.axes) == 2
    assert len(gids(fig, "cpu")) == 1
    assert len(gids(fig, "memory")) == 2          # memory line and memory-limit line
    limit = gids(fig, "memory-limit")
    assert len(limit) == 1
    assert max(limit[0].get_ydata()) == 32        # the limit step, in MiB
    assert gids(fig, "oom") == []                 # no OOM -> no marker
    assert plots.to_png(fig).startswith(b"\x89PNG")


def test_stats_figure_without_limit_has_no_limit_line():
    fig = plots.stats_figure([0, 1], [0, 10], [MIB, MIB], [None, None])
    assert gids(fig, "memory-limit") == []


def test_stats_figure_marks_oom_kill():
    fig = plots.stats_figure([0, 0.2, 0.4], [0, 99, 0], [MIB, 15 * MIB, 0],
                             [16 * MIB] * 3, oom_at=0.4, exit_code=137, title="oom")
    marks = [a for a in gids(fig, "oom") if a.get_gid() == "oom"]
    assert len(marks) == 2                        # one vertical line on each axis
    assert list(marks[0].get_xdata()) == [0.4, 0.4]
    assert gids(fig, "oom-label")[0].get_text() == "OOM kill"
    assert "137" in fig.axes[0].get_title()


def test_figure_from_sampler_columns():
    cols = {"t": [0, 0.2], "cpu": [0, 10], "memory": [MIB, MIB], "limit": [None, 8 * MIB],
            "oom": True, "oom_at": 0.2, "exit_code": 137, "name": "x"}
    fig = plots.figure_from_columns(cols)
    assert gids(fig, "memory-limit") and gids(fig, "oom")


def test_layout_shares_base_once_and_orders_columns():
    a, b = stack("app", "c"), stack("web", "de")
    boxes, cols = layout([a, b, a])               # the same image twice is one column
    assert cols == ["app", "web"]
    by_key = {}
    for box in boxes:
        by_key.setdefault(box.key, []).append(box)
    base = by_key["sha256:" + "a" * 64]
    assert len(base) == 1 and (base[0].x0, base[0].x1, base[0].level) == (0, 2, 0)
    assert set(base[0].images) == {"app", "web"}
    own = by_key["sha256:" + "d" * 64][0]
    assert (own.x0, own.x1, own.level) == (1, 2, 2)
    assert "RUN web" in by_key["sha256:" + "e" * 64][0].label


def test_layout_same_layer_on_different_bases_is_two_boxes():
    other_base = [LayerInfo("sha256:" + "f" * 64, 5, "ADD other /")]
    x = stack("x", "c")
    y = stack("y", "c", base=other_base)
    boxes, _ = layout([x, y])
    assert len([b for b in boxes if b.key == "sha256:" + "c" * 64]) == 2


def test_layout_puts_rw_layer_above_its_image():
    a = stack("app", "c")
    rw = RWLayer("web1", a.image_id, 4096, (("A", "/hi"), ("C", "/etc"), ("D", "/tmp/x")))
    boxes, _ = layout([a, stack("web", "d")], [rw])
    box = [b for b in boxes if b.kind == "rw"][0]
    assert box.level == 3 and box.key == "rw:web1"
    assert "A1 C1 D1" in box.label and "/hi" in box.label


def test_layers_figure_draws_shared_layer_once():
    a, b = stack("hello:1", "c"), stack("busybox", "")
    rw = RWLayer("c1", a.image_id, 10)
    fig = plots.layers_figure([a, b], [rw])
    layer_patches = gids(fig, "layer:")
    keys = [p.get_gid() for p in layer_patches]
    assert keys.count("layer:sha256:" + "a" * 64) == 1
    assert keys.count("layer:sha256:" + "b" * 64) == 1
    assert len(layer_patches) == 3                # 2 shared + hello's own
    assert len(gids(fig, "rw:c1")) == 1
    names = {t.get_text() for t in gids(fig, "image:")}
    assert names == {"hello:1", "busybox"}
    labels = [t.get_text() for t in gids(fig, "label:sha256:" + "a" * 64)]
    assert labels and "aaaaaaaaaaaa" in labels[0] and "ADD rootfs.tar" in labels[0]
    assert plots.to_svg(fig).lstrip().startswith("<?xml")
