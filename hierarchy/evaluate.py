"""Evaluate dispatcher / navigator / shield combinations over scenarios × seeds.

``python -m hierarchy.evaluate --out docs/results_hierarchy --seeds 10 --steps 400 --jobs 2``
runs every configuration of :data:`DEFAULT_CONFIGS` (or ``--configs``) on every scenario of
:data:`SCENARIOS` and writes ``results.json`` (one row per run) and ``summary.md`` (means ± standard
deviations, and the target ratios). ``--lookahead N`` gives every dispatcher that takes one (greedy,
Hungarian, PPO) an order pool of the oldest N × deciding robots open orders instead of their default
4 (the throughput vs order-age dial of docs/results.md); ``--max-order-age S`` wraps every
dispatcher in the starvation guard and ``--task-swaps`` in task swaps (:mod:`hierarchy.swaps`).
``--jobs`` spreads the runs over processes; every run is deterministic given its seed, so the rows
do not depend on it. ``NAV`` stands for the hierarchy's navigator
(:func:`hierarchy.shadow.hierarchical_parts`: ``cql_tuned`` when its weights load: the network
fine-tuned under PIBT in the ``pibt`` and ``pibt_swap`` columns, the one fine-tuned without a
shield in ``physical`` mode; the table says which was used). Rows of configs with a network
record the files their parts loaded, with their sha256 (``weights``, :mod:`warehouse.provenance`);
``--merge FILE`` adds earlier rows to
the table and refuses rows that cannot share it (another setup, other networks, a seed twice).
Floors on the maps of ``../shared/maps`` (LoRR, kiva) need that folder beside the checkout, or
``--maps DIR`` naming where it is (a folder holding ``lorr/`` and ``rhcr/``; default: the
environment variable ``WAREHOUSE_MAPS`` where it is set): without it the default set leaves them
out (a line on stderr says so), and ``--scenarios`` naming one is an error; so is a floor's map
file missing from the folder ``--maps`` (or ``WAREHOUSE_MAPS``) names."""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, NoReturn, cast

from warehouse.atomic import write_text_atomic
from warehouse.core import Simulation
from warehouse.errors import InputError
from warehouse.fleet import Fleet
from warehouse.kpis import compute_kpis
from warehouse.maps import MAPS_VARIABLE, SHARED_MAPS, named_maps_folder

from .evaluate_rows import check_mergeable, read_rows
from .evaluate_summary import summarize

TRAIN_WIDE = str(Path(__file__).resolve().parent / "scenarios" / "train_wide.yaml")

#: name, path or built-in, seen in training?, overrides
SCENARIOS: list[tuple[str, str, bool, dict[str, Any]]] = [
    ("train_wide", TRAIN_WIDE, True, {}),
    ("small", "small", False, {}),
    ("one_way_aisles", "one_way_aisles", False, {}),
    ("faults", "faults", False, {}),
    ("lorr_warehouse_small", str(SHARED_MAPS / "lorr" / "warehouse_small.map"), False, {}),
    # Peak hour: the small floor at 4x its arrival rate (saturated; dispatching matters).
    ("small_peak", "small", False, {"tasks.arrival_rate": 1.0}),
    # Capacity regime (``--scenarios`` only; not in the default set): every layout at an arrival
    # rate its rule-based fleet cannot keep up with, so throughput measures capacity.
    ("train_wide_peak", TRAIN_WIDE, True, {"tasks.arrival_rate": 3.2}),
    ("one_way_peak", "one_way_aisles", False, {"tasks.arrival_rate": 1.2}),
    ("faults_peak", "faults", False, {"tasks.arrival_rate": 1.0}),
    ("medium", "medium", False, {}),
    # ``medium`` as shipped keeps up (1.0 orders/s: no order waits at the end, utilisation
    # 0.87 over 1,200 steps); at 2x its orders queue.
    ("medium_peak", "medium", False, {"tasks.arrival_rate": 2.0}),
    # The built-in 1,200-robot floor as shipped (orders queue under every fleet).
    ("large", "large", False, {}),
    # RHCR's kiva map (picks and stations inferred), 100 robots, orders queuing.
    (
        "kiva_peak",
        str(SHARED_MAPS / "rhcr" / "kiva.map"),
        False,
        {"fleet.robots": 100, "tasks.arrival_rate": 4.0},
    ),
]
#: The scenarios run without ``--scenarios`` (the table of docs/results.md).
DEFAULT_SCENARIOS = (
    "train_wide",
    "small",
    "one_way_aisles",
    "faults",
    "lorr_warehouse_small",
    "small_peak",
)

