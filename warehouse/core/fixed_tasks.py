"""Fixed instances of lifelong MAPF: explicit start cells (``fleet.start_cells``) and an explicit
goal sequence (``tasks.goals``) handed out by ``tasks.assignment``, as the League of Robot
Runners' problem files give them (:mod:`warehouse.floor.formats.lorr`).

:func:`fixed_cells` resolves the cells to node ids on a floor (one-line
:class:`~warehouse.errors.InputError` naming the entry otherwise); :class:`GoalQueue` hands the
goals out. Neither draws a random number: a fixed instance runs the same under every seed, and
a scenario without these settings draws exactly what it drew before.

Assignment rules (the names and rules of LoRR's 2023 start kit, ``src/CompetitionSystem.cpp``):

* ``greedy`` (``TaskAssignSystem``): every robot holds ``reveal`` goals, robot 0 the first
  ``reveal`` of the sequence, robot 1 the next, …; a robot that reaches its goal drops it and
  takes the next goal of the sequence not yet handed out, robots that reach theirs in the same
  step in order of robot id. A robot visits the goals it holds in order.
* ``roundrobin`` (``InfAssignSystem``): robot ``i`` of ``N`` visits goals ``i, i+N, i+2N, …``,
  the sequence repeating (index modulo its length), so no robot ever runs out.
* ``roundrobin_fixed`` (``FixedAssignSystem``): the same without repeating.

A robot left without a goal is idle (``Phase.IDLE``, no target) to the end of the episode.

``one_shot`` is not handed out by the queue: robot ``i``'s one goal is ``tasks.goals[i]`` (the
first ``fleet.robots`` goals), which it holds after arriving (a one-shot MAPF instance; the
simulation keeps it, :attr:`~warehouse.core.Simulation.one_shot_goals`).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ..errors import InputError
from .closure_entries import cell_offset, node_at_cell

if TYPE_CHECKING:
    from ..config import SimConfig
    from ..floor import CompiledFloor

#: goals all robots together may hold under greedy (``fleet.robots × tasks.reveal``, at most the
#: sequence's length each): the queue keeps a slot for each (8 bytes)
MAX_HELD = 2**25


def _nodes(
    floor: CompiledFloor,
    cells: tuple[tuple[int, int], ...],
    ok: np.ndarray,
    source: str | Path | None,
    field: str,
    what: str,
) -> np.ndarray:
    """The node ids of ``cells`` (vectorized); the first cell that is not a floor node allowed
    by ``ok`` is a one-line error naming ``field[i]``."""
    rc = np.asarray(cells, dtype=np.int64).reshape(-1, 2)
    h, w = floor.shape
    dr, dc = cell_offset(floor)  # the user's cells as the floor's own (closures' rule)
    r, c = rc[:, 0] - dr, rc[:, 1] - dc
    inside = (r >= 0) & (r < h) & (c >= 0) & (c < w)
    nodes = np.full(rc.shape[0], -1, dtype=np.int64)
    nodes[inside] = floor.cell_of[r[inside], c[inside]]
    good = nodes >= 0
    good[good] = ok[nodes[good]]
    if not good.all():
        i = int(np.flatnonzero(~good)[0])
        cell = (int(rc[i, 0]), int(rc[i, 1]))
        node = node_at_cell(floor, cell, source, f"{field}[{i}]")  # off the floor: its message
        why = "a transit node of a long edge" if floor.transit[node] else "the map rules it out"
        raise InputError(source, f"{field}[{i}]", f"({cell[0]}, {cell[1]}) is not {what}: {why}")
    return nodes.astype(np.int32)


def fixed_cells(
    floor: CompiledFloor, config: SimConfig, source: str | Path | None = None
) -> tuple[np.ndarray | None, np.ndarray | None]:
    """``(starts, goals)``: ``fleet.start_cells`` and ``tasks.goals`` as int32 node ids on
    ``floor`` (None where not given). ``fleet.robots`` robots take the first ``fleet.robots``
    start cells (as LoRR's ``teamSize`` takes the first starts of its agent file); every start
    cell is checked all the same. Raises :class:`InputError` for fewer start cells than
    ``fleet.robots`` (naming ``fleet.robots``), a cell off the floor, on a shelf or wall, a
    start a robot may not take or a goal it may not be sent to (naming the entry)."""
    fleet, tasks = config.fleet, config.tasks
    starts = goals = None
    if fleet.start_cells:
        if len(fleet.start_cells) < fleet.robots:
            raise InputError(
                source,
                "fleet.robots",
                f"is {fleet.robots} but fleet.start_cells gives {len(fleet.start_cells)} start "
                "cells (one per robot; fewer robots take the first of them)",
            )
        starts = _nodes(
            floor, fleet.start_cells, floor.start_ok, source, "fleet.start_cells", "a start cell"
        )[: fleet.robots]
    if tasks.goals and tasks.mode == "goal_visit":
        if tasks.assignment == "one_shot" and len(tasks.goals) < fleet.robots:
            raise InputError(
                source,
                "tasks.goals",
                f"gives {len(tasks.goals)} goals but fleet.robots is {fleet.robots} "
                "(one_shot: one goal per robot; more goals than robots: the first of them)",
            )
        goals = _nodes(floor, tasks.goals, floor.goal_ok, source, "tasks.goals", "a goal cell")
        held = fleet.robots * min(tasks.reveal, goals.size)
        if tasks.assignment == "greedy" and held > MAX_HELD:
            raise InputError(
                source,
                "tasks.reveal",
                f"{tasks.reveal} goals held by each of {fleet.robots} robots is too many (at "
                f"most {MAX_HELD} in all)",
            )
    return starts, goals


class GoalQueue:
    """Hands out a fixed goal sequence (see module docstring); no random draws."""

    def __init__(self, goals: np.ndarray, n_robots: int, assignment: str, reveal: int) -> None:
        self.goals = goals
        self.n = n_robots
        self.assignment = assignment
        # (no robot holds more goals than the sequence has: a larger reveal hands out the same)
        self.reveal = min(reveal, goals.size) if assignment == "greedy" else 1
        self.held = np.zeros((n_robots, self.reveal), dtype=np.int64)
        self.next_task = 0

    def reset(self) -> None:
        """The first goals: robot i holds tasks ``i·reveal … (i+1)·reveal − 1`` (greedy) or
        task ``i`` (round robin)."""
        m = self.goals.size
        self.held[:] = np.arange(self.held.size, dtype=np.int64).reshape(self.held.shape)
        if self.assignment != "roundrobin":
            self.held[self.held >= m] = -1
        self.next_task = min(self.held.size, m)

    def advance(self, robots: np.ndarray) -> None:
        """``robots`` (ascending ids) reached their current goal: each drops it and the next
        goal comes up (:meth:`current`)."""
        if robots.size == 0:
            return
        held, m = self.held, self.goals.size
        if self.assignment == "greedy":
            held[robots, :-1] = held[robots, 1:]
            new = np.arange(self.next_task, self.next_task + robots.size, dtype=np.int64)
            new[new >= m] = -1
            held[robots, -1] = new
            self.next_task = min(self.next_task + robots.size, m)
            return
        done = held[robots, 0] < 0
        held[robots, 0] += self.n
        if self.assignment == "roundrobin_fixed":
            held[robots[(held[robots, 0] >= m) | done], 0] = -1

    def current(self, robots: np.ndarray) -> np.ndarray:
        """The goal node of each of ``robots`` (int32), -1 for a robot with none left."""
        task = self.held[robots, 0]
        out = np.full(robots.size, -1, dtype=np.int32)
        has = task >= 0
        out[has] = self.goals[task[has] % self.goals.size]
        return out

    def state(self) -> dict[str, Any]:
        """What each robot holds and the next task to hand out (a copy; the tests read it)."""
        return {"held": self.held.copy(), "next_task": self.next_task}
