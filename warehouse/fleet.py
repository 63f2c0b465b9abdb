"""One fleet step: dispatcher → observation → navigator → shield and physics.

:class:`Fleet` couples a :class:`~warehouse.core.Simulation` with a dispatcher and a navigator.
The Mesa model, the visualizer, data collection and the benchmarks all step a fleet through it,
so the order of the decision layers exists once.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from .core import Observer, Simulation, StepResult
from .core.simulation import AssignError
from .errors import PartError

#: a navigator's decision a step cannot take (wrong shape or type)
DecisionError = PartError


@dataclass(frozen=True)
class FleetStep:
    """Everything decided and observed in one step (for inspectors, loggers and datasets)."""

    obs: np.ndarray | None  #: (N, D) observations the navigator saw (None if it needs none)
    mask: np.ndarray  #: (N, A) action mask
    proposed: np.ndarray  #: (N,) navigator actions before the shield
    preferences: np.ndarray  #: (N, A) navigator scores
    result: StepResult  #: what the simulation did (``result.actions`` after the shield)


class Fleet:
    """A simulation driven by a dispatcher (may be ``None``) and a navigator."""

    def __init__(self, sim: Simulation, dispatcher: Any, navigator: Any) -> None:
        self.sim = sim
        self.dispatcher = dispatcher
        self.navigator = navigator
        # A navigator may bring its own observation layout (``navigator.observation``).
        self.observer = Observer(sim, getattr(navigator, "observation", None))
        self.last: FleetStep | None = None

    def reset(self, seed: int | None) -> None:
        """Reset the simulation and re-seed the policies' own RNGs from ``seed`` (``None``:
        from the seed the simulation drew, so a seedless reset continues every stream)."""
        self.sim.reset(seed)
        seed = self.sim.seed
        self.navigator.reset(seed)
        if self.dispatcher is not None:
            self.dispatcher.reset(seed)
        self.last = None

    def step(self) -> FleetStep:
        sim = self.sim
        if self.dispatcher is not None:
            run_dispatcher(self.dispatcher, sim)
        obs = self.observer() if self.navigator.needs_observation else None
        mask = sim.action_mask()
        actions, prefs = check_decision(
            self.navigator, self.navigator.act(sim, obs, mask), mask.shape
        )
        result = sim.step(actions, prefs)
        self.last = FleetStep(
            obs=obs, mask=mask, proposed=actions, preferences=prefs, result=result
        )
        return self.last

    def run(self, steps: int, *, stop_when_solved: bool = False) -> int:
        """Take ``steps`` steps, or with ``stop_when_solved`` (a scenario's
        ``episode.stop_when_solved``) stop after the first step at which the one-shot instance is
        solved (:meth:`Simulation.solved`, the env's termination); returns the steps taken."""
        for t in range(steps):
            self.step()
            if stop_when_solved and self.sim.solved():
                return t + 1
        return steps


def run_dispatcher(dispatcher: Any, sim: Simulation) -> None:
    """``dispatcher.dispatch(sim)``; an assignment the simulation refuses (an order given
    twice, a busy robot, ids that are not integers) is the one-line :class:`PartError` naming
    the dispatcher (its ``__cause__`` the simulation's :class:`AssignError`)."""
    try:
        dispatcher.dispatch(sim)
    except AssignError as exc:
        name = getattr(dispatcher, "name", type(dispatcher).__name__)
        raise PartError(f"dispatcher {name!r}", str(exc)) from exc


def check_decision(navigator: Any, decision: Any, shape: tuple[int, int]) -> tuple[Any, Any]:
    """A navigator's ``(actions (N,) of integers, preferences (N, A) or None)``, or the one-line
    :class:`DecisionError` naming it."""
    name = getattr(navigator, "name", type(navigator).__name__)
    where = f"navigator {name!r}"
    if not isinstance(decision, tuple | list) or len(decision) != 2:
        raise DecisionError(
            where,
            f"act(sim, obs, mask) returned {type(decision).__name__}, expected a pair "
            "(actions, preferences or None)",
        )
    actions, prefs = decision
    if np.shape(actions) != shape[:1]:
        raise DecisionError(
            where,
            f"returned actions of shape {np.shape(actions)}, expected {shape[:1]} (one per robot)",
        )
    if np.size(actions) and np.asarray(actions).dtype.kind not in "iu":
        raise DecisionError(
            where,
            f"returned actions of dtype {np.asarray(actions).dtype}, expected integers "
            "(action indices)",
        )
    if prefs is not None and np.shape(prefs) != shape:
        raise DecisionError(
            where,
            f"returned preferences of shape {np.shape(prefs)}, expected {shape} (robots × "
            "actions) or None",
        )
    if prefs is not None and np.asarray(prefs).dtype.kind not in "biuf":
        raise DecisionError(
            where,
            f"returned preferences of dtype {np.asarray(prefs).dtype}, expected numbers "
            "(one score per robot and action)",
        )
    return actions, prefs
