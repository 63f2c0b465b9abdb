"""``warehouse run`` and ``warehouse sweep``.

Both check every input first (scenario, overrides, policies, seeds, output path) and create
their output folder only once the runs succeeded (see :func:`warehouse.report.staged_dir`).
"""

from __future__ import annotations

import itertools
import os
import re
from datetime import datetime, timezone
from pathlib import Path
from typing import Annotated, Any

import typer

from warehouse.errors import InputError

TargetArg = Annotated[
    str,
    typer.Argument(help="Built-in scenario name, scenario YAML file or map file."),
]
SeedsOpt = Annotated[
    str | None,
    typer.Option("--seeds", help="Seeds: 0,1,2 or 0..9 (inclusive). Default: the scenario's."),
]
StepsOpt = Annotated[
    int | None, typer.Option("--steps", help="Steps per episode. Default: the scenario's.")
]
OutOpt = Annotated[
    Path | None,
    typer.Option("--out", help="Output folder. Default: a new timestamped folder under runs/."),
]
SetOpt = Annotated[
    list[str] | None,
    typer.Option("--set", help="Scenario setting KEY=VALUE (dotted key, YAML value); repeatable."),
]


def _default_out(kind: str) -> Path:
    stamp = datetime.now(timezone.utc).strftime("%Y%m%d-%H%M%S")
    base = Path("runs") / f"{stamp}-{re.sub(r'[^A-Za-z0-9_.-]+', '_', kind)}"
    out, k = base, 1
    while out.exists():
        k += 1
        out = base.with_name(f"{base.name}-{k}")
    return out


def _check_out(out: Path, flag: str = "--out") -> Path:
    from .checks import check_out_folder

    check_out_folder(out, flag)
    parent = next((p for p in [out, *out.parents] if p.exists()), Path("."))
    if not os.access(parent, os.W_OK):
        raise InputError(out, flag, f"cannot write into {str(parent)!r}")
    return out


#: What ``warehouse run`` compares when neither ``--policy`` nor the scenario names a policy.
DEFAULT_POLICIES = ("hierarchical", "rule_based")


def run(
    target: TargetArg = "small",
    policy: Annotated[
        str | None,
        typer.Option("--policy", help="Policies, comma separated (rule_based, random, ...)."),
    ] = None,
    seeds: SeedsOpt = None,
    steps: StepsOpt = None,
    robots: Annotated[int | None, typer.Option("--robots", help="Fleet size.")] = None,
    tasks: Annotated[
        str | None, typer.Option("--tasks", help="pickup_delivery or goal_visit.")
    ] = None,
    collisions: Annotated[
        str | None,
        typer.Option(
            "--collisions", help="physical, block, pibt or an installed shield (warehouse list)."
        ),
    ] = None,
    dispatcher: Annotated[
        str | None, typer.Option("--dispatcher", help="Dispatcher for every policy.")
    ] = None,
    navigator: Annotated[
        str | None, typer.Option("--navigator", help="Navigator for every policy.")
    ] = None,
    out: OutOpt = None,
    record: Annotated[
        Path | None,
        typer.Option("--record", help="Record the first episode for replay into this file."),
    ] = None,
    sets: SetOpt = None,
    baseline: Annotated[
        str | None,
        typer.Option(
            "--baseline",
            help="Policy the others are compared with, seed by seed (default: the rule-based "
            "fleet if it runs, else the first).",
        ),
    ] = None,
) -> None:
    """Run a scenario with one or more policies on the same seeds; print and save KPIs.

    Without --policy: the scenario's policies section, or, when it has none, the learned
    hierarchy (PPO dispatcher + CQL navigator + PIBT shield) beside the rule-based fleet.
    """
    from rich.console import Console
    from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

    from warehouse.report import (
        build_report,
        gridlock_warnings,
        kpi_table,
        now_iso,
        paired_table,
        staged_dir,
        write_outputs,
    )
    from warehouse.runner import parse_seeds, prepare, run_experiment

    policies = [p.strip() for p in policy.split(",")] if policy else None
    if policies is not None and not all(policies):
        raise InputError(None, "--policy", f"empty policy name in {policy!r}")
    for item in sets or ():
        key = item.partition("=")[0].strip()
        if policies and key in ("policies", "policies.dispatcher", "policies.navigator"):
            # --policy decides the parts; the --set would be silently ignored.
            raise InputError(None, key, "--policy picks the policies; use --dispatcher/--navigator")
    exp = prepare(
        target,
        policies=policies,
        seeds=parse_seeds(seeds),
        steps=steps,
        robots=robots,
        tasks=tasks,
        collisions=collisions,
        dispatcher=dispatcher,
        navigator=navigator,
        sets=sets or (),
        # A scenario without a policies section: the learned hierarchy beside the rule-based
        # fleet, on the same seeds (unless --dispatcher/--navigator pick the parts).
        default_policies=None if (dispatcher or navigator) else DEFAULT_POLICIES,
    )
    names = [spec.name for spec in exp.policies]
    if baseline is not None and baseline not in names:
        raise InputError(
            None, "--baseline", f"{baseline!r} is not a policy of this run ({', '.join(names)})"
        )
    if record is not None:
        import importlib.util

        if importlib.util.find_spec("warehouse.recording") is None:
            raise InputError(None, "--record", "recording is not available in this install")
        if record.is_dir():
            raise InputError(record, "--record", "is a folder, expected a file name")
        if not record.parent.is_dir():
            raise InputError(record, "--record", "its folder does not exist")
    out = _check_out(out or _default_out(exp.scenario.name))

    console = Console(stderr=True)
    recorders: list[Any] = []
    total = len(exp.policies) * len(exp.seeds) * exp.steps
    with staged_dir(out) as stage:
        with Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            TextColumn("{task.completed:,}/{task.total:,} steps"),
            TimeRemainingColumn(),
            console=console,
            transient=True,
        ) as bar:
            task = bar.add_task(f"{exp.scenario.name}", total=total)
            results = run_experiment(
                exp,
                progress=lambda n: bar.advance(task, n),
                record=record is not None,
                on_recorder=recorders.append,
            )
        report = build_report(results, created=now_iso(), baseline=baseline)
        write_outputs(results, stage, report)
        if record is not None and recorders:
            _save_record(recorders[0], record)
    Console().print(kpi_table(report))
    if (paired := paired_table(report)) is not None:
        Console().print(paired)
    for line in gridlock_warnings(report):
        typer.echo(line, err=True)
    typer.echo(
        f"wrote {out}/ (report.json, kpis.csv, robots.csv, scenario.yaml, deliveries.png, "
        "congestion.png)"
    )
    if record is not None:
        typer.echo(f"recorded seed {exp.seeds[0]} of {exp.policies[0].name} to {record}")


