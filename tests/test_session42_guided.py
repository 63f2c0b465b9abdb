"""The ``guided`` navigator's path pool (session 42): when the pool may lack room,
``plan_paths`` stops before it touches the next robot (no search or rejoin done, none done
twice), and a pool that grows many times gives the same run, bit for bit, as a large one."""

from __future__ import annotations

import numpy as np
import pytest
from test_guided import TWO_AISLES, expected_flow, hand_sim, plan, room_fleet, send

from agents.guided import GuidedNavigator
from agents.guided_paths import NEED_TARGET, plan_paths
from warehouse.core import Simulation


def call_plan(nav: GuidedNavigator, sim: Simulation, order: np.ndarray, first: int) -> tuple:
    """``plan_paths`` on the navigator's arrays (as :meth:`GuidedNavigator.act` calls it):
    where it stopped, and its counts (rejoined, searched, unreachable)."""
    _, slot = sim.target_slots()
    f, dist = sim.floor, sim.dist
    counts = np.zeros(3, dtype=np.int64)
    stop = plan_paths(
        order, first, nav._need, sim.state.pos, slot, dist.table, dist.far, nav.g_start,
        nav.g_len, nav.g_k, nav.g_from, nav.pool_nodes, nav.pool_acts, nav.pool_used,
        nav.g_target, nav.g_fail, nav.flow, nav.vflow, f.nbr, np.ascontiguousarray(dist.mask),
        dist.closed, nav._succ, nav._rev, nav.vertex_weight, nav.contraflow_weight,
        nav.suboptimality, nav._scratch, nav._out_nodes, nav._out_acts, counts,
    )  # fmt: skip
    return stop, counts.tolist()


def test_a_full_pool_stops_before_the_robot_and_its_search_runs_once() -> None:
    sim = hand_sim(TWO_AISLES, 2)
    send(sim, [(1, 0), (1, 6)], [(1, 6), (1, 0)])
    nav = GuidedNavigator()
    plan(nav, sim)
    path, flow, vflow = nav.path(0), nav.flow.copy(), nav.vflow.copy()
    assert path.size > 2  # robot 0 has a guide path
    # robot 0 is to search a new one, and the pool has one free entry: no path fits
    nav._need[:] = 0
    nav._need[0] = NEED_TARGET
    nav.pool_used[0] = nav.pool_nodes.size - 1
    order = np.array([0])
    stop, counts = call_plan(nav, sim, order, 0)
    # it stopped before robot 0: nothing searched, its old path and its flow still there
    # (the first version searched, took the old path's flow out, found no room for the new
    # path and searched again after the pool grew)
    assert stop == 0 and counts == [0, 0, 0]
    assert np.array_equal(nav.path(0), path)
    assert np.array_equal(nav.flow, flow) and np.array_equal(nav.vflow, vflow)
    # the caller grows the pool and calls again: one search, the same path, flows add up
    nav._grow_pool(sim.floor.n_nodes)
    stop, counts = call_plan(nav, sim, order, 0)
    assert stop == 1 and counts == [0, 1, 0]
    assert np.array_equal(nav.path(0), path)
    assert np.array_equal(nav.flow, expected_flow(nav, sim))


def test_a_pool_that_grows_often_gives_the_same_run(monkeypatch: pytest.MonkeyPatch) -> None:
    def run(nav: GuidedNavigator) -> tuple:
        fleet, sim = room_fleet(nav, 20, "pibt")
        for _ in range(80):
            fleet.step()
        paths = [nav.path(i).tolist() for i in range(20)]
        return paths, sim.state.pos.tolist(), int(sim.state.deliveries.sum()), dict(nav.stats)

    want = run(GuidedNavigator())
    grows = [0]
    grow = GuidedNavigator._grow_pool

    def counted(self: GuidedNavigator, extra: int) -> None:
        grows[0] += 1
        grow(self, extra)

    monkeypatch.setattr(GuidedNavigator, "_grow_pool", counted)
    monkeypatch.setattr(GuidedNavigator, "POOL_PER_ROBOT", 1)
    monkeypatch.setattr(GuidedNavigator, "POOL_MIN", 1)
    got = run(GuidedNavigator())
    assert grows[0] >= 5  # the small pool really grew, again and again
    assert want[2] > 0 and want[3]["searches"] > 20
    assert got == want  # paths, positions, deliveries and search counts
