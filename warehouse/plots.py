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

from .atomic import save_figure_atomic

if TYPE_CHECKING:
    from .runner import Experiment


def _pyplot() -> Any:
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    return plt


def _time_axis(last_step: int, step_seconds: float) -> tuple[float, str]:
    """Seconds per unit and the unit's name for an x axis of simulated time."""
    total = last_step * step_seconds
    if total >= 3 * 3600:
        return 3600.0, "h"
    return (60.0, "min") if total >= 180 else (1.0, "s")


def plot_deliveries(series: pd.DataFrame, path: Path, exp: Experiment | None = None) -> Path:
    """Cumulative deliveries over simulated time per policy (see module docstring); ``exp``
    gives the step length and the scenario's name (else the x axis counts steps)."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(7, 4), dpi=110)
    step_s = float(exp.scenario.physics.step_seconds) if exp is not None else None
    unit_s, unit = _time_axis(int(series["step"].max()), step_s) if step_s else (1.0, "step")
    for policy, df in series.groupby("policy", sort=False):
        wide = df.pivot_table(index="step", columns="seed", values="deliveries")
        wide.loc[0] = 0  # nothing is delivered before the first step
        # a seed that ended early (episode.stop_when_solved) keeps its count to the end
        wide = wide.sort_index().ffill()
        x = wide.index.to_numpy() * ((step_s or 1.0) / unit_s)
        ax.plot(x, wide.mean(axis=1).to_numpy(), label=str(policy))
        if wide.shape[1] > 1:
            ax.fill_between(x, wide.min(axis=1), wide.max(axis=1), alpha=0.2)
    ax.set_xlabel("step" if step_s is None else f"simulated time ({unit})")
    ax.set_ylabel("cumulative deliveries")
    if not series["deliveries"].gt(0).any():  # nothing delivered: 0 to 1, not ±0.04
        ax.set_ylim(0.0, 1.0)
    seeds = series["seed"].nunique()
    where = f"{exp.scenario.name}, {exp.robots} robots: " if exp is not None else ""
    band = "; band: min–max" if seeds > 1 else ""  # (one seed draws no band)
    ax.set_title(f"{where}deliveries (mean of {seeds} seed(s){band})")
    ax.grid(alpha=0.3)
    ax.legend(loc="upper left")
    fig.tight_layout()
    save_figure_atomic(fig, path)
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
    # the steps each policy's seeds ran (a robot stands somewhere every step; fewer than
    # seeds × steps where episodes ended early: episode.stop_when_solved)
    denoms = {p: max(1.0, float(np.nansum(g)) / max(exp.robots, 1)) for p, g in visits.items()}
    cmap = plt.get_cmap("magma").with_extremes(bad="#9e9e9e")
    peaks = [float(np.nanmax(g)) / denoms[p] for p, g in visits.items() if np.isfinite(g).any()]
    vmax = max(peaks, default=0.0) or 1.0  # (no visited cell at all: a 0 to 1 scale)
    image = None
    for ax, (policy, grid) in zip(axes.flat, visits.items(), strict=False):
        image = ax.imshow(
            np.ma.masked_invalid(grid / denoms[policy]), cmap=cmap,
            norm=PowerNorm(0.5, vmin=0.0, vmax=vmax), interpolation="nearest",
        )  # fmt: skip
        f = exp.floor
        ax.scatter(
            f.pos[f.stations, 1], f.pos[f.stations, 0], s=14, marker="s", facecolors="none",
            edgecolors="#00e5ff", linewidths=0.8, label="station",
        )  # fmt: skip
        ax.set_title(str(policy))
        ax.set_xticks([])
        ax.set_yticks([])
    for ax in list(axes.flat)[n:]:
        ax.axis("off")
    if image is not None:
        fig.colorbar(image, ax=axes.ravel().tolist(), shrink=0.9, label="occupancy (sqrt scale)")
    handles, labels = axes.flat[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside lower center", fontsize=8, frameon=False)
    fig.suptitle(
        f"{exp.scenario.name}: share of steps a robot stood on each cell "
        f"(mean of {len(exp.seeds)} seed(s); grey: shelves and walls)"
    )
    save_figure_atomic(fig, path)
    return Path(path)
