"""Audit of the dispatch layer around scheduled closures, fourth round: the random dispatcher
and pairs the closures cut off, and the PPO dispatcher's hub (waypoint) routes through closed or
cut-off hubs and transit nodes of long edges."""

from __future__ import annotations

import json

import numpy as np
from sim_helpers import place, wait
from test_closures_enclosed import pocket_floor

from hierarchy.dispatchers import RandomDispatcher
from hierarchy.features import FeatureConfig, decision_features, floor_hubs
from warehouse.config import FaultsConfig, FleetConfig, SimConfig, TasksConfig
from warehouse.core import Simulation
from warehouse.floor import NodeKind, compile_floor, graph_from_grid
from warehouse.floor.formats.graphio import parse_node_link_json
from warehouse.floor.transit import split_long_edges

# ------------------------------------------------------------------ the random dispatcher


def stuck_robot() -> Simulation:
    """(As tests/test_audit_dispatch3.py.) The pocket floor with (1, 3), (1, 5) and (2, 3)
    closed from 1 s to 30 s and robot 0 on (2, 3): it reaches the corridor's pick (0, 6) only
    through closed cells, so only once they reopen; it is not shut in (it stands on a closed
    cell), so it is idle. Robot 1 is busy with order 0; order 1, at (0, 6), is open."""
    cells = [[1, 3], [1, 5], [2, 3]]
    sim = pocket_floor([{"cells": cells, "start_s": 1, "end_s": 30}], robots=2)
    f = sim.floor
    place(sim, (2, 3), (0, 1))
    sim.orders.add(np.array([f.cell_of[0, 4]]), np.array([f.cell_of[0, 0]]), step=0)
    sim.assign(np.array([1]), np.array([0]))
    sim.orders.add(np.array([f.cell_of[0, 6]]), np.array([f.cell_of[0, 0]]), step=0)
    wait(sim)
    pick = f.cell_of[0, 6]
    assert sim.idle_robots().tolist() == [0] and sim.dispatchable_orders().tolist() == [1]
    assert not sim.dist.reaches(np.array([pick]), sim.state.pos[:1])[0]
    return sim


def test_random_gives_no_order_to_a_robot_the_closures_cut_off_from_it() -> None:
    for seed in range(8):
        sim = stuck_robot()
        random = RandomDispatcher()
        random.reset(seed)
        random.dispatch(sim)
        assert sim.state.order[0] == -1 and sim.orders.robot[1] == -1, seed


def test_random_pairs_at_random_among_the_pairs_that_can_be_served() -> None:
    """Robot 1 hands its order back: both robots idle, both orders open, robot 0 cut off from
    both picks. Whatever the seed, robot 1 gets one of the two orders and robot 0 none; over
    the seeds robot 1 gets each of them (still at random)."""
    got = set()
    for seed in range(16):
        sim = stuck_robot()
        sim.release_orders(np.array([1]))
        assert sim.idle_robots().tolist() == [0, 1] and sim.dispatchable_orders().size == 2
        random = RandomDispatcher()
        random.reset(seed)
        random.dispatch(sim)
        assert sim.state.order[0] == -1 and sim.state.order[1] in (0, 1), seed
        got.add(int(sim.state.order[1]))
    assert got == {0, 1}


# ------------------------------------------------------------------ PPO hub routes


def ring(closed: list[list[int]]) -> Simulation:
    """A ring of aisle cells (rows 0 and 4, columns 0 and 8 of a 5 × 9 grid) with a dead end
    (1, 4), (2, 4) below (0, 4), the pick (0, 5) and the station (4, 0) on the ring; ``closed``
    cells closed from 1 s to 100 s. One robot on (0, 3), one order at (0, 5); one step waited,
    so the closure is in force."""
    grid = np.full((5, 9), NodeKind.BLOCKED, np.int8)
    grid[0, :] = grid[4, :] = NodeKind.AISLE
    grid[:, 0] = grid[:, 8] = NodeKind.AISLE
    grid[1, 4] = grid[2, 4] = NodeKind.AISLE
    grid[0, 5], grid[4, 0] = NodeKind.PICK, NodeKind.STATION
    cfg = SimConfig(
        fleet=FleetConfig(robots=1),
        tasks=TasksConfig(arrival_rate=0.0),
        faults=FaultsConfig.model_validate(
            {"closures": [{"cells": closed, "start_s": 1, "end_s": 100}]}
        ),
    )
    sim = Simulation(compile_floor(graph_from_grid(grid)), cfg)
    sim.reset(seed=0)
    c = sim.floor.cell_of
    place(sim, (0, 3))
    sim.orders.add(np.array([c[0, 5]]), np.array([c[4, 0]]), step=0)
    wait(sim)
    assert sim.dist.closed_any and sim.dispatchable_orders().tolist() == [0]
    return sim


