"""``warehouse sweep``: every combination of ``--set KEY=V1,V2,...`` on every seed.

The runs go through ``mesa.batch_run`` (:class:`~warehouse.model.WarehouseModel`). Every input
is checked first, every combination's floor and policy built once (two values that give the same
setting, or a swept collision mode that the policy overrides, are refused), and the output folder
is created only once the runs succeeded (:func:`warehouse.report.staged_dir`; checked again
then, so a sweep that finished meanwhile is not overwritten). It holds:

* ``sweep.csv``: one row per combination and seed, the policy and collision mode that ran it,
  every KPI, and whether the run ended gridlocked;
* ``paired.csv``: the **first combination** (each key's first value) is the baseline. Every
  other combination is compared with it seed by seed, as ``warehouse run`` compares policies:
  one row per combination and KPI with the mean per-seed difference, its 95 % CI and the
  ratio of means.

* ``target.json`` (with ``--target``): every setting judged against the targets, and the
  answer (:func:`warehouse.kpi_targets.decide`).

The printed table has one row per combination: its means over the seeds, deliveries ± 95 % CI,
the paired difference in deliveries against the baseline, and its gridlocked seeds; a sweep of
one-shot MAPF instances (``tasks.assignment: one_shot``) shows the success rate (``solved``) ± 95 %
CI and its paired difference, ``on_goal_share``, ``makespan``, ``sum_of_costs`` and its ratio to
``sum_of_costs_lb`` instead (:data:`ONE_SHOT_COLUMNS`). With
``--target KPI>=VALUE`` / ``KPI<=VALUE`` (repeatable, all must hold) the lines after it name the
smallest swept value that meets every target with 95 % confidence (:mod:`warehouse.kpi_targets`).
"""

from __future__ import annotations

import contextlib
import functools
import itertools
import sys
from collections.abc import Iterator
from typing import Annotated, Any, cast

import typer

from warehouse.errors import InputError

from .checks import final_out_folder, new_run_folder, one_policy, writable_out_folder
from .cmd_run import OutOpt, SeedsOpt, StepsOpt, TargetArg

SweepSetOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--set",
        help="Scenario setting KEY=V1,V2,... (dotted key, YAML values; lists in brackets stay "
        "whole) to sweep, or KEY=VALUE to fix; repeatable: every combination runs.",
    ),
]

#: The files a sweep may write into its output folder (an earlier sweep's are not replaced).
SWEEP_FILES = ("sweep.csv", "paired.csv", "target.json")

#: KPI → header of the printed table (sweep.csv has every KPI); deliveries with its 95 % CI and
#: its paired difference, the others as means.
SWEEP_COLUMNS = {
    "deliveries": "deliv.",
    "throughput_per_hour": "per h",
    "open_orders": "backlog",
    "collisions": "coll.",
    "cycle_time_p50": "p50 s",
}

#: The same for a sweep of one-shot MAPF instances (``tasks.assignment: one_shot``): the success
#: rate (``solved``) with its 95 % CI and paired difference, then means; ``SoC/LB`` is
#: ``sum_of_costs / sum_of_costs_lb`` per seed (the printed table only, not a KPI).
SOC_RATIO = "sum_of_costs_over_lb"
ONE_SHOT_COLUMNS = {
    "solved": "solved",
    "on_goal_share": "on goal",
    "makespan": "makespan",
    "sum_of_costs": "SoC",
    SOC_RATIO: "SoC/LB",
    "collisions": "coll.",
}


