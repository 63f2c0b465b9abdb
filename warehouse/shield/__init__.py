"""Safety shields: filters between what a navigator proposes and what reaches the floor.

A shield is a callable ``shield(sim, actions, preferences, mask) -> actions`` that returns a
joint action the physics can execute without conflicts. ``preferences`` is an optional ``(N, A)``
array of scores (higher is better) from the navigator; ``mask`` is the ``(N, A)`` action mask.

Collision modes map to shields: ``physical`` (none: conflicts happen and are counted),
``block`` (:class:`BlockShield`) and ``pibt`` (:class:`~warehouse.shield.pibt.PIBTShield`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Protocol

import numpy as np

if TYPE_CHECKING:
    from ..core.simulation import Simulation


class Shield(Protocol):
    name: str

    def __call__(
        self,
        sim: Simulation,
        actions: np.ndarray,
        preferences: np.ndarray | None,
        mask: np.ndarray,
    ) -> np.ndarray: ...


class BlockShield:
    """Replace conflicting moves by WAIT with the fixed priority of
    :func:`warehouse.core.physics.resolve_block`."""

    name = "block"

    def __init__(self) -> None:
        self._scratch = None  # node-sized work arrays, reused between steps

    def __call__(self, sim, actions, preferences, mask):  # type: ignore[no-untyped-def]
        pos = sim.state.pos
        n_nodes = sim.floor.n_nodes
        if self._scratch is None or not self._scratch.fits(n_nodes, pos.size):
            from ..core.physics import BlockScratch, resolve_block  # lazy: core imports us

            self._resolve = resolve_block
            self._scratch = BlockScratch(n_nodes, pos.size)
        stop = self._resolve(pos, sim.floor.nbr[pos, actions], n_nodes, scratch=self._scratch)
        return np.where(stop, 0, actions)


_REGISTRY: dict[str, Callable[[], Shield | None]] = {
    "physical": lambda: None,
    "block": BlockShield,
}


def register_shield(name: str, factory: Callable[[], Shield | None]) -> None:
    """Make a shield available as a collision mode."""
    _REGISTRY[name] = factory


def make_shield(mode: str) -> Shield | None:
    if mode == "pibt" and "pibt" not in _REGISTRY:
        from . import pibt  # noqa: F401  (registers itself)
    try:
        return _REGISTRY[mode]()
    except KeyError:
        raise ValueError(f"unknown collision mode {mode!r}; known: {sorted(_REGISTRY)}") from None
