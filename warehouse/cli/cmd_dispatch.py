"""``warehouse train-dispatcher`` (PPO dispatcher) and ``warehouse shadow`` (shadow mode)."""

from __future__ import annotations

import functools
from dataclasses import replace
from pathlib import Path
from typing import Annotated, Any

import typer

from warehouse.errors import InputError

from .checks import MAX_TRAIN_SEED
from .cmd_run import SetOpt

TrainSetOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--set",
        help="Training setting KEY=VALUE without a flag of its own (dotted, YAML value), e.g. "
        "weights.delay=0.002, ppo.clip_eps=0.1, randomize.arrival=[0.5,2]; repeatable.",
    ),
]


#: ``warehouse shadow``'s candidate where neither ``--candidate`` nor the scenario names one
DEFAULT_CANDIDATE = "hierarchical"

CandidateSetOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--candidate-set",
        help="policies.* setting KEY=VALUE for the candidate only (a checkpoint, order_pool, "
        "anticipate, max_order_age, task_swaps); repeatable; wins, key by key, over the "
        "scenario's policies.candidate_set (a shadow folder's scenario.yaml records them).",
    ),
]
IncumbentSetOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--incumbent-set",
        help="As --candidate-set, for the incumbent only (over policies.incumbent_set); "
        "park_idle too (parks the fleet).",
    ),
]


def _targets(text: str) -> tuple[str, ...]:
    from .checks import name_list

    return tuple(name_list(text, "TARGET"))


