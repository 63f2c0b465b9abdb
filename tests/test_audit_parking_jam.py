"""Parking jams of the rule-based navigator: an idle robot sent back to its parking spot turns
back the loaded robot it has just made way for (audit: parking jam).

On ``tiny`` with one robot per station (``tasks.station_limit=1``) and parking at once
(``policies.park_idle=0``), a robot parked on a pick cell of a single-lane cross aisle makes way
for a loaded robot by driving ahead of it; parking (``hierarchy/parking.py``) then sends it back
to the nearest free spot, behind the loaded robot, and in the head-on pair the lowest-id train
wins (``agents/rule_based.py``, rule 3), so the idle robot, with the lower id, turns the loaded
robot back. The two shuffle for the rest of the episode: seed 2 delivers 1 order in 250 steps
with 2 robots stuck.

The fix: a robot on an errand (an order, a charger) goes before an idle robot driving to a
sub-goal in a head-on pair (rule 3 of ``agents/rule_based.py``).
"""

from __future__ import annotations

import numpy as np

from agents import RuleBasedNavigator
from warehouse.config import FleetConfig, PhysicsConfig, SimConfig, TasksConfig
from warehouse.core import Phase, Simulation
from warehouse.floor import NodeKind, compile_floor, graph_from_grid
from warehouse.model import WarehouseModel

WEST = 4
CODES = {".": NodeKind.AISLE, "#": NodeKind.BLOCKED, "p": NodeKind.PICK, "S": NodeKind.STATION}


def corridor_sim(rows: list[str], robots: int) -> Simulation:
    """A hand-drawn floor in goal_visit mode, ``block`` collisions, reset with seed 0."""
    kinds = np.array([[CODES[ch] for ch in row] for row in rows], dtype=np.int8)
    cfg = SimConfig(
        fleet=FleetConfig(robots=robots),
        tasks=TasksConfig(mode="goal_visit"),
        physics=PhysicsConfig(collisions="block"),
    )
    sim = Simulation(compile_floor(graph_from_grid(kinds)), cfg)
    sim.reset(seed=0)
    return sim


def test_an_idle_robot_bound_for_a_spot_gives_way_to_a_robot_with_a_task():
    """Head-on in a single lane: idle robot 0 drives east to a sub-goal (a parking spot),
    robot 1 carries a task west. Robot 1 keeps going; robot 0 makes way although its id is
    lower."""
    sim = corridor_sim(["###.###", "S.....p"], 2)
    f = sim.floor
    s = sim.state
    s.pos[:] = [f.cell_of[1, 2], f.cell_of[1, 3]]
    s.task_goal[:] = [-1, f.cell_of[1, 0]]
    s.phase[:] = [Phase.IDLE, Phase.TO_GOAL]
    sim.state_changed()
    sim.set_waypoints(np.array([0]), np.array([f.cell_of[1, 5]], dtype=np.int32))
    navigator = RuleBasedNavigator()
    navigator.reset(0)
    actions, _ = navigator.act(sim, None, sim.action_mask())
    assert actions[1] == WEST  # the robot with the task goes on
    assert actions[0] == WEST  # the idle one backs off ahead of it


def test_parking_at_once_does_not_jam_tiny_with_one_robot_per_station():
    """The seeded jam: the healthy configurations of the same seed (no parking, park_idle=5,
    or no station limit) deliver 18 to 52 orders in 250 steps with no robot stuck; the jam
    delivers 1, with two robots stalled for over 200 steps."""
    model = WarehouseModel(
        "tiny",
        seed=2,
        policy="rule_based",
        steps=250,
        per_robot=False,
        last_only=True,
        arrival_rate=1,
        **{"tasks.station_limit": 1, "policies.park_idle": 0},
    )
    kpis = model.run()
    assert kpis["deliveries"] >= 15
    assert int(model.sim.state.since_progress.max()) < 100
    assert kpis["stuck_robots"] == 0
