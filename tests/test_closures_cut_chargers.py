"""Closure follow-ups: a charger that closed edges cut off from the rest of the floor is
treated as a closed one (not handed out, its robots released, handed out again when the edge
reopens), and idle robots whose waypoint a closure that begins later closes or cuts off drop it
at the closure event (then park elsewhere, or wait where they stand)."""

from __future__ import annotations

import numpy as np
from sim_helpers import place

from agents import make_navigator
from hierarchy import make_dispatcher
from hierarchy.parking import IdleParking
from warehouse.config import (
    BatteryConfig,
    FaultsConfig,
    FleetConfig,
    PhysicsConfig,
    SimConfig,
    TasksConfig,
)
from warehouse.core import Simulation
from warehouse.core.state import Charge
from warehouse.fleet import Fleet
from warehouse.floor import NodeKind, compile_floor, graph_from_grid

WAIT = 0
A, P, S, X, K = NodeKind.AISLE, NodeKind.PICK, NodeKind.STATION, NodeKind.BLOCKED, NodeKind.PARKING
#: (1, 6) is a dead end: closing the edge (1, 5)–(1, 6) cuts it off from the rest
FLOOR = np.array([[S, A, A, A, A, P, X], [A, A, A, A, A, A, A]], np.int8)
CUT = {"edges": [[[1, 5], [1, 6]]]}


def scene(
    closures: list[dict], robots: int = 1, floor: np.ndarray = FLOOR, **battery
) -> Simulation:
    """0.5 Wh per step idle (1800 W at 1 s) and per metre, +1 Wh per step net charging."""
    extra = {} if not battery else {"battery": BatteryConfig(**{"charge_w": 5400.0, **battery})}
    cfg = SimConfig(
        fleet=FleetConfig(robots=robots),
        tasks=TasksConfig(arrival_rate=0.0),
        physics=PhysicsConfig(energy_wh_per_metre=0.5, idle_power_w=1800.0),
        faults=FaultsConfig.model_validate({"closures": closures}),
        **extra,
    )
    sim = Simulation(compile_floor(graph_from_grid(floor)), cfg)
    sim.reset(seed=0)
    return sim


def wait(sim: Simulation, steps: int = 1) -> None:
    for _ in range(steps):
        sim.step(np.full(sim.n_robots, WAIT))


def low_battery(closures: list[dict], robots: int = 1) -> Simulation:
    return scene(
        closures, robots, capacity_wh=100.0, initial_soc=0.1, recharge_below=0.3,
        chargers=[[1, 6], [1, 0]],
    )  # fmt: skip


def test_a_cut_off_charger_is_not_handed_out_until_the_edge_reopens():
    sim = low_battery([{**CUT, "start_s": 0, "end_s": 4}])
    place(sim, (1, 4))  # (1, 6) is nearer, but cut off from 0 s to 4 s
    s, f = sim.state, sim.floor
    assert sim.shut_in is not None and sim.shut_in[f.cell_of[1, 6]]
    wait(sim)
    assert s.charge[0] == Charge.TO_CHARGER and s.waypoint[0] == f.cell_of[1, 0]


def test_a_robot_driving_to_a_charger_that_is_cut_off_is_sent_to_an_open_one():
    sim = low_battery([{**CUT, "start_s": 2, "end_s": 6}])
    place(sim, (1, 4))
    s, f = sim.state, sim.floor
    wait(sim)  # queued and given the nearer charger
    assert s.charge[0] == Charge.TO_CHARGER and s.waypoint[0] == f.cell_of[1, 6]
    wait(sim)  # clock 2: the edge closes; the open charger is given in the same step
    assert sim.battery is not None and sim.battery.claim[0] == f.cell_of[1, 0]
    assert s.charge[0] == Charge.TO_CHARGER and s.waypoint[0] == f.cell_of[1, 0]


def test_a_robot_charging_on_a_charger_that_is_cut_off_is_released_and_takes_it_back_after():
    """Robot 0 charges on the dead-end charger when the edge closes: it stops charging (queued
    again in its old place), the charger is not given to robot 1, queued outside, nor back to
    robot 0, shut in (it waits); the step the edge reopens it charges there again."""
    sim = low_battery([{**CUT, "start_s": 3, "end_s": 7}], robots=2)
    place(sim, (1, 6), (1, 1))
    s, f, b = sim.state, sim.floor, sim.battery
    assert b is not None
    wait(sim)
    assert s.charge[0] == Charge.CHARGING and b.claim[0] == f.cell_of[1, 6]
    assert b.claim[1] == f.cell_of[1, 0]
    wait(sim, 2)  # clock 3: the edge closes
    assert s.charge[0] == Charge.QUEUED and b.claim[0] == -1 and b.queued_at[0] == 1
    before = s.soc_wh[0]
    for _ in range(3):  # clocks 4..6: nobody is given the cut-off charger
        wait(sim)
        assert s.charge[0] == Charge.QUEUED and b.claim[0] == -1
        assert not (b.claim == f.cell_of[1, 6]).any()
    assert s.soc_wh[0] < before  # it did not charge
    wait(sim)  # clock 7: the edge reopens; robot 0 stands on the charger and takes it
    assert s.charge[0] == Charge.CHARGING and b.claim[0] == f.cell_of[1, 6]


