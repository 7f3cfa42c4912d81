"""Small trend charts as PNG (matplotlib, Agg: no display, no browser), for inline images.

One chart per metric: the 13 monthly points as a line with dots, the last month
highlighted and labelled; months without data are gaps. Sized for a two-column table in a
640 px mail (300 x 120 CSS px, drawn at 2x for sharp screens).
"""

from __future__ import annotations

import io
import math

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
from matplotlib.ticker import FuncFormatter, MaxNLocator

WIDTH_IN, HEIGHT_IN, DPI = 3.0, 1.2, 200
INK, ACCENT, GRID = "#334155", "#2563eb", "#e2e8f0"


def trend_png(labels: list[str], values: list[float | None], *, last_text: str,
              scale: float = 1.0, empty_text: str = "no data") -> bytes:
    """A sparkline-sized line chart of ``values`` (None: no data; shown times ``scale``,
    e.g. 100 for a share) with x labels."""
    fig, ax = plt.subplots(figsize=(WIDTH_IN, HEIGHT_IN), dpi=DPI)
    try:
        xs = list(range(len(values)))
        ys = [math.nan if v is None else v * scale for v in values]
        ax.yaxis.set_major_locator(MaxNLocator(4))
        ax.yaxis.set_major_formatter(FuncFormatter(lambda y, _: f"{y:g}"))
        if all(math.isnan(y) for y in ys):
            ax.text(0.5, 0.5, empty_text, transform=ax.transAxes, ha="center", va="center",
                    fontsize=7, color=INK)
            ax.set_yticks([])
        ax.plot(xs, ys, color=ACCENT, linewidth=1.4, marker="o", markersize=2.2)
        if ys and not math.isnan(ys[-1]):
            ax.plot([xs[-1]], [ys[-1]], marker="o", markersize=4.5, color=ACCENT)
            ax.annotate(last_text, (xs[-1], ys[-1]), textcoords="offset points", xytext=(-4, 6),
                        ha="right", fontsize=6.5, color=INK, fontweight="bold")
        finite = [y for y in ys if not math.isnan(y)]
        if finite:
            lo, hi = min(finite), max(finite)
            pad = (hi - lo) * 0.25 or abs(hi) * 0.05 or 1.0
            ax.set_ylim(lo - pad, hi + pad * 1.6)
        ax.set_xticks(xs[::2] if len(xs) > 7 else xs)
        ax.set_xticklabels(labels[::2] if len(xs) > 7 else labels, fontsize=5.5, color=INK)
        ax.tick_params(axis="y", labelsize=5.5, colors=INK, length=0)
        ax.tick_params(axis="x", length=0)
        ax.grid(axis="y", color=GRID, linewidth=0.6)
        for side in ("top", "right", "left"):
            ax.spines[side].set_visible(False)
        ax.spines["bottom"].set_color(GRID)
        fig.tight_layout(pad=0.3)
        buf = io.BytesIO()
        fig.savefig(buf, format="png", dpi=DPI)
        return buf.getvalue()
    finally:
        plt.close(fig)
