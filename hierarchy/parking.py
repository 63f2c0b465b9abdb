"""Parking: idle robots wait at spots spread over the floor, not where they finished.

A robot that delivers and gets no new order stays at the station. Where the arrival rate caps
throughput, many robots are idle at once, so they gather along the station walls: the next
order's shelf is then far from every idle robot, and idle robots packed around a station can
wall it off (docs/results_sessions.md, sixteenth session). :class:`IdleParking` wraps any
dispatcher: after it has assigned orders, every robot idle for ``after_s`` seconds or more,
with no sub-goal and not on a parking spot, drives to a free parking spot. Robots and free spots are
matched by fewest total steps (:func:`scipy.optimize.linear_sum_assignment`), one robot per
spot. The spot is a waypoint sub-goal (:meth:`~warehouse.core.Simulation.set_waypoints`): the
robot stays idle, so any dispatcher can give it an order on the way or once parked, and the
order drops the sub-goal (:meth:`~warehouse.core.Simulation.assign`).

Parking spots (:func:`parking_spots`) are the floor's parking cells when it has any (``P`` in
ASCII drawings, the generator's ``parking_walls`` strips, ``kind="parking"`` on graph nodes).
Otherwise they are pick cells spread evenly over the floor, about two per robot: the pick cell
nearest the centre of each cell of a ``g × g`` grid, with ``g²`` about twice the fleet. Orders
are picked there, so a parked robot waits where the next orders are likely to be. Cells in
dead ends are left out (:func:`dead_end_nodes`): a robot parked there could shut in the cells
behind it. With the battery model, its chargers (which may be parking cells) are never spots:
a robot parked on one would stand in the way of the next robot that needs it, as the battery
model keeps idle robots off chargers too (:mod:`warehouse.core.battery`).

A robot that makes way for others may be pushed onto the spot another robot is driving to;
that robot then looks for another spot (:func:`parking_moves`).

Scheduled closures (``faults.closures``) are announced, so parking plans around them while they
last: a spot they close, or one a robot reaches only through their cells
(:meth:`~warehouse.floor.DistanceCache.reaches`), is not chosen, and a robot driving to a spot
that such a closure closes or cuts off looks for another (or drops its sub-goal). A robot parked
on a spot that closes is sent out by the simulation (to the nearest open cell, as every idle
robot inside a scheduled closure: :func:`warehouse.core.closures.closure_duties`); at the
step a closure begins, the simulation already drops the sub-goal of an idle robot bound for a
spot it closes or cuts off (:func:`warehouse.core.closures.stale_waypoints`), and parking gives
that robot another spot at its next call. Random
closures (``faults.closure_prob``) are not announced: a spot closed by one is not chosen while
closed, but no robot already driving to it reacts.

The wrapper draws no random numbers and keeps no state between steps ("idle for" is the core's
``since_goal``), so runs stay bit-identical for a seed.

Scenario files turn it on with ``policies.park_idle`` (seconds; off by default)::

    warehouse run small --set policies.park_idle=5
"""

from __future__ import annotations

import math
import weakref
from typing import TYPE_CHECKING, Any

import networkx as nx
import numpy as np

from warehouse.floor import NodeKind

from .features import grid_centre_nodes
from .hungarian import solve_assignment
from .matching import travel_steps

if TYPE_CHECKING:
    from warehouse.core import Simulation

#: floor → {fleet size: spots}
_SPOTS: weakref.WeakKeyDictionary[Any, dict[int, np.ndarray]] = weakref.WeakKeyDictionary()


def dead_end_nodes(floor: Any) -> np.ndarray:
    """Bool per node: the node ends a dead end (one neighbour) or is a cut node, whose removal
    splits the floor (moves in either direction count, as a parked robot blocks both)."""
    n = floor.n_nodes
    src, dst = floor.moves()
    graph = nx.Graph()
    graph.add_nodes_from(range(n))
    graph.add_edges_from(zip(src.tolist(), dst.tolist(), strict=True))
    out = np.zeros(n, dtype=bool)
    out[list(nx.articulation_points(graph))] = True
    degree = np.fromiter((d for _, d in graph.degree()), dtype=np.int64, count=n)
    out[degree == 1] = True
    return out


