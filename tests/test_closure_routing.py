"""Routing around scheduled closures: the distances the fleet reads treat the cells of active
scheduled closures as closed (left but not entered), are recomputed only when that set changes,
and ignore random closures."""

from __future__ import annotations

import networkx as nx
import numpy as np
import pytest
from test_distances import random_floor

import warehouse
from agents import RuleBasedNavigator
from hierarchy import make_dispatcher
from warehouse.config import FaultsConfig, FleetConfig, PhysicsConfig, SimConfig, TasksConfig
from warehouse.core import Simulation
from warehouse.core.closure_entries import resolve_closures
from warehouse.core.closures import closed_sets
from warehouse.fleet import Fleet
from warehouse.floor import (
    NO_WAY_OUT,
    UNREACHABLE,
    CompiledFloor,
    DistanceCache,
    NodeKind,
    compile_floor,
    graph_from_grid,
)

# ------------------------------------------------------------------ distances with closed nodes


def floor_digraph(floor: CompiledFloor) -> nx.DiGraph:
    g = nx.DiGraph()
    g.add_nodes_from(range(floor.n_nodes))
    for u in range(floor.n_nodes):
        for a in range(1, floor.n_actions):
            v = int(floor.nbr[u, a])
            if floor.mask[u, a] and v != u:
                g.add_edge(u, v)
    return g


def leave_steps(g: nx.DiGraph, closed: np.ndarray) -> np.ndarray:
    """Per node: 0 if open; if closed, the fewest moves to an open node along moves that start
    on closed nodes (``NO_WAY_OUT`` for none): ``DistanceCache.leave``, by networkx."""
    out = np.zeros(g.number_of_nodes(), dtype=np.int64)
    inner = nx.DiGraph()
    inner.add_nodes_from(g.nodes)
    inner.add_edges_from((u, v) for u, v in g.edges if closed[u])
    inner.add_edges_from((v, "out") for v in g.nodes if not closed[v])
    steps = nx.shortest_path_length(inner, target="out")
    for v in g.nodes:
        if closed[v]:
            out[v] = steps[v] - 1 if v in steps else NO_WAY_OUT
    return out


def cut_graph(g: nx.DiGraph, closed: np.ndarray, goal: int) -> nx.DiGraph:
    """``g`` without the moves into closed nodes (but the goal), except the outward moves of a
    robot inside (from a closed node onto a closed one with a smaller ``leave``)."""
    leave = leave_steps(g, closed)
    cut = g.copy()
    cut.remove_edges_from(
        [(u, v) for u, v in g.edges if closed[v] and v != goal and not leave[u] > leave[v]]
    )
    return cut


def expected_row(g: nx.DiGraph, closed: np.ndarray, goal: int) -> np.ndarray:
    """In-edges of the closed nodes (but the goal, and a robot inside moving outward) removed;
    nodes that reach the goal only through closed nodes get ``M + 1 + static`` (see
    ``warehouse.floor.distances``)."""
    cut = cut_graph(g, closed, goal)
    around = nx.shortest_path_length(cut, target=goal)
    static = nx.shortest_path_length(g, target=goal)
    far = max(around.values())
    row = np.full(g.number_of_nodes(), UNREACHABLE, dtype=np.int64)
    for u in g.nodes:
        if u in around:
            row[u] = around[u]
        elif u in static:
            row[u] = min(far + 1 + static[u], UNREACHABLE - 1)
    return row


@pytest.mark.parametrize("seed", range(12))
def test_rows_with_closed_nodes_equal_networkx_without_their_in_edges(seed: int) -> None:
    _, floor = random_floor(seed)
    g = floor_digraph(floor)
    rng = np.random.default_rng(100 + seed)
    cache = DistanceCache(floor)
    static = [cache.row(goal).copy() for goal in range(floor.n_nodes)]
    for share in (0.15, 0.4):
        closed = np.flatnonzero(rng.random(floor.n_nodes) < share)
        version = cache.version
        changed = cache.set_closed(closed)
        assert changed == (closed.size > 0) and (cache.version > version) == changed
        mask = np.zeros(floor.n_nodes, dtype=bool)
        mask[closed] = True
        assert np.array_equal(cache.leave, leave_steps(g, mask))
        # the cached rows were recomputed in place; rows computed afterwards follow suit
        fresh = DistanceCache(floor)
        fresh.set_closed(closed)
        for goal in range(floor.n_nodes):
            want = expected_row(g, mask, goal)
            assert np.array_equal(cache.row(goal), want), (seed, goal)
            assert np.array_equal(fresh.row(goal), want), (seed, goal)
        assert not cache.set_closed(closed)  # the same set again: nothing to do
    assert cache.set_closed(np.zeros(0, dtype=np.int64))
    for goal in range(floor.n_nodes):
        assert np.array_equal(cache.row(goal), static[goal])