def train_dispatcher_cmd(
    ctx: typer.Context,
    target: str = typer.Argument(..., help="Training scenario(s), comma-separated."),
    navigator: str = typer.Option(
        "rule_based", help="Navigator name, NAME:CHECKPOINT, or a CQL checkpoint path."
    ),
    steps: int = typer.Option(..., min=1, help="Simulation steps in total (all env copies)."),
    out: str = typer.Option(..., help="Run folder (policy, checkpoint, TensorBoard)."),
    resume: bool = typer.Option(False, help="Continue the run in --out (its saved settings)."),
    seed: int = typer.Option(
        0, min=0, max=MAX_TRAIN_SEED, help="Seed of the network and the training episodes."
    ),
    collisions: str | None = typer.Option(
        None,
        help="Override the collision mode while training (physical, block, pibt or an "
        "installed shield).",
    ),
    envs: int = typer.Option(4, min=1, help="Episodes (env copies) per PPO iteration."),
    horizon: int = typer.Option(300, min=10, help="Steps per training episode."),
    period: int = typer.Option(10, min=1, help="Decide at least every K steps."),
    imitation: int = typer.Option(8, min=0, help="Hungarian warm-start episodes (0: none)."),
    lr: float = typer.Option(3e-4, min=0.0, help="Adam learning rate."),
    hidden: int = typer.Option(64, min=4, help="Width of the scoring network's hidden layers."),
    routes: int = typer.Option(
        0, min=0, help="Hub routes per candidate order (waypoint sub-goals; 0: direct only)."
    ),
    task_swaps: bool = typer.Option(
        False, help="Train in a fleet with task swaps (policies.task_swaps; hierarchy/swaps.py)."
    ),
    anticipate: bool = typer.Option(
        False,
        help="Train with anticipation: candidates leave out orders held for robots finishing a "
        "delivery (policies.anticipate; hierarchy/anticipation.py).",
    ),
    eval_every: int = typer.Option(5, min=0, help="Evaluate every K iterations."),
    eval_seeds: str = typer.Option("1000", help="Evaluation seeds: 1000,1001 or 1000..1004."),
    eval_steps: int = typer.Option(300, min=1, help="Steps per evaluation episode."),
    tensorboard: bool = typer.Option(True, help="Write TensorBoard logs to RUN/tb."),
    progress: bool = typer.Option(True, help="Show a progress bar."),
    sets: TrainSetOpt = None,
) -> None:
    """Train the PPO dispatcher over the navigator and shield (rich progress, TensorBoard)."""
    from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

    from hierarchy.features import FeatureConfig
    from hierarchy.ppo import PPOConfig
    from hierarchy.settings import apply_settings
    from hierarchy.train import TrainConfig, check_dispatchable, resolve_navigator, train
    from scenarios import describe, load_scenario, parse_assignment
    from warehouse.jsonio import read_json_object
    from warehouse.policies import checked_collisions
    from warehouse.threads import torch_threads

    from .checks import (
        DISPATCHER_RUN_FILES,
        NAVIGATOR_RUN_FILES,
        check_out_folder,
        check_set_keys,
        refuse_changed_settings,
        removed_on_input_error,
        seed_list,
        writable_out_folder,
    )

    if collisions is not None:
        checked_collisions(collisions)
    if not navigator.strip():  # (as a path, "" would be the current folder)
        raise InputError(
            None, "--navigator", f"expected a navigator name or checkpoint, got {navigator!r}"
        )
    check_set_keys(sets)
    settings = dict(parse_assignment(text) for text in sets or ())
    run = writable_out_folder(Path(out), writes=NAVIGATOR_RUN_FILES)  # (not a navigator run's)
    state_path = run / "checkpoint" / "state.json"
    if resume:
        if not state_path.is_file():
            raise InputError(state_path, None, "nothing to resume")
        state = read_json_object(state_path)
        cfg = replace(TrainConfig.from_dict(state.get("config"), state_path), total_steps=steps)
        done = state.get("iteration")  # (train() checks it; the progress bar starts there)
        start = min(done, cfg.iterations) if isinstance(done, int) and done > 0 else 0
        asked = {
            "navigator": navigator, "seed": seed, "collisions": collisions, "envs": envs,
            "horizon": horizon, "period": period, "imitation": imitation, "lr": lr,
            "hidden": hidden, "routes": routes, "eval_every": eval_every,
            "eval_seeds": tuple(seed_list(eval_seeds, "--eval-seeds")), "eval_steps": eval_steps,
            "task_swaps": task_swaps, "anticipate": anticipate,
        }  # fmt: skip
        kept = {
            "navigator": cfg.navigator, "seed": cfg.seed, "collisions": cfg.collisions,
            "envs": cfg.n_envs, "horizon": cfg.horizon, "period": cfg.period,
            "imitation": cfg.imitation_episodes, "lr": cfg.ppo.lr, "hidden": cfg.hidden,
            "routes": cfg.features.routes, "eval_every": cfg.eval_every,
            "eval_seeds": tuple(cfg.eval_seeds), "eval_steps": cfg.eval_steps,
            "task_swaps": cfg.task_swaps, "anticipate": cfg.anticipate,
        }  # fmt: skip
        refuse_changed_settings(ctx, asked, kept)
        if _targets(target) != tuple(cfg.scenarios):
            saved_targets = ",".join(cfg.scenarios)
            raise InputError(None, "TARGET", f"the run in --out trains on {saved_targets}")
        for key, value in settings.items():
            if apply_settings(cfg, {key: value}) != cfg:
                raise InputError(None, f"--set {key}", "differs from the run in --out")
    else:
        start = 0
        if state_path.is_file():
            raise InputError(run, None, "holds a checkpoint already; pass --resume or a new --out")
        check_out_folder(run, writes=DISPATCHER_RUN_FILES)  # nor an earlier run's policy
        targets = _targets(target)
        for name in targets:  # bad scenarios and navigators fail before anything is written
            describe(name)
            check_dispatchable(*load_scenario(name))
        try:
            resolve_navigator(navigator)
        except InputError as exc:
            field = "--navigator" if exc.field == "navigator" else exc.field
            raise InputError(exc.source, field, exc.message) from None
        cfg = TrainConfig(
            scenarios=targets,
            navigator=navigator,
            collisions=collisions,
            total_steps=steps,
            n_envs=envs,
            horizon=horizon,
            period=period,
            seed=seed,
            hidden=hidden,
            features=FeatureConfig(routes=routes),
            ppo=PPOConfig(lr=lr),
            imitation_episodes=imitation,
            task_swaps=task_swaps,
            anticipate=anticipate,
            eval_every=eval_every,
            eval_seeds=tuple(seed_list(eval_seeds, "--eval-seeds")),
            eval_steps=eval_steps,
        )
        cfg = apply_settings(cfg, settings)
    columns = (
        TextColumn("[bold]PPO[/]"), BarColumn(), TextColumn("{task.completed}/{task.total} it"),
        TextColumn("{task.fields[info]}"), TimeRemainingColumn(),
    )  # fmt: skip
    with Progress(*columns, disable=not progress) as bar:
        task = bar.add_task("train", total=cfg.iterations, completed=start, info="")

        def report(it: int, total: int, stats: dict[str, float]) -> None:
            info = f"return {stats.get('episode_return', 0):.1f}"
            info += f"  kl {stats.get('approx_kl', 0):.4f}"
            if "eval_deliveries" in stats:
                info += f"  eval deliveries {stats['eval_deliveries']:.1f}"
            bar.update(task, completed=it, info=info)

        # one thread: small per-step inference; the caller's count comes back after
        with removed_on_input_error(run), torch_threads(1):
            train(cfg, run, resume=resume, on_iteration=report, log_tensorboard=tensorboard)
    typer.echo(f"policy: {run / 'policy.json'}")


