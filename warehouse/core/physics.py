"""Movement rules: the one place that decides which moves happen.

Robots occupy nodes. Each step every robot proposes a target node (its own node to wait).

* **vertex conflict**: two robots would occupy one node after the step (a robot that stays
  occupies its node);
* **swap conflict**: two robots exchange nodes over one edge;
* following is allowed: a robot may enter the node another robot is leaving in the same step,
  unless that robot ends up staying. Rotating cycles of three or more robots all move.

:func:`resolve_physical` executes what it can: conflicting moves fail (the robots stay) and every
conflict is a collision incident. :func:`resolve_block` is the fixed-priority shield used by the
``block`` collision mode: it turns conflicting moves into waits before execution.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Resolution:
    """Outcome of resolving one joint move."""

    final: np.ndarray  #: int32 node each robot ends on
    failed: np.ndarray  #: bool, robot wanted to move and did not (conflict)
    incidents: int  #: vertex-conflict nodes plus swapping pairs


def _swaps(pos: np.ndarray, target: np.ndarray, n_nodes: int) -> np.ndarray:
    """Bool mask of robots taking part in a swap."""
    occupant = np.full(n_nodes, -1, dtype=np.int64)
    occupant[pos] = np.arange(pos.size)
    moving = target != pos
    other = occupant[target]
    has = moving & (other >= 0)
    swap = np.zeros(pos.size, dtype=bool)
    idx = np.flatnonzero(has)
    swap[idx] = target[other[idx]] == pos[idx]
    return swap


def resolve_physical(pos: np.ndarray, target: np.ndarray, n_nodes: int) -> Resolution:
    """Execute a joint move; every robot in a conflict stays where it is."""
    failed = _swaps(pos, target, n_nodes)
    incidents = int(failed.sum()) // 2
    contested = np.zeros(n_nodes, dtype=bool)
    while True:
        final = np.where(failed, pos, target)
        count = np.bincount(final, minlength=n_nodes)
        clash = (count[final] > 1) & (final != pos)
        if not clash.any():
            break
        contested[final[clash]] = True
        failed |= clash
    return Resolution(
        final=final.astype(np.int32), failed=failed, incidents=incidents + int(contested.sum())
    )


def resolve_block(pos: np.ndarray, target: np.ndarray, n_nodes: int) -> np.ndarray:
    """Fixed-priority shield: bool mask of robots whose move must become WAIT.

    Priority rule (documented, deterministic): swapping robots both wait; a robot that stays
    keeps its node; among robots entering the same free node the lowest robot id goes and the
    others wait; then waits cascade to robots that were following a robot that now waits.
    """
    stop = _swaps(pos, target, n_nodes)
    ids = np.arange(pos.size)
    big = np.iinfo(np.int64).max
    while True:
        final = np.where(stop, pos, target)
        movers = final != pos
        count = np.bincount(final, minlength=n_nodes)
        clash = movers & (count[final] > 1)
        if not clash.any():
            return stop
        stayer_at = np.zeros(n_nodes, dtype=bool)
        stayer_at[final[~movers]] = True
        winner = np.full(n_nodes, big, dtype=np.int64)
        np.minimum.at(winner, final[clash], ids[clash])
        lose = clash & (stayer_at[final] | (winner[final] != ids))
        stop |= lose
