"""Benchmark of the PIBT shield: milliseconds per step on a generated warehouse.

Run ``python -m warehouse.shield.bench_pibt [--robots 1000] [--steps 200] [--navigator
rule_based|greedy|random] [--collisions pibt|pibt_swap|pibt_lacam]`` (``greedy``: the argmax of the
rule-based preferences, so every conflict reaches the shield; ``random``: a stress test with
many conflicts). The floor is the ``small`` scenario's generator layout scaled to
``shelf_rows x shelf_cols`` blocks (40 x 20 gives 9,585 free cells, ~10 % density at 1,000
robots), with ``goal_visit`` tasks by default so every robot is always driving. The shield is
timed inside real fleet steps (greedy dispatcher, the chosen navigator's preferences), in
wall-clock and in thread CPU time (the latter is not inflated by other processes on a shared
machine); numba compilation happens in warm-up steps that are not timed. :func:`bench_shield`
returns the figures as a dict for ``warehouse bench``.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from . import PIBT_MODES


class GreedyNavigator:
    """Argmax of the rule-based preferences (shortest path, no traffic rules): the CS-PIBT
    setting where the shield resolves every conflict."""

    name = "greedy"
    needs_observation = False

    def reset(self, seed: int | None) -> None:
        pass

    def act(self, sim, obs, mask):  # type: ignore[no-untyped-def]
        from agents.rule_based import distance_preferences

        _, scores = distance_preferences(sim, mask)
        return scores.argmax(axis=1).astype(np.int64), scores


def bench_shield(
    *,
    robots: int = 1000,
    steps: int = 200,
    warmup: int = 20,
    shelf_rows: int = 40,
    shelf_cols: int = 20,
    navigator: str = "rule_based",
    tasks: str = "goal_visit",
    seed: int = 0,
    collisions: str = "pibt",
) -> dict[str, Any]:
    """Time ``steps`` shield calls (after ``warmup`` untimed steps); see module docstring."""
    import warehouse
    from agents import make_navigator
    from hierarchy import GreedyDispatcher

    from ..bench import machine_info
    from ..core.physics import resolve_physical
    from ..fleet import Fleet

    layout: dict[str, Any] = {"layout.shelf_rows": shelf_rows, "layout.shelf_cols": shelf_cols}
    env = warehouse.make_env("small", collisions=collisions, robots=robots, tasks=tasks, **layout)
    sim = env.sim
    shield = sim.shield
    times: list[float] = []
    cpu: list[float] = []
    changed: list[int] = []
    conflicts: list[int] = []

    bookkeeping = [0.0]  # wall seconds of the counts below, left out of the fleet step

    def timed(sim_, actions, preferences, mask):  # type: ignore[no-untyped-def]
        t0, c0 = time.perf_counter(), time.thread_time()
        out = shield(sim_, actions, preferences, mask)
        t1 = time.perf_counter()
        times.append(t1 - t0)
        cpu.append(time.thread_time() - c0)
        changed.append(int((out != actions).sum()))
        target = sim_.floor.nbr[sim_.state.pos, actions]
        conflicts.append(
            int(resolve_physical(sim_.state.pos, target, sim_.floor.n_nodes).failed.sum())
        )
        bookkeeping[0] += time.perf_counter() - t1
        return out

    sim.shield = timed  # type: ignore[assignment]
    nav = GreedyNavigator() if navigator == "greedy" else make_navigator(navigator)
    fleet = Fleet(sim, GreedyDispatcher(), nav)
    fleet.reset(seed)
    fleet.run(warmup)
    times.clear()
    cpu.clear()
    changed.clear()
    conflicts.clear()
    bookkeeping[0] = 0.0
    t0 = time.perf_counter()
    fleet.run(steps)
    step_s = (time.perf_counter() - t0 - bookkeeping[0]) / steps
    ms = np.array(times) * 1e3
    cpu_ms = np.array(cpu) * 1e3
    return {
        "robots": robots,
        "nodes": sim.floor.n_nodes,
        "density": robots / sim.floor.n_nodes,
        "navigator": navigator,
        "shield": collisions,
        "tasks": tasks,
        "steps": steps,
        "shield_ms_mean": float(ms.mean()),
        "shield_ms_p50": float(np.percentile(ms, 50)),
        "shield_ms_p95": float(np.percentile(ms, 95)),
        "shield_ms_max": float(ms.max()),
        "shield_cpu_ms_mean": float(cpu_ms.mean()),
        "shield_cpu_ms_p95": float(np.percentile(cpu_ms, 95)),
        "fleet_step_ms_mean": step_s * 1e3,
        "conflicting_per_step": float(np.mean(conflicts)),
        "changed_per_step": float(np.mean(changed)),
        "incidents": int(sim.incidents),
        "machine": machine_info(),
    }


def main(argv: list[str] | None = None) -> None:
    from agents import NAVIGATORS
    from warehouse.cli.checks import OneLineParser

    from ..bench import machine_info
    from ..errors import InputError

    p = OneLineParser(description=__doc__.splitlines()[0])
    p.add_argument("--robots", type=int, nargs="+", default=[1000])
    p.add_argument("--steps", type=int, default=200)
    p.add_argument("--navigator", default="rule_based")
    p.add_argument(
        "--tasks", default="goal_visit", help="goal_visit (all robots busy) or pickup_delivery"
    )
    p.add_argument("--collisions", choices=PIBT_MODES, default="pibt")
    p.add_argument("--shelf-rows", type=int, default=40)
    p.add_argument("--shelf-cols", type=int, default=20)
    args = p.parse_args(argv)
    if len(set(args.robots)) != len(args.robots) or min(args.robots) < 1:
        p.error(f"--robots: fleet sizes must be ≥ 1 and distinct, got {args.robots}")
    for flag, value in (
        ("--steps", args.steps),
        ("--shelf-rows", args.shelf_rows),
        ("--shelf-cols", args.shelf_cols),
    ):
        if value < 1:  # (a rate over zero steps divides by zero)
            p.error(f"{flag}: expected a whole number ≥ 1, got {value}")
    if args.navigator != "greedy" and args.navigator not in NAVIGATORS:
        known = ", ".join(["greedy", *sorted(NAVIGATORS)])
        p.error(f"--navigator: unknown navigator {args.navigator!r} (known: {known})")
    flags = {"layout.shelf_rows": "--shelf-rows", "layout.shelf_cols": "--shelf-cols"}
    flags |= {"tasks": "--tasks", "fleet.robots": "--robots"}
    print("machine: " + ", ".join(f"{k}={v}" for k, v in machine_info().items()))
    for n in args.robots:
        try:
            r = bench_shield(
                robots=n,
                steps=args.steps,
                navigator=args.navigator,
                tasks=args.tasks,
                collisions=args.collisions,
                shelf_rows=args.shelf_rows,
                shelf_cols=args.shelf_cols,
            )
        except InputError as exc:  # the floor or tasks the options asked for: one line
            field = exc.field or ""
            named = next((f for key, f in flags.items() if field.startswith(key)), None)
            p.error(InputError(None, named, exc.message).one_line() if named else exc.one_line())
        r.pop("machine")  # (on the line above)
        print(
            " ".join(f"{k}={v:.3f}" if isinstance(v, float) else f"{k}={v}" for k, v in r.items())
        )


if __name__ == "__main__":
    from warehouse.interrupt import run_main

    run_main(main)
