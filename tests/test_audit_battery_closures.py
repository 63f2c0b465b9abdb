"""Audit of the battery model and scheduled closures (warehouse/core/battery.py, closures.py,
closure_entries.py, closure_report.py): hand-counted energy, the charger queue, dispatch
around charging, closures of chargers, picks and stations, and times out of range."""

from __future__ import annotations

import numpy as np
import pytest
from cli_helpers import TINY_LAYOUT, run_cli
from sim_helpers import place, wait

from hierarchy import make_dispatcher
from warehouse.config import (
    BatteryConfig,
    FaultsConfig,
    FleetConfig,
    PhysicsConfig,
    SimConfig,
    TasksConfig,
)
from warehouse.core import Phase, Simulation
from warehouse.core.state import Charge
from warehouse.floor import NodeKind, compile_floor, graph_from_grid

WAIT, NORTH, EAST, SOUTH, WEST = 0, 1, 2, 3, 4
A, P, S = NodeKind.AISLE, NodeKind.PICK, NodeKind.STATION
#: a station and two pick locations above a free row
FLOOR = np.array([[S, A, P, A, A, P], [A, A, A, A, A, A]], np.int8)


def scene(
    closures: list[dict] | None = None,
    robots: int = 1,
    physics: dict | None = None,
    **battery,
) -> Simulation:
    """0.5 Wh per metre and per second idle (1800 W), 1.5 Wh per second charging (5400 W)."""
    cfg = SimConfig(
        fleet=FleetConfig(robots=robots),
        tasks=TasksConfig(arrival_rate=0.0),
        physics=PhysicsConfig(
            **{"energy_wh_per_metre": 0.5, "idle_power_w": 1800.0, **(physics or {})}
        ),
        battery=BatteryConfig(**{"capacity_wh": 10.0, "charge_w": 5400.0, **battery}),
        faults=FaultsConfig.model_validate({"closures": closures or []}),
    )
    sim = Simulation(compile_floor(graph_from_grid(FLOOR)), cfg)
    sim.reset(seed=0)
    return sim


def add_order(sim: Simulation, pick: tuple[int, int]) -> None:
    f = sim.floor
    sim.orders.add(np.array([f.cell_of[pick]]), np.array([f.cell_of[0, 0]]), sim.t)


# ------------------------------------------------------------------ must charge: no order


def test_a_low_robot_whose_order_a_closure_hands_back_queues_and_gets_no_new_order():
    # 5.5 Wh, threshold 5 Wh: it takes the order above the threshold and is at 4.5 Wh when the
    # closure of its pick location at 2 s hands the order back
    sim = scene(
        [{"cells": [[0, 5]], "start_s": 2, "end_s": 30}],
        initial_soc=0.55,
        recharge_below=0.5,
        chargers=[[1, 0]],
    )
    place(sim, (1, 3))
    add_order(sim, (0, 5))
    add_order(sim, (0, 2))  # an open pick location: the order a dispatcher could give it
    sim.assign(np.array([0]), np.array([0]))
    s = sim.state
    wait(sim)
    wait(sim)
    assert s.phase[0] == Phase.IDLE and s.soc_wh[0] == 4.5  # handed back, below 5 Wh
    # idle, below recharge_below as the step ends: it must charge, so it is not dispatchable
    assert s.charge[0] != Charge.NONE
    assert sim.idle_robots().size == 0
    dispatcher = make_dispatcher("greedy")
    dispatcher.reset(0)
    dispatcher.dispatch(sim)
    assert s.order[0] == -1


def test_a_low_robot_repaired_at_the_end_of_a_step_queues_and_gets_no_order():
    sim = scene(initial_soc=0.6, recharge_below=0.5, chargers=[[1, 0]])
    place(sim, (1, 3))
    add_order(sim, (0, 2))
    s = sim.state
    s.broken[0] = 3  # broken down while idle above the threshold
    for _ in range(3):
        wait(sim)
    # repaired as the third step ends, at 4.5 Wh (below 5 Wh)
    assert s.broken[0] == 0 and s.soc_wh[0] == 4.5
    assert s.charge[0] != Charge.NONE
    assert sim.idle_robots().size == 0


# ------------------------------------------------------------------ times out of range