# ------------------------------------------------------------------ a detour on a hand-built floor
# row 0: aisle; row 1: aisle at both ends, shelves between; row 2: aisle; row 3: station, pick
RING = np.full((4, 7), NodeKind.AISLE, np.int8)
RING[1, 1:6] = NodeKind.BLOCKED
RING[3, 1:6] = NodeKind.BLOCKED
RING[3, 0] = NodeKind.STATION
RING[3, 6] = NodeKind.PICK


def ring(closures: list[dict], robots: int = 1, collisions: str = "block", **faults) -> Simulation:
    cfg = SimConfig(
        fleet=FleetConfig(robots=robots),
        tasks=TasksConfig(arrival_rate=0.0),
        physics=PhysicsConfig(step_seconds=1.0, collisions=collisions),
        faults=FaultsConfig.model_validate({"closures": closures, **faults}),
    )
    sim = Simulation(compile_floor(graph_from_grid(RING)), cfg)
    sim.reset(seed=0)
    return sim


def place(sim: Simulation, cells: list[tuple[int, int]], goals: list[tuple[int, int]]) -> None:
    f = sim.floor
    sim.state.pos[:] = [f.cell_of[c] for c in cells]
    sim.state_changed()
    sim.set_waypoints(np.arange(len(goals)), np.array([f.cell_of[c] for c in goals]))


def drive(sim: Simulation, nav: RuleBasedNavigator, limit: int) -> int:
    """Steps until every robot has cleared its waypoint (fails past ``limit``)."""
    for k in range(1, limit + 1):
        actions, prefs = nav.act(sim, None, sim.action_mask())
        sim.step(actions, prefs)
        if (sim.state.waypoint < 0).all():
            return k
    raise AssertionError(f"waypoints not reached in {limit} steps (t={sim.t})")


def test_a_robot_takes_the_detour_while_an_aisle_cell_is_closed_and_the_short_path_after() -> None:
    sim = ring([{"cells": [[0, 3]], "start_s": 0, "end_s": 40}])
    nav = RuleBasedNavigator(seed=0)
    nav.reset(0)
    place(sim, [(0, 1)], [(0, 5)])
    # the short path (4 steps) crosses (0, 3): the detour runs west, down, along row 2 and up
    assert sim.target_distance()[0] == 12
    assert drive(sim, nav, 30) == 12
    assert sim.state.since_progress[0] == 0
    wait = np.zeros(1, dtype=np.int64)
    while sim.t < 40:
        sim.step(wait)
    place(sim, [tuple(sim.floor.pos[sim.state.pos[0]])], [(0, 1)])
    assert sim.target_distance()[0] == 4
    assert drive(sim, nav, 30) == 4
    assert sim.dist.rebuilds == 2  # closed at clock 0, reopened at 40: nothing else


def test_progress_starts_afresh_when_a_closure_lengthens_the_path() -> None:
    """Robots whose distance jumps at the event measure progress from where they stand: the
    detour's every step is progress (without the reset, best_dist would stay at the short
    path's value and the detour would count as stalling)."""
    sim = ring([{"cells": [[0, 4]], "start_s": 2, "end_s": 60}])
    nav = RuleBasedNavigator(seed=0)
    nav.reset(0)
    place(sim, [(0, 0)], [(0, 6)])
    worst = 0
    for _ in range(2):  # two steps along row 0 before the closure: (0, 2), 4 steps to go
        actions, prefs = nav.act(sim, None, sim.action_mask())
        sim.step(actions, prefs)
    # back west, down, along row 2 and up: 2 + 2 + 6 + 2 (the short path had 4 to go)
    assert sim.state.best_dist[0] == sim.target_distance()[0] == 12
    while sim.state.waypoint[0] >= 0 and sim.t < 30:
        actions, prefs = nav.act(sim, None, sim.action_mask())
        sim.step(actions, prefs)
        worst = max(worst, int(sim.state.since_progress[0]))
    assert sim.state.waypoint[0] < 0 and sim.t == 2 + 12
    assert worst == 0


