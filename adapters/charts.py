"""The dashboard's charts, drawn with matplotlib (Agg): the page's SVG and chat's PNG.

One drawing serves both: :meth:`MatplotlibCharts.draw` lays out the 12-week trend lines (and,
for chat, the 5 × 5 risk heat map beside them) and saves the figure as SVG or PNG. matplotlib
is imported on the first chart drawn, never at start-up, and always with the Agg backend (no
display needed). The numbers come from :mod:`bot.domain.trends`, as the page's tables do.
"""

from __future__ import annotations

import io
import os
import tempfile
import threading
from pathlib import Path
from typing import Any, Literal

from bot.domain.trends import LEVELS, HeatMap, Trends

#: matplotlib's pyplot state is not thread-safe; charts are drawn one at a time.
_LOCK = threading.Lock()
_COLOURS = ("#c0392b", "#d68910", "#2f5d8a")


def _pyplot() -> Any:
    # matplotlib keeps a font cache; the image's home folder is read-only, a temp one is not
    cache = Path(tempfile.gettempdir()) / "raidline-matplotlib"
    os.environ.setdefault("MPLCONFIGDIR", str(cache))
    import matplotlib

    matplotlib.use("Agg", force=True)
    matplotlib.rcParams["svg.hashsalt"] = "raidline"  # the same numbers, the same SVG
    import matplotlib.pyplot as plt

    return plt


class MatplotlibCharts:
    """The core's :class:`bot.ports.ChartDrawer`."""

    def __init__(self, dpi: int = 100) -> None:
        self.dpi = dpi

    def draw(self, trends: Trends, heat: HeatMap | None, fmt: Literal["svg", "png"]) -> bytes:
        with _LOCK:
            plt = _pyplot()
            columns = 2 if heat is not None else 1
            figure, axes = plt.subplots(
                1,
                columns,
                figsize=(6.4 * columns if heat is None else 11.0, 2.8 if heat is None else 4.0),
                gridspec_kw={"width_ratios": [3, 2]} if heat is not None else None,
                squeeze=False,
            )
            try:
                self._trend(axes[0][0], trends)
                if heat is not None:
                    self._heat(axes[0][1], heat)
                figure.tight_layout()
                out = io.BytesIO()
                kwargs: dict[str, Any] = {"format": fmt, "dpi": self.dpi}
                if fmt == "svg":
                    kwargs["metadata"] = {"Date": None}  # the same numbers, the same bytes
                else:
                    kwargs["metadata"] = {"Software": None}
                figure.savefig(out, **kwargs)
                return out.getvalue()
            finally:
                plt.close(figure)

    @staticmethod
    def _trend(ax: Any, trends: Trends) -> None:
        labels = [w.strftime("%b %d") for w in trends.weeks]
        positions = list(range(len(labels)))
        for colour, series in zip(_COLOURS, trends.series, strict=False):
            ax.plot(positions, series.values, marker="o", markersize=3, color=colour,
                    label=series.name)  # fmt: skip
        ax.set_xticks(positions[::2], labels[::2], fontsize=8)
        ax.set_title("Last 12 weeks (end of each week)", fontsize=10)
        ax.set_ylim(bottom=0)
        ax.yaxis.get_major_locator().set_params(integer=True)
        ax.grid(axis="y", alpha=0.3)
        ax.legend(fontsize=8, loc="upper left", frameon=False)
        for side in ("top", "right"):
            ax.spines[side].set_visible(False)

    @staticmethod
    def _heat(ax: Any, heat: HeatMap) -> None:
        grid = [[heat.count(likelihood, impact) for impact in LEVELS] for likelihood in LEVELS]
        scores = [[likelihood * impact for impact in LEVELS] for likelihood in LEVELS]
        ax.imshow(scores, cmap="RdYlGn_r", origin="lower", alpha=0.55, vmin=1, vmax=25)
        for row in range(len(LEVELS)):
            for column in range(len(LEVELS)):
                n = grid[row][column]
                ax.text(column, row, str(n) if n else "·", ha="center", va="center",
                        fontsize=11 if n else 8, fontweight="bold" if n else "normal")  # fmt: skip
        ax.set_xticks(range(len(LEVELS)), [str(n) for n in LEVELS])
        ax.set_yticks(range(len(LEVELS)), [str(n) for n in LEVELS])
        ax.set_xlabel("Impact")
        ax.set_ylabel("Likelihood")
        ax.set_title(f"Open risks ({heat.total})", fontsize=10)


__all__ = ["MatplotlibCharts"]
