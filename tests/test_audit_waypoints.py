"""Audit: the sub-goals (waypoints) of robots at work under scheduled closures.

A waypoint routes a robot through a cell before its task goal: a dispatcher's hub sub-goal
(``Simulation.set_waypoints``), a parking spot, a cell an evacuation sent it to. When a
scheduled closure begins that closes such a cell, or cuts it off from where the robot stands,
the sub-goal is stale: the robot drops it and drives on to its real target, whatever its phase
(before, only idle robots dropped it: a robot driving to its pick waited beside its closed hub
for the whole closure although its pick was in reach). The PPO decision clock fires when cells
or edges the closures had closed reopen (before, a robot that reached no order around them
waited up to ``period`` steps for its next decision)."""

from __future__ import annotations

import numpy as np
import pytest
from test_closures_parking_clock import hall

from agents import make_navigator
from hierarchy.smdp import DecisionClock
from warehouse.config import FaultsConfig, FleetConfig, SimConfig, TasksConfig
from warehouse.core import Phase, Simulation
from warehouse.core.closures import stale_waypoints
from warehouse.fleet import Fleet
from warehouse.floor import NodeKind, compile_floor, graph_from_grid

PICK, STATION = (0, 5), (1, 0)  #: the pick location and the station of ``hall``


def working(closures: list[dict], phase: Phase, cell: tuple[int, int]) -> Simulation:
    """``hall`` with one robot holding an order (pick ``PICK``, station ``STATION``), in
    ``phase`` (``TO_PICK``: just given it at (1, 8); ``TO_DROP``: picked at ``PICK``), routed
    through the waypoint ``cell`` (as a plug-in dispatcher or a hub route does)."""
    sim = hall(closures, robots=1, cells=((1, 8) if phase == Phase.TO_PICK else PICK,))
    f, s = sim.floor, sim.state
    sim.orders.add(np.array([f.cell_of[PICK]]), np.array([f.cell_of[STATION]]), step=0)
    sim.assign(np.array([0]), np.array([0]))
    while s.phase[0] != phase:  # (TO_DROP: picking takes pick_time steps)
        sim.step(np.zeros(1, dtype=np.int64))
    sim.set_waypoints(np.array([0]), np.array([f.cell_of[cell]]))
    return sim


@pytest.mark.parametrize("phase", [Phase.TO_PICK, Phase.TO_DROP], ids=["to_pick", "to_drop"])
def test_a_working_robot_drops_a_waypoint_a_closure_closes(phase: Phase) -> None:
    sim = working([{"cells": [[2, 7]], "start_s": 5, "end_s": 100}], phase, (2, 7))
    s = sim.state
    assert s.waypoint[0] == sim.floor.cell_of[2, 7] and sim.t < 5
    while sim.t < 5:
        assert s.waypoint[0] >= 0
        sim.step(np.zeros(1, dtype=np.int64))  # (it waits: the waypoint is not reached)
    assert s.phase[0] == phase and s.order[0] == 0  # it keeps its order ...
    assert s.waypoint[0] == -1  # ... and drops the closed sub-goal at the closure event


def test_a_working_robot_drops_a_waypoint_the_closures_cut_off() -> None:
    """(0, 8) is cut off when (0, 7) and (1, 8) close; the pick and the station are not."""
    closure = [{"cells": [[0, 7], [1, 8]], "start_s": 3, "end_s": 100}]
    sim = working(closure, Phase.TO_PICK, (0, 8))
    sim.state.pos[0] = sim.floor.cell_of[2, 6]
    sim.state_changed()
    for _ in range(3):
        sim.step(np.zeros(1, dtype=np.int64))
    assert sim.shut_in is not None and sim.shut_in[sim.floor.cell_of[0, 8]]
    assert sim.state.waypoint[0] == -1 and sim.state.phase[0] == Phase.TO_PICK


def test_a_robot_routed_through_a_hub_that_closes_delivers_during_the_closure() -> None:
    """The lead's scene: the hub (2, 4) closes from 2 s to 100 s while the robot drives to it;
    the pick stays two steps from where it would wait. It delivers long before 100 s."""
    sim = working([{"cells": [[2, 4]], "start_s": 2, "end_s": 100}], Phase.TO_PICK, (2, 4))
    fleet = Fleet(sim, None, make_navigator("rule_based"))
    fleet.run(40)
    assert sim.t == 40 and int(sim.state.deliveries[0]) == 1


def test_an_open_waypoint_of_a_working_robot_is_kept() -> None:
    """A closure that closes another cell leaves the working robot's open sub-goal alone."""
    sim = working([{"cells": [[2, 7]], "start_s": 5, "end_s": 100}], Phase.TO_PICK, (2, 4))
    while sim.t < 5:
        sim.step(np.zeros(1, dtype=np.int64))
    assert stale_waypoints(sim).size == 0 and sim.state.waypoint[0] == sim.floor.cell_of[2, 4]


# ------------------------------------------------------------------ the decision clock


def test_the_decision_clock_fires_when_cells_reopen_for_a_robot_that_reached_no_order() -> None:
    """The robot stands on (1, 1) of the closed cols 1..2 (0 s to 15 s): its only way out leads
    west into col 0, which they cut off, so it reaches no pick though the order is dispatchable
    all along (the pick and the station lie east). When they reopen at clock 15 a decision is
    due then, not at the next period (clock 20)."""
    grid = np.full((3, 9), NodeKind.AISLE, np.int8)
    grid[1, 8], grid[0, 5] = NodeKind.STATION, NodeKind.PICK
    closure = [{"area": {"from": [0, 1], "to": [2, 2]}, "start_s": 0, "end_s": 15}]
    cfg = SimConfig(
        fleet=FleetConfig(robots=1),
        tasks=TasksConfig(arrival_rate=0.0),
        faults=FaultsConfig.model_validate({"closures": closure}),
    )
    sim = Simulation(compile_floor(graph_from_grid(grid)), cfg)
    sim.reset(seed=0)
    f = sim.floor
    sim.state.pos[:] = f.cell_of[1, 1]
    sim.state_changed()
    sim.orders.add(np.array([f.cell_of[0, 5]]), np.array([f.cell_of[1, 8]]), step=0)
    pick, here = np.array([f.cell_of[0, 5]]), sim.state.pos
    assert not sim.dist.reaches(pick, here)[0] and sim.shut_in is not None
    assert not sim.shut_in[here[0]] and sim.dispatchable_orders().tolist() == [0]
    clock = DecisionClock(10)
    due = []
    for _ in range(19):
        if clock.due(sim):
            due.append(sim.t)
            clock.mark(sim)
        sim.step(np.zeros(1, dtype=np.int64))  # (it waits where it stands)
    assert sim.dist.reaches(pick, sim.state.pos)[0]
    assert due == [0, 10, 15]
