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
  YAML tells ``3`` from ``"3"`` by quotes that are easy to miss, so either spelling names the
  node ``3`` or the node ``"3"`` (only the plain decimal form: ``"03"`` is text); a graph that
  has both makes the entry ambiguous (an error: close the one meant by its cell).

An entry may also close edges without closing their cells (``edges: [[u, v], ...]``, each end a
cell or a node id as above): the floor's moves u → v and v → u (the one a one-way aisle has),
or, for a long edge split into transit nodes, the moves from u and from v onto its chain
(:func:`_edge_moves`). While it lasts those moves are out of the move mask the move rule reads
(``DistanceCache.mask``) and out of the fleet's distances. Pick locations and stations that
closed edges, closed cells or both together cut off from the rest of the floor (:func:`cut_off`:
open nodes outside its largest strongly connected part) have their orders held as closed ones
do (:func:`cut_off_events`, ``Simulation.cut_until``), and robots shut in there
(``Simulation.shut_in``) get no new orders and hand back those they have not picked.

On a floor whose long edges ``physics.speed_m_s`` split into transit nodes
(:mod:`warehouse.floor.transit`), every node has a cell of its own, transit nodes too, and a
cell closes the node drawn in it. A named node closes that node alone (transit nodes have no
name a closure can give): robots on the long edges that lead to it queue at their ends.

The cells are closed while ``start_s ≤ t × physics.step_seconds < end_s`` holds for the clock
``t`` (steps taken so far): the moves of step ``k`` (the one from clock ``k`` to ``k + 1``)
cannot enter them when ``start_s ≤ k × step_seconds < end_s``. ``end_s: null`` keeps them
closed to the end of the run. The simulation applies an entry by raising ``closed_until`` of
its nodes at the clock its closure begins, the array random closures write too, so the move
rule, the action mask, observations, the viewer and recordings treat both alike. Nothing is
drawn from the random streams. Unlike random closures, scheduled ones are known in advance: the
distances the fleet routes by treat their cells as closed while they last (:func:`closed_sets`
gives the clocks at which that set changes; ``DistanceCache.set_closed`` applies it), and
robots inside one leave it: each may step onto a closed cell nearer its edge
(``DistanceCache.leave``), and while it lasts :func:`closure_duties` hands back the orders of
robots bound for a closed pick location or station (not yet picked) and sends robots with
nothing to do inside to the nearest open cells (waypoints, as parking gives; the navigators and
shields drive them; never into a part the closures cut off, unless the robot stands in one). A
loaded robot keeps its order and waits outside a closed station. At each closure event (the
clocks of :func:`route_sets`), idle robots drop a waypoint a closure that began since closes or
cuts off (:func:`stale_waypoints`): those inside are then sent out, the others wait or park
anew. With the battery model on (:mod:`.battery`), a closed charger, or one the closures cut
off (``Battery.cut``), is not handed out, the robots driving to or charging on a charger a
closure closes or cuts off lose it (:meth:`.Battery.close_chargers`), and robots queued for a
charger inside a closure are sent out as idle ones are.

