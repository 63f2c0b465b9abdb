"""Scheduled closures (``faults.closures``): the cells each entry names, on a given floor, and
the steps it covers.

An entry names cells in any of three forms, together or alone:

* ``cells: [[row, col], ...]``: cells as the floor drawing, a map file or a waypoint graph's node
  ``pos`` gives them (row 0 is the top line of a drawing; a waypoint graph's own coordinates,
  rounded to the cell as the floor does);
* ``area: {from: [row, col], to: [row, col]}``: the rectangle between two corners, both
  included; the shelf and wall cells in it are left out (they are never entered anyway), but it
  must cover at least one floor cell, and both corners must lie within the floor's extent;
* ``nodes: [name, ...]``: nodes by id, for waypoint graphs whose nodes have names (JSON ``id``,
  GraphML ``id``). Grid floors and graphs whose ids are ``[row, col]`` have none: use ``cells``.

On a floor whose long edges ``physics.speed_m_s`` split into transit nodes
(:mod:`warehouse.floor.transit`), a cell closes every node drawn in it: the waypoint and the
transit nodes whose position rounds to it. A named node closes that node alone (transit nodes
have no name a closure can give): robots on the long edges that lead to it queue at their ends.

The cells are closed while ``start_s ≤ t × physics.step_seconds < end_s`` holds for the clock
``t`` (steps taken so far): the moves of step ``k`` (the one from clock ``k`` to ``k + 1``)
cannot enter them when ``start_s ≤ k × step_seconds < end_s``. ``end_s: null`` keeps them
closed to the end of the run. The simulation applies an entry by raising ``closed_until`` of
its nodes at the clock its closure begins, the array random closures write too, so the move
rule, the action mask, observations, the viewer and recordings treat both alike. Nothing is
drawn from the random streams. Unlike random closures, scheduled ones are known in advance: the
distances the fleet routes by treat their cells as closed while they last (:func:`closed_sets`
gives the clocks at which that set changes; ``DistanceCache.set_closed`` applies it).

Errors are :class:`~warehouse.errors.InputError` naming the entry's field
(``faults.closures[1].cells[0]: (40, 3) is not a floor cell ...``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ..errors import InputError

if TYPE_CHECKING:
    from ..config import FaultsConfig
    from ..floor import CompiledFloor
    from .simulation import Simulation

#: ``closed_until`` of a cell closed to the end of the run
NEVER = int(np.iinfo(np.int64).max)


@dataclass(frozen=True)
class ScheduledClosure:
    """One entry of ``faults.closures`` on a floor."""

    index: int  #: position in ``faults.closures``
    nodes: np.ndarray  #: int64 node ids it closes, sorted
    start: int  #: first clock value (steps taken) at which the nodes are closed
    end: int | None  #: clock value at which they reopen; None: never

    def field(self) -> str:
        return f"faults.closures[{self.index}]"


def step_at(seconds: float, step_seconds: float) -> int:
    """The first clock value ``t`` with ``t × step_seconds ≥ seconds`` (a step that begins at
    or after ``seconds``), forgiving float noise (0.3 s at 0.1 s per step is step 3)."""
    x = seconds / step_seconds
    return max(0, math.ceil(x - 1e-9 * max(1.0, abs(x))))


def resolve_closures(
    floor: CompiledFloor,
    faults: FaultsConfig,
    step_seconds: float,
    source: str | Path | None = None,
) -> list[ScheduledClosure]:
    """Each entry of ``faults.closures`` on ``floor`` (raises :class:`InputError`)."""
    out = []
    for i, entry in enumerate(faults.closures):
        where = f"faults.closures[{i}]"
        found: list[int] = []
        seen: dict[tuple[int, int], int] = {}
        for j, cell in enumerate(entry.cells):
            if cell in seen:
                twice = f"{_cell(cell)} is given twice (cells[{seen[cell]}])"
                raise InputError(source, f"{where}.cells[{j}]", twice)
            seen[cell] = j
            found.append(node_at_cell(floor, cell, source, f"{where}.cells[{j}]"))
        if entry.area is not None:
            found += _area_nodes(floor, entry.area.from_, entry.area.to, source, f"{where}.area")
        by_cell = list(found)
        named: dict[Any, int] = {}
        for j, name in enumerate(entry.nodes):
            if name in named:
                raise InputError(
                    source, f"{where}.nodes[{j}]", f"{name!r} is given twice (nodes[{named[name]}])"
                )
            named[name] = j
            found.append(_named_node(floor, name, source, f"{where}.nodes[{j}]"))
        start = step_at(entry.start_s, step_seconds)
        end = None if entry.end_s is None else step_at(entry.end_s, step_seconds)
        if end is not None and end <= start:
            raise InputError(
                source,
                f"{where}.end_s",
                f"{entry.start_s:g} s to {entry.end_s:g} s holds no step: steps begin every "
                f"{step_seconds:g} s (physics.step_seconds)",
            )
        nodes = np.unique(np.asarray(found, dtype=np.int64))
        if by_cell and floor.transit.any():  # the transit nodes that share the cells
            nodes = np.union1d(nodes, _cell_mates(floor, nodes[np.isin(nodes, by_cell)]))
        out.append(ScheduledClosure(index=i, nodes=nodes, start=start, end=end))
    return out


def closure_events(closures: list[ScheduledClosure]) -> dict[int, tuple[np.ndarray, np.ndarray]]:
    """``{clock: (nodes, until)}``: at that clock value each node's ``closed_until`` rises to at
    least its ``until`` (a node may appear twice; :func:`numpy.maximum.at` takes the later)."""
    by_start: dict[int, list[ScheduledClosure]] = {}
    for c in closures:
        if c.nodes.size and (c.end is None or c.end > c.start):
            by_start.setdefault(c.start, []).append(c)
    events = {}
    for start, group in by_start.items():
        nodes = np.concatenate([c.nodes for c in group])
        until = np.concatenate(
            [np.full(c.nodes.size, NEVER if c.end is None else c.end, np.int64) for c in group]
        )
        events[start] = (nodes, until)
    return events


def closed_sets(closures: list[ScheduledClosure]) -> dict[int, np.ndarray]:
    """``{clock: nodes}``: from each clock at which the set of scheduled-closed nodes changes
    (a closure begins or ends), the nodes closed then (sorted, int64; empty when none). The
    distances the fleet routes by follow these sets (``DistanceCache.set_closed``)."""
    live = [c for c in closures if c.nodes.size and (c.end is None or c.end > c.start)]
    times = sorted({c.start for c in live} | {c.end for c in live if c.end is not None})
    out: dict[int, np.ndarray] = {}
    prev = np.zeros(0, dtype=np.int64)
    for t in times:
        active = [c.nodes for c in live if c.start <= t and (c.end is None or t < c.end)]
        now = np.unique(np.concatenate(active)) if active else np.zeros(0, dtype=np.int64)
        if not np.array_equal(now, prev):
            out[t] = now.astype(np.int64)
        prev = now
    return out


def open_since(sim: Simulation, orders: np.ndarray) -> np.ndarray:
    """For orders that are not held now (:meth:`Simulation.dispatchable_orders`): the clock
    from which their pick location and station have both been open (int64; 0 when neither was
    ever closed). An order held at clock ``t0`` and dispatchable now has ``open_since > t0``:
    the PPO decision clock (:class:`hierarchy.smdp.DecisionClock`) counts that as an event."""
    orders = np.asarray(orders, dtype=np.int64)
    ob, closed_until = sim.orders, sim.closed_until
    return np.maximum(closed_until[ob.pick[orders]], closed_until[ob.station[orders]])


def describe_closures(
    floor: CompiledFloor,
    faults: FaultsConfig,
    step_seconds: float,
    steps: int | None = None,
    source: str | Path | None = None,
) -> list[str]:
    """One line per scheduled closure (``warehouse validate``): the cells and the time span, in
    seconds and steps, and whether the episode of ``steps`` steps reaches it."""
    from ..floor import NodeKind

    lines = []
    for c, entry in zip(
        resolve_closures(floor, faults, step_seconds, source), faults.closures, strict=True
    ):
        cells = [node_label(floor, int(v)) for v in c.nodes if not floor.transit[v]]
        lane = c.nodes[floor.transit[c.nodes]]
        if lane.size:  # cells that hold only transit nodes of long edges (physics.speed_m_s)
            seen = {tuple(floor.pos[v].tolist()) for v in c.nodes if not floor.transit[v]}
            for v in lane.tolist():
                if (key := tuple(floor.pos[v].tolist())) not in seen:
                    seen.add(key)
                    cells.append(_cell(tuple(_user_cell(floor, v).tolist())))
        shown = ", ".join(cells[:4]) + (", …" if len(cells) > 4 else "")
        if lane.size:
            shown += (
                f" (with {lane.size} transit node{'s' if lane.size != 1 else ''} of long edges)"
            )
        until = "the end of the run" if entry.end_s is None else f"{entry.end_s:g} s"
        last = ".." if c.end is None else f"..{c.end - 1}"
        counts = [
            (int(np.count_nonzero(floor.kind[c.nodes] == kind)), what)
            for kind, what in ((NodeKind.PICK, "pick location"), (NodeKind.STATION, "station"))
        ]
        kinds = [f"{n} {what}{'s' if n != 1 else ''}" for n, what in counts if n]
        line = (
            f"{c.field()}: {len(cells)} cell{'s' if len(cells) != 1 else ''} closed from "
            f"{entry.start_s:g} s to {until} (steps {c.start}{last}): {shown}"
        )
        if kinds:
            line += f"; {' and '.join(kinds)} among them (their orders wait)"
        if steps is not None and c.start >= steps:
            line += f"; begins after the episode's {steps} steps, so it never closes"
        lines.append(line)
    return lines


# ------------------------------------------------------------------------------ helpers
def _cell(cell: tuple[int, int]) -> str:
    return f"({cell[0]}, {cell[1]})"


def node_label(floor: CompiledFloor, node: int) -> str:
    """A node as ``(row, col)``, after its id where the floor names its nodes."""
    r, c = (int(x) for x in _user_cell(floor, node))
    key = floor.nodes[node]
    return f"{key} ({r}, {c})" if isinstance(key, str | int) else _cell((r, c))


def _offset(floor: CompiledFloor) -> tuple[int, int]:
    """User cell minus compiled cell: a waypoint graph without ``grid_shape`` is shifted so its
    top-left node sits at (0, 0); users address cells as their file writes them."""
    node = floor.nodes[0]
    pos = floor.graph.nodes[node].get("pos") if node in floor.graph else None
    if pos is None:
        return (0, 0)
    return (round(pos[0]) - int(floor.pos[0, 0]), round(pos[1]) - int(floor.pos[0, 1]))


def _user_cell(floor: CompiledFloor, node: int) -> np.ndarray:
    return floor.pos[node] + np.asarray(_offset(floor))


def _extent(floor: CompiledFloor) -> str:
    dr, dc = _offset(floor)
    h, w = floor.shape
    return f"rows {dr}..{dr + h - 1}, cols {dc}..{dc + w - 1}"


def _inside(floor: CompiledFloor, cell: tuple[int, int]) -> tuple[int, int] | None:
    """The compiled cell of a user cell, or None outside the floor's extent."""
    dr, dc = _offset(floor)
    r, c = cell[0] - dr, cell[1] - dc
    h, w = floor.shape
    return (r, c) if 0 <= r < h and 0 <= c < w else None


