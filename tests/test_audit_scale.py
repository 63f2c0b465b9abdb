"""Audit (h4): big fleets. A floor of thousands of robots has more pick cells, parking spots or
open orders than the distance cache holds rows (512 MiB): the dispatch layer asks for them a
cache's worth at a time, with the same answers as one call."""

from __future__ import annotations

import numpy as np
import pytest
from sim_helpers import parking_hall, place

from hierarchy.dispatchers import GreedyDispatcher
from hierarchy.hungarian import HungarianDispatcher
from hierarchy.matching import by_goal_parts, travel_steps
from hierarchy.parking import parking_moves
from warehouse.core import Simulation
from warehouse.floor import (
    DistanceCache,
    NodeKind,
    WarehouseLayout,
    compile_floor,
    generate_warehouse,
)


def small_cache(sim: Simulation) -> Simulation:
    """``sim`` with a distance cache of 16 rows (the fewest), as a big floor's is to its goals."""
    sim.dist = DistanceCache(sim.floor, max_bytes=1)
    assert sim.dist.capacity == 16
    return sim


@pytest.mark.parametrize("transpose", [False, True])
def test_by_goal_parts_equals_one_lookup(transpose: bool) -> None:
    floor = compile_floor(generate_warehouse(WarehouseLayout(shelf_rows=2, shelf_cols=2)))
    full, small = DistanceCache(floor), DistanceCache(floor, max_bytes=1)
    goals = np.arange(0, floor.n_nodes, 3)[None, :]  # far more than 16 goals
    nodes = np.arange(0, floor.n_nodes, 7)[:, None]
    if transpose:
        goals, nodes = goals.T, nodes.T
    with pytest.raises(MemoryError):  # one call cannot hold them
        small.lookup(goals, nodes)
    want = full.lookup(goals, nodes)
    got = by_goal_parts(small.lookup, small.capacity, goals, nodes)
    assert got.dtype == want.dtype and np.array_equal(got, want)
    reach = by_goal_parts(small.reaches, small.capacity, goals, nodes)
    assert np.array_equal(reach, full.reaches(goals, nodes))


def test_parking_with_more_spots_than_cache_rows() -> None:
    """17 free spots, a cache of 16 rows: was a MemoryError traceback from ``warehouse run``."""
    spots = tuple((0, c) for c in range(8)) + tuple((2, c) for c in range(9))
    sims = [parking_hall(spots, robots=3) for _ in range(2)]
    for sim in sims:
        place(sim, (1, 2), (1, 4), (1, 6))
    small_cache(sims[1])
    spot_nodes = np.flatnonzero(sims[0].floor.kind == NodeKind.PARKING).astype(np.int32)
    sims[1].dist.lookup(np.arange(16)[None, :], np.zeros((1, 1), np.int64))  # rows all taken
    want = parking_moves(sims[0], 0, spot_nodes)
    got = parking_moves(sims[1], 0, spot_nodes)
    assert want[0].size == 3
    assert all(np.array_equal(a, b) for a, b in zip(want, got, strict=True))


def busy_floor(cache_rows_small: bool) -> Simulation:
    """A small generated floor with 40 open orders at distinct pick cells and 6 idle robots."""
    from warehouse.config import FleetConfig, SimConfig, TasksConfig

    floor = compile_floor(generate_warehouse(WarehouseLayout(shelf_rows=2, shelf_cols=2)))
    cfg = SimConfig(fleet=FleetConfig(robots=6), tasks=TasksConfig(arrival_rate=0.0))
    sim = Simulation(floor, cfg)
    sim.reset(seed=0)
    picks = np.flatnonzero(floor.kind == NodeKind.PICK)[:40]
    sim.orders.add(picks.astype(np.int32), np.full(picks.size, floor.stations[0], np.int32), sim.t)
    return small_cache(sim) if cache_rows_small else sim


@pytest.mark.parametrize("make", [GreedyDispatcher, HungarianDispatcher])
def test_dispatch_with_more_picks_than_cache_rows(make) -> None:  # type: ignore[no-untyped-def]
    """The order pool (4 × idle robots = 24 orders here) has more picks than the cache rows."""
    done = []
    for small in (False, True):
        sim = busy_floor(small)
        make().dispatch(sim)
        done.append(sim.state.order.copy())
    assert (done[0] >= 0).sum() == 6
    assert np.array_equal(done[0], done[1])


def test_travel_steps_with_more_goals_than_cache_rows() -> None:
    sims = [busy_floor(False), busy_floor(True)]
    picks = sims[0].orders.pick[sims[0].open_orders()]
    want = travel_steps(sims[0], picks[None, :], sims[0].state.pos[:, None])
    got = travel_steps(sims[1], picks[None, :], sims[1].state.pos[:, None])
    assert picks.size == 40 and np.array_equal(want, got)


def test_a_fleet_with_more_targets_than_512_mib_of_rows_runs(monkeypatch) -> None:
    """Every robot's target needs a distance row at once (``Simulation.target_slots``): the
    simulation's cache holds at least one per robot, beyond its byte budget if it must. With a
    budget of 16 rows, 40 robots bound for distinct goals were a MemoryError traceback."""
    import functools

    import warehouse
    from agents import RuleBasedNavigator
    from warehouse.core import simulation

    def run(budget: int | None) -> tuple[np.ndarray, int]:
        cache = (
            DistanceCache if budget is None else functools.partial(DistanceCache, max_bytes=budget)
        )
        monkeypatch.setattr(simulation, "DistanceCache", cache)
        env = warehouse.make_env("small", robots=40, tasks="goal_visit")
        env.reset(seed=1)
        sim = env.sim
        assert np.unique(sim.state.task_goal).size > 16  # more distinct targets than 16 rows
        nav = RuleBasedNavigator()
        nav.reset(0)
        for _ in range(60):
            sim.step(*nav.act(sim, None, sim.action_mask()))
        assert sim.state.deliveries.sum() > 0  # goals reached, new ones drawn
        return sim.state.pos.copy(), sim.dist.capacity

    pos_small, capacity = run(1)
    pos_full, _ = run(None)
    assert capacity == 40 + 64
    assert np.array_equal(pos_small, pos_full)
