"""Minimum-cost matching with forbidden pairs, shared by the dispatch layer."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from scipy.optimize import linear_sum_assignment

from warehouse.floor import UNREACHABLE

if TYPE_CHECKING:
    from warehouse.core import Simulation

_BIG = 1e9


def travel_steps(sim: Simulation, goals: np.ndarray, nodes: np.ndarray) -> np.ndarray:
    """Float steps from ``nodes`` to ``goals`` (broadcast like
    :meth:`~warehouse.floor.DistanceCache.lookup`), ``inf`` where no path leads: none on the
    floor, or while closures are in force none around them (a pair reached only through closed
    cells or edges, :meth:`~warehouse.floor.DistanceCache.reaches`, waits for them to reopen;
    no dispatcher hands it out)."""
    d = sim.dist.lookup(goals, nodes).astype(np.float64)
    if sim.dist.closed_any:
        d[~sim.dist.reaches(goals, nodes)] = np.inf
    else:
        d[d >= UNREACHABLE] = np.inf
    return d


def solve_assignment(cost: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Rows and columns of a minimum-cost matching of ``min(R, O)`` pairs; ``inf`` pairs dropped."""
    if cost.size == 0:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    finite = np.isfinite(cost)
    safe = np.where(finite, cost, _BIG)
    rows, cols = linear_sum_assignment(safe)
    ok = finite[rows, cols]
    return rows[ok], cols[ok]