def shadow_cmd(
    target: str = typer.Argument(..., help="Scenario name, scenario file or map file."),
    candidate: str | None = typer.Option(
        None,
        help="Policy whose decisions are only logged, as run --policy takes it (or "
        "DISPATCHER+NAVIGATOR); default: the scenario's policies.candidate (a shadow folder's "
        f"scenario.yaml records the one that ran), else {DEFAULT_CANDIDATE}.",
    ),
    incumbent: str | None = typer.Option(
        None,
        help="Policy that drives the floor, as run --policy takes it (default: the scenario's: "
        "the one its policies.run lists, else its dispatcher and navigator, rule_based where it "
        "names none).",
    ),
    steps: int | None = typer.Option(None, min=1, help="Steps (default: the scenario's)."),
    seed: int | None = typer.Option(
        None, min=0, help="Seed of the episode (default: the scenario's first episode.seeds)."
    ),
    robots: int | None = typer.Option(None, min=1, help="Override the fleet size."),
    collisions: str | None = typer.Option(None, help="Collision mode (default: incumbent's)."),
    out: str | None = typer.Option(
        None, help="Output folder (default: runs/YYYYmmdd-HHMMSS-shadow-SCENARIO)."
    ),
    sets: SetOpt = None,
    candidate_sets: CandidateSetOpt = None,
    incumbent_sets: IncumbentSetOpt = None,
) -> None:
    """Shadow mode: the incumbent drives, the candidate's decisions are computed and compared.

    --set applies to both policies (and the floor); --candidate-set and --incumbent-set give
    one policy its own checkpoint, order pool, starvation guard or task swaps (and the
    incumbent its parking), so two trained dispatchers can be compared: --candidate-set
    policies.dispatcher_checkpoint=RUN/policy.json. They win, key by key, over the scenario's
    policies.candidate_set and policies.incumbent_set (mappings of the same settings by their
    names in the policies section; checkpoint paths relative to the file).

    --incumbent and --candidate take a policy as `run --policy` does, report.json's names too
    (rule_based/pibt, rule_based:hungarian+rule_based_push). Without --candidate, the
    scenario's policies.candidate is the candidate (hierarchical where it names none). Without
    --incumbent, the scenario's own policy drives the floor, as `run` runs it: the one its
    policies.run lists (a run folder's scenario.yaml: the policy the run's flags chose), else
    its policies.dispatcher and policies.navigator (rule_based where it names none); a list of
    several is refused.

    The floor runs under the incumbent's collision mode (--collisions sets both sides'). A
    one-shot instance with episode.stop_when_solved ends at the step it is solved, as in run.
    Writes shadow.json (per kind: decisions, agreement, mean margin, mean margin when
    diverging, first divergence step; per side: the checkpoint file and sha256 of each network
    it ran), divergences.csv (one row per diverging robot decision:
    step, kind, robot, row, col, incumbent, candidate, margin; incumbent/candidate are order ids
    for dispatch, -1 none, and action indices for navigation, 0 WAIT; margin is empty for a
    side without probabilities), divergence.png and scenario.yaml (the floor's scenario; its
    policies.run lists the incumbent that drove and its policies.candidate the candidate, each
    named with --collisions as run names it, and its policies.incumbent_set and candidate_set
    each side's own settings, checkpoint paths absolute, so `warehouse shadow OUT/scenario.yaml`
    shadows the same again).
    """
    from hierarchy.shadow import for_shield, parts_weights, run_shadow, write_report
    from scenarios import apply_overrides, build_floor, load_scenario, parse_assignment
    from scenarios.load import SHORTCUTS, blame_override
    from warehouse.core import Simulation
    from warehouse.policies import (
        PolicySpec,
        build_policy,
        check_checkpoints_used,
        check_side_settings,
        checked_collisions,
        from_file,
    )
    from warehouse.provenance import given_checkpoints
    from warehouse.runner import one_policy_spec, scenario_names_policy

    from .checks import (
        SHADOW_SETTINGS,
        check_set_keys,
        episode_steps,
        final_out_folder,
        new_run_folder,
        one_policy,
        unused_but,
        writable_out_folder,
    )

    candidate = None if candidate is None else one_policy(candidate, "--candidate", ONE_CANDIDATE)
    incumbent = None if incumbent is None else one_policy(incumbent, "--incumbent")
    episode_steps(steps)

    # scenario.yaml: the floor's scenario, as `warehouse run` writes it (shadow it again from there)
    writes: tuple[str, ...] = ("shadow.json", "divergences.csv", "divergence.png", "scenario.yaml")
    if out is not None:
        writable_out_folder(Path(out), writes=writes)
    check_set_keys(  # (a --set policies.baseline too: shadow compares no policies' KPIs)
        sets,
        {"--robots": robots, "--steps": steps, "--seed": seed, "--collisions": collisions},
        unused=unused_but(*SHADOW_SETTINGS),
    )
    check_set_keys(candidate_sets, option="--candidate-set")  # (check_side_settings: which)
    check_set_keys(incumbent_sets, option="--incumbent-set")
    for item in sets or ():
        key = item.partition("=")[0].strip()
        if SHORTCUTS.get(key, key) in (
            "policies", "policies.dispatcher", "policies.navigator", "policies.run",
            "policies.candidate",
        ):  # fmt: skip
            # --incumbent and --candidate pick the parts; the --set would be silently ignored
            raise InputError(None, f"--set {key}", "--incumbent and --candidate pick the policies")
        if SHORTCUTS.get(key, key) in ("policies.candidate_set", "policies.incumbent_set"):
            raise InputError(
                None,
                f"--set {key}",
                "--candidate-set and --incumbent-set give each side its own settings",
            )
    sc, src = load_scenario(target)
    from warehouse.rerun import map_copy_name

    writes = (*writes, *filter(None, [map_copy_name(sc)]))
    folder = writable_out_folder(
        Path(out) if out is not None else new_run_folder(f"shadow-{sc.name}"), writes=writes
    )
    # Both sides named and resolved as `warehouse run` resolves a policy (report.json's names,
    # rule_based/pibt, too); without --incumbent, the scenario's own policy drives the floor, as
    # `warehouse run` runs it: the one its policies.run lists, else its dispatcher and navigator
    # (rule_based where it names none: the default, which its scenario.yaml need not list)
    by_default = incumbent is None and not sc.policies.run and not scenario_names_policy(sc, {})
    inc_spec = _side_spec(incumbent, sc, src, "--incumbent")
    # the candidate: --candidate's, else the file's policies.candidate (a shadow folder's
    # scenario.yaml records the one that ran), else the default; an error names where it was
    cand_where: tuple[Path | None, str] = (None, "--candidate")
    if candidate is None and sc.policies.candidate is not None:
        cand_where = (src, "policies.candidate")
        try:
            candidate = one_policy(sc.policies.candidate, "policies.candidate", ONE_CANDIDATE)
        except InputError as exc:
            raise InputError(*cand_where, exc.message) from None
    candidate = DEFAULT_CANDIDATE if candidate is None else candidate
    cand_spec = _side_spec(candidate, sc, src, "--candidate", where=cand_where)
    incumbent, inc = inc_spec.name, (inc_spec.dispatcher, inc_spec.navigator, inc_spec.collisions)
    candidate, cand = (
        cand_spec.name,
        (cand_spec.dispatcher, cand_spec.navigator, cand_spec.collisions),
    )
    overrides: dict[str, object] = dict(parse_assignment(text, src) for text in sets or ())
    names = {key: f"--set {key}" for key in overrides}
    if robots is not None:
        overrides["fleet.robots"], names["fleet.robots"] = robots, "--robots"
    # one episode: --steps long (else the scenario's), seeded by --seed (else the scenario's
    # first seed); as settings, so the written scenario.yaml records what ran
    if steps is not None:
        overrides["episode.steps"], names["episode.steps"] = steps, "--steps"
    if seed is not None:
        overrides["episode.seeds"], names["episode.seeds"] = [seed], "--seed"
    # The floor's collision mode is the one the incumbent runs under alone (``warehouse run``):
    # --collisions, else its own shield, else the scenario's policies.shield, else its physics.
    as_set = apply_overrides(sc, overrides, src, names)
    mode = (
        checked_collisions(collisions)
        if collisions is not None
        else PolicySpec(incumbent, *inc).collisions_for(as_set)
    )
    if mode != as_set.physics.collisions:
        overrides["physics.collisions"] = mode
        names.setdefault("physics.collisions", "--collisions")
        sc = apply_overrides(sc, overrides, src, names)
    else:
        sc = as_set
    # A scenario file's policies.*_checkpoint goes to the parts that load one, as in a run.
    specs = [PolicySpec(incumbent, *inc[:2]), PolicySpec(candidate, *cand[:2])]
    check_checkpoints_used(specs, sc, src)
    # what one side alone is given: the flag's settings (relative paths count from the current
    # folder), and the file's policies.incumbent_set / candidate_set (a shadow folder's
    # scenario.yaml records what ran; relative paths count from the file) but for the keys the
    # flag gives anew (the flag wins key by key); an error names the option or the file's field
    side_items, side_given, side_filed = [], [], []
    flags = ("--incumbent-set", "--candidate-set")
    in_file = (sc.policies.incumbent_set, sc.policies.candidate_set)
    for spec, items, flag, filed_as in zip(
        specs, (incumbent_sets, candidate_sets), flags, in_file, strict=True
    ):
        given = dict(_side_assignment(text, flag) for text in items or ())
        field = _SIDE_FIELD[flag]
        filed = {k: v for k, v in _filed_side(filed_as, src).items() if k not in given}
        for key, where in [*((k, flag) for k in given), *((k, field) for k in filed)]:
            try:
                check_side_settings(spec, [key], flag)
                if flag == "--candidate-set" and key == "policies.park_idle":
                    # parking sets waypoints; shadow compares orders and moves, on the floor
                    # the incumbent's: the candidate's parking would change nothing it reports
                    raise InputError(
                        None,
                        f"{flag} {key}",
                        "the candidate's parking is never compared (shadow compares the orders "
                        "idle robots are given and the moves, and the incumbent parks the "
                        "fleet): give it with --incumbent-set or --set",
                    )
            except InputError as exc:
                raise _side_error(exc, key, where, src) from None
        try:
            side_items.append(apply_overrides(sc, {**filed, **given}, src))
        except InputError as exc:
            where = flag if exc.field in given or exc.field not in filed else field
            raise _side_error(exc, exc.field or "", where, src) from None
        side_given.append(given)
        side_filed.append(filed)
    sc_inc, sc_cand = side_items

    sim = Simulation(build_floor(sc, src, names), sc.sim_config())
    n_steps, seed = sc.episode.steps, sc.episode.seeds[0]
    # Each side's parts as ``warehouse run`` builds them (checkpoints, part arguments, order
    # pool, guard, swaps, parking; refused arguments and floors are one-line errors).
    built = []
    for spec, side, given, filed, flag in zip(
        specs, side_items, side_given, side_filed, flags, strict=True
    ):
        try:
            built.append(build_policy(spec, side, src, sim.floor))
        except InputError as exc:  # a setting the command line gave names its option
            if exc.source is None and exc.field in given:
                raise InputError(None, f"{flag} {exc.field}", exc.message) from None
            if exc.field in filed:  # (one the file's policies.*_set gave: names that field)
                raise _side_error(exc, exc.field or "", _SIDE_FIELD[flag], src) from None
            blamed = blame_override(exc, overrides, names)
            raise (from_file(exc, src) if blamed is exc else blamed) from None
    (inc_disp, inc_nav), (cand_disp, cand_nav) = built
    # --collisions sets the mode of both policies (as in ``warehouse run``); otherwise the
    # candidate proposes for its own shield
    cand_nav = for_shield(cand_nav, mode if collisions is not None else cand[2])
    if sc.faults.closures:  # as ``warehouse run`` warns: a closure this run never reaches
        from warehouse.core.closure_report import late_closures

        step_s = sc.physics.step_seconds
        for line in late_closures(sim.floor, sc.faults, step_s, n_steps):
            typer.echo(f"warning: {line}", err=True)
    log = run_shadow(
        sim,
        (inc_disp, inc_nav),
        (cand_disp, cand_nav),
        steps=n_steps,
        seed=seed,
        stop_when_solved=sc.episode.stop_when_solved,
    )
    # The names the sides ran under, as the written scenario.yaml records them (shadow.json
    # names them the same way, so a re-shadow from that file writes the same names). The
    # floor's scenario (every --set and --robots applied; the sides' own settings: its
    # policies.*_set, below), its policies.run the incumbent that drove the floor (as `run`
    # lists the policies its flags chose): --incumbent's, with --collisions in its name, or
    # the file's own (the default, rule_based, left out as before); so the file alone shadows
    # the same incumbent on the same floor again
    drove = incumbent
    if collisions is not None:  # (named as `run --policy NAME --collisions MODE` names it)
        drove = one_policy_spec(incumbent, sc, src, collisions=collisions).name
    # and its policies.candidate the candidate, named as the incumbent is (--collisions, which
    # set the candidate's mode too, in its name: hierarchical/block)
    proposed = candidate
    if collisions is not None:
        proposed = one_policy_spec(candidate, sc, src, collisions=collisions).name
    from .main import invoked_command

    meta = {
        "command": invoked_command(),  # (as a shell reads it)
        "target": str(target),
        "seed": seed,
        "steps": n_steps,
        "robots": sc.fleet.robots,
        "collisions": sc.physics.collisions,
        "incumbent": {
            # (the default incumbent is not listed: the file's mode is its physics.collisions)
            "policy": incumbent if by_default else drove,
            "dispatcher": inc[0],
            "navigator": inc[1],
            "settings": _side_settings(sc_inc),
            # the checkpoint files of the networks each side ran, with their sha256
            "weights": parts_weights(
                (inc_disp, inc_nav), sc.physics.collisions, given_checkpoints(specs[0], sc_inc, src)
            ),
        },
        "candidate": {
            "policy": proposed,
            "dispatcher": cand[0],
            "navigator": cand[1],
            "settings": _side_settings(sc_cand),
            "weights": parts_weights(
                (cand_disp, cand_nav),
                sc.physics.collisions,
                given_checkpoints(specs[1], sc_cand, src),
            ),
        },
    }
    from warehouse.report import staged_dir, versions

    meta["versions"] = versions()  # (as report.json: what shapes the numbers)

    # (nothing half-written is left, and a shadow run started in the same second that took the
    # default folder meanwhile keeps its files)
    anew = functools.partial(new_run_folder, f"shadow-{sc.name}")
    chosen = out is not None
    from types import SimpleNamespace

    from warehouse.rerun import write_rerun_scenario

    recorded = _recorded_baseline(sc, drove)
    # and each side's own settings (its file's and its flag's; checkpoint paths absolute), so
    # that the file alone shadows the same sides again
    sides = [{k.removeprefix("policies."): v for k, v in {**f, **g}.items()} or None
             for f, g in zip(side_filed, side_given, strict=True)]  # fmt: skip
    update = {"candidate": proposed, "incumbent_set": sides[0], "candidate_set": sides[1]}
    policies = recorded.policies.model_copy(update=update)
    floor_run = SimpleNamespace(
        scenario=recorded.model_copy(update={"policies": policies}),
        source=src,
        names_policy=False,
        listed=None if by_default else [drove],
    )
    with final_out_folder(folder, chosen, anew, writes) as folder, staged_dir(folder) as stage:
        summary = write_report(log, sim, stage, meta)
        written = write_rerun_scenario(floor_run, stage)
    d, n = summary["dispatch"], summary["navigation"]

    def pct(x: float | None) -> str:
        return "n/a" if x is None else f"{100 * x:.1f}%"

    def num(x: float | None) -> str:
        return "n/a" if x is None else f"{x:.3f}"

    ran = f"{n_steps} steps"
    if sc.episode.stop_when_solved:  # (the steps taken: to the solving step, or the limit)
        solved = "solved" if sim.solved() else "not solved"
        ran = f"{summary['steps']} steps ({solved}; at most {n_steps})"
    typer.echo(
        f"shadow {candidate} vs {incumbent} on {target}, {ran}, seed {seed}\n"
        f"  dispatch:   agreement {pct(d['agreement'])} over {d['decisions']} robot decisions, "
        f"mean margin {num(d['mean_margin'])}; {pct(d['assignment_agreement'])} of "
        f"{d['assignments']} robots either side gave an order"
        f"\n  navigation: agreement {pct(n['agreement'])} over {n['decisions']} robot moves, "
        f"mean margin {num(n['mean_margin'])}"
        f"\n  wrote {folder}/shadow.json, divergences.csv, divergence.png, "
        + ", ".join(path.name for path in written)
    )