ONE_HUB = FeatureConfig(candidates=1, routes=1, hub_grid=1)


def test_the_ring_has_its_hub_at_the_dead_end() -> None:
    sim = ring([[4, 8]])
    assert floor_hubs(sim.floor, 1).tolist() == [sim.floor.cell_of[2, 4]]


def test_a_hub_route_before_the_closure_is_offered() -> None:
    """With a closure far off the detour through the dead end (3 steps there, 3 to the pick; 2
    direct) is within bounds: the hub slot is open (the scene does route through hubs)."""
    sim = ring([[4, 8]])
    d = decision_features(sim, np.array([0]), ONE_HUB)
    assert d.mask[0].tolist() == [True, True, True]
    assert d.waypoints is not None and d.waypoints[0, 1] == sim.floor.cell_of[2, 4]


def test_no_hub_route_through_a_closed_hub() -> None:
    """The hub (2, 4) itself closed (its distances stay finite, as a closed goal's do): a robot
    sent there would wait beside it until it reopens."""
    sim = ring([[2, 4]])
    d = decision_features(sim, np.array([0]), ONE_HUB)
    assert d.mask[0].tolist() == [True, False, True]
    assert d.waypoints is not None and d.waypoints[0].tolist() == [-1, -1]


def test_no_hub_route_through_a_hub_the_closures_cut_off() -> None:
    """(0, 4) closed: the pick is 22 steps around the ring, the hub (2, 4) is reached only
    through the closed cell (finite distances, ``M + 1 + s``, that pass the detour bound), so
    no route leads through it now."""
    sim = ring([[0, 4]])
    c = sim.floor.cell_of
    hub = np.array([c[2, 4]])
    assert not sim.dist.reaches(hub, sim.state.pos[:1])[0]
    d = decision_features(sim, np.array([0]), ONE_HUB)
    assert d.dist[0, 0] == 22
    assert d.mask[0].tolist() == [True, False, True]
    assert d.waypoints is not None and d.waypoints[0].tolist() == [-1, -1]


def test_hubs_are_never_transit_nodes_of_a_long_edge() -> None:
    """A waypoint graph: a square of 1 m edges around a long 8 m edge across its middle, split
    at 1 m per step into transit nodes, one of them at the floor's centre. The hubs are the
    floor's own aisle nodes, as on the unsplit floor (as parking spots and chargers are)."""
    nodes = [
        {"id": "a", "pos": [0, 0], "kind": "aisle"},
        {"id": "b", "pos": [0, 4], "kind": "aisle"},
        {"id": "c", "pos": [4, 4], "kind": "aisle"},
        {"id": "d", "pos": [4, 0], "kind": "aisle"},
        {"id": "s", "pos": [4, 2], "kind": "station"},
        {"id": "p", "pos": [0, 2], "kind": "pick"},
    ]
    edges = [("a", "p", 2.0), ("p", "b", 2.0), ("b", "c", 4.0), ("c", "s", 2.0),
             ("s", "d", 2.0), ("d", "a", 4.0), ("p", "s", 8.0)]  # fmt: skip
    links = [{"source": u, "target": v, "length": x} for u, v, x in edges]
    text = json.dumps({"graph": {"name": "sq"}, "nodes": nodes, "edges": links})
    whole = compile_floor(parse_node_link_json(text))
    floor = compile_floor(split_long_edges(parse_node_link_json(text), 1.0, 1.0))
    assert floor.transit.any()
    hubs = floor_hubs(floor, 1)
    assert not floor.transit[hubs].any()
    names = [floor.nodes[v] for v in hubs.tolist()]
    assert names == [whole.nodes[v] for v in floor_hubs(whole, 1).tolist()]
