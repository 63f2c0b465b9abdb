"""The battery model under scheduled closures (``battery`` with ``faults.closures``): a closed
charger is not handed out and is again once it reopens, robots driving to or charging on a
charger that closes lose it (queued again, or available), queued robots inside a closure are
sent out, and a robot stepping off a full charger prefers a cell that is not a thoroughfare and
never steps into a closure."""

from __future__ import annotations

import numpy as np
from sim_helpers import place, wait

from agents import make_navigator
from hierarchy import make_dispatcher
from warehouse.config import (
    BatteryConfig,
    FaultsConfig,
    FleetConfig,
    PhysicsConfig,
    SimConfig,
    TasksConfig,
)
from warehouse.core import Simulation
from warehouse.core.closures import robots_to_evacuate
from warehouse.core.state import Charge
from warehouse.fleet import Fleet
from warehouse.floor import NodeKind, compile_floor, graph_from_grid

WAIT = 0
A, P, S, X = NodeKind.AISLE, NodeKind.PICK, NodeKind.STATION, NodeKind.BLOCKED
#: a station and a pick location above a free row
FLOOR = np.array([[S, A, A, A, A, P], [A, A, A, A, A, A]], np.int8)


def scene(
    closures: list[dict], robots: int = 1, floor: np.ndarray = FLOOR, **battery
) -> Simulation:
    """0.5 Wh per step idle (1800 W at 1 s) and per metre, 1.5 Wh per step charging."""
    cfg = SimConfig(
        fleet=FleetConfig(robots=robots),
        tasks=TasksConfig(arrival_rate=0.0),
        physics=PhysicsConfig(energy_wh_per_metre=0.5, idle_power_w=1800.0),
        battery=BatteryConfig(**{"capacity_wh": 10.0, "charge_w": 5400.0, **battery}),
        faults=FaultsConfig.model_validate({"closures": closures}),
    )
    sim = Simulation(compile_floor(graph_from_grid(floor)), cfg)
    sim.reset(seed=0)
    return sim


def test_a_closed_charger_is_not_handed_out_until_it_reopens():
    sim = scene(
        [{"cells": [[1, 5]], "start_s": 0, "end_s": 4}],
        initial_soc=0.4,
        recharge_below=0.9,
        chargers=[[1, 5]],
    )
    place(sim, (1, 4))  # beside the only charger, which is closed from 0 s to 4 s
    s, f = sim.state, sim.floor
    for _ in range(3):
        wait(sim)
        assert s.charge[0] == Charge.QUEUED and s.waypoint[0] == -1
    wait(sim)  # clock 4: it reopens, and the queue has it in the same step
    assert s.charge[0] == Charge.TO_CHARGER and s.waypoint[0] == f.cell_of[1, 5]


def test_a_reopened_charger_goes_to_the_first_in_the_queue():
    """Two robots queue while the only charger is closed; when it reopens, the one that
    queued first (tie: the lower id) is given it, the other keeps waiting."""
    sim = scene(
        [{"cells": [[1, 5]], "start_s": 0, "end_s": 3}],
        robots=2,
        initial_soc=0.4,
        recharge_below=0.9,
        chargers=[[1, 5]],
    )
    place(sim, (1, 0), (1, 4))
    s, f = sim.state, sim.floor
    for _ in range(2):
        wait(sim)
        assert list(s.charge) == [Charge.QUEUED, Charge.QUEUED]
    wait(sim)  # clock 3: it reopens
    assert list(s.charge) == [Charge.TO_CHARGER, Charge.QUEUED]
    assert s.waypoint[0] == f.cell_of[1, 5] and s.waypoint[1] == -1


def test_a_queued_robot_takes_the_open_charger_not_the_nearer_closed_one():
    sim = scene(
        [{"cells": [[1, 5]], "start_s": 0}],
        initial_soc=0.4,
        recharge_below=0.9,
        chargers=[[1, 0], [1, 5]],
    )
    place(sim, (1, 4))
    wait(sim)
    assert sim.state.charge[0] == Charge.TO_CHARGER
    assert sim.state.waypoint[0] == sim.floor.cell_of[1, 0]


