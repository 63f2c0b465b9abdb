"""``warehouse compare``: two finished runs, paired seed by seed."""

from __future__ import annotations

import json
from typing import Annotated

import typer

RunArg = Annotated[str, typer.Argument(help="Run folder of `warehouse run`, or its report.json.")]


def compare(
    base: RunArg,
    other: RunArg,
    all_kpis: Annotated[
        bool,
        typer.Option(
            "--all", help="Every KPI in the table, not only the headline ones (--json has all)."
        ),
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the comparison as JSON.")] = False,
) -> None:
    """Compare two runs over the same seeds: OTHER − BASE for each policy both ran.

    For settings rather than policies: run the scenario twice with the same seeds, e.g. with
    and without --set policies.park_idle=5, and compare the two folders.
    """
    from rich.console import Console
    from rich.markup import escape

    from warehouse.compare import compare_reports
    from warehouse.kpis import KPI_NAMES
    from warehouse.report import PAIRED_KPIS, rows_table, seeds_text

    result = compare_reports(base, other)
    if as_json:
        typer.echo(json.dumps(result, indent=1, sort_keys=True))
        return
    title = f"{result['other']} − {result['base']}, paired over {seeds_text(result['seeds'])}"
    for key, (was, now) in result["differ"].items():  # (values as the scenario files say them)
        title += f"; {key} {_yaml_word(was)} → {_yaml_word(now)}"
    # (the table reads its title and column names as rich markup: "[north]" would vanish)
    pairs = {escape(label): rows for label, rows in result["pairs"].items()}
    shown = [k for k in (KPI_NAMES if all_kpis else PAIRED_KPIS) if k not in result["undefined"]]
    Console().print(rows_table(escape(title), pairs, shown))
    if result["unmatched_policies"]:
        names = ", ".join(result["unmatched_policies"])
        typer.echo(f"not compared (policies of one run only): {names}")
    if result["not_compared"]:
        typer.echo(f"not compared (in one report only): {', '.join(result['not_compared'])}")


def register(app: typer.Typer) -> None:
    app.command("compare")(compare)


def _yaml_word(value: object) -> str:
    """A setting's value as YAML writes it: ``null``, ``true``, ``5.0``, ``[west, east]``."""
    import yaml

    text = yaml.safe_dump(value, default_flow_style=True, width=1000)
    return text.strip().removesuffix("...").strip()
