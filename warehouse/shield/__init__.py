"""Safety shields: filters between what a navigator proposes and what reaches the floor.

A shield is a callable ``shield(sim, actions, preferences, mask) -> actions`` that returns a
joint action the physics can execute without conflicts. ``actions`` are legal (masked moves
already turned into WAIT); ``preferences`` is an optional ``(N, A)`` array of scores (higher is
better) from the navigator; ``mask`` is the ``(N, A)`` action mask, or ``None`` for a shield whose
``needs_mask`` attribute is False (the simulation then skips building it).

Collision modes map to shields: ``physical`` (none: conflicts happen and are counted),
``block`` (:class:`BlockShield`), ``pibt`` (:class:`~warehouse.shield.pibt.PIBTShield`) and
``pibt_swap`` (:class:`~warehouse.shield.pibt_swap.PIBTSwapShield`: PIBT plus LaCAM*'s swap,
which lets two robots pass each other in a corridor or a dead end) and ``pibt_lacam``
(:class:`~warehouse.shield.pibt_lacam.PIBTLaCAMShield`: ``pibt_swap`` plus a windowed LaCAM
search that repairs jams, exploratory).
Whatever a shield returns still goes through the physics: a conflict it lets through fails and
is counted as a collision, so a faulty shield cannot hide one. The move rule holds for its actions
as for the navigator's: an action out of range or one the action mask forbids (a broken-down or
working robot's move, a closed cell, an edge the floor lacks) is refused with a one-line
:class:`~warehouse.errors.PartError` naming the shield.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Protocol

import numpy as np

if TYPE_CHECKING:
    from ..core.simulation import Simulation


class Shield(Protocol):
    name: str
    needs_mask: bool  #: optional attribute; a shield without it gets the mask

    def __call__(
        self,
        sim: Simulation,
        actions: np.ndarray,
        preferences: np.ndarray | None,
        mask: np.ndarray | None,
    ) -> np.ndarray: ...


class BlockShield:
    """Replace conflicting moves by WAIT with the fixed priority of
    :func:`warehouse.core.physics.resolve_block` (one compiled pass)."""

    name = "block"
    needs_mask = False

    def __init__(self) -> None:
        from ..core.kernels import block_shield_kernel  # lazy: core imports us
        from ..core.physics import BlockScratch

        self._kernel = block_shield_kernel
        self._new_scratch = BlockScratch
        self._scratch = None  # node-sized work arrays, reused between steps

    def __call__(self, sim, actions, preferences, mask):  # type: ignore[no-untyped-def]
        pos = sim.state.pos
        n_nodes = sim.floor.n_nodes
        if self._scratch is None or not self._scratch.fits(n_nodes, pos.size):
            self._scratch = self._new_scratch(n_nodes, pos.size)
            self._stop = np.empty(pos.size, dtype=bool)
        sc = self._scratch
        out = np.empty(pos.size, dtype=np.int64)
        self._kernel(
            pos,
            np.asarray(actions, dtype=np.int64),
            sim.floor.nbr,
            sc.occ,
            sc.head,
            sc.nxt,
            self._stop,
            out,
        )
        return out


def _pibt() -> Shield:
    from .pibt import PIBTShield  # lazy: numba compiles its kernels on first use

    return PIBTShield()


def _pibt_swap() -> Shield:
    from .pibt_swap import PIBTSwapShield  # lazy, as _pibt

    return PIBTSwapShield()


def _pibt_lacam() -> Shield:
    from .pibt_lacam import PIBTLaCAMShield  # lazy, as _pibt

    return PIBTLaCAMShield()


#: the collision modes whose shield is PIBT (plain, with the swap, with the jam repair): a
#: navigator tuned under PIBT runs under each, and a gridlock there is no case for PIBT
PIBT_MODES = ("pibt", "pibt_swap", "pibt_lacam")

#: collision mode → factory of its shield (``None``: no shield). Installed packages add theirs
#: through the ``warehouse_fleet.shields`` entry points (:mod:`warehouse.plugins`).
SHIELDS: dict[str, Callable[[], Shield | None]] = {
    "physical": lambda: None,
    "block": BlockShield,
    "pibt": _pibt,
    "pibt_swap": _pibt_swap,
    "pibt_lacam": _pibt_lacam,
}


def register_shield(name: str, factory: Callable[[], Shield | None]) -> None:
    """Make a shield available as a collision mode (in a script; packages use entry points)."""
    SHIELDS[name] = factory


def collision_modes() -> list[str]:
    """Every collision mode: the built-in ones, then the registered shields."""
    from ..plugins import load_plugins

    load_plugins()
    return list(SHIELDS)


def check_collision_mode(mode: str) -> str:
    """``mode`` if it names a collision mode, else a ``ValueError`` listing the known ones.
    Installed packages' shields are looked up only for a name that is not registered yet, so
    checking the built-in modes (as every config does, some at import) never imports a
    plugin."""
    if mode in SHIELDS:
        return mode
    known = collision_modes()
    if mode not in known:
        raise ValueError(f"expected a collision mode: {', '.join(known)}")
    return mode


def make_shield(mode: str) -> Shield | None:
    """A fresh shield for ``mode`` (``None`` for ``physical``)."""
    from warehouse.plugins import SHIELD_GROUP, build_part

    mode = check_collision_mode(mode)
    return build_part(SHIELD_GROUP, mode, SHIELDS[mode], {})  # type: ignore[no-any-return]
