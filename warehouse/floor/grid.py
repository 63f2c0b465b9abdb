"""Turn a 2-D grid of node kinds into a floor graph.

Every grid format (generator, ASCII, MovingAI, POGEMA, RHCR) ends here, so they all produce the
same graph conventions:

* node key ``(row, col)``; attributes ``pos=(row, col)``, ``kind`` (``"aisle"``, ``"pick"``,
  ``"station"``, ``"blocked"``), ``start`` and ``goal`` (may a robot start / be sent there);
* blocked cells are nodes without edges, so renderers and observations see the shelves;
* 4-neighbour edges between passable cells, attribute ``length`` in metres (``cell_size``);
* an ``nx.Graph``, or an ``nx.DiGraph`` when some aisles are one-way (two-way aisles then carry
  both directions);
* graph attributes ``grid_shape=(H, W)``, ``cell_size`` and ``name``.
"""

from __future__ import annotations

from collections.abc import Mapping

import networkx as nx
import numpy as np

from .kinds import NodeKind

_KIND_NAMES = {k.value: k.name.lower() for k in NodeKind}


def graph_from_grid(
    kinds: np.ndarray,
    *,
    cell_size: float = 1.0,
    name: str = "grid",
    row_directions: Mapping[int, int] | None = None,
    col_directions: Mapping[int, int] | None = None,
    start_mask: np.ndarray | None = None,
    goal_mask: np.ndarray | None = None,
) -> nx.Graph:
    """Build the floor graph of an ``(H, W)`` array of :class:`NodeKind` codes.

    ``row_directions[r] = +1`` makes horizontal moves along row ``r`` eastbound only (``-1``
    westbound); ``col_directions[c] = +1`` makes vertical moves in column ``c`` southbound only
    (``-1`` northbound). Edges whose row/column is not listed, and edges to or from a parking
    cell (a robot must be able to leave the spot it entered), stay two-way.
    """
    kinds = np.asarray(kinds, dtype=np.int8)
    if kinds.ndim != 2 or kinds.size == 0:
        raise ValueError("kinds must be a non-empty 2-D array")
    height, width = kinds.shape
    row_directions = dict(row_directions or {})
    col_directions = dict(col_directions or {})
    directed = bool(row_directions or col_directions)
    graph: nx.Graph = nx.DiGraph() if directed else nx.Graph()
    graph.graph.update(grid_shape=(int(height), int(width)), cell_size=float(cell_size), name=name)

    passable = kinds != NodeKind.BLOCKED
    start = passable if start_mask is None else (np.asarray(start_mask, bool) & passable)
    goal = passable if goal_mask is None else (np.asarray(goal_mask, bool) & passable)
    rows, cols = np.indices(kinds.shape)
    graph.add_nodes_from(
        (
            (int(r), int(c)),
            {
                "pos": (int(r), int(c)),
                "kind": _KIND_NAMES[int(k)],
                "start": bool(s),
                "goal": bool(g),
            },
        )
        for r, c, k, s, g in zip(
            rows.ravel(), cols.ravel(), kinds.ravel(), start.ravel(), goal.ravel(), strict=True
        )
    )

    length = float(cell_size)
    parking = kinds == NodeKind.PARKING
    # Horizontal neighbours: (r, c) -- (r, c + 1).
    hr, hc = np.nonzero(passable[:, :-1] & passable[:, 1:])
    for r, c in zip(hr.tolist(), hc.tolist(), strict=True):
        a, b = (r, c), (r, c + 1)
        d = 0 if parking[a] or parking[b] else row_directions.get(r, 0)
        if d >= 0:
            graph.add_edge(a, b, length=length)
        if d <= 0 and directed:
            graph.add_edge(b, a, length=length)
    # Vertical neighbours: (r, c) -- (r + 1, c).
    vr, vc = np.nonzero(passable[:-1, :] & passable[1:, :])
    for r, c in zip(vr.tolist(), vc.tolist(), strict=True):
        a, b = (r, c), (r + 1, c)
        d = 0 if parking[a] or parking[b] else col_directions.get(c, 0)
        if d >= 0:
            graph.add_edge(a, b, length=length)
        if d <= 0 and directed:
            graph.add_edge(b, a, length=length)
    return graph


def infer_pick_and_station_cells(passable: np.ndarray) -> np.ndarray:
    """The documented rule for maps that mark no pick locations or stations.

    * **pick location**: a passable cell with a blocked cell (shelf) directly north or south of
      it; if a map has none, east or west neighbours count too;
    * **station**: a passable cell in the outermost column that has any passable cell (west and
      east walls), that is not already a pick location.

    Returns an ``(H, W)`` array of :class:`NodeKind` codes.
    """
    passable = np.asarray(passable, dtype=bool)
    blocked = ~passable
    pad = np.pad(blocked, 1, constant_values=False)  # the map's border is not a shelf
    north, south = pad[:-2, 1:-1], pad[2:, 1:-1]
    west, east = pad[1:-1, :-2], pad[1:-1, 2:]
    pick = passable & (north | south)
    if not pick.any():
        pick = passable & (west | east)
    kinds = np.where(passable, NodeKind.AISLE, NodeKind.BLOCKED).astype(np.int8)
    kinds[pick] = NodeKind.PICK
    cols_with_free = np.nonzero(passable.any(axis=0))[0]
    if cols_with_free.size:
        for col in {int(cols_with_free[0]), int(cols_with_free[-1])}:
            station = passable[:, col] & ~pick[:, col]
            if not station.any():
                station = passable[:, col]
            kinds[station, col] = NodeKind.STATION
    return kinds
