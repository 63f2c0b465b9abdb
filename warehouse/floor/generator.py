"""A parametric warehouse: shelf blocks separated by aisles, stations along the walls.

Example (``shelf_rows=2, shelf_cols=3, block_length=4``, stations on the west wall)::

    ...pppp.pppp.pppp.
    S..@@@@.@@@@.@@@@.
    ...@@@@.@@@@.@@@@.
    ...pppp.pppp.pppp.
    S..@@@@.@@@@.@@@@.
    ...@@@@.@@@@.@@@@.
    ...pppp.pppp.pppp.

``@`` is shelf, ``S`` a station, ``p`` a pick location: the aisle cells directly above and
below shelves (an ASCII drawing of the same floor, ``layout.type: ascii``). The floor is held to
the map files' size limits (:data:`~warehouse.floor.formats.common.MAX_SIDE` cells a side,
:data:`~warehouse.floor.formats.common.MAX_CELLS` cells), and every station wall gets at least
one station (``station_spacing`` at most twice the wall's length less one).

``parking_walls`` adds a strip of parking cells (``P``) along other walls, outside the outer
aisle, where idle robots wait off the traffic lanes (``policies.park_idle``). With
``one_way=True`` the horizontal aisles alternate eastbound / westbound and the vertical aisles
between blocks alternate southbound / northbound (a Manhattan one-way pattern; vertical moves
inside the station zones stay two-way and the outer ring circulates clockwise, which keeps the
floor strongly connected; moves into and out of parking cells stay two-way).
"""

from __future__ import annotations

from dataclasses import dataclass

import networkx as nx
import numpy as np

from .formats.common import MAX_CELLS, MAX_SIDE
from .grid import graph_from_grid
from .kinds import NodeKind

WALLS = ("west", "east", "north", "south")


@dataclass(frozen=True, kw_only=True)
class WarehouseLayout:
    """Generator parameters (all counts in cells)."""

    shelf_rows: int = 4  #: shelf blocks stacked north-south
    shelf_cols: int = 4  #: shelf blocks side by side east-west
    block_length: int = 8  #: shelf cells per block along a row
    block_depth: int = 2  #: shelf rows per block (2 = back-to-back shelves)
    aisle_width: int = 1  #: width of aisles between blocks
    station_zone: int = 3  #: depth of the open zone between a station wall and the shelves
    station_walls: tuple[str, ...] = ("west",)  #: walls that carry stations
    station_spacing: int = 3  #: one station every this many cells along a station wall
    one_way: bool = False  #: alternate aisle directions
    parking_walls: tuple[str, ...] = ()  #: walls (without stations) lined with parking cells
    cell_size: float = 1.0  #: metres per cell