def test_without_the_cut_the_same_robot_keeps_charging():
    sim = low_battery([], robots=2)
    place(sim, (1, 6), (1, 1))
    wait(sim, 7)
    assert sim.state.charge[0] == Charge.CHARGING


def test_an_idle_robots_waypoint_that_a_later_closure_closes_is_dropped_at_its_start():
    for closure, cell in (({"cells": [[1, 5]]}, (1, 5)), (CUT, (1, 6))):
        sim = scene([{**closure, "start_s": 2, "end_s": 8}])
        place(sim, (1, 1))
        s, f = sim.state, sim.floor
        sim.set_waypoints(np.array([0]), np.array([f.cell_of[cell]]))
        wait(sim)
        assert s.waypoint[0] == f.cell_of[cell]  # not yet closed: kept
        wait(sim)  # clock 2: it closes (or is cut off): the robot stops heading there
        assert s.waypoint[0] == -1
    plain = scene([])  # no closure: kept
    place(plain, (1, 1))
    plain.set_waypoints(np.array([0]), np.array([plain.floor.cell_of[1, 5]]))
    wait(plain, 3)
    assert plain.state.waypoint[0] == plain.floor.cell_of[1, 5]


def test_a_waypoint_inside_the_robots_own_cut_off_part_is_kept():
    floor = np.array([[S, A, A, A, A, P, X, X], [A] * 8], np.int8)
    sim = scene([{**CUT, "start_s": 1}], floor=floor)
    place(sim, (1, 6))  # (1, 6) and (1, 7) lie beyond the closed edge, with the robot
    f = sim.floor
    sim.set_waypoints(np.array([0]), np.array([f.cell_of[1, 7]]))
    wait(sim, 2)
    assert sim.shut_in is not None and sim.shut_in[f.cell_of[1, 7]]
    assert sim.state.waypoint[0] == f.cell_of[1, 7]


def test_a_robot_bound_for_a_parking_spot_a_later_closure_takes_parks_at_an_open_one():
    """Parking sends the robot to the nearest spot, (2, 0); a closure begins at clock 2 that
    closes it, or cuts it off (its only edge): the robot leaves it for the other spot and never
    enters it."""
    floor = np.array([[S, A, A, A, A, A, P], [A] * 7, [K, X, X, X, X, X, K]], np.int8)
    for closure in ({"cells": [[2, 0]]}, {"edges": [[[1, 0], [2, 0]]]}):
        sim = scene([{**closure, "start_s": 2, "end_s": 30}], floor=floor)
        place(sim, (1, 2))
        s, f = sim.state, sim.floor
        parking = IdleParking(make_dispatcher("greedy"), 0.0)
        fleet = Fleet(sim, parking, make_navigator("rule_based"))
        fleet.step()
        assert s.waypoint[0] == f.cell_of[2, 0] and s.pos[0] == f.cell_of[1, 1]
        fleet.step()  # clock 2: the spot closes
        assert s.waypoint[0] in (-1, f.cell_of[2, 6])
        for _ in range(12):
            fleet.step()
            assert s.pos[0] != f.cell_of[2, 0]
        assert s.pos[0] == f.cell_of[2, 6]


def test_a_robot_shut_in_and_inside_a_closure_is_sent_to_an_open_cell_of_its_own_part():
    """(1, 6) and (1, 7) lie beyond the closed edge; (1, 6) closes too: its robot goes to (1, 7),
    the one open cell it can reach; the robot at (1, 4), inside a closure outside, is sent to an
    open cell of the rest of the floor."""
    floor = np.array([[S, A, A, A, A, P, X, X], [A] * 8], np.int8)
    closures = [{**CUT, "cells": [[1, 6], [1, 4]], "start_s": 1}]
    sim = scene(closures, robots=2, floor=floor)
    place(sim, (1, 6), (1, 4))
    f, s = sim.floor, sim.state
    wait(sim)
    assert s.waypoint[0] == f.cell_of[1, 7]
    assert s.waypoint[1] >= 0 and not sim.dist.closed[s.waypoint[1]]
    assert sim.shut_in is not None and not sim.shut_in[s.waypoint[1]]


def test_validate_names_the_chargers_a_closure_closes_or_cuts_off():
    """``warehouse validate`` says which chargers a closure closes or its edges cut off."""
    from pathlib import Path

    from scenarios import describe

    docs = Path(__file__).resolve().parents[1] / "docs" / "results_battery"
    (cut,) = describe(docs / "small_battery_cut_chargers.yaml").closures
    assert cut.endswith("; its edges cut off 2 chargers (not given out meanwhile)")
    (closed,) = describe(docs / "small_battery_closed_chargers.yaml").closures
    assert closed.endswith("; 3 chargers among them (not given out meanwhile)")
