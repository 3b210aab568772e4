"""Figures a reader can read: each figure's description for its alt text, a check for labels drawn over each
other, and two fixes the book's figures use (labels spread apart, log axes in plain numbers).
:mod:`.plots` re-exports them."""

from __future__ import annotations

import numpy as np
from matplotlib.text import Text
from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter

__all__ = ["describe", "overlapping_labels", "spread_labels", "plain_log_ticks"]


def describe(fig) -> str:
    """What a figure shows, in words, for its alt text: its overall title and each panel's title (or, for
    a panel without one, its y label against its x label). Empty when the figure has none of these, which
    the book's page check then reports."""
    parts = []
    sup = getattr(fig, "_suptitle", None)
    if sup is not None and sup.get_text().strip():
        parts.append(sup.get_text().strip())
    for ax in fig.axes:
        title = next((t for t in (ax.get_title(loc) for loc in ("center", "left", "right")) if t.strip()), "")
        if title:
            parts.append(title.strip())
        elif ax.get_ylabel().strip() and ax.get_xlabel().strip():
            parts.append(f"{ax.get_ylabel().strip()} against {ax.get_xlabel().strip()}")
    return "; ".join(dict.fromkeys(" ".join(p.split()) for p in parts))


def overlapping_labels(fig, tolerance_px: float = 2.0) -> list[str]:
    """Pairs of a figure's texts (titles, axis labels, tick labels, annotations, legend entries) whose boxes,
    as drawn, overlap by more than ``tolerance_px`` in both directions: labels a reader cannot read. Each pair is
    written ``'first' / 'second'``. The book's kernels record them with every figure shown
    (:func:`retention_lib.machinery.session.start`), and a test keeps their number from growing."""
    fig.draw_without_rendering()  # lay out legends and ticks where they will be drawn
    renderer = fig.canvas.get_renderer()
    hidden = set()  # tick labels of ticks outside the view: they exist, but are never drawn
    for ax in fig.axes:
        for axis in (ax.xaxis, ax.yaxis):
            low, high = sorted(axis.get_view_interval())
            for tick in axis.get_major_ticks() + axis.get_minor_ticks():
                if not low - 1e-9 * abs(high - low) <= tick.get_loc() <= high + 1e-9 * abs(high - low):
                    hidden.update({id(tick.label1), id(tick.label2)})
    texts = []
    for t in fig.findobj(Text):
        if id(t) in hidden or not t.get_visible() or not t.get_text().strip() or t.get_figure() is None:
            continue
        try:
            box = Text.get_window_extent(t, renderer)  # an annotation's text, not its arrow
        except (RuntimeError, ValueError):  # a text without a position
            continue
        if box.width > 0 and box.height > 0 and np.all(np.isfinite(box.extents)):
            texts.append((" ".join(t.get_text().split()), box))
    found = []
    for i, (a, box_a) in enumerate(texts):
        for b, box_b in texts[i + 1 :]:
            dx = min(box_a.x1, box_b.x1) - max(box_a.x0, box_b.x0)
            dy = min(box_a.y1, box_b.y1) - max(box_a.y0, box_b.y0)
            if dx > tolerance_px and dy > tolerance_px:
                found.append(f"{a!r} / {b!r}")
    return found


def spread_labels(annotations, step: float = 12.0, tries: int = 15) -> None:
    """Move each annotation (placed with ``textcoords="offset points"``) up or down, by ``step`` points at a
    time, until its text, as drawn, overlaps none of the annotations placed before it: close points get a stack
    of labels, not a pile. Other texts of the figure are not avoided (:func:`overlapping_labels` reports any
    clash); an annotation with no free place within ``tries`` steps stays where it was."""
    annotations = list(annotations)
    if not annotations:
        return
    fig = annotations[0].get_figure()
    fig.draw_without_rendering()
    renderer = fig.canvas.get_renderer()
    placed = []
    for a in annotations:
        dx, dy = a.xyann
        for k in [0] + [s * i for i in range(1, tries) for s in (-1, 1)]:
            a.xyann = (dx, dy + k * step)
            box = Text.get_window_extent(a, renderer)  # the text alone: an arrow's box would block everything
            if not any(box.overlaps(b) for b in placed):
                break
        else:  # no free place within reach: back where it was (the kernel's overlap check will report it)
            a.xyann = (dx, dy)
            box = Text.get_window_extent(a, renderer)
        placed.append(box)


def plain_log_ticks(axis) -> None:
    """A log-scale axis labelled in plain numbers (200, 500, 1,000) at steps of 1, 2 and 5 (at powers of ten alone
    when the axis spans more than 1.3 decades), its minor ticks unlabelled: matplotlib's default writes 2x10^2,
    3x10^2, ... side by side, into each other. Call it after the data are plotted (it reads the axis' span)."""
    low, high = sorted(abs(v) for v in axis.get_view_interval())
    wide = low > 0 and np.log10(high / low) > 1.3  # over more than a decade, 1-2-5 steps crowd: powers of ten alone
    axis.set_major_locator(LogLocator(base=10, subs=(1.0,) if wide else (1.0, 2.0, 5.0)))
    axis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:,.0f}" if v >= 1 else f"{v:g}"))
    axis.set_minor_formatter(NullFormatter())
