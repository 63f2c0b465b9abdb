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

from .kernels import resolve_block_kernel, resolve_physical_into, resolve_physical_kernel


@dataclass(frozen=True)
class Resolution:
    """Outcome of resolving one joint move."""

    final: np.ndarray  #: int32 node each robot ends on
    failed: np.ndarray  #: bool, robot wanted to move and did not (conflict)
    incidents: int  #: vertex-conflict nodes plus swapping pairs


class PhysicsScratch:
    """Reusable node- and robot-sized scratch for :meth:`resolve` (one per simulation)."""

    def __init__(self, n_nodes: int, n_robots: int) -> None:
        self.occ = np.full(n_nodes, -1, dtype=np.int32)
        self.head = np.full(n_nodes, -1, dtype=np.int32)
        self.count = np.zeros(n_nodes, dtype=np.int32)
        self.contested = np.zeros(n_nodes, dtype=bool)
        self.nxt = np.full(n_robots, -1, dtype=np.int32)

    def resolve(self, pos: np.ndarray, target: np.ndarray) -> Resolution:
        """:func:`resolve_physical` without allocating node-sized arrays (int32 inputs)."""
        final = np.empty(pos.size, dtype=np.int32)
        failed = np.empty(pos.size, dtype=bool)
        incidents = resolve_physical_into(
            pos, target, self.occ, self.count, self.head, self.nxt, self.contested, final, failed
        )
        return Resolution(final=final, failed=failed, incidents=int(incidents))


class BlockScratch:
    """Reusable node-sized scratch for :func:`resolve_block` (one per floor and fleet size)."""

    def __init__(self, n_nodes: int, n_robots: int) -> None:
        self.occ = np.full(n_nodes, -1, dtype=np.int32)
        self.head = np.full(n_nodes, -1, dtype=np.int32)
        self.nxt = np.full(n_robots, -1, dtype=np.int32)

    def fits(self, n_nodes: int, n_robots: int) -> bool:
        return self.occ.size == n_nodes and self.nxt.size == n_robots


def resolve_physical(pos: np.ndarray, target: np.ndarray, n_nodes: int) -> Resolution:
    """Execute a joint move; every robot in a conflict stays where it is.

    A robot entering a node that ends up holding another robot fails too (it bumps into a
    robot that stayed), so failures cascade back along trains. ``incidents`` counts every
    swapping pair once and every node where robots clashed once.
    """
    pos = np.ascontiguousarray(pos, dtype=np.int32)
    target = np.ascontiguousarray(target, dtype=np.int32)
    final, failed, incidents = resolve_physical_kernel(pos, target, int(n_nodes))
    return Resolution(final=final, failed=failed, incidents=int(incidents))


def resolve_block(
    pos: np.ndarray, target: np.ndarray, n_nodes: int, *, scratch: BlockScratch | None = None
) -> np.ndarray:
    """Fixed-priority shield: bool mask of robots whose move must become WAIT.

    Priority rule (documented, deterministic): swapping robots both wait; a robot that stays
    keeps its node; among robots entering the same node the lowest robot id goes and the
    others wait; then waits cascade to robots that were following a robot that now waits
    (and a winner whose node's occupant ends up waiting waits as well).
    """
    pos = np.ascontiguousarray(pos, dtype=np.int32)
    target = np.ascontiguousarray(target, dtype=np.int32)
    if scratch is None or not scratch.fits(int(n_nodes), pos.size):
        scratch = BlockScratch(int(n_nodes), pos.size)
    stop = np.empty(pos.size, dtype=bool)
    resolve_block_kernel(pos, target, scratch.occ, scratch.head, scratch.nxt, stop)
    return stop
