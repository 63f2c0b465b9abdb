"""MovingAI / League of Robot Runners grid maps (``.map``).

Format::

    type octile
    height H
    width W
    map
    <H rows of W characters>

``.`` ``G`` ``S`` ``E`` are passable (``S`` is MovingAI's *swamp*, not a station; ``E`` is the
League of Robot Runners' emitter mark), ``@`` ``O`` ``T`` ``W`` are blocked. The header keys
``type``, ``height`` and ``width`` may come in any order before the ``map`` line; ``type`` must
be ``octile`` (moves are 4-connected here whatever the type says).

These maps mark no pick locations or stations, so both come from
:func:`~warehouse.floor.grid.infer_pick_and_station_cells`: free cells with a shelf directly
north or south are pick faces, free cells in the outermost free columns are stations
(``explicit_kinds`` is False). Errors name the header field (``header.height``) or the line.
"""

from __future__ import annotations

from pathlib import Path

import networkx as nx
import numpy as np

from ...errors import InputError
from ..grid import graph_from_grid
from ..kinds import NodeKind
from .common import check_size, fill_missing_kinds, grid_codes, read_map_text, split_lines

PASSABLE = ".GSE"
BLOCKED = "@OTW"
#: digits read of a header number (more is refused as too large)
MAX_DIGITS = 12
LEGEND = {**dict.fromkeys(PASSABLE, NodeKind.AISLE), **dict.fromkeys(BLOCKED, NodeKind.BLOCKED)}


def parse_movingai(
    text: str, *, source: str | Path | None = None, name: str = "movingai", cell_size: float = 1.0
) -> nx.Graph:
    """Floor graph of a MovingAI ``.map`` file's text (see module docstring)."""
    lines = split_lines(text)
    header: dict[str, tuple[int, str]] = {}
    map_line = None
    for i, line in enumerate(lines):
        words = line.split()
        if not words:
            continue
        key = words[0].lower()
        if key == "map" and len(words) == 1:
            map_line = i
            break
        if key not in ("type", "height", "width") or len(words) != 2:
            raise InputError(
                source,
                "header",
                f"line {i + 1}: expected 'type octile', 'height H', 'width W' or 'map', "
                f"got {line.strip()[:40]!r}",
            )
        if key in header:
            raise InputError(source, f"header.{key}", f"line {i + 1}: given twice")
        header[key] = (i + 1, words[1])
    if map_line is None:
        raise InputError(source, "header.map", "no 'map' line before the rows")
    for key in ("type", "height", "width"):
        if key not in header:
            raise InputError(source, f"header.{key}", "missing from the header")
    lineno, kind = header["type"]
    if kind.lower() != "octile":
        raise InputError(source, "header.type", f"line {lineno}: expected 'octile', got {kind!r}")
    height = _positive_int(header["height"], "header.height", source)
    width = _positive_int(header["width"], "header.width", source)
    check_size(source, "header", height, width)

    rows = [(i + 1, line.rstrip()) for i, line in enumerate(lines[map_line + 1 :], map_line + 1)]
    while rows and not rows[-1][1]:
        rows.pop()
    if len(rows) != height:
        where = f"line {rows[height][0]}" if len(rows) > height else "end of file"
        raise InputError(
            source,
            "header.height",
            f"says {height} rows but the map has {len(rows)} (at {where})",
        )
    codes = grid_codes(rows, LEGEND, source=source, prefix="", width=width)
    kinds, explicit, inferred = fill_missing_kinds(codes.astype("int8"))
    graph = graph_from_grid(kinds, cell_size=cell_size, name=name)
    graph.graph.update(explicit_kinds=explicit, inferred_kinds=inferred, format="movingai")
    return graph


def _positive_int(entry: tuple[int, str], field: str, source: str | Path | None) -> int:
    lineno, value = entry
    # plain digits only: int() would also take '0_3', '+3' and non-ASCII digits (and refuse
    # more than 4300 digits with a ValueError of its own)
    digits = value.isascii() and value.isdigit()
    number = int(value[-MAX_DIGITS:]) if digits else 0
    if digits and len(value.lstrip("0")) > MAX_DIGITS:
        raise InputError(source, field, f"line {lineno}: {value[:20]}… is too large")
    if number < 1:
        raise InputError(
            source, field, f"line {lineno}: expected a positive whole number, got {value!r}"
        )
    return number


def movingai_cells(map_path: Path) -> tuple[np.ndarray, np.ndarray]:
    """``(free, main)`` of a MovingAI map file, boolean ``(height, width)`` arrays: a passable
    cell, and a cell of the floor a run compiles from it (free and not cut off from the main
    floor). The readers of files that name cells of the map (MovingAI ``.scen``, LoRR agent and
    task files) check their cells against both."""
    from ..compiled import compile_floor

    graph = parse_movingai(read_map_text(map_path), source=map_path, name=map_path.stem)
    height, width = graph.graph["grid_shape"]
    free = np.zeros((height, width), dtype=bool)
    for (r, c), kind in graph.nodes(data="kind"):
        free[r, c] = kind != "blocked"
    floor = compile_floor(graph, source=map_path)
    main = np.zeros((height, width), dtype=bool)
    main[floor.pos[:, 0], floor.pos[:, 1]] = True
    return free, main


__all__ = ["movingai_cells", "parse_movingai"]
