"""Dispatcher features: candidate sets, masks, feature values and conflict resolution."""

from __future__ import annotations

import numpy as np
import pytest

from hierarchy.features import (
    N_CAND,
    N_GLOBAL,
    FeatureConfig,
    congestion_map,
    decision_features,
    resolve_conflicts,
)
from scenarios import apply_overrides, build_floor, load_scenario
from warehouse.core import Simulation
from warehouse.floor import UNREACHABLE


def _sim(robots: int = 6, arrival: float = 0.0) -> Simulation:
    sc, src = load_scenario("tiny")
    sc = apply_overrides(sc, {"arrival_rate": arrival, "robots": robots}, src)
    sim = Simulation(build_floor(sc, src), sc.sim_config())
    sim.reset(1)
    return sim


def test_fewer_orders_than_k_are_masked_and_zero() -> None:
    sim = _sim()
    f = sim.floor
    sim.orders.add(f.picks[[0, 7, 3]], f.stations[[0, 0, 1]], 0)
    dec = decision_features(sim, sim.idle_robots(), FeatureConfig(candidates=5))
    assert dec.cand.shape == (6, 5, N_CAND) and dec.glob.shape == (N_GLOBAL,)
    assert dec.mask.shape == (6, 6)
    assert dec.mask[:, :3].all() and not dec.mask[:, 3:5].any() and dec.mask[:, 5].all()
    assert (dec.orders[:, 3:] == -1).all()
    assert (dec.cand[:, 3:] == 0).all() and (dec.cand[:, :3, 11] == 1).all()
    assert np.isfinite(dec.cand).all() and np.isfinite(dec.glob).all()
    # Every robot sees the same three orders, nearest first.
    assert (np.sort(dec.orders[:, :3], axis=1) == [0, 1, 2]).all()
    assert (np.diff(dec.dist[:, :3], axis=1) >= 0).all()


def test_candidate_values_match_the_floor() -> None:
    sim = _sim()
    f = sim.floor
    sim.t = 40
    sim.orders.add(f.picks[[0, 9]], f.stations[[0, 0]], 10)
    robots = sim.idle_robots()
    dec = decision_features(sim, robots, FeatureConfig(candidates=2))
    h, w = f.shape
    for r in range(robots.size):
        for k in range(2):
            o = dec.orders[r, k]
            d = sim.dist.lookup(np.array([sim.orders.pick[o]]), sim.state.pos[robots[r : r + 1]])
            assert dec.cand[r, k, 0] == pytest.approx(float(d[0]) / (h + w))
            assert dec.cand[r, k, 2] == pytest.approx(np.log1p(30) / 6)
    # Exactly one deciding robot is flagged nearest for each order.
    for o in (0, 1):
        flagged = dec.cand[..., 5][dec.orders == o]
        assert flagged.sum() == 1
    nearest = dec.cand[..., 6][dec.cand[..., 5] == 1]
    assert (nearest == 0).all()


def test_congestion_map_counts_every_robot() -> None:
    sim = _sim(robots=6)
    assert congestion_map(sim).sum() == 6


def test_resolve_conflicts_nearer_robot_wins() -> None:
    sim = _sim(robots=3)
    f = sim.floor
    sim.orders.add(f.picks[[0, 1]], f.stations[[0, 0]], 0)
    dec = decision_features(sim, sim.idle_robots(), FeatureConfig(candidates=2))
    k = 2
    # Everyone wants order 0.
    choice = np.argmax(dec.orders == 0, axis=1)
    robots, orders = resolve_conflicts(dec, choice)
    assert orders.tolist() == [0]
    d0 = np.where(dec.orders == 0, dec.dist, np.inf).min(axis=1)
    winners = np.flatnonzero(d0 == d0.min())
    assert robots[0] == dec.robots[winners[0]]
    robots, orders = resolve_conflicts(dec, np.full(3, k))  # all WAIT
    assert robots.size == 0 and orders.size == 0
    sim.assign(robots, orders)  # an empty assignment is fine


def test_unreachable_orders_are_never_candidates() -> None:
    sim = _sim(robots=2)
    f = sim.floor
    sim.orders.add(f.picks[[0, 1]], f.stations[[0, 0]], 0)
    real = sim.dist.lookup
    pick0 = int(f.picks[0])

    def fake(goals, nodes):  # type: ignore[no-untyped-def]
        out = real(goals, nodes).copy()
        out[np.broadcast_to(np.asarray(goals) == pick0, out.shape)] = UNREACHABLE
        return out

    sim.dist.lookup = fake  # type: ignore[method-assign]
    dec = decision_features(sim, sim.idle_robots(), FeatureConfig(candidates=2))
    assert (dec.orders[:, 0] == 1).all() and not dec.mask[:, 1].any()


