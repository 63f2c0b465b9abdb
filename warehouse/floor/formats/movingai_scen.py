"""MovingAI MAPF benchmark scenario files (``.scen``): one-shot MAPF instances on a ``.map``.

Followed: the MovingAI benchmark pages (movingai.com/benchmarks/formats.html, "Scenario
format"; the MAPF benchmark of Stern et al., SoCS 2019, movingai.com/benchmarks/mapf) and the
readers of public MAPF solvers (LaCAM's ``instance.cpp``: ``width * y + x``; EECBS/CBSH2's
``Instance::loadAgents``: the columns ``map_width`` then ``map_height``, ``x`` the column).

The first line is ``version 1`` (``version 1.0`` too), then one agent a line, nine
tab-separated columns (a file without tabs is split at runs of spaces)::

    bucket  map  map_width  map_height  start_x  start_y  goal_x  goal_y  optimal_length

``x`` is the column and ``y`` the row of the map as drawn (0-based, row 0 the map file's first
row), so agent ``i`` starts on ``(row, col) = (start_y, start_x)``. Every line must name the same
map, a bare file name looked up in the ``.scen`` file's folder, then its parent folder, then the
parent's direct subfolders (the benchmark ships ``mapf-map/`` beside ``scen-random/``).
``optimal_length`` is read (a number ≥ 0) but not used: MovingAI computes it on its own
connectivity.

What the run does with it (:func:`read_movingai_scen` returns the instance; ``warehouse run
FILE.scen`` runs it): the map is the floor, the starts are ``fleet.start_cells`` and the goals
``tasks.goals`` under ``tasks.assignment: one_shot`` (robot ``i``'s one goal is goal ``i``).
``--robots N`` takes the first ``N`` agents, the benchmark's convention; every line is checked.

Errors are one-line :class:`~warehouse.errors.InputError` naming the file and the line (and the
column): a missing or odd header, a line of another column count, a coordinate that is not a
whole number, a map not found, ``map_width``/``map_height`` unlike the map's, a cell off the
map, on an obstacle or cut off from the main floor (which the floor treats as blocked), two
agents on one start or one goal (no one-shot MAPF instance), no agent line, more than
:data:`MAX_LINES` agent lines (refused before they are read) or more agents than a fleet may
have (:data:`MAX_AGENTS`).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from pathlib import Path

from ...config import MAX_GOALS
from ...errors import InputError, display_path
from .common import read_map_text, split_lines
from .movingai import movingai_cells

#: the columns of an agent line
COLUMNS = (
    "bucket",
    "map",
    "map_width",
    "map_height",
    "start_x",
    "start_y",
    "goal_x",
    "goal_y",
    "optimal_length",
)
#: agent lines a file may hold (as a LoRR agent or task file's lines): a larger file is refused
#: before its lines are read
MAX_LINES = MAX_GOALS
#: agents a run takes (``fleet.start_cells``' and ``fleet.robots``' limit)
MAX_AGENTS = 100_000
HEADERS = ("version 1", "version 1.0")
_WHOLE = re.compile(r"[0-9]{1,12}")
_NUMBER = re.compile(r"(?:[0-9]{1,20}(?:\.[0-9]{0,20})?|\.[0-9]{1,20})(?:[eE][+-]?[0-9]{1,3})?")
_WHOLES = ("bucket", "map_width", "map_height", "start_x", "start_y", "goal_x", "goal_y")


@dataclass(frozen=True)
class MovingAIScenario:
    """The instance a MovingAI ``.scen`` file gives (cells as ``(row, col)``, agent order)."""

    map_path: Path  #: the map file (absolute)
    starts: list[tuple[int, int]]
    goals: list[tuple[int, int]]
    buckets: list[int]
    optimal_lengths: list[float]  #: as the file gives them (not used by a run)


@dataclass(frozen=True)
class _Line:
    lineno: int
    fields: list[str]
    numbers: dict[str, int]


def read_movingai_scen(path: str | Path) -> MovingAIScenario:
    """Read a MovingAI scenario file and the map it names (see module docstring)."""
    path = Path(path)
    text = read_map_text(path)  # (missing, binary, over 50 MB or empty: one line)
    normal = text.replace("\r\n", "\n").replace("\r", "\n").rstrip()
    if (follow := normal.count("\n")) > MAX_LINES:  # counted before splitting: refused at once
        raise InputError(
            path,
            None,
            f"{follow} lines follow the header; MovingAI scenario files are limited to "
            f"{MAX_LINES} agents here",
        )
    lines = [line.rstrip() for line in split_lines(normal)]
    header = " ".join(lines[0].split())
    if header not in HEADERS:
        raise InputError(
            path,
            "line 1",
            f"expected the header 'version 1' (a MovingAI scenario file), got {lines[0][:40]!r}",
        )
    if len(lines) == 1:
        raise InputError(path, None, "no agents: only the header 'version 1'")
    if len(lines) - 1 > MAX_AGENTS:
        raise InputError(
            path, None, f"{len(lines) - 1} agents; a fleet is limited to {MAX_AGENTS} robots"
        )
    rows = [_parse_line(path, n, line) for n, line in enumerate(lines[1:], start=2)]

    first = rows[0]
    name = first.fields[1]
    for row in rows[1:]:
        if row.fields[1] != name:
            raise InputError(
                path,
                f"line {row.lineno}",
                f"map: {_shown(row.fields[1])}, but line {first.lineno} names {_shown(name)}: "
                "every agent of a scenario file is on one map",
            )
    map_path = _find_map(path, name, first.lineno)
    free_cells, main_cells = movingai_cells(map_path)
    free, main = free_cells.tolist(), main_cells.tolist()
    height, width = len(free), len(free[0])

    starts: dict[tuple[int, int], int] = {}
    goals: dict[tuple[int, int], int] = {}
    for i, row in enumerate(rows):
        where = f"line {row.lineno}"
        for column, size, axis in (("map_width", width, "wide"), ("map_height", height, "high")):
            if row.numbers[column] != size:
                raise InputError(
                    path,
                    where,
                    f"{column}: is {row.numbers[column]} but {map_path.name} is {size} cells "
                    f"{axis}",
                )
        for what, seen in (("start", starts), ("goal", goals)):
            x, y = row.numbers[f"{what}_x"], row.numbers[f"{what}_y"]
            cell = f"{what} (x {x}, y {y})"
            if x >= width or y >= height:
                raise InputError(
                    path,
                    where,
                    f"{cell} is off the map (x 0..{width - 1}, y 0..{height - 1}: x is the "
                    "column, y the row)",
                )
            if not free[y][x]:
                raise InputError(
                    path, where, f"{cell} is an obstacle (row {y}, column {x} of {map_path.name})"
                )
            if not main[y][x]:
                raise InputError(
                    path,
                    where,
                    f"{cell} is cut off from the main floor (row {y}, column {x} of "
                    f"{map_path.name}: the floor treats it as blocked)",
                )
            if (y, x) in seen:
                other = seen[(y, x)]
                why = (
                    "two agents cannot start on one cell"
                    if what == "start"
                    else "two agents cannot share a goal (no one-shot MAPF instance)"
                )
                raise InputError(
                    path,
                    where,
                    f"{cell} is also agent {other}'s (line {rows[other].lineno}): {why}",
                )
            seen[(y, x)] = i
    return MovingAIScenario(
        map_path=map_path,
        starts=list(starts),  # (in agent order: a dict keeps the order keys came in)
        goals=list(goals),
        buckets=[row.numbers["bucket"] for row in rows],
        optimal_lengths=[float(row.fields[8]) for row in rows],
    )


def _parse_line(path: Path, lineno: int, line: str) -> _Line:
    """The nine columns of an agent line, the whole numbers among them read."""
    fields = line.split("\t") if "\t" in line else line.split()
    if len(fields) != len(COLUMNS):
        got = "an empty line" if not line.strip() else f"{len(fields)}"
        raise InputError(
            path,
            f"line {lineno}",
            f"expected {len(COLUMNS)} tab-separated columns ({', '.join(COLUMNS)}), got {got}",
        )
    fields = [field.strip() for field in fields]
    values = dict(zip(COLUMNS, fields, strict=True))
    numbers: dict[str, int] = {}
    for column in _WHOLES:
        if not _WHOLE.fullmatch(values[column]):
            raise InputError(
                path,
                f"line {lineno}",
                f"{column}: expected a whole number ≥ 0, got {values[column][:40]!r}",
            )
        numbers[column] = int(values[column])
    if not values["map"]:
        raise InputError(path, f"line {lineno}", "map: empty, expected a map file name")
    length = values["optimal_length"]
    if not _NUMBER.fullmatch(length) or not math.isfinite(float(length)):
        raise InputError(
            path,
            f"line {lineno}",
            f"optimal_length: expected a number ≥ 0, got {length[:40]!r}",
        )
    return _Line(lineno, fields, numbers)


def _find_map(scen: Path, name: str, lineno: int) -> Path:
    """The map file ``name``: in the scenario's folder, its parent or the parent's direct
    subfolders (the first that has it; two subfolders that both have it are refused)."""
    if name in (".", "..") or "/" in name or "\\" in name:
        raise InputError(
            scen, f"line {lineno}", f"map: expected a map file name (no folder), got {_shown(name)}"
        )
    here = scen.resolve().parent
    parent = here.parent
    for folder in (here, parent):
        if _is_file(folder / name):
            return folder / name
    try:
        subfolders = sorted(p for p in parent.iterdir() if p.is_dir() and p != here)
    except OSError:  # (an unreadable folder holds no map we can read)
        subfolders = []
    found = [sub / name for sub in subfolders if _is_file(sub / name)]
    if len(found) > 1:
        raise InputError(
            scen,
            f"line {lineno}",
            f"map: {_shown(name)} is in both {display_path(found[0].parent)} and "
            f"{display_path(found[1].parent)}: put the scenario file beside the one it is for",
        )
    if not found:
        raise InputError(
            scen,
            f"line {lineno}",
            f"map: {_shown(name)} not found (looked in {display_path(here)}, "
            f"{display_path(parent)} and the folders in it)",
        )
    return found[0]


def _shown(name: str) -> str:
    """A map name as the error shows it: quoted, cut at 60 characters."""
    return repr(name[:60]) + ("…" if len(name) > 60 else "")


def _is_file(path: Path) -> bool:
    """``path.is_file()``, False where the name or a folder cannot be read (too long a name,
    no permission)."""
    try:
        return path.is_file()
    except OSError:
        return False


__all__ = ["COLUMNS", "MAX_AGENTS", "MAX_LINES", "MovingAIScenario", "read_movingai_scen"]
