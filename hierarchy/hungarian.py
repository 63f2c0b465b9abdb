"""Hungarian dispatcher: a minimum-total-travel assignment, re-solved at every event.

Cost of robot ``r`` serving order ``o`` (steps on the floor graph)::

    cost[r, o] = dist(pos[r] → pick[o]) + with_delivery · dist(pick[o] → station[o])
                 − age_weight · age[o]

solved with :func:`scipy.optimize.linear_sum_assignment` over idle robots × the oldest
``lookahead × robots`` dispatchable orders (open, pick and station not closed:
:meth:`~warehouse.core.Simulation.dispatchable_orders`; less those held for robots finishing a
delivery, with ``anticipate``: :mod:`hierarchy.anticipation`). Unreachable pairs are never
assigned, nor pairs the robot reaches only through closed cells or edges (they wait for them to
reopen).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from warehouse.core.closures import drop_steps
from warehouse.floor import UNREACHABLE

from .anticipation import order_pool
from .matching import solve_assignment, travel_steps

if TYPE_CHECKING:
    from warehouse.core import Simulation


def assignment_costs(
    sim: Simulation,
    robots: np.ndarray,
    orders: np.ndarray,
    *,
    with_delivery: bool = False,
    age_weight: float = 0.0,
) -> np.ndarray:
    """``(R, O)`` float travel-time costs (``inf`` where a pick is unreachable, or reached only
    through closed cells: :func:`~hierarchy.matching.travel_steps`)."""
    ob = sim.orders
    picks = ob.pick[orders]
    d = travel_steps(sim, picks[None, :], sim.state.pos[robots][:, None])
    if with_delivery:
        drop = drop_steps(sim, picks, ob.station[orders])
        drop[drop >= UNREACHABLE] = np.inf
        d = d + drop[None, :]
    if age_weight:
        d = d - age_weight * (sim.t - ob.arrival[orders])[None, :]
    return d


class HungarianDispatcher:
    """Optimal travel-time assignment of idle robots to open orders (see module docstring)."""

    name = "hungarian"

    def __init__(
        self,
        *,
        lookahead: int = 4,
        with_delivery: bool = False,
        age_weight: float = 0.0,
        anticipate: bool = False,
    ) -> None:
        if lookahead < 1:
            raise ValueError(f"lookahead must be ≥ 1, got {lookahead}")
        if not 0.0 <= age_weight < float("inf"):  # a negative weight would favour new orders
            raise ValueError(f"age_weight must be a finite number ≥ 0, got {age_weight}")
        self.lookahead = lookahead
        self.anticipate = anticipate
        self.with_delivery = with_delivery
        self.age_weight = age_weight

    def reset(self, seed: int | None) -> None:
        pass

    def decide(self, sim: Simulation) -> tuple[np.ndarray, np.ndarray]:
        """The assignment ``(robots, orders)`` it would make now; does not touch ``sim``."""
        robots, orders = sim.idle_robots(), sim.dispatchable_orders()
        if robots.size == 0 or orders.size == 0:
            return np.zeros(0, np.int32), np.zeros(0, np.int32)
        orders = order_pool(sim, robots, self.lookahead * robots.size, anticipate=self.anticipate)
        cost = assignment_costs(
            sim, robots, orders, with_delivery=self.with_delivery, age_weight=self.age_weight
        )
        r, c = solve_assignment(cost, overwrite=True)
        return robots[r], orders[c]

    def dispatch(self, sim: Simulation) -> None:
        robots, orders = self.decide(sim)
        sim.assign(robots, orders)
