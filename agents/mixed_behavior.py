"""Mixed behaviour fleets: logged data from the states a learned navigator visits (DAgger-style).

An offline dataset logged by a rule-based fleet only shows the states that fleet visits. A
network trained on it makes small mistakes in the closed loop, drifts into states the data never
show (a robot that keeps pushing into a train that does not move), and has no data on what
those mistakes cost. The cure from imitation learning (DAgger; Ross, Gordon & Bagnell, 2011) is
to collect more data in the states the learned policy itself reaches, and train again on the
union.

:class:`MixedNavigator` is that collection fleet. Per robot and step it takes the learned
network's move (sampled from ``softmax(Q / temperature)``) with probability ``share`` and the
base navigator's move otherwise; the collector's ε-random moves go on top. Every transition
logs the EXECUTED move, so CQL sees the learned robots' own moves with their rewards (its
failed pushes and their collision penalty) next to the rule's moves from the same states.
Data from several rounds (collect with round ``k``'s network, train round ``k + 1`` on the
union) are trained on together with ``warehouse train-navigator --data A,B,...``::

    warehouse collect tiny,small --seeds 4,5 --steps 1000 --intent \\
        --learned runs/r0/model.json --learned-share 0.7 --out runs/r1_data

Both navigators decide on the same state in one batched call each; the choice between them is
one vectorized draw on the navigator's own RNG (seeded in :meth:`MixedNavigator.reset`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from warehouse.errors import InputError


class MixedNavigator:
    """Per robot and step: the learned move with probability ``share``, else the base move."""

    needs_observation = True

    def __init__(self, base: Any, learned: Any, share: float) -> None:
        if not 0.0 <= share <= 1.0:
            raise ValueError("share must be in [0, 1]")
        self.base, self.learned, self.share = base, learned, float(share)
        self.observation = learned.observation
        self.name = f"{base.name}+{learned.name}{share:g}"
        self.rng = np.random.default_rng(0)

    def reset(self, seed: int | None) -> None:
        self.base.reset(seed)
        self.learned.reset(None if seed is None else seed + 0x1EA2)
        self.rng = np.random.default_rng(None if seed is None else [seed, 0x313D])

    def act(self, sim: Any, obs: np.ndarray | None, mask: np.ndarray):  # type: ignore[no-untyped-def]
        base_actions, base_prefs = self.base.act(sim, obs, mask)
        learned_actions, scores = self.learned.act(sim, obs, mask)
        pick = self.rng.random(len(base_actions)) < self.share
        actions = np.where(pick, learned_actions, base_actions).astype(np.int64)
        # each robot's fallback ranking (for a shield) comes from the navigator that moved it
        prefs = scores if base_prefs is None else np.where(pick[:, None], scores, base_prefs)
        return actions, prefs


def learned_behavior(checkpoint: str | Path, temperature: float) -> Any:
    """The learned half of a mixed fleet: ``checkpoint``'s network sampled at ``temperature``
    on the CPU (deterministic given the episode seed)."""
    from .finetune_nav import SampledPolicy
    from .learned import load_learned_navigator

    path = Path(checkpoint)
    if not path.with_suffix(".json").is_file():
        raise InputError(path, "--learned", "no such checkpoint (give its .json)")
    base = load_learned_navigator(None, path, device="cpu")
    return SampledPolicy(base, temperature, name="learned")
