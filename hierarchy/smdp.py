"""The semi-Markov decision layer: when the dispatcher decides, and what happens in between.

:class:`DecisionClock` says when a decision is due: there is an idle (working) robot and an open
order it may take (:meth:`~warehouse.core.Simulation.dispatchable_orders`: not one whose pick
location or station is closed), and since the last decision a robot became idle (finished a
task, or was repaired; also one idle at the last decision that was busy in between on another
part's account: an order from the starvation guard or a task swap, a breakdown, a charge, or
shut in by the closures: ``Simulation.shut_in``), a robot reached its waypoint sub-goal (a hub
route, ``--routes``), an order arrived, an order held because its pick location or station was
closed became dispatchable (its cells reopened: ``faults.closures``), cells or edges reopened
for a robot idle at the last decision on a closed cell from which it reached no such order (its
way out led only into a part the closures cut off), or ``period`` steps passed. The learned
dispatcher uses the same clock when it runs inside a :class:`~warehouse.fleet.Fleet`, so
training and evaluation decide at the same moments.

:class:`DispatchEnv` wraps a fleet with no dispatcher: the caller applies a decision, then
:meth:`DispatchEnv.advance` lets the navigator and the shield run the floor until the next
decision is due (or the episode ends), summing the team reward with semi-Markov discounting::

    R = Σ_{j<τ} γ^j r_{t+j}
    r_t = w_delivery · deliveries − w_delay · undelivered orders · step_seconds
          − w_collision · collision incidents − w_energy · metres travelled
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from warehouse.core import Simulation, StepResult
from warehouse.core.closures import open_since
from warehouse.fleet import Fleet

from .dispatchers import busy_count
from .features import Decision, FeatureConfig, apply_decision, decision_features
from .matching import by_goal_parts
from .swaps import TaskSwaps


@dataclass(frozen=True, kw_only=True)
class RewardWeights:
    delivery: float = 1.0  #: per delivered order
    delay: float = 0.001  #: per undelivered order per simulated second (order age)
    collision: float = 0.2  #: per collision incident
    energy: float = 0.002  #: per metre travelled by the fleet

    def __post_init__(self) -> None:
        for name, value in self.to_dict().items():
            if not (math.isfinite(value) and value >= 0):
                raise ValueError(f"reward weight {name} must be a finite number ≥ 0, got {value}")

    def to_dict(self) -> dict[str, float]:
        return asdict(self)


def team_reward(sim: Simulation, result: StepResult, w: RewardWeights) -> float:
    """The dispatcher's reward for one simulation step (module docstring)."""
    undelivered = sim.orders.count - int(sim.state.deliveries.sum())
    return (
        w.delivery * float(result.delivered.sum())
        - w.delay * max(undelivered, 0) * sim.config.physics.step_seconds
        - w.collision * float(result.incidents)
        - w.energy * float(result.moved_m.sum())
    )


class DecisionClock:
    """Decides *when* to dispatch (module docstring)."""

    def __init__(self, period: int = 10) -> None:
        if period < 1:  # with 0 a decision would be due again before any step ran
            raise ValueError(f"period must be ≥ 1, got {period}")
        self.period = int(period)
        self.reset()

    def reset(self) -> None:
        self._idle: np.ndarray | None = None
        self._busy: np.ndarray | None = None
        self._shut: np.ndarray | None = None
        self._routed: np.ndarray | None = None
        self._stranded: np.ndarray | None = None
        self._closed: np.ndarray | None = None
        self._mask: np.ndarray | None = None
        self._orders = -1
        self._t = -(10**9)

    def due(self, sim: Simulation) -> bool:
        """Whether a decision is due now (module docstring). Asked after every step: it also
        notes the robots shut in by the closures (``Simulation.shut_in``) since the last
        decision, which no counter records."""
        if self._shut is not None and sim.shut_in is not None:
            self._shut |= sim.shut_in[sim.state.pos]
        idle = sim.idle_robots()
        orders = sim.dispatchable_orders()
        if idle.size == 0 or orders.size == 0:
            return False
        if self._idle is None or sim.t - self._t >= self.period:
            return True
        if sim.orders.count != self._orders:
            return True
        if sim.order_closures_possible and (open_since(sim, orders) > self._t).any():
            return True  # held orders became dispatchable: their cells reopened (like arrivals)
        if self._stranded is not None and self._stranded[idle].any() and self._reopened(sim):
            return True  # cells reopened for a robot on a closed one that reached no order
        if self._routed is not None and (self._routed & (sim.state.waypoint < 0)).any():
            return True  # a robot reached (or dropped) its waypoint sub-goal
        if (~self._idle[idle]).any():
            return True
        if self._shut is not None and self._shut[idle].any():
            return True  # idle at the last decision, shut in by the closures since, let out
        # idle at the last decision, busy in between (not on the dispatcher's account), idle again
        return self._busy is not None and bool((busy_count(sim)[idle] != self._busy[idle]).any())

    def mark(self, sim: Simulation) -> None:
        """Record that a decision was just applied (robots still idle chose to wait)."""
        idle = np.zeros(sim.n_robots, dtype=bool)
        idle[sim.idle_robots()] = True
        self._idle = idle
        self._busy = busy_count(sim)
        self._shut = np.zeros(sim.n_robots, dtype=bool)
        routed = sim.state.waypoint >= 0
        self._routed = routed if routed.any() else None
        self._orders = sim.orders.count
        self._t = sim.t
        self._stranded = self._closed = self._mask = None
        dist = sim.dist
        on = np.flatnonzero(idle & dist.closed[sim.state.pos]) if dist.closed_any else None
        if on is not None and on.size:  # idle on a closed cell: which orders does it reach?
            picks = sim.orders.pick[sim.dispatchable_orders()]
            nodes = sim.state.pos[on][:, None]
            none = ~by_goal_parts(dist.reaches, dist.capacity, picks[None, :], nodes).any(axis=1)
            if none.any():  # (each array is replaced when the closures change: set_closed)
                self._stranded = np.zeros(sim.n_robots, dtype=bool)
                self._stranded[on[none]] = True
                self._closed, self._mask = dist.closed, dist.mask

    def _reopened(self, sim: Simulation) -> bool:
        """Whether a cell or edge the scheduled closures closed at the last decision is open
        now."""
        dist = sim.dist
        if dist.closed is self._closed and dist.mask is self._mask:
            return False  # (``set_closed`` replaces both arrays whenever the closures change)
        assert self._closed is not None and self._mask is not None
        return bool((self._closed & ~dist.closed).any() or (dist.mask & ~self._mask).any())