#: label → (dispatcher, navigator, collisions); "NAV" = the hierarchy's navigator.
CONFIGS: dict[str, tuple[str, str, str]] = {
    "rule_based (physical)": ("greedy", "rule_based", "physical"),
    "hierarchical (physical)": ("ppo", "NAV", "physical"),
    "rule_based (block)": ("greedy", "rule_based", "block"),
    "rule_based (pibt)": ("greedy", "rule_based", "pibt"),
    "hierarchical (pibt)": ("ppo", "NAV", "pibt"),
    "hungarian + NAV (pibt)": ("hungarian", "NAV", "pibt"),
    "greedy + NAV (pibt)": ("greedy", "NAV", "pibt"),
    "ppo + rule_based (pibt)": ("ppo", "rule_based", "pibt"),
    "hungarian + rule_based (pibt)": ("hungarian", "rule_based", "pibt"),
    "ppo + rule_based (physical)": ("ppo", "rule_based", "physical"),
    # Frozen vs fine-tuned navigator: the offline CQL network before online fine-tuning.
    "ppo + cql frozen (pibt)": ("ppo", "cql", "pibt"),
    "greedy + cql frozen (pibt)": ("greedy", "cql", "pibt"),
    # The rule-based fleet whose robots push chains of idle robots aside (sixteenth session);
    # not in the default set, so the default command reproduces docs/results_hierarchy/.
    "rule_based_push (block)": ("greedy", "rule_based_push", "block"),
    "rule_based_push (pibt)": ("greedy", "rule_based_push", "pibt"),
    # ... and whose deadlocks between robots with orders come undone (twenty-first session)
    "rule_based_unlock (block)": ("greedy", "rule_based_unlock", "block"),
    "rule_based_push_unlock (block)": ("greedy", "rule_based_push_unlock", "block"),
    "ppo + rule_based_unlock (block)": ("ppo", "rule_based_unlock", "block"),
    # PIBT with LaCAM*'s swap (docs/results_swap.md); NAV runs the network tuned under PIBT
    "hierarchical (pibt_swap)": ("ppo", "NAV", "pibt_swap"),
    "rule_based (pibt_swap)": ("greedy", "rule_based", "pibt_swap"),
    # The traffic-flow-guided navigator (agents/guided.py, docs/results_guidance.md; its default
    # settings) under each dispatcher; it needs the PIBT shield (forty-first session)
    "greedy + guided (pibt)": ("greedy", "guided", "pibt"),
    "ppo + guided (pibt)": ("ppo", "guided", "pibt"),
    "hungarian + guided (pibt)": ("hungarian", "guided", "pibt"),
}
#: what runs without ``--configs`` (not the opt-in rows above: push, unlock, swap, guided)
DEFAULT_CONFIGS = tuple(
    c for c in CONFIGS if not any(opt in c for opt in ("_push", "_unlock", "pibt_swap", "guided"))
)


def on_maps(target: str, maps: Path | None) -> str:
    """``target``, a floor of :data:`SCENARIOS`, with a map of :data:`SHARED_MAPS` read from the
    folder ``maps`` instead (``--maps``; ``None``: as it is)."""
    path = Path(target)
    if maps is None or not path.is_relative_to(SHARED_MAPS):
        return target
    return str(maps / path.relative_to(SHARED_MAPS))


def run_one(*args: Any, **kwargs: Any) -> dict[str, Any]:
    """The KPIs of one run: :func:`run_recorded`, same arguments, without the weights' record."""
    return run_recorded(*args, **kwargs)[0]


def run_recorded(
    target: str,
    disp: str,
    nav: str,
    mode: str,
    seed: int,
    steps: int,
    overrides: dict[str, Any] | None = None,
    lookahead: int | None = None,
    max_order_age: float | None = None,
    task_swaps: bool = False,
    park_idle: float | None = None,
    anticipate: bool = False,
) -> tuple[dict[str, Any], dict[str, dict[str, str]]]:
    """``(KPIs, weights)`` of one run: its KPIs, and the network files its parts loaded
    (:mod:`warehouse.provenance`)."""
    sc, src, (dispatcher, navigator), weights = _parts(
        target, disp, nav, mode, overrides, lookahead, max_order_age, task_swaps, park_idle,
        anticipate,
    )  # fmt: skip
    from scenarios import build_floor

    sim = Simulation(_floor(sc, src, build_floor), sc.sim_config())
    fleet = Fleet(sim, dispatcher, navigator)
    fleet.reset(seed)
    fleet.run(steps, stop_when_solved=sc.episode.stop_when_solved)  # (KPIs over the steps run)
    k = compute_kpis(sim)
    delivered = cast(int, k["deliveries"])  # nothing delivered: undefined, not the total
    k["energy_per_delivery_wh"] = (
        1000 * cast(float, k["energy_kwh"]) / delivered if delivered else None
    )
    return k, weights


