"""Hot-path rewrites of the core step pinned against the formulas they replace (same results)."""

from __future__ import annotations

import copy

import numpy as np
import pytest

import warehouse
from warehouse.core.kernels import arrival_draws_kernel
from warehouse.core.state import OrderBook


def _old_arrivals(sim, k_draw: np.random.Generator) -> tuple[np.ndarray, np.ndarray, int, int]:
    """The arrivals of one step by the numpy formula ``Simulation._arrivals`` used before its
    compiled pass, drawn from ``k_draw`` (a copy of the sim's order stream): picks, stations,
    the orders kept and the orders lost."""
    tasks, f = sim.config.tasks, sim.floor
    k = int(k_draw.poisson(tasks.arrival_rate * sim.config.physics.step_seconds))
    if k == 0:
        return np.zeros(0, np.int32), np.zeros(0, np.int32), 0, 0
    u = k_draw.random(k)
    picks = f.picks[np.minimum(np.searchsorted(sim._pick_cdf, u), f.picks.size - 1)]
    stations = f.stations[k_draw.integers(f.stations.size, size=k)]
    room = tasks.max_open_orders - sim.orders.open_ids.size
    keep = k if room >= k else max(room, 0)
    return picks[:keep], stations[:keep], keep, k - keep


def test_arrivals_kernel_matches_searchsorted_on_random_inputs() -> None:
    """The compiled bin search is numpy's leftmost ``searchsorted`` (ties in the cdf, values on
    a bin edge, 0 and values past the last bin); the book rows are ``OrderBook.add``'s."""
    rng = np.random.default_rng(7)
    for trial in range(200):
        n_picks = int(rng.integers(1, 40))
        w = rng.random(n_picks) * (rng.random(n_picks) < 0.8)  # zero weights: tied cdf values
        w[0] += 1e-3
        cdf = np.cumsum(w / w.sum())
        if trial % 3 == 0:
            cdf *= 0.999  # a cdf that ends below 1: values past it go to the last pick
        k = int(rng.integers(1, 12))
        u = rng.random(k)
        u[: k // 3] = cdf[rng.integers(n_picks, size=k // 3)]  # exactly on bin edges
        if trial % 5 == 0:
            u[0] = 0.0
        if trial % 3 == 0:
            u[-1] = 0.9995  # past the cdf's end
        picks = rng.permutation(1000)[:n_picks].astype(np.int32)
        stations = np.array([3, 9, 27], dtype=np.int32)
        station_idx = rng.integers(stations.size, size=k)
        keep = int(rng.integers(0, k + 1))
        old, new = OrderBook(), OrderBook()
        for book in (old, new):  # some orders already, some open
            book.add(np.arange(5, dtype=np.int32), np.full(5, 3, np.int32), 0)
            book.open_ids = book.open_ids[1::2].copy()
        expect_p = picks[np.minimum(np.searchsorted(cdf, u), n_picks - 1)][:keep]
        old.add(expect_p, stations[station_idx][:keep], 4)
        p, st = arrival_draws_kernel(cdf, u, picks, stations, station_idx, keep)
        new.add(p, st, 4)
        assert new.count == old.count
        assert new.open_ids.dtype == old.open_ids.dtype == np.int32
        np.testing.assert_array_equal(new.open_ids, old.open_ids)
        for name in ("pick", "station", "arrival", "assigned", "robot", "delivered"):
            got, want = getattr(new, name)[: new.count], getattr(old, name)[: old.count]
            assert got.dtype == want.dtype, name
            np.testing.assert_array_equal(got, want, err_msg=name)


@pytest.mark.parametrize(("rate", "cap"), [(3.0, 1_000), (3.0, 7), (40.0, 25)])
def test_step_arrivals_match_the_numpy_formula(rate: float, cap: int) -> None:
    """Each step's new orders, the open list and the lost count equal what the numpy formula
    draws from the same stream, also when the backlog cap cuts a step's arrivals short."""
    env = warehouse.make_env("small", robots=6, arrival_rate=rate, **{"tasks.max_open_orders": cap})
    env.reset(seed=3)
    sim = env.sim
    lost_any = False
    for _ in range(60):
        draw = copy.deepcopy(sim.rng_orders)
        before_count, before_open = sim.orders.count, sim.orders.open_ids.copy()
        before_lost = sim.orders.lost
        picks, stations, keep, lost = _old_arrivals(sim, draw)
        assert sim._arrivals() == keep
        ob = sim.orders
        assert ob.count == before_count + keep
        assert ob.lost == before_lost + lost
        lost_any |= lost > 0
        np.testing.assert_array_equal(ob.pick[before_count : ob.count], picks)
        np.testing.assert_array_equal(ob.station[before_count : ob.count], stations)
        new_ids = np.arange(before_count, ob.count, dtype=np.int32)
        np.testing.assert_array_equal(ob.open_ids, np.concatenate([before_open, new_ids]))
        assert np.all(ob.arrival[before_count : ob.count] == sim.t)
        # the stream is left where the formula leaves it
        assert sim.rng_orders.bit_generator.state == draw.bit_generator.state
        env.step({})  # dispatches: orders leave the open list
    assert lost_any == (cap < 1_000)
