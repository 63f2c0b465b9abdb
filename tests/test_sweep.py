"""``warehouse sweep``: one row per (setting, seed) through mesa.batch_run in sweep.csv, one
row per setting printed."""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import pytest
from cli_helpers import run_cli as cli

from warehouse.kpis import KPI_NAMES


def test_sweep_one_row_per_setting_and_seed(tmp_path: Path, capsys) -> None:
    out = tmp_path / "sweep"
    argv = ["sweep", "tiny", "--set", "fleet.robots=2,4,6", "--seeds", "0..1"]
    code, printed, err = cli([*argv, "--steps", "15", "--out", str(out)], capsys)
    assert code == 0, err
    table = pd.read_csv(out / "sweep.csv")
    assert len(table) == 6
    assert list(table.columns[:4]) == ["fleet.robots", "policy", "collision_mode", "seed"]
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
    """30 robots on tiny's 59 free cells jam (14 deliveries in 800 steps, against 70 for 2
    robots); 2 robots do not. Jammed: no progress for ``physics.jam_after`` steps (300)."""
    out = tmp_path / "jam"
    argv = ["sweep", "tiny", "--set", "fleet.robots=2,30", "--seeds", "1", "--steps", "800"]
    code, _, err = cli([*argv, "--out", str(out)], capsys)
    assert code == 0, err
    table = pd.read_csv(out / "sweep.csv")
    assert table["gridlocked"].tolist() == [False, True]
    jammed = table.set_index("fleet.robots")["jammed_robots"]
    assert jammed[2] < 0.25 * 2 and jammed[30] >= 0.25 * 30
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
    # the floor refuses a value the schema takes: the error names the --set, not the file
    assert err.strip() == "error: --set fleet.robots: must be ≤ free cells (59)"
    assert list(tmp_path.iterdir()) == []
    code, _, err = cli(["sweep", "tiny", "--set", "fleet.robots", "--steps", "5"], capsys)
    assert code == 2 and "--set: expected KEY=V1,V2,..., got 'fleet.robots'" in err


def test_sweep_pairs_every_setting_with_the_first(tmp_path: Path, capsys, monkeypatch) -> None:
    """paired.csv and the Δ column: each setting minus the first one, seed by seed."""
    from warehouse.report import format_paired, paired_rows, summarize

    monkeypatch.setenv("COLUMNS", "160")  # one line per table row

    out = tmp_path / "paired"
    argv = ["sweep", "tiny", "--set", "tasks.arrival_rate=0.05,0.2,0.4", "--seeds", "0..3"]
    code, printed, err = cli([*argv, "--steps", "60", "--out", str(out)], capsys)
    assert code == 0, err
    table = pd.read_csv(out / "sweep.csv")
    paired = pd.read_csv(out / "paired.csv")
    assert list(paired.columns) == ["tasks.arrival_rate", "kpi", "diff", "ci95", "ratio"]
    assert sorted(set(paired["tasks.arrival_rate"])) == [0.2, 0.4]  # not the baseline itself
    assert set(paired["kpi"]) == set(KPI_NAMES)
    runs = {rate: rows.sort_values("seed") for rate, rows in table.groupby("tasks.arrival_rate")}
    base = {k: summarize(runs[0.05][k].tolist()) for k in KPI_NAMES}
    for rate in (0.2, 0.4):
        want = paired_rows({k: summarize(runs[rate][k].tolist()) for k in KPI_NAMES}, base)
        got = paired[paired["tasks.arrival_rate"] == rate].set_index("kpi")
        diffs = runs[rate]["deliveries"].to_numpy() - runs[0.05]["deliveries"].to_numpy()
        assert got.loc["deliveries", "diff"] == pytest.approx(diffs.mean(), abs=1e-6)
        assert got.loc["deliveries", "diff"] == pytest.approx(want["deliveries"]["diff"])
        assert got.loc["cycle_time_p95", "ci95"] == pytest.approx(want["cycle_time_p95"]["ci95"])
    assert paired.set_index(["tasks.arrival_rate", "kpi"]).loc[(0.4, "deliveries"), "diff"] > 0
    rows = [line.split("│")[1:-1] for line in printed.splitlines() if line.startswith("│")]
    assert len(rows) == 3 and rows[0][2].strip() == "base"
    from warehouse.cli.cmd_sweep import _cell

    for row, rate in zip(rows, (0.05, 0.2, 0.4), strict=True):  # per hour and the backlog
        for col, kpi in ((4, "throughput_per_hour"), (5, "open_orders")):
            assert row[col].strip() == _cell(float(runs[rate][kpi].mean())), (rate, kpi)
    # Δ prev: each row against the one before, seed by seed
    assert rows[0][3].strip() == "—"
    for row, (prev, rate) in zip(rows[1:], ((0.05, 0.2), (0.2, 0.4)), strict=True):
        step = runs[rate]["deliveries"].to_numpy() - runs[prev]["deliveries"].to_numpy()
        shown = row[3].strip().split(" ± ")[0]
        assert float(shown) == pytest.approx(step.mean(), abs=0.051), (prev, rate, shown)
    for row, rate in zip(rows[1:], (0.2, 0.4), strict=True):
        d = paired.set_index(["tasks.arrival_rate", "kpi"]).loc[(rate, "deliveries")]
        assert row[2].strip() == format_paired(
            {"diff": d["diff"], "ci95": d["ci95"], "ratio": None}
        )


