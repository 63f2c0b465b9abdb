"""Audit: robots sent out of scheduled closures, and their waypoints.

An evacuation waypoint (the open cell :func:`~warehouse.core.closures.closure_duties` sends a
robot to) has a reason: the robot stood inside a closure with nowhere to go there. A loaded
robot whose station reopens, or that is redirected to an open station, has lost that reason:
it drops the waypoint and drives to its station (before, it drove to the evacuation cell first,
and waited there for good if another robot stood on it). A dispatcher's sub-goal is not an
evacuation waypoint and is kept. A robot shut in by the closures drops a waypoint outside its
part as a robot outside drops one inside (before, it kept it: a loaded robot waited the whole
closure beside a station it could reach, an idle one held its parking spot from the others)."""

from __future__ import annotations

import numpy as np
import pytest

from agents import make_navigator
from warehouse.config import FaultsConfig, FleetConfig, SimConfig, TasksConfig
from warehouse.core import Phase, Simulation
from warehouse.core.closures import redirect_loaded, stale_waypoints
from warehouse.fleet import Fleet
from warehouse.floor import NodeKind, compile_floor, graph_from_grid


def floor_sim(
    grid: np.ndarray, closures: list[dict], robots: int = 1, **faults: object
) -> Simulation:
    """``grid`` (1 s steps, no arrivals, 1 step picking), reset, with ``closures`` scheduled."""
    cfg = SimConfig(
        fleet=FleetConfig(robots=robots),
        tasks=TasksConfig(arrival_rate=0.0, pick_time=1),
        faults=FaultsConfig.model_validate({"closures": closures, **faults}),
    )
    sim = Simulation(compile_floor(graph_from_grid(grid)), cfg)
    sim.reset(seed=0)
    return sim


def hall(closures: list[dict], cols: int = 12, stations=((1, 0),), **faults: object) -> Simulation:
    """A 3 × ``cols`` hall of aisle cells, ``stations``, a pick location at (0, 5)."""
    grid = np.full((3, cols), NodeKind.AISLE, np.int8)
    for cell in stations:
        grid[cell] = NodeKind.STATION
    grid[0, 5] = NodeKind.PICK
    return floor_sim(grid, closures, **faults)


def loaded(sim: Simulation, station: tuple[int, int]) -> None:
    """Robot 0 at the pick (0, 5) gets an order for ``station`` and picks it (clock 2)."""
    f, s = sim.floor, sim.state
    s.pos[0] = f.cell_of[0, 5]
    sim.state_changed()
    sim.orders.add(np.array([f.cell_of[0, 5]]), np.array([f.cell_of[station]]), step=0)
    sim.assign(np.array([0]), np.array([0]))
    while s.phase[0] != Phase.TO_DROP:
        sim.step(np.zeros(1, dtype=np.int64))
    assert sim.t == 2


def cell(sim: Simulation, node: int) -> tuple[int, int] | None:
    return None if node < 0 else tuple(int(v) for v in sim.floor.pos[node])


# ------------------------------------------------------------------ lead 1: station reopens


#: cols 0..10 of the 12-col hall (the station (1, 0) and the pick (0, 5) in them) close from
#: clock 3 to clock 5: the loaded robot by the pick is sent to col 11, 6 or 7 steps east
SHORT = [{"area": {"from": [0, 0], "to": [2, 10]}, "start_s": 3, "end_s": 5}]


def test_a_loaded_evacuee_drops_its_evacuation_waypoint_when_its_station_reopens() -> None:
    sim = hall(SHORT)
    loaded(sim, (1, 0))
    fleet = Fleet(sim, None, make_navigator("rule_based"))
    s = sim.state
    fleet.run(1)
    assert sim.t == 3 and cell(sim, s.waypoint[0])[1] == 11  # sent out east
    fleet.run(2)  # the closure ends at clock 5, the robot still on its way out
    assert sim.t == 5 and not sim.dist.closed_any
    assert s.phase[0] == Phase.TO_DROP and s.waypoint[0] == -1
    fleet.run(11)  # (0, 7) → (1, 0): 8 steps, then 1 dropping; 22 s by way of (0, 11)
    assert int(s.deliveries[0]) == 1


def test_a_loaded_evacuee_drops_it_when_its_station_reopens_while_others_stay_closed() -> None:
    """The station reopens at clock 5; (2, 9), off the robot's way, stays closed to 40."""
    closures = [*SHORT, {"cells": [[2, 9]], "start_s": 3, "end_s": 40}]
    sim = hall(closures)
    loaded(sim, (1, 0))
    fleet = Fleet(sim, None, make_navigator("rule_based"))
    fleet.run(3)
    assert sim.t == 5 and sim.dist.closed_any
    assert sim.state.waypoint[0] == -1 and sim.state.phase[0] == Phase.TO_DROP
    fleet.run(11)
    assert int(sim.state.deliveries[0]) == 1 and sim.t < 40


def test_an_evacuee_whose_station_stays_closed_keeps_its_evacuation_waypoint() -> None:
    """Only the station stays closed past clock 5: the robot still waits outside."""
    closures = [*SHORT, {"cells": [[1, 0]], "start_s": 3, "end_s": 40}]
    sim = hall(closures)
    loaded(sim, (1, 0))
    fleet = Fleet(sim, None, make_navigator("rule_based"))
    fleet.run(3)
    assert sim.t == 5 and cell(sim, sim.state.waypoint[0])[1] == 11