def _parts(
    target: str,
    disp: str,
    nav: str,
    mode: str,
    overrides: dict[str, Any] | None,
    *dispatch: Any,
) -> tuple[Any, Any, tuple[Any, Any], dict[str, dict[str, str]]]:
    """``(scenario, its file, (dispatcher, navigator), weights)`` of a run: the floor's scenario
    with the overrides, the dispatch flags (``dispatch``: :func:`dispatch_settings`' arguments)
    and the collision mode applied, its parts, and the network files they loaded."""
    from scenarios import apply_overrides, load_scenario
    from warehouse.policies import PolicySpec, build_policy
    from warehouse.provenance import given_checkpoints, parts_weights

    sc, src = load_scenario(target)
    flags = dispatch_settings(*dispatch)
    sc = apply_overrides(sc, {**(overrides or {}), **flags, "physics.collisions": mode}, src)
    # the parts as every run builds them: a policies.*_checkpoint reaches the part that loads one
    spec = PolicySpec(f"{disp}+{nav}", disp, nav)
    parts = build_policy(spec, sc, src)
    return sc, src, parts, parts_weights(parts, mode, given_checkpoints(spec, sc, src))


def dispatch_settings(
    lookahead: int | None = None,
    max_order_age: float | None = None,
    task_swaps: bool = False,
    park_idle: float | None = None,
    anticipate: bool = False,
) -> dict[str, Any]:
    """The scenario settings (``policies.*``) of the dispatch flags that are set. The pool and
    the guard are applied as in every run; the pool reaches the dispatchers that have one
    (greedy, hungarian, ppo)."""
    dispatch = {
        "policies.order_pool": lookahead,
        "policies.anticipate": anticipate or None,
        "policies.max_order_age": max_order_age,
        "policies.task_swaps": task_swaps or None,
        "policies.park_idle": park_idle,
    }
    return {k: v for k, v in dispatch.items() if v is not None}


_FLOORS: dict[tuple[str, str], Any] = {}


def _floor(sc: Any, src: Any, build: Any) -> Any:
    """The compiled floor of scenario ``sc``, built once per process for each distinct scenario
    (every override is part of the key, so one that changes the floor never reuses another's)."""
    key = (str(src), sc.model_dump_json())
    if key not in _FLOORS:
        _FLOORS[key] = build(sc, src)
    return _FLOORS[key]


def _task(task: tuple, steps: int) -> dict[str, Any]:
    """One (scenario, config, seed) run as a result row (a worker-process entry point)."""
    from warehouse.threads import torch_threads

    name, target, _, overrides, label, disp, navigator, mode, seed, *dispatch = task
    look, max_age, swaps, park, anticipate = dispatch
    try:
        with torch_threads(1):  # small per-step inference: threads only add overhead
            k, weights = run_recorded(
                target, disp, navigator, mode, seed, steps, overrides, lookahead=look,
                max_order_age=max_age, task_swaps=swaps, park_idle=park, anticipate=anticipate,
            )  # fmt: skip
    except InputError as exc:  # which run it stopped (it crosses process boundaries intact)
        where = f"{exc.message} ({name}, {label}, seed {seed})"
        raise InputError(exc.source, exc.field, where) from None
    # the network files its parts loaded, with their sha256 (rows without networks: none)
    return {**task_row(task), **k, **({"weights": weights} if weights else {})}


def planned_weights(task: tuple) -> dict[str, dict[str, str]]:
    """The network files a task's parts will load (:func:`_parts`, built without running), so
    that ``--merge`` can check the rows of a run before it starts; one InputError names the
    task's run as a run's does."""
    name, target, _, overrides, label, disp, navigator, mode, seed, *dispatch = task
    try:
        return _parts(target, disp, navigator, mode, overrides, *dispatch)[3]
    except InputError as exc:
        where = f"{exc.message} ({name}, {label}, seed {seed})"
        raise InputError(exc.source, exc.field, where) from None


