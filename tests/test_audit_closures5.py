"""Audit (h2): evacuation waypoints of scheduled closures and the waypoints written around them.

An evacuation waypoint (the open cell :func:`~warehouse.core.closures.closure_duties` sends a
robot inside a closure to) has a reason. An idle robot's is the closure it stood in: once that
ends the robot drops the waypoint, as a loaded evacuee drops its own once its station reopens
(before, an idle robot still on its way out when the closure ended drove on to the cell).
Every waypoint written outside the evacuation (dispatchers, parking, the battery model) clears
the evacuation mark, so no later rule takes it for an evacuation waypoint."""

from __future__ import annotations

import numpy as np
from test_audit_evacuation import SHORT, cell, hall

from agents import make_navigator
from warehouse.core import Phase
from warehouse.core.state import Charge
from warehouse.fleet import Fleet


def idle_inside(closures: list[dict], where: tuple[int, int] = (0, 5), **faults: object):
    """``hall`` with its one robot idle at ``where`` (clock 0)."""
    sim = hall(closures, **faults)
    sim.state.pos[0] = sim.floor.cell_of[where]
    sim.state_changed()
    return sim


# ------------------------------------------------------------------ lead 1: idle evacuee


def test_an_idle_evacuee_drops_its_evacuation_waypoint_when_the_closure_ends() -> None:
    """Cols 0..10 close from clock 3 to 5: the idle robot at (0, 5) is sent to col 11 and is
    still on its way when they reopen; it stops there (nothing to do at col 11)."""
    sim = idle_inside(SHORT)
    fleet = Fleet(sim, None, make_navigator("rule_based"))
    s = sim.state
    fleet.run(3)
    assert sim.t == 3 and cell(sim, s.waypoint[0])[1] == 11  # sent out east
    fleet.run(2)
    assert sim.t == 5 and not sim.dist.closed_any
    assert s.phase[0] == Phase.IDLE and cell(sim, s.pos[0])[1] < 11
    assert s.waypoint[0] == -1


def test_an_idle_evacuee_keeps_its_waypoint_while_the_closure_it_left_lasts() -> None:
    """Another closure ((2, 0), off its way) begins at clock 4 while the robot drives out of
    cols 0..10 (closed to 40): a closure event, but the reason of its evacuation lasts, so it
    drives on to its cell."""
    closures = [
        {"area": {"from": [0, 0], "to": [2, 10]}, "start_s": 3, "end_s": 40},
        {"cells": [[2, 0]], "start_s": 4, "end_s": 40},
    ]
    sim = idle_inside(closures)
    fleet = Fleet(sim, None, make_navigator("rule_based"))
    s = sim.state
    fleet.run(3)
    wp = int(s.waypoint[0])
    assert sim.t == 3 and cell(sim, wp)[1] == 11
    fleet.run(1)
    assert sim.t == 4 and s.waypoint[0] == wp
    fleet.run(10)
    assert cell(sim, s.pos[0])[1] == 11 and s.waypoint[0] == -1  # there: reached


def test_an_idle_evacuee_still_inside_another_closure_is_sent_out_of_it() -> None:
    """Cols 0..10 close from clock 3 to 5, rows 0..1 of cols 3..7 (where the robot still is,
    at (0, 7)) to 40: at clock 5 its evacuation cell (col 11) is dropped and the nearest open
    cell outside the closure left, (0, 8), is given instead."""
    closures = [
        {"area": {"from": [0, 0], "to": [2, 10]}, "start_s": 3, "end_s": 5},
        {"area": {"from": [0, 3], "to": [1, 7]}, "start_s": 3, "end_s": 40},
    ]
    sim = idle_inside(closures)
    fleet = Fleet(sim, None, make_navigator("rule_based"))
    s = sim.state
    fleet.run(3)
    assert cell(sim, s.waypoint[0])[1] == 11
    fleet.run(2)
    assert sim.t == 5 and sim.dist.closed[s.pos[0]] and sim.shut_in is None
    assert cell(sim, s.waypoint[0]) == (0, 8) and s.evacuation[0] == s.waypoint[0]
    fleet.run(1)
    assert cell(sim, s.pos[0]) == (0, 8) and s.waypoint[0] == -1


