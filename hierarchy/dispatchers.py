"""Classical dispatchers: decide which idle robot serves which open order.

A dispatcher is called once per step with the simulation and acts only at events (an idle robot
and an open order both exist); it writes its decisions through :meth:`Simulation.assign` and
:meth:`Simulation.set_waypoints`. In ``goal_visit`` mode there is nothing to dispatch.

Every dispatcher chooses among :meth:`Simulation.dispatchable_orders`: the open orders less those
whose pick location or station is closed now (``faults.closures``), which wait for their cells
to reopen. Without such closures these are all the open orders (:meth:`Simulation.open_orders`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol

import numba
import numpy as np

from .anticipation import order_pool
from .factories import hungarian_factory, ppo_factory
from .matching import by_goal_parts, travel_steps

if TYPE_CHECKING:
    from warehouse.core import Simulation


class Dispatcher(Protocol):
    name: str

    def reset(self, seed: int | None) -> None: ...

    def dispatch(self, sim: Simulation) -> None: ...


@numba.njit(cache=True)
def greedy_match(cost: np.ndarray) -> np.ndarray:  # pragma: no cover - compiled
    """For each row (order, oldest first) take the cheapest unused column (robot).

    Returns the chosen column per row, -1 when no column is left.
    """
    n_rows, n_cols = cost.shape
    used = np.zeros(n_cols, dtype=np.bool_)
    out = np.full(n_rows, -1, dtype=np.int64)
    left = n_cols
    for i in range(n_rows):
        if left == 0:
            break
        best, arg = np.iinfo(np.int64).max, -1
        for j in range(n_cols):
            if not used[j] and cost[i, j] < best:
                best, arg = cost[i, j], j
        if arg >= 0:
            used[arg] = True
            out[i] = arg
            left -= 1
    return out


def busy_count(sim: Simulation) -> np.ndarray:
    """``(N,)`` int64 per robot: steps with a task, broken down or on battery business, and
    depletions so far. A robot idle at two moments was busy in between iff its count changed."""
    s = sim.state
    return s.busy_steps + s.broken_steps + s.charge_steps + s.depletions


class GreedyDispatcher:
    """Oldest open order first, each to the nearest idle robot (travel steps on the floor)."""

    name = "greedy"

    def __init__(self, *, lookahead: int = 4, anticipate: bool = False) -> None:
        if lookahead < 1:
            raise ValueError(f"lookahead must be ≥ 1, got {lookahead}")
        self.lookahead = lookahead  #: consider at most lookahead × idle robots oldest orders
        self.anticipate = anticipate  #: hold orders for finishing robots (hierarchy.anticipation)

    def reset(self, seed: int | None) -> None:
        pass

    def dispatch(self, sim: Simulation) -> None:
        robots, orders = sim.idle_robots(), sim.dispatchable_orders()
        if robots.size == 0 or orders.size == 0:
            return
        pool = order_pool(sim, robots, self.lookahead * robots.size, anticipate=self.anticipate)
        if pool.size:
            assign_nearest(sim, robots, pool)


def never_where_unreached(cost: np.ndarray, steps: np.ndarray) -> np.ndarray:
    """``cost`` as int64, with the pairs ``steps`` cannot reach (``inf``:
    :func:`~hierarchy.matching.travel_steps`) at a cost :func:`greedy_match` never takes."""
    reach = np.isfinite(steps)
    out = np.where(reach, cost, 0).astype(np.int64)
    out[~reach] = np.iinfo(np.int64).max
    return out


def assign_nearest(sim: Simulation, robots: np.ndarray, orders: np.ndarray) -> None:
    """Each of ``orders`` in turn (oldest first) to the nearest of ``robots`` still free that
    reaches its pick (:func:`~hierarchy.matching.travel_steps`); an order none reaches stays
    open."""
    picks = sim.orders.pick[orders]
    if sim.dist.closed_any:
        steps = travel_steps(sim, picks[:, None], sim.state.pos[robots][None, :])
        cost = never_where_unreached(steps, steps)
    else:  # (the hot path: compiled floors are connected, every pair is reached)
        nodes = sim.state.pos[robots][None, :]
        cost = by_goal_parts(sim.dist.lookup, sim.dist.capacity, picks[:, None], nodes)
        cost = cost.astype(np.int64)
    choice = greedy_match(cost)
    ok = choice >= 0
    sim.assign(robots[choice[ok]], orders[ok])


class FIFODispatcher:
    """Oldest open order to the robot that has been idle longest (ties: lowest id); while
    closures are in force, the longest idle that reaches its pick around them.

    *Idle* counts from when the robot last became available to dispatchers: its task done,
    repaired, back from charging. It watches the fleet at every call, so reaching a sub-goal
    while idle (a parking spot, an evacuation) does not restart it, as it restarts
    ``since_goal``. A robot idle when first seen (a new episode) counts from its last goal."""

    name = "fifo"

    def __init__(self) -> None:
        self.reset(None)

    def reset(self, seed: int | None) -> None:
        self._since = np.zeros(0, dtype=np.int64)  #: per robot: idle since this step
        self._idle = np.zeros(0, dtype=bool)  #: per robot: idle at the last call
        self._busy = np.zeros(0, dtype=np.int64)  #: :func:`busy_count` at the last call
        self._t = -1  #: the clock of the last call

    def idle_since(self, sim: Simulation) -> np.ndarray:
        """``(N,)`` int64: the step since which each robot has been idle (watching ``sim``);
        meaningless for robots not idle now."""
        idle = np.zeros(sim.n_robots, dtype=bool)
        idle[sim.idle_robots()] = True
        busy = busy_count(sim)
        if self._since.size != sim.n_robots or sim.t < self._t:  # first sight: its last goal
            self._since = sim.t - sim.state.since_goal.astype(np.int64)
        else:  # newly idle, or busy and idle again since the last call
            self._since[idle & (~self._idle | (busy != self._busy))] = sim.t
        self._idle, self._busy, self._t = idle, busy, sim.t
        return self._since

    def dispatch(self, sim: Simulation) -> None:
        since = self.idle_since(sim)
        robots, orders = sim.idle_robots(), sim.dispatchable_orders()
        k = min(robots.size, orders.size)
        if k == 0:
            return
        ranked = robots[np.lexsort((robots, since[robots]))]
        if not sim.dist.closed_any:
            sim.assign(ranked[:k], orders[:k])
            return
        # closures may cut pairs off: each order in turn to the robot idle longest that reaches it
        steps = travel_steps(sim, sim.orders.pick[orders][:, None], sim.state.pos[ranked][None, :])
        cost = never_where_unreached(np.arange(ranked.size)[None, :], steps)  # idle rank
        choice = greedy_match(cost)
        ok = choice >= 0
        sim.assign(ranked[choice[ok]], orders[ok])


class RandomDispatcher:
    """Random idle robots to random open orders (its own RNG, seeded per run); while closures
    are in force, at random among the pairs that reach their pick around them."""

    name = "random"

    def __init__(self, *, seed: int | None = None) -> None:
        self.rng = np.random.default_rng(seed)

    def reset(self, seed: int | None) -> None:
        self.rng = np.random.default_rng(None if seed is None else [seed, 0xD15])

    def dispatch(self, sim: Simulation) -> None:
        robots, orders = sim.idle_robots(), sim.dispatchable_orders()
        k = min(robots.size, orders.size)
        if k == 0:
            return
        robots, orders = self.rng.permutation(robots), self.rng.permutation(orders)
        if not sim.dist.closed_any:
            sim.assign(robots[:k], orders[:k])
            return
        # closures may cut pairs off: each order in turn to the first robot left that reaches
        # it (the same pairs as above where every pair is reached)
        steps = travel_steps(sim, sim.orders.pick[orders][:, None], sim.state.pos[robots][None, :])
        cost = never_where_unreached(np.arange(robots.size)[None, :], steps)
        choice = greedy_match(cost)
        ok = choice >= 0
        sim.assign(robots[choice[ok]], orders[ok])


#: name -> factory(**kwargs); learned dispatchers accept ``checkpoint=``.
DISPATCHERS: dict[str, Callable[..., Dispatcher]] = {
    "greedy": GreedyDispatcher,
    "fifo": FIFODispatcher,
    "random": RandomDispatcher,
    "hungarian": hungarian_factory,
    "ppo": ppo_factory,  # shipped weights: hierarchy/weights/ppo_dispatcher.{json,safetensors}
}

#: the dispatchers that run the network of a ``checkpoint=`` (``policies.dispatcher_checkpoint``)
CHECKPOINT_DISPATCHERS = frozenset({"ppo"})


def make_dispatcher(name: str, **kwargs: Any) -> Dispatcher:
    """Build a dispatcher by name; ``kwargs`` (e.g. ``checkpoint=``) go to its factory."""
    try:
        factory = DISPATCHERS[name]
    except KeyError:
        raise ValueError(f"unknown dispatcher {name!r}; known: {sorted(DISPATCHERS)}") from None
    return factory(**kwargs)
