"""Shortest-path distances *to* goal nodes, computed lazily and cached.

Never all-pairs: a row (the distance from every node to one goal, in steps) is computed by one
breadth-first search on the reversed graph the first time that goal is asked for, and kept in a
bounded least-recently-used table. Rows are ``uint16``; :data:`UNREACHABLE` marks no path, so
a distance is at most :data:`MAX_STEPS` (65,534) steps: a floor with a longer shortest path (a
long edge split into many transit nodes, ``physics.speed_m_s``) is refused with an
:class:`~warehouse.errors.InputError` when the first row that needs one is computed.

Closed nodes (:meth:`DistanceCache.set_closed`; the simulation passes the cells of the scheduled
closures active now, ``faults.closures``): a closed node can be *left* but not *entered* from
outside. It gets a distance (a robot standing on it may leave), and no path from an open node
passes through it. A robot inside a stretch of closed nodes leaves it outward: it may step onto
a closed node nearer the open ones (:attr:`DistanceCache.leave`, the steps out through closed
nodes), so paths from closed nodes may run through closed nodes that lead outward. The goal is
the search's source, so a closed goal keeps finite distances from its surroundings (its robot
drives as close as it can and waits). A node that reaches the goal only through closed nodes gets
``M + 1 + s``: ``M`` the largest distance of the row's nodes that reach the goal around the
closures, ``s`` its distance without closures (capped at ``UNREACHABLE - 1``). It ranks after
every node that reaches the goal around them, and a robot on it follows its path without
closures to the edge of the closed cells and waits there until they reopen. ``UNREACHABLE``
keeps its meaning: no path even without closures. :meth:`DistanceCache.reaches` tells the two
apart (each row keeps its ``M``).

Closed moves (``set_closed(nodes, moves)``; the edges a scheduled closure closes,
``faults.closures[].edges``): the moves ``(from, to)`` are taken out of the floor while they are
closed. :attr:`DistanceCache.mask` is the floor's move mask less them, the one the move rule reads
(:meth:`warehouse.core.Simulation.action_mask`), and the searches run on it, so no path uses a
closed move; a node that reaches the goal only through one ranks as one behind closed nodes does
(``M + 1 + s``, ``s`` its distance on the whole floor): its robot drives to the closed edge and
waits there.
"""

from __future__ import annotations

import numba
import numpy as np

from ..errors import InputError
from .compiled import CompiledFloor

UNREACHABLE = np.iinfo(np.uint16).max
#: the longest distance a row holds (steps); a floor with a longer shortest path is refused
MAX_STEPS = int(UNREACHABLE) - 1
#: :attr:`DistanceCache.leave` of a closed node with no way out through closed nodes
NO_WAY_OUT = np.iinfo(np.int32).max


