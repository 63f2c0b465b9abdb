"""Throughput benchmark of the fleet core: agent-steps per second.

One *agent-step* is one robot advanced by one step with everything a user of the env pays for:
the greedy dispatcher, the egocentric observations of the whole fleet, the action mask, the
rule-based navigator choosing actions, the shield and the physics. Two paths are timed:

* ``array``: :meth:`WarehouseEnv.reset_arrays` / :meth:`WarehouseEnv.step_arrays`;
* ``pettingzoo``: the ParallelEnv dict API (``env.step({agent: action})``), observation and info
  dicts included.

Both wall-clock and CPU-time rates are reported: on a shared machine the CPU-time figure is the
steadier one. Distance rows of the stations and pick locations are computed before timing (a long
run has them cached anyway; on floors whose rows exceed the cache's memory budget only half the
budget is filled and the LRU computes the rest on demand), and ``warmup`` steps run first (numba
compilation).

Floors are generated warehouses sized to the fleet (:func:`bench_floor_params`: about 12 % of
the traversable cells hold a robot); orders arrive at 0.02 per robot per second, as in the
``small`` scenario.

:func:`run_policy_bench` times a whole fleet step of a named policy on a named scenario instead
(``warehouse bench --scenario large --policy hierarchical``): :meth:`Fleet.step
<warehouse.fleet.Fleet.step>` with the policy's dispatcher, navigator and shield, what
``warehouse run`` pays per step less its KPI collection. torch runs on one thread, as in runs.
"""

from __future__ import annotations

import platform
import time
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

#: Robot density the generated floors aim for (robots / traversable cells).
DENSITY = 0.12


@dataclass(frozen=True)
class BenchResult:
    robots: int
    api: str
    nodes: int
    steps: int
    seconds: float  #: wall-clock time of the timed steps
    cpu_seconds: float  #: CPU time of this process over the same steps
    agent_steps_per_s: float  #: robots × steps / seconds
    cpu_agent_steps_per_s: float  #: robots × steps / cpu_seconds (less sensitive to load)
    deliveries: int


def bench_floor_params(robots: int, density: float = DENSITY) -> dict[str, int]:
    """Shelf-block counts of a square-ish generated warehouse with ≈ ``robots / density`` cells."""
    need = robots / density
    rows = cols = 1
    while _passable(rows, cols) < need:
        if cols * 9 <= rows * 3 * 2:  # keep the floor about twice as wide as high
            cols += 1
        else:
            rows += 1
    return {"shelf_rows": rows, "shelf_cols": cols}


def _passable(rows: int, cols: int) -> int:
    height = 1 + rows * 3  # aisle rows above, between and below the blocks
    width = 3 + 3 + cols * 9 - 1  # station zones on the west and east walls
    return height * width - rows * cols * 16


def make_bench_env(robots: int, *, steps: int = 10**7):
    """A :class:`~warehouse.env.WarehouseEnv` on a generated floor sized to the fleet."""
    import warehouse

    params = bench_floor_params(robots)
    layout: dict[str, Any] = {
        "layout.shelf_rows": params["shelf_rows"],
        "layout.shelf_cols": params["shelf_cols"],
        "layout.station_walls": ["west", "east"],
    }
    return warehouse.make_env(
        "small", robots=robots, steps=steps, arrival_rate=0.02 * robots, **layout
    )