def generate_kinds(layout: WarehouseLayout) -> tuple[np.ndarray, dict[int, int], dict[int, int]]:
    """Kinds grid plus one-way row/column directions (empty unless ``layout.one_way``)."""
    _check(layout)
    zone, aisle = layout.station_zone, layout.aisle_width
    west = zone if "west" in layout.station_walls else aisle
    east = zone if "east" in layout.station_walls else aisle
    north = zone if "north" in layout.station_walls else aisle
    south = zone if "south" in layout.station_walls else aisle
    core_w = layout.shelf_cols * layout.block_length + (layout.shelf_cols - 1) * aisle
    core_h = layout.shelf_rows * layout.block_depth + (layout.shelf_rows - 1) * aisle
    height, width = north + core_h + south, west + core_w + east
    _check_size(height + sum(w in layout.parking_walls for w in ("north", "south")),
                width + sum(w in layout.parking_walls for w in ("west", "east")))  # fmt: skip
    kinds = np.full((height, width), NodeKind.AISLE, dtype=np.int8)

    block_row0 = [north + i * (layout.block_depth + aisle) for i in range(layout.shelf_rows)]
    block_col0 = [west + j * (layout.block_length + aisle) for j in range(layout.shelf_cols)]
    for r0 in block_row0:
        for c0 in block_col0:
            kinds[r0 : r0 + layout.block_depth, c0 : c0 + layout.block_length] = NodeKind.BLOCKED
    shelf = kinds == NodeKind.BLOCKED
    pad = np.pad(shelf, 1, constant_values=False)
    faces = ~shelf & (pad[:-2, 1:-1] | pad[2:, 1:-1])
    kinds[faces] = NodeKind.PICK

    spacing = layout.station_spacing
    if "west" in layout.station_walls:
        kinds[spacing // 2 :: spacing, 0] = NodeKind.STATION
    if "east" in layout.station_walls:
        kinds[spacing // 2 :: spacing, width - 1] = NodeKind.STATION
    if "north" in layout.station_walls:
        kinds[0, spacing // 2 :: spacing] = NodeKind.STATION
    if "south" in layout.station_walls:
        kinds[height - 1, spacing // 2 :: spacing] = NodeKind.STATION
    for wall in layout.station_walls:  # the first station sits spacing // 2 cells along it
        length = height if wall in ("west", "east") else width
        if spacing // 2 >= length:
            raise ValueError(
                f"station_spacing {spacing} leaves the {wall} wall ({length} cells) without a "
                f"station: at most {2 * length - 1} on this floor"
            )

    row_dirs: dict[int, int] = {}
    col_dirs: dict[int, int] = {}
    if layout.one_way:
        # Every full-width aisle row (the outer ones included) alternates east/west; every aisle
        # column outside the station zones alternates south/north. Station zones stay two-way.
        lo = west if "west" in layout.station_walls else 0
        hi = width - (east if "east" in layout.station_walls else 0)
        aisle_rows = [r for r in range(height) if not shelf[r].any()]
        for i, r in enumerate(aisle_rows):
            row_dirs[r] = 1 if i % 2 == 0 else -1
        aisle_cols = [c for c in range(lo, hi) if not shelf[:, c].any()]
        for j, c in enumerate(aisle_cols):
            col_dirs[c] = -1 if j % 2 == 0 else 1
        # The outer ring circulates clockwise: north row east, east column south, south row
        # west, west column north, so no corner is a dead end.
        row_dirs[0], row_dirs[height - 1] = 1, -1
        if 0 in col_dirs:
            col_dirs[0] = -1
        if width - 1 in col_dirs:
            col_dirs[width - 1] = 1
    return _with_parking(kinds, row_dirs, col_dirs, layout.parking_walls)


def _with_parking(
    kinds: np.ndarray, row_dirs: dict[int, int], col_dirs: dict[int, int], walls: tuple[str, ...]
) -> tuple[np.ndarray, dict[int, int], dict[int, int]]:
    """``kinds`` with a one-cell strip of parking cells outside each wall of ``walls``; the
    one-way rows and columns move with the grid."""
    north, south, west, east = (int(w in walls) for w in ("north", "south", "west", "east"))
    kinds = np.pad(kinds, ((north, south), (west, east)), constant_values=NodeKind.PARKING)
    return (
        kinds,
        {r + north: d for r, d in row_dirs.items()},
        {c + west: d for c, d in col_dirs.items()},
    )


def generate_warehouse(
    layout: WarehouseLayout | None = None, *, name: str = "warehouse"
) -> nx.Graph:
    """Build the floor graph of a parametric warehouse (see module docstring)."""
    layout = layout or WarehouseLayout()
    kinds, row_dirs, col_dirs = generate_kinds(layout)
    return graph_from_grid(
        kinds,
        cell_size=layout.cell_size,
        name=name,
        row_directions=row_dirs,
        col_directions=col_dirs,
    )


def _check_size(height: int, width: int) -> None:
    """The map files' limits (:func:`~warehouse.floor.formats.common.check_size`), before a
    cell is allocated."""
    if height > MAX_SIDE or width > MAX_SIDE or height * width > MAX_CELLS:
        raise ValueError(
            f"the floor would be {height}×{width} cells, too large (at most {MAX_SIDE} per side "
            f"and {MAX_CELLS:,} cells): fewer or smaller shelf blocks"
        )


def _check(layout: WarehouseLayout) -> None:
    for field in ("shelf_rows", "shelf_cols", "block_length", "block_depth", "aisle_width"):
        if getattr(layout, field) < 1:
            raise ValueError(f"{field} must be ≥ 1")
    if layout.station_zone < 1 or layout.station_spacing < 1:
        raise ValueError("station_zone and station_spacing must be ≥ 1")
    bad = [w for w in layout.station_walls if w not in WALLS]
    if bad or not layout.station_walls:
        raise ValueError(f"station_walls must be a non-empty subset of {WALLS}")
    if any(w not in WALLS for w in layout.parking_walls):
        raise ValueError(f"parking_walls must be a subset of {WALLS}")
    if both := sorted(set(layout.parking_walls) & set(layout.station_walls)):
        raise ValueError(f"parking_walls and station_walls share {', '.join(both)}")
