"""Score only the deciding robots whose choice can win an order.

At a decision event every deciding robot chooses a slot (an order, or WAIT), and each order goes
to the nearest robot that chose it (:func:`~hierarchy.features.resolve_conflicts`). On a big
floor with few open orders hundreds of idle robots decide, yet only the few nearest to each
order can get it: for an order, a robot whose nearer rivals include one that chose the order
loses whatever it chose. :func:`greedy_choices` finds the same winners as scoring every robot
in two rounds: it scores the nearest rival of every order; an order its nearest rival did not
choose is still undecided, and all its other rivals are scored next. The robots it leaves
unscored are returned as WAIT: none of them could have won an order. (Scoring the rivals of an
undecided order a few at a time, nearest first, scores fewer robots but costs more rounds: on
`large` one round for all was the fastest, 20.2 ms a fleet step against 23.0 ms at 1, 2, 4, ...
rivals a round.)

A robot's scores do not depend on which other robots are scored with it (features are computed
for all deciding robots first; the network scores each row alone), down to the last bit as long
as no product has fewer than :data:`MIN_ROWS` rows: torch's CPU products may round differently
for a handful of rows, so smaller sets are padded (``tests/test_dispatch_winners.py`` compares
every assignment with scoring all robots, on several floors and thread counts).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from .features import Decision

#: fewest rows scored at once (smaller sets are padded by repeating their rows)
MIN_ROWS = 16


def padded(rows: np.ndarray, least: int = MIN_ROWS) -> np.ndarray:
    """``rows`` repeated up to ``least`` entries (itself when it has that many)."""
    return rows if rows.size >= least else np.resize(rows, least)


def greedy_choices(
    decision: Decision, best_slots: Callable[[np.ndarray], np.ndarray]
) -> np.ndarray:
    """``(R,)`` chosen slots (``K`` = WAIT) that give the winners scoring every robot would:
    ``best_slots(rows)`` returns the argmax slot of the deciding robots ``rows`` (indices into
    ``decision.robots``); robots that cannot win an order are not scored and get WAIT."""
    r, k = decision.orders.shape
    choice = np.full(r, k, dtype=np.int64)
    if r <= 2 * MIN_ROWS:  # a few robots: score them all
        return np.asarray(best_slots(np.arange(r)), dtype=np.int64)
    rows, slots = np.nonzero(decision.mask[:, :k] & (decision.orders >= 0))
    if rows.size == 0:
        return choice
    orders = decision.orders[rows, slots]
    # each order's rivals nearest first, ties to the lower robot id: the order of _winners
    sort = np.lexsort((decision.robots[rows], decision.dist[rows, slots], orders))
    rows, slots, orders = rows[sort], slots[sort], orders[sort]
    new = np.ones(orders.size, dtype=bool)
    new[1:] = orders[1:] != orders[:-1]
    group = np.cumsum(new) - 1  # the order of each entry, 0..G-1
    scored = np.zeros(r, dtype=bool)
    for nearest_only in (True, False):
        pending = ~scored[rows]
        # the first entry of each order that is not a scored robot that chose something else
        stop = pending | (choice[rows] == slots)
        at = np.flatnonzero(stop)
        _, first = np.unique(group[at], return_index=True)
        firsts = at[first][pending[at[first]]]  # undecided: its first is a robot not yet scored
        if firsts.size == 0:
            break
        if nearest_only:  # the nearest unscored rival of each undecided order
            need = np.unique(rows[firsts])
        else:  # then every unscored rival of the orders still undecided: all are decided
            need = np.unique(rows[pending & np.isin(group, group[firsts])])
        choice[need] = np.asarray(best_slots(need), dtype=np.int64)
        scored[need] = True
    return choice
