"""How often the ``pibt_swap`` shield's swap fires (docs/results_swap.md, part 5).

``python docs/results_swap/count_swaps.py MAP POLICY ROBOTS,... SEEDS STEPS [KEY=VALUE ...]``
runs ``POLICY`` (``rule_based`` or ``guided``, the greedy dispatcher, as ``warehouse run MAP
--policy POLICY``) on ``MAP`` (a map file or a scenario) with ``tasks.mode: goal_visit`` for
each fleet size (``-``: the scenario's own) and seed (``0,1,2``), the ``KEY=VALUE`` scenario
settings applied last (as ``--set``, the value read as YAML; e.g. ``tasks.mode=pickup_delivery``
for a scenario's own orders). Each run goes once under ``pibt_swap`` and once under ``pibt``
and prints one CSV row:

* ``swaps``, ``commitments``: the shield's own counters (:class:`PIBTSwapShield`): pulls, and
  the pulls made by stalled robots (each commits its pair);
* ``differs``: robot-steps at which the ``pibt_swap`` search gave a robot another move than
  plain PIBT's search (:func:`~warehouse.shield.pibt.pibt_plan`) gives for the same inputs
  (candidates, mask, fixed robots, roots), replayed at every step the shield plans; this
  catches a swap's reversed candidates even where no pull follows;
* ``planned``: steps at which the shield planned (a conflict, or a commitment);
* ``deliveries`` under each shield and ``same``: whether the two runs' positions were equal at
  every step (a digest of every step's positions).

The replay runs inside the ``pibt_swap`` run only and does not change it (it plans copies).

``python docs/results_swap/count_swaps.py table CSV ...`` prints the markdown table of such rows:
per map, policy and fleet size, the seeds, mean deliveries under each shield, how many runs were
the same, and per run (mean) the swaps, commitments, differing robot-steps and planned steps.
"""

from __future__ import annotations

import hashlib
import time
from typing import Any

import numpy as np
import yaml

from scenarios import apply_overrides, build_floor, load_scenario
from warehouse.core import Simulation
from warehouse.fleet import Fleet
from warehouse.kpis import compute_kpis
from warehouse.policies import build_policy, resolve_policy
from warehouse.shield.pibt import pibt_plan
from warehouse.shield.pibt_swap import PIBTSwapShield

COLUMNS = (
    "map,policy,robots,seed,steps,deliveries_swap,deliveries_pibt,same,swaps,commitments,"
    "differs,planned,cpu_s"
)


class ReplayShield(PIBTSwapShield):
    """``pibt_swap`` that also plans each step's inputs with plain PIBT's search (on copies)
    and counts the robots whose moves differ (``differs``) and the steps it planned."""

    def __init__(self) -> None:
        super().__init__()
        self.differs = 0
        self.planned = 0

    def _plan(self, sim, pos, cand, mask, nxt, act, roots, frozen):  # type: ignore[no-untyped-def]
        nbr = sim.floor.nbr
        sc = self.scratch(nbr.shape[0], pos.size)
        plain_nxt, plain_act = nxt.copy(), act.copy()
        pibt_plan(pos, nbr, cand, mask, plain_nxt, plain_act, roots, sc.occ, sc.res)
        super()._plan(sim, pos, cand, mask, nxt, act, roots, frozen)
        self.differs += int(np.count_nonzero(act != plain_act))
        self.planned += 1


def one(
    target: str, policy: str, robots: int | None, seed: int, steps: int, extra: dict[str, Any],
    collisions: str,
) -> tuple[int, str, Any]:  # fmt: skip
    """One run: deliveries, the digest of every step's positions, and the shield."""
    sc, source = load_scenario(target)
    over: dict[str, Any] = {"tasks.mode": "goal_visit"}
    if robots is not None:
        over["fleet.robots"] = robots
    sc = apply_overrides(sc, {**over, **extra}, source)
    spec = resolve_policy(policy, sc, collisions=collisions, source=source)
    sim = Simulation(build_floor(sc, source), sc.sim_config(spec.collisions_for(sc)))
    if collisions == "pibt_swap":
        sim.shield = ReplayShield()
    dispatcher, navigator = build_policy(spec, sc, source, sim.floor)
    fleet = Fleet(sim, dispatcher, navigator)
    fleet.reset(seed)
    digest = hashlib.sha256()
    for _ in range(steps):
        fleet.step()
        digest.update(np.ascontiguousarray(sim.state.pos).tobytes())
    return int(compute_kpis(sim)["deliveries"] or 0), digest.hexdigest(), sim.shield


