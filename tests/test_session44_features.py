"""The dispatcher's decision features through their compiled slot pass (session 44, h4) are bit
for bit the plain numpy features they replaced: every array of the decision, on real fleets
(idle robots and whole fleets, backlogs, ties, closed cells, hub routes, anticipation)."""

from __future__ import annotations

import numpy as np
import pytest

from agents import make_navigator
from hierarchy.anticipation import order_pool
from hierarchy.dispatchers import GreedyDispatcher
from hierarchy.features import (
    N_CAND,
    Decision,
    FeatureConfig,
    _box_sum,
    _count_targets,
    _hub_routes,
    _integral,
    _near_counts,
    decision_features,
    global_features,
)
from hierarchy.matching import travel_steps
from scenarios import apply_overrides, build_floor, load_scenario
from warehouse.core import Simulation
from warehouse.core.closures import drop_steps
from warehouse.fleet import Fleet
from warehouse.floor import UNREACHABLE


def _old_integral(sim: Simulation) -> np.ndarray:
    """The summed-area table as numpy built it (``np.add.at``, two ``cumsum``)."""
    h, w = sim.floor.shape
    occ = np.zeros((h, w), dtype=np.int64)
    rc = sim.floor.pos[sim.state.pos]
    np.add.at(occ, (rc[:, 0], rc[:, 1]), 1)
    ii = np.zeros((h + 1, w + 1), dtype=np.int64)
    ii[1:, 1:] = occ.cumsum(0).cumsum(1)
    return ii


def _reference(  # type: ignore[no-untyped-def]
    sim: Simulation, robots: np.ndarray, cfg: FeatureConfig, anticipate: bool
) -> Decision:
    """The decision features as the plain numpy code of HEAD before session 44 computed them
    (full stable argsort for the candidates, ``np.min`` / ``np.argmin`` for the nearest robot,
    whole-array passes for every feature)."""
    s, f, ob = sim.state, sim.floor, sim.orders
    k = cfg.candidates
    robots = np.asarray(robots, dtype=np.int32)
    r = robots.size
    glob = global_features(sim)
    orders = np.zeros(0, np.int32)
    if r and sim.dispatchable_orders().size:
        orders = order_pool(sim, robots, max(cfg.lookahead * r, k), anticipate=anticipate)
    if orders.size == 0:
        n = cfg.slots
        mask = np.zeros((r, n + 1), dtype=bool)
        mask[:, n] = True
        return Decision(
            robots=robots,
            orders=np.full((r, n), -1, np.int32),
            mask=mask,
            cand=np.zeros((r, n, cfg.n_cand), np.float32),
            glob=glob,
            dist=np.full((r, n), np.inf),
            waypoints=np.full((r, n), -1, np.int32) if cfg.routes else None,
        )
    picks = ob.pick[orders]
    d = travel_steps(sim, picks[None, :], s.pos[robots][:, None])  # (R, M), row-major
    m = orders.size
    top = np.argsort(d + np.arange(m)[None, :] * 1e-6, axis=1, kind="stable")[:, :k]
    top = np.where(np.isfinite(np.take_along_axis(d, top, axis=1)), top, -1)
    if top.shape[1] < k:
        top = np.pad(top, ((0, 0), (0, k - top.shape[1])), constant_values=-1)
    h, w = f.shape
    scale = float(h + w)
    valid = top >= 0
    col = np.where(valid, top, 0)
    cand_orders = np.where(valid, orders[col], -1).astype(np.int32)
    stations = ob.station[orders]
    my_d = np.take_along_axis(d, col, axis=1)
    best_d = d.min(axis=0)
    nearest_robot = np.argmin(d, axis=0)
    drop = drop_steps(sim, picks, stations)
    drop[drop >= UNREACHABLE] = 4 * scale
    age = (sim.t - ob.arrival[orders]).astype(np.float64)
    queues = sim.station_queues()
    st_idx = np.searchsorted(f.stations, stations)
    per_station = max(1.0, sim.n_robots / max(1, f.stations.size))
    targeting = np.bincount(s.target[s.target >= 0], minlength=f.n_nodes)
    ii = _old_integral(sim)
    prc = f.pos[picks]
    near_pick = _box_sum(ii, prc[:, 0] - 2, prc[:, 1] - 2, prc[:, 0] + 2, prc[:, 1] + 2)
    rrc = f.pos[s.pos[robots]]
    pr, pc = prc[col, 0], prc[col, 1]
    r0, r1 = np.minimum(rrc[:, None, 0], pr), np.maximum(rrc[:, None, 0], pr)
    c0, c1 = np.minimum(rrc[:, None, 1], pc), np.maximum(rrc[:, None, 1], pc)
    route = _box_sum(ii, r0, c0, r1, c1) / ((r1 - r0 + 1) * (c1 - c0 + 1))
    finite_my = np.where(np.isfinite(my_d), my_d, 4 * scale)
    per_order = np.stack(
        [
            drop / scale,
            np.log1p(age) / 6.0,
            np.arange(m) / max(m, 1),
            np.minimum(targeting[picks], 3) / 3.0,
            near_pick / 5.0,
        ],
        axis=1,
    )[col]
    cand = np.zeros((r, k, N_CAND), dtype=np.float32)
    cand[..., 0] = finite_my / scale
    cand[..., 1:4] = per_order[..., 0:3]
    cand[..., 4] = np.arange(k)[None, :] / k
    cand[..., 5] = nearest_robot[col] == np.arange(r)[:, None]
    cand[..., 6] = (finite_my - best_d[col]) / scale
    cand[..., 7] = queues[st_idx][col] / per_station
    cand[..., 8:10] = per_order[..., 3:5]
    cand[..., 10] = route * 4.0
    cand[..., 11] = 1.0
    cand[~valid] = 0.0
    dist = np.where(valid, my_d, np.inf)
    waypoints = None
    if cfg.routes:
        cand, valid, cand_orders, dist, waypoints = _hub_routes(
            sim, s.pos[robots], rrc, pr, pc, ii, cfg, cand, valid, cand_orders, dist,
            picks[col], scale,
        )  # fmt: skip
    mask = np.concatenate([valid, np.ones((r, 1), dtype=bool)], axis=1)
    return Decision(robots, cand_orders, mask, cand, glob, dist, waypoints)