def sweep(
    target: TargetArg,
    sets: SweepSetOpt = None,
    seeds: SeedsOpt = None,
    steps: StepsOpt = None,
    policy: Annotated[
        str | None,
        typer.Option(
            "--policy",
            help="Policy for every run, as `run --policy` takes it (default: the scenario's: the "
            "one its policies.run lists, else its dispatcher and navigator).",
        ),
    ] = None,
    jobs: Annotated[int, typer.Option("--jobs", min=1, help="Parallel processes.")] = 1,
    out: OutOpt = None,
    targets: Annotated[
        list[str] | None,
        typer.Option(
            "--target",
            help="A target KPI>=VALUE or KPI<=VALUE on any KPI of sweep.csv (e.g. "
            "throughput_per_hour>=400); repeatable, all must hold.",
        ),
    ] = None,
) -> None:
    """Run every combination of --set KEY=V1,V2,... on every seed via mesa.batch_run; compare
    each combination with the first, seed by seed. With --target: the smallest value of the
    swept key (numerically) that meets every target with 95% confidence, in target.json
    too."""
    import pandas as pd
    from mesa.batchrunner import batch_run
    from rich.console import Console

    from scenarios import apply_overrides, build_floor, load_scenario
    from warehouse.atomic import write_text_atomic
    from warehouse.kpi_targets import decide, parse_target, summary_lines
    from warehouse.policies import SET_PIBT, build_policy, check_checkpoints_used, pibt_note
    from warehouse.report import GRIDLOCK_SHARE, is_gridlocked, report_json, staged_dir
    from warehouse.runner import one_policy_spec, parse_seeds
    from warehouse.threads import torch_threads

    from .checks import FLAG_OF, READ_BY_ONE_COMMAND, check_setting_used
    from .sweep_inputs import (
        blamed,
        check_collisions_swept,
        check_distinct,
        check_targets_defined,
        parse_grid,
    )

    policy = None if policy is None else one_policy(policy, "--policy")
    goals = [parse_target(text, sweep_kpis()) for text in targets or ()]
    sc, source = load_scenario(target)
    grid, labels = parse_grid(sets or (), policy)
    for key, values in grid.items():  # (a sweep compares no policies: policies.baseline)
        for value in values:
            check_setting_used(key, value, READ_BY_ONE_COMMAND)
    parsed_seeds = parse_seeds(seeds)
    episode: dict[str, Any] = {"episode.steps": sc.episode.steps if steps is None else steps}
    if parsed_seeds is not None:
        episode["episode.seeds"] = parsed_seeds
    # checks --steps and --seeds like a scenario
    base = apply_overrides(sc, episode, source, {k: FLAG_OF[k] for k in episode})
    seed_list, n_steps = list(base.episode.seeds), base.episode.steps
    if policy is not None:  # (named as `warehouse run --policy` takes it: guided/pibt too)
        one_policy_spec(policy, base, source)
    # Check every combination now, so nothing runs (or is written) on bad input.
    named = {k: f"--set {k}" for k in grid}
    built: dict[str, Any] = {}
    variants, floors = [], []
    for combo in itertools.product(*grid.values()):
        combination = dict(zip(grid, combo, strict=True))
        variant = apply_overrides(base, combination, source, named)
        variants.append(variant)
        key = variant.model_dump_json(
            include={"layout", "fleet", "tasks", "physics", "faults", "battery"}
        )
        if key not in built:
            # a floor check names the --set that failed it
            built[key] = build_floor(variant, source, named)
        floors.append(built[key])
    check_distinct(grid, labels, variants)
    notes: list[str] = []  # a navigator that needs a PIBT shield it does not get
    try:
        # each run's policy, as `warehouse run` resolves it (--policy, else the one policy the
        # combination's policies.run lists, else its dispatcher and navigator): the same one
        # WarehouseModel resolves in the runs
        specs = [
            one_policy_spec(
                policy, v, source, overrides=grid, names=named, runs="a sweep runs one policy"
            )
            for v in variants
        ]
        for variant in variants:  # a checkpoint must be loaded by some combination
            check_checkpoints_used(specs, variant, source)
        # build every combination's policy (its parts' settings, its checkpoints) as `warehouse
        # run` does: a bad --set value fails here, not after the combinations before it ran
        for spec, variant, floor in zip(specs, variants, floors, strict=True):
            _, nav = build_policy(spec, variant, source, floor)
            note = pibt_note(spec, nav, variant, SET_PIBT)  # (policies.shield where it decides)
            if note is not None and note not in notes:
                notes.append(note)
    except InputError as exc:  # a setting a --set gave names that option
        listed = any(v.policies.run for v in variants)
        raise blamed(exc, grid, named, source, policy, listed) from None
    check_collisions_swept(grid, specs, variants)
    check_targets_defined(goals, variants)
    for note in notes:
        typer.echo(f"warning: {note}", err=True)
    chosen_out = out
    out = writable_out_folder(out or new_run_folder(f"sweep-{sc.name}"), writes=SWEEP_FILES)

    scenario_arg = str(source) if source is not None else str(target)
    params: dict[str, Any] = {k: v for k, v in grid.items()}
    params.update(
        scenario=scenario_arg,
        seed=seed_list,
        steps=n_steps,
        policy=policy or "",
        collect_every=1,
        last_only=True,
        per_robot=False,
        check_checkpoints=False,
    )
    n_runs = len(seed_list) * len(variants)
    jobs = min(jobs, n_runs)  # no idle worker processes
    console = Console(stderr=True)
    # torch on one thread, in this process and in the workers (_sweep_model), as `warehouse run`
    with (
        console.status(f"sweep: {n_runs} runs of {n_steps} steps ({jobs} process(es))"),
        torch_threads(1, only_if_loaded=True),
        _quiet_workers(),
    ):
        rows = batch_run(
            cast(Any, _sweep_model),
            parameters=params,
            number_processes=jobs,
            iterations=1,
            max_steps=n_steps,
            data_collection_period=-1,
            display_progress=False,
        )
    # Each run's swept values as typed, found by repr (1 == 1.0 == True), before pandas turns a
    # column of 0.5 and 1 into floats.
    typed = {key: [repr(v) for v in values] for key, values in grid.items()}
    for row in rows:
        row.update({key: labels[key][typed[key].index(repr(row[key]))] for key in grid})
    # Swept keys are dotted (fleet.robots), so no KPI column (robots) can overwrite them.
    table = pd.DataFrame(rows).sort_values("RunId")
    table = table[[*grid, "seed", *sweep_kpis()]].reset_index(drop=True)
    # which policy ran each row, and under which collision mode (the file says it, not the title)
    ran = {
        combo: (spec.name, spec.collisions_for(variant))
        for combo, spec, variant in zip(
            itertools.product(*labels.values()), specs, variants, strict=True
        )
    }
    combos = list(zip(*(table[key] for key in grid), strict=True)) if grid else [()] * len(table)
    table.insert(len(grid), "policy", [ran[c][0] for c in combos])
    table.insert(len(grid) + 1, "collision_mode", [ran[c][1] for c in combos])
    jams = zip(table["jammed_robots"], table["robots"], strict=True)
    table["gridlocked"] = [is_gridlocked(jammed, robots) for jammed, robots in jams]
    paired = paired_frame(table, list(grid))
    anew = functools.partial(new_run_folder, f"sweep-{sc.name}")
    given = chosen_out is not None
    with final_out_folder(out, given, anew, SWEEP_FILES) as out, staged_dir(out) as stage:
        write_text_atomic(stage / "sweep.csv", table.to_csv(index=False, lineterminator="\n"))
        if len(paired):
            write_text_atomic(stage / "paired.csv", paired.to_csv(index=False, lineterminator="\n"))
        answer = None
        if goals:
            answer = decide(target_settings(table, grid, labels, goals), goals)
            answer.update(scenario=sc.name, seeds=seed_list, steps=n_steps)
            write_text_atomic(stage / "target.json", report_json(answer))
    modes = sorted({spec.collisions_for(v) for spec, v in zip(specs, variants, strict=True)})
    names = sorted({spec.name for spec in specs})
    minutes = sorted({n_steps * v.physics.step_seconds / 60 for v in variants})
    span = f"{minutes[0]:g}" + (f"–{minutes[-1]:g}" if len(minutes) > 1 else "")
    stops = [v.episode.stop_when_solved for v in variants]  # runs that end when solved
    steps_text = f"× {n_steps} steps"
    if all(stops):
        steps_text = f"until solved, at most {n_steps} steps"
    elif any(stops):
        steps_text = f"× at most {n_steps} steps (until solved where episode.stop_when_solved)"
    title = (
        f"sweep of {sc.name}: {n_runs} runs {steps_text} "
        f"({span} min); policy {', '.join(names)}, collisions {', '.join(modes)}"
    )
    Console().print(sweep_table(table, paired, list(grid), title))
    if jammed := int(table["gridlocked"].sum()):
        typer.echo(
            f"warning: {jammed} of {len(table)} runs ended gridlocked (≥ {GRIDLOCK_SHARE:.0%} of "
            "the fleet jammed): see the `gridlocked` column of sweep.csv",
            err=True,
        )
    for key in no_effect(table, list(grid)):
        typer.echo(
            f"warning: --set {key}: every value gave identical runs; does the policy "
            f"({', '.join(names)}) read it in {n_steps} steps?",
            err=True,
        )
    if answer is not None:
        for line in summary_lines(answer, goals):
            typer.echo(line)
    files = [
        "sweep.csv",
        *(["paired.csv"] if len(paired) else []),
        *(["target.json"] * bool(goals)),
    ]
    written = ", ".join(files[:-1]) + " and " + files[-1] if len(files) > 1 else files[0]
    typer.echo(f"wrote {written} to {out} ({len(table)} runs)")