class DistanceCache:
    """Goal-indexed table of BFS distances with LRU eviction.

    ``lookup(goals, nodes)`` returns ``dist(nodes[i] → goals[i])`` for whole arrays at once.
    """

    def __init__(
        self, floor: CompiledFloor, *, max_bytes: int = 512 * 2**20, min_rows: int = 0
    ) -> None:
        self.floor = floor
        n = floor.n_nodes
        #: rows held at most: ``max_bytes`` worth, but never fewer than ``min_rows`` (a fleet's
        #: robots need a row each for their targets at once) nor more than one per node
        self.capacity = max(16, min(n, max(max_bytes // max(1, 2 * n), min_rows)))
        self.table = np.full((min(self.capacity, 64), n), UNREACHABLE, dtype=np.uint16)
        self.slot_of = np.full(n, -1, dtype=np.int32)  # goal node -> row in table
        self.goal_in_slot = np.full(self.table.shape[0], -1, dtype=np.int32)
        self.last_used = np.zeros(self.table.shape[0], dtype=np.int64)
        #: per row: the largest distance of a node that reaches its goal around the closed nodes
        self.far = np.zeros(self.table.shape[0], dtype=np.int64)
        self._clock = 0
        self.computed = 0  #: rows computed so far (a cache-miss counter)
        self.version = 0  #: bumped whenever rows are computed, evicted or the table grows
        #: nodes that can be left but not entered (:meth:`set_closed`)
        self.closed = np.zeros(n, dtype=bool)
        #: per node: 0 if open; if closed, the fewest moves out to an open node, each onto a
        #: closed node nearer the open ones or an open one (:data:`NO_WAY_OUT`: none). A robot
        #: inside may step from closed ``p`` to closed ``q`` only when ``0 < leave[q] <
        #: leave[p]`` (the move rule, :mod:`warehouse.core.kernels`).
        self.leave = np.zeros(n, dtype=np.int32)
        self._closed_any = False
        #: the moves open now: ``floor.mask`` less the moves closed edges take away
        #: (:meth:`set_closed`); ``floor.mask`` itself while none is closed. Read-only.
        self.mask: np.ndarray = floor.mask
        self._rev = None  # the reversed graph of ``mask`` while moves are closed
        self.rebuilds = 0  #: times :meth:`set_closed` changed the closed set and recomputed rows
        self._scratch = np.empty(0, dtype=np.uint16)  # distances without closures (_bfs_rows)

    def slots(self, goals: np.ndarray) -> np.ndarray:
        """Table rows for ``goals`` (node ids), computing the missing ones."""
        goals = np.asarray(goals, dtype=np.int32)
        self._clock += 1
        s = np.empty(goals.shape, dtype=np.int32)
        missing = _find_slots(
            self.slot_of, goals.reshape(-1), self.last_used, self._clock, s.reshape(-1)
        )
        if missing < 0:
            raise IndexError(f"goal node ids must lie in [0, {self.slot_of.size})")
        if missing:
            self._fill(np.unique(goals[s < 0]), keep=np.unique(goals))
            s = self.slot_of[goals]
            self.last_used[s] = self._clock
        return s

    def lookup(self, goals: np.ndarray, nodes: np.ndarray) -> np.ndarray:
        """Distances (uint16, steps) from ``nodes`` to ``goals``; broadcasts like numpy."""
        goals = np.asarray(goals)
        return self._gather(self.slots(goals.ravel()).reshape(goals.shape), nodes)

    def _gather(self, slot: np.ndarray, nodes: np.ndarray) -> np.ndarray:
        """``self.table[slot, nodes]`` (broadcast like numpy), with the compiled gather for the
        outer forms a dispatcher asks for (orders × robots and robots × orders)."""
        if slot.ndim == 2 and slot.shape[1] == 1 and np.ndim(nodes) in (1, 2):
            nodes = np.asarray(nodes)
            if nodes.ndim == 1 or nodes.shape[0] == 1:  # the (rows, 1) × (cols,) outer form
                return _gather_outer(self.table, slot[:, 0], nodes.reshape(-1))
        if slot.ndim == 2 and slot.shape[0] == 1 and np.ndim(nodes) == 2:
            nodes = np.asarray(nodes)
            if nodes.shape[1] == 1:  # the transposed form (1, cols) × (rows, 1): robots × orders
                return _gather_outer_t(self.table, slot[0], nodes[:, 0])
        return self.table[slot, nodes]

    def reaches(self, goals: np.ndarray, nodes: np.ndarray) -> np.ndarray:
        """Bool, broadcast like :meth:`lookup`: whether ``nodes`` reach ``goals`` around the
        closed nodes (:meth:`set_closed`). Without closed nodes: whether they reach them at all
        (``lookup(...) < UNREACHABLE``)."""
        goals = np.asarray(goals)
        slot = self.slots(goals.ravel()).reshape(goals.shape)
        return self._gather(slot, nodes).astype(np.int64) <= self.far[slot]

    @property
    def closed_any(self) -> bool:
        """Whether any node or move is closed (:meth:`set_closed`)."""
        return self._closed_any

    def row(self, goal: int) -> np.ndarray:
        """Distances from every node to ``goal``."""
        return self.table[self.slots(np.array([goal]))[0]]

    def set_closed(self, nodes: np.ndarray, moves: np.ndarray | None = None) -> bool:
        """Make ``nodes`` (ids) the closed nodes and ``moves`` (``(k, 2)`` ``(from, to)``, the
        floor's moves that closed edges take away; none by default) the closed moves: every
        cached row is recomputed with them (one compiled pass) and :attr:`version` is bumped.
        Returns whether anything changed; an unchanged set costs nothing (no version bump, no
        search)."""
        nodes = np.asarray(nodes, dtype=np.int64)
        moves = np.zeros((0, 2), np.int64) if moves is None else np.asarray(moves, np.int64)
        if not self._closed_any and nodes.size == 0 and moves.size == 0:
            return False
        closed = np.zeros_like(self.closed)
        closed[nodes] = True
        mask = open_moves(self.floor, moves.reshape(-1, 2))
        if np.array_equal(closed, self.closed) and np.array_equal(mask, self.mask):
            return False
        self.closed = closed
        self.mask = mask
        self._rev = None if mask is self.floor.mask else _reverse_csr(self.floor, mask)
        self._closed_any = bool(nodes.size) or mask is not self.floor.mask
        rev = self._reversed()
        self.leave = np.zeros(closed.size, dtype=np.int32)
        if self._closed_any:
            _leave_steps(
                rev.indptr.astype(np.int64), rev.indices.astype(np.int32), closed, self.leave
            )
        self.version += 1
        self.rebuilds += 1
        rows = np.flatnonzero(self.goal_in_slot >= 0)
        if rows.size:
            self._bfs(self.goal_in_slot[rows].astype(np.int32), rows.astype(np.int64))
        return True

    def _reversed(self):  # type: ignore[no-untyped-def]
        """The reversed graph the searches run on: the floor's, less the closed moves."""
        return self.floor.reverse_csr() if self._rev is None else self._rev

    def _bfs(self, goals: np.ndarray, rows: np.ndarray) -> None:
        whole = self.floor.reverse_csr()
        indptr, indices = whole.indptr.astype(np.int64), whole.indices.astype(np.int32)
        open_ptr, open_idx = indptr, indices  # (the floor's own while no move is closed)
        if self._rev is not None:
            open_ptr, open_idx = (
                self._rev.indptr.astype(np.int64),
                self._rev.indices.astype(np.int32),
            )
        if self._closed_any and self._scratch.size != self.closed.size:
            self._scratch = np.empty(self.closed.size, dtype=np.uint16)
        too_far = _bfs_rows(
            open_ptr,
            open_idx,
            indptr,
            indices,
            goals,
            rows,
            self.table,
            self.closed,
            self.leave,
            self._closed_any,
            self._scratch,
            self.far,
        )
        if too_far >= 0:
            row = int(rows[too_far])
            if self.goal_in_slot[row] >= 0:  # (a row being recomputed: drop it, incomplete)
                self.slot_of[self.goal_in_slot[row]] = -1
                self.goal_in_slot[row] = -1
                self.version += 1
            goal = self.floor.nodes[int(goals[too_far])]
            raise InputError(
                None,
                "layout",
                f"floor {self.floor.name!r}: a shortest path to node {goal!r} is longer than "
                f"{MAX_STEPS:,} steps, the most the distance tables hold; use a smaller floor, "
                "or fewer transit nodes on its long edges (a faster physics.speed_m_s or a "
                "longer physics.step_seconds)",
            )

    def _fill(self, missing: np.ndarray, keep: np.ndarray) -> None:
        free = np.flatnonzero(self.goal_in_slot < 0)
        need = missing.size - free.size
        if need > 0 and self.table.shape[0] < self.capacity:
            rows = self.table.shape[0]
            grow = min(self.capacity - rows, max(need, rows))  # at least double (amortized)
            if 2 * (rows + grow) > self.capacity:  # the next growth would reach the cap: now
                grow = self.capacity - rows  # (not a copy of a near-full table for a few rows)
            self._grow(grow)
            free = np.flatnonzero(self.goal_in_slot < 0)
            need = missing.size - free.size
        if need > 0:
            # Evict the least recently used *occupied* rows this request does not need (a free
            # row must never be a victim: it is already in ``free`` and would be handed out twice).
            candidates = np.flatnonzero(
                (self.goal_in_slot >= 0) & ~np.isin(self.goal_in_slot, keep)
            )
            if candidates.size < need:
                raise MemoryError(
                    f"distance cache too small for {keep.size} simultaneous goals "
                    f"({self.capacity} rows); raise max_bytes"
                )
            victims = candidates[np.argsort(self.last_used[candidates], kind="stable")[:need]]
            self.slot_of[self.goal_in_slot[victims]] = -1
            self.goal_in_slot[victims] = -1
            free = np.sort(np.concatenate([free, victims]))
        self.version += 1
        targets = free[: missing.size].astype(np.int64)
        missing = missing.astype(np.int32)
        self._bfs(missing, targets)
        self.goal_in_slot[targets] = missing
        self.slot_of[missing] = targets
        self.computed += int(missing.size)

    def _grow(self, extra: int) -> None:
        """``extra`` more rows (no goal, all :data:`UNREACHABLE`), the table written once.
        :meth:`_fill` at least doubles it, and goes straight to :attr:`capacity` past half of
        it: a big fleet's first parking call grew 64 → 6,920 rows and its next step copied all
        of them (half a gigabyte, 0.9 s) to add 285. Rows are taken lowest free first and
        evicted only at the cap, so the rows, answers and evictions are as without growth."""
        self.version += 1
        rows, n = self.table.shape
        table = np.empty((rows + extra, n), dtype=np.uint16)
        table[:rows] = self.table
        table[rows:] = UNREACHABLE
        self.table = table
        self.goal_in_slot = np.concatenate([self.goal_in_slot, np.full(extra, -1, np.int32)])
        self.last_used = np.concatenate([self.last_used, np.zeros(extra, np.int64)])
        self.far = np.concatenate([self.far, np.zeros(extra, np.int64)])


def open_moves(floor: CompiledFloor, moves: np.ndarray) -> np.ndarray:
    """The floor's move mask (``floor.mask``) less ``moves`` (``(k, 2)`` ``(from, to)``):
    ``floor.mask`` itself when there are none (read-only), else a new array."""
    if moves.size == 0:
        return floor.mask
    mask = floor.mask.copy()
    src, dst = moves[:, 0], moves[:, 1]
    hit = (floor.nbr[src] == dst[:, None]) & mask[src]
    hit[:, 0] = False
    rows, slots = np.nonzero(hit)
    mask[src[rows], slots] = False
    return mask


def _reverse_csr(floor: CompiledFloor, mask: np.ndarray):  # type: ignore[no-untyped-def]
    """The reversed graph (row = to, col = from) of the moves ``mask`` allows on ``floor``, as
    :meth:`CompiledFloor.reverse_csr` builds it from ``floor.mask``."""
    import scipy.sparse as sp

    n = floor.n_nodes
    src = np.repeat(np.arange(n, dtype=np.int32), floor.n_actions)
    dst = floor.nbr.ravel()
    keep = mask.ravel() & (src != dst)
    data = np.ones(int(keep.sum()), dtype=np.float32)
    return sp.csr_matrix((data, (dst[keep], src[keep])), shape=(n, n))


@numba.njit(cache=True)
def _find_slots(slot_of, goals, last_used, clock, out):  # pragma: no cover - compiled
    """``out`` = ``slot_of[goals]``; returns how many are missing (-1), or -1 if a goal is not
    a node id. When none is missing, marks every row used at ``clock`` (LRU); otherwise leaves
    ``last_used`` to the caller."""
    missing = 0
    for i in range(goals.size):
        if goals[i] < 0 or goals[i] >= slot_of.size:
            return -1
        out[i] = slot_of[goals[i]]
        if out[i] < 0:
            missing += 1
    if missing == 0:
        for i in range(goals.size):
            last_used[out[i]] = clock
    return missing


@numba.njit(cache=True)
def _gather_outer(table, slot, nodes):  # pragma: no cover - compiled
    """``table[slot[:, None], nodes[None, :]]`` without numpy's fancy-indexing overhead (the
    dispatchers' cost matrices: about 6× faster at 168 × 42)."""
    out = np.empty((slot.size, nodes.size), np.uint16)
    for i in range(slot.size):
        row = table[slot[i]]
        for j in range(nodes.size):
            out[i, j] = row[nodes[j]]
    return out


@numba.njit(cache=True)
def _gather_outer_t(table, slot, nodes):  # pragma: no cover - compiled
    """``table[slot[None, :], nodes[:, None]]`` (robots × orders; numpy's gather is 5-10× slower
    here), written in tiles: no transposed copy of :func:`_gather_outer`'s result, which was
    most of a big fleet's lookup (4,800 robots × 10,000 orders)."""
    out = np.empty((nodes.size, slot.size), np.uint16)
    tile = 64
    for i0 in range(0, slot.size, tile):
        i1 = min(i0 + tile, slot.size)
        for j0 in range(0, nodes.size, tile):
            j1 = min(j0 + tile, nodes.size)
            for i in range(i0, i1):
                row = table[slot[i]]
                for j in range(j0, j1):
                    out[j, i] = row[nodes[j]]
    return out


@numba.njit(cache=True)
def _leave_steps(indptr, indices, closed, out):  # pragma: no cover - compiled
    """:attr:`DistanceCache.leave` into ``out`` (zeros on entry): a breadth-first search over
    the reversed graph from the open nodes into the closed ones."""
    n = closed.size
    queue = np.empty(n, np.int32)
    tail = 0
    for v in range(n):
        if closed[v]:
            out[v] = NO_WAY_OUT
    for v in range(n):
        if closed[v]:
            continue
        for e in range(indptr[v], indptr[v + 1]):
            u = indices[e]
            if closed[u] and out[u] == NO_WAY_OUT:
                out[u] = 1
                queue[tail] = u
                tail += 1
    head = 0
    while head < tail:
        v = queue[head]
        head += 1
        for e in range(indptr[v], indptr[v + 1]):
            u = indices[e]
            if closed[u] and out[u] == NO_WAY_OUT:
                out[u] = out[v] + 1
                queue[tail] = u
                tail += 1


@numba.njit(cache=True)
def _bfs_into(indptr, indices, goal, dist, queue, closed, leave, use_closed):  # pragma: no cover
    """Breadth-first search from ``goal`` over the reversed graph into ``dist``; with
    ``use_closed`` a closed node other than the goal gets a distance but is entered only from
    the closed nodes behind it (``leave`` larger: they leave through it). Returns the largest
    finite distance, or -1 when a node lies :data:`MAX_STEPS` + 1 or more steps from the goal
    (the row is then incomplete: uint16 holds no such distance)."""
    dist[:] = UNREACHABLE
    dist[goal] = 0
    queue[0] = goal
    head, tail = 0, 1
    far = 0
    while head < tail:
        v = queue[head]
        head += 1
        if dist[v] > far:
            far = dist[v]
        inner = use_closed and closed[v] and v != goal
        dv = np.int64(dist[v]) + 1
        for e in range(indptr[v], indptr[v + 1]):
            u = indices[e]
            if inner and leave[u] <= leave[v]:  # (an open u has leave 0)
                continue
            if dist[u] == UNREACHABLE:
                if dv > MAX_STEPS:
                    return -1
                dist[u] = dv
                queue[tail] = u
                tail += 1
    return far


@numba.njit(cache=True)
def _bfs_rows(
    indptr,
    indices,
    all_ptr,
    all_idx,
    goals,
    rows,
    table,
    closed,
    leave,
    use_closed,
    scratch,
    far_out,
):  # pragma: no cover - compiled
    """Distances to each goal into ``table[rows[i]]`` over the reversed graph ``indptr``,
    ``indices`` (the open moves; see the module docstring for closed nodes; ``scratch`` holds
    the distances without closures, over the whole floor's ``all_ptr``, ``all_idx``), the row's
    ``M`` (the largest distance around the closed nodes) into ``far_out[rows[i]]``. Returns
    -1, or the first ``i`` whose goal some node lies more than :data:`MAX_STEPS` steps from
    (its row is incomplete)."""
    n = indptr.size - 1
    queue = np.empty(n, np.int32)
    cap = np.int64(MAX_STEPS)
    for g in range(goals.size):
        dist = table[rows[g]]
        far = _bfs_into(indptr, indices, goals[g], dist, queue, closed, leave, use_closed)
        far_out[rows[g]] = far
        if far < 0:
            return g
        if not use_closed:
            continue
        if _bfs_into(all_ptr, all_idx, goals[g], scratch, queue, closed, leave, False) < 0:
            return g
        for u in range(n):
            if dist[u] == UNREACHABLE and scratch[u] != UNREACHABLE:
                dist[u] = min(np.int64(far) + 1 + np.int64(scratch[u]), cap)
    return -1
