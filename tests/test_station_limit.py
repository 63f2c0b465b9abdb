"""``tasks.station_limit``: at most this many orders in progress per station; every dispatcher
holds a station's other open orders and gives the oldest first."""

from __future__ import annotations

import numpy as np
import pytest

import warehouse
from agents import RuleBasedNavigator
from hierarchy import make_dispatcher
from warehouse.fleet import Fleet


def in_progress(sim) -> np.ndarray:  # type: ignore[no-untyped-def]
    """Orders given to a robot and not yet delivered, per station."""
    s, ob, stations = sim.state, sim.orders, sim.floor.stations
    taken = s.order[s.order >= 0]
    return np.bincount(np.searchsorted(stations, ob.station[taken]), minlength=stations.size)


def test_only_the_oldest_orders_of_a_full_station_are_dispatchable() -> None:
    env = warehouse.make_env("tiny", **{"tasks.station_limit": 2, "tasks.arrival_rate": 0.0})
    sim = env.sim
    sim.reset(seed=0)
    f = sim.floor
    a, b = (int(x) for x in f.stations[:2])
    picks = f.picks[:6]
    # orders 0..4 for station a, 5 for station b; robot 0 already serves order 0
    sim.orders.add(picks[:5], np.full(5, a), step=0)
    sim.orders.add(picks[5:6], np.full(1, b), step=1)
    sim.assign(np.array([0]), np.array([0]))
    assert sim.dispatchable_orders().tolist() == [1, 5]  # a has room for one more: the oldest
    sim.assign(np.array([1]), np.array([1]))
    assert sim.dispatchable_orders().tolist() == [5]
    assert sim.open_orders().tolist() == [2, 3, 4, 5]  # still open, held


@pytest.mark.parametrize("dispatcher", ["greedy", "hungarian", "ppo"])
def test_no_station_ever_has_more_orders_in_progress_than_the_limit(dispatcher) -> None:
    env = warehouse.make_env("small", **{"tasks.station_limit": 2, "tasks.arrival_rate": 1.0})
    sim = env.sim
    fleet = Fleet(sim, make_dispatcher(dispatcher), RuleBasedNavigator())
    fleet.reset(0)
    most = 0
    for _ in range(400):
        fleet.step()
        load = in_progress(sim)
        assert load.max() <= 2
        most = max(most, int(load.max()))
    assert most == 2 and sim.state.deliveries.sum() > 50  # the limit was reached, work goes on