def node_at_cell(floor: CompiledFloor, cell: tuple[int, int], source: Any, field: str) -> int:
    rc = _inside(floor, cell)
    if rc is None:
        why = f"outside the floor ({_extent(floor)})"
    else:
        node = int(floor.cell_of[rc])
        if node >= 0:
            return node
        why = "a shelf, wall or cell cut off from the floor"
    raise InputError(source, field, f"{_cell(cell)} is not a floor cell: {why}")


def _area_nodes(
    floor: CompiledFloor, a: tuple[int, int], b: tuple[int, int], source: Any, field: str
) -> list[int]:
    corners = []
    for key, corner in (("from", a), ("to", b)):
        rc = _inside(floor, corner)
        if rc is None:
            outside = f"{_cell(corner)} lies outside the floor ({_extent(floor)})"
            raise InputError(source, f"{field}.{key}", outside)
        corners.append(rc)
    (r0, c0), (r1, c1) = corners
    block = floor.cell_of[min(r0, r1) : max(r0, r1) + 1, min(c0, c1) : max(c0, c1) + 1]
    nodes = block[block >= 0]
    if nodes.size == 0:
        raise InputError(
            source, field, f"{_cell(a)} to {_cell(b)} covers no floor cell (only shelves or walls)"
        )
    return [int(v) for v in nodes]


def _cell_mates(floor: CompiledFloor, nodes: np.ndarray) -> np.ndarray:
    """The transit nodes in the cells of ``nodes``."""
    width = floor.shape[1]
    flat = floor.pos[:, 0].astype(np.int64) * width + floor.pos[:, 1]
    return np.flatnonzero(floor.transit & np.isin(flat, flat[nodes])).astype(np.int64)


def _named_node(floor: CompiledFloor, name: str | int, source: Any, field: str) -> int:
    for key in (name, str(name)):
        try:
            node = floor.index_of(key)
        except (KeyError, TypeError):
            continue
        if not floor.transit[node]:
            return node
        why = "it is a transit node of a long edge (physics.speed_m_s): close its cell instead"
        raise InputError(source, field, f"{name!r} is not a floor node: {why}")
    own = [v for v, t in zip(floor.nodes[:1000], floor.transit[:1000], strict=True) if not t]
    if not any(isinstance(v, str | int) for v in own):
        why = "this floor's nodes have no names (they are cells): use cells: [[row, col], ...]"
    elif name in floor.graph:
        why = "it is a shelf, a wall or cut off from the floor"
    else:
        why = "no node of the floor has this id"
    raise InputError(source, field, f"{name!r} is not a floor node: {why}")
