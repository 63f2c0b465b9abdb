"""Charger cells placed automatically (``battery.auto_chargers``).

A charging robot holds its cell until it is full, so a good charger cell is one no robot needs:
an aisle or parking cell that is not a transit node, not beside a pick location (it would sit in
a pick aisle), not a dead end (under PIBT a robot leaving one and a robot entering can lock) and
not a thoroughfare (:func:`~warehouse.floor.checks.thoroughfares`: a cell of a one-lane aisle, or
the only way to somewhere). On a grid floor they go on its outer edge, as fixed chargers do on a
warehouse wall, when the edge has enough such cells. Among those cells the chargers are spread
over the floor by farthest-point sampling in steps (moves taken both ways): the first is the one
nearest a station, where loaded robots end their trips; each next one the farthest from those
placed, where within :data:`SLACK` steps of the farthest a cell with fewer neighbours (a corner,
a pocket) goes before one on the side of a lane. Ties go to the lower node id, so the placement
is a function of the floor alone.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
from scipy.sparse.csgraph import shortest_path

from .checks import beside, dead_end_chargers, neighbour_pairs, thoroughfares
from .compiled import CompiledFloor
from .kinds import NodeKind

#: steps short of the farthest cell within which :func:`place_chargers` prefers fewer neighbours
SLACK = 2


def charger_candidates(floor: CompiledFloor) -> np.ndarray:
    """Node ids (ascending) of the aisle and parking cells that are not transit nodes, not beside
    a pick location and not dead ends. Thoroughfares are left to :func:`place_chargers`, which
    tests only the cells it is about to take."""
    kind = floor.kind
    ok = (kind == int(NodeKind.AISLE)) | (kind == int(NodeKind.PARKING))
    ok &= ~floor.transit
    cand = np.flatnonzero(ok & ~beside(floor, kind == int(NodeKind.PICK))).astype(np.int64)
    return np.setdiff1d(cand, dead_end_chargers(floor, cand))


def on_outer_edge(floor: CompiledFloor, nodes: np.ndarray) -> np.ndarray:
    """Bool per node of ``nodes``: in the first or last row or column of a grid floor (all False
    on a waypoint graph, which has no walls)."""
    if not floor.is_grid:
        return np.zeros(len(nodes), dtype=bool)
    height, width = floor.shape
    r, c = floor.pos[nodes, 0], floor.pos[nodes, 1]
    return (r == 0) | (r == height - 1) | (c == 0) | (c == width - 1)


def place_chargers(floor: CompiledFloor, n: int) -> np.ndarray:
    """``n`` charger nodes (int64, in the order placed) spread over ``floor``: on its outer edge
    when ``n`` fit there, else anywhere; raises ``ValueError`` when fewer than ``n`` cells
    qualify (:func:`charger_candidates`, less the thoroughfares)."""
    pairs = neighbour_pairs(floor)
    size = floor.n_nodes
    ones = np.ones(len(pairs), dtype=np.float64)
    graph = sp.coo_matrix((ones, (pairs[:, 0], pairs[:, 1])), shape=(size, size)).tocsr()

    def steps_from(sources: np.ndarray) -> np.ndarray:
        d = shortest_path(graph, directed=False, unweighted=True, indices=sources)
        return np.atleast_2d(d).min(axis=0)

    # the first charger: the cell nearest a station; then each the farthest from those placed
    near_station = -steps_from(floor.stations) if floor.stations.size else np.zeros(size)

    degree = np.bincount(pairs.ravel(), minlength=size)

    def spread(cand: np.ndarray) -> list[int]:
        key = near_station
        chosen: list[int] = []
        alive = np.ones(cand.size, dtype=bool)
        while len(chosen) < n and alive.any():
            score = np.where(alive & np.isfinite(key[cand]), key[cand], -np.inf)
            if not np.isfinite(score.max()):
                break
            # within SLACK steps of the farthest, the cell with the fewest neighbours (a corner
            # or a pocket before a cell on a lane's side); ties: the lower node id
            near_best = np.flatnonzero(score >= score.max() - SLACK)
            i = int(near_best[np.argmin(degree[cand[near_best]])])
            alive[i] = False
            v = int(cand[i])
            if thoroughfares(floor, np.array([v])).size:
                continue
            gap = steps_from(np.array([v]))
            key = gap if not chosen else np.minimum(key, gap)
            chosen.append(v)
        return chosen

    cand = charger_candidates(floor)
    edge = on_outer_edge(floor, cand)
    chosen = spread(cand[edge]) if np.count_nonzero(edge) >= n else []
    if len(chosen) < n:
        chosen = spread(cand)
    if len(chosen) < n:
        raise ValueError(
            f"only {len(chosen)} cells qualify for a charger (aisle or parking cells off the "
            "ways robots must pass, not dead ends, not beside a pick location)"
        )
    return np.asarray(chosen, dtype=np.int64)