def no_effect(table: Any, keys: list[str]) -> list[str]:
    """The swept keys whose values gave identical final KPIs on every seed and every setting of
    the other keys (a setting the policy never reads, such as ``reward.*`` for ``rule_based``)."""
    kpis = [c for c in sweep_kpis() if c in table.columns]
    out = []
    for key in keys:
        others = [k for k in keys if k != key] + ["seed"]
        runs = table[[key, *others, *kpis]].astype(str)
        if runs[key].nunique() > 1 and all(
            len(group[kpis].drop_duplicates()) == 1 for _, group in runs.groupby(others)
        ):
            out.append(key)
    return out


def _sweep_model(**kwargs: Any) -> Any:
    """One run of ``mesa.batch_run``: a :class:`~warehouse.model.WarehouseModel` whose learned
    parts run torch on one thread, as in ``warehouse run`` (in a worker process too; many
    threads on a fleet's small batches are several times slower, see
    :mod:`warehouse.threads`)."""
    from warehouse.model import WarehouseModel
    from warehouse.policies import pibt_note_told

    with pibt_note_told():  # (the sweep printed it once)
        model = WarehouseModel(**kwargs)
    if "torch" in sys.modules:
        import torch

        torch.set_num_threads(1)
    return model


@contextlib.contextmanager
def _quiet_workers() -> Iterator[None]:
    """``mesa.batch_run``'s worker processes, made in the block, ignore Ctrl-C: this process
    stops them (its pool's ``terminate``) and says it was interrupted on one line, where each
    worker would print its own traceback (:mod:`warehouse.interrupt`)."""
    import mesa.batchrunner

    from warehouse.interrupt import quiet_pool

    make_pool = mesa.batchrunner.Pool
    mesa.batchrunner.Pool = quiet_pool(make_pool)  # type: ignore[assignment]
    try:
        yield
    finally:
        mesa.batchrunner.Pool = make_pool  # type: ignore[assignment]


