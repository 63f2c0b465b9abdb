"""Neighbour-intention window channels (``ObservationConfig.intent``), one compiled pass.

A robot's egocentric window (:mod:`.observe`) shows where the other robots are, not what they
are about to do or who gives way; the rule-based fleet decides with exactly that information
(shortest-path intentions, lower id first). These ``N_INTENT_CHANNELS`` extra channels put it
in the observation (in the spirit of PRIMAL / DHC), as ``(2r+1)²`` values each, channel-major,
appended after the task features:

=======  ==================================================================================
channel  meaning (cells without the stated robot: 0)
=======  ==================================================================================
0        intended move, rows: at every robot's cell (mine included, at the centre), the row
         step (-1, 0, +1) to its *intended node*
1        intended move, columns: the same for the column step
2        priority: at another robot's cell, +1 if it goes before me (lower id), -1 if after
3        claim: +1 where another robot that goes before me intends to move in, else -1
         where only robots that go after me intend to move in
4        stalled: at every robot's cell (mine included), steps it has had a task without
         getting closer to its target (``state.since_progress``) / ``STALL_STEPS``, clipped
         to 1 — a robot that waits or shuffles in a deadlock shows it
5        go: at every robot's cell (mine included), +1 if its intended move goes through when
         everyone follows their intention under the fixed lowest-id-first priority of
         :func:`~warehouse.core.physics.resolve_block`, -1 if that priority stops it, 0 if it
         intends to stay
=======  ==================================================================================

A robot's *intended node* is its node when it has no target, is at its target, cannot reach it
or may not move (action mask); otherwise an allowed neighbour one step closer to its target,
taken in id order as the rule-based navigator's first rule does: one that no robot stands on and
no lower id intends, else one that no robot stands on, else any (ties: action order). It is a
function of the state only, so a learned fleet sees the same quantities as the logged one.
"""

from __future__ import annotations

import functools

import numba
import numpy as np

from .kernels import UNREACHABLE
from .physics import BlockScratch, resolve_block
from .threads import split_rows

N_INTENT_CHANNELS = 6
INTENT_CHANNEL_NAMES = ("intent_row", "intent_col", "priority", "claim", "stalled", "go")
STALL_STEPS = 32  #: ``since_progress`` at which the stalled channel saturates


@numba.njit(cache=True)
def intended_nodes(pos, slot, table, nbr, mask, occ, want):  # pragma: no cover - compiled
    """Fill ``want`` (N,) with every robot's intended node (module docstring).

    ``occ`` (n_nodes + 1,) int32 is all -1 on entry and on exit (scratch: -1 free, -2 intended
    by a robot, else the id of the robot standing there).
    """
    n = pos.size
    n_act = nbr.shape[1]
    for i in range(n):
        occ[pos[i]] = i
    for i in range(n):
        p = pos[i]
        want[i] = p
        s = slot[i]
        if s < 0:
            continue
        d0 = np.int64(table[s, p])
        if d0 == 0 or d0 >= UNREACHABLE:
            continue
        best, best_rank = -1, 3
        for a in range(1, n_act):
            if not mask[i, a]:
                continue
            u = nbr[p, a]
            if np.int64(table[s, u]) != d0 - 1:
                continue
            rank = 0 if occ[u] == -1 else (1 if occ[u] == -2 else 2)
            if rank < best_rank:
                best, best_rank = u, rank
        if best >= 0:
            want[i] = best
            if occ[best] == -1:
                occ[best] = -2
    for i in range(n):
        occ[pos[i]] = -1
        occ[want[i]] = -1


@numba.njit(cache=True, nogil=True)
def intent_grids_kernel(
    pos, want, node_pos, rad, occ_grid, claim1, claim2, clear
):  # pragma: no cover
    """Mark (``clear`` False) or clear (True) the int32 grids :func:`intent_rows_kernel` reads,
    in the observer's padded cell coordinates: the robot on each cell and the lowest two ids of
    robots intending to move into it (-1 where none; all -1 between calls)."""
    n = pos.size
    if clear:
        for i in range(n):
            occ_grid[node_pos[pos[i], 0] + rad, node_pos[pos[i], 1] + rad] = -1
            r = node_pos[want[i], 0] + rad
            c = node_pos[want[i], 1] + rad
            claim1[r, c] = -1
            claim2[r, c] = -1
        return
    for i in range(n):
        occ_grid[node_pos[pos[i], 0] + rad, node_pos[pos[i], 1] + rad] = i
    for i in range(n):  # ascending ids: claim1 gets the lowest, claim2 the second lowest
        if want[i] == pos[i]:
            continue
        r = node_pos[want[i], 0] + rad
        c = node_pos[want[i], 1] + rad
        if claim1[r, c] < 0:
            claim1[r, c] = i
        elif claim2[r, c] < 0:
            claim2[r, c] = i


