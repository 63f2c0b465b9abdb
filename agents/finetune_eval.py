"""Frozen vs fine-tuned navigator on held-out floors (the table of docs/results_finetune.md).

::

    .venv/bin/python -m agents.finetune_eval --model RUN/model.json \\
        --scenarios faults,medium --seeds 100-109 --steps 400 --collisions physical,pibt \\
        [--init agents/weights/cql.json] [--json out.json]

Four navigators, each with the greedy dispatcher, on every (scenario, collision mode, seed):

* ``frozen`` — the init network, greedy (what ``--policy cql`` runs);
* ``frozen-sampled`` — the init network sampled at the fine-tuning temperature;
* ``finetuned`` — the fine-tuned network, greedy (``--policy cql --set
  policies.navigator_checkpoint=RUN/model.json``);
* ``finetuned-sampled`` — the fine-tuned network as PPO trained it
  (``--policy cql_ft --set policies.navigator_checkpoint=RUN/model.json``).

Rows are means over seeds of the KPIs in :data:`COLUMNS`; per-seed values go to ``--json``.
"""

from __future__ import annotations

import argparse
import re
import time
from pathlib import Path
from typing import Any

import numpy as np

from .evaluate import report

COLUMNS = ("deliveries", "collisions", "collisions_per_1k_robot_steps", "stuck_robots")


def navigators(init: str, model: str) -> dict[str, Any]:
    from .finetune_nav import finetuned_navigator
    from .learned import load_learned_navigator

    tuned = finetuned_navigator(checkpoint=model, device="cpu")
    return {
        "frozen": load_learned_navigator(None, init, device="cpu"),
        "frozen-sampled": finetuned_navigator(
            checkpoint=init, device="cpu", temperature=tuned.temperature
        ),
        "finetuned": load_learned_navigator(None, model, device="cpu"),
        "finetuned-sampled": tuned,
    }


def run_one(target: str, seed: int, steps: int, collisions: str, nav: Any) -> dict[str, Any]:
    from hierarchy import make_dispatcher
    from scenarios import apply_overrides, build_floor, load_scenario
    from warehouse.core import Simulation
    from warehouse.fleet import Fleet
    from warehouse.kpis import compute_kpis

    sc, src = load_scenario(target)
    sc = apply_overrides(sc, {"collisions": collisions}, src)
    fleet = Fleet(Simulation(build_floor(sc, src), sc.sim_config()), make_dispatcher("greedy"), nav)
    fleet.reset(seed)
    fleet.run(steps, stop_when_solved=sc.episode.stop_when_solved)  # (KPIs over the steps run)
    return compute_kpis(fleet.sim)


def compare(
    init: str, model: str, scenarios: list[str], seeds: list[int], steps: int, modes: list[str]
) -> list[dict[str, Any]]:
    navs = navigators(init, model)
    rows = []
    for target in scenarios:
        for mode in modes:
            for name, nav in navs.items():
                runs = [run_one(target, s, steps, mode, nav) for s in seeds]
                row: dict[str, Any] = {"scenario": target, "collisions_mode": mode, "policy": name}
                # what reproduces the row: the networks, the seeds and the run's length
                row |= {"init": init, "model": model, "seeds": seeds, "steps": steps}
                row.update({c: float(np.mean([r[c] for r in runs])) for c in COLUMNS})
                row["deliveries_sd"] = float(np.std([r["deliveries"] for r in runs]))
                row["per_seed"] = [{c: r[c] for c in COLUMNS} for r in runs]
                rows.append(row)
    return rows


def markdown(rows: list[dict[str, Any]]) -> str:
    lines = [
        "| scenario | collisions | navigator | deliveries (± sd) | collisions | per 1k robot-steps"
        " | stuck robots |",
        "|---|---|---|---:|---:|---:|---:|",
    ]
    for r in rows:
        lines.append(
            f"| {r['scenario']} | {r['collisions_mode']} | {r['policy']} | "
            f"{r['deliveries']:.1f} ± {r['deliveries_sd']:.1f} | {r['collisions']:.1f} | "
            f"{r['collisions_per_1k_robot_steps']:.2f} | {r['stuck_robots']:.1f} |"
        )
    return "\n".join(lines)


def _seeds(text: str) -> list[int]:
    """``100-109`` (inclusive), or a seed list as ``warehouse run`` takes it (``0,1,2``,
    ``0..9``); anything else is a one-line :class:`InputError` naming ``--seeds``."""
    from warehouse.cli.checks import seed_list

    if m := re.fullmatch(r"\s*(\d+)\s*-\s*(\d+)\s*", text):
        text = f"{m[1]}..{m[2]}"
    return seed_list(text)


def parser() -> argparse.ArgumentParser:
    """The command line of :func:`main` (one-line usage errors, exit code 2)."""
    from warehouse.cli.checks import OneLineParser

    from .learned import DEFAULT_WEIGHTS

    ap = OneLineParser(description=__doc__.split("\n")[0])
    ap.add_argument("--model", required=True, help="fine-tuned checkpoint (RUN/model.json)")
    ap.add_argument("--init", default=str(DEFAULT_WEIGHTS / "cql.json"))
    ap.add_argument("--scenarios", default="faults,medium")
    ap.add_argument("--seeds", default="100-109")
    ap.add_argument("--steps", type=int, default=400)
    ap.add_argument("--collisions", default="physical,pibt")
    ap.add_argument("--json", type=Path, default=None, help="a new file for the rows")
    return ap


def main(argv: list[str] | None = None) -> None:
    from warehouse.cli.checks import name_list, new_output_file
    from warehouse.errors import InputError

    ap = parser()
    args = ap.parse_args(argv)
    from warehouse.threads import torch_threads

    if args.steps < 1:
        ap.error(f"--steps: expected a whole number ≥ 1, got {args.steps}")
    try:
        scenarios = name_list(args.scenarios, "--scenarios")
        modes = name_list(args.collisions, "--collisions")
        seeds = _seeds(args.seeds)
        if args.json is not None:  # checked before the runs, not after them
            new_output_file(args.json, "--json")
    except InputError as exc:
        ap.error(exc.one_line())
    t0 = time.perf_counter()
    try:
        with torch_threads(1):
            rows = compare(args.init, args.model, scenarios, seeds, args.steps, modes)
    except InputError as exc:  # a missing or damaged network, a bad floor or mode
        ap.error(exc.one_line())
    report(markdown(rows), rows, time.perf_counter() - t0, args.json)


if __name__ == "__main__":  # pragma: no cover
    from warehouse.interrupt import run_main

    run_main(main)