def sweep_kpis() -> tuple[str, ...]:
    """The KPI columns of sweep.csv, each a possible ``--target``: every KPI and the backlog of
    open orders at the end."""
    from warehouse.kpis import KPI_NAMES

    return (*KPI_NAMES, "open_orders")


def target_settings(
    table: Any, grid: dict[str, list[Any]], labels: dict[str, list[str]], goals: list[Any]
) -> list[tuple[dict[str, Any], dict[str, list[Any]]]]:
    """``(setting, {KPI: per-seed values})`` of every combination of ``table`` (sweep.csv,
    swept values as typed) in the sweep's order, for :func:`warehouse.kpi_targets.decide`. A target
    KPI undefined on every run (e.g. cycle times when nothing was delivered) is an
    :class:`InputError`: no setting can be judged on it."""
    from warehouse.report import summarize

    keys = list(grid)
    groups = list(table.groupby(keys, sort=False)) if keys else [((), table)]
    settings = []
    for values, runs in groups:
        values = values if isinstance(values, tuple) else (values,)
        setting = {k: grid[k][labels[k].index(v)] for k, v in zip(keys, values, strict=True)}
        runs = runs.sort_values("seed")
        kpis = {g.kpi: summarize(runs[g.kpi].tolist())["per_seed"] for g in goals}
        settings.append((setting, kpis))
    for goal in goals:
        if all(v is None for _, kpis in settings for v in kpis[goal.kpi]):
            raise InputError(
                None,
                "--target",
                f"{goal.kpi} is undefined on every run of this sweep (nothing delivered?): "
                f"{goal.text!r}",
            )
    return settings


