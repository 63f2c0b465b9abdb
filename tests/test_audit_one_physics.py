"""Audit (h11): one physics. The visualizer's planned routes (the path overlay and the
inspector's path) are drawn with the move rule of the simulation core, so a route never takes a
move the robot cannot make: not along a closed edge, not into a closed cell. Before the fix they
read the floor's static moves and cut straight through closures the robot drives around."""

from __future__ import annotations

import numpy as np
import pytest
from test_closure_routing import ring

from agents import RuleBasedNavigator
from visualize.frame import frame_from_recording, frame_from_sim, plan_paths
from visualize.inspector import inspect_robot
from warehouse.core import Simulation
from warehouse.fleet import Fleet
from warehouse.recorder import EpisodeRecorder
from warehouse.recording import load_recording

#: the closures of the ring (``test_closure_routing.RING``): a closed edge and a closed cell on
#: the short way along row 0, each making the robot take the detour over row 2
CLOSED_EDGE = {"edges": [[[0, 2], [0, 3]]], "start_s": 0, "end_s": 100}
CLOSED_CELL = {"cells": [[0, 3]], "start_s": 0, "end_s": 100}


def lone_robot(closure: dict) -> Simulation:
    """One robot on (0, 2) of the ring, routed to (0, 5) while ``closure`` lasts."""
    sim = ring([closure], 1)
    f = sim.floor
    sim.state.pos[:] = [f.cell_of[0, 2]]
    sim.state_changed()
    sim.set_waypoints(np.arange(1), np.array([f.cell_of[0, 5]]))
    return sim


def allowed(sim: Simulation, route: np.ndarray) -> bool:
    """Whether every move of ``route`` is one the core's move rule allows (action mask of a
    robot free to move standing on each node)."""
    f = sim.floor
    for u, v in zip(route[:-1].tolist(), route[1:].tolist(), strict=True):
        if u == v:
            continue
        mask = sim.move_mask(np.array([u]))[0]
        if not (mask & (f.nbr[u] == v)).any():
            return False
    return True


@pytest.mark.parametrize("closure", [CLOSED_EDGE, CLOSED_CELL], ids=["edge", "cell"])
def test_the_inspector_path_is_the_route_the_robot_drives(closure: dict) -> None:
    """The inspector's path of a lone robot is its trajectory under the rule-based navigator
    (the plan the overlay claims to show): the 13-step detour, not the 3 steps across the
    closure."""
    sim = lone_robot(closure)
    f = sim.floor
    d = int(sim.target_distance()[0])
    assert d == 13  # the detour over row 2
    ins = inspect_robot(frame_from_sim(sim), 0)
    nav = RuleBasedNavigator(seed=0)
    nav.reset(0)
    cells = [tuple(f.pos[sim.state.pos[0]].tolist())]
    while sim.state.waypoint[0] >= 0:
        assert sim.t < 40
        actions, prefs = nav.act(sim, None, sim.action_mask())
        sim.step(actions, prefs)
        cells.append(tuple(f.pos[sim.state.pos[0]].tolist()))
    assert len(cells) == d + 1
    assert [tuple(c) for c in ins.path.tolist()] == cells


@pytest.mark.parametrize("closure", [CLOSED_EDGE, CLOSED_CELL], ids=["edge", "cell"])
def test_the_path_overlay_takes_only_moves_the_core_allows(closure: dict) -> None:
    """``plan_paths`` with the simulation (as the overlay and the inspector call it): every
    move allowed, the target reached in its distance."""
    sim = lone_robot(closure)
    s = sim.state
    route = plan_paths(sim.floor, sim.dist, s.pos, s.target, 20, sim=sim)[0]
    assert allowed(sim, route)
    assert int(np.argmax(route == s.target[0])) == 13


def test_a_replayed_frame_draws_the_route_of_the_recorded_closures(tmp_path) -> None:
    """A recording's frames plan with the closures logged for them (their read-only
    simulation): the paths of the live frames, around the closed edge and the closed cell."""
    sim = ring([CLOSED_EDGE, CLOSED_CELL], 1)
    fleet = Fleet(sim, None, RuleBasedNavigator(seed=0))
    fleet.reset(0)
    f = sim.floor
    sim.state.pos[:] = [f.cell_of[0, 2]]
    sim.state_changed()
    sim.set_waypoints(np.arange(1), np.array([f.cell_of[0, 5]]))
    recorder = EpisodeRecorder(sim, meta={})
    live = [inspect_robot(frame_from_sim(sim), 0).path]
    recorder.capture(sim, fleet.step())
    live.append(inspect_robot(frame_from_sim(sim, fleet.last), 0).path)
    rec = load_recording(recorder.save(tmp_path / "run.npz"))
    for k in (0, 1):
        replayed = inspect_robot(frame_from_recording(rec, k), 0).path
        assert replayed.tolist() == live[k].tolist(), k
    cells = [tuple(c) for c in live[0].tolist()]
    assert len(cells) == 14 and (0, 3) not in cells and cells[-1] == (0, 5)


def test_station_queues_are_one_count_for_the_core_and_the_viewer() -> None:
    """The viewer's frames counted station queues with their own copy of the rule (and the
    core's could return one entry too many for a goal past the last station); both now use
    ``station_queue_counts``, which counts only goals that are stations."""
    import numpy as np

    from warehouse.core.state import station_queue_counts

    stations = np.array([3, 7, 9])
    goal = np.array([7, 9, 9, 12, 5, 3])  # 12 past the last station, 5 between two
    carrying = np.array([True, True, True, True, True, False])
    assert station_queue_counts(stations, goal, carrying).tolist() == [0, 1, 2]
