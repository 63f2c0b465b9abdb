"""League of Robot Runners (LoRR) problem files: a map, each robot's start and a task sequence.

Followed: the LoRR start kit's ``Input_Output_Format.md`` (2023: "Input JSON Format"; 2024:
"Input Problem File") and its 2023 ``src/CompetitionSystem.cpp`` / ``src/driver.cpp``
(github.com/MAPF-Competition/Start-Kit), which the 2023 benchmark archive's problems run on.

The problem file is a JSON object (paths relative to it; like a scenario's map file, they may not
leave its folder)::

    {"mapFile": "maps/warehouse_small.map",   # a MovingAI .map (movingai.py)
     "agentFile": "agents/ws_20.agents",       # start cells
     "taskFile": "tasks/ws.tasks",             # the task sequence
     "teamSize": 20,                           # robots: the agent file's first teamSize starts
     "numTasksReveal": 1,                      # 2023: tasks each robot holds (tasks.reveal)
     "taskAssignmentStrategy": "greedy"}       # 2023: greedy | roundrobin | roundrobin_fixed

The agent and task files hold whole numbers, one a line: the first is the count ``n``, then ``n``
cells, each linearized as ``row * width + col`` (``width`` from the map's header). A task line of
the 2024 format may list several errands separated by commas (one task visits them in order);
such multi-errand tasks have no counterpart here (a goal is one cell and each goal reached counts
once) and are refused; 2024 task files of one errand a line read as 2023 ones.

What the run does with it (:func:`read_lorr_problem` returns the settings; ``warehouse run
problem.json`` runs them): the map is the floor, the starts are ``fleet.start_cells``, the tasks
``tasks.goals`` in ``tasks.mode: goal_visit``, handed out by ``tasks.assignment`` (the strategy;
default ``greedy`` for 2024 files, which leave task assignment to the entrant's scheduler) with
``tasks.reveal`` = ``numTasksReveal`` (2023: a whole number of tasks each robot holds; 2024's
fraction of the team size revealed to a scheduler is not used: a robot gets one task at a time).
Robots move to the four neighbours and wait; LoRR's robots also face a direction and spend a
step per quarter turn (its ``MAPF_T`` model), so throughput here is not comparable to LoRR's
leaderboard. Keys other than the six above (later formats' ``delayConfig`` and such) are refused
rather than ignored.

Errors are one-line :class:`~warehouse.errors.InputError` naming the file and the key or line:
a missing referenced file, a count line that disagrees with the lines, a line that is not a
whole number, a cell off the map, on an obstacle or cut off from the main floor (which the floor
treats as blocked), two robots on one start, ``teamSize`` above the agent file's count,
``numTasksReveal`` not a whole number from 1 to ``MAX_COUNT`` (NaN and Infinity included), an
agent or task file of more than :data:`MAX_LINES` cells (refused before its lines are read).
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ...config import MAX_COUNT, MAX_GOALS
from ...errors import InputError
from .common import MAX_FILE_BYTES, read_map_text, split_lines
from .movingai import movingai_cells

#: the keys of a problem file this reader takes
KEYS = (
    "mapFile",
    "agentFile",
    "taskFile",
    "teamSize",
    "numTasksReveal",
    "taskAssignmentStrategy",
)
#: LoRR 2023's task assignment strategies (their names here: ``tasks.assignment``)
STRATEGIES = ("greedy", "roundrobin", "roundrobin_fixed")
_WHOLE = re.compile(r"[+-]?\d{1,12}")
_WHOLE_LINES = re.compile(r"[+-]?\d{1,12}(?:\n[+-]?\d{1,12})*")
#: lines after the count an agent or task file may hold (``tasks.goals``' limit): a larger file
#: is refused before its lines are read
MAX_LINES = MAX_GOALS


@dataclass(frozen=True)
class LorrProblem:
    """The settings a LoRR problem file gives (cells as ``(row, col)``)."""

    map_path: Path  #: the map file (absolute)
    starts: list[tuple[int, int]]  #: one per robot, robot order
    goals: list[tuple[int, int]]  #: the task sequence
    assignment: str  #: greedy, roundrobin or roundrobin_fixed
    reveal: int  #: tasks each robot holds (greedy)


def looks_like_lorr_problem(text: str) -> bool:
    """A JSON object naming an ``agentFile`` and a ``mapFile``: a LoRR problem, not a graph."""
    if not text.lstrip().startswith("{"):
        return False
    try:
        data = json.loads(text)
    except (ValueError, RecursionError):
        return False
    return isinstance(data, dict) and "agentFile" in data and "mapFile" in data


def read_lorr_problem(path: str | Path) -> LorrProblem:
    """Read a LoRR problem file and the files it names (see module docstring)."""
    from ...jsonio import loads_json_strict

    path = Path(path)
    data = loads_json_strict(read_map_text(path), path)
    if not isinstance(data, dict):
        raise InputError(path, None, "expected a JSON object (a LoRR problem file)")
    for key in data:
        if key not in KEYS:
            raise InputError(
                path, key, f"not read by this reader (it takes {', '.join(KEYS)}): refused, "
                "not ignored"
            )  # fmt: skip
    map_path = _referenced(path, data, "mapFile")
    agent_path = _referenced(path, data, "agentFile")
    task_path = _referenced(path, data, "taskFile")
    free, main = movingai_cells(map_path)
    height, width = free.shape
    grid = (height, width, free, main)

    starts = _cells(agent_path, *grid, what="start", errands=False)
    team = _count(path, data, "teamSize", len(starts))
    if team > len(starts):
        raise InputError(
            path,
            "teamSize",
            f"is {team} but agentFile {data['agentFile']!r} lists {len(starts)} starts",
        )
    starts = starts[:team]  # (LoRR reads the first teamSize)
    seen: dict[tuple[int, int], int] = {}
    for i, cell in enumerate(starts):
        if cell in seen:
            raise InputError(
                agent_path,
                f"line {i + 2}",
                f"start ({cell[0]}, {cell[1]}) is also robot {seen[cell]}'s (line "
                f"{seen[cell] + 2}): two robots cannot start on one cell",
            )
        seen[cell] = i
    goals = _cells(task_path, *grid, what="task", errands=True)
    if not goals:
        raise InputError(task_path, "line 1", "no tasks: the count is 0")

    strategy = data.get("taskAssignmentStrategy", "greedy")
    if strategy not in STRATEGIES:
        raise InputError(
            path,
            "taskAssignmentStrategy",
            f"expected one of {', '.join(STRATEGIES)}, got {json.dumps(strategy)[:40]}",
        )
    reveal = 1
    if "taskAssignmentStrategy" in data:  # 2023: a whole number of tasks per robot
        reveal = _count(path, data, "numTasksReveal", 1, " (2023 format)")
    return LorrProblem(map_path, starts, goals, str(strategy), reveal)


def _count(path: Path, data: dict[str, Any], key: str, default: int, note: str = "") -> int:
    """``data[key]`` (``default`` when absent) as a count from 1 to ``MAX_COUNT``: a whole
    number, a whole float (``3.0``, as counts are read elsewhere) included; anything else (text,
    true/false, NaN, infinity, a fraction) is a one-line error naming the key."""
    raw = data.get(key, default)
    number = isinstance(raw, int) or (isinstance(raw, float) and math.isfinite(raw))
    if isinstance(raw, bool) or not number or raw != int(raw) or raw < 1:
        raise InputError(path, key, f"expected a whole number ≥ 1{note}, got {_shown(raw)}")
    if raw > MAX_COUNT:
        raise InputError(
            path, key, f"expected a whole number ≥ 1 and ≤ {MAX_COUNT}, got {_shown(raw)}"
        )
    return int(raw)


def _referenced(problem: Path, data: dict[str, Any], key: str) -> Path:
    """The file ``data[key]`` names, relative to the problem file and inside its folder."""
    if key not in data:
        raise InputError(problem, key, "missing (the file of the problem's " + _ROLE[key] + ")")
    name = data[key]
    if not isinstance(name, str) or not name.strip():
        raise InputError(problem, key, f"expected a file path, got {json.dumps(name)[:40]}")
    base = problem.resolve().parent
    full = (base / name).resolve()
    if not full.is_relative_to(base):
        raise InputError(problem, key, f"{name!r} leaves the problem file's folder")
    if not full.is_file():
        why = "is not a regular file" if full.exists() else "not found"
        raise InputError(problem, key, f"{_ROLE[key]} {name!r} {why}")
    if full.stat().st_size > MAX_FILE_BYTES:
        raise InputError(problem, key, f"{name!r} is larger than 50 MB")
    return full


_ROLE = {"mapFile": "map", "agentFile": "start cells", "taskFile": "tasks"}


def _cells(
    path: Path,
    height: int,
    width: int,
    free: np.ndarray,
    main: np.ndarray,
    *,
    what: str,
    errands: bool,
) -> list[tuple[int, int]]:
    """The cells of an agent or task file: the count, then one linearized cell a line, each a
    cell of the floor a run compiles (``main``: free and not cut off from the main floor)."""
    text = read_map_text(path)
    # the size first, counted without splitting: a file of millions of lines is refused at once
    normal = text.replace("\r\n", "\n").replace("\r", "\n").rstrip()
    limit = f"agent and task files are limited to {MAX_LINES}"
    if (follow := normal.count("\n")) > MAX_LINES:
        raise InputError(path, "line 1", f"{follow} lines follow the count; {limit}")
    head = normal.partition("\n")[0].strip()
    if _WHOLE.fullmatch(head) and int(head) > MAX_LINES:
        raise InputError(path, "line 1", f"the count is {int(head)}; {limit}")
    lines = [line.strip() for line in split_lines(text)]
    while lines and not lines[-1]:
        lines.pop()
    count = _whole(path, 1, lines[0], "the count of lines that follow")
    if count < 0 or count != len(lines) - 1:
        raise InputError(
            path, "line 1", f"the count says {count} but {len(lines) - 1} line(s) follow it"
        )
    texts = [line.rstrip(",") for line in lines[1:]]  # line j + 2 of the file
    # every line a whole number in one match, then parsed and checked as arrays; the first bad
    # line (by the rules below, in line order) is found line by line
    if texts and _WHOLE_LINES.fullmatch("\n".join(texts)):
        index = np.fromiter(map(int, texts), np.int64, len(texts))
        on_map = (index >= 0) & (index < height * width)
        r, c = np.divmod(np.where(on_map, index, 0), width)
        if (on_map & main[r, c]).all():
            return list(zip(r.tolist(), c.tolist(), strict=True))
    return _first_bad_line(path, texts, height, width, free, main, what=what, errands=errands)


def _first_bad_line(
    path: Path,
    texts: list[str],
    height: int,
    width: int,
    free: np.ndarray,
    main: np.ndarray,
    *,
    what: str,
    errands: bool,
) -> list[tuple[int, int]]:
    """:func:`_cells` line by line (``texts[j]``: line ``j + 2``, trailing commas cut): the
    error of the first line that is not a free cell of the map, or the cells when all are."""
    cells = []
    for lineno, text in enumerate(texts, start=2):
        if errands and "," in text:
            n = len([p for p in text.split(",") if p.strip()])
            raise InputError(
                path,
                f"line {lineno}",
                f"a task of {n} errands (LoRR 2024 format): multi-errand tasks are not "
                "supported (a goal here is one cell); give one cell a line",
            )
        index = _whole(path, lineno, text, f"a linearized {what} cell")
        if not 0 <= index < height * width:
            raise InputError(
                path,
                f"line {lineno}",
                f"cell {index} is off the map (0..{height * width - 1}: row * {width} + col)",
            )
        r, c = divmod(index, width)
        if not free[r, c]:
            raise InputError(
                path, f"line {lineno}", f"cell {index} (row {r}, col {c}) is an obstacle"
            )
        if not main[r, c]:
            raise InputError(
                path,
                f"line {lineno}",
                f"cell {index} (row {r}, col {c}) is cut off from the main floor (the floor "
                "treats it as blocked)",
            )
        cells.append((r, c))
    return cells


def _shown(value: Any) -> str:
    """A bad value as the JSON file spells it (``null``, ``true``, ``"3"``), cut at 40."""
    shown = json.dumps(value)
    return shown[:40] + ("…" if len(shown) > 40 else "")


def _whole(path: Path, lineno: int, text: str, what: str) -> int:
    if not _WHOLE.fullmatch(text):
        shown = repr(text[:40]) if text else "an empty line"
        raise InputError(path, f"line {lineno}", f"expected {what} (a whole number), got {shown}")
    return int(text)


__all__ = ["KEYS", "STRATEGIES", "LorrProblem", "looks_like_lorr_problem", "read_lorr_problem"]