def task_row(task: tuple) -> dict[str, Any]:
    """What a result row records about its run before the KPIs: floor, config, seed and setup."""
    name, _, seen, overrides, label, disp, navigator, mode, seed, *dispatch = task
    look, max_age, swaps, park, anticipate = dispatch
    guard = {} if max_age is None else {"max_order_age": max_age}
    guard |= {"anticipate": True} if anticipate else {}
    guard |= {"task_swaps": True} if swaps else {}
    guard |= {} if park is None else {"park_idle": park}
    return {"scenario": name, "seen_in_training": seen, "config": label, "seed": seed,
            **({"settings": settings} if (settings := task_settings(name, overrides)) else {}),
            "dispatcher": disp, "navigator": navigator,
            # (the KPIs' "collisions", a count, takes the place of the mode the row once named)
            "collisions": mode, "collision_mode": mode,
            "lookahead": look, **guard}  # fmt: skip


def task_settings(name: str, overrides: dict[str, Any]) -> dict[str, Any]:
    """The ``--set`` settings of a task: its overrides beyond (or unlike) the floor's own."""
    own = next(o for n, _, _, o in SCENARIOS if n == name)
    return {k: v for k, v in overrides.items() if k not in own or own[k] != v}


#: the dispatch flags and the ``policies`` setting each stands for (``--set`` may not give it too)
DISPATCH_FLAGS = {
    "--lookahead": "order_pool", "--anticipate": "anticipate", "--max-order-age": "max_order_age",
    "--task-swaps": "task_swaps", "--park-idle": "park_idle",
}  # fmt: skip


def parser() -> argparse.ArgumentParser:
    """The command line of :func:`main` (one-line usage errors, exit code 2)."""
    from warehouse.cli.checks import OneLineParser

    p = OneLineParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--seeds", type=int, default=10)
    p.add_argument("--steps", type=int, default=400)
    p.add_argument("--scenarios", default=None)
    p.add_argument("--configs", default=",".join(DEFAULT_CONFIGS))
    p.add_argument(
        "--maps",
        type=Path,
        default=None,
        help=f"Folder of the shared benchmark maps (default: ${MAPS_VARIABLE} where it is set, "
        f"else {SHARED_MAPS}, beside the checkout); the LoRR and kiva floors read lorr/ and "
        "rhcr/ there.",
    )
    p.add_argument(
        "--merge",
        type=Path,
        nargs="*",
        default=[],
        help="Earlier results.json to add: other configs or seeds. A config of a floor must keep "
        "its steps, --set settings and dispatch flags, and no seed may come twice.",
    )
    p.add_argument("--jobs", type=int, default=1, help="Worker processes.")
    p.add_argument(
        "--lookahead", type=int, default=None, help="Order pool of greedy, Hungarian and PPO."
    )
    p.add_argument(
        "--anticipate",
        action="store_true",
        help="Greedy, Hungarian and PPO leave out the orders a robot finishing a delivery "
        "reaches first (hierarchy/anticipation.py).",
    )
    p.add_argument(
        "--max-order-age",
        type=float,
        default=None,
        help="Starvation guard (s) around every dispatcher (hierarchy/guard.py).",
    )
    p.add_argument(
        "--task-swaps",
        action="store_true",
        help="Task swaps around every dispatcher (hierarchy/swaps.py).",
    )
    p.add_argument(
        "--park-idle",
        type=float,
        default=None,
        help="Parking around every dispatcher: robots idle this many seconds drive to a "
        "parking spot (hierarchy/parking.py).",
    )
    p.add_argument(
        "--set",
        dest="sets",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="Scenario setting for every floor, after the floor's own (dotted key, YAML value; "
        "repeatable), e.g. --set 'layout.parking_walls=[north,south]'.",
    )
    return p


