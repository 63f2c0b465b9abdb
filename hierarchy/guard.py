"""Starvation guard: no order waits past a time limit while a robot is idle.

Dispatchers that pick among the oldest open orders by travel cost (greedy, Hungarian, PPO with
a larger order pool) deliver more when orders queue, by leaving distant old orders waiting
(docs/results.md, "Order pool"). :class:`AgeGuard` wraps any dispatcher: before it decides, the
open orders older than ``max_age_s`` seconds, oldest first, each go to the nearest idle robot
left; the wrapped dispatcher then assigns the remaining robots as usual.
Scenario files turn it on with ``policies.max_order_age`` (off by default)::

    warehouse run medium --policy hierarchical,rule_based \\
        --set policies.order_pool=16 --set policies.max_order_age=200
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from .dispatchers import assign_nearest

if TYPE_CHECKING:
    from warehouse.core import Simulation


def overdue_orders(sim: Simulation, max_age_s: float) -> np.ndarray:
    """Dispatchable orders (oldest first) that have waited longer than ``max_age_s`` seconds;
    an order whose pick location or station is closed waits for it to reopen, however old."""
    orders = sim.dispatchable_orders()
    age_s = (sim.t - sim.orders.arrival[orders]) * sim.config.physics.step_seconds
    return orders[age_s > max_age_s]


class AgeGuard:
    """``inner`` with overdue orders served first (module docstring)."""

    def __init__(self, inner: Any, max_age_s: float) -> None:
        if not max_age_s > 0:
            raise ValueError("max_age_s must be > 0")
        self.inner, self.max_age_s = inner, float(max_age_s)
        self.name = inner.name

    def reset(self, seed: int | None) -> None:
        self.inner.reset(seed)

    def dispatch(self, sim: Simulation) -> None:
        robots, old = sim.idle_robots(), overdue_orders(sim, self.max_age_s)
        if robots.size and old.size:
            assign_nearest(sim, robots, old[: robots.size])  # the oldest take a robot each
        self.inner.dispatch(sim)
