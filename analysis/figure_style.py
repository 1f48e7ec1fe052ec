"""What every figure shares: the seaborn style, a display-free figure, and how strategies are told apart.

Figures are built with the object-oriented interface (:class:`matplotlib.figure.Figure` on an Agg canvas,
never ``pyplot``), so they need no display, leave no global state and can be saved with
``fig.savefig("x.png")``.

Curves of different strategies or milestones differ in colour *and* line style *and* marker, so that seven
of them can be told apart in grey print or by a colour-blind reader, and a curve lying exactly on another
still shows through its dashes and markers.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import seaborn as sns
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

STYLE = "whitegrid"
LINE_STYLES = (
    "-",
    (0, (5, 2)),
    (0, (1, 1.5)),
    (0, (6, 2, 1, 2)),
    (0, (3, 1, 1, 1, 1, 1)),
    (0, (9, 3)),
    (0, (2, 3)),
)
MARKERS = ("o", "s", "^", "D", "v", "P", "X", "*", "h", "<")


@dataclass(frozen=True)
class LineLook:
    """How one curve is drawn: its colour, dash pattern and marker."""

    color: tuple
    linestyle: object
    marker: str

    def kwargs(self) -> dict:
        return {"color": self.color, "linestyle": self.linestyle, "marker": self.marker}


@contextlib.contextmanager
def style() -> Iterator[None]:
    """The seaborn style and font sizes of every figure."""
    with sns.axes_style(STYLE), sns.plotting_context("notebook", font_scale=0.9):
        yield


def new_figure(
    ncols: int = 1, width: float = 6.4, height: float = 4.4, nrows: int = 1, sharey: bool = False
) -> tuple[Figure, list[Axes]]:
    """A figure with ``nrows × ncols`` axes (row by row) on an Agg canvas, with constrained layout."""
    fig = Figure(figsize=(width * ncols, height * nrows), layout="constrained")
    FigureCanvasAgg(fig)
    axes: list[Axes] = []
    for k in range(nrows * ncols):
        share = axes[0] if (sharey and axes) else None
        axes.append(fig.add_subplot(nrows, ncols, k + 1, sharey=share))
    return fig, axes


#: Okabe & Ito's colour-blind-safe palette without its yellow (too pale on white), most distinct first.
OKABE_ITO = ("#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#000000")


def palette(names: Sequence[str]) -> dict[str, tuple]:
    """One colour-blind-safe colour per name, in order (seven distinct colours, then they repeat)."""
    colours = sns.color_palette(list(OKABE_ITO))
    return {name: colours[k % len(colours)] for k, name in enumerate(names)}


def line_looks(names: Sequence[str]) -> dict[str, LineLook]:
    """Colour, dash pattern and marker per name: all three differ between neighbours in the order given."""
    colours = palette(names)
    return {
        name: LineLook(colours[name], LINE_STYLES[k % len(LINE_STYLES)], MARKERS[k % len(MARKERS)])
        for k, name in enumerate(names)
    }