# ------------------------------------------------------------------ lead 2: one writer


def test_a_robot_stepping_off_a_charger_onto_its_old_evacuation_cell_keeps_that_exit() -> None:
    """The battery model writes waypoints of its own (a charger, a waiting cell, the exit off a
    charger). The robot was once sent out to (1, 4) and reached it (the kernel clears the
    waypoint, the mark stays); charged full on (1, 5) at clock 11, it is sent off the charger
    to (1, 4), as (0, 1) closes: the exit is not an evacuation waypoint, so the closure event
    leaves it and the robot frees the charger."""
    from sim_helpers import place, wait
    from test_audit_battery_closures import scene

    sim = scene([{"cells": [[0, 1]], "start_s": 11, "end_s": 50}], chargers=[[1, 5]])
    place(sim, (1, 5))
    s, f = sim.state, sim.floor
    s.evacuation[0], s.evacuated_from[0] = f.cell_of[1, 4], f.cell_of[1, 0]  # (as left)
    s.soc_wh[0] = 1.0  # below recharge_below: it charges on (1, 5), full at clock 11
    for _ in range(11):
        wait(sim)
    assert sim.t == 11 and sim.dist.closed_any  # a closure event
    assert cell(sim, s.waypoint[0]) == (1, 4) and s.evacuation[0] == -1
    sim.step(np.array([4]))  # west
    assert cell(sim, s.pos[0]) == (1, 4)


def test_a_charger_given_as_a_waypoint_clears_the_evacuation_mark() -> None:
    """A robot once sent out to the charger's cell (1, 5), low at (1, 0): the charger it is
    given is its waypoint, not an evacuation one, whatever the mark said before."""
    from sim_helpers import place, wait
    from test_audit_battery_closures import scene

    sim = scene(chargers=[[1, 5]])
    place(sim, (1, 0))
    s, f = sim.state, sim.floor
    s.evacuation[0], s.evacuated_from[0] = f.cell_of[1, 5], f.cell_of[0, 3]
    s.soc_wh[0] = 1.0
    wait(sim)
    assert cell(sim, s.waypoint[0]) == (1, 5)
    assert s.evacuation[0] == -1 and s.evacuated_from[0] == -1


def test_a_queued_evacuee_drops_its_evacuation_waypoint_when_the_closure_ends() -> None:
    """Robot 1, low, queues for the one charger (robot 0 charges on it) at (0, 3) inside
    cols 1..4 of the bottom row and the top row (closed from clock 2 to 4): it is sent out as
    an idle robot is, and drops that cell at the reopening as an idle one does."""
    from sim_helpers import place
    from test_audit_battery_closures import scene

    closures = [{"area": {"from": [0, 1], "to": [1, 4]}, "start_s": 2, "end_s": 4}]
    sim = scene(closures, robots=2, chargers=[[1, 5]])
    place(sim, (1, 5), (0, 3))
    s = sim.state
    s.soc_wh[:] = 1.0, 2.9  # robot 1 queues once below 3 Wh (recharge_below)
    sim.step(np.array([0, 0]))
    assert s.charge[0] == Charge.CHARGING
    sim.step(np.array([0, 0]))  # clock 2: closed, robot 1 queues and is sent out
    assert sim.t == 2 and s.charge[1] == Charge.QUEUED
    assert s.waypoint[1] >= 0 and not sim.dist.closed[s.waypoint[1]]
    sim.step(np.array([0, 0]))  # (it waits)
    sim.step(np.array([0, 0]))  # clock 4: open again
    assert sim.t == 4 and not sim.dist.closed_any
    assert s.charge[1] == Charge.QUEUED and s.waypoint[1] == -1