def paired_frame(table: Any, keys: list[str]) -> Any:
    """One row per combination after the first and KPI: the combination's
    :func:`~warehouse.report.paired_rows` against the first one over the same seeds (an empty
    frame with fewer than two combinations)."""
    import pandas as pd

    from warehouse.kpis import KPI_NAMES
    from warehouse.report import paired_rows, summarize

    groups = list(table.groupby(keys, sort=False)) if keys else []
    if len(groups) < 2:
        return pd.DataFrame(columns=[*keys, "kpi", "diff", "ci95", "ratio"])

    def kpis(runs: Any) -> dict[str, Any]:
        runs = runs.sort_values("seed")
        return {name: summarize(runs[name].tolist()) for name in KPI_NAMES}

    base = kpis(groups[0][1])
    rows = []
    for values, runs in groups[1:]:
        values = values if isinstance(values, tuple) else (values,)
        for kpi, row in paired_rows(kpis(runs), base).items():
            rows.append({**dict(zip(keys, values, strict=True)), "kpi": kpi, **row})
    return pd.DataFrame(rows)


def sweep_table(table: Any, paired: Any, keys: list[str], title: str) -> Any:
    """A rich Table, one row per combination of swept values: the :data:`SWEEP_COLUMNS` KPIs
    over its seeds (:data:`ONE_SHOT_COLUMNS` when every run is a one-shot MAPF instance), its
    paired difference in the first of them (deliveries; the success rate) against the first
    row, and how many of its seeds ended gridlocked."""
    from rich.table import Table

    from warehouse.report import format_cell, summarize

    one_shot = "solved" in table.columns and bool(table["solved"].notna().all())
    columns = ONE_SHOT_COLUMNS if one_shot else SWEEP_COLUMNS
    headline = next(iter(columns))
    if one_shot:  # per seed; undefined (NaN) where the instance was not solved
        table = table.assign(**{SOC_RATIO: table["sum_of_costs"] / table["sum_of_costs_lb"]})
    n_seeds, compared = int(table["seed"].nunique()), len(paired) > 0
    groups = list(table.groupby(keys, sort=False)) if keys else [((), table)]
    # one swept setting with three values or more: each row against the one before too
    stepwise = compared and len(keys) == 1 and len(groups) >= 3
    what = "solved (the success rate)" if one_shot else "deliveries"
    caption = [f"final KPIs, means over {n_seeds} seed(s), {what} ± 95% CI"]
    if compared:
        caption.append(f"Δ: {headline} minus the first row's, paired by seed (± 95% CI)")
    if stepwise:
        caption.append("Δ prev: minus the row before's, paired the same way")
    if one_shot:
        caption.append(
            "on goal: share of robots on their goal at the end; makespan, SoC (sum of costs) "
            "and SoC/LB (over the sum of shortest-path lengths): over the solved seeds; "
            "collisions; jams: seeds that ended gridlocked"
        )
    else:
        caption.append(
            "deliveries per hour of simulated time; backlog: open orders at the end; "
            "collisions, median cycle time (s); jams: seeds that ended gridlocked"
        )
    caption.append("every KPI in sweep.csv" + (" and paired.csv" if compared else ""))
    shown = Table(title=title, caption="; ".join(caption))
    for col in keys:
        shown.add_column(col.rsplit(".", 1)[-1], justify="right", overflow="fold")
    headers = list(columns.values())
    if compared:
        headers.insert(1, "Δ")
    if stepwise:
        headers.insert(2, "Δ prev")
    for header in headers:
        shown.add_column(header, justify="right", min_width=len(header), overflow="fold")
    shown.add_column("jams", justify="right", min_width=4)
    deltas = paired[paired["kpi"] == headline] if compared else paired
    partial = False  # a KPI defined on only some seeds: said in its cell and the caption
    for i, (values, rows) in enumerate(groups):
        values = values if isinstance(values, tuple) else (values,)
        stats = [summarize(rows[kpi].tolist()) for kpi in columns]
        cells = [format_cell(stats[0]), *(_mean_cell(s) for s in stats[1:])]
        partial = partial or any(c.endswith(" seeds)") for c in cells)
        if compared:
            delta = deltas.iloc[i - 1] if i else None
            cells.insert(1, "base" if delta is None else _delta(delta["diff"], delta["ci95"]))
        if stepwise:
            cells.insert(2, "—" if i == 0 else _step_delta(groups[i - 1][1], rows, headline))
        jams = f"{int(rows['gridlocked'].sum())}/{len(rows)}"
        shown.add_row(*(_cell(v) for v in values), *cells, jams)
    if partial:
        shown.caption = f"{shown.caption}; (k/n seeds): the mean of the k seeds that define it"
    return shown


