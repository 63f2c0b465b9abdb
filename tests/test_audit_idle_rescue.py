"""Audit of the stall rescue and idle robots driving to a waypoint (h12).

``kernels.progress_kernel`` advances ``since_progress`` only for robots with a task (and, with
the battery model, for robots on charger business: ``Battery.progress_phase``). An idle robot
driving to a parking spot or an evacuation cell has a target, but its count stays 0, so the
PIBT shields' stall rescue (``PIBTShield._rescue``) never plans it. The rule-based navigator
lets an idle robot without a target yield only onto a free neighbour, so a robot walled in by
parked robots in a one-lane aisle waits politely, and with nobody stalled the shield never
sees it: it stays there for good. The same scene with a task instead of the waypoint is freed
by the rescue after ``stall_steps`` steps.

Since the thirty-sixth session ``since_progress`` counts every robot driving to a target, idle
ones with a waypoint included, so the rescue frees it too (the parking figures committed
before then, ``docs/results_parking/``, were measured without this)."""

from __future__ import annotations

import numpy as np
import pytest

from agents import RuleBasedNavigator
from warehouse.config import FleetConfig, PhysicsConfig, SimConfig, TasksConfig
from warehouse.core import Phase, Simulation
from warehouse.floor import NodeKind, compile_floor, graph_from_grid

STEPS = 120  #: several rescues' worth (``stall_steps`` 16)


def walled_in(shield: str, errand: str) -> Simulation:
    """A one-lane aisle of 7 cells; robot 0 at its west end heads for cell 3, robots 1 and 2
    (idle, no target: parked) stand on cells 1 and 2. ``errand``: ``"waypoint"`` (robot 0 is
    idle, bound for a parking spot) or ``"task"`` (a goal of ``goal_visit``)."""
    kinds = np.full((1, 7), NodeKind.AISLE, dtype=np.int8)
    cfg = SimConfig(
        fleet=FleetConfig(robots=3),
        tasks=TasksConfig(mode="goal_visit"),
        physics=PhysicsConfig(collisions=shield),
    )
    sim = Simulation(compile_floor(graph_from_grid(kinds)), cfg)
    sim.reset(seed=0)
    f, s = sim.floor, sim.state
    s.pos[:] = [f.cell_of[0, 0], f.cell_of[0, 1], f.cell_of[0, 2]]
    s.phase[:] = Phase.IDLE
    s.task_goal[:] = -1
    goal = f.cell_of[0, 3]
    if errand == "task":
        s.phase[0], s.task_goal[0] = Phase.TO_GOAL, goal
    sim.state_changed()
    if errand == "waypoint":
        sim.set_waypoints(np.array([0]), np.array([goal], dtype=np.int32))
    else:
        sim._reset_progress(np.array([0]))
    return sim


def first_arrival(sim: Simulation, steps: int = STEPS) -> int:
    """Drive ``sim`` with the rule-based navigator; the step at which robot 0 first reached its
    target (its waypoint, or its goal), -1 for never."""
    nav = RuleBasedNavigator()
    nav.reset(0)
    for t in range(steps):
        actions, prefs = nav.act(sim, None, sim.action_mask())
        res = sim.step(actions, prefs)
        if res.reached_waypoint[0] or res.delivered[0]:
            return t + 1
    return -1


@pytest.mark.parametrize("shield", ["pibt", "pibt_swap"])
def test_a_robot_with_a_task_walled_in_by_parked_robots_is_rescued(shield):
    """The rescue's own case: robot 0 with a task stalls, the shield plans it from its shortest
    path and pushes the parked robots along the aisle; it arrives after a few rescues (not
    before the first: until then the navigator keeps it waiting)."""
    sim = walled_in(shield, "task")
    first = first_arrival(sim)
    assert first > 16, first
    f = sim.floor
    assert sim.state.pos[1:].tolist() == [f.cell_of[0, 4], f.cell_of[0, 5]]  # pushed on


@pytest.mark.parametrize("shield", ["pibt", "pibt_swap"])
def test_an_idle_robot_bound_for_a_spot_walled_in_by_parked_robots_is_rescued(shield):
    """The same scene with a parking waypoint instead of the task: the robot arrives as the
    robot with a task does. It waited for good while its count stayed 0 (it has no task): the
    shield never rescued it, and the navigator's idle robots yield only onto free cells."""
    sim = walled_in(shield, "waypoint")
    first = first_arrival(sim)
    assert first > 0, (first, sim.state.pos.tolist(), sim.state.since_progress.tolist())
