"""One look for every figure in the book.

Call :func:`use_book_style` once at the top of a notebook; after that plain matplotlib
calls produce figures with the book's size, fonts, colours and grid. matplotlib is an
optional dependency of objlib: importing this module is the only place it is needed.
"""

from __future__ import annotations

from typing import Any

try:
    import matplotlib as mpl
    from cycler import cycler  # installed with matplotlib
except ImportError as err:  # pragma: no cover - exercised only without matplotlib
    raise ImportError("objlib.plotting needs matplotlib: pip install 'objlib[plot]'") from err

# A colour-blind-safe palette (Okabe and Ito, 2008), in the order lines are drawn.
PALETTE = (
    "#0072B2",  # blue
    "#D55E00",  # vermillion
    "#009E73",  # bluish green
    "#CC79A7",  # reddish purple
    "#E69F00",  # orange
    "#56B4E9",  # sky blue
    "#F0E442",  # yellow
    "#000000",  # black
)

BOOK_STYLE: dict[str, Any] = {
    "figure.figsize": (6.4, 3.8),
    "figure.dpi": 100,
    "savefig.dpi": 150,
    "figure.constrained_layout.use": True,
    "font.size": 10.5,
    "axes.titlesize": 11,
    "axes.labelsize": 10.5,
    "legend.fontsize": 9,
    "legend.frameon": False,
    "axes.grid": True,
    "grid.alpha": 0.3,
    "grid.linewidth": 0.6,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "lines.linewidth": 1.8,
    "image.cmap": "viridis",
    # SVG text as paths and a fixed hash salt keep figure bytes independent of the machine.
    "svg.fonttype": "path",
    "svg.hashsalt": "objlib",
}


def use_book_style() -> None:
    """Apply the book's matplotlib style (size, fonts, palette, light grid) globally."""
    mpl.rcParams.update(BOOK_STYLE)  # type: ignore[arg-type]  # rcParams' stub lists its keys
    mpl.rcParams["axes.prop_cycle"] = cycler(color=list(PALETTE))


def book_color(i: int) -> str:
    """The ``i``-th colour of the book's palette (wrapping around)."""
    return PALETTE[i % len(PALETTE)]