def test_sweep_with_one_setting_writes_no_comparison(tmp_path: Path, capsys) -> None:
    out = tmp_path / "one"
    code, printed, err = cli(
        ["sweep", "tiny", "--seeds", "0", "--steps", "5", "--out", str(out)], capsys
    )
    assert code == 0, err
    assert sorted(p.name for p in out.iterdir()) == ["sweep.csv"]
    assert "Δ" not in printed and not re.search(r"\bbase\b", printed)
    assert "policy rule_based, collisions block" in " ".join(printed.split())


@pytest.mark.parametrize(
    ("sets", "column"),
    [(["robots=2,3"], "fleet.robots"), (["collisions=block,physical"], "physics.collisions")],
)
def test_sweep_shortcut_keys_are_written_out(sets, column, tmp_path: Path, capsys) -> None:
    """A shortcut such as ``robots`` sweeps its setting and names the column by its dotted key, so
    the run's own KPI of the same name (``robots``, ``collisions``) cannot overwrite it."""
    out = tmp_path / "short"
    argv = ["sweep", "tiny", "--set", *sets, "--seeds", "0", "--steps", "20", "--out", str(out)]
    code, _, err = cli(argv, capsys)
    assert code == 0, err
    table = pd.read_csv(out / "sweep.csv")
    assert len(table) == 2 and column in table.columns
    if column == "fleet.robots":
        assert table["fleet.robots"].tolist() == [2, 3] == table["robots"].tolist()
    else:
        assert table[column].tolist() == ["block", "physical"]


@pytest.mark.parametrize(
    ("sets", "expected"),
    [
        (["robots=2,3", "fleet.robots=4,5"], "fleet.robots: given twice (also as 'robots')"),
        (["steps=5,10"], "episode.steps: cannot be swept; use --steps and --seeds"),
    ],
)
def test_sweep_shortcuts_meet_the_same_checks(sets, expected, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    argv = ["sweep", "tiny", "--steps", "5"]
    for item in sets:
        argv += ["--set", item]
    code, _, err = cli(argv, capsys)
    assert code == 2 and err.strip().endswith(expected), err
    assert list(tmp_path.iterdir()) == []


def test_values_split_at_top_level_commas_only() -> None:
    from warehouse.runner import split_values

    assert split_values("10, 20,[west,east],{a: 1, b: 2},'x,y'") == [
        "10", "20", "[west,east]", "{a: 1, b: 2}", "'x,y'"
    ]  # fmt: skip
    assert split_values("a],b") == ["a]", "b"]  # a stray bracket does not swallow the rest