def test_a_robot_driving_to_a_charger_that_closes_is_sent_to_an_open_one():
    sim = scene(
        [{"cells": [[1, 5]], "start_s": 2}],
        initial_soc=0.8,
        recharge_below=0.9,
        chargers=[[1, 0], [1, 5]],
    )
    place(sim, (1, 3))
    s, f = sim.state, sim.floor
    wait(sim)  # queued and given the nearer charger
    assert s.charge[0] == Charge.TO_CHARGER and s.waypoint[0] == f.cell_of[1, 5]
    wait(sim)  # clock 2: it closes; the robot is given the open one in the same step
    assert s.charge[0] == Charge.TO_CHARGER and s.waypoint[0] == f.cell_of[1, 0]
    assert sim.battery is not None and sim.battery.claim[0] == f.cell_of[1, 0]


def test_a_robot_charging_when_its_charger_closes_stops_and_leaves():
    """Below the threshold it queues again and goes to the open charger; above it, it is
    available and evacuated as an idle robot is. Neither enters the closed charger again."""
    for soc, queued in ((0.1, True), (0.5, False)):
        sim = scene(
            [{"cells": [[1, 5]], "start_s": 3}],
            capacity_wh=100.0,
            initial_soc=soc,
            recharge_below=0.3,
            opportunity_below=0.9,
            chargers=[[1, 0], [1, 5]],
        )
        place(sim, (1, 5))
        s, f = sim.state, sim.floor
        fleet = Fleet(sim, make_dispatcher("greedy"), make_navigator("rule_based"))
        fleet.step()
        assert s.charge[0] == Charge.CHARGING and s.pos[0] == f.cell_of[1, 5]
        fleet.step()
        fleet.step()  # clock 3: the closure begins
        # queued again in its old place (clock 1), or available and given the open charger
        # for opportunity charging (its place: now), in the same step
        assert sim.battery is not None and sim.battery.claim[0] == f.cell_of[1, 0]
        assert s.charge[0] == Charge.TO_CHARGER
        assert sim.battery.queued_at[0] == (1 if queued else 3)
        before = s.charged_wh[0]
        left, charged_at = False, []
        for _ in range(40):
            fleet.step()
            left |= s.pos[0] != f.cell_of[1, 5]
            assert not left or s.pos[0] != f.cell_of[1, 5]
            if s.charge[0] == Charge.CHARGING:
                charged_at.append(int(s.pos[0]))
        assert left
        if queued:  # it charged again, at the open charger only
            assert charged_at and set(charged_at) == {int(f.cell_of[1, 0])}
            assert s.charged_wh[0] > before
        assert s.depletions[0] == 0


def test_a_queued_robot_inside_a_closure_is_sent_out():
    """Robot 0 charges on the only charger; robot 1, queued behind it, stands where a closure
    begins: it is given a cell outside and drives there."""
    sim = scene(
        [{"area": {"from": [0, 3], "to": [1, 5]}, "start_s": 2}],
        robots=2,
        capacity_wh=100.0,
        initial_soc=0.2,
        recharge_below=0.5,
        chargers=[[1, 0]],
    )
    place(sim, (1, 0), (1, 4))
    s = sim.state
    fleet = Fleet(sim, make_dispatcher("greedy"), make_navigator("rule_based"))
    fleet.step()
    assert s.charge[0] == Charge.CHARGING and s.charge[1] == Charge.QUEUED
    assert s.waypoint[1] == -1
    fleet.step()  # clock 2: the closure begins around robot 1
    assert s.charge[1] == Charge.QUEUED
    assert s.waypoint[1] >= 0 and not sim.dist.closed[s.waypoint[1]]
    for _ in range(6):
        fleet.step()
    assert not sim.dist.closed[s.pos[1]] and s.charge[1] == Charge.QUEUED
    assert robots_to_evacuate(sim).size == 0