def run_bench(robots: int, steps: int, api: str, *, seed: int = 0, warmup: int = 20) -> BenchResult:
    """Time ``steps`` steps of a fleet of ``robots`` through ``api`` ("array" or "pettingzoo")."""
    from agents import RuleBasedNavigator

    env = make_bench_env(robots)
    f = env.floor
    # Steady state: distance rows of every pick location and station are computed up front,
    # as a long run would have them cached anyway.
    goals = np.concatenate([f.stations, f.picks])
    cap = env.sim.dist.capacity
    # All rows when they fit in the cache's budget; otherwise half of it (the LRU does the rest).
    env.sim.dist.slots(goals if goals.size <= cap else goals[: cap // 2])
    nav = RuleBasedNavigator()
    nav.reset(seed)
    sim = env.sim
    if api == "array":
        obs, mask = env.reset_arrays(seed)
        for _ in range(warmup):  # numba compilation, distance rows of the first goals
            actions, prefs = nav.act(sim, obs, mask)
            obs, mask, _ = env.step_arrays(actions, prefs)
        start_deliveries = int(sim.state.deliveries.sum())
        t0, c0 = time.perf_counter(), time.process_time()
        for _ in range(steps):
            actions, prefs = nav.act(sim, obs, mask)
            obs, mask, _ = env.step_arrays(actions, prefs)
        dt, dc = time.perf_counter() - t0, time.process_time() - c0
    elif api == "pettingzoo":
        env.reset(seed=seed)
        agents = env.possible_agents

        def one_step() -> None:
            # The navigator reads the env's own mask; actions go in as a dict like any policy's.
            actions, _ = nav.act(sim, None, sim.action_mask())
            env.step(dict(zip(agents, actions.tolist(), strict=True)))

        for _ in range(warmup):
            one_step()
        start_deliveries = int(sim.state.deliveries.sum())
        t0, c0 = time.perf_counter(), time.process_time()
        for _ in range(steps):
            one_step()
        dt, dc = time.perf_counter() - t0, time.process_time() - c0
    else:
        raise ValueError(f"api must be 'array' or 'pettingzoo', not {api!r}")
    return BenchResult(
        robots=robots,
        api=api,
        nodes=env.floor.n_nodes,
        steps=steps,
        seconds=dt,
        cpu_seconds=dc,
        agent_steps_per_s=robots * steps / dt,
        cpu_agent_steps_per_s=robots * steps / max(dc, 1e-9),
        deliveries=int(sim.state.deliveries.sum()) - start_deliveries,
    )


@dataclass(frozen=True)
class PolicyBenchResult:
    scenario: str
    policy: str
    robots: int
    nodes: int
    steps: int
    seconds: float  #: wall-clock time of the timed steps
    cpu_seconds: float  #: CPU time of this process over the same steps
    ms_per_step: float  #: 1000 × seconds / steps
    cpu_ms_per_step: float  #: 1000 × cpu_seconds / steps
    agent_steps_per_s: float  #: robots × steps / seconds
    cpu_agent_steps_per_s: float  #: robots × steps / cpu_seconds
    deliveries: int


def run_policy_bench(
    exp: Any, policy: int, steps: int, *, seed: int = 0, warmup: int = 20
) -> PolicyBenchResult:
    """Time ``steps`` fleet steps of ``exp.policies[policy]`` on ``exp``'s scenario and floor
    (a :class:`warehouse.runner.Experiment` from :func:`warehouse.runner.prepare`) after
    ``warmup`` untimed steps (numba compilation, the first distance rows)."""
    from .model import WarehouseModel
    from .policies import pibt_note_told
    from .threads import torch_threads

    spec = exp.policies[policy]
    with pibt_note_told():  # (prepare put it in exp.notes)
        model = WarehouseModel(
            exp.scenario,
            source=exp.source,
            floor=exp.floor,
            seed=seed,
            policy=spec,
            steps=warmup + steps,
            per_robot=False,
            check_checkpoints=False,  # prepare checked them
        )
    fleet, sim = model.fleet, model.sim
    with torch_threads(1, only_if_loaded=True):  # as in runs (warehouse.threads)
        for _ in range(warmup):
            fleet.step()
        start_deliveries = int(sim.state.deliveries.sum())
        t0, c0 = time.perf_counter(), time.process_time()
        for _ in range(steps):
            fleet.step()
        dt, dc = time.perf_counter() - t0, time.process_time() - c0
    robots = sim.n_robots
    return PolicyBenchResult(
        scenario=str(exp.scenario.name),
        policy=spec.name,
        robots=robots,
        nodes=exp.floor.n_nodes,
        steps=steps,
        seconds=dt,
        cpu_seconds=dc,
        ms_per_step=1e3 * dt / steps,
        cpu_ms_per_step=1e3 * dc / steps,
        agent_steps_per_s=robots * steps / dt,
        cpu_agent_steps_per_s=robots * steps / max(dc, 1e-9),
        deliveries=int(sim.state.deliveries.sum()) - start_deliveries,
    )


def machine_info() -> dict[str, str]:
    """Versions and CPU of this machine, recorded with every benchmark."""
    import os
    from importlib.metadata import PackageNotFoundError, version

    import numba

    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as fh:
            for line in fh:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    try:  # (read from the installed package: importing torch here would cost seconds)
        torch = version("torch")
    except PackageNotFoundError:
        torch = "not installed"
    return {
        "cpu": cpu,
        "cores": str(os.cpu_count()),
        "python": platform.python_version(),
        "numpy": np.__version__,
        "numba": numba.__version__,
        "torch": torch,
        "platform": platform.platform(),
        "load_average_1min": f"{load:.2f}",
    }


def as_dict(result: BenchResult | PolicyBenchResult) -> dict:
    return asdict(result)


__all__ = [
    "BenchResult",
    "PolicyBenchResult",
    "as_dict",
    "bench_floor_params",
    "machine_info",
    "make_bench_env",
    "run_bench",
    "run_policy_bench",
]
