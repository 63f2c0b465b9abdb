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

The same wrapper deploys the *offline* CQL navigator as a Boltzmann policy: ``cql_sampled`` samples
the shipped (or given) CQL network at :data:`DEPLOY_TEMPERATURE`. Without a shield this breaks
the greedy network's retry loops: on held-out floors it collides 20–51 % less than ``cql`` at
higher throughput (docs/results.md). Under the PIBT shield it is about the same as ``cql``.
"""

from __future__ import annotations

import math
import numbers
from pathlib import Path
from typing import Any

import numpy as np


def _finite_positive(value: object) -> bool:
    """Whether ``value`` is a number (not a bool), finite and > 0."""
    return (
        isinstance(value, numbers.Real)
        and not isinstance(value, bool)
        and math.isfinite(value)
        and float(value) > 0
    )


class SampledPolicy:
    """A navigator sampling from ``softmax(scores / temperature)`` (module docstring)."""

    needs_observation = True

    def __init__(self, base: Any, temperature: float, *, name: str = "cql_ft") -> None:
        if not _finite_positive(temperature):
            # inf would turn masked actions' -inf into NaN, which argmax picks; NaN, every WAIT
            raise ValueError(f"temperature must be a finite number > 0, got {temperature!r}")
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


#: temperature of ``cql_sampled``: chosen on the training floors ``small`` and ``one_way_aisles``
#: (seeds 10–14, not the held-out evaluation) among 0.05, 0.1, 0.25, 0.5 and 1.0
DEPLOY_TEMPERATURE = 0.5


def sampled_cql_navigator(
    *,
    checkpoint: str | Path | None = None,
    device: str | None = None,
    temperature: float = DEPLOY_TEMPERATURE,
    lane_view: bool = True,
    **_: object,
) -> SampledPolicy:
    """Factory: the offline CQL network (shipped weights or ``checkpoint``) sampled from
    ``softmax(Q̄/temperature)``."""
    return _sampled("cql", checkpoint, device, temperature, lane_view)


def sampled_bc_navigator(
    *,
    checkpoint: str | Path | None = None,
    device: str | None = None,
    temperature: float = DEPLOY_TEMPERATURE,
    lane_view: bool = True,
    **_: object,
) -> SampledPolicy:
    """Factory: the BC network (shipped weights or ``checkpoint``) sampled from
    ``softmax(logits/temperature)``, the baseline deployed like ``cql_sampled``."""
    return _sampled("bc", checkpoint, device, temperature, lane_view)


def _sampled(
    weights: str,
    checkpoint: str | Path | None,
    device: str | None,
    temperature: float,
    lane_view: bool,
) -> SampledPolicy:
    from .learned import DEFAULT_WEIGHTS, load_learned_navigator

    path = checkpoint if checkpoint is not None else DEFAULT_WEIGHTS / f"{weights}.json"
    base = load_learned_navigator(None, path, device=device, lane_view=lane_view)
    return SampledPolicy(base, temperature, name=f"{weights}_sampled")


def finetuned_navigator(
    *,
    checkpoint: str | Path | None = None,
    device: str | None = None,
    temperature: float | None = None,
    lane_view: bool = True,
    **_: object,
) -> SampledPolicy:
    """Factory: the shipped CQL weights or ``checkpoint``, sampled at the checkpoint's
    fine-tuning temperature (or ``temperature``)."""
    from .checkpoint import read_checkpoint
    from .learned import DEFAULT_WEIGHTS, load_learned_navigator

    path = checkpoint if checkpoint is not None else DEFAULT_WEIGHTS / "cql.json"
    base = load_learned_navigator(None, path, device=device, lane_view=lane_view)
    if temperature is None:
        temperature = finetuning_temperature(path, read_checkpoint(path)[0])
    return SampledPolicy(base, temperature)


def finetuning_temperature(path: str | Path, meta: dict[str, Any]) -> float:
    """The temperature a checkpoint was fine-tuned with (``extra.finetune.config.temperature``;
    1.0 for one that was not fine-tuned); a value no policy can sample at is an
    :class:`~warehouse.errors.InputError` naming the checkpoint and the field."""
    from warehouse.errors import InputError

    from .checkpoint import resolve

    source = resolve(path).with_suffix(".json")
    section: Any = meta
    keys: list[str] = []
    for key in ("extra", "finetune", "config"):
        section = section.get(key)
        keys.append(key)
        if section is None:
            return 1.0  # not fine-tuned: softmax(Q)
        if not isinstance(section, dict):
            raise InputError(source, ".".join(keys), f"expected an object, got {section!r}")
    field = ".".join(keys)
    value = section.get("temperature", 1.0)
    if not _finite_positive(value):
        raise InputError(
            source, f"{field}.temperature", f"expected a finite number > 0, got {value!r}"
        )
    return float(value)