def test_a_dispatcher_sub_goal_of_a_loaded_robot_is_kept_when_its_station_reopens() -> None:
    """Not an evacuation waypoint: the station (1, 0) alone closes and reopens."""
    sim = hall([{"cells": [[1, 0]], "start_s": 3, "end_s": 5}])
    loaded(sim, (1, 0))
    sim.set_waypoints(np.array([0]), np.array([sim.floor.cell_of[2, 8]]))
    for _ in range(3):
        sim.step(np.zeros(1, dtype=np.int64))
    assert sim.t == 5 and cell(sim, sim.state.waypoint[0]) == (2, 8)


def test_a_sub_goal_set_on_the_evacuation_cell_is_not_an_evacuation_waypoint() -> None:
    """A dispatcher that routes the evacuee through the same cell: its sub-goal is kept."""
    sim = hall(SHORT)
    loaded(sim, (1, 0))
    sim.step(np.zeros(1, dtype=np.int64))
    wp = sim.state.waypoint.copy()
    assert cell(sim, wp[0])[1] == 11
    sim.set_waypoints(np.array([0]), wp)
    for _ in range(2):
        sim.step(np.zeros(1, dtype=np.int64))
    assert sim.t == 5 and sim.state.waypoint[0] == wp[0]


# ------------------------------------------------------------------ lead 3: redirect_loaded


def test_a_redirected_evacuee_drops_its_evacuation_waypoint() -> None:
    """With ``faults.redirect_loaded``, a loaded robot sent out when no open station had room
    (``tasks.station_limit``; here written as the evacuation left it) and then redirected to
    an open station drives to that station, not to the evacuation cell."""
    sim = hall(SHORT, stations=((1, 0), (2, 11)), redirect_loaded=True)
    loaded(sim, (1, 0))
    s, f = sim.state, sim.floor
    s.waypoint[0] = s.evacuation[0] = f.cell_of[0, 11]
    sim.state_changed()
    sim.step(np.zeros(1, dtype=np.int64))  # clock 3: the west station closes, redirected
    assert cell(sim, s.task_goal[0]) == (2, 11) and s.waypoint[0] == -1


def test_a_redirected_robot_keeps_a_dispatcher_sub_goal() -> None:
    sim = hall(SHORT, stations=((1, 0), (2, 11)), redirect_loaded=True)
    loaded(sim, (1, 0))
    s, f = sim.state, sim.floor
    sim.set_waypoints(np.array([0]), np.array([f.cell_of[0, 11]]))
    s.pos[0] = f.cell_of[0, 6]  # (outside the closure: nothing sends it out)
    sim.state_changed()
    redirect_loaded(sim)  # (not a closure event: the station is open)
    assert cell(sim, s.waypoint[0]) == (0, 11)
    sim.step(np.zeros(1, dtype=np.int64))
    assert cell(sim, s.task_goal[0]) == (2, 11) and cell(sim, s.waypoint[0]) == (0, 11)


# ------------------------------------------------------------------ lead 2: shut in


#: col 8 of a 3 × 9 hall (stations (1, 0) and (1, 8)) is cut off while col 7 is closed
CUT = [{"area": {"from": [0, 7], "to": [2, 7]}, "start_s": 3, "end_s": 100}]


def test_a_shut_in_loaded_robot_drops_a_waypoint_outside_its_part_and_delivers() -> None:
    sim = hall(CUT, cols=9, stations=((1, 0), (1, 8)))
    loaded(sim, (1, 8))
    s, f = sim.state, sim.floor
    s.pos[0] = f.cell_of[0, 8]
    sim.set_waypoints(np.array([0]), np.array([f.cell_of[2, 3]]))  # a dispatcher's sub-goal
    sim.step(np.zeros(1, dtype=np.int64))  # clock 3: col 7 closes, col 8 is cut off
    assert sim.shut_in is not None and sim.shut_in[s.pos[0]]
    assert s.waypoint[0] == -1 and s.phase[0] == Phase.TO_DROP
    Fleet(sim, None, make_navigator("rule_based")).run(4)
    assert int(s.deliveries[0]) == 1 and sim.t < 100


@pytest.mark.parametrize("where", [(2, 8), (2, 3)], ids=["inside", "outside"])
def test_a_shut_in_idle_robot_drops_a_spot_outside_its_part(where: tuple[int, int]) -> None:
    """An idle robot in col 8 heading for a spot: one outside its part is dropped (another
    robot may take it), one inside is kept."""
    sim = hall(CUT, cols=9, stations=((1, 0), (1, 8)))
    s, f = sim.state, sim.floor
    s.pos[0] = f.cell_of[0, 8]
    sim.set_waypoints(np.array([0]), np.array([f.cell_of[where]]))
    for _ in range(3):
        sim.step(np.zeros(1, dtype=np.int64))
    assert sim.shut_in is not None and sim.shut_in[s.pos[0]]
    assert stale_waypoints(sim).size == 0
    assert s.waypoint[0] == (-1 if where == (2, 3) else f.cell_of[where])