# ------------------------------------------------------------------ hub routes (waypoints)
def _small_sim() -> Simulation:
    sc, src = load_scenario("small")
    sim = Simulation(build_floor(sc, src), sc.sim_config())
    sim.reset(0)
    for _ in range(5):
        sim.step(np.zeros(sim.n_robots, np.int64))
    f = sim.floor
    idx = np.arange(6) * (f.picks.size // 6)
    sim.orders.add(f.picks[idx], f.stations[idx % f.stations.size], sim.t)
    return sim


def test_hub_routes_expand_each_order_into_direct_and_hub_slots() -> None:
    from hierarchy.features import N_ROUTE, floor_hubs
    from warehouse.floor import NodeKind

    sim = _small_sim()
    cfg = FeatureConfig(candidates=4, routes=2)
    dec = decision_features(sim, sim.idle_robots(), cfg)
    base = decision_features(sim, sim.idle_robots(), FeatureConfig(candidates=4))
    r = dec.robots.size
    assert dec.cand.shape == (r, 12, N_CAND + N_ROUTE) and dec.mask.shape == (r, 13)
    group = dec.orders.reshape(r, 4, 3)
    # Slot 0 of every group is the direct route of the same order as without routes.
    np.testing.assert_array_equal(group[:, :, 0], base.orders)
    np.testing.assert_array_equal(dec.cand.reshape(r, 4, 3, -1)[:, :, 0, :N_CAND], base.cand)
    wp = dec.waypoints.reshape(r, 4, 3)
    assert (wp[:, :, 0] == -1).all()
    hubs = floor_hubs(sim.floor, cfg.hub_grid)
    via = wp[:, :, 1:] >= 0
    assert via.any() and np.isin(wp[:, :, 1:][via], hubs).all()
    assert (sim.floor.kind[wp[:, :, 1:][via]] == NodeKind.AISLE).all()
    # A hub slot is open only when its order is, and carries that order.
    mask = dec.mask[:, :12].reshape(r, 4, 3)
    assert not (mask[:, :, 1:] & ~mask[:, :, :1]).any()
    assert (group[:, :, 1:][via] == np.repeat(group[:, :, :1], 2, axis=2)[via]).all()
    # Its detour feature is the extra steps through the hub.
    h, w = sim.floor.shape
    ri, ki, mi = np.argwhere(via)[0]
    robot, hub = sim.state.pos[dec.robots[ri]], wp[ri, ki, 1 + mi]
    pick = sim.orders.pick[group[ri, ki, 0]]
    steps = int(sim.dist.lookup(np.array([hub]), np.array([robot]))[0])
    steps += int(sim.dist.lookup(np.array([pick]), np.array([hub]))[0])
    direct = dec.dist[ri, ki * 3]
    feat = dec.cand[ri, ki * 3 + 1 + mi]
    assert feat[N_CAND] == 1 and feat[N_CAND + 1] == pytest.approx((steps - direct) / (h + w))


def test_apply_decision_routes_hub_choices_and_assigns_direct_ones() -> None:
    from hierarchy.features import apply_decision

    sim = _small_sim()
    dec = decision_features(sim, sim.idle_robots(), FeatureConfig(candidates=4, routes=2))
    rows = np.flatnonzero(dec.waypoints[:, 1] >= 0)
    assert rows.size >= 1
    # Robot rows[0] takes its first order through its first hub; every other robot waits.
    choice = np.full(dec.robots.size, dec.orders.shape[1])
    choice[rows[0]] = 1
    robots, orders = apply_decision(sim, dec, choice)
    assert robots.tolist() == [dec.robots[rows[0]]] and orders.tolist() == [dec.orders[rows[0], 1]]
    assert sim.state.waypoint[robots[0]] == dec.waypoints[rows[0], 1]
    assert sim.state.order[robots[0]] == orders[0]
    # A direct choice assigns without a waypoint.
    dec2 = decision_features(sim, sim.idle_robots(), FeatureConfig(candidates=4, routes=2))
    choice = np.full(dec2.robots.size, dec2.orders.shape[1])
    choice[0] = 0
    robots, _ = apply_decision(sim, dec2, choice)
    assert robots.size == 1 and sim.state.waypoint[robots[0]] == -1