def run(
    target: str, policy: str, robots: int | None, seed: int, steps: int, extra: dict[str, Any]
) -> str:
    """One CSV row (module docstring)."""
    t0 = time.process_time()
    d_swap, h_swap, shield = one(target, policy, robots, seed, steps, extra, "pibt_swap")
    cpu = time.process_time() - t0
    d_pibt, h_pibt, _ = one(target, policy, robots, seed, steps, extra, "pibt")
    name = target.rsplit("/", 1)[-1]
    size = "-" if robots is None else robots
    return (
        f"{name},{policy},{size},{seed},{steps},{d_swap},{d_pibt},{h_swap == h_pibt},"
        f"{shield.swaps},{shield.commitments},{shield.differs},{shield.planned},{cpu:.1f}"
    )


def main(target: str, policy: str, sizes: str, seeds: str, steps: int, settings: list[str]) -> None:
    extra = {k: yaml.safe_load(v) for k, v in (kv.split("=", 1) for kv in settings)}
    print(COLUMNS, flush=True)
    for size in sizes.split(","):
        robots = None if size == "-" else int(size)
        for seed in map(int, seeds.split(",")):
            print(run(target, policy, robots, seed, steps, extra), flush=True)


def table(paths: list[str]) -> None:
    """The markdown table of the rows in ``paths`` (module docstring)."""
    import csv

    groups: dict[tuple[str, str, str], list[dict[str, str]]] = {}
    for path in paths:
        with open(path, newline="") as fh:
            for r in csv.DictReader(fh):
                groups.setdefault((r["map"], r["policy"], r["robots"]), []).append(r)
    print("| map | policy | robots | seeds | steps | deliveries `pibt_swap` | deliveries `pibt` | "
          "same run | swaps | commitments | robot-steps that differ | steps planned |")  # fmt: skip
    print("|---|---|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for (name, policy, robots), rows in groups.items():

        def mean(key: str, rows: list[dict[str, str]] = rows) -> float:
            return float(np.mean([float(r[key]) for r in rows]))

        same = sum(r["same"] == "True" for r in rows)
        size = robots if robots == "-" else f"{int(robots):,}"
        print(
            f"| {name} | {policy} | {size} | {','.join(r['seed'] for r in rows)} | "
            f"{rows[0]['steps']} | {mean('deliveries_swap'):,.1f} | "
            f"{mean('deliveries_pibt'):,.1f} | "
            f"{same} of {len(rows)} | {mean('swaps'):,.1f} | {mean('commitments'):,.1f} | "
            f"{mean('differs'):,.1f} | {mean('planned'):,.0f} |"
        )


if __name__ == "__main__":
    import argparse

    ap = argparse.ArgumentParser(description="How often pibt_swap's swap fires (docstring).")
    ap.add_argument("target", help="a map file, scenario file or built-in; 'table': the table")
    ap.add_argument(
        "rest", nargs="*", help="POLICY ROBOTS,... SEEDS STEPS [KEY=VALUE ...]; after table: CSVs"
    )
    args = ap.parse_args()
    if args.target == "table":
        table(args.rest)
    elif len(args.rest) < 4 or not args.rest[3].isdigit():
        ap.error("expected POLICY ROBOTS,... SEEDS STEPS [KEY=VALUE ...] after the map")
    else:
        policy, sizes, seeds, steps, *settings = args.rest
        main(args.target, policy, sizes, seeds, int(steps), settings)
