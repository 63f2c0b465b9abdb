"""Anticipation: orders a robot finishing its delivery will reach sooner are held for it.

A dispatcher decides for the robots that are idle now. At saturation they free up one or two at
a time, so the nearest order in the pool goes to whoever is free first, even when a robot
about to drop its load at a station beside that shelf would get there sooner. With
anticipation on, the pool is matched first over the idle robots *and* the robots finishing a
delivery (carrying an order or dropping it), by the fewest steps until each would reach each
pick (:func:`scipy.optimize.linear_sum_assignment`). A finishing robot counts the steps to its
station, the drop and any repair time left (with ``battery``, the time until a depleted one's
battery is swapped: ``rescue_s``), then the drive from the station; one that has not got closer
to its station for :data:`STALLED` steps (queued or jammed), one bound for a station closed or
cut off by the closures now (``faults.closures``), and one whose charge is below
``battery.recharge_below`` (it queues for a charger once it has dropped its load, so no
dispatcher sees it) are not counted, since their estimate would hold orders for a robot that is
not coming. The orders the
matching gives to finishing robots are taken out of the pool, so the dispatcher chooses among
the rest; an idle robot whose every order is held waits for the next decision.

Nothing is reserved between decisions: the matching is solved again each time, so the robot
that freed up takes whatever is best then. The pool keeps its depth (the oldest ``order_pool``
× idle robots orders), so robots still choose among the same oldest orders; a held one waits
only for the robot that frees up nearer to it.

Scenario files turn it on with ``policies.anticipate: true`` (off by default); it applies to
the dispatchers with an order pool (greedy, hungarian, ppo)::

    warehouse run small --set tasks.arrival_rate=1.0 --set policies.anticipate=true
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from warehouse.core.battery import STOPPED_CAP
from warehouse.core.state import Phase

from .matching import solve_assignment, travel_steps

if TYPE_CHECKING:
    from warehouse.core import Simulation

#: steps without getting closer to its station after which a carrying robot holds no order
STALLED = 10


def finishing_robots(sim: Simulation) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(robots, stations, steps)``: the robots carrying an order to its station (not stalled for
    :data:`STALLED` steps, nor bound for a station closed or cut off now: it waits for it to
    reopen) or dropping it, and with ``battery`` not below ``recharge_below`` (they charge next),
    the station each will be free at, and the steps until then (inf where the station cannot be
    reached, around the closures, or a depleted robot is never rescued)."""
    s, ob = sim.state, sim.orders
    carrying = (s.phase == Phase.TO_DROP) & (s.since_progress < STALLED)
    finishing = carrying | (s.phase == Phase.DROPPING)
    if sim.battery is not None:  # below recharge_below it queues for a charger, not for orders
        finishing &= s.soc_wh >= sim.battery.threshold
    robots = np.flatnonzero(finishing).astype(np.int32)
    stations = ob.station[s.order[robots]]
    carrying = s.phase[robots] == Phase.TO_DROP
    if sim.order_closures_possible:  # one bound for a closed (or cut-off) station waits there
        bound = carrying & (sim.held_until(stations) > sim.t)
        robots, stations, carrying = robots[~bound], stations[~bound], carrying[~bound]
    drive = travel_steps(sim, stations, s.pos[robots])
    steps = np.where(carrying, drive + sim.config.tasks.drop_time, s.timer[robots])
    steps += s.broken[robots]
    if sim.battery is not None:  # a depleted robot stands until its battery is swapped
        stopped = sim.battery.stopped_steps(s, sim.t)[robots]
        steps += np.where(stopped >= STOPPED_CAP, np.inf, stopped)
    return robots, stations, steps


def held_orders(sim: Simulation, idle: np.ndarray, orders: np.ndarray) -> np.ndarray:
    """``(len(orders),)`` bool: the orders a finishing robot reaches first in the matching of
    ``idle`` and the finishing robots to ``orders`` by steps to the picks. Pure."""
    held = np.zeros(orders.size, dtype=bool)
    busy, stations, wait = finishing_robots(sim)
    if busy.size == 0 or orders.size == 0:
        return held
    start = np.concatenate([sim.state.pos[idle], stations])
    delay = np.concatenate([np.zeros(idle.size), wait])
    steps = travel_steps(sim, sim.orders.pick[orders][None, :], start[:, None])
    rows, cols = solve_assignment(steps + delay[:, None], overwrite=True)
    held[cols[rows >= idle.size]] = True
    return held


def order_pool(
    sim: Simulation, robots: np.ndarray, size: int, *, anticipate: bool = False
) -> np.ndarray:
    """The oldest ``size`` dispatchable orders (open, pick location and station not closed:
    :meth:`~warehouse.core.Simulation.dispatchable_orders`) for the deciding ``robots``; with
    ``anticipate``, less those a finishing robot reaches first (:func:`held_orders`)."""
    orders = sim.dispatchable_orders()[:size]
    if anticipate and orders.size:
        orders = orders[~held_orders(sim, robots, orders)]
    return orders