#: the scenario field that records each side's own settings, by the option that gives them
_SIDE_FIELD = {
    "--incumbent-set": "policies.incumbent_set",
    "--candidate-set": "policies.candidate_set",
}
#: why a scenario's ``policies.candidate`` names one policy (:func:`.checks.one_policy`)
ONE_CANDIDATE = "shadow logs one candidate's decisions; shadow each candidate in turn"


def _filed_side(settings: dict[str, Any] | None, source: Path | None) -> dict[str, Any]:
    """A scenario's ``policies.candidate_set`` (or ``incumbent_set``) by dotted keys, as
    ``--candidate-set`` gives them: a checkpoint path relative to the scenario file made
    absolute (as :func:`warehouse.rerun.write_rerun_scenario` writes the file's own)."""
    from scenarios.load import PATH_KEYS

    base = source.parent if source is not None else Path.cwd()
    out: dict[str, Any] = {}
    for key, value in (settings or {}).items():
        dotted = f"policies.{key}"
        if dotted in PATH_KEYS and isinstance(value, str) and value:
            value = str((base / Path(value).expanduser()).resolve())
        out[dotted] = value
    return out


def _side_error(exc: InputError, key: str, where: str, source: Path | None) -> InputError:
    """``exc``, about the side setting ``key`` (dotted), named as where it was given: ``where``
    an option (``--candidate-set policies.order_pool``) or a scenario file's field
    (``FILE: policies.candidate_set: order_pool: ...``, as the file's own check words it)."""
    if where.startswith("--"):
        return InputError(None, f"{where} {key}", exc.message)
    return InputError(source, where, f"{key.removeprefix('policies.')}: {exc.message}")


