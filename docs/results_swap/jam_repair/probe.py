"""One rule-based run (greedy dispatcher) of a scenario under a collision mode, with the
``pibt_lacam`` shield's settings changed by ``NAME=VALUE`` arguments: prints the deliveries,
the jammed robots at the end, the incidents and the repair counters (docs/results_swap.md,
part 6, *What was tried*). Usage::

    python docs/results_swap/jam_repair/probe.py FLOOR MODE SEED STEPS [jam_steps=200 ...]
"""

from __future__ import annotations

import argparse

import warehouse
from agents import RuleBasedNavigator
from hierarchy import GreedyDispatcher
from warehouse.fleet import Fleet
from warehouse.kpis import compute_kpis

COUNTERS = ("repairs", "plans", "planned_steps", "search_iterations", "dropped")


def main() -> None:
    ap = argparse.ArgumentParser(description="one rule-based run with pibt_lacam's counters")
    ap.add_argument("floor")
    ap.add_argument("mode")
    ap.add_argument("seed", type=int)
    ap.add_argument("steps", type=int)
    ap.add_argument("settings", nargs="*", help="the shield's NAME=VALUE (whole numbers)")
    a = ap.parse_args()
    path, mode, seed, steps = a.floor, a.mode, a.seed, a.steps
    sim = warehouse.make_env(path, collisions=mode).sim
    for arg in a.settings:
        name, value = arg.split("=")
        setattr(sim.shield, name, int(value))
    fleet = Fleet(sim, GreedyDispatcher(), RuleBasedNavigator())
    fleet.reset(seed)
    for _ in range(steps):
        fleet.step()
    k = compute_kpis(sim)
    counts = " ".join(f"{c}={getattr(sim.shield, c)}" for c in COUNTERS if hasattr(sim.shield, c))
    print(
        f"{mode} seed={seed} deliveries={k['deliveries']} jammed={k['jammed_robots']} "
        f"incidents={sim.incidents} {counts}"
    )


if __name__ == "__main__":
    main()
