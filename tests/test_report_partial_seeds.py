"""The run table says on how many seeds a KPI defined on only some of them has its mean."""

from __future__ import annotations

from rich.console import Console

from warehouse.report import format_cell, kpi_table, markdown_table, summarize


def test_a_kpi_defined_on_some_seeds_says_on_how_many() -> None:
    cell = format_cell(summarize([60.0, None, 62.0]))
    assert cell.startswith("61 ± ") and cell.endswith(" (2/3 seeds)")
    assert format_cell(summarize([None, 5.0, None])) == "5 (1/3 seeds)"  # one value: no interval


def test_a_kpi_defined_on_every_seed_or_none_is_shown_as_before() -> None:
    assert format_cell(summarize([1.0, 2.0, 3.0])) == "2 ± 2.48"
    assert format_cell(summarize([None, None])) == "—"


def _report(values: list[float | None]) -> dict:
    kpis = {"deliveries": summarize([10.0, 12.0, 14.0]), "cycle_time_p50": summarize(values)}
    run = {"policy": "rule_based", "kpis": kpis}
    return {"scenario": "s", "robots": 3, "steps": 10, "seeds": [0, 1, 2], "runs": [run]}


def _printed(report: dict) -> str:
    console = Console(width=160, record=True)
    console.print(kpi_table(report))
    return console.export_text()


def test_the_printed_table_explains_k_of_n_only_when_a_cell_has_it() -> None:
    partial = _printed(_report([60.0, None, 62.0]))
    assert "(2/3 seeds)" in partial and "defined on k of the n seeds" in partial
    full = _printed(_report([60.0, 61.0, 62.0]))
    assert "seeds)" not in full and "defined on k" not in full
    assert "(2/3 seeds)" in markdown_table(_report([60.0, None, 62.0]))


def test_the_sweep_table_says_over_how_many_seeds_a_mean_is() -> None:
    import pandas as pd

    from warehouse.cli.cmd_sweep import SWEEP_COLUMNS, sweep_table

    rows = []
    for robots, p50 in ((10, [40.0, None, 44.0]), (20, [30.0, 31.0, 32.0])):
        for seed, value in enumerate(p50):
            row = dict.fromkeys(SWEEP_COLUMNS, 1.0)
            row.update({"fleet.robots": robots, "seed": seed, "gridlocked": False})
            rows.append({**row, "cycle_time_p50": value})
    table = pd.DataFrame(rows)
    console = Console(width=200, record=True)
    console.print(sweep_table(table, pd.DataFrame(), ["fleet.robots"], "t"))
    text = console.export_text()
    assert "42 (2/3 seeds)" in text and "31 (" not in text
    assert "(k/n seeds): the mean of the k seeds that define it" in text
