"""Navigator overhead of docs/results_guidance.md: CPU time of ``navigator.act``.

``python docs/results_guidance/timing.py MAP STEPS ROBOTS,... POLICY,... [KEY=VALUE ...]``
prints one JSON line per (policy, fleet size): seed 0, ``tasks.mode: goal_visit``, the ``pibt``
shield, the greedy dispatcher (as ``warehouse run MAP --policy POLICY --collisions pibt``), and
the ``KEY=VALUE`` scenario settings (as ``--set``, the value read as YAML; e.g.
``policies.navigator_args.guided.suboptimality=2``); the first step's ``act`` (every guide path
searched; the first policy run also loads numba's cached kernels) and the mean of the others, in
CPU seconds of the thread (``time.thread_time``, not inflated by other processes on a shared
machine), and the whole step's mean."""

from __future__ import annotations

import json
import sys
import time
from typing import Any

import yaml

from scenarios import apply_overrides, build_floor, load_scenario
from warehouse.core import Simulation
from warehouse.fleet import Fleet
from warehouse.policies import build_policy, resolve_policy


def main(target: str, steps: int, sizes: str, policies: str, settings: list[str]) -> None:
    extra = {k: yaml.safe_load(v) for k, v in (kv.split("=", 1) for kv in settings)}
    for robots in map(int, sizes.split(",")):
        for policy in policies.split(","):
            sc, source = load_scenario(target)
            over = {"tasks.mode": "goal_visit", "fleet.robots": robots, **extra}
            sc = apply_overrides(sc, over, source)
            spec = resolve_policy(policy, sc, collisions="pibt", source=source)
            sim = Simulation(build_floor(sc, source), sc.sim_config(spec.collisions_for(sc)))
            dispatcher, navigator = build_policy(spec, sc, source, sim.floor)
            fleet = Fleet(sim, dispatcher, navigator)
            fleet.reset(0)
            act, cpu = navigator.act, []

            def timed(*args: Any, act: Any = act, cpu: list[float] = cpu) -> Any:
                t0 = time.thread_time()
                out = act(*args)
                cpu.append(time.thread_time() - t0)
                return out

            navigator.act = timed
            t0 = time.thread_time()
            for _ in range(steps):
                fleet.step()
            total = time.thread_time() - t0
            row = {
                "map": target.rsplit("/", 1)[-1],
                "policy": policy,
                "robots": robots,
                "steps": steps,
                "nav_first_s": round(cpu[0], 3),
                "nav_ms_per_step": round(1e3 * sum(cpu[1:]) / (steps - 1), 2),
                "step_ms_total": round(1e3 * total / steps, 2),
                "deliveries": int(sim.state.deliveries.sum()),
                "stats": getattr(navigator, "stats", None),
            }
            if extra:
                row["settings"] = extra
            print(json.dumps(row), flush=True)


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5:])
