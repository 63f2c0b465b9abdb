"""Minimum-cost matching with forbidden pairs, shared by the dispatch layer."""

from __future__ import annotations

import numpy as np
from scipy.optimize import linear_sum_assignment

_BIG = 1e9


def solve_assignment(cost: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Rows and columns of a minimum-cost matching of ``min(R, O)`` pairs; ``inf`` pairs dropped."""
    if cost.size == 0:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    finite = np.isfinite(cost)
    safe = np.where(finite, cost, _BIG)
    rows, cols = linear_sum_assignment(safe)
    ok = finite[rows, cols]
    return rows[ok], cols[ok]
