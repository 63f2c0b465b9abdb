"""The dispatch layer's cost for big fleets with a backlog (audit h11): the faster candidate set,
nearest-robot flags and distance gathers give exactly what the plain numpy forms gave, on random
inputs with many ties and on real floors."""

from __future__ import annotations

import numpy as np
import pytest

from hierarchy.anticipation import order_pool
from hierarchy.features import FeatureConfig, candidate_set, decision_features, smallest_k
from hierarchy.matching import travel_steps
from scenarios import apply_overrides, build_floor, load_scenario
from warehouse.core import Simulation


def _argsort_k(d: np.ndarray, tie: np.ndarray, k: int) -> np.ndarray:
    """The first ``k`` columns of the stable argsort of ``d + tie`` (the former candidate set)."""
    return np.argsort(d + tie[None, :], axis=1, kind="stable")[:, :k]


@pytest.mark.parametrize("seed", range(30))
def test_smallest_k_is_the_stable_argsort_with_many_ties(seed: int) -> None:
    rng = np.random.default_rng(seed)
    r, m, k = (int(x) for x in rng.integers((0, 0, 1), (40, 70, 14)))
    d = rng.integers(0, int(rng.integers(1, 5)), (r, m)).astype(np.float64)  # few values
    d[rng.random((r, m)) < rng.random()] = np.inf  # unreachable pairs: ties at inf
    if seed % 3 == 0:  # no tie-break at all: every tie is an exact tie
        tie = np.zeros(m)
    else:  # the candidate set's own tie-break (the older order first)
        tie = np.arange(m) * 1e-6
    got = smallest_k(d, tie, k)
    want = _argsort_k(d, tie, k)
    assert got.dtype == want.dtype and got.shape == want.shape == (r, min(k, m))
    assert np.array_equal(got, want)


def test_smallest_k_on_keys_that_round_together() -> None:
    """Distances whose tie-break rounds away (2**53 + col · 1e-6 == 2**53): the equal keys keep
    their column order, as the stable sort keeps them; negative and huge keys as well."""
    rng = np.random.default_rng(7)
    d = rng.choice([2.0**53, -(2.0**60), 0.0, 1.0, np.inf], size=(25, 40))
    tie = np.arange(40) * 1e-6
    for k in (1, 3, 8, 40, 41):
        assert np.array_equal(smallest_k(d, tie, k), _argsort_k(d, tie, k))


def _sim(target: str, robots: int, arrival: float, steps: int, seed: int) -> Simulation:
    sc, src = load_scenario(target)
    sc = apply_overrides(sc, {"arrival_rate": arrival, "robots": robots}, src)
    sim = Simulation(build_floor(sc, src), sc.sim_config())
    sim.reset(seed)
    for _ in range(steps):  # orders pile up; nobody dispatches
        sim.step(np.zeros(sim.n_robots, dtype=np.int64))
    return sim


def _old_candidate_set(sim: Simulation, robots: np.ndarray, cfg: FeatureConfig):  # type: ignore[no-untyped-def]
    """The candidate set as the full stable argsort and ``np.argmin`` gave it."""
    k = cfg.candidates
    orders = order_pool(sim, robots, max(cfg.lookahead * robots.size, k))
    d = travel_steps(sim, sim.orders.pick[orders][None, :], sim.state.pos[robots][:, None])
    top = _argsort_k(d, np.arange(orders.size) * 1e-6, k)
    top = np.where(np.isfinite(np.take_along_axis(d, top, axis=1)), top, -1)
    if top.shape[1] < k:
        top = np.pad(top, ((0, 0), (0, k - top.shape[1])), constant_values=-1)
    return orders, top, d, np.argmin(d, axis=0)


@pytest.mark.parametrize(
    ("seed", "closed"), [(0, False), (1, False), (2, True), (3, True)]
)  # fmt: skip
def test_candidate_set_and_nearest_flags_as_before(seed: int, closed: bool) -> None:
    """A backlog on ``small`` (every robot idle, orders everywhere); with ``closed`` a band of
    aisle cells is closed, so some pairs are reached only through it (``inf``: ties)."""
    sim = _sim("small", 40, 5.0, 30, seed)
    rng = np.random.default_rng(seed)
    if closed:
        sim.dist.set_closed(rng.choice(sim.floor.n_nodes, sim.floor.n_nodes // 6, replace=False))
    robots = sim.idle_robots()
    assert robots.size > 20 and sim.open_orders().size > 100
    narrow, wide = FeatureConfig(candidates=3, lookahead=1), FeatureConfig(candidates=30)
    for cfg in (FeatureConfig(), narrow, wide):
        orders, top, d = candidate_set(sim, robots, cfg)
        old_orders, old_top, old_d, nearest = _old_candidate_set(sim, robots, cfg)
        assert np.array_equal(orders, old_orders) and np.array_equal(d, old_d)
        assert np.array_equal(top, old_top)
        if closed:
            assert (top < 0).any()  # some slots masked: the inf ties were exercised
        dec = decision_features(sim, robots, cfg)
        valid = top >= 0
        want = nearest[np.where(valid, top, 0)] == np.arange(robots.size)[:, None]
        assert np.array_equal(dec.cand[..., 5] == 1, want & valid)


@pytest.mark.parametrize("seed", range(3))
def test_transposed_lookup_is_numpys_gather(seed: int) -> None:
    """``lookup`` of goals along the last axis and nodes along the first (robots × orders) is
    numpy's fancy index of the table: same values, dtype and layout."""
    sim = _sim("small", 30, 2.0, 5, seed)
    rng = np.random.default_rng(seed)
    dist = sim.dist
    for r, m in ((1, 1), (1, 7), (9, 1), (30, 57)):
        goals = rng.choice(sim.floor.picks, m)[None, :]
        nodes = rng.choice(sim.floor.n_nodes, r)[:, None]
        got = dist.lookup(goals, nodes)
        want = dist.table[dist.slots(goals.ravel()).reshape(goals.shape), nodes]
        assert got.dtype == want.dtype and got.flags.c_contiguous
        assert np.array_equal(got, want)


@pytest.mark.parametrize("seed", [0, 1])
def test_reaches_around_closed_nodes_is_numpys_gather(seed: int) -> None:
    """``reaches`` gathers through ``lookup``'s compiled path now: the same answer as numpy's
    fancy index of the table against each row's ``far``, in every outer form, while closed
    nodes make some pairs reachable only through them."""
    sim = _sim("small", 30, 2.0, 5, seed)
    rng = np.random.default_rng(seed)
    dist = sim.dist
    dist.set_closed(rng.choice(sim.floor.n_nodes, 40, replace=False))
    for r, m in ((1, 1), (1, 7), (9, 1), (30, 57)):
        picks = rng.choice(sim.floor.picks, m)
        cells = rng.choice(sim.floor.n_nodes, r)
        for goals, nodes in ((picks[None, :], cells[:, None]), (picks[:, None], cells[None, :])):
            got = dist.reaches(goals, nodes)
            slot = dist.slots(goals.ravel()).reshape(goals.shape)
            want = dist.table[slot, nodes].astype(np.int64) <= dist.far[slot]
            assert got.shape == want.shape and np.array_equal(got, want)
    assert got.any() and not got.all()  # (30 × 57: pairs on both sides of the closures)
