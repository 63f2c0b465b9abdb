"""ASCII floor drawings (inline ``layout.map`` in a scenario, or a ``.txt`` file).

One character per cell, one text line per row:

=========  ===================================================================
``.``      aisle (free travel cell)
``#`` ``@``  shelf or obstacle (blocked)
``p``      pick location (an aisle cell where orders are picked)
``S``      station (drop-off / packing)
``P``      parking (an aisle cell where idle robots wait, ``policies.park_idle``)
``C``      charger (an aisle cell with a charger of the battery model, ``battery``)
``>``      aisle cell whose *horizontal* moves are eastbound only
``<``      aisle cell whose horizontal moves are westbound only
``^``      aisle cell whose *vertical* moves are northbound only
``v``      aisle cell whose vertical moves are southbound only
=========  ===================================================================

One-way rule: a horizontal move between two cells is allowed only if neither cell forbids it
(``>`` forbids westward moves into, out of and through it; ``<`` forbids eastward ones), and
likewise for vertical moves with ``^`` / ``v``. Moves across the other axis are unrestricted, so
``>`` in a row still lets robots enter from the north and leave to the south. Two facing
arrows (``><``) leave no move between them. A map with any arrow becomes an ``nx.DiGraph``.

Pick locations and stations: when the drawing marks neither, both come from
:func:`~warehouse.floor.grid.infer_pick_and_station_cells`; when it marks only one kind, the
other is inferred. The graph attribute ``explicit_kinds`` is True when the drawing marked any,
so :func:`~warehouse.floor.compiled.compile_floor` insists they are reachable.

Chargers: a ``C`` cell is an aisle cell for movement (no kind of its own; the inference of pick
locations and stations leaves it an aisle) whose graph node carries ``charger=True``
(:attr:`~warehouse.floor.compiled.CompiledFloor.charger`). ``battery.chargers`` defaults to
these cells when it lists none (:func:`~warehouse.core.battery.resolve_chargers`). A drawing
without ``C`` gives the graph it gave before.

Trailing whitespace and blank lines before / after the drawing are ignored. Errors name the line
(``layout.map line 3``).
"""

from __future__ import annotations

from pathlib import Path

import networkx as nx
import numpy as np

from ...errors import InputError
from ..grid import graph_from_grid
from ..kinds import NodeKind
from .common import fill_missing_kinds, grid_codes, text_rows

#: One-way codes used only while parsing (turned into aisles with edge directions).
EAST_ONLY, WEST_ONLY, NORTH_ONLY, SOUTH_ONLY = 10, 11, 12, 13
#: Charger code used only while parsing (an aisle cell whose node gets ``charger=True``).
CHARGER = 20
LEGEND = {
    ".": NodeKind.AISLE,
    "#": NodeKind.BLOCKED,
    "@": NodeKind.BLOCKED,
    "p": NodeKind.PICK,
    "S": NodeKind.STATION,
    "P": NodeKind.PARKING,
    "C": CHARGER,
    ">": EAST_ONLY,
    "<": WEST_ONLY,
    "^": NORTH_ONLY,
    "v": SOUTH_ONLY,
}
#: Characters that only ASCII drawings use (for format detection).
ASCII_ONLY_CHARS = frozenset("pSPC><^v")


def parse_ascii(
    text: str,
    *,
    source: str | Path | None = None,
    name: str = "ascii",
    field: str = "layout.map",
    cell_size: float = 1.0,
) -> nx.Graph:
    """Floor graph of an ASCII drawing (see module docstring); ``field`` prefixes error fields."""
    rows = text_rows(text)
    if not rows:
        raise InputError(source, field or None, "the map is empty")
    codes = grid_codes(rows, LEGEND, source=source, prefix=field)
    one_way = (codes >= EAST_ONLY) & (codes <= SOUTH_ONLY)
    charger = codes == CHARGER
    kinds = np.where(one_way | charger, NodeKind.AISLE, codes).astype(np.int8)
    kinds, explicit, inferred = fill_missing_kinds(kinds, keep=charger if charger.any() else None)
    graph = graph_from_grid(kinds, cell_size=cell_size, name=name)
    for r, c in zip(*np.nonzero(charger), strict=True):
        graph.nodes[(int(r), int(c))]["charger"] = True
    if one_way.any():
        graph = _restrict(graph.to_directed(), codes)
    graph.graph.update(explicit_kinds=explicit, inferred_kinds=inferred, format="ascii")
    return graph


def _restrict(graph: nx.DiGraph, codes: np.ndarray) -> nx.DiGraph:
    """Drop the moves that a one-way cell at either end forbids."""
    forbidden = {EAST_ONLY: (0, -1), WEST_ONLY: (0, 1), NORTH_ONLY: (1, 0), SOUTH_ONLY: (-1, 0)}
    drop = []
    for a, b in graph.edges:
        step = (b[0] - a[0], b[1] - a[1])
        if any(forbidden.get(int(codes[cell]), None) == step for cell in (a, b)):
            drop.append((a, b))
    graph.remove_edges_from(drop)
    return graph