def _save_record(recorder: Any, path: Path) -> None:
    """Save the recording; remove a partial file if saving fails."""
    try:
        recorder.save(path)
    except BaseException:
        path.unlink(missing_ok=True)
        raise


#: KPI → header of the printed sweep table (sweep.csv has every KPI); deliveries with its
#: 95 % CI, the others as means.
SWEEP_COLUMNS = {
    "deliveries": "deliv.",
    "collisions": "coll.",
    "utilization": "util.",
    "cycle_time_p50": "p50 s",
    "stuck_robots": "stuck",
}


def sweep(
    target: TargetArg,
    sets: SetOpt = None,
    seeds: SeedsOpt = None,
    steps: StepsOpt = None,
    policy: Annotated[
        str | None, typer.Option("--policy", help="Policy for every run (default: scenario's).")
    ] = None,
    jobs: Annotated[int, typer.Option("--jobs", min=1, help="Parallel processes.")] = 1,
    out: OutOpt = None,
) -> None:
    """Run every combination of --set KEY=V1,V2,... on every seed via mesa.batch_run."""
    import pandas as pd
    from mesa.batchrunner import batch_run
    from rich.console import Console

    from scenarios import apply_overrides, build_floor, load_scenario
    from scenarios.load import parse_value
    from warehouse.atomic import write_text_atomic
    from warehouse.kpis import KPI_NAMES
    from warehouse.model import WarehouseModel
    from warehouse.policies import check_checkpoints_used, resolve_policy
    from warehouse.report import GRIDLOCK_SHARE, is_gridlocked, staged_dir
    from warehouse.runner import parse_seeds, split_values

    sc, source = load_scenario(target)
    grid: dict[str, list[Any]] = {}
    labels: dict[str, list[str]] = {}  # the values as typed, for the table
    for item in sets or ():
        key, sep, raw = item.partition("=")
        key = key.strip()
        if not sep or not key:
            raise InputError(source, key or "--set", f"expected KEY=V1,V2,..., got {item!r}")
        if key in grid:
            raise InputError(source, key, "set twice")
        if key == "episode" or key.startswith("episode."):
            # Every sweep run gets --steps/--seeds; a swept episode setting would be ignored.
            raise InputError(source, key, "cannot be swept; use --steps and --seeds")
        if policy and key in ("policies", "policies.dispatcher", "policies.navigator"):
            raise InputError(source, key, "--policy picks the policy of every run; drop one")
        labels[key] = split_values(raw)
        grid[key] = [parse_value(v, key, source) for v in labels[key]]
        if len({repr(v) for v in grid[key]}) != len(grid[key]):
            raise InputError(source, key, f"values repeat in {raw!r}")
    parsed_seeds = parse_seeds(seeds)
    episode: dict[str, Any] = {"episode.steps": sc.episode.steps if steps is None else steps}
    if parsed_seeds is not None:
        episode["episode.seeds"] = parsed_seeds
    base = apply_overrides(sc, episode, source)  # checks --steps and --seeds like a scenario
    seed_list, n_steps = list(base.episode.seeds), base.episode.steps
    resolve_policy(policy, base)
    # Check every combination now, so nothing runs (or is written) on bad input.
    built: set[str] = set()
    variants = []
    for combo in itertools.product(*grid.values()):
        variant = apply_overrides(base, dict(zip(grid, combo, strict=True)), source)
        variants.append(variant)
        key = variant.model_dump_json(include={"layout", "fleet", "tasks", "physics"})
        if key not in built:
            build_floor(variant, source)
            built.add(key)
    specs = [resolve_policy(policy, v, source=source) for v in variants]
    for variant in variants:  # a checkpoint must be loaded by some combination
        check_checkpoints_used(specs, variant, source)
    out = _check_out(out or _default_out(f"sweep-{sc.name}"))

    scenario_arg = str(source) if source is not None else str(target)
    params: dict[str, Any] = {k: v for k, v in grid.items()}
    params.update(
        scenario=scenario_arg,
        seed=seed_list,
        steps=n_steps,
        policy=policy or "",
        collect_every=1,
        per_robot=False,
        check_checkpoints=False,
    )
    n_runs = len(seed_list) * max(1, len(list(itertools.product(*grid.values()))))
    console = Console(stderr=True)
    with staged_dir(out) as stage:
        with console.status(f"sweep: {n_runs} runs of {n_steps} steps ({jobs} process(es))"):
            rows = batch_run(
                WarehouseModel,
                parameters=params,
                number_processes=jobs,
                iterations=1,
                max_steps=n_steps,
                data_collection_period=-1,
                display_progress=False,
            )
        table = pd.DataFrame(rows).sort_values("RunId")
        keep = [*grid, "seed", *KPI_NAMES, "open_orders"]
        table = table[keep].reset_index(drop=True)
        for key, values in grid.items():
            table[key] = [labels[key][values.index(v)] for v in table[key]]
        table["gridlocked"] = [
            is_gridlocked(s, r) for s, r in zip(table["stuck_robots"], table["robots"], strict=True)
        ]
        write_text_atomic(stage / "sweep.csv", table.to_csv(index=False, lineterminator="\n"))
    Console().print(_sweep_table(table, list(grid), f"sweep of {sc.name}", n_runs, n_steps))
    if jammed := int(table["gridlocked"].sum()):
        typer.echo(
            f"warning: {jammed} of {len(table)} runs ended gridlocked (≥ {GRIDLOCK_SHARE:.0%} of "
            "the fleet stuck): see the `gridlocked` column of sweep.csv",
            err=True,
        )
    typer.echo(f"wrote {out}/sweep.csv ({len(table)} rows)")


