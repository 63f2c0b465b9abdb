"""``warehouse list`` and ``warehouse validate``."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from warehouse.errors import InputError

from .checks import check_set_keys, counted
from .cmd_run import SetOpt

if TYPE_CHECKING:
    from scenarios import Scenario


def list_scenarios() -> None:
    """List the built-in scenarios and the policy names."""
    from rich.console import Console
    from rich.table import Table

    from agents import NAVIGATORS
    from hierarchy import DISPATCHERS
    from scenarios import builtin_names, describe
    from warehouse.policies import PRESETS, policy_names
    from warehouse.shield import collision_modes

    table = Table(title="built-in scenarios (warehouse run NAME)")
    for col in ("name", "robots", "floor", "free cells", "description"):
        table.add_column(
            col,
            justify="right" if col in ("robots", "free cells") else "left",
            no_wrap=col != "description",
        )
    for name in builtin_names():
        s = describe(name)
        table.add_row(name, str(s.robots), s.floor, str(s.free), s.description)
    console = Console()
    console.print(table)
    policies = Table(title="policies (warehouse run --policy NAME)")
    for col in ("policy", "dispatcher", "navigator", "collisions"):
        policies.add_column(col, no_wrap=True)
    for name in policy_names():
        disp, nav, mode = PRESETS.get(name, ("greedy", name, None))
        policies.add_row(name, disp, nav, mode or "scenario")  # (a preset may fix the mode)
    console.print(policies)
    console.print(f"dispatchers: {', '.join(sorted(DISPATCHERS))}")
    console.print(f"navigators: {', '.join(sorted(NAVIGATORS))}")
    console.print(f"collision modes (--collisions): {', '.join(collision_modes())}")


def validate(
    target: Annotated[
        str | None, typer.Argument(help="Scenario file, built-in name or map file.")
    ] = None,
    schema: Annotated[
        bool, typer.Option("--schema", help="Print every scenario setting as a Markdown table.")
    ] = False,
    template: Annotated[
        bool,
        typer.Option(
            "--template",
            help="Print a scenario file with every setting at its default, each under its "
            "description (a start for your own: warehouse validate --template > mine.yaml).",
        ),
    ] = False,
    sets: SetOpt = None,
) -> None:
    """Check a scenario (schema, map, floor) and print a summary, or the one-line error.

    --set checks it as `warehouse run FILE --set ...` would run it (a map file with a fleet
    of its size: --set fleet.robots=4)."""
    if template:
        if schema or target is not None or sets:
            raise InputError(None, "--template", "give it alone (no FILE, no --schema, no --set)")
        from scenarios.docs import scenario_template

        typer.echo(scenario_template(), nl=False)
        return
    check_set_keys(sets)  # (a key given twice: one value would be silently dropped)
    if schema:
        from scenarios.docs import schema_markdown

        typer.echo(schema_markdown())
        if target is None:
            return
    if target is None:
        raise typer.BadParameter("give a scenario file (or --schema, or --template)")
    from scenarios.registry import describe, load_with_sets

    s = describe(target, sets or ())
    _check_policies(*load_with_sets(target, sets or ())[:2])
    label = Path(target).name if Path(target).exists() else target
    kinds = f"{counted(s.picks, 'pick location')}, {counted(s.stations, 'station')}"
    if s.parking:
        kinds += f", {counted(s.parking, 'parking cell')}"
    if s.one_way:
        kinds += f", {counted(s.one_way, 'one-way move')}"
    if s.inferred:  # a map that marks neither kind, or one only
        names = {"pick": "pick locations", "station": "stations"}
        kinds += f"; {' and '.join(names[k] for k in s.inferred)} inferred from the map"
    typer.echo(
        f"OK {label}: {s.name}: {counted(s.robots, 'robot')}, floor {s.floor} "
        f"({counted(s.free, 'free cell')}; "
        f"{kinds}), {s.tasks}" + (f" — {s.description}" if s.description else "")
    )
    for line in s.closures:
        typer.echo(f"closure: {line}")
    for line in s.battery:
        typer.echo(f"battery: {line}")
    for note in s.notes:
        typer.echo(f"note: {note}")


def _check_policies(scenario: Scenario, source: Path | None) -> None:
    """The ``policies`` section names registered parts and checkpoints that load, for the
    policies ``warehouse run FILE`` runs: those its ``policies.run`` lists, else the scenario's
    own, or, when it names none, the command's default ones (with the section's settings,
    checkpoints included)."""
    from warehouse.policies import build_policy, check_checkpoints_used, from_file, resolve_policy
    from warehouse.runner import listed_policies, scenario_names_policy

    from .cmd_run import DEFAULT_POLICIES

    names = [None] if scenario_names_policy(scenario, {}) else list(DEFAULT_POLICIES)
    try:
        specs = listed_policies(scenario, source) or [resolve_policy(n, scenario) for n in names]
    except InputError as exc:  # reported against the file's field, not a command-line flag
        field = {"--dispatcher": "policies.dispatcher", "--navigator": "policies.navigator"}
        raise InputError(source, field.get(exc.field or "", exc.field), exc.message) from None
    try:
        check_checkpoints_used(specs, scenario, source)
        for spec in specs:
            build_policy(spec, scenario, source)
    except InputError as exc:  # a field of the file's policies section names the file
        raise from_file(exc, source) from None


def register(app: typer.Typer) -> None:
    app.command("list")(list_scenarios)
    app.command("validate")(validate)
