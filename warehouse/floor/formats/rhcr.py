"""RHCR (Rolling-Horizon Collision Resolution, Li et al. 2021) warehouse grids (``.map``).

Format::

    rows,cols
    <number of endpoints>
    <number of agents>
    <max time>
    <rows lines of cols characters>

``@`` obstacle, ``e`` endpoint (a pick face, kind ``pick``), ``r`` robot home (kind
``station``), ``.`` free aisle. The kinds come from the file, so ``explicit_kinds`` is True (a
map with no ``e`` or no ``r`` gets the missing kind from
:func:`~warehouse.floor.grid.infer_pick_and_station_cells`).
The three counts must be whole numbers ≥ 0 and are kept as graph attributes
``rhcr_endpoints``, ``rhcr_agents`` and ``rhcr_max_time``. Errors name the header field
(``header.rows``) or the line.
"""

from __future__ import annotations

import re
from pathlib import Path

import networkx as nx

from ...errors import InputError
from ..grid import graph_from_grid
from ..kinds import NodeKind
from .common import check_size, fill_missing_kinds, grid_codes, split_lines

LEGEND = {".": NodeKind.AISLE, "@": NodeKind.BLOCKED, "e": NodeKind.PICK, "r": NodeKind.STATION}
SHAPE_LINE = re.compile(r"^\s*(\d+)\s*,\s*(\d+)\s*$", re.ASCII)
COUNTS = ("endpoints", "agents", "max_time")
#: digits read of a header number (more is refused as too large; int() refuses > 4300 itself)
MAX_DIGITS = 18


def parse_rhcr(
    text: str, *, source: str | Path | None = None, name: str = "rhcr", cell_size: float = 1.0
) -> nx.Graph:
    """Floor graph of an RHCR ``.map`` file's text (see module docstring)."""
    lines = split_lines(text)
    match = SHAPE_LINE.match(lines[0]) if lines else None
    if match is None:
        got = lines[0].strip()[:40] if lines else ""
        raise InputError(source, "header.rows", f"line 1: expected 'rows,cols', got {got!r}")
    if max(len(match[1].lstrip("0")), len(match[2].lstrip("0"))) > MAX_DIGITS:
        raise InputError(source, "header.rows", f"line 1: {lines[0].strip()[:20]}… is too large")
    height, width = int(match[1]), int(match[2])
    check_size(source, "header.rows", height, width)
    counts = {}
    for i, key in enumerate(COUNTS, start=1):
        value = lines[i].strip() if i < len(lines) else ""
        if not (value.isascii() and value.isdigit()):
            raise InputError(
                source, f"header.{key}", f"line {i + 1}: expected a whole number, got {value!r}"
            )
        if len(value.lstrip("0")) > MAX_DIGITS:
            raise InputError(source, f"header.{key}", f"line {i + 1}: {value[:20]}… is too large")
        counts[key] = int(value)
    rows = [(i + 1, line.rstrip()) for i, line in enumerate(lines[4:], 4)]
    while rows and not rows[-1][1]:
        rows.pop()
    if len(rows) != height:
        where = f"line {rows[height][0]}" if len(rows) > height else "end of file"
        raise InputError(
            source, "header.rows", f"says {height} rows but the map has {len(rows)} (at {where})"
        )
    codes = grid_codes(rows, LEGEND, source=source, prefix="", width=width)
    kinds, explicit, inferred = fill_missing_kinds(codes.astype("int8"))
    graph = graph_from_grid(kinds, cell_size=cell_size, name=name)
    graph.graph.update(
        explicit_kinds=explicit,
        inferred_kinds=inferred,
        format="rhcr",
        **{f"rhcr_{k}": v for k, v in counts.items()},
    )
    return graph
