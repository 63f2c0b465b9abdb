"""Audit of the stall rescue with a dead-end goal and an idle robot in the way (h1).

Pins, without a fix (``xfail(strict=True)``: each test starts to pass, and so fails as
XPASS, once the livelock is gone), two robots that never arrive on tiny hand-built floors
driven by the rule-based navigator. Robot 0 has a task whose goal is a dead-end cell; robot 1
is idle, bound for a parking spot (a waypoint).

* ``pibt_swap``, a one-lane aisle with a one-cell pocket (``LANE``): robot 1 parks on the aisle
  between robot 0 and its dead-end goal. The navigator's idle-yield rule pushes the parked
  robot ahead of robot 0 into the dead end (the goal); once robot 0 is rescued
  (``since_progress`` >= 16) the swap pulls robot 1 out by one cell, and the next step the
  navigator pushes it back in (no conflict, so the shield passes the move): a period-2 shuttle
  that never ends, robot 0 never arrives.
* ``pibt``, a spur off a main aisle (``SPUR``): robot 0's goal is the main aisle's east dead
  end, robot 1's spot the spur's dead end. Both stall; the rescue replaces both navigators'
  proposals (which moved them the same way, so no conflict) by shortest-path ones that
  collide head-on, and PIBT lets robot 1 (idle, but ahead by the id tie-break) push robot 0,
  which has nowhere to go, after which robot 1 prefers WAIT to backing off: a lock for good.
"""

from __future__ import annotations

import numpy as np
import pytest

from agents import RuleBasedNavigator
from warehouse.config import FleetConfig, PhysicsConfig, SimConfig, TasksConfig
from warehouse.core import Phase, Simulation
from warehouse.floor import NodeKind, compile_floor, graph_from_grid

STEPS = 400
LANE = ["......", "#.####"]  #: one lane, a pocket at (1, 1); dead ends (0, 0), (0, 5)
SPUR = [".....", "##.##", "##.##", "##.##", "##.##"]  #: a spur down from column 2


def scene(rows: list[str], shield: str, start, goal, spot) -> Simulation:
    """Robot 0 at ``start[0]`` with a ``goal_visit`` task to ``goal``; robot 1 idle at
    ``start[1]``, bound for the parking spot ``spot`` (cells as ``(row, col)``)."""
    kinds = np.array(
        [[NodeKind.BLOCKED if ch == "#" else NodeKind.AISLE for ch in r] for r in rows],
        dtype=np.int8,
    )
    cfg = SimConfig(
        fleet=FleetConfig(robots=2),
        tasks=TasksConfig(mode="goal_visit"),
        physics=PhysicsConfig(collisions=shield),
    )
    sim = Simulation(compile_floor(graph_from_grid(kinds)), cfg)
    sim.reset(seed=0)
    f, s = sim.floor, sim.state
    s.pos[:] = [f.cell_of[start[0]], f.cell_of[start[1]]]
    s.phase[:] = Phase.IDLE
    s.task_goal[:] = -1
    s.phase[0], s.task_goal[0] = Phase.TO_GOAL, f.cell_of[goal]
    sim.state_changed()
    sim.set_waypoints(np.array([1]), np.array([f.cell_of[spot]], dtype=np.int32))
    sim._reset_progress(np.array([0]))
    return sim


def arrivals(sim: Simulation, steps: int = STEPS) -> tuple[list[int], list[np.ndarray]]:
    """Drive ``sim`` with the rule-based navigator: the step at which each robot first reached
    its target (goal or spot; -1: never) and the positions after every step."""
    nav = RuleBasedNavigator()
    nav.reset(0)
    first = np.full(2, -1)
    trail = []
    for t in range(steps):
        actions, prefs = nav.act(sim, None, sim.action_mask())
        res = sim.step(actions, prefs)
        hit = (res.reached_waypoint | res.delivered) & (first < 0)
        first[hit] = t + 1
        trail.append(sim.state.pos.copy())
    return first.tolist(), trail


def test_the_parked_robot_shuttles_in_and_out_of_the_dead_end_under_pibt_swap():
    """Characterization of the shuttle (passes today): robot 1 reaches its spot, then from
    the first rescue on the two robots alternate between two joint positions, robot 1 in the
    dead end (robot 0's goal) and pulled out by one cell."""
    sim = scene(LANE, "pibt_swap", [(0, 0), (0, 1)], (0, 5), (0, 3))
    first, trail = arrivals(sim, 60)
    f = sim.floor
    assert first[1] > 0
    tail = {tuple(p.tolist()) for p in trail[-20:]}
    inside = (f.cell_of[0, 4], f.cell_of[0, 5])
    pulled = (f.cell_of[0, 3], f.cell_of[0, 4])
    assert tail == {tuple(int(x) for x in inside), tuple(int(x) for x in pulled)}, tail


@pytest.mark.xfail(strict=True, reason="dead-end shuttle: swap pull vs idle yield (h1)")
def test_a_task_into_a_dead_end_past_a_parked_robot_arrives_under_pibt_swap():
    """Robot 1 parks at (0, 3), on the way into robot 0's dead end; there is room to pass
    (the pocket at (1, 1)). Robot 0 should arrive; it never does in 400 steps."""
    first, _ = arrivals(scene(LANE, "pibt_swap", [(0, 0), (0, 1)], (0, 5), (0, 3)))
    assert first[0] > 0, first


@pytest.mark.xfail(strict=True, reason="rescue lock of two robots bound for dead ends (h1)")
def test_two_robots_bound_for_opposite_dead_ends_arrive_under_pibt():
    """Robot 0 leaves the spur's dead end for the aisle's east end, robot 1 drives from the
    aisle's west end into the spur; the aisle's west arm is room to pass. Neither arrives."""
    first, _ = arrivals(scene(SPUR, "pibt", [(4, 2), (0, 0)], (0, 4), (4, 2)))
    assert min(first) > 0, first
