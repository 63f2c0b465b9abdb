"""Robots inside the scheduled closures over time, and deliveries (docs/results_closures.md,
"Evacuating a closure").

    python docs/results_closures/evacuation.py SCENARIO --policy P --seeds 0..2 --steps 1800 \
        --out runs/evac.json

Runs each seed with one policy and counts, after every step, the robots standing on a cell of
an active scheduled closure, the robots that stepped onto one from outside during a step that
began with it closed ("entered"), and the deliveries so far. Uses only what both the code before
evacuation and after it provide (``WarehouseModel``, ``resolve_closures``), so the same script
measures both.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from scenarios import build_floor, load_scenario
from warehouse.core.closure_entries import resolve_closures
from warehouse.model import WarehouseModel
from warehouse.runner import parse_seeds


def run(scenario: str, policy: str, seed: int, steps: int) -> dict:
    sc, source = load_scenario(scenario)
    floor = build_floor(sc, source)
    closures = resolve_closures(floor, sc.faults, sc.physics.step_seconds)
    model = WarehouseModel(scenario, seed=seed, policy=policy, steps=steps, per_robot=False)
    sim = model.sim

    def closed_at(t: int) -> np.ndarray:
        out = np.zeros(floor.n_nodes, dtype=bool)
        for c in closures:
            if c.start <= t and (c.end is None or t < c.end):
                out[c.nodes] = True
        return out

    inside, entered, delivered = [], 0, []
    closed = closed_at(0)
    for _ in range(steps):
        before = sim.state.pos.copy()
        was_closed = closed
        model.step()
        if was_closed.any():  # the step began with these cells closed
            entered += int((was_closed[sim.state.pos] & ~was_closed[before]).sum())
        closed = closed_at(sim.t)
        inside.append(int(closed[sim.state.pos].sum()))
        delivered.append(int(sim.state.deliveries.sum()))
    return {"seed": seed, "inside": inside, "entered": entered, "delivered": delivered}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("scenario")
    ap.add_argument("--policy", default="rule_based")
    ap.add_argument("--seeds", default="0..2")
    ap.add_argument("--steps", type=int, default=1800)
    ap.add_argument("--out", type=Path, required=True)
    args = ap.parse_args()
    seeds = parse_seeds(args.seeds) or [0]
    rows = [run(args.scenario, args.policy, s, args.steps) for s in seeds]
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"policy": args.policy, "runs": rows}))
    print(report(args.policy, rows))


def report(policy: str, rows: list[dict], start: int = 300, end: int = 1200) -> str:
    """One line per seed: deliveries by ``end`` and at the last step; robots inside as the
    closure begins (clock ``start``), 10 and 60 steps later; robot-steps inside while it lasts;
    steps after ``start`` until the last robot left (the closure's length: none did)."""
    lines = []
    for r in rows:
        ins = np.asarray(r["inside"])  # ins[k - 1]: after k steps (clock k)
        during = ins[start - 1 : end - 1]
        out = int(np.flatnonzero(during > 0).max()) + 1 if during.any() else 0
        lines.append(
            f"{policy} seed {r['seed']}: delivered {r['delivered'][end - 1]} by step {end}, "
            f"{r['delivered'][-1]} in all; inside at +0/+10/+60 steps "
            f"{[int(ins[start - 1 + k]) for k in (0, 10, 60)]}, robot-steps inside "
            f"{int(during.sum())}, last one out after {out} steps; entered {r['entered']}"
        )
    return "\n".join(lines)


if __name__ == "__main__":
    main()
