"""Shared helpers of the map readers: safe file reading, size limits and grid text parsing.

Limits (a file over any of them is refused with an :class:`~warehouse.errors.InputError`):

* :data:`MAX_FILE_BYTES` — 50 MB on disk;
* :data:`MAX_SIDE` — 4096 cells along either side of a grid;
* :data:`MAX_CELLS` — 2²² (about 4.2 million) cells or nodes in one floor.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import numpy as np

from ...errors import InputError
from ..kinds import NodeKind

MAX_FILE_BYTES = 50 * 2**20
MAX_SIDE = 4096
MAX_CELLS = 2**22
#: graph attribute holding the frozenset of transit node ids of a floor split by
#: ``physics.speed_m_s`` (:mod:`warehouse.floor.transit`; files mark them ``transit: true``)
TRANSIT_KEY = "transit_nodes"


def read_map_text(path: str | Path) -> str:
    """The text of a map file: UTF-8 (a byte-order mark is dropped), no NUL bytes, ≤ 50 MB."""
    path = Path(path)
    try:
        if not path.is_file():
            raise InputError(path, None, "no such file" if not path.exists() else "not a file")
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            raise InputError(
                path, None, f"file is {size / 2**20:.0f} MB; map files are limited to 50 MB"
            )
        data = path.read_bytes()
    except OSError as exc:
        raise InputError(path, None, f"cannot read: {exc.strerror or exc}") from None
    if b"\x00" in data:
        raise InputError(path, None, "binary file (contains NUL bytes), expected a text map")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InputError(path, None, f"not UTF-8 text (byte {exc.start})") from None
    if not text.strip():
        raise InputError(path, None, "empty file")
    return text


def split_lines(text: str) -> list[str]:
    """Lines of ``text`` without their endings: ``\\n``, ``\\r\\n`` or a lone ``\\r`` (old Mac
    files), as Python's universal newlines read them."""
    return text.replace("\r\n", "\n").replace("\r", "\n").split("\n")


def line_field(prefix: str, lineno: int) -> str:
    """Field name for an error on line ``lineno`` (1-based): ``"layout.map line 3"``."""
    return f"{prefix} line {lineno}" if prefix else f"line {lineno}"


def check_size(source: str | Path | None, field: str, height: int, width: int) -> None:
    """Refuse empty or absurdly large grids."""
    if height < 1 or width < 1:
        raise InputError(source, field, "the map is empty")
    if height > MAX_SIDE or width > MAX_SIDE or height * width > MAX_CELLS:
        raise InputError(
            source,
            field,
            f"{height}x{width} cells is too large (at most {MAX_SIDE} per side and "
            f"{MAX_CELLS} cells)",
        )


def grid_codes(
    rows: list[tuple[int, str]],
    legend: Mapping[str, int],
    *,
    source: str | Path | None,
    prefix: str,
    width: int | None = None,
) -> np.ndarray:
    """Translate text rows into an ``(H, W)`` array of legend codes.

    ``rows`` holds ``(line number, text)`` pairs. Every row must be ``width`` characters long
    (the first row's length when ``width`` is None) and use only legend characters; errors name
    the offending line.
    """
    if not rows:
        raise InputError(source, prefix or None, "the map has no rows")
    width = len(rows[0][1]) if width is None else width
    check_size(source, line_field(prefix, rows[0][0]), len(rows), width)
    lookup = np.full(128, -1, dtype=np.int16)
    for char, code in legend.items():
        lookup[ord(char)] = code
    out = np.empty((len(rows), width), dtype=np.int16)
    for i, (lineno, text) in enumerate(rows):
        if len(text) != width:
            raise InputError(
                source,
                line_field(prefix, lineno),
                f"row has {len(text)} cells, expected {width} (all rows must be equally wide)",
            )
        raw = np.frombuffer(text.encode("utf-32-le", "surrogatepass"), dtype=np.uint32)
        codes = lookup[np.minimum(raw, 127)]
        bad = np.flatnonzero((raw > 127) | (codes < 0))
        if bad.size:
            col = int(bad[0])
            raise InputError(
                source,
                line_field(prefix, lineno),
                f"unknown map character {text[col]!r} in column {col + 1} "
                f"(allowed: {''.join(sorted(legend))!r})",
            )
        out[i] = codes
    return out


def fill_missing_kinds(
    kinds: np.ndarray, keep: np.ndarray | None = None
) -> tuple[np.ndarray, bool, list[str]]:
    """Apply :func:`~warehouse.floor.grid.infer_pick_and_station_cells` where a map marks none.

    Returns the completed kinds grid, whether the map itself marked pick locations or
    stations (``explicit_kinds``) and which of the two were inferred (``inferred_kinds``:
    ``"pick"``, ``"station"``). A map that marks only one of the two gets the other from the
    inference rule; its own marks are kept. Cells where ``keep`` is True (an ASCII drawing's
    chargers) stay as they are.
    """
    from ..grid import infer_pick_and_station_cells

    has_pick = bool((kinds == NodeKind.PICK).any())
    has_station = bool((kinds == NodeKind.STATION).any())
    missing = ["pick"] * (not has_pick) + ["station"] * (not has_station)
    if has_pick and has_station:
        return kinds, True, missing
    inferred = infer_pick_and_station_cells(kinds != NodeKind.BLOCKED)
    out = kinds.copy()
    free = out == NodeKind.AISLE
    if keep is not None:
        free &= ~keep
    if not has_pick:
        out[free & (inferred == NodeKind.PICK)] = NodeKind.PICK
    if not has_station:
        out[free & (inferred == NodeKind.STATION)] = NodeKind.STATION
    return out, has_pick or has_station, missing


def text_rows(text: str) -> list[tuple[int, str]]:
    """``(line number, row)`` pairs of a drawn map: trailing whitespace and leading / trailing
    blank lines dropped (blank lines inside the map are kept and rejected as ragged rows)."""
    rows = [(i + 1, line.rstrip()) for i, line in enumerate(split_lines(text))]
    while rows and not rows[-1][1]:
        rows.pop()
    while rows and not rows[0][1]:
        rows.pop(0)
    return rows
