"""Audit of what each KPI means: every KPI the report prints, computed by hand on tiny hand-built
scenes and compared with the tool's value, at the step boundaries, with few samples, at time 0
and where the README's definitions have fine print (collision counting, percentiles, units,
the battery's energy and stuck robots)."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
from sim_helpers import place, wait

from warehouse.config import BatteryConfig, FleetConfig, PhysicsConfig, SimConfig, TasksConfig
from warehouse.core import Phase, Simulation
from warehouse.core.state import Charge
from warehouse.floor import NodeKind, compile_floor, graph_from_grid
from warehouse.kpis import KPI_NAMES, compute_kpis

WAIT, N, E, S, W = range(5)
A, P, T, X = NodeKind.AISLE, NodeKind.PICK, NodeKind.STATION, NodeKind.BLOCKED
README = Path(__file__).resolve().parents[1] / "README.md"


def grid_sim(rows: list[list[int]], robots: int, **physics: object) -> Simulation:
    """A floor from NodeKind rows; no order arrives by itself; pick and drop take one step."""
    cfg = SimConfig(
        fleet=FleetConfig(robots=robots),
        tasks=TasksConfig(arrival_rate=0.0, pick_time=1, drop_time=1),
        physics=PhysicsConfig(**physics),  # type: ignore[arg-type]
    )
    sim = Simulation(compile_floor(graph_from_grid(np.array(rows, np.int8))), cfg)
    sim.reset(seed=0)
    return sim


def readme_kpi_row(name: str) -> str:
    """The README's KPI table row whose first cell names ``name``."""
    rows = [
        line for line in README.read_text(encoding="utf-8").splitlines() if line.startswith("| `")
    ]
    return next(line for line in rows if f"`{name}`" in line.split(" | ")[0])


# ---------------------------------------------------------------------- collisions
#: 3×3 open floor; the pick location and the station sit on the bottom row
OPEN = [[A, A, A], [A, A, A], [T, A, P]]


def _conflict_scenes(mode: str) -> tuple[Simulation, list]:
    """Two steps of three robots: a swap over one edge that a third robot also drives into, then
    three robots entering one free cell from three sides."""
    sim = grid_sim(OPEN, 3, collisions=mode, cell_size=2.0)
    results = []
    place(sim, (0, 0), (0, 1), (1, 1))
    results.append(sim.step(np.array([E, W, N])))  # 0 ↔ 1 swap; 2 drives into (0, 1)
    place(sim, (0, 1), (1, 0), (1, 2))
    results.append(sim.step(np.array([S, E, W])))  # all three into (1, 1)
    return sim, results


def test_collisions_count_one_incident_per_swapping_pair_and_per_clashing_node() -> None:
    """README: ``collisions`` = vertex-conflict nodes + swapping pairs. The swap is one incident
    (not one per robot); the third robot's clash with the robot that stayed on (0, 1) is a second
    one; three robots entering one cell are one. The per-robot counter (robots.csv) counts every
    failed move, so it sums to more."""
    sim, (swap, three) = _conflict_scenes("physical")
    assert swap.incidents == 2 and swap.collided.tolist() == [True, True, True]
    assert three.incidents == 1 and three.collided.tolist() == [True, True, True]
    k = compute_kpis(sim)
    assert k["collisions"] == 3
    assert k["collisions_per_1k_robot_steps"] == pytest.approx(1000 * 3 / (3 * 2))
    assert sim.state.collisions.tolist() == [2, 2, 2]  # robots.csv: 6, not the KPI's 3
    assert k["distance_m"] == 0.0 and k["shield_interventions"] == 0  # nobody moved
    assert k["energy_kwh"] == pytest.approx(3 * 2 * 1.0 * 60.0 / 3600 / 1000)  # idle load only


def test_the_block_shield_turns_the_same_conflicts_into_counted_interventions() -> None:
    """``block``: no collision; ``shield_interventions`` counts the robot-steps whose action the
    shield changed: both swapping robots and the one behind them, then the two robots that lose
    the cell to the lowest id. The winner's one move of 2 m is the distance."""
    sim, (swap, three) = _conflict_scenes("block")
    assert swap.intervened.tolist() == [True, True, True]
    assert three.intervened.tolist() == [False, True, True]
    k = compute_kpis(sim)
    assert k["collisions"] == 0 and k["collisions_per_1k_robot_steps"] == 0.0
    assert k["shield_interventions"] == 5 and sim.state.interventions.tolist() == [1, 2, 2]
    assert k["distance_m"] == 2.0  # cell_size 2 m, one move
    assert k["energy_kwh"] == pytest.approx((2.0 * 0.08 + 3 * 2 * 60.0 / 3600) / 1000)


