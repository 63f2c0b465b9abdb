"""Scheduled closures (``faults.closures``): the nodes and moves each entry names on a given
floor, and the steps it covers (:func:`resolve_closures`). What the simulation does with them is
:mod:`.closures`; what ``warehouse validate`` says about them, :mod:`.closure_report`.

An entry names cells in any of three forms, together or alone:

* ``cells: [[row, col], ...]``: cells as the floor drawing, a map file or a waypoint graph's node
  ``pos`` gives them (row 0 is the top line of a drawing; a waypoint graph's own coordinates,
  rounded to the cell as the floor does);
* ``area: {from: [row, col], to: [row, col]}``: the rectangle between two corners, both
  included; the shelf and wall cells in it are left out (they are never entered anyway), but it
  must cover at least one floor cell, and both corners must lie within the floor's extent;
* ``nodes: [name, ...]``: nodes by id, for waypoint graphs whose nodes have names (JSON ``id``,
  GraphML ``id``). Grid floors and graphs whose ids are ``[row, col]`` have none: use ``cells``.
  YAML tells ``3`` from ``"3"`` by quotes that are easy to miss, so either spelling names the
  node ``3`` or the node ``"3"`` (only the plain decimal form: ``"03"`` is text); a graph that
  has both makes the entry ambiguous (an error: close the one meant by its cell).

An entry may also close edges without closing their cells (``edges: [[u, v], ...]``, each end a
cell or a node id as above): the floor's moves u → v and v → u (the one a one-way aisle has),
or, for a long edge split into transit nodes, the moves from u and from v onto its chain
(:func:`_edge_moves`).

On a floor whose long edges ``physics.speed_m_s`` split into transit nodes
(:mod:`warehouse.floor.transit`), every node has a cell of its own, transit nodes too, and a
cell closes the node drawn in it. A named node closes that node alone (transit nodes have no
name a closure can give): robots on the long edges that lead to it queue at their ends.

The cells are closed while ``start_s ≤ t × physics.step_seconds < end_s`` holds for the clock
``t`` (steps taken so far): the moves of step ``k`` (the one from clock ``k`` to ``k + 1``)
cannot enter them when ``start_s ≤ k × step_seconds < end_s``. ``end_s: null`` keeps them
closed to the end of the run.

Errors are :class:`~warehouse.errors.InputError` naming the entry's field
(``faults.closures[1].cells[0]: (40, 3) is not a floor cell ...``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from dataclasses import field as _field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ..errors import InputError

if TYPE_CHECKING:
    from ..config import FaultsConfig
    from ..floor import CompiledFloor


@dataclass(frozen=True)
class ScheduledClosure:
    """One entry of ``faults.closures`` on a floor."""

    index: int  #: position in ``faults.closures``
    nodes: np.ndarray  #: int64 node ids it closes, sorted
    start: int  #: first clock value (steps taken) at which the nodes are closed
    end: int | None  #: clock value at which they reopen; None: never
    #: ``(k, 2)`` int64 moves ``(from, to)`` its ``edges`` close, sorted (none: shape (0, 2))
    moves: np.ndarray = _field(default_factory=lambda: np.zeros((0, 2), dtype=np.int64))

    def field(self) -> str:
        return f"faults.closures[{self.index}]"


#: the largest clock value (int64); :func:`step_at` gives it for any time beyond it
LAST_CLOCK = int(np.iinfo(np.int64).max)


def step_at(seconds: float, step_seconds: float) -> int:
    """The first clock value ``t`` with ``t × step_seconds ≥ seconds`` (a step that begins at
    or after ``seconds``), forgiving float noise (0.3 s at 0.1 s per step is step 3); at most
    :data:`LAST_CLOCK` (a time no run reaches: clocks are int64)."""
    x = seconds / step_seconds
    if x >= LAST_CLOCK:
        return LAST_CLOCK
    return min(LAST_CLOCK, max(0, math.ceil(x - 1e-9 * max(1.0, abs(x)))))


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
        named: dict[int, int] = {}  # node -> its first entry
        for j, name in enumerate(entry.nodes):
            node = _named_node(floor, name, source, f"{where}.nodes[{j}]")
            if node in named:
                k = named[node]
                also = "" if entry.nodes[k] == name else f" as {entry.nodes[k]!r}"
                raise InputError(
                    source, f"{where}.nodes[{j}]", f"{name!r} is given twice (nodes[{k}]{also})"
                )
            named[node] = j
            found.append(node)
        moves = _edge_moves(floor, entry.edges, source, where)
        start = step_at(entry.start_s, step_seconds)
        end = None if entry.end_s is None else step_at(entry.end_s, step_seconds)
        if end == LAST_CLOCK:  # reopens after any clock a run reaches: closed to its end
            end = None
        if end is not None and end <= start:
            exc = InputError(
                source,
                f"{where}.end_s",
                f"{entry.start_s:g} s to {entry.end_s:g} s holds no step: steps begin every "
                f"{step_seconds:g} s (physics.step_seconds)",
            )
            # a --set physics.step_seconds that empties the span is blamed, not the file
            exc.depends_on = ("physics.step_seconds",)  # type: ignore[attr-defined]
            raise exc
        nodes = np.unique(np.asarray(found, dtype=np.int64))
        out.append(ScheduledClosure(index=i, nodes=nodes, start=start, end=end, moves=moves))
    return out


def _edge_moves(
    floor: CompiledFloor, edges: tuple[tuple[Any, Any], ...], source: Any, where: str
) -> np.ndarray:
    """The moves ``(from, to)`` that closing ``edges`` (``faults.closures[i].edges``) takes
    away: for ``[u, v]`` the floor's moves u → v and v → u (one of them on a one-way aisle);
    where a long edge is split into transit nodes (``physics.speed_m_s``), the moves from u and
    from v into its chain (a robot on the chain leaves it). Sorted, unique, int64 ``(k, 2)``."""
    found: list[tuple[int, int]] = []
    seen: dict[frozenset[int], int] = {}
    for j, (a, b) in enumerate(edges):
        field = f"{where}.edges[{j}]"
        u, v = (_edge_end(floor, end, source, field, k) for k, end in enumerate((a, b)))
        shown = f"{_end(floor, u)}–{_end(floor, v)}"
        if u == v:
            raise InputError(source, field, f"{shown} is not an edge: both ends are one node")
        key = frozenset((u, v))
        if key in seen:
            raise InputError(source, field, f"{shown} is given twice (edges[{seen[key]}])")
        seen[key] = j
        moves = _moves_between(floor, u, v)
        if not moves:
            raise InputError(
                source, field, f"{shown} is not an edge of the floor: no move joins the two"
            )
        found += moves
    if not found:
        return np.zeros((0, 2), dtype=np.int64)
    return np.unique(np.asarray(found, dtype=np.int64), axis=0)


def _edge_end(floor: CompiledFloor, end: Any, source: Any, field: str, k: int) -> int:
    """The node one end of an edge names: a cell ``[row, col]`` or a node id (as ``nodes``)."""
    which = ("first", "second")[k]
    try:
        if isinstance(end, tuple):
            return node_at_cell(floor, end, source, field)
        return _named_node(floor, end, source, field)
    except InputError as exc:
        why = exc.message.replace(
            "use cells: [[row, col], ...]", "give each end as a cell: [[row, col], [row, col]]"
        )
        raise InputError(source, field, f"its {which} end: {why}") from None


def _end(floor: CompiledFloor, node: int) -> str:
    key = floor.nodes[node]
    return repr(key) if isinstance(key, str | int) else _cell(_rc(floor, node))


def _moves_between(floor: CompiledFloor, u: int, v: int) -> list[tuple[int, int]]:
    """The floor's moves u → v and v → u, or, where the edge was split into a chain of transit
    nodes, the moves from u and from v into that chain."""
    nbr, mask, transit = floor.nbr, floor.mask, floor.transit
    out: list[tuple[int, int]] = []
    for p, q in ((u, v), (v, u)):
        if (mask[p] & (nbr[p] == q) & (np.arange(nbr.shape[1]) > 0)).any():
            out.append((p, q))
    if out:
        return out
    for p, q in ((u, v), (v, u)):  # a chain of transit nodes from p to q, entered at p
        for a in range(1, nbr.shape[1]):
            first = int(nbr[p, a])
            if mask[p, a] and first != p and transit[first] and _chain_ends(floor, p, first) == q:
                out.append((p, first))
    return out


def _chain_ends(floor: CompiledFloor, start: int, first: int) -> int:
    """The waypoint a chain of transit nodes entered from ``start`` at ``first`` leads to (each
    transit node has two neighbours, the chain's previous and next node), -1 if none."""
    prev, here = start, first
    for _ in range(floor.n_nodes):
        if not floor.transit[here]:
            return here
        nxt = [int(x) for x in floor.nbr[here][floor.mask[here]] if int(x) not in (here, prev)]
        if len(nxt) != 1:
            return -1
        prev, here = here, nxt[0]
    return -1


def _cell(cell: tuple[int, int]) -> str:
    return f"({cell[0]}, {cell[1]})"


def node_label(floor: CompiledFloor, node: int) -> str:
    """A node as ``(row, col)``, after its id where the floor names its nodes."""
    r, c = (int(x) for x in _user_cell(floor, node))
    key = floor.nodes[node]
    return f"{key} ({r}, {c})" if isinstance(key, str | int) else _cell((r, c))


def cell_offset(floor: CompiledFloor) -> tuple[int, int]:
    """User cell minus compiled cell: a waypoint graph without ``grid_shape`` is shifted so its
    top-left node sits at (0, 0); users address cells as their file writes them."""
    node = floor.nodes[0]
    data = floor.graph.nodes[node] if node in floor.graph else {}
    if data.get("pos") is None:
        return (0, 0)
    # (a transit node moved aside by the split is drawn in its `cell`: warehouse.floor.transit)
    row, col = data.get("cell") or (round(data["pos"][0]), round(data["pos"][1]))
    return (int(row) - int(floor.pos[0, 0]), int(col) - int(floor.pos[0, 1]))


def _user_cell(floor: CompiledFloor, node: int) -> np.ndarray:
    return floor.pos[node] + np.asarray(cell_offset(floor))


def _extent(floor: CompiledFloor) -> str:
    dr, dc = cell_offset(floor)
    h, w = floor.shape
    return f"rows {dr}..{dr + h - 1}, cols {dc}..{dc + w - 1}"


def _inside(floor: CompiledFloor, cell: tuple[int, int]) -> tuple[int, int] | None:
    """The compiled cell of a user cell, or None outside the floor's extent."""
    dr, dc = cell_offset(floor)
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


def _named_node(floor: CompiledFloor, name: str | int, source: Any, field: str) -> int:
    """The node ``name`` names (:func:`named_candidates`), or an :class:`InputError`."""
    found = named_candidates(floor, name)
    if len(found) > 1:
        a, b = (floor.nodes[v] for v in found)
        raise InputError(
            source,
            field,
            f"{name!r} is ambiguous: the floor has a node {a!r} {_cell(_rc(floor, found[0]))} "
            f"and a node {b!r} {_cell(_rc(floor, found[1]))}; close the one you mean by its "
            "cell (cells: [[row, col]])",
        )
    if found:
        node = found[0]
        if not floor.transit[node]:
            return node
        why = "it is a transit node of a long edge (physics.speed_m_s): close its cell instead"
        raise InputError(source, field, f"{name!r} is not a floor node: {why}")
    own = [v for v, t in zip(floor.nodes[:1000], floor.transit[:1000], strict=True) if not t]
    if not any(isinstance(v, str | int) for v in own):
        why = "this floor's nodes have no names (they are cells): use cells: [[row, col], ...]"
    elif any(key in floor.graph for key in _spellings(name)):
        why = "it is a shelf, a wall or cut off from the floor"
    else:
        why = "no node of the floor has this id"
    raise InputError(source, field, f"{name!r} is not a floor node: {why}")


def _spellings(name: str | int) -> list[str | int]:
    """The ids ``name`` may mean: itself, and its other spelling where it has one: the text
    ``"3"`` for the whole number 3 and back (only the plain decimal form: not ``"03"``)."""
    if isinstance(name, bool):  # (the schema refuses booleans; never a spelling of 0 or 1)
        return [name]
    if isinstance(name, int):
        return [name, str(name)]
    try:
        number = int(name)
    except ValueError:
        return [name]
    return [name, number] if str(number) == name else [name]


def named_candidates(floor: CompiledFloor, name: str | int) -> list[int]:
    """The floor nodes a closure's ``nodes`` entry may mean, as a user means it (YAML writes
    ``3`` and ``"3"`` alike to the eye): the node whose id is ``name`` and the one whose id is
    its other spelling (:func:`_spellings`). One node: the match; none: no such node; two: the
    floor has both ``3`` and ``"3"``, and the entry is ambiguous."""
    found = []
    for key in _spellings(name):
        try:
            found.append(int(floor.index_of(key)))
        except (KeyError, TypeError):
            continue
    return found


def _rc(floor: CompiledFloor, node: int) -> tuple[int, int]:
    r, c = (int(x) for x in _user_cell(floor, node))
    return (r, c)
