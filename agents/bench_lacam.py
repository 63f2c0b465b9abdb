"""Benchmark of the ``lacam`` navigator's search on random one-shot MAPF instances.

Run ``python -m agents.bench_lacam TARGET [--robots 50,100,200,400] [--seeds 0..4]
[--node-budget N] [--out FILE.json]``: ``TARGET`` is a scenario or map file (or a built-in
scenario), run as a random one-shot instance (``tasks.mode: goal_visit``,
``tasks.assignment: one_shot``) of each fleet size on each seed. Timed: the first fleet step of
each instance, where the navigator searches its plan (wall-clock and thread CPU time, the latter
not inflated by other processes on a shared machine); its ``stats`` give the search's
iterations and the plan's length. A small instance is solved first, untimed, so that numba's
compilation is not timed. Prints one row per fleet size (means over seeds, and the slowest).
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import numpy as np

from warehouse.errors import InputError

#: the settings that make a scenario a random one-shot instance
ONE_SHOT = {"tasks.mode": "goal_visit", "tasks.assignment": "one_shot"}


def time_search(
    target: str, robots: int, seed: int, node_budget: int | None = None
) -> dict[str, Any]:
    """Solve the random one-shot instance of ``robots`` robots on ``target`` for ``seed`` with
    the ``lacam`` navigator and time its first step (module docstring)."""
    from scenarios import apply_overrides, build_floor, load_scenario
    from warehouse.core import Simulation
    from warehouse.fleet import Fleet
    from warehouse.policies import build_policy, resolve_policy

    sc, source = load_scenario(target)
    overrides: dict[str, Any] = {**ONE_SHOT, "fleet.robots": robots}
    if node_budget is not None:
        overrides["policies.navigator_args"] = {"lacam": {"node_budget": node_budget}}
    sc = apply_overrides(sc, overrides, source)
    spec = resolve_policy("lacam", sc, source=source)
    sim = Simulation(build_floor(sc, source), sc.sim_config(spec.collisions_for(sc)))
    dispatcher, navigator = build_policy(spec, sc, source, sim.floor)
    fleet = Fleet(sim, dispatcher, navigator)
    fleet.reset(seed)
    wall, cpu = time.perf_counter(), time.thread_time()
    fleet.step()
    cpu, wall = time.thread_time() - cpu, time.perf_counter() - wall
    stats = navigator.stats
    return {
        "robots": robots,
        "seed": seed,
        "found": bool(stats["found"]),
        "iterations": int(stats["expanded"]),
        "plan_length": int(stats["plan_length"]),
        "first_step_ms": 1e3 * wall,
        "first_step_cpu_ms": 1e3 * cpu,
    }


def summary(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One row per fleet size: plans found, mean iterations and plan length, mean and slowest
    first step (CPU time), and CPU time per iteration."""
    out = []
    for n in sorted({r["robots"] for r in rows}):
        rs = [r for r in rows if r["robots"] == n]
        cpu = np.array([r["first_step_cpu_ms"] for r in rs])
        iters = np.array([r["iterations"] for r in rs], dtype=np.float64)
        out.append(
            {
                "robots": n,
                "found": f"{sum(r['found'] for r in rs)}/{len(rs)}",
                "iterations": float(iters.mean()),
                "plan_length": float(np.mean([r["plan_length"] for r in rs])),
                "cpu_ms_mean": float(cpu.mean()),
                "cpu_ms_max": float(cpu.max()),
                "us_per_iteration": float(1e3 * cpu.sum() / max(iters.sum(), 1.0)),
            }
        )
    return out


def main(argv: list[str] | None = None) -> None:
    from warehouse.bench import machine_info
    from warehouse.cli.checks import OneLineParser, new_output_file, seed_list

    ap = OneLineParser(prog="python -m agents.bench_lacam", description=__doc__)
    ap.add_argument("target", help="scenario or map file, or a built-in scenario")
    ap.add_argument("--robots", default="50,100,200,400", help="fleet sizes, comma-separated")
    ap.add_argument("--seeds", default="0..4", help="seeds: 0..4 or 0,3,7")
    ap.add_argument("--node-budget", type=int, default=None, help="the search's iteration limit")
    ap.add_argument("--out", type=Path, default=None, help="also write the rows to this JSON")
    args = ap.parse_args(argv)
    try:
        sizes = [int(x) for x in args.robots.split(",")]
    except ValueError:
        ap.error(f"--robots: expected whole numbers separated by commas, got {args.robots!r}")
    if any(n < 1 for n in sizes):
        ap.error(f"--robots: expected whole numbers ≥ 1, got {args.robots!r}")
    try:
        seeds = seed_list(args.seeds)
    except InputError as exc:
        ap.error(exc.one_line())
    if args.node_budget is not None and args.node_budget < 1:
        ap.error(f"--node-budget: expected a whole number ≥ 1, got {args.node_budget}")
    if args.out is not None:  # checked before the benchmark, not after it
        try:
            new_output_file(args.out, "--out")
        except InputError as exc:
            ap.error(exc.one_line())
    try:
        time_search(args.target, 2, 0, args.node_budget)  # compile, untimed
        rows = [time_search(args.target, n, s, args.node_budget) for n in sizes for s in seeds]
    except InputError as exc:
        ap.error(exc.one_line())
    except ValueError as exc:  # a setting the floor or the simulation refuses
        ap.error(str(exc))
    table = summary(rows)
    print(f"lacam search on {args.target}, seeds {args.seeds} ({machine_info()['cpu']})")
    print("robots  found  iterations  plan  first step CPU ms (mean, max)  us/iteration")
    for r in table:
        print(
            f"{r['robots']:6d}  {r['found']:>5s}  {r['iterations']:10.0f}  {r['plan_length']:4.0f}"
            f"  {r['cpu_ms_mean']:14.1f} {r['cpu_ms_max']:8.1f}  {r['us_per_iteration']:16.1f}"
        )
    if args.out is not None:
        from warehouse.atomic import write_text_atomic

        data = {"machine": machine_info(), "rows": rows, "summary": table}
        write_text_atomic(args.out, json.dumps(data, indent=1))


if __name__ == "__main__":
    main()
