"""The learned dispatcher: the PPO candidate scorer behind the Dispatcher protocol.

At each decision event of its :class:`~hierarchy.smdp.DecisionClock` every idle robot scores
its ``K`` nearest candidate orders and WAIT; it takes the best (``deterministic=True``, the
default for evaluation) or samples (its own seeded generator). Conflicts go to the nearer robot.
Taking the best, the network scores only the robots whose choice can win an order
(:mod:`hierarchy.winners`): the same assignments, for a fraction of the robots on a big floor
with few open orders.

``ppo`` in :data:`hierarchy.DISPATCHERS` loads the shipped weights
``hierarchy/weights/ppo_dispatcher.{safetensors,json}``; pass ``checkpoint=`` for another policy.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import torch

from .checkpoint import load_policy, policy_stem
from .features import (
    Decision,
    FeatureConfig,
    apply_decision,
    decision_features,
    resolve_conflicts,
)
from .network import Scorer
from .smdp import DecisionClock
from .winners import greedy_choices, padded

if TYPE_CHECKING:
    from warehouse.core import Simulation

WEIGHTS_DIR = Path(__file__).resolve().parent / "weights"
DEFAULT_WEIGHTS = WEIGHTS_DIR / "ppo_dispatcher.json"


class PPODispatcher:
    """Dispatch with a trained :class:`~hierarchy.network.CandidateScorer` (or an ensemble)."""

    name = "ppo"

    def __init__(
        self,
        net: Scorer,
        features: FeatureConfig,
        *,
        period: int = 10,
        deterministic: bool = True,
        anticipate: bool = False,
    ) -> None:
        self.net = net.eval()
        self.features = features
        self.anticipate = anticipate  #: hold orders for finishing robots (hierarchy.anticipation)
        self.clock = DecisionClock(period)
        self.deterministic = deterministic
        self.gen = torch.Generator().manual_seed(0)
        self.source: Path | None = None  #: the policy JSON (set by :meth:`load`)

    @classmethod
    def load(
        cls, checkpoint: str | Path | None = None, *, lookahead: int | None = None, **kw: bool
    ) -> PPODispatcher:
        """The policy of ``checkpoint`` (default: the shipped weights); ``lookahead`` replaces
        its order pool (the oldest ``lookahead`` × deciding robots open orders)."""
        net, features, period, _ = load_policy(checkpoint or DEFAULT_WEIGHTS)
        if lookahead is not None:
            if lookahead < 1:
                raise ValueError("lookahead must be ≥ 1")
            features = replace(features, lookahead=int(lookahead))
        policy = cls(net, features, period=period, **kw)
        #: the policy JSON it was loaded from (reports name the weights they ran)
        policy.source = policy_stem(checkpoint or DEFAULT_WEIGHTS).with_suffix(".json")
        return policy

    def reset(self, seed: int | None) -> None:
        self.clock.reset()
        # (torch seeds are below 2**63; any whole seed the simulation takes is fine here)
        seed = 0 if seed is None else (int(seed) * 7919 + 0xD15) % 2**63
        self.gen = torch.Generator().manual_seed(seed)

    def probabilities(self, sim: Simulation) -> tuple[Decision, np.ndarray]:
        """The decision features and ``(R, K+1)`` action probabilities now (pure)."""
        decision = self._features(sim)
        if decision.robots.size == 0:
            return decision, np.zeros((0, self.features.slots + 1), np.float32)
        return decision, self._probs(decision, np.arange(decision.robots.size))

    def _features(self, sim: Simulation) -> Decision:
        return decision_features(sim, sim.idle_robots(), self.features, anticipate=self.anticipate)

    def _probs(self, decision: Decision, rows: np.ndarray) -> np.ndarray:
        """``(len(rows), K+1)`` action probabilities of the deciding robots ``rows``."""
        with torch.no_grad():
            logits = self.net.logits(
                torch.from_numpy(decision.cand[rows]),
                torch.from_numpy(decision.glob)[None].expand(rows.size, -1),
                torch.from_numpy(decision.mask[rows]),
            )
            return torch.softmax(logits, dim=-1).numpy()

    def _best_slots(self, decision: Decision, rows: np.ndarray) -> np.ndarray:
        """The most probable slot of each of the deciding robots ``rows`` (scored in a set of
        at least :data:`~hierarchy.winners.MIN_ROWS` rows, as :mod:`hierarchy.winners` needs)."""
        return self._probs(decision, padded(rows)).argmax(axis=1)[: rows.size]

    def _choose(self, sim: Simulation) -> tuple[Decision, np.ndarray | None]:
        decision = self._features(sim)
        if decision.robots.size == 0 or sim.dispatchable_orders().size == 0:
            return decision, None
        if self.deterministic:  # only the robots whose choice can win an order are scored
            return decision, greedy_choices(decision, lambda rows: self._best_slots(decision, rows))
        probs = self._probs(decision, np.arange(decision.robots.size))
        choice = torch.multinomial(torch.from_numpy(probs), 1, generator=self.gen)
        return decision, choice.squeeze(-1).numpy()

    def decide(self, sim: Simulation) -> tuple[np.ndarray, np.ndarray]:
        """The assignment ``(robots, orders)`` it would make now (hub routes left out); does
        not touch ``sim``."""
        decision, choice = self._choose(sim)
        if choice is None:
            return np.zeros(0, np.int32), np.zeros(0, np.int32)
        return resolve_conflicts(decision, choice)

    def dispatch(self, sim: Simulation) -> None:
        if not self.clock.due(sim):
            return
        decision, choice = self._choose(sim)
        if choice is not None:
            apply_decision(sim, decision, choice)  # assigns, and routes hub choices
        self.clock.mark(sim)


def make_ppo_dispatcher(
    checkpoint: str | Path | None = None, *, lookahead: int | None = None, **kw: bool
) -> PPODispatcher:
    """Factory used by :data:`hierarchy.DISPATCHERS` (shipped weights by default)."""
    return PPODispatcher.load(checkpoint, lookahead=lookahead, **kw)
