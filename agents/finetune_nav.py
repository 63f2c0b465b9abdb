"""The fine-tuned navigator as PPO trained it: robots *sample* their moves from softmax(Q/T).

:class:`SampledPolicy` wraps a navigator network like :class:`~agents.batched.BatchedPolicy`
(one forward pass for the fleet, same preferences for the PIBT shield) but draws each robot's
action from ``softmax(scores / T)`` over its allowed actions instead of taking the argmax. The
draw is the Gumbel-max trick on the policy's own numpy RNG (seeded in :meth:`reset`), vectorized
over robots. ``T`` defaults to the temperature the checkpoint was fine-tuned with
(``extra.finetune.config.temperature``; 1.0 for a checkpoint that was not fine-tuned).

Why it exists: identical deterministic robots facing each other make the same choice forever
(both wait, or both push), so a greedy navigator deadlocks where the sampled one does not; PPO
optimises the sampled policy (measured in docs/results_finetune.md).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np


class SampledPolicy:
    """A navigator sampling from ``softmax(scores / temperature)`` (module docstring)."""

    needs_observation = True

    def __init__(self, base: Any, temperature: float, *, name: str = "cql_ft") -> None:
        if temperature <= 0:
            raise ValueError("temperature must be > 0")
        self.base, self.temperature, self.name = base, float(temperature), name
        self.observation = getattr(base, "observation", None)
        self.rng = np.random.default_rng(0)

    def reset(self, seed: int | None) -> None:
        self.base.reset(seed)
        self.rng = np.random.default_rng(seed)

    def act(self, sim: Any, obs: np.ndarray | None, mask: np.ndarray):  # type: ignore[no-untyped-def]
        _, scores = self.base.act(sim, obs, mask)  # -inf at masked actions
        gumbel = self.rng.gumbel(size=scores.shape)
        actions = (scores / self.temperature + gumbel).argmax(axis=1).astype(np.int64)
        return actions, scores


def finetuned_navigator(
    *,
    checkpoint: str | Path | None = None,
    device: str | None = None,
    temperature: float | None = None,
    **_: object,
) -> SampledPolicy:
    """Factory: the shipped CQL weights or ``checkpoint``, sampled at the checkpoint's
    fine-tuning temperature (or ``temperature``)."""
    from .checkpoint import read_checkpoint
    from .learned import DEFAULT_WEIGHTS, load_learned_navigator

    path = checkpoint if checkpoint is not None else DEFAULT_WEIGHTS / "cql.json"
    base = load_learned_navigator(None, path, device=device)
    if temperature is None:
        meta, _ = read_checkpoint(path)
        ft = meta.get("extra", {}).get("finetune") or {}
        temperature = float((ft.get("config") or {}).get("temperature", 1.0))
    return SampledPolicy(base, temperature)