def main(argv: list[str] | None = None) -> None:
    p = parser()
    args = p.parse_args(argv)
    from scenarios import parse_assignment
    from warehouse.cli.checks import READ_BY_ONE_COMMAND, check_set_keys, writable_out_folder

    for flag in ("--seeds", "--steps", "--jobs"):
        if (value := getattr(args, flag[2:])) < 1:
            p.error(f"{flag}: expected a whole number ≥ 1, got {value}")
    args.maps_from = "--maps"  # (the option or variable that named the folder, for errors)
    if args.maps is None and (named := named_maps_folder()) is not None:  # (--maps wins)
        args.maps, args.maps_from = named, MAPS_VARIABLE
    if args.maps is not None and not args.maps.is_dir():
        what = "is not a folder" if args.maps.exists() else "no such folder"
        p.error(f"{args.maps_from}: {args.maps}: {what}")
    try:
        # an existing folder is fine (docs/results_* are written again); a file is not
        writable_out_folder(args.out)
        # a key given twice: one value dropped; a setting only run or shadow reads: ignored
        check_set_keys(args.sets, unused=READ_BY_ONE_COMMAND)
    except InputError as exc:
        p.error(exc.one_line())
    try:
        sets = dict(parse_assignment(text) for text in args.sets)
    except InputError as exc:
        p.error(f"--set: {exc.one_line()}")
    for flag, field in DISPATCH_FLAGS.items():
        given = getattr(args, flag.removeprefix("--").replace("-", "_"))
        if given not in (None, False) and f"policies.{field}" in sets:
            p.error(f"--set policies.{field}: {flag} sets it too; give it once")
    from warehouse.threads import torch_threads

    with torch_threads(1):  # small per-step inference: threads only add overhead
        evaluate(args, sets, p.error)


