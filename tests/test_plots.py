"""The run plots: their time axis, titles and scales at the edges (one seed, nothing
delivered, no cell visited)."""

from __future__ import annotations

import pytest

from warehouse.plots import _time_axis


@pytest.mark.parametrize(
    ("steps", "step_seconds", "expected"),
    [
        (100, 1.0, (1.0, "s")),
        (179, 1.0, (1.0, "s")),
        (180, 1.0, (60.0, "min")),
        (2000, 1.0, (60.0, "min")),
        (3 * 3600, 1.0, (3600.0, "h")),
        (4500, 0.8, (60.0, "min")),  # an hour of 0.8 s steps
        (20000, 0.8, (3600.0, "h")),
    ],
)
def test_time_axis_unit_follows_the_simulated_time(steps, step_seconds, expected) -> None:
    assert _time_axis(steps, step_seconds) == expected


def _drawn(monkeypatch) -> list:
    """The figures the plot functions save (kept open for the test to read)."""
    import warehouse.plots as plots

    figures: list = []
    monkeypatch.setattr(plots, "save_figure_atomic", lambda fig, path, **kw: figures.append(fig))
    return figures


def _series(deliveries: list[list[int]]):
    import pandas as pd

    rows = [
        {"policy": "p", "seed": seed, "step": step + 1, "deliveries": d}
        for seed, per_step in enumerate(deliveries)
        for step, d in enumerate(per_step)
    ]
    return pd.DataFrame(rows)


def test_one_seed_draws_no_band_and_says_none(monkeypatch, tmp_path) -> None:
    from warehouse.plots import plot_deliveries

    figures = _drawn(monkeypatch)
    plot_deliveries(_series([[0, 1, 2]]), tmp_path / "d.png")
    plot_deliveries(_series([[0, 1, 2], [1, 1, 3]]), tmp_path / "d2.png")
    one, two = (fig.axes[0].get_title() for fig in figures)
    assert "band" not in one and "1 seed(s)" in one
    assert "band: min–max" in two and "2 seed(s)" in two


def test_no_delivery_at_all_gives_a_0_to_1_axis(monkeypatch, tmp_path) -> None:
    from warehouse.plots import plot_deliveries

    figures = _drawn(monkeypatch)
    plot_deliveries(_series([[0, 0, 0], [0, 0, 0]]), tmp_path / "d.png")
    plot_deliveries(_series([[0, 4, 9]]), tmp_path / "d2.png")
    assert figures[0].axes[0].get_ylim() == (0.0, 1.0)
    low, high = figures[1].axes[0].get_ylim()
    assert low < 0 < 9 < high  # a run with deliveries keeps matplotlib's own margins


def test_congestion_with_no_visited_cell_has_a_finite_scale(monkeypatch, tmp_path) -> None:
    import numpy as np

    from warehouse.plots import plot_congestion
    from warehouse.runner import prepare

    exp = prepare("tiny", policies=["rule_based"], steps=5, seeds=[0])
    figures = _drawn(monkeypatch)
    blank = np.full(exp.floor.shape, np.nan)
    plot_congestion({"a": blank, "b": blank.copy()}, exp, tmp_path / "c.png")
    images = [im for ax in figures[0].axes for im in ax.get_images()]
    assert len(images) == 2 and all(np.isfinite(im.norm.vmax) for im in images)
