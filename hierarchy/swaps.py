"""Task swaps: robots still driving to their picks trade orders when that shortens the drive.

A dispatcher decides for the robots that are idle now, so each robot keeps the order it was
given when it became free, even when a robot that freed up later stands closer to that shelf.
:class:`TaskSwaps` wraps any dispatcher, in the manner of the task swaps of Token Passing with
Task Swaps (Ma et al., AAMAS 2017). After the inner dispatcher has decided, the robots driving
empty to a pick and the orders they hold are matched again, by minimum total steps to the picks
(:func:`scipy.optimize.linear_sum_assignment`). The set of orders being served does not change,
so no order is put off to serve a younger one: only *who* fetches each order does.

The matching is re-solved whenever a robot has started a new empty drive since the last
solve, and at least every ``period`` steps. Robots routed through a sub-goal keep their order.
(A robot broken down keeps its place in the matching: its repair time would add the same to
every order it could hold, so it cannot change which arrangement is shortest.)

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


def swap_candidates(sim: Simulation) -> np.ndarray:
    """Robots that may trade orders: driving empty to a pick, with no sub-goal."""
    s = sim.state
    return np.flatnonzero((s.phase == Phase.TO_PICK) & (s.waypoint < 0)).astype(np.int32)


def best_exchange(sim: Simulation) -> tuple[np.ndarray, np.ndarray]:
    """``(robots, orders)``: the arrangement of the held orders over :func:`swap_candidates`
    with the fewest total steps to the picks. Empty when it is no shorter than the current one
    (so robots never trade for nothing). Pure: does not touch ``sim``."""
    robots = swap_candidates(sim)
    none = np.zeros(0, np.int32), np.zeros(0, np.int32)
    if robots.size < 2:
        return none
    orders = sim.state.order[robots]
    cost = assignment_costs(sim, robots, orders)  # steps to each pick, inf where unreachable
    rows, cols = solve_assignment(cost)
    if rows.size != robots.size:  # some robot cannot reach any held pick: leave all as they are
        return none
    now = np.trace(cost)  # robot i holds orders[i]
    if not cost[rows, cols].sum() < now:
        return none
    return robots[rows], orders[cols]


class TaskSwaps:
    """``inner``, with task swaps among the robots driving to their picks (module docstring)."""

    def __init__(self, inner: Any, *, period: int = 10) -> None:
        self.inner, self.period = inner, int(period)
        self.name = inner.name
        self.swaps = 0  #: robots that changed order so far in the episode
        self._driving = np.zeros(0, dtype=bool)
        self._last = -(10**9)

    def reset(self, seed: int | None) -> None:
        self.inner.reset(seed)
        self.swaps = 0
        self._driving = np.zeros(0, dtype=bool)
        self._last = -(10**9)

    def dispatch(self, sim: Simulation) -> None:
        self.inner.dispatch(sim)
        driving = sim.state.phase == Phase.TO_PICK
        started = driving.size != self._driving.size or bool((driving & ~self._driving).any())
        if started or sim.t - self._last >= self.period:
            robots, orders = best_exchange(sim)
            if robots.size:
                self.swaps += int((sim.state.order[robots] != orders).sum())
                sim.exchange_orders(robots, orders)
            self._last = sim.t
        self._driving = sim.state.phase == Phase.TO_PICK
