"""``warehouse sweep``: one row per (setting, seed) through mesa.batch_run in sweep.csv, one
row per setting printed."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
from cli_helpers import run_cli as cli

from scenarios import builtin_path
from warehouse.kpis import KPI_NAMES


def test_sweep_one_row_per_setting_and_seed(tmp_path: Path, capsys) -> None:
    out = tmp_path / "sweep"
    argv = ["sweep", "tiny", "--set", "fleet.robots=2,4,6", "--seeds", "0..1"]
    code, printed, err = cli([*argv, "--steps", "15", "--out", str(out)], capsys)
    assert code == 0, err
    table = pd.read_csv(out / "sweep.csv")
    assert len(table) == 6
    assert list(table.columns[:2]) == ["fleet.robots", "seed"]
    assert set(KPI_NAMES) <= set(table.columns)
    pairs = list(zip(table["fleet.robots"], table["seed"], strict=True))
    assert pairs == [(2, 0), (2, 1), (4, 0), (4, 1), (6, 0), (6, 1)]
    assert (table["robots"] == table["fleet.robots"]).all()
    assert (table["steps"] == 15).all()
    assert "6 runs" in printed
    # the printed table: one row per setting, its seeds summarized
    from warehouse.report import format_cell, summarize

    rows = [line.split("│")[1:-1] for line in printed.splitlines() if line.startswith("│")]
    assert [r[0].strip() for r in rows] == ["2", "4", "6"]
    for row, (_, runs) in zip(rows, table.groupby("fleet.robots"), strict=True):
        assert row[1].strip() == format_cell(summarize(runs["deliveries"].tolist()))
        assert row[-1].strip() == f"{int(runs['gridlocked'].sum())}/2"


def test_sweep_flags_gridlocked_runs(tmp_path: Path, capsys) -> None:
    """30 robots on tiny's 59 free cells jam within 200 steps; 2 robots do not."""
    out = tmp_path / "jam"
    argv = ["sweep", "tiny", "--set", "fleet.robots=2,30", "--seeds", "0", "--steps", "200"]
    code, _, err = cli([*argv, "--out", str(out)], capsys)
    assert code == 0, err
    table = pd.read_csv(out / "sweep.csv")
    assert table["gridlocked"].tolist() == [False, True]
    stuck = table.set_index("fleet.robots")["stuck_robots"]
    assert stuck[2] < 0.25 * 2 and stuck[30] >= 0.25 * 30
    assert "warning: 1 of 2 runs ended gridlocked" in err


def test_sweep_grid_is_a_product(tmp_path: Path, capsys) -> None:
    out = tmp_path / "grid"
    argv = [
        "sweep",
        "tiny",
        "--set",
        "fleet.robots=2,3",
        "--set",
        "layout.station_walls=[west],[west,east]",
    ]
    code, _, err = cli([*argv, "--seeds", "5", "--steps", "10", "--out", str(out)], capsys)
    assert code == 0, err
    table = pd.read_csv(out / "sweep.csv")
    assert len(table) == 4
    assert sorted(set(table["layout.station_walls"])) == ["[west,east]", "[west]"]
    assert set(table["seed"]) == {5}


def test_sweep_checks_every_combination_first(tmp_path: Path, monkeypatch, capsys) -> None:
    monkeypatch.chdir(tmp_path)
    code, _, err = cli(["sweep", "tiny", "--set", "fleet.robots=2,500", "--steps", "5"], capsys)
    assert code == 2
    tiny = builtin_path("tiny")  # absolute, outside the working folder: shown as it is
    assert err.strip() == f"error: {tiny}: fleet.robots: must be ≤ free cells (59)"
    assert list(tmp_path.iterdir()) == []
    code, _, err = cli(["sweep", "tiny", "--set", "fleet.robots", "--steps", "5"], capsys)
    assert code == 2 and "fleet.robots: expected KEY=V1,V2" in err