def _sweep_table(table: Any, keys: list[str], title: str, n_runs: int, n_steps: int) -> Any:
    """One row per combination of swept values: the :data:`SWEEP_COLUMNS` KPIs over its seeds,
    and how many of its seeds ended gridlocked."""
    from rich.table import Table

    from warehouse.report import format_cell, summarize

    n_seeds = int(table["seed"].nunique())
    shown = Table(
        title=f"{title}: {n_runs} runs × {n_steps} steps",
        caption=f"final KPIs, means over {n_seeds} seed(s), deliveries ± 95% CI; collisions, "
        "utilization, median cycle time (s), stuck robots, gridlocked seeds; every run in "
        "sweep.csv",
    )
    for col in keys:
        shown.add_column(col.rsplit(".", 1)[-1], justify="right", overflow="fold")
    for header in SWEEP_COLUMNS.values():
        shown.add_column(header, justify="right", min_width=len(header), overflow="fold")
    shown.add_column("jammed", justify="right", min_width=6)
    groups = table.groupby(keys, sort=False) if keys else [((), table)]
    for values, rows in groups:
        values = values if isinstance(values, tuple) else (values,)
        stats = [summarize(rows[kpi].tolist()) for kpi in SWEEP_COLUMNS]
        cells = [format_cell(stats[0]), *(_cell(s["mean"]) for s in stats[1:])]
        jammed = f"{int(rows['gridlocked'].sum())}/{len(rows)}"
        shown.add_row(*(_cell(v) for v in values), *cells, jammed)
    return shown


def _cell(x: Any) -> str:
    from rich.markup import escape

    if x is None or (isinstance(x, float) and x != x):
        return "—"
    if isinstance(x, float):
        return f"{x:.3g}" if abs(x) < 100 else f"{x:,.0f}"
    return escape(str(x))  # a swept value such as [north] is text, not rich markup


def register(app: typer.Typer) -> None:
    app.command("run")(run)
    app.command("sweep")(sweep)
