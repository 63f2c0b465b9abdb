"""How often ``guided``'s ``plan_paths`` stops for the pool to grow (docs/results_guidance.md,
*No search twice when the pool grows*, session 42).

``python docs/results_guidance/pool_stops.py MAP ROBOTS STEPS`` runs ``guided`` under ``pibt``,
seed 0, ``tasks.mode: goal_visit``, the greedy dispatcher, and prints the stops, the
navigator's stats and the pool's final size. Before session 42 (run it on a copy of
``2724aef``) each stop had already searched (the stopped robot holds no path after it) or
rejoined (it still holds its old path) and did that again after the pool grew: the
``search``/``rejoin`` split counts those repeats. From session 42 on a stop comes before the
robot is touched, and the split means nothing."""

from __future__ import annotations

import sys
from typing import Any

import agents.guided as guided
from scenarios import apply_overrides, build_floor, load_scenario
from warehouse.core import Simulation
from warehouse.fleet import Fleet
from warehouse.policies import build_policy, resolve_policy


def main(target: str, robots: int, steps: int) -> None:
    kernel = guided.plan_paths
    stops = {"stops": 0, "search": 0, "rejoin": 0}

    def counted(order: Any, first: int, need: Any, pos: Any, slot: Any, table: Any, far: Any,
                g_start: Any, g_len: Any, *rest: Any) -> int:  # fmt: skip
        t = int(kernel(order, first, need, pos, slot, table, far, g_start, g_len, *rest))
        if t < order.size:
            stops["stops"] += 1
            stops["rejoin" if g_len[order[t]] > 0 else "search"] += 1
        return t

    guided.plan_paths = counted  # type: ignore[assignment]
    sc, source = load_scenario(target)
    sc = apply_overrides(sc, {"tasks.mode": "goal_visit", "fleet.robots": robots}, source)
    spec = resolve_policy("guided", sc, collisions="pibt", source=source)
    sim = Simulation(build_floor(sc, source), sc.sim_config(spec.collisions_for(sc)))
    dispatcher, navigator = build_policy(spec, sc, source, sim.floor)
    fleet = Fleet(sim, dispatcher, navigator)
    fleet.reset(0)
    for _ in range(steps):
        fleet.step()
    nav: Any = navigator
    print(target.rsplit("/", 1)[-1], robots, steps, stops, nav.stats, nav.pool_nodes.size)


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]), int(sys.argv[3]))