def evaluate(
    args: argparse.Namespace, sets: dict[str, Any], error: Callable[[str], NoReturn]
) -> None:
    """Run what :func:`main` parsed (``sets``: the ``--set`` settings); ``error`` reports bad input
    (argparse's: one line, exit 2)."""
    from hierarchy.shadow import hierarchical_parts

    nav = hierarchical_parts()[1]
    from warehouse.cli.checks import name_list

    try:
        named = args.scenarios is not None  # (the default set skips a floor without its map)
        wanted = set(name_list(args.scenarios or ",".join(DEFAULT_SCENARIOS), "--scenarios"))
        confs = [c for c in name_list(args.configs, "--configs") if c != "none"]
    except InputError as exc:
        error(exc.one_line())
    unknown = sorted(wanted - {name for name, *_ in SCENARIOS})
    if unknown:
        known = ", ".join(name for name, *_ in SCENARIOS)
        error(f"--scenarios: unknown {', '.join(unknown)} (known: {known})")
    if bad := [c for c in confs if c not in CONFIGS]:
        error(f"--configs: unknown {', '.join(map(repr, bad))} (known: {', '.join(CONFIGS)})")
    # each floor's own overrides, then --set; checked on every floor now (not in a worker, and
    # before anything is written)
    maps = getattr(args, "maps", None)
    maps_from = getattr(args, "maps_from", "--maps")
    floors = [
        (name, on_maps(target, maps), seen, {**overrides, **sets})
        for name, target, seen, overrides in SCENARIOS
        if name in wanted
    ]
    # a floor on a map of ../shared/maps that is not there: the default set leaves it out (a
    # fresh clone has no ../shared), one named with --scenarios is refused before anything runs;
    # so is one missing from the folder --maps (or WAREHOUSE_MAPS) names
    missing = [(n, t) for n, t, *_ in floors if t.endswith(".map") and not Path(t).is_file()]
    if maps is not None and missing:
        name, target = missing[0]
        error(f"{maps_from}: {name} needs the map file {target}, which is not there")
    if named and missing:
        name, target = missing[0]
        error(f"--scenarios: {name} needs the map file {target}, which is not there")
    # a value wrong for a floor (a closed cell off it, too many robots) names its --set option,
    # as `warehouse run --set` does, not the floor's scenario file; a dispatch flag's value
    # (--lookahead 0) names the flag
    flagged = dispatch_settings(
        args.lookahead, args.max_order_age, args.task_swaps, args.park_idle, args.anticipate
    )
    names = {key: f"--set {key}" for key in sets}
    names |= {f"policies.{field}": flag for flag, field in DISPATCH_FLAGS.items()}
    from warehouse.policies import PolicySpec, check_checkpoints_used

    specs = []
    for label in confs:
        disp, navigator, _ = CONFIGS[label]
        specs.append(PolicySpec(label, disp, nav if navigator == "NAV" else navigator))
    for name, target, _, merged in floors if sets or flagged else ():
        if not (target.endswith(".map") and not Path(target).is_file()):
            from scenarios import apply_overrides, build_floor, load_scenario

            try:
                sc, src = load_scenario(target)
                sc = apply_overrides(sc, {**merged, **flagged}, src, names)
                if sets:  # (the dispatch settings do not change the floor)
                    build_floor(sc, src, names)
                if specs:  # a checkpoint no config loads would be ignored: refused
                    try:
                        check_checkpoints_used(specs, sc)
                    except InputError as exc:
                        field = exc.field or ""
                        raise InputError(None, names.get(field, field), exc.message) from None
            except InputError as exc:
                error(f"{exc.one_line()} (on {name})")
    rows: list[dict[str, Any]] = []
    origins: list[tuple[str, list[dict[str, Any]]]] = []
    for path in args.merge:
        try:
            merged_rows = read_rows(path)
        except InputError as exc:
            error(f"--merge: {exc.one_line()}")
        origins.append((str(path), merged_rows))
        rows += merged_rows
    tasks = []
    for name, target, seen, overrides in floors:
        if target.endswith(".map") and not Path(target).is_file():
            print(f"skipped {name}: map file {target} not found", file=sys.stderr)
            continue
        for label in confs:
            disp, navigator, mode = CONFIGS[label]
            navigator = nav if navigator == "NAV" else navigator
            for seed in range(args.seeds):
                task = (name, target, seen, overrides, label, disp, navigator, mode, seed)
                dispatch = (
                    args.lookahead, args.max_order_age, args.task_swaps, args.park_idle,
                    args.anticipate,
                )  # fmt: skip
                tasks.append((*task, *dispatch))
    # rows this run will add, as far as the check needs them (with the networks their parts
    # load: built once per floor and config, only when there are rows to check them against)
    planned = [{**task_row(t), "steps": args.steps} for t in tasks]
    if origins:
        built: dict[tuple, dict[str, dict[str, str]]] = {}
        for row, planned_task in zip(planned, tasks, strict=True):
            key = (planned_task[0], planned_task[4])  # (floor, config)
            try:
                weights = built[key] if key in built else planned_weights(planned_task)
            except InputError as exc:  # a checkpoint that cannot be loaded
                error(exc.one_line())
            built[key] = weights
            row |= {"weights": weights} if weights else {}
    try:
        check_mergeable([*origins, ("this run", planned)])
    except InputError as exc:
        error(f"--merge: {exc.one_line()}")
    t0 = time.time()

    def collect(found: Any) -> None:
        for i, row in enumerate(found):
            rows.append(row)
            if (i + 1) % args.seeds == 0:
                print(f"{row['scenario']:22s} {row['config']:28s} {time.time() - t0:7.1f}s",
                      flush=True)  # fmt: skip

    try:
        if args.jobs > 1:
            import multiprocessing as mp
            from concurrent.futures import ProcessPoolExecutor

            from warehouse.interrupt import stops_on_ctrl_c, workers_ignore_ctrl_c

            # "spawn": workers start clean (no forked numba/torch thread state).
            with ProcessPoolExecutor(args.jobs, mp_context=mp.get_context("spawn")) as pool:
                try:
                    with stops_on_ctrl_c(pool):
                        with workers_ignore_ctrl_c():  # (submit starts the workers)
                            futures = [pool.submit(_task, t, args.steps) for t in tasks]
                        # (not pool.map: its results cancel the pending futures on a Ctrl-C,
                        # and the pool's thread then fails to fail them, with a traceback)
                        collect(future.result() for future in futures)
                except BaseException:  # the runs not started yet would still run
                    pool.shutdown(cancel_futures=True)
                    raise
        else:
            collect(_task(t, args.steps) for t in tasks)
    except InputError as exc:  # a run's input (a checkpoint, a part), from any process
        error(exc.one_line())
    # written only now, and both at once: a run that failed leaves no results behind
    text, summary = json.dumps(rows, indent=1), summarize(rows, nav)
    args.out.mkdir(parents=True, exist_ok=True)
    # Regenerating a results folder (docs/results_*) replaces its files: said, not silent.
    earlier = [n for n in ("results.json", "summary.md") if (args.out / n).exists()]
    write_text_atomic(args.out / "results.json", text)
    write_text_atomic(args.out / "summary.md", summary)
    replaced = f" (replaced the earlier {' and '.join(earlier)})" if earlier else ""
    print(f"wrote results.json and summary.md to {args.out}{replaced}", flush=True)


if __name__ == "__main__":
    from warehouse.interrupt import run_main

    run_main(main)
