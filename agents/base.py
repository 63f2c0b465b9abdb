"""The navigator protocol shared by rule-based and learned navigation policies."""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol, runtime_checkable

import numpy as np

if TYPE_CHECKING:
    from warehouse.core import Simulation


@runtime_checkable
class Navigator(Protocol):
    """Decides every robot's next move in one batched call."""

    name: str
    #: True when :meth:`act` needs the egocentric observation array (learned policies).
    needs_observation: bool

    def reset(self, seed: int | None) -> None:
        """Re-seed any randomness of the policy itself (never the simulation's RNG)."""

    def act(
        self, sim: Simulation, obs: np.ndarray | None, mask: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """Return ``(actions (N,), preferences (N, A))`` for the whole fleet."""
        ...


def masked_argmax(scores: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Row-wise argmax over allowed actions (first index wins ties)."""
    return np.where(mask, scores, -np.inf).argmax(axis=1)
