"""PNG plots of ``warehouse run`` (matplotlib, Agg backend; never touches any RNG).

* ``deliveries.png``: cumulative deliveries over time, one line per policy (mean over seeds,
  shaded between the lowest and highest seed);
* ``congestion.png``: one heatmap per policy of the floor; colour = share of the steps a robot
  stood on the cell, averaged over seeds, on a square-root scale (grey: shelves and walls).
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

if TYPE_CHECKING:
    from .runner import Experiment


def _pyplot() -> Any:
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    return plt


def plot_deliveries(series: pd.DataFrame, path: Path) -> Path:
    """Cumulative deliveries over simulated steps per policy (see module docstring)."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(7, 4), dpi=110)
    for policy, df in series.groupby("policy", sort=False):
        wide = df.pivot_table(index="step", columns="seed", values="deliveries")
        wide.loc[0] = 0  # nothing is delivered before the first step
        wide = wide.sort_index()
        steps = wide.index.to_numpy()
        ax.plot(steps, wide.mean(axis=1).to_numpy(), label=str(policy))
        if wide.shape[1] > 1:
            ax.fill_between(steps, wide.min(axis=1), wide.max(axis=1), alpha=0.2)
    ax.set_xlabel("step")
    ax.set_ylabel("cumulative deliveries")
    ax.set_title("Deliveries over time (mean; band: min–max over seeds)")
    ax.grid(alpha=0.3)
    ax.legend(loc="upper left")
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return Path(path)


def plot_congestion(visits: dict[str, np.ndarray], exp: Experiment, path: Path) -> Path:
    """Heatmap per policy of the share of steps a robot occupied each cell."""
    plt = _pyplot()
    from matplotlib.colors import PowerNorm

    n = len(visits)
    h, w = exp.floor.shape
    cols = 1 if w > 1.5 * h else min(n, 2)  # wide floors stack vertically
    rows = math.ceil(n / cols)
    panel_w = 9.0 if cols == 1 else 5.5
    panel_h = max(1.5, panel_w * h / max(w, 1)) + 0.9
    fig, axes = plt.subplots(
        rows,
        cols,
        figsize=(panel_w * cols, panel_h * rows),
        dpi=110,
        squeeze=False,
        layout="constrained",
    )
    denom = max(1, len(exp.seeds) * exp.steps)
    cmap = plt.get_cmap("magma").with_extremes(bad="#9e9e9e")
    vmax = max((np.nanmax(g) for g in visits.values()), default=1.0) / denom or 1.0
    image = None
    for ax, (policy, grid) in zip(axes.flat, visits.items(), strict=False):
        image = ax.imshow(
            np.ma.masked_invalid(grid / denom), cmap=cmap,
            norm=PowerNorm(0.5, vmin=0.0, vmax=vmax), interpolation="nearest",
        )  # fmt: skip
        ax.set_title(str(policy))
        ax.set_xticks([])
        ax.set_yticks([])
    for ax in list(axes.flat)[n:]:
        ax.axis("off")
    if image is not None:
        fig.colorbar(image, ax=axes.ravel().tolist(), shrink=0.9, label="occupancy (sqrt scale)")
    fig.suptitle("Congestion: share of steps a robot stood on each cell")
    fig.savefig(path)
    plt.close(fig)
    return Path(path)