class NoDispatch:
    """A dispatcher that assigns nothing (the caller of :class:`DispatchEnv` does)."""

    name = "none"

    def reset(self, seed: int | None) -> None:
        pass

    def dispatch(self, sim: Simulation) -> None:
        pass


@dataclass(frozen=True)
class Advance:
    reward: float  #: discounted reward summed over the elapsed steps
    tau: int  #: steps elapsed
    done: bool  #: the episode ended (horizon reached)
    raw_reward: float  #: undiscounted sum (for logging)


class DispatchEnv:
    """A fleet whose dispatching is done by the caller at decision events (module docstring)."""

    def __init__(
        self,
        sim: Simulation,
        navigator: Any,
        *,
        features: FeatureConfig | None = None,
        weights: RewardWeights | None = None,
        period: int = 10,
        horizon: int = 500,
        gamma: float = 0.995,
        task_swaps: bool = False,
        anticipate: bool = False,
    ) -> None:
        self.sim = sim
        #: candidates leave out the orders held for robots finishing a delivery, as the
        #: dispatchers do with ``policies.anticipate`` (hierarchy/anticipation.py)
        self.anticipate = anticipate
        # with task swaps the fleet's own dispatcher only trades orders between robots (after
        # each decision, and every ``period`` steps); the caller still makes every assignment
        swaps = TaskSwaps(NoDispatch(), period=period) if task_swaps else None
        self.fleet = Fleet(sim, swaps, navigator)
        self.features = features or FeatureConfig()
        self.weights = weights or RewardWeights()
        self.clock = DecisionClock(period)
        self.horizon = int(horizon)
        self.gamma = float(gamma)
        self.decision: Decision | None = None

    def reset(self, seed: int | None) -> bool:
        """Start an episode and run to the first decision; False if the episode ended first."""
        self.fleet.reset(seed)
        self.clock.reset()
        return not self.advance().done

    def observe(self) -> Decision:
        """Features of the pending decision (every idle working robot decides)."""
        self.decision = decision_features(
            self.sim, self.sim.idle_robots(), self.features, anticipate=self.anticipate
        )
        return self.decision

    def apply(self, choice: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Apply per-robot choices of the last :meth:`observe` (``K`` = WAIT)."""
        if self.decision is None:
            raise RuntimeError("observe() before apply()")
        robots, orders = apply_decision(self.sim, self.decision, choice)
        self.clock.mark(self.sim)
        self.decision = None
        return robots, orders

    def advance(self) -> Advance:
        """Step the floor until a decision is due or the horizon is reached. Right after
        :meth:`apply` no decision is due, so at least one step runs."""
        sim, total, raw, tau = self.sim, 0.0, 0.0, 0
        while sim.t < self.horizon and not self.clock.due(sim):
            result = self.fleet.step().result
            r = team_reward(sim, result, self.weights)
            total += self.gamma**tau * r
            raw += r
            tau += 1
        return Advance(reward=total, tau=tau, done=sim.t >= self.horizon, raw_reward=raw)