def _same(got: Decision, want: Decision) -> None:
    """Every array equal in dtype, shape and bytes (NaN-free: ``inf`` compares by bytes too)."""
    for name in ("robots", "orders", "mask", "cand", "glob", "dist", "waypoints"):
        a, b = getattr(got, name), getattr(want, name)
        if b is None:
            assert a is None, name
            continue
        assert a.dtype == b.dtype and a.shape == b.shape, name
        assert np.ascontiguousarray(a).tobytes() == np.ascontiguousarray(b).tobytes(), name


def _fleet(target: str, robots: int, arrival: float, seed: int) -> Fleet:
    sc, src = load_scenario(target)
    sc = apply_overrides(sc, {"arrival_rate": arrival, "robots": robots}, src)
    fleet = Fleet(
        Simulation(build_floor(sc, src), sc.sim_config()),
        GreedyDispatcher(),
        make_navigator("rule_based"),
    )
    fleet.reset(seed)
    return fleet


CONFIGS = [
    FeatureConfig(),
    FeatureConfig(candidates=3, lookahead=1),
    FeatureConfig(candidates=30, lookahead=2),
    FeatureConfig(candidates=4, routes=2, hub_grid=3),
]


@pytest.mark.parametrize(
    ("target", "robots", "arrival", "seed", "closed"),
    [
        ("tiny", 6, 0.5, 0, False),
        ("small", 40, 1.0, 1, False),
        ("small", 60, 3.0, 2, False),  # a backlog: more orders than candidates
        ("small", 40, 2.0, 3, True),  # closed cells: inf pairs, masked slots, cut hub legs
    ],
)
def test_decision_features_are_the_numpy_features_bit_for_bit(
    target: str, robots: int, arrival: float, seed: int, closed: bool
) -> None:
    """Along a real run (greedy dispatcher, rule-based navigator) the features of the idle robots
    and of the whole fleet, with and without anticipation, under four configurations (hub
    routes included), equal the numpy reference in every byte."""
    fleet = _fleet(target, robots, arrival, seed)
    sim = fleet.sim
    rng = np.random.default_rng(seed)
    compared = masked = ties = 0
    for step in range(40):
        if closed and step % 10 == 5:  # a new random set of closed cells every 10 steps
            sim.dist.set_closed(rng.choice(sim.floor.n_nodes, sim.floor.n_nodes // 8, False))
        every = np.arange(sim.n_robots, dtype=np.int32)
        for who in (sim.idle_robots(), every):
            for cfg in CONFIGS:
                for anticipate in (False, True):
                    got = decision_features(sim, who, cfg, anticipate=anticipate)
                    _same(got, _reference(sim, who, cfg, anticipate))
                    compared += 1
                    masked += int((~got.mask[:, :-1]).sum())
                    slot = got.cand[..., 11] == 1
                    ties += int((slot & (got.cand[..., 6] == 0) & (got.cand[..., 5] == 0)).sum())
        fleet.step()
    assert compared == 40 * 2 * len(CONFIGS) * 2
    assert masked > 0  # masked slots were compared
    if robots >= 40:
        assert ties > 0  # robots as near as the nearest one, not flagged: argmin's ties


def test_the_compiled_helpers_are_numpys() -> None:
    """The summed-area table, the target counts and the box counts around cells (some off the
    floor: clipped) on random fleets, against numpy."""
    rng = np.random.default_rng(5)
    sim = _fleet("small", 50, 1.0, 0).sim
    for _ in range(20):
        sim.state.pos[:] = rng.choice(sim.floor.n_nodes, sim.n_robots)  # robots may share cells
        assert np.array_equal(_integral(sim), _old_integral(sim))
        target = rng.integers(-1, sim.floor.n_nodes, sim.n_robots)
        picks = rng.choice(sim.floor.n_nodes, 30)
        want = np.bincount(target[target >= 0], minlength=sim.floor.n_nodes)[picks]
        assert np.array_equal(_count_targets(target, picks, sim.floor.n_nodes), want)
        ii = _integral(sim)
        h, w = sim.floor.shape
        rc = np.stack([rng.integers(-3, h + 3, 40), rng.integers(-3, w + 3, 40)], axis=1)
        for reach in (0, 2, 5):
            want = _box_sum(ii, rc[:, 0] - reach, rc[:, 1] - reach, rc[:, 0] + reach,
                            rc[:, 1] + reach)  # fmt: skip
            assert np.array_equal(_near_counts(ii, rc, reach), want)
