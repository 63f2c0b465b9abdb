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
dispatcher; the table shows per-scenario means over seeds of the KPIs of :mod:`warehouse.kpis`.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import numpy as np

COLUMNS = (
    "deliveries",
    "throughput_per_hour",
    "collisions",
    "collisions_per_1k_robot_steps",
    "stuck_robots",
)


def make_policy(name: str, checkpoints: dict[str, str], epsilon: float, device: str) -> Any:
    from .registry import make_navigator

    if name == "behavior":
        return make_navigator("behavior", epsilon=epsilon)
    if name in ("cql", "bc", "cql_sampled", "bc_sampled"):
        # the sampled navigators run the network given for their greedy twin
        ckpt = checkpoints.get(name, checkpoints.get(name.removesuffix("_sampled")))
        return make_navigator(name, checkpoint=ckpt, device=device)
    return make_navigator(name)


def run_one(target: str, seed: int, steps: int, collisions: str, policy: Any) -> dict[str, Any]:
    from scenarios import apply_overrides, build_floor, load_scenario
    from warehouse.core import Simulation
    from warehouse.fleet import Fleet
    from warehouse.kpis import compute_kpis
    from warehouse.policies import scenario_dispatcher

    sc, src = load_scenario(target)
    sc = apply_overrides(sc, {"collisions": collisions}, src)
    sim = Simulation(build_floor(sc, src), sc.sim_config())
    fleet = Fleet(sim, scenario_dispatcher(sc.policies.dispatcher, sc, src, strict=True), policy)
    fleet.reset(seed)
    fleet.run(steps)
    return compute_kpis(sim)


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
        json_path.write_text(json.dumps(rows, indent=1))


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


def main(argv: list[str] | None = None) -> None:
    from warehouse.cli.checks import OneLineParser, name_list, seed_list
    from warehouse.errors import InputError
    from warehouse.threads import torch_threads

    ap = OneLineParser(description=__doc__.split("\n")[0])
    ap.add_argument("--scenarios", default="faults,medium")
    ap.add_argument("--seeds", default="100..109", help="0,1,2 or 0..9")
    ap.add_argument("--steps", type=int, default=400)
    ap.add_argument("--policies", default="rule_based,behavior,bc,bc_sampled,cql,cql_sampled")
    ap.add_argument("--collisions", default="physical")
    ap.add_argument("--epsilon", type=float, default=0.1)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--checkpoint", action="append", default=[], help="algo=PATH")
    ap.add_argument("--json", type=Path, default=None)
    args = ap.parse_args(argv)
    from .registry import NAVIGATORS

    try:
        policies = name_list(args.policies, "--policies")
        scenarios = name_list(args.scenarios, "--scenarios")
    except InputError as exc:
        ap.error(exc.one_line())
    if unknown := [p for p in policies if p not in NAVIGATORS]:
        ap.error(f"--policies: unknown {', '.join(unknown)} (known: {', '.join(NAVIGATORS)})")
    if bad := [c for c in args.checkpoint if "=" not in c]:
        ap.error(f"--checkpoint: expected ALGO=PATH, got {bad[0]!r}")
    ckpts = dict(c.split("=", 1) for c in args.checkpoint)
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
    main()
