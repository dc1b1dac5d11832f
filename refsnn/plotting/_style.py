"""One palette and one way to make axes, shared by the plotting modules.

The palette is Okabe & Ito's (2008) colour-blind-safe set. Every plot takes its colours
from :data:`COLORS` (by role) or :data:`CYCLE` (for a list of curves), so the IF neuron is
always vermillion, the parallel neuron always blue and the ANN always black (labels
come from :mod:`refsnn.plotting.vocabulary`).
Two styles: the pages' (each function's own size and type) and :func:`as_slide`, the same
figure at 16:9 with type large enough for a lecture hall.
"""

import numpy as np


#: Okabe–Ito colours, plus a neutral grey for guides (thresholds, y = x, zero lines).
OKABE_ITO = {
    "black": "#000000",
    "orange": "#E69F00",
    "sky_blue": "#56B4E9",
    "green": "#009E73",
    "yellow": "#F0E442",
    "blue": "#0072B2",
    "vermillion": "#D55E00",
    "purple": "#CC79A7",
    "grey": "#999999",
}

#: Colour of each role, used by every plot in :mod:`refsnn.plotting`.
COLORS = {
    "ann": OKABE_ITO["black"],
    "qcfs": OKABE_ITO["black"],
    "if": OKABE_ITO["vermillion"],
    "parallel": OKABE_ITO["blue"],
    "parallel_calibrated": OKABE_ITO["green"],
    "training_free": OKABE_ITO["purple"],
    "relu": OKABE_ITO["orange"],
    "spike": OKABE_ITO["black"],
    "guide": OKABE_ITO["grey"],
    "highlight": OKABE_ITO["sky_blue"],
    "before": OKABE_ITO["vermillion"],
    "after": OKABE_ITO["blue"],
}

#: Colours for a list of curves, in order.
CYCLE = [OKABE_ITO[k] for k in ("blue", "orange", "green", "vermillion", "purple", "sky_blue", "black")]

#: Colour map for heatmaps (perceptually uniform and colour-blind safe).
CMAP = "viridis"

#: Diverging colour map for signed values such as input currents (ColorBrewer PuOr).
DIVERGING_CMAP = "PuOr_r"


def new_axes(ax=None, figsize=(6.4, 4.0)):
    """Return ``(fig, ax)``: ``ax`` and its figure, or a new figure with one Axes."""
    import matplotlib.pyplot as plt
    from matplotlib.axes import Axes

    if ax is None:
        return plt.subplots(figsize=figsize, layout="constrained")
    if not isinstance(ax, Axes):
        raise TypeError(f"ax must be a matplotlib Axes or None, got {type(ax).__name__}")
    return ax.figure, ax


def new_axes_row(axes, n, figsize=None, width_ratios=None, name="axes"):
    """Return ``(fig, axes)`` with ``n`` Axes in a row: the given ones, or a new figure."""
    import matplotlib.pyplot as plt
    from matplotlib.axes import Axes

    if axes is None:
        figsize = figsize or (3.6 * n, 3.6)
        fig, axes = plt.subplots(1, n, figsize=figsize, layout="constrained",
                                 width_ratios=width_ratios, squeeze=False)
        return fig, axes[0]
    axes = np.asarray(axes, dtype=object).ravel()
    if axes.size != n or not all(isinstance(a, Axes) for a in axes):
        raise ValueError(f"{name} must be a sequence of {n} matplotlib Axes, got {axes.size} items")
    return axes[0].figure, axes


def step_ticks(ax, axis="x"):
    """Put ticks on whole numbers only (time steps, neuron indices)."""
    from matplotlib.ticker import MaxNLocator

    getattr(ax, f"{axis}axis").set_major_locator(MaxNLocator(integer=True))


#: Slide size in inches: 16:9, the shape of a widescreen presentation.
SLIDE_SIZE = (13.333, 7.5)
#: Smallest type on a slide, in points (at SLIDE_SIZE: legible from the back of a room).
SLIDE_MIN_FONTSIZE = 16


def as_slide(fig, scale=1.6):
    """Restyle a drawn figure for a slide, in place, and return it.

    The figure becomes :data:`SLIDE_SIZE` (16:9) with constrained layout, and every text
    (titles, labels, tick labels, legends, annotations) grows by ``scale``, to at least
    :data:`SLIDE_MIN_FONTSIZE` points. What is drawn, and its words, stay the same.
    """
    from matplotlib.text import Text

    fig.set_size_inches(*SLIDE_SIZE)
    fig.set_layout_engine("constrained", rect=(0.0, 0.0, 0.97, 1.0))  # room for texts right of the axes
    for text in fig.findobj(Text):
        if text.get_text():
            text.set_fontsize(max(scale * text.get_fontsize(), SLIDE_MIN_FONTSIZE))
    for ax in fig.axes + [child for ax in fig.axes for child in ax.child_axes]:  # after the texts: one
        # size for tick labels, not scaled twice (inset Axes too, such as a raster's rate bar)
        ax.tick_params(which="both", labelsize=SLIDE_MIN_FONTSIZE, width=1.5, length=6)
        _wrap_title(ax)
        for line in ax.get_lines():
            line.set_linewidth(max(line.get_linewidth(), 2.0))
    return fig


def _wrap_title(ax):
    """Break an Axes title into lines that fit the Axes' width at its font size."""
    import textwrap

    title = ax.title
    width_points = 72 * ax.get_position().width * ax.figure.get_figwidth()
    chars = max(int(width_points / (0.55 * title.get_fontsize())), 12)  # an average glyph: 0.55 em
    lines = [textwrap.fill(line, chars) for line in title.get_text().split("\n")]
    title.set_text("\n".join(lines))
