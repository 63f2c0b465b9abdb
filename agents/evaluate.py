"""Compare navigators on the same scenarios and seeds (the navigator results table).

::

    .venv/bin/python -m agents.evaluate --collisions physical   # and pibt
    .venv/bin/python -m agents.evaluate --scenarios faults,medium --seeds 100..109 --steps 400 \\
        --policies rule_based,behavior,bc,bc_sampled,cql,cql_sampled --collisions physical \\
        [--checkpoint cql=RUN/model.json --checkpoint bc=RUN/model.json] [--json out.json]

The defaults are the held-out comparison of docs/results.md, part 1 (the second command spells
them out). ``behavior`` is the data-collection policy: the rule-based navigator with ε-random
allowed moves (``--epsilon``, default 0.1); ``*_sampled`` run the greedy twin's network.
Every (scenario, seed, policy) runs through :class:`~warehouse.fleet.Fleet` with the scenario's
dispatcher (a one-shot scenario with ``episode.stop_when_solved`` stops where it is solved, as
``warehouse run`` does); the table shows per-scenario means over seeds of the KPIs of
:mod:`warehouse.kpis` (over the steps run).
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

import numpy as np

from warehouse.atomic import write_text_atomic

#: the policies that run a network (``--checkpoint``); the sampled ones their greedy twin's
NETWORKS = ("cql", "bc", "cql_sampled", "bc_sampled")
COLUMNS = (
    "deliveries",
    "throughput_per_hour",
    "collisions",
    "collisions_per_1k_robot_steps",
    "stuck_robots",
)


def make_policy(name: str, checkpoints: dict[str, str], epsilon: float, device: str) -> Any:
    from .registry import CHECKPOINT_NAVIGATORS, make_navigator

    if name == "behavior":
        return make_navigator("behavior", epsilon=epsilon)
    if name in NETWORKS:
        # the sampled navigators run the network given for their greedy twin
        ckpt = checkpoints.get(name, checkpoints.get(name.removesuffix("_sampled")))
        return make_navigator(name, checkpoint=ckpt, device=device)
    if name in CHECKPOINT_NAVIGATORS or name == "cql_tuned":  # the built-in learned ones
        return make_navigator(name, device=device)
    return make_navigator(name)


def run_one(target: str, seed: int, steps: int, collisions: str, policy: Any) -> dict[str, Any]:
    from scenarios import apply_overrides, build_floor, load_scenario
    from warehouse.core import Simulation
    from warehouse.fleet import Fleet
    from warehouse.kpis import compute_kpis
    from warehouse.policies import scenario_dispatcher

    sc, src = load_scenario(target)
    sc = apply_overrides(sc, {"collisions": collisions}, src, {"collisions": "--collisions"})
    sim = Simulation(build_floor(sc, src), sc.sim_config())
    fleet = Fleet(sim, scenario_dispatcher(sc.policies.dispatcher, sc, src, strict=True), policy)
    fleet.reset(seed)
    fleet.run(steps, stop_when_solved=sc.episode.stop_when_solved)  # (KPIs over the steps run)
    return compute_kpis(sim)


def checkpoint_options(
    ap: argparse.ArgumentParser, given: list[str], policies: list[str]
) -> dict[str, str]:
    """``--checkpoint ALGO=PATH`` options as ``{algo: path}``: each algorithm once, and only one
    that a policy of the run loads (``cql`` for ``cql`` and ``cql_sampled``); anything else
    would be silently dropped."""
    loads = {n for p in policies if p in NETWORKS for n in (p, p.removesuffix("_sampled"))}
    out: dict[str, str] = {}
    for text in given:
        algo, eq, path = text.partition("=")
        if not eq or not algo or not path:
            ap.error(f"--checkpoint: expected ALGO=PATH, got {text!r}")
        if algo in out:
            ap.error(f"--checkpoint {algo}: given twice")
        if algo not in loads:
            ap.error(
                f"--checkpoint {algo}: no policy of this run loads it "
                f"(those that do: {', '.join(sorted(loads)) or 'none'})"
            )
        out[algo] = path
    return out


def network_record(name: str, checkpoints: dict[str, str]) -> dict[str, Any]:
    """What a row records of policy ``name``'s network: the checkpoint it loaded (``None``: the
    shipped one) and the sha256 of its weights; nothing for a policy without one."""
    if name not in NETWORKS:
        return {}
    from warehouse.jsonio import read_json_object

    from .learned import DEFAULT_WEIGHTS

    algo = name.removesuffix("_sampled")
    given = checkpoints.get(name, checkpoints.get(algo))
    path = Path(given) if given else DEFAULT_WEIGHTS / f"{algo}.json"
    meta = read_json_object(path.with_suffix(".json"))
    return {"checkpoint": given, "weights_sha256": meta.get("weights_sha256")}


def compare(
    scenarios: list[str],
    seeds: list[int],
    steps: int,
    policies: list[str],
    *,
    collisions: str = "physical",
    checkpoints: dict[str, str] | None = None,
    epsilon: float = 0.1,
    device: str = "cpu",
) -> list[dict[str, Any]]:
    """One row per (scenario, policy): KPI means over seeds (and the per-seed values)."""
    rows = []
    for target in scenarios:
        for name in policies:
            policy = make_policy(name, checkpoints or {}, epsilon, device)
            runs = [run_one(target, s, steps, collisions, policy) for s in seeds]
            row: dict[str, Any] = {"scenario": target, "policy": name, "seeds": seeds}
            # what reproduces the row: the run's length and shield, the policy's settings
            row |= {"steps": steps, "collisions_mode": collisions}
            row |= {"epsilon": epsilon} if name == "behavior" else {}
            row |= network_record(name, checkpoints or {})
            for col in COLUMNS:
                row[col] = float(np.mean([r[col] for r in runs]))
            row["per_seed"] = runs
            rows.append(row)
    return rows


def report(
    table: str, rows: list[dict[str, Any]], seconds: float, json_path: Path | None, note: str = ""
) -> None:
    """Print a results table and the elapsed time; also write ``rows`` to ``json_path``."""
    print(table)
    print(f"\n({seconds:.0f} s{note})")
    if json_path is not None:
        write_text_atomic(json_path, json.dumps(rows, indent=1))


def markdown(rows: list[dict[str, Any]]) -> str:
    head = "| scenario | policy | " + " | ".join(COLUMNS) + " |"
    sep = "|" + "---|" * (len(COLUMNS) + 2)
    lines = [head, sep]
    for r in rows:
        vals = " | ".join(
            f"{r[c]:.1f}" if c != "collisions_per_1k_robot_steps" else f"{r[c]:.2f}"
            for c in COLUMNS
        )
        lines.append(f"| {r['scenario']} | {r['policy']} | {vals} |")
    return "\n".join(lines)


def parser() -> argparse.ArgumentParser:
    """The command line of :func:`main` (one-line usage errors, exit code 2)."""
    from warehouse.cli.checks import OneLineParser

    ap = OneLineParser(description=__doc__.split("\n")[0])
    ap.add_argument("--scenarios", default="faults,medium")
    ap.add_argument("--seeds", default="100..109", help="0,1,2 or 0..9")
    ap.add_argument("--steps", type=int, default=400)
    ap.add_argument("--policies", default="rule_based,behavior,bc,bc_sampled,cql,cql_sampled")
    ap.add_argument("--collisions", default="physical")
    ap.add_argument("--epsilon", type=float, default=0.1)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--checkpoint", action="append", default=[], help="algo=PATH")
    ap.add_argument("--json", type=Path, default=None, help="a new file for the rows")
    return ap


def main(argv: list[str] | None = None) -> None:
    from warehouse.cli.checks import name_list, new_output_file, seed_list
    from warehouse.errors import InputError
    from warehouse.policies import checked_collisions
    from warehouse.threads import torch_threads

    ap = parser()
    args = ap.parse_args(argv)
    from .registry import NAVIGATORS

    try:
        policies = name_list(args.policies, "--policies")
        scenarios = name_list(args.scenarios, "--scenarios")
        checked_collisions(args.collisions)  # (before loading any network)
        if args.json is not None:  # checked before the runs, not after them
            new_output_file(args.json, "--json")
    except InputError as exc:
        ap.error(exc.one_line())
    if unknown := [p for p in policies if p not in NAVIGATORS]:
        ap.error(f"--policies: unknown {', '.join(unknown)} (known: {', '.join(NAVIGATORS)})")
    if args.steps < 1:
        ap.error(f"--steps: expected a whole number ≥ 1, got {args.steps}")
    if not 0 <= args.epsilon <= 1:
        ap.error(f"--epsilon: expected a probability in [0, 1], got {args.epsilon}")
    ckpts = checkpoint_options(ap, args.checkpoint, policies)
    from .batched import pick_device

    try:
        pick_device(args.device, field="--device")
    except InputError as exc:  # cuda without a GPU, or no device at all
        ap.error(exc.one_line())
    t0 = time.perf_counter()
    try:
        with torch_threads(1):
            rows = compare(
                scenarios,
                seed_list(args.seeds),
                args.steps,
                policies,
                collisions=args.collisions,
                checkpoints=ckpts,
                epsilon=args.epsilon,
                device=args.device,
            )
    except InputError as exc:  # a bad scenario, seed list or checkpoint: one line, exit 2
        ap.error(exc.one_line())
    report(
        markdown(rows), rows, time.perf_counter() - t0, args.json, f", collisions={args.collisions}"
    )


if __name__ == "__main__":  # pragma: no cover
    from warehouse.interrupt import run_main

    run_main(main)