# ---------------------------------------------------------------------- orders, cycle times
#: station, four aisle cells, pick location: 5 steps each way
CORRIDOR = [[T, A, A, A, A, P]]
LEG = [E] * 5 + [WAIT] + [W] * 5 + [WAIT]  # out, pick, back, drop: 12 steps


def test_cycle_times_run_from_arrival_and_percentiles_interpolate_linearly() -> None:
    """One robot serves three orders, arriving at steps 0, 2 and 5, one after another: each
    is delivered by the step that ends its drop (12, 24, 36). Cycle times are arrival →
    delivery, not assignment → delivery: 12, 22 and 31 steps of 2 s. The percentiles
    interpolate linearly between ranks (numpy's default, as the README says): p95 of three is
    44 + 0.9 × (62 − 44) = 60.2 s, not the nearest rank's 62 s."""
    sim = grid_sim(CORRIDOR, 1, step_seconds=2.0)
    f = sim.floor
    place(sim, (0, 0))
    pick, station = f.cell_of[0, 5], f.cell_of[0, 0]

    def order() -> np.ndarray:
        return sim.orders.add(np.array([pick], np.int32), np.array([station], np.int32), sim.t)

    orders = {0: order()}
    sim.assign(np.array([0]), orders[0])
    delivered_at = []
    for _ in range(3):
        for action in LEG:
            if sim.t in (2, 5):
                orders[sim.t] = order()
            before = compute_kpis(sim)["deliveries"]
            sim.step(np.array([action]))
            if compute_kpis(sim)["deliveries"] > before:
                delivered_at.append(sim.t)
        k = compute_kpis(sim)
        if sim.t == 12:
            # the order of step 2 waits for a robot: 10 steps of 2 s (the one of step 5: 7)
            assert k["oldest_open_order_s"] == 20.0
            assert (k["cycle_time_p50"], k["cycle_time_p95"]) == (24.0, 24.0)  # one sample
        if sim.t == 24:  # two samples, 24 s and 44 s
            assert k["cycle_time_p50"] == pytest.approx(34.0)
            assert k["cycle_time_p95"] == pytest.approx(24.0 + 0.95 * 20.0)
        if sim.t < 36:
            sim.assign(np.array([0]), orders[2 if sim.t == 12 else 5])
    assert delivered_at == [12, 24, 36]
    k = compute_kpis(sim)
    cycles = [12 * 2.0, 22 * 2.0, 31 * 2.0]
    assert k["cycle_time_p50"] == pytest.approx(cycles[1])
    assert k["cycle_time_p95"] == pytest.approx(cycles[1] + 0.9 * (cycles[2] - cycles[1]))
    assert k["cycle_time_p95"] == pytest.approx(60.2)
    assert k["deliveries"] == 3 and k["throughput_per_step"] == pytest.approx(3 / 36)
    assert k["throughput_per_hour"] == pytest.approx(3 * 3600 / 72.0)  # 150 an hour
    assert k["oldest_open_order_s"] == 0.0 and k["orders_arrived"] == 3
    # every step had a task; 15 driving empty, 15 loaded, 3 picking + 3 dropping
    assert k["utilization"] == pytest.approx(1.0)
    shares = (k["empty_travel_share"], k["loaded_travel_share"], k["handling_share"])
    assert shares == pytest.approx((15 / 36, 15 / 36, 6 / 36))
    assert k["distance_m"] == 30.0
    assert k["energy_kwh"] == pytest.approx((30 * 0.08 + 72 * 60.0 / 3600) / 1000)
    for name in ("cycle_time_p50", "cycle_time_p95"):  # the fine print is in the docs
        assert "linear" in readme_kpi_row(name)
    import warehouse.kpis

    assert "interpolat" in (warehouse.kpis.__doc__ or "")


