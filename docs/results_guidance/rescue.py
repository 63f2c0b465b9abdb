"""The stall rescue that follows the guide (docs/results_guidance.md, forty-first session).

``python docs/results_guidance/rescue.py MAP ROBOTS,... SEEDS STEPS [KEY=VALUE ...]`` runs the
``guided`` navigator under the ``pibt`` shield (the setting ``physics.collisions=pibt_swap``:
under that one) with ``tasks.mode: goal_visit`` and the greedy dispatcher (as ``warehouse run
MAP --policy guided --collisions pibt``) for each fleet size and seed (``0,1,2``), with the
``KEY=VALUE`` scenario settings (as ``--set``, the value read as YAML; e.g.
``policies.navigator_args.guided.guide_rescue=false``), and prints one CSV row each: goals
reached and a step, stuck robots at the end (``kpis.stuck_robots``) and their share over the
run, the robot-steps the stall rescue moved (counted at the shield's rescue, so the same count
for a version of the code without the setting), the navigator's searches and off-path events,
and the process CPU seconds of the steps (a process's first run also compiles numba's kernels
when their cache is cold).

``python docs/results_guidance/rescue.py table CSV ...`` prints the markdown table of such rows:
per map, fleet size and setting, the seeds, mean ± std (sample) of goals a step and of stuck
robots at the end, and the means of rescues, searches and CPU seconds."""

from __future__ import annotations

import sys
import time
from typing import Any

import yaml

from scenarios import apply_overrides, build_floor, load_scenario
from warehouse.core import Simulation
from warehouse.fleet import Fleet
from warehouse.kpis import compute_kpis
from warehouse.policies import build_policy, resolve_policy

COLUMNS = (
    "map,robots,seed,steps,guide_rescue,deliveries,throughput_per_step,stuck_robots,"
    "stuck_robot_share,rescues,searches,off_path,cpu_s"
)


def run(target: str, robots: int, seed: int, steps: int, extra: dict[str, Any]) -> str:
    """One run's CSV row (``physics.collisions`` in ``extra`` picks the shield: ``pibt`` or
    ``pibt_swap``)."""
    extra = dict(extra)
    collisions = str(extra.pop("physics.collisions", "pibt"))
    sc, source = load_scenario(target)
    sc = apply_overrides(sc, {"tasks.mode": "goal_visit", "fleet.robots": robots, **extra}, source)
    spec = resolve_policy("guided", sc, collisions=collisions, source=source)
    sim = Simulation(build_floor(sc, source), sc.sim_config(spec.collisions_for(sc)))
    dispatcher, navigator = build_policy(spec, sc, source, sim.floor)
    fleet = Fleet(sim, dispatcher, navigator)
    fleet.reset(seed)
    shield: Any = sim.shield
    count = [0]
    rescue = shield._rescue

    def counted(*args: Any) -> Any:
        out = rescue(*args)
        if out[1] is not None:
            count[0] += out[1][0].size
        return out

    shield._rescue = counted
    t0 = time.process_time()
    for _ in range(steps):
        fleet.step()
    cpu = time.process_time() - t0
    k = compute_kpis(sim)
    st = navigator.stats  # type: ignore[attr-defined]
    flag = bool(getattr(navigator, "guide_rescue", False))
    return (
        f"{target.rsplit('/', 1)[-1]},{robots},{seed},{steps},{flag},{k['deliveries']},"
        f"{k['throughput_per_step']},{k['stuck_robots']},{k['stuck_robot_share']:.5f},"
        f"{count[0]},{st['searches']},{st['off_path']},{cpu:.1f}"
    )


def main(target: str, sizes: str, seeds: str, steps: int, settings: list[str]) -> None:
    extra = {k: yaml.safe_load(v) for k, v in (kv.split("=", 1) for kv in settings)}
    print(COLUMNS, flush=True)
    for robots in map(int, sizes.split(",")):
        for seed in map(int, seeds.split(",")):
            print(run(target, robots, seed, steps, extra), flush=True)


def table(paths: list[str]) -> None:
    """The markdown table of the rows in ``paths`` (module docstring)."""
    import csv

    import numpy as np

    groups: dict[tuple[str, int, str], list[dict[str, str]]] = {}
    for path in paths:
        with open(path, newline="") as fh:
            for r in csv.DictReader(fh):
                groups.setdefault((r["map"], int(r["robots"]), r["guide_rescue"]), []).append(r)
    print("| map | robots | guide_rescue | seeds | goals a step | stuck at the end | rescues | "
          "searches | CPU s |")  # fmt: skip
    print("|---|---:|---|---|---:|---:|---:|---:|---:|")
    for (name, robots, flag), rows in sorted(groups.items()):

        def col(key: str, rows: list[dict[str, str]] = rows) -> np.ndarray:
            return np.array([float(r[key]) for r in rows])

        def pm(x: np.ndarray, digits: int) -> str:
            sd = x.std(ddof=1) if x.size > 1 else 0.0
            return (
                f"{x.mean():.{digits}f} ± {sd:.{digits}f}" if x.size > 1 else f"{x[0]:.{digits}f}"
            )

        seeds = ",".join(r["seed"] for r in rows)
        print(
            f"| {name} | {robots:,} | {flag} | {seeds} | {pm(col('throughput_per_step'), 3)} | "
            f"{pm(col('stuck_robots'), 1)} | {col('rescues').mean():,.0f} | "
            f"{col('searches').mean():,.0f} | {col('cpu_s').mean():.1f} |"
        )


if __name__ == "__main__":
    if sys.argv[1] == "table":
        table(sys.argv[2:])
    else:
        main(sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), sys.argv[5:])