def _mean_cell(summary: dict[str, Any]) -> str:
    """The mean of a :func:`~warehouse.report.summarize` as a cell, saying over how many seeds
    when the KPI is undefined on some (a median cycle time without deliveries)."""
    text = _cell(summary["mean"])
    per_seed = summary["per_seed"]
    defined = sum(v is not None for v in per_seed)
    return (
        text
        if summary["mean"] is None or defined == len(per_seed)
        else (f"{text} ({defined}/{len(per_seed)} seeds)")
    )


def _step_delta(before: Any, rows: Any, name: str = "deliveries") -> str:
    """KPI ``name`` of ``rows`` minus that of ``before``, paired by seed (± 95% CI)."""
    from warehouse.report import paired_rows, summarize

    def kpi(runs: Any) -> dict[str, Any]:
        return {name: summarize(runs.sort_values("seed")[name].tolist())}

    row = paired_rows(kpi(rows), kpi(before), [name])[name]
    return _delta(row["diff"], row["ci95"])


def _delta(diff: float | None, ci: float | None) -> str:
    """``"+3.0 ± 6.1"`` from a paired.csv row (None or NaN: undefined)."""
    from warehouse.report import format_paired

    def known(x: float | None) -> float | None:
        return None if x is None or x != x else float(x)

    return format_paired({"diff": known(diff), "ci95": known(ci), "ratio": None})


def _cell(x: Any) -> str:
    from rich.markup import escape

    if x is None or (isinstance(x, float) and x != x):
        return "—"
    if isinstance(x, float):
        return f"{x:.3g}" if abs(x) < 100 else f"{x:,.0f}"
    return escape(str(x))  # a swept value such as [north] is text, not rich markup


def register(app: typer.Typer) -> None:
    app.command("sweep")(sweep)