def test_random_closures_do_not_change_distances() -> None:
    sim = ring([], closure_prob=0.5, closure_steps=20)
    nav = RuleBasedNavigator(seed=0)
    nav.reset(0)
    place(sim, [(0, 1)], [(0, 5)])
    fresh = DistanceCache(sim.floor)
    for _ in range(30):
        actions, prefs = nav.act(sim, None, sim.action_mask())
        sim.step(actions, prefs)
    assert sim.closed_nodes().size > 0
    assert sim.dist.rebuilds == 0 and not sim.dist.closed.any()
    goal = sim.floor.cell_of[0, 5]
    assert np.array_equal(sim.dist.row(goal), fresh.row(goal))


@pytest.mark.parametrize("collisions", ["block", "pibt", "pibt_swap"])
def test_unreachable_targets_wait_at_the_edge_and_go_once_reopened(collisions: str) -> None:
    """Closing column 3 in rows 0 and 2 cuts the ring in two: robots whose targets lie on the
    other side drive to the edge of the closure and wait (no crash, no collision, no closed
    cell entered), then reach their targets after it reopens."""
    end = 30
    sim = ring(
        [{"cells": [[0, 3], [2, 3]], "start_s": 0, "end_s": end}], robots=3, collisions=collisions
    )
    nav = RuleBasedNavigator(seed=0)
    nav.reset(0)
    place(sim, [(0, 0), (2, 1), (0, 6)], [(0, 6), (2, 5), (0, 0)])
    f = sim.floor
    closed = f.cell_of[[0, 2], [3, 3]]
    d = sim.target_distance()
    for r, side in ((0, f.pos[:, 1] > 3), (1, f.pos[:, 1] > 3), (2, f.pos[:, 1] < 3)):
        row = sim.dist.row(int(sim.state.target[r]))  # after every node of the target's side
        assert d[r] < UNREACHABLE and d[r] > row[side].max()
    while sim.t < end:
        actions, prefs = nav.act(sim, None, sim.action_mask())
        sim.step(actions, prefs)
        assert not np.isin(sim.state.pos, closed).any()
        assert (sim.state.waypoint >= 0).all()
    # each waits next to the closure, on its own side
    cols_now = f.pos[sim.state.pos, 1]
    assert cols_now[0] < 3 and cols_now[1] < 3 and cols_now[2] > 3
    drive(sim, nav, 40)
    assert sim.state.collisions.sum() == 0 and sim.incidents == 0


# ------------------------------------------------------------------ rebuilds only at events


def test_the_cache_is_rebuilt_only_at_events_on_small() -> None:
    a = {"area": {"from": [0, 3], "to": [3, 10]}, "start_s": 20, "end_s": 80}
    b = {"cells": [[6, 12], [6, 13]], "start_s": 50, "end_s": None}
    env = warehouse.make_env("small", **{"faults.closures": [a, b], "tasks.arrival_rate": 0.5})
    sim = env.sim
    dt = sim.config.physics.step_seconds
    events = closed_sets(resolve_closures(sim.floor, sim.config.faults, dt))
    times = [round(x / dt) for x in (20, 50, 80)]
    assert sorted(events) == times and events[times[2]].size < events[times[1]].size
    fleet = Fleet(sim, make_dispatcher("greedy"), RuleBasedNavigator())
    fleet.reset(0)
    seen = []
    while sim.t < times[2] + 20:
        before = sim.dist.rebuilds
        fleet.run(1)
        if sim.dist.rebuilds != before:
            seen.append(sim.t)
        now = [k for k in events if k <= sim.t]
        closed = events[max(now)] if now else []
        assert np.array_equal(np.flatnonzero(sim.dist.closed), closed)
    assert seen == times
    # a new episode starts without the closed set of the last one, and recomputes nothing else
    fleet.reset(1)
    assert not sim.dist.closed.any() and sim.dist.rebuilds == 4


def test_without_a_schedule_nothing_is_ever_rebuilt() -> None:
    env = warehouse.make_env("tiny", **{"faults.closure_prob": 0.2})
    fleet = Fleet(env.sim, make_dispatcher("greedy"), RuleBasedNavigator())
    fleet.reset(0)
    fleet.run(200)
    assert env.sim.closed_until.any()
    assert env.sim.dist.rebuilds == 0 and not env.sim.dist.closed.any()
