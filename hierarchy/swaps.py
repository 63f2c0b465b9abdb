"""Task swaps: robots trade the orders they are driving to fetch, when that shortens the drive.

A dispatcher decides for the robots that are idle now, so each robot keeps the order it was
given when it became free, even when a robot that freed up later stands closer to that shelf.
:class:`TaskSwaps` wraps any dispatcher with the task swaps of Token Passing with Task Swaps
(Ma et al., AAMAS 2017). After the inner dispatcher has decided, the orders held by robots
still driving empty to their picks are matched again, by minimum total steps to the picks
(:func:`scipy.optimize.linear_sum_assignment`), over those robots *and* the idle ones. So
robots driving to picks trade orders, and an idle robot takes an order over from a robot that
would reach the shelf later; that robot becomes idle and the dispatcher gives it new work. The
set of orders in work does not change, so no order is put off to serve a younger one: only
*who* fetches each order does. A robot broken down counts its remaining repair time as steps,
a depleted one (``battery``) the time until its battery is swapped (``rescue_s``).
An order whose pick location or station is closed (``faults.closures``) stays with its robot.

The matching is re-solved whenever a robot has started a new empty drive or become idle since
the last solve, and at least every ``period`` steps. Robots routed through a sub-goal keep their
order.

Scenario files turn it on with ``policies.task_swaps: true`` (off by default); it then applies
to every dispatcher of the run.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from warehouse.core import Phase

from .hungarian import assignment_costs, solve_assignment

if TYPE_CHECKING:
    from warehouse.core import Simulation


def swap_candidates(sim: Simulation) -> tuple[np.ndarray, np.ndarray]:
    """``(robots, orders)`` that may be matched again: the orders held by robots driving empty to
    a pick with no sub-goal, and those robots followed by the idle working ones. A robot whose
    order's pick location or station is closed now keeps it and is left out, so no robot takes
    over an order that waits for its cells to reopen (as dispatchers hold such orders:
    :meth:`~warehouse.core.Simulation.dispatchable_orders`)."""
    s = sim.state
    driving = np.flatnonzero((s.phase == Phase.TO_PICK) & (s.waypoint < 0)).astype(np.int32)
    if sim.order_closures_possible:
        driving = driving[~sim.orders_on_hold(s.order[driving])]
    robots = np.concatenate([driving, sim.idle_robots()])
    return robots, s.order[driving]


def best_exchange(sim: Simulation) -> tuple[np.ndarray, np.ndarray]:
    """``(robots, orders)``: who should fetch each order of :func:`swap_candidates`, with the
    fewest total steps to the picks (remaining repair time included). Empty when that is no
    shorter than the current arrangement (so robots never trade for nothing). Pure: does not
    touch ``sim``."""
    robots, orders = swap_candidates(sim)
    none = np.zeros(0, np.int32), np.zeros(0, np.int32)
    if orders.size == 0 or robots.size < 2:
        return none
    cost = assignment_costs(sim, robots, orders)  # steps to each pick, inf where unreachable
    cost += sim.state.broken[robots][:, None]
    if sim.battery is not None:  # a depleted robot stands until its battery is swapped
        cost += sim.battery.stopped_steps(sim.state, sim.t)[robots][:, None]
    rows, cols = solve_assignment(cost)
    if rows.size != orders.size:  # some order cannot be fetched: leave all as they are
        return none
    now = np.trace(cost[: orders.size])  # the driving robot i holds orders[i]
    if not cost[rows, cols].sum() < now:
        return none
    return robots[rows], orders[cols]


def _roles(sim: Simulation) -> np.ndarray:
    """``(2N,)`` bool: which robots drive to a pick, then which a dispatcher may give orders
    (:meth:`~warehouse.core.Simulation.idle_robots`: so a robot back from charging, or let out
    of a part the closures cut off, is newly idle too)."""
    idle = np.zeros(sim.n_robots, dtype=bool)
    idle[sim.idle_robots()] = True
    return np.concatenate([sim.state.phase == Phase.TO_PICK, idle])


class TaskSwaps:
    """``inner``, with task swaps (module docstring)."""

    def __init__(self, inner: Any, *, period: int = 10) -> None:
        self.inner, self.period = inner, int(period)
        self.name = inner.name
        self.swaps = 0  #: robots that took an order over so far in the episode
        self._roles = np.zeros(0, dtype=bool)  #: :func:`_roles` after the last dispatch
        self._last = -(10**9)  #: step of the last solve

    def reset(self, seed: int | None) -> None:
        self.inner.reset(seed)
        self.swaps = 0
        self._roles = np.zeros(0, dtype=bool)
        self._last = -(10**9)

    def dispatch(self, sim: Simulation) -> None:
        self.inner.dispatch(sim)
        roles = _roles(sim)
        new = roles.size != self._roles.size or bool((roles & ~self._roles).any())
        if new or sim.t - self._last >= self.period:  # a new empty drive or a newly idle robot
            robots, orders = best_exchange(sim)
            if robots.size:
                self.swaps += int((sim.state.order[robots] != orders).sum())
                sim.exchange_orders(robots, orders)
                roles = _roles(sim)
            self._last = sim.t
        self._roles = roles
