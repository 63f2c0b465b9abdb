"""An example package's fleet parts, registered through entry points in the plugin tests.

A package ships parts like these and names them in its ``pyproject.toml``
(:mod:`warehouse.plugins`)::

    [project.entry-points."warehouse_fleet.dispatchers"]
    closest_order = "plugin_example:ClosestOrder"

    [project.entry-points."warehouse_fleet.navigators"]
    dawdler = "plugin_example:Dawdler"

    [project.entry-points."warehouse_fleet.shields"]
    loaded_first = "plugin_example:LoadedFirst"
"""

from __future__ import annotations

from typing import Any

import numpy as np

from agents.rule_based import RuleBasedNavigator
from hierarchy.matching import solve_assignment
from warehouse.core import Simulation
from warehouse.core.physics import resolve_block
from warehouse.floor.kinds import WAIT


class ClosestOrder:
    """Idle robots and the oldest 64 orders a dispatcher may give out now (open, pick and
    station not closed), matched by fewest total steps to the picks."""

    name = "closest_order"

    def __init__(self, **kwargs: Any) -> None:
        pass

    def reset(self, seed: int | None) -> None:
        pass

    def dispatch(self, sim: Simulation) -> None:
        robots, orders = sim.idle_robots(), sim.dispatchable_orders()[:64]
        if robots.size == 0 or orders.size == 0:
            return
        steps = sim.dist.lookup(sim.orders.pick[orders][None, :], sim.state.pos[robots][:, None])
        rows, cols = solve_assignment(steps.astype(np.float64))
        sim.assign(robots[rows], orders[cols])


class Dawdler:
    """The rule-based navigator, but each robot waits a step with probability ``p``. It draws
    from its own generator, seeded in :meth:`reset`, never from the simulation's."""

    name = "dawdler"
    needs_observation = False

    def __init__(self, p: float = 0.2, **kwargs: Any) -> None:
        self.p, self.inner = p, RuleBasedNavigator()
        self.rng = np.random.default_rng(0)

    def reset(self, seed: int | None) -> None:
        self.inner.reset(seed)
        self.rng = np.random.default_rng(None if seed is None else [seed, 0xDA])

    def act(
        self, sim: Simulation, obs: np.ndarray | None, mask: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        actions, prefs = self.inner.act(sim, obs, mask)
        wait = self.rng.random(actions.size) < self.p
        return np.where(wait, WAIT, actions), prefs


class LoadedFirst:
    """The ``block`` shield's rule, but robots carrying an order win conflicts over empty ones
    (then the lower robot id). Robots are put in priority order, resolved, and put back."""

    name = "loaded_first"
    needs_mask = False

    def __call__(
        self,
        sim: Simulation,
        actions: np.ndarray,
        preferences: np.ndarray | None,
        mask: np.ndarray | None,
    ) -> np.ndarray:
        order = np.argsort(~sim.state.carrying, kind="stable")  # loaded robots first
        pos = sim.state.pos[order]
        target = sim.floor.nbr[pos, actions[order]]
        stop = np.empty(actions.size, dtype=bool)
        stop[order] = resolve_block(pos, target, sim.floor.n_nodes)
        return np.where(stop, WAIT, actions)