def test_goal_visit_counts_a_reached_goal_in_the_step_that_reaches_it() -> None:
    """goal_visit: a delivery is a reached goal, counted in the step the robot arrives; the
    robot always has a goal (utilization 1), and the order KPIs are undefined."""
    cfg = SimConfig(fleet=FleetConfig(robots=1), tasks=TasksConfig(mode="goal_visit"))
    sim = Simulation(compile_floor(graph_from_grid(np.array(CORRIDOR, np.int8))), cfg)
    sim.reset(seed=0)
    place(sim, (0, 2))
    sim.state.task_goal[0] = sim.floor.cell_of[0, 3]
    sim.state_changed()
    wait(sim)  # a step begun driving, without a move: blocked
    assert compute_kpis(sim)["deliveries"] == 0
    sim.step(np.array([E]))
    k = compute_kpis(sim)
    assert k["deliveries"] == 1 and k["throughput_per_step"] == 0.5
    assert k["utilization"] == 1.0 and k["blocked_share"] == 0.5
    assert sim.state.phase[0] == Phase.TO_GOAL  # a new goal at once
    for name in ("cycle_time_p50", "cycle_time_p95", "empty_travel_share", "loaded_travel_share",
                 "handling_share", "oldest_open_order_s"):  # fmt: skip
        assert k[name] is None, name


# ---------------------------------------------------------------------- time 0
def test_kpis_before_the_first_step_are_defined_and_agree_with_the_recording(
    tmp_path: Path,
) -> None:
    """At time 0 (nothing simulated yet) every rate and share is 0, not NaN or a division
    error; cycle times are undefined (``None``), and the KPIs rebuilt from frame 0 of the
    recording are the same values."""
    from warehouse.model import WarehouseModel
    from warehouse.recording import kpis_from_recording, load_recording

    model = WarehouseModel("tiny", seed=0, steps=3, recorder=True, per_robot=False)
    k0 = compute_kpis(model.sim)
    model.run()
    path = model.recorder.save(tmp_path / "run.npz")
    assert kpis_from_recording(load_recording(path), 0) == k0
    json.dumps(k0, allow_nan=False)
    zeros = ("deliveries", "throughput_per_hour", "throughput_per_step", "collisions",
             "collisions_per_1k_robot_steps", "utilization", "empty_travel_share",
             "blocked_share", "breakdown_share", "stuck_robot_share", "distance_m",
             "energy_kwh", "oldest_open_order_s", "steps")  # fmt: skip
    for name in zeros:
        assert k0[name] == 0 and not isinstance(k0[name], bool), name
    assert k0["cycle_time_p50"] is None and k0["charging_share"] is None
    assert set(k0) == set(KPI_NAMES)


# ---------------------------------------------------------------------- battery
#: a station and a pick location above a free row; chargers on the free row
BATTERY_FLOOR = [[T, A, A, A, A, P], [A, A, A, A, A, A]]


def battery_sim(stuck_after: int = 30, **battery: object) -> Simulation:
    """One robot; 0.5 Wh per metre and 0.5 Wh per step of idle load (1800 W, 1 s steps)."""
    cfg = SimConfig(
        fleet=FleetConfig(robots=1),
        tasks=TasksConfig(arrival_rate=0.0),
        physics=PhysicsConfig(
            energy_wh_per_metre=0.5, idle_power_w=1800.0, stuck_after=stuck_after
        ),
        battery=BatteryConfig(**{"charge_w": 5400.0, "chargers": [[1, 5]], **battery}),  # type: ignore[arg-type]
    )
    sim = Simulation(compile_floor(graph_from_grid(np.array(BATTERY_FLOOR, np.int8))), cfg)
    sim.reset(seed=0)
    return sim


def test_a_flat_robot_draws_nothing_but_energy_kwh_counts_its_idle_load() -> None:
    """2 Wh at 0.5 Wh a step: flat after step 4 (one depletion, min_soc 0), stopped through
    steps 5..7, its battery swapped at the end of step 7 (rescue_s 3), then 3 steps of drain.
    ``energy_kwh`` is the README's formula (robots × time × idle power: 10 × 0.5 Wh); the
    charge the robot lost (2 − 0.5 Wh, nothing from chargers) is not, which the README's
    battery section must not claim once a robot runs flat."""
    sim = battery_sim(capacity_wh=2.0, recharge_below=0.0, rescue_s=3.0)
    place(sim, (1, 2))
    socs = []
    for _ in range(10):
        wait(sim)
        socs.append(float(sim.state.soc_wh[0]))
    assert socs == [1.5, 1.0, 0.5, 0.0, 0.0, 0.0, 2.0, 1.5, 1.0, 0.5]
    k = compute_kpis(sim)
    assert (k["battery_depletions"], k["min_soc"], k["charging_share"]) == (1, 0.0, 0.0)
    assert k["energy_kwh"] * 1000 == pytest.approx(10 * 0.5)
    lost_and_charged = 2.0 - sim.state.soc_wh[0] + sim.state.charged_wh[0]
    assert lost_and_charged == pytest.approx(1.5)
    text = " ".join(README.read_text(encoding="utf-8").split())
    claim = "so `energy_kwh` equals the charge lost plus what the chargers gave"
    assert claim in text and "until a robot runs flat" in text.split(claim)[1][:200]