def _side_assignment(text: str, flag: str) -> tuple[str, Any]:
    """``parse_assignment`` with its errors reported against ``flag`` (not ``--set``)."""
    from scenarios import parse_assignment

    try:
        return parse_assignment(text)
    except InputError as exc:
        field = exc.field or ""
        named = flag + field.removeprefix("--set") if field.startswith("--set") else None
        raise InputError(None, named or f"{flag} {field}".strip(), exc.message) from None


def _side_settings(scenario: Any) -> dict[str, Any]:
    """The per-policy settings a side ran with (``None`` where unset)."""
    from warehouse.policies import SIDE_SETTINGS

    return {k: getattr(scenario.policies, k.removeprefix("policies.")) for k in SIDE_SETTINGS}


def _recorded_baseline(scenario: Any, incumbent: str) -> Any:
    """``scenario`` without a ``policies.baseline`` that names no policy of the list written
    with it (``[incumbent]``): `warehouse run` would refuse the written file."""
    from warehouse.runner import baseline_name

    baseline = scenario.policies.baseline
    if baseline is None:
        return scenario
    try:
        baseline_name(baseline, [incumbent])
        return scenario
    except InputError:
        policies = scenario.policies.model_copy(update={"baseline": None})
        return scenario.model_copy(update={"policies": policies})


def _side_spec(
    name: str | None,
    scenario: Any,
    source: Path | None,
    flag: str,
    where: tuple[Path | None, str] | None = None,
) -> Any:
    """The policy of one side (:func:`warehouse.runner.one_policy_spec`: ``name`` as ``run
    --policy`` takes it; ``None``: the scenario's own), its errors reported against ``where``
    (``(file, field)`` that named it; default: ``flag``, not ``--policy``); the scenario's
    errors name its file's field."""
    from warehouse.runner import one_policy_spec

    try:
        return one_policy_spec(
            name, scenario, source, runs="shadow's incumbent is one policy", pick=flag
        )
    except InputError as exc:
        if exc.source is None and exc.field == "--policy":
            raise InputError(*(where or (None, flag)), exc.message) from None
        raise


def register(app: typer.Typer) -> None:
    app.command("train-dispatcher")(train_dispatcher_cmd)
    app.command("shadow")(shadow_cmd)