Errors are :class:`~warehouse.errors.InputError` naming the entry's field
(``faults.closures[1].cells[0]: (40, 3) is not a floor cell ...``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from dataclasses import field as _field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numba
import numpy as np

from ..errors import InputError
from ..floor import NodeKind
from ..floor.distances import open_moves
from .state import Charge, Phase

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
    #: ``(k, 2)`` int64 moves ``(from, to)`` its ``edges`` close, sorted (none: shape (0, 2))
    moves: np.ndarray = _field(default_factory=lambda: np.zeros((0, 2), dtype=np.int64))

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


def route_sets(closures: list[ScheduledClosure]) -> dict[int, tuple[np.ndarray, np.ndarray]]:
    """``{clock: (nodes, moves)}``: from each clock at which the scheduled-closed nodes or the
    moves closed edges take away change, both then (as :func:`closed_sets`; ``moves`` a sorted
    int64 ``(k, 2)`` array of ``(from, to)``). The fleet's distances and the move rule follow
    them (``DistanceCache.set_closed``). Without ``edges`` the clocks and nodes are
    :func:`closed_sets`' and every ``moves`` is empty."""
    live = [
        c for c in closures if (c.nodes.size or c.moves.size) and (c.end is None or c.end > c.start)
    ]
    times = sorted({c.start for c in live} | {c.end for c in live if c.end is not None})
    out: dict[int, tuple[np.ndarray, np.ndarray]] = {}
    none = np.zeros(0, dtype=np.int64)
    prev = (none, np.zeros((0, 2), dtype=np.int64))
    for t in times:
        active = [c for c in live if c.start <= t and (c.end is None or t < c.end)]
        nodes = [c.nodes for c in active if c.nodes.size]
        moves = [c.moves for c in active if c.moves.size]
        now = (
            np.unique(np.concatenate(nodes)).astype(np.int64) if nodes else none,
            np.unique(np.concatenate(moves), axis=0).astype(np.int64)
            if moves
            else np.zeros((0, 2), dtype=np.int64),
        )
        if not (np.array_equal(now[0], prev[0]) and np.array_equal(now[1], prev[1])):
            out[t] = now
        prev = now
    return out


def cut_off(floor: CompiledFloor, mask: np.ndarray, closed: np.ndarray | None = None) -> np.ndarray:
    """Bool per node: an open node outside the main strongly connected part of the floor with
    the moves ``mask`` allows and no move into a ``closed`` node (bool per node, or node ids):
    closed edges, closed cells or both together cut it off from the rest, in one direction at
    least. The main part is the one where most orders can be done: the most pick locations ×
    stations, then the most of both, then the most nodes. Closed nodes themselves are never
    marked (their robots leave them, ``DistanceCache.leave``)."""
    from scipy.sparse import csr_matrix
    from scipy.sparse.csgraph import connected_components

    n = floor.n_nodes
    shut = np.zeros(n, dtype=bool)
    if closed is not None:
        shut[closed] = True
    src = np.repeat(np.arange(n), mask.shape[1])
    dst = floor.nbr.ravel()
    keep = mask.ravel() & (src != dst) & ~shut[dst]
    adj = csr_matrix((np.ones(int(keep.sum()), np.int8), (src[keep], dst[keep])), shape=(n, n))
    parts, labels = connected_components(adj, directed=True, connection="strong")
    if shut.all():
        return ~shut
    open_ = ~shut
    picks, stations, nodes = (
        np.bincount(labels[open_ & which], minlength=parts).astype(np.int64)
        for which in (floor.kind == NodeKind.PICK, floor.kind == NodeKind.STATION, open_)
    )
    main = np.lexsort((nodes, picks + stations, picks * stations))[-1]
    return (labels != main) & open_


def cut_off_events(
    floor: CompiledFloor, routes: dict[int, tuple[np.ndarray, np.ndarray]]
) -> dict[int, tuple[np.ndarray, np.ndarray]]:
    """``{clock: (nodes, until)}`` as :func:`closure_events` gives, for the open pick locations
    and stations that closed edges and closed cells cut off from the rest of the floor
    (:func:`cut_off`): from that clock to ``until`` their orders are held, as a closed one's
    are. Empty when nothing is ever cut off."""
    if not routes:
        return {}
    times = sorted(routes)
    order_cell = (floor.kind == NodeKind.PICK) | (floor.kind == NodeKind.STATION)
    cuts = []
    for t in times:
        nodes, moves = routes[t]
        cuts.append(cut_off(floor, open_moves(floor, moves), nodes) & order_cell)
    events: dict[int, tuple[np.ndarray, np.ndarray]] = {}
    for k, t in enumerate(times):
        new = cuts[k] & ~(cuts[k - 1] if k else np.zeros_like(cuts[k]))
        if not new.any():
            continue
        nodes = np.flatnonzero(new).astype(np.int64)
        until = np.full(nodes.size, NEVER, np.int64)
        for m in range(k + 1, len(times)):  # the clock each is no longer cut off
            ends = (until == NEVER) & ~cuts[m][nodes]
            until[ends] = times[m]
        events[t] = (nodes, until)
    return events


def open_since(sim: Simulation, orders: np.ndarray) -> np.ndarray:
    """For orders that are not held now (:meth:`Simulation.dispatchable_orders`): the clock
    from which their pick location and station have both been open (int64; 0 when neither was
    ever closed). An order held at clock ``t0`` and dispatchable now has ``open_since > t0``:
    the PPO decision clock (:class:`hierarchy.smdp.DecisionClock`) counts that as an event."""
    orders = np.asarray(orders, dtype=np.int64)
    ob = sim.orders
    return np.maximum(sim.held_until(ob.pick[orders]), sim.held_until(ob.station[orders]))


def closure_duties(sim: Simulation) -> None:
    """While a scheduled closure lasts (called after each step's faults and at reset): robots
    driving to a pick whose pick location or station it closes hand their order back (it is
    held, :meth:`Simulation.release_orders`), at a closure event idle robots drop waypoints it
    took (:func:`stale_waypoints`), and robots inside it that have nothing to do there are
    sent out (:func:`evacuation_moves`). With the battery model on, robots first lose
    a charger it closes, and queued robots a waiting cell it closes
    (:meth:`~.battery.Battery.close_chargers`). Vectorized; the search for exits runs only on
    the steps some robot needs one (a closure begins, or a robot's work inside ends)."""
    closed = sim.dist.closed
    s, ob = sim.state, sim.orders
    if sim.battery is not None:
        lost = sim.battery.close_chargers(s, sim.dist)
        if lost.size:
            sim.state_changed()
            sim._reset_progress(lost)
    driving = np.flatnonzero(s.phase == Phase.TO_PICK)
    if driving.size:
        order = s.order[driving]
        gone = closed[ob.pick[order]] | closed[ob.station[order]]
        if sim.cut_until is not None:  # cut off by the closures: held as if closed
            gone |= (sim.cut_until[ob.pick[order]] > sim.t) | (
                sim.cut_until[ob.station[order]] > sim.t
            )
        if sim.shut_in is not None:  # shut in by the closures: another robot takes it
            gone |= sim.shut_in[s.pos[driving]]
        if gone.any():
            sim.release_orders(driving[gone])
    if sim._routes and sim.t in sim._routes:  # a closure began or ended: waypoints it took
        stale = stale_waypoints(sim)
        if stale.size:  # those inside are sent out below, the others wait or park again
            sim.set_waypoints(stale, np.full(stale.size, -1, dtype=np.int32))
    robots = robots_to_evacuate(sim)
    if robots.size:
        robots, cells = evacuation_moves(sim, robots)
        queued = s.charge[robots] == Charge.QUEUED
        if queued.any():  # (set_waypoints leaves robots on battery business alone)
            s.waypoint[robots[queued]] = cells[queued]
            sim.state_changed()
            sim._reset_progress(robots[queued])
            robots, cells = robots[~queued], cells[~queued]
        if robots.size:
            sim.set_waypoints(robots, cells)


def stale_waypoints(sim: Simulation) -> np.ndarray:
    """Idle robots with no battery business whose waypoint (a parking spot, a cell an
    evacuation sent them to, a dispatcher's sub-goal) a scheduled closure now closes, or the
    closures cut off from where the robot stands (:attr:`Simulation.shut_in`): a closure
    that began after the waypoint was set. :func:`closure_duties` drops these waypoints at
    each closure event, so robots inside are sent out (:func:`robots_to_evacuate`) and the
    others wait where they stand or are given a new spot (``policies.park_idle``). Robots
    on battery business have their cells checked by :meth:`.Battery.close_chargers`."""
    s = sim.state
    wp = s.waypoint
    heading = (wp >= 0) & (s.phase == Phase.IDLE)
    if sim.battery is not None:
        heading &= s.charge == Charge.NONE
    if not heading.any():
        return np.zeros(0, dtype=np.int32)
    to = np.maximum(wp, 0)
    lost = sim.dist.closed[to]
    if sim.shut_in is not None:
        lost |= sim.shut_in[to] & ~sim.shut_in[s.pos]
    return np.flatnonzero(heading & lost).astype(np.int32)


def robots_to_evacuate(sim: Simulation) -> np.ndarray:
    """Robots standing inside an active scheduled closure that have nothing to do there: not
    at work (picking, dropping), not driving to a charger, charging or depleted, nor queued
    for a charger holding a waiting cell (outside: it goes there), and heading for no cell
    outside it (idle with no sub-goal, or a target inside it: a closed station, goal or
    parking spot, or one the closures cut off), or whose sub-goal another idle robot now
    stands on for good."""
    s = sim.state
    closed = sim.dist.closed
    inside = closed[s.pos]
    if not inside.any():
        return np.zeros(0, dtype=np.int32)
    free = (s.phase != Phase.PICKING) & (s.phase != Phase.DROPPING)
    queued = s.charge == Charge.QUEUED
    if queued.any() and sim.battery is not None:  # one holding a waiting cell goes there
        queued &= sim.battery.wait_at < 0
    free &= (s.charge == Charge.NONE) | queued
    target = s.target
    aimless = target < 0
    aimless |= closed[np.maximum(target, 0)] & ~aimless
    if sim.shut_in is not None:  # a target the closures cut off
        aimless |= sim.shut_in[np.maximum(target, 0)] & ~sim.shut_in[s.pos] & (target >= 0)
    # a sub-goal outside that an idle robot with no sub-goal of its own has taken meanwhile
    still = (s.phase == Phase.IDLE) & (s.waypoint < 0)
    holder = np.full(sim.floor.n_nodes, -1, dtype=np.int64)
    holder[s.pos[still]] = np.flatnonzero(still)
    wp = np.maximum(s.waypoint, 0)
    taken = (s.waypoint >= 0) & (holder[wp] >= 0) & (holder[wp] != np.arange(s.pos.size))
    return np.flatnonzero(inside & free & (aimless | taken)).astype(np.int32)


def evacuation_moves(sim: Simulation, robots: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(robots, cells)``: for robots inside a scheduled closure, the open cells to wait at:
    the nearest ones they reach (through the closure outward, then around any closed cell), one
    robot per cell, matched by fewest total steps (:func:`scipy.optimize.linear_sum_assignment`).
    A cell is open, not a station nor a transit node, not cut off by the closures (unless the
    robot stands where they cut off, or its only way out of the closure leads there), and no
    robot stands on it or is headed for it. Robots that reach no such cell get none (they are
    asked again the next step)."""
    from scipy.optimize import linear_sum_assignment

    s, f = sim.state, sim.floor
    robots = np.asarray(robots, dtype=np.int32)
    blocked = sim.closed_until > sim.t
    ok = ~blocked & ~f.transit & (f.kind != NodeKind.STATION)
    ok[s.pos] = False
    others = np.ones(s.pos.size, dtype=bool)
    others[robots] = False
    ok[s.waypoint[others & (s.waypoint >= 0)]] = False
    k = int(robots.size)
    cells = np.full((k, k), -1, dtype=np.int32)
    steps = np.zeros((k, k), dtype=np.int32)
    args = (f.nbr, sim.dist.mask, blocked, sim.dist.leave)
    if sim.shut_in is None:
        _nearest_open(s.pos[robots], *args, ok, cells, steps)
    else:  # never into a part the closures cut off, unless the robot stands in one
        shut = sim.shut_in[s.pos[robots]]
        for rows, fine in ((~shut, ok & ~sim.shut_in), (shut, ok)):
            if rows.any():
                _nearest_into(s.pos[robots], rows, args, fine, cells, steps)
        # a robot on a closed cell whose way out leads only into a cut-off part goes there
        stranded = ~shut & (cells < 0).all(axis=1)
        if stranded.any():
            _nearest_into(s.pos[robots], stranded, args, ok, cells, steps)
    found = cells >= 0
    if not found.any():
        return np.zeros(0, dtype=np.int32), np.zeros(0, dtype=np.int32)
    choices, col = np.unique(cells[found], return_inverse=True)
    big = float(f.n_nodes + 1)
    cost = np.full((k, choices.size), big)
    cost[np.nonzero(found)[0], col] = steps[found]
    rows, cols = linear_sum_assignment(cost)
    keep = cost[rows, cols] < big
    return robots[rows[keep]], choices[cols[keep]].astype(np.int32)


def _nearest_into(starts, rows, args, ok, cells, steps) -> None:  # type: ignore[no-untyped-def]
    """:func:`_nearest_open` for the ``rows`` (bool) of ``starts``, ``cells`` and ``steps``."""
    part_cells, part_steps = cells[rows], steps[rows]
    _nearest_open(starts[rows], *args, ok, part_cells, part_steps)
    cells[rows], steps[rows] = part_cells, part_steps


@numba.njit(cache=True)
def _nearest_open(starts, nbr, fmask, blocked, leave, ok, cells, steps):  # pragma: no cover
    """For each start, the ``cells.shape[1]`` nearest ``ok`` nodes into ``cells`` (-1 past the
    last found) and their steps, by breadth-first search over the moves the move rule allows a
    robot there: never into a closed node, unless it stands on a scheduled-closed one and the
    closed node lies nearer the open ones (``0 < leave[q] < leave[p]``)."""
    n, k = nbr.shape[0], cells.shape[1]
    seen = np.full(n, -1, np.int64)
    dist = np.zeros(n, np.int32)
    queue = np.empty(n, np.int32)
    for i in range(starts.size):
        found = 0
        head, tail = 0, 1
        queue[0] = starts[i]
        seen[starts[i]] = i
        dist[starts[i]] = 0
        while head < tail and found < k:
            v = queue[head]
            head += 1
            if ok[v]:
                cells[i, found] = v
                steps[i, found] = dist[v]
                found += 1
            for a in range(1, nbr.shape[1]):
                u = nbr[v, a]
                if not fmask[v, a] or u == v or seen[u] == i:
                    continue
                if blocked[u] and not (leave[u] > 0 and leave[u] < leave[v]):
                    continue
                seen[u] = i
                dist[u] = dist[v] + 1
                queue[tail] = u
                tail += 1


def describe_closures(
    floor: CompiledFloor,
    faults: FaultsConfig,
    step_seconds: float,
    steps: int | None = None,
    source: str | Path | None = None,
    chargers: np.ndarray | None = None,
) -> list[str]:
    """One line per scheduled closure (``warehouse validate``): the cells and the time span, in
    seconds and steps, whether the episode of ``steps`` steps reaches it, what it closes and cuts
    off (pick locations, stations and ``chargers``, the battery model's charger nodes); then one
    line per span in which closures active together cut off more than each alone."""
    lines = []
    is_charger = np.zeros(floor.n_nodes, dtype=bool)
    if chargers is not None:
        is_charger[chargers] = True
    closures = resolve_closures(floor, faults, step_seconds, source)
    alone = [cut_off(floor, open_moves(floor, c.moves), c.nodes) for c in closures]
    for c, entry, cut in zip(closures, faults.closures, alone, strict=True):
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
        what, items = [], []
        if cells:
            what.append(f"{len(cells)} cell{'s' if len(cells) != 1 else ''}")
            items.append(shown)
        if entry.edges:
            k = len(entry.edges)
            what.append(f"{k} edge{'s' if k != 1 else ''}")
            ends = [tuple(int(v) for v in m) for m in c.moves.tolist()]
            pairs = list(dict.fromkeys(tuple(sorted(m)) for m in ends))
            edges = [f"{_end(floor, u)}–{_end(floor, v)}" for u, v in pairs]
            items.append(", ".join(edges[:4]) + (", …" if len(edges) > 4 else ""))
        line = (
            f"{c.field()}: {' and '.join(what)} closed from "
            f"{entry.start_s:g} s to {until} (steps {c.start}{last}): {'; '.join(items)}"
        )
        if kinds:
            line += f"; {' and '.join(kinds)} among them (their orders wait)"
        if closed := _chargers(is_charger[c.nodes]):
            line += f"; {closed} among them (not given out meanwhile)"
        # open pick locations, stations and chargers the entry alone cuts off
        by = "its edges" if not cells else "its cells and edges" if entry.edges else "its cells"
        line += _cut_phrase(floor, cut, is_charger, by)
        if steps is not None and c.start >= steps:
            line += f"; begins after the episode's {steps} steps, so it never closes"
        lines.append(line)
    return lines + _cut_together(floor, closures, alone, is_charger, step_seconds)


def _cut_phrase(floor: CompiledFloor, cut: np.ndarray, is_charger: np.ndarray, by: str) -> str:
    """``"; BY cut off 2 pick locations (their orders wait)"`` and the like for the nodes
    ``cut`` marks, or ``""`` when it marks no pick location, station nor charger."""
    counts = [
        (int(np.count_nonzero(cut & (floor.kind == kind))), what)
        for kind, what in ((NodeKind.PICK, "pick location"), (NodeKind.STATION, "station"))
    ]
    phrase = ""
    if off := [f"{n} {what}{'s' if n != 1 else ''}" for n, what in counts if n]:
        phrase += f"; {by} cut off {' and '.join(off)} (their orders wait)"
    if off_chargers := _chargers(cut & is_charger):
        phrase += f"; {by} cut off {off_chargers} (not given out meanwhile)"
    return phrase


def _cut_together(
    floor: CompiledFloor,
    closures: list[ScheduledClosure],
    alone: list[np.ndarray],
    is_charger: np.ndarray,
    step_seconds: float,
) -> list[str]:
    """One line per span of the schedule in which closures active together cut off pick
    locations, stations or chargers that none of them cuts off alone (:func:`cut_off`)."""
    routes = route_sets(closures)
    times = sorted(routes)
    lines = []
    for k, t in enumerate(times):
        active = [
            i for i, c in enumerate(closures) if c.start <= t and (c.end is None or t < c.end)
        ]
        if len(active) < 2:
            continue
        nodes, moves = routes[t]
        extra = cut_off(floor, open_moves(floor, moves), nodes)
        extra &= ~np.logical_or.reduce([alone[i] for i in active])
        phrase = _cut_phrase(floor, extra, is_charger, "they")
        if not phrase:
            continue
        names = " and ".join(closures[i].field() for i in active)
        end = times[k + 1] if k + 1 < len(times) else None
        span = (
            f"from {t * step_seconds:g} s to the end of the run (steps {t}..)"
            if end is None
            else f"from {t * step_seconds:g} s to {end * step_seconds:g} s (steps {t}..{end - 1})"
        )
        lines.append(f"{names} together, {span}: {phrase[2:]}")
    return lines


# ------------------------------------------------------------------------------ helpers
def _chargers(marked: np.ndarray) -> str:
    """``"N charger(s)"`` for the chargers ``marked`` (bool), or ``""`` for none."""
    n = int(np.count_nonzero(marked))
    return f"{n} charger{'s' if n != 1 else ''}" if n else ""


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
    data = floor.graph.nodes[node] if node in floor.graph else {}
    if data.get("pos") is None:
        return (0, 0)
    # (a transit node moved aside by the split is drawn in its `cell`: warehouse.floor.transit)
    row, col = data.get("cell") or (round(data["pos"][0]), round(data["pos"][1]))
    return (int(row) - int(floor.pos[0, 0]), int(col) - int(floor.pos[0, 1]))


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