def test_a_robot_stalled_on_its_way_to_a_charger_counts_as_stuck() -> None:
    """A robot with no task sent to a charger (the battery model) counts its steps without
    getting closer as a robot with a task does, so it is in ``stuck_robots`` and
    ``charging_share`` alike; the README's definition says so."""
    sim = battery_sim(stuck_after=5, capacity_wh=100.0, initial_soc=0.4, recharge_below=0.5)
    place(sim, (1, 1))
    for _ in range(8):
        wait(sim)
    s = sim.state
    assert s.phase[0] == Phase.IDLE and s.charge[0] == Charge.TO_CHARGER
    k = compute_kpis(sim)
    assert k["stuck_robots"] == 1 and k["utilization"] == 0.0
    assert k["charging_share"] == pytest.approx(7 / 8)  # steps 2..8 begun driving to it
    assert k["min_soc"] == pytest.approx((40.0 - 8 * 0.5) / 100.0)
    assert "charger" in readme_kpi_row("stuck_robots")


def test_stuck_counts_only_the_steps_begun_with_the_target() -> None:
    """A robot given an order before step 1 that then waits is stuck after ``stuck_after``
    steps; one sent to a charger as step 1 ends begins driving to it with step 2, so it should
    be stuck one step later."""
    after = 5
    sim = grid_sim(CORRIDOR, 1, stuck_after=after)
    place(sim, (0, 0))
    f = sim.floor
    ids = sim.orders.add(
        np.array([f.cell_of[0, 5]], np.int32), np.array([f.cell_of[0, 0]], np.int32), 0
    )
    sim.assign(np.array([0]), ids)
    for _ in range(after):
        wait(sim)
    assert compute_kpis(sim)["stuck_robots"] == 1  # five steps begun with the task

    sim = battery_sim(stuck_after=after, capacity_wh=100.0, initial_soc=0.4, recharge_below=0.5)
    place(sim, (1, 1))
    wait(sim)  # step 1: begun with nothing to do, ends with a charger to drive to
    assert sim.state.charge[0] == Charge.TO_CHARGER
    for _ in range(after - 1):
        wait(sim)
    assert compute_kpis(sim)["stuck_robots"] == 0  # only four steps begun driving to it
    wait(sim)
    assert compute_kpis(sim)["stuck_robots"] == 1
    assert math.isfinite(compute_kpis(sim)["stuck_robot_share"])


#: a ring: the short way from (0, 0) to the pick at (0, 4) runs along row 0, the long one round
RING = [[A, A, A, A, P], [A, X, X, X, A], [A, A, A, A, T]]


def test_stuck_counts_from_the_step_after_a_closure_reroutes_the_robot() -> None:
    """A scheduled closure that begins as step 1 ends lengthens the robot's way to its pick (the
    simulation restarts its progress): like the charger above, the step it was rerouted in does
    not count, and a robot that then waits is stuck ``stuck_after`` steps later, not one before."""
    from warehouse.config import ClosureConfig, FaultsConfig

    after = 4
    cfg = SimConfig(
        fleet=FleetConfig(robots=1),
        tasks=TasksConfig(arrival_rate=0.0, pick_time=1, drop_time=1),
        physics=PhysicsConfig(stuck_after=after),
        faults=FaultsConfig(closures=(ClosureConfig(cells=((0, 2),), start_s=1, end_s=500),)),
    )
    sim = Simulation(compile_floor(graph_from_grid(np.array(RING, np.int8))), cfg)
    sim.reset(seed=0)
    place(sim, (0, 0))
    f = sim.floor
    ids = sim.orders.add(
        np.array([f.cell_of[0, 4]], np.int32), np.array([f.cell_of[2, 4]], np.int32), 0
    )
    sim.assign(np.array([0]), ids)
    before = int(sim.dist.lookup(f.cell_of[0, 4], f.cell_of[0, 0]))
    wait(sim)  # step 1: the closure begins as it ends
    assert int(sim.dist.lookup(f.cell_of[0, 4], f.cell_of[0, 0])) > before  # rerouted
    assert sim.state.since_progress[0] == 0
    for _ in range(after - 1):
        wait(sim)
    assert compute_kpis(sim)["stuck_robots"] == 0  # three steps begun on the new route
    wait(sim)
    assert compute_kpis(sim)["stuck_robots"] == 1
