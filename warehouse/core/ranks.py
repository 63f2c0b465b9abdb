"""Ranks within groups, vectorized: who comes first at each station."""

from __future__ import annotations

import numpy as np


def rank_within_groups(groups: np.ndarray, order: np.ndarray) -> np.ndarray:
    """Each element's 0-based place within its group, in the sequence ``order`` visits them.

    ``order`` is a permutation of ``range(len(groups))`` that sorts ``groups`` (ties broken as
    the caller wants: a stable argsort keeps the input order, a lexsort adds keys)."""
    grouped = groups[order]
    rank = np.empty(groups.size, dtype=np.int64)
    rank[order] = np.arange(groups.size) - np.searchsorted(grouped, grouped, side="left")
    return rank
