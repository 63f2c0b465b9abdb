"""Minimum-cost matching with forbidden pairs, shared by the dispatch layer."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np
from scipy.optimize import linear_sum_assignment

from warehouse.floor import UNREACHABLE

if TYPE_CHECKING:
    from warehouse.core import Simulation

_BIG = 1e9


def by_goal_parts(
    table: Callable[[np.ndarray, np.ndarray], np.ndarray],
    capacity: int,
    goals: np.ndarray,
    nodes: np.ndarray,
) -> np.ndarray:
    """``table(goals, nodes)`` (:meth:`~warehouse.floor.DistanceCache.lookup` or ``reaches``),
    asked for at most ``capacity`` goals at a time (the rows its cache holds), cut along the first
    axis ``goals`` varies on: a floor of a big fleet has more pick cells, parking spots or open
    orders than the cache holds rows, which asked at once is a ``MemoryError``. The same answer
    as one call (``goals`` and ``nodes`` broadcast like numpy, either with more dimensions)."""
    goals = np.asarray(goals)
    if goals.size <= capacity:  # (the common case, every step: one call)
        return table(goals, nodes)
    nodes = np.asarray(nodes)
    ndim = max(goals.ndim, nodes.ndim)  # (aligned on their last axes, as numpy broadcasts)
    goals = goals.reshape((1,) * (ndim - goals.ndim) + goals.shape)
    nodes = nodes.reshape((1,) * (ndim - nodes.ndim) + nodes.shape)
    along = [i for i in range(ndim) if goals.shape[i] > 1]
    if not along:
        return table(goals, nodes)
    axis = along[0]
    # goals in one slice along ``axis``: a part holds as many slices as fit (at least one)
    step = max(1, capacity // (goals.size // goals.shape[axis]))
    parts = []
    for start in range(0, goals.shape[axis], step):
        cut = [slice(None)] * ndim
        cut[axis] = slice(start, start + step)
        part_nodes = nodes if nodes.shape[axis] == 1 else nodes[tuple(cut)]
        parts.append(table(goals[tuple(cut)], part_nodes))
    return np.concatenate(parts, axis=axis)


def travel_steps(sim: Simulation, goals: np.ndarray, nodes: np.ndarray) -> np.ndarray:
    """Float steps from ``nodes`` to ``goals`` (broadcast like
    :meth:`~warehouse.floor.DistanceCache.lookup`), ``inf`` where no path leads: none on the
    floor, or while closures are in force none around them (a pair reached only through closed
    cells or edges, :meth:`~warehouse.floor.DistanceCache.reaches`, waits for them to reopen;
    no dispatcher hands it out)."""
    dist = sim.dist
    d = by_goal_parts(dist.lookup, dist.capacity, goals, nodes).astype(np.float64)
    if dist.closed_any:
        d[~by_goal_parts(dist.reaches, dist.capacity, goals, nodes)] = np.inf
    else:
        d[d >= UNREACHABLE] = np.inf
    return d


def solve_assignment(cost: np.ndarray, *, overwrite: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """Rows and columns of a minimum-cost matching of ``min(R, O)`` pairs; ``inf`` pairs dropped.

    ``overwrite``: ``cost`` (float64) may be written over (its non-finite entries), so no second
    matrix of its size is made: a big fleet's dispatch matrix (4,800 robots × 10,000 orders) is
    384 MB of float64. The same matching either way."""
    if cost.size == 0:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    bad = ~np.isfinite(cost)
    if overwrite and cost.dtype == np.float64:
        safe = cost
        safe[bad] = _BIG
    else:
        safe = np.where(bad, _BIG, cost)
    rows, cols = linear_sum_assignment(safe)
    ok = ~bad[rows, cols]
    return rows[ok], cols[ok]