def parking_spots(floor: Any, n_robots: int) -> np.ndarray:
    """Parking nodes for a fleet of ``n_robots``: the floor's ``parking`` nodes when it has any;
    else the pick node nearest the centre of each cell of a ``g × g`` grid over the floor,
    ``g = ceil(sqrt(2 n_robots))`` (duplicates removed; aisle nodes when the floor has no pick
    nodes, all nodes when it has neither), leaving out :func:`dead_end_nodes` unless nothing
    else is left. Cached per floor."""
    cache = _SPOTS.setdefault(floor, {})
    if n_robots not in cache:
        marked = np.flatnonzero(floor.kind == NodeKind.PARKING).astype(np.int32)
        if marked.size:
            cache[n_robots] = marked
        else:
            nodes = np.flatnonzero(floor.kind == NodeKind.PICK)
            if nodes.size == 0:  # never a transit node of a long edge (physics.speed_m_s)
                nodes = np.flatnonzero((floor.kind == NodeKind.AISLE) & ~floor.transit)
            if nodes.size == 0:
                nodes = np.flatnonzero(~floor.transit)
            open_nodes = nodes[~dead_end_nodes(floor)[nodes]]
            if open_nodes.size:
                nodes = open_nodes
            grid = max(1, math.ceil(math.sqrt(2 * n_robots)))
            cache[n_robots] = grid_centre_nodes(floor, nodes, grid)
    return cache[n_robots]


def parking_moves(
    sim: Simulation, after_steps: int, spots: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """``(robots, spots)`` to send parking now (spot -1: drop the sub-goal). Pure: does not
    touch ``sim``.

    Idle robots (not broken down) idle for ``after_steps`` or more and not on a spot are
    matched to free spots (no robot on them, none driving to them, not closed, not one of the
    battery model's chargers) by fewest total steps: those with no sub-goal, and those whose
    spot another idle robot has taken meanwhile (it was pushed there while making way) or,
    while a scheduled closure lasts, that it closed or cut off from the robot. A robot of the
    second kind that gets no new spot drops its sub-goal, so no robot waits for a spot that
    will not clear. While a scheduled closure lasts a spot the robot reaches only through its
    cells counts as unreachable."""
    s = sim.state
    n_nodes = sim.floor.n_nodes
    none = np.zeros(0, np.int32), np.zeros(0, np.int32)
    if sim.battery is not None:  # a charger is for charging: never a spot (module docstring)
        spots = spots[~sim.battery.is_charger[spots]]
    idle = np.zeros(s.pos.size, dtype=bool)  # no task, not broken down, no battery business
    idle[sim.idle_robots()] = True
    parked_on = np.full(n_nodes, -1, dtype=np.int64)  # node -> idle robot standing there
    still = np.flatnonzero(idle & (s.waypoint < 0))
    parked_on[s.pos[still]] = still
    goal = np.maximum(s.waypoint, 0)
    lost = (
        idle
        & (s.waypoint >= 0)
        & (parked_on[goal] >= 0)
        & (parked_on[goal] != np.arange(s.pos.size))
    )
    is_spot = np.zeros(n_nodes, dtype=bool)
    is_spot[spots] = True
    around = sim.dist.closed_any  # scheduled closures active now: plan around them
    if around:  # spots closed, or cut off from their robot, since they were chosen
        heading = np.flatnonzero(idle & (s.waypoint >= 0) & is_spot[goal] & ~lost)
        if heading.size:
            to_goal = goal[heading]
            cut = sim.dist.closed[to_goal] | ~sim.dist.reaches(to_goal, s.pos[heading])
            lost[heading[cut]] = True
    waiting = idle & ((s.waypoint < 0) | lost) & (s.since_goal >= after_steps) & ~is_spot[s.pos]
    robots = np.flatnonzero(waiting).astype(np.int32)
    if robots.size == 0:
        return none
    taken = np.zeros(n_nodes, dtype=bool)
    taken[s.pos] = True
    taken[s.waypoint[(s.waypoint >= 0) & ~lost]] = True
    taken[sim.closed_nodes()] = True  # a closed spot (faults) cannot be entered
    free = spots[~taken[spots]]
    to = np.full(robots.size, -1, dtype=np.int32)
    if free.size:
        cost = travel_steps(sim, free[None, :], s.pos[robots][:, None])
        rows, cols = solve_assignment(cost, overwrite=True)
        to[rows] = free[cols]
    keep = (to >= 0) | lost[robots]  # new spots, and lost spots dropped
    return robots[keep], to[keep]


class IdleParking:
    """``inner``, with idle robots sent to parking spots (module docstring)."""

    def __init__(self, inner: Any, after_s: float) -> None:
        if not 0 <= after_s < math.inf:  # (inf: ceil() of it fails at the first dispatch)
            raise ValueError(f"after_s must be a finite number ≥ 0, got {after_s}")
        self.inner, self.after_s = inner, float(after_s)
        self.name = inner.name

    def reset(self, seed: int | None) -> None:
        self.inner.reset(seed)

    def dispatch(self, sim: Simulation) -> None:
        self.inner.dispatch(sim)
        after = math.ceil(self.after_s / sim.config.physics.step_seconds)
        robots, spots = parking_moves(sim, after, parking_spots(sim.floor, sim.n_robots))
        if robots.size:
            sim.set_waypoints(robots, spots)