def test_a_queued_robot_gives_up_a_waiting_cell_that_closes():
    sim = scene(
        [{"cells": [[1, 4]], "start_s": 2}],
        robots=2,
        floor=np.array([[S, A, A, A, A, A, P], [A, A, A, A, A, A, A], [A] * 7], np.int8),
        capacity_wh=100.0,
        initial_soc=0.2,
        recharge_below=0.5,
        waiting_cells=True,
        chargers=[[0, 3]],
    )
    assert sim.battery is not None
    waits = sim.battery.waiting_cells(sim.dist)
    place(sim, (0, 3), (1, 4))
    s, f = sim.state, sim.floor
    assert f.cell_of[1, 4] in waits[0]
    wait(sim)  # robot 1 waits where it stands, a waiting cell
    assert sim.battery.wait_at[1] == f.cell_of[1, 4]
    wait(sim)  # clock 2: its cell closes, and it is given another, open one in the same step
    held = sim.battery.wait_at[1]
    assert held >= 0 and held != f.cell_of[1, 4] and not sim.dist.closed[held]
    assert s.waypoint[1] == held


def step_off_cell(closures: list[dict]) -> tuple[int, int]:
    """Where a robot charged full on the charger at (0, 3) of ``FLOOR`` steps off to."""
    sim = scene(closures, initial_soc=0.7, recharge_below=0.8, chargers=[[0, 3]])
    place(sim, (0, 3))
    s = sim.state
    for _ in range(20):
        wait(sim)
        if s.charge[0] == Charge.NONE and s.waypoint[0] >= 0:
            break
    assert sim.battery is not None and sim.battery.off_from[0] == sim.floor.cell_of[0, 3]
    return tuple(sim.floor.pos[s.waypoint[0]].tolist())


def test_a_full_robot_never_steps_off_into_a_closed_cell():
    """It takes the nearest free cell; with that one closed, the next nearest open one."""
    nearest = step_off_cell([])
    assert abs(nearest[0] - 0) + abs(nearest[1] - 3) == 1
    moved = step_off_cell([{"cells": [list(nearest)], "start_s": 0}])
    assert moved != nearest and abs(moved[0] - 0) + abs(moved[1] - 3) == 1


def test_with_no_closure_it_steps_off_to_the_nearest_free_cell():
    sim = scene(
        [],
        floor=np.array([[S, A, A, A, A, A, A, P]], np.int8),
        initial_soc=0.7,
        recharge_below=0.8,
        chargers=[[0, 3]],
    )
    place(sim, (0, 3))
    s = sim.state
    for _ in range(20):
        wait(sim)
        if s.charge[0] == Charge.NONE and s.waypoint[0] >= 0:
            break
    assert tuple(sim.floor.pos[s.waypoint[0]].tolist()) == (0, 2)


def test_a_robot_stepping_off_towards_a_cell_that_closes_is_given_an_open_one():
    """The full robot steps off towards the nearest free cell; a closure of that cell begins
    the step after, the robot still on its charger (its navigator waits): it is given the
    next open cell, in the same step, and still counts as stepping off."""
    t0 = 0
    sim = scene([], initial_soc=0.7, recharge_below=0.8, chargers=[[0, 3]])
    place(sim, (0, 3))
    while not (sim.state.charge[0] == Charge.NONE and sim.state.waypoint[0] >= 0):
        wait(sim)
        t0 = sim.t
    first = tuple(sim.floor.pos[sim.state.waypoint[0]].tolist())
    sim = scene(
        [{"cells": [list(first)], "start_s": t0 + 1}],
        initial_soc=0.7,
        recharge_below=0.8,
        chargers=[[0, 3]],
    )
    place(sim, (0, 3))
    s, f = sim.state, sim.floor
    for _ in range(t0):
        wait(sim)
    assert s.waypoint[0] == f.cell_of[first]  # on its way off, the cell still open
    wait(sim)  # the closure begins
    assert sim.dist.closed[f.cell_of[first]] and s.pos[0] == f.cell_of[0, 3]
    assert s.waypoint[0] >= 0 and not sim.dist.closed[s.waypoint[0]]
    assert abs(f.pos[s.waypoint[0]] - f.pos[f.cell_of[0, 3]]).sum() == 1  # the next nearest
    assert sim.battery is not None and sim.battery.off_from[0] == f.cell_of[0, 3]
