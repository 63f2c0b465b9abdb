"""Scheduled closures (``faults.closures``) while a run lasts: when their cells close and
reopen, which parts of the floor they cut off, and the duties they bring (orders handed back,
robots sent out). The entries themselves are resolved on the floor by :mod:`.closure_entries`.

The simulation applies an entry by raising ``closed_until`` of its nodes at the clock its
closure begins (:func:`closure_events`), the array random closures write too, so the move
rule, the action mask, observations, the viewer and recordings treat both alike. Nothing is
drawn from the random streams. Unlike random closures, scheduled ones are known in advance: the
distances the fleet routes by treat their cells as closed while they last (:func:`closed_sets`
gives the clocks at which that set changes; ``DistanceCache.set_closed`` applies it), and
robots inside one leave it: each may step onto a closed cell nearer its edge
(``DistanceCache.leave``). Closed edges are out of the move mask the move rule reads
(``DistanceCache.mask``) and out of the fleet's distances (:func:`route_sets`).

Pick locations and stations that closed edges, closed cells or both together cut off from the
rest of the floor (:func:`cut_off`: open nodes outside its main strongly connected part, the one
where most orders can be done) have their orders held as closed ones do
(:func:`cut_off_events`, ``Simulation.cut_until``), and robots shut in there
(``Simulation.shut_in``) get no new orders and hand back those they have not picked.

While a closure lasts :func:`closure_duties` hands back the orders of robots bound for a closed
pick location or station (not yet picked) and sends robots with nothing to do inside to the
nearest open cells (waypoints, as parking gives; the navigators and shields drive them; never
into a part the closures cut off, unless the robot stands in one). A loaded robot keeps its
order and waits outside a closed station, or, with ``faults.redirect_loaded``, takes it to the
nearest open station (:func:`redirect_loaded`). At each closure event (the clocks of
:func:`route_sets`), robots drop a waypoint a closure that began since closes or cuts off
(:func:`stale_waypoints`; for a robot shut in, one outside its part): those inside are then
sent out, idle ones outside wait or park anew, and those at work drive on to their pick or
station; and a loaded robot sent out drops its evacuation waypoint once its station is open
again (:func:`spent_evacuations`), or when ``faults.redirect_loaded`` gives it an open one; an
idle one (or one queued for a charger) once the cell it was sent out of reopens. With
the battery model on (:mod:`.battery`), a closed charger, or one the closures cut off
(``Battery.cut``), is not handed out, the robots driving to or charging on a charger a closure
closes or cuts off lose it (:meth:`.Battery.close_chargers`), and robots queued for a charger
inside a closure are sent out as idle ones are.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numba
import numpy as np

from ..floor import NodeKind
from ..floor.distances import open_moves
from .closure_entries import ScheduledClosure
from .ranks import rank_within_groups
from .state import Charge, Phase

if TYPE_CHECKING:
    from ..floor import CompiledFloor
    from .simulation import Simulation

#: ``closed_until`` of a cell closed to the end of the run
NEVER = int(np.iinfo(np.int64).max)


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
    return np.maximum(sim.held_until(ob.pick[orders]), sim.station_held_until(ob.station[orders]))


def closure_duties(sim: Simulation) -> None:
    """While a scheduled closure lasts (called after each step's faults and at reset): robots
    driving to a pick whose pick location or station it closes hand their order back (it is
    held, :meth:`Simulation.release_orders`; with ``faults.redirect_loaded`` a closed station
    holds no order while another is open, :meth:`Simulation.station_held_until`), with
    ``faults.redirect_loaded`` robots carrying an order to a closed or cut-off station take it
    to the nearest open one (:func:`redirect_loaded`), at a closure event robots drop
    waypoints it took (:func:`stale_waypoints`), and robots inside it that have nothing to do
    there are sent out (:func:`evacuation_moves`). With the battery model on, robots first lose
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
        gone = closed[ob.pick[order]] | (sim.station_held_until(ob.station[order]) > sim.t)
        if sim.cut_until is not None:  # cut off by the closures: held as if closed
            gone |= sim.cut_until[ob.pick[order]] > sim.t
        if sim.shut_in is not None:  # shut in by the closures: another robot takes it
            gone |= sim.shut_in[s.pos[driving]]
        if gone.any():
            sim.release_orders(driving[gone])
    if sim.config.faults.redirect_loaded:
        redirect_loaded(sim)
    if sim._routes and sim.t in sim._routes:  # a closure began or ended: waypoints it took
        drop_waypoints(sim)  # (those inside are sent out below, the others wait or park again)
    robots = robots_to_evacuate(sim)
    if robots.size:
        robots, cells = evacuation_moves(sim, robots)
        if robots.size:  # an evacuation waypoint, and whence (:func:`spent_evacuations`)
            s.set_waypoint(robots, cells, evacuated_from=s.pos[robots])
            sim.state_changed()
            sim._reset_progress(robots)


def drop_waypoints(sim: Simulation) -> None:
    """At a closure event (a closure begins or ends, the clocks of :func:`route_sets`; the
    simulation calls this also when the last one ends): robots drop the waypoints the closures
    took (:func:`stale_waypoints`) and the evacuation waypoints whose reason they took away
    (:func:`spent_evacuations`)."""
    robots = np.union1d(stale_waypoints(sim), spent_evacuations(sim)).astype(np.int32)
    if robots.size:  # (queued evacuees too, whose waypoints set_waypoints leaves alone)
        sim.state.set_waypoint(robots, -1)
        sim.state_changed()
        sim._reset_progress(robots)


def spent_evacuations(sim: Simulation) -> np.ndarray:
    """Robots with no battery business, or queued for a charger, driving to the cell an
    evacuation sent them to (:attr:`~.state.FleetState.evacuation`; a dispatcher's sub-goal is
    not one) whose evacuation has lost its reason (:func:`drop_waypoints`): for a robot with a
    task, its task goal (a loaded robot's station) is open now and reached from where it
    stands (it drives there); for an idle one, the cell it was sent out of has reopened (it
    waits, or parks anew), or it still stands inside a closure (it is sent out afresh from
    where it stands, :func:`robots_to_evacuate`)."""
    s = sim.state
    evac = (s.waypoint >= 0) & (s.waypoint == s.evacuation)
    if sim.battery is not None:  # (a robot queued for a charger is sent out as an idle one)
        evac &= (s.charge == Charge.NONE) | (s.charge == Charge.QUEUED)
    robots = np.flatnonzero(evac).astype(np.int32)
    if robots.size == 0:
        return robots
    closed = sim.dist.closed
    goal = s.task_goal[robots]
    working = goal >= 0
    back = working & ~closed[np.maximum(goal, 0)]
    back &= sim.dist.reaches(np.maximum(goal, 0), s.pos[robots])
    origin = s.evacuated_from[robots]
    idle = ~working & ((origin < 0) | ~closed[np.maximum(origin, 0)] | closed[s.pos[robots]])
    return robots[back | idle]


def redirect_loaded(sim: Simulation) -> None:
    """``faults.redirect_loaded``: robots carrying an order to a station that is closed or cut
    off now deliver it to the open station nearest them (reached around the closures; ties to
    the lower node id) instead, and the order's station becomes that one. With
    ``tasks.station_limit`` only stations with room are chosen, nearest robots first; the
    others wait and are redirected once some has room. Robots shut in a part the closures cut
    off, and those that reach no such station, keep theirs."""
    s, f = sim.state, sim.floor
    carrying = np.flatnonzero(s.phase == Phase.TO_DROP)
    if carrying.size == 0:
        return
    held = sim.held_until(s.task_goal[carrying]) > sim.t
    if sim.shut_in is not None:
        held &= ~sim.shut_in[s.pos[carrying]]
    robots = carrying[held]
    usable = sim.held_until(f.stations) <= sim.t
    limit = sim.config.tasks.station_limit
    room = np.maximum(limit - sim.orders_in_progress(), 0) if limit is not None else None
    if room is not None:
        usable &= room > 0
    stations = f.stations[usable]
    if robots.size == 0 or stations.size == 0:
        return
    pos = s.pos[robots]
    never = np.iinfo(np.int64).max
    steps = sim.dist.lookup(stations[None, :], pos[:, None]).astype(np.int64)
    steps[~sim.dist.reaches(stations[None, :], pos[:, None])] = never
    best = np.argmin(steps, axis=1)
    near = steps[np.arange(robots.size), best]
    ok = near < never
    if room is not None:  # each station takes its nearest robots, as many as it has room for
        rank = rank_within_groups(best, np.lexsort((robots, near, best)))
        ok &= rank < room[usable][best]
    if not ok.any():
        return
    robots, goal = robots[ok], stations[best[ok]]
    sim.orders.station[s.order[robots]] = goal
    s.task_goal[robots] = goal
    evac = robots[(s.waypoint[robots] >= 0) & (s.waypoint[robots] == s.evacuation[robots])]
    s.set_waypoint(evac, -1)  # sent out for want of a station: it drives to the new one
    sim.state_changed()
    sim._reset_progress(robots)


def drop_steps(sim: Simulation, picks: np.ndarray, stations: np.ndarray) -> np.ndarray:
    """Steps from each pick to the station the order will be delivered at: its own, or with
    ``faults.redirect_loaded`` the open station nearest the pick while its own is closed or cut
    off (where the robot that picks it will take it: :func:`redirect_loaded`)."""
    drop = sim.dist.lookup(stations, picks).astype(np.float64)
    if not (sim.config.faults.redirect_loaded and sim.order_closures_possible):
        return drop
    held = sim.held_until(stations) > sim.t
    usable = sim.floor.stations[sim.held_until(sim.floor.stations) <= sim.t]
    if held.any() and usable.size:
        near = sim.dist.lookup(usable[None, :], picks[held][:, None]).min(axis=1)
        drop[held] = near
    return drop


def stale_waypoints(sim: Simulation) -> np.ndarray:
    """Robots with no battery business, idle or at work, whose waypoint (a parking spot, a
    cell an evacuation sent them to, a dispatcher's sub-goal such as a hub route) a scheduled
    closure now closes, or the closures cut off from where the robot stands
    (:attr:`Simulation.shut_in`: in a part the robot is not in, or, for a robot shut in, out
    of its part; :meth:`~warehouse.floor.DistanceCache.reaches`): a closure that began after
    the waypoint was set.
    :func:`closure_duties` drops these waypoints at each closure event, so robots inside are
    sent out (:func:`robots_to_evacuate`), idle ones outside wait where they stand or are given
    a new spot (``policies.park_idle``), and robots driving to a pick or a station drive on to
    it. Robots on battery business have their cells checked by
    :meth:`.Battery.close_chargers`."""
    s = sim.state
    wp = s.waypoint
    heading = wp >= 0
    if sim.battery is not None:
        heading &= s.charge == Charge.NONE
    if not heading.any():
        return np.zeros(0, dtype=np.int32)
    robots = np.flatnonzero(heading).astype(np.int32)
    to = wp[robots]
    lost = sim.dist.closed[to]
    if sim.shut_in is not None:  # cut off: in a part the robot is not in, or out of its part
        here = s.pos[robots]
        lost |= (sim.shut_in[to] & ~sim.shut_in[here]) | ~sim.dist.reaches(to, here)
    return robots[lost]


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
