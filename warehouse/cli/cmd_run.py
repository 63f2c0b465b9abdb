"""``warehouse run``.

It checks every input first (scenario, overrides, policies, seeds, output path) and creates
its output folder only once the runs succeeded (see :func:`warehouse.report.staged_dir`).
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Annotated, Any

import typer

from warehouse.errors import InputError

from .checks import (
    check_set_keys,
    final_out_folder,
    input_file,
    name_list,
    new_output_file,
    new_run_folder,
    writable_out_folder,
)

TargetArg = Annotated[
    str,
    typer.Argument(
        help="Built-in scenario name, scenario YAML file, map file, League of Robot Runners "
        "problem .json or MovingAI .scen file."
    ),
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


#: What ``warehouse run`` compares when neither ``--policy`` nor the scenario names a policy.
DEFAULT_POLICIES = ("hierarchical", "rule_based")
#: The files ``warehouse run`` writes into its output folder.
RUN_FILES = (
    "report.json", "kpis.csv", "robots.csv", "scenario.yaml", "deliveries.png", "congestion.png"
)  # fmt: skip


def run(
    target: TargetArg = "small",
    policy: Annotated[
        str | None,
        typer.Option(
            "--policy",
            help="Policies, comma separated: rule_based, random, hierarchical, a navigator "
            "(greedy dispatcher), or DISPATCHER+NAVIGATOR (see warehouse list); or as "
            "report.json names one (rule_based/pibt, rule_based:fifo+random). Default: the "
            "scenario's policies.run, else its dispatcher and navigator.",
        ),
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
            "--collisions",
            help="physical, block, pibt, pibt_swap, pibt_lacam or an installed shield (warehouse "
            "list).",
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
    record_preferences: Annotated[
        bool | None,
        typer.Option(
            "--record-preferences/--no-record-preferences",
            help="With --record: keep the navigator's scores of every move, which the replay's "
            "inspector shows (the default); without them the file is smaller.",
        ),
    ] = None,
    sets: SetOpt = None,
    baseline: Annotated[
        str | None,
        typer.Option(
            "--baseline",
            help="Policy the others are compared with, seed by seed (default: the scenario's "
            "policies.baseline, else the rule-based fleet if it runs, else the first); the run "
            "folder's scenario.yaml records it.",
        ),
    ] = None,
    jobs: Annotated[
        int,
        typer.Option(
            "--jobs",
            min=1,
            help="Processes to spread the (policy, seed) episodes over; the results are the "
            "same as with one.",
        ),
    ] = 1,
) -> None:
    """Run a scenario with one or more policies on the same seeds; print and save KPIs.

    Without --policy: the scenario's policies section (its policies.run, else its dispatcher
    and navigator), or, when it has none, the learned hierarchy (PPO dispatcher + CQL
    navigator + PIBT shield) beside the rule-based fleet. The run folder's scenario.yaml lists
    the policies that flags chose as policies.run, and --baseline as policies.baseline, so
    warehouse run RUN/scenario.yaml runs and pairs them again.
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

    if record is None and record_preferences is not None:  # (it would be silently ignored)
        flag = "--record-preferences" if record_preferences else "--no-record-preferences"
        raise InputError(None, flag, "only with --record")
    preferences = record_preferences is not False
    policies = name_list(policy, "--policy") if policy is not None else None
    check_set_keys(
        sets,
        {"--robots": robots, "--steps": steps, "--seeds": seeds, "--tasks": tasks,
         "--collisions": collisions, "--dispatcher": dispatcher, "--navigator": navigator},
    )  # fmt: skip
    from scenarios.load import SHORTCUTS

    for item in sets or ():
        key = item.partition("=")[0].strip()
        full = SHORTCUTS.get(key, key)  # (`navigator` is `policies.navigator`)
        if policies and full in (
            "policies", "policies.dispatcher", "policies.navigator", "policies.run"
        ):  # fmt: skip
            # --policy decides the parts; the --set would be silently ignored.
            raise InputError(
                None, f"--set {key}", "--policy picks the policies; use --dispatcher/--navigator"
            )
        if baseline is not None and full == "policies.baseline":  # (one would be dropped)
            raise InputError(None, f"--set {key}", "--baseline sets it too; give it once")
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
        default_policies=DEFAULT_POLICIES if dispatcher is None and navigator is None else None,
        baseline=baseline,
    )
    for changed in exp.notes:
        typer.echo(f"warning: {changed}", err=True)
    into_out = False  # whether --record names a file straight in --out
    if record is not None:
        import importlib.util

        if importlib.util.find_spec("warehouse.recorder") is None:
            raise InputError(None, "--record", "recording is not available in this install")
        if into_out := out is not None and _inside(record, out):
            input_file(record, "--record", "file name")  # (the run makes --out, checked below)
        else:
            new_output_file(record, "--record", "file name")
        from warehouse.recorder import check_recording_fits

        # (before hours of simulation: a recording too large to load again is refused now)
        battery = exp.scenario.battery.capacity_wh is not None
        check_recording_fits(
            record, exp.floor, exp.robots, exp.steps, preferences=preferences, battery=battery
        )
    from warehouse.floor.checks import dead_end_note

    # only plain pibt: pibt_swap gets robots past dead ends (docs/results_swap.md)
    shielded = [s.name for s in exp.policies if s.collisions_for(exp.scenario) == "pibt"]
    if shielded and (note := dead_end_note(exp.floor)):
        typer.echo(f"warning: {', '.join(shielded)}: {note}", err=True)
    if exp.scenario.battery.capacity_wh is not None:
        from warehouse.core.battery import resolve_chargers
        from warehouse.floor.checks import charger_dead_end_note, charger_thoroughfare_note

        chargers = resolve_chargers(exp.floor, exp.scenario)
        if note := charger_thoroughfare_note(exp.floor, chargers):
            typer.echo(f"warning: {note}", err=True)
        if shielded and (note := charger_dead_end_note(exp.floor, chargers)):
            typer.echo(f"warning: {', '.join(shielded)}: {note}", err=True)
    if exp.scenario.faults.closures:
        from warehouse.core.closure_report import late_closures

        physics = exp.scenario.physics
        for line in late_closures(exp.floor, exp.scenario.faults, physics.step_seconds, exp.steps):
            typer.echo(f"warning: {line}", err=True)
    from warehouse.rerun import map_copy_name

    writes = (*RUN_FILES, *filter(None, [map_copy_name(exp.scenario)]))
    given = out is not None
    if record is not None and record.name in writes and out is not None and _inside(record, out):
        raise InputError(record, "--record", f"{record.name} is a file the run writes there")
    # a recording into --out is published with the run's files (and may not replace one there)
    kept = (*writes, record.name) if record is not None and into_out else writes
    out = writable_out_folder(out or new_run_folder(exp.scenario.name), writes=kept)

    console = Console(stderr=True)
    from warehouse.jit_cache import cold

    name = exp.scenario.name  # (on the bar while the first run of a version compiles)
    first = f"{name}: compiling the kernels, once per version" if cold() else name
    recorders: list[Any] = []
    total = len(exp.policies) * len(exp.seeds) * exp.steps
    with Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        TextColumn("{task.completed:,}/{task.total:,} steps"),
        TimeRemainingColumn(),
        console=console,
        transient=True,
    ) as bar:
        task = bar.add_task(first, total=total)
        results = run_experiment(
            exp,
            progress=lambda n: bar.update(task, advance=n, description=name),
            record=_recorder(preferences, exp.steps) if record is not None else False,
            on_recorder=recorders.append,
            jobs=jobs,
        )
    report = build_report(results, created=now_iso(), baseline=exp.baseline)
    # (a run started in the same second may have taken the default folder meanwhile)
    anew = functools.partial(new_run_folder, exp.scenario.name)
    with final_out_folder(out, given, anew, kept) as out, staged_dir(out) as stage:
        write_outputs(results, stage, report)
        if record is not None and recorders:
            _save_record(recorders[0], stage / record.name if into_out else record)
    Console().print(kpi_table(report))
    if (paired := paired_table(report)) is not None:
        Console().print(paired)
    for line in gridlock_warnings(report):
        typer.echo(line, err=True)
    typer.echo(f"wrote {out}/ ({', '.join(writes)})")
    if record is not None:
        typer.echo(f"recorded seed {exp.seeds[0]} of {exp.policies[0].name} to {record}")


def _inside(record: Path, out: Path) -> bool:
    """Whether the file ``record`` goes straight into the folder ``out`` (made or not yet)."""
    return record.resolve().parent == Path(out).resolve()


def _recorder(preferences: bool, steps: int) -> Any:
    """What ``run_experiment(record=...)`` takes: ``True`` (the model's own recorder, with the
    navigator's preferences), or a factory of one without them (``--no-record-preferences``)."""
    if preferences:
        return True
    return functools.partial(_recorder_without_preferences, steps=steps)


def _recorder_without_preferences(sim: Any, meta: dict[str, Any], *, steps: int) -> Any:
    """An episode recorder that leaves the navigator's preferences out (a factory
    ``(sim, meta) -> recorder`` as :class:`~warehouse.model.WarehouseModel` takes one)."""
    from warehouse.recorder import EpisodeRecorder

    return EpisodeRecorder(sim, meta=meta, store_preferences=False, expected_steps=steps)


def _save_record(recorder: Any, path: Path) -> None:
    """Save the recording; remove a partial file if saving fails."""
    try:
        recorder.save(path)
    except BaseException:
        path.unlink(missing_ok=True)
        raise


def register(app: typer.Typer) -> None:
    app.command("run")(run)