def test_a_closure_that_ends_beyond_any_clock_stays_closed_without_crashing():
    for end in (1e20, 1e300):
        sim = scene([{"cells": [[1, 2]], "start_s": 1, "end_s": end}], chargers=[[1, 5]])
        place(sim, (1, 0))
        for _ in range(3):
            sim.step(np.array([EAST]))
        # it closed at 1 s: the robot stops in front of it and it stays closed
        assert sim.state.pos[0] == sim.floor.cell_of[1, 1]
        assert sim.floor.cell_of[1, 2] in sim.closed_nodes()


def test_a_rescue_beyond_any_clock_leaves_the_depleted_robot_stopped_without_crashing():
    for rescue in (1e20, 1e300):
        sim = scene(capacity_wh=1.0, recharge_below=0.0, chargers=[[1, 0]], rescue_s=rescue)
        place(sim, (1, 2))
        for _ in range(5):
            sim.step(np.array([EAST]))
        assert sim.state.charge[0] == Charge.DEPLETED and sim.state.depletions[0] == 1


# ------------------------------------------------------------------ task swaps


@pytest.mark.parametrize("rescue_s", [600.0, None])
def test_task_swaps_take_the_order_of_a_depleted_robot_over(rescue_s):
    from hierarchy.swaps import best_exchange

    sim = scene(robots=2, recharge_below=0.0, chargers=[[1, 0]], rescue_s=rescue_s)
    place(sim, (1, 4), (1, 1))
    add_order(sim, (0, 5))
    sim.assign(np.array([0]), np.array([0]))
    sim.state.soc_wh[0] = 0.5
    wait(sim)  # robot 0 runs flat 2 steps from the pick; idle robot 1 is 5 steps from it
    assert sim.state.charge[0] == Charge.DEPLETED and sim.state.order[0] == 0
    robots, orders = best_exchange(sim)
    # robot 0 stands until its rescue (600 s, or never): robot 1 fetches the order sooner
    np.testing.assert_array_equal(robots, [1])
    np.testing.assert_array_equal(orders, [0])


# ------------------------------------------------------------------ the closure report


@pytest.mark.parametrize("redirect", [False, True])
def test_validate_says_whether_a_closed_stations_orders_wait(redirect, tmp_path, capsys):
    # the station (1, 0) and the pick location (0, 3) closed; with faults.redirect_loaded the
    # station's orders are not held (Simulation.station_held_until): loaded robots deliver them
    # at the other station
    path = tmp_path / "s.yaml"
    path.write_text(
        f"{TINY_LAYOUT}fleet: {{robots: 2}}\nfaults:\n  redirect_loaded: {str(redirect).lower()}\n"
        "  closures: [{cells: [[1, 0], [0, 3]], start_s: 5, end_s: 50}]\n"
    )
    code, out, _ = run_cli(["validate", str(path)], capsys)
    assert code == 0
    (line,) = [x for x in out.splitlines() if x.startswith("closure:")]
    head = (
        "closure: faults.closures[0]: 2 cells closed from 5 s to 50 s (steps 5..49): (0, 3), "
        "(1, 0); 1 pick location and 1 station among them "
    )
    if redirect:
        assert line == head + (
            "(orders for the pick location wait, those for the station are delivered at an "
            "open one: faults.redirect_loaded)"
        )
    else:
        assert line == head + "(their orders wait)"


# ------------------------------------------------------------------ one-way floors


def test_on_a_one_way_aisle_a_full_robot_steps_off_forward_not_round_the_block():
    from scenarios import apply_overrides, build_floor, load_scenario

    sc, src = load_scenario("one_way_aisles")
    sc = apply_overrides(
        sc,
        {
            "fleet.robots": 1,
            "tasks.arrival_rate": 0.0,
            "battery.capacity_wh": 10.0,
            "battery.charge_w": 36000.0,  # 10 Wh a step
            "battery.initial_soc": 0.1,
            "battery.chargers": [[5, 11]],  # in a one-way aisle
        },
        src,
    )
    sim = Simulation(build_floor(sc, src), sc.sim_config())
    sim.reset(seed=0)
    charger = sim.battery.chargers[0]
    place(sim, (5, 11))
    s = sim.state
    wait(sim)  # below recharge_below on a free charger: it takes it at once
    assert s.charge[0] == Charge.CHARGING
    wait(sim)  # full: it steps off
    assert s.charge[0] == Charge.NONE and s.waypoint[0] >= 0
    # the cell it steps off to is one move away along the aisle's direction (the cell behind
    # it is one move away only against it: round the block)
    assert sim.dist.lookup(s.waypoint[:1], np.array([charger]))[0] == 1