@functools.cache
def intent_rows_kernel(side: int):  # type: ignore[no-untyped-def]
    """The intention row kernel for windows of ``side × side`` cells (:func:`_intent_rows`),
    with ``side`` a compile-time constant (as :func:`.kernels.observe_rows_kernel`)."""
    side = int(side)

    @numba.njit(cache=True, nogil=True)
    def kernel(
        lo, hi, pos, want, go, since_progress, stall_steps, node_pos, occ_grid, claim1, claim2,
        out, col0,
    ):  # fmt: skip  # pragma: no cover - compiled
        _intent_rows(
            side, lo, hi, pos, want, go, since_progress, stall_steps, node_pos, occ_grid,
            claim1, claim2, out, col0,
        )  # fmt: skip

    return kernel


@numba.njit(inline="always", nogil=True)
def _intent_rows(
    side,
    lo,
    hi,
    pos,
    want,
    go,
    since_progress,
    stall_steps,
    node_pos,
    occ_grid,
    claim1,
    claim2,
    out,
    col0,
):  # pragma: no cover - compiled
    """Write the intention channels of robots ``lo:hi`` into ``out[:, col0 : col0 + 6K]``
    (grids marked by :func:`intent_grids_kernel`; rows are independent, see :mod:`.threads`)."""
    k = side * side
    one = np.float32(1.0)
    zero = np.float32(0.0)
    for i in range(lo, hi):
        row = out[i]
        r0 = node_pos[pos[i], 0]
        c0 = node_pos[pos[i], 1]
        for dr in range(side):
            orow = occ_grid[r0 + dr]
            c1row = claim1[r0 + dr]
            c2row = claim2[r0 + dr]
            for dc in range(side):
                j = col0 + dr * side + dc
                g = c0 + dc
                q = orow[g]
                mr = zero
                mc = zero
                pr = zero
                st = zero
                gq = zero
                if q >= 0:
                    gq = go[q]
                    st = min(np.float32(since_progress[q]) / stall_steps, one)
                    drow = node_pos[want[q], 0] - node_pos[pos[q], 0]
                    dcol = node_pos[want[q], 1] - node_pos[pos[q], 1]
                    mr = one if drow > 0 else (-one if drow < 0 else zero)
                    mc = one if dcol > 0 else (-one if dcol < 0 else zero)
                    if q != i:
                        pr = one if q < i else -one
                other = c1row[g]
                if other == i:
                    other = c2row[g]
                cl = zero
                if other >= 0:
                    cl = one if other < i else -one
                row[j] = mr
                row[j + k] = mc
                row[j + 2 * k] = pr
                row[j + 3 * k] = cl
                row[j + 4 * k] = st
                row[j + 5 * k] = gq


class IntentChannels:
    """Per-floor scratch of the intention kernels (built once per :class:`.observe.Observer`)."""

    def __init__(self, n_nodes: int, padded_shape: tuple[int, int], side: int) -> None:
        self.side = side
        self._rows_kernel = intent_rows_kernel(side)
        self._occ = np.full(n_nodes + 1, -1, dtype=np.int32)
        self._occ_grid = np.full(padded_shape, -1, dtype=np.int32)
        self._claim1 = np.full(padded_shape, -1, dtype=np.int32)
        self._claim2 = np.full(padded_shape, -1, dtype=np.int32)
        self._block: BlockScratch | None = None

    def fill(self, sim, slot: np.ndarray, out: np.ndarray, col0: int) -> np.ndarray:  # type: ignore[no-untyped-def]
        """Write the channels into ``out[:, col0:]``; returns the intended nodes ``(N,)``."""
        s, f = sim.state, sim.floor
        want = np.empty(s.n, dtype=np.int32)
        intended_nodes(s.pos, slot, sim.dist.table, f.nbr, sim.action_mask(), self._occ, want)
        if self._block is None or not self._block.fits(f.n_nodes, s.n):
            self._block = BlockScratch(f.n_nodes, s.n)
        stop = resolve_block(s.pos, want, f.n_nodes, scratch=self._block)
        moving = want != s.pos
        go = np.where(moving, np.where(stop, -1.0, 1.0), 0.0).astype(np.float32)
        rad = self.side // 2
        intent_grids_kernel(
            s.pos, want, f.pos, rad, self._occ_grid, self._claim1, self._claim2, False
        )
        try:
            split_rows(
                self._rows_kernel,
                s.n,
                s.pos,
                want,
                go,
                s.since_progress,
                np.float32(STALL_STEPS),
                f.pos,
                self._occ_grid,
                self._claim1,
                self._claim2,
                out,
                col0,
            )
        finally:  # shared scratch: always leave it clear
            intent_grids_kernel(
                s.pos, want, f.pos, rad, self._occ_grid, self._claim1, self._claim2, True
            )
        return want
