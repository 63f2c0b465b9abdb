"""Audit of the dispatch add-ons: anticipation, the age guard, task swaps, parking, and all of
them wrapped around one dispatcher at once."""

from __future__ import annotations

import math
import re

import numpy as np
import pytest
from sim_helpers import parking_hall, place

from agents import make_navigator
from hierarchy.anticipation import finishing_robots, held_orders
from hierarchy.dispatchers import GreedyDispatcher
from hierarchy.guard import AgeGuard, overdue_orders
from hierarchy.parking import IdleParking, parking_moves, parking_spots
from hierarchy.swaps import TaskSwaps
from scenarios import apply_overrides, build_floor, load_scenario
from warehouse.config import BatteryConfig, FleetConfig, SimConfig, TasksConfig
from warehouse.core import Phase, Simulation
from warehouse.core.state import Charge
from warehouse.fleet import Fleet
from warehouse.floor import NodeKind, compile_floor, graph_from_grid
from warehouse.kpis import compute_kpis
from warehouse.policies import scenario_dispatcher


def _battery_hall(rescue_s: float | None = 30.0) -> tuple[Simulation, int]:
    """A 3 × 11 hall with a battery model (100 Wh, recharge below 20 %, a charger at (2, 10)).
    Robot 0 is idle at (1, 4), 4 steps from pick A at (0, 1); robot 1 is dropping its order at
    station (1, 0), one step left, then 2 steps from A. Returns the sim and A's order."""
    grid = np.full((3, 11), NodeKind.AISLE, np.int8)
    grid[0, 1] = grid[0, 9] = NodeKind.PICK
    grid[1, 0] = grid[1, 10] = NodeKind.STATION
    cfg = SimConfig(
        fleet=FleetConfig(robots=2),
        tasks=TasksConfig(arrival_rate=0.0),
        battery=BatteryConfig(capacity_wh=100.0, chargers=[(2, 10)], rescue_s=rescue_s),
    )
    sim = Simulation(compile_floor(graph_from_grid(grid)), cfg)
    sim.reset(seed=0)
    c, s = sim.floor.cell_of, sim.state
    place(sim, (1, 4), (1, 0))
    sim.orders.add(np.array([c[0, 9]]), np.array([c[1, 0]]), step=sim.t)
    sim.assign(np.array([1]), np.array([0]))
    s.phase[1], s.timer[1] = Phase.DROPPING, 1
    (a,) = sim.orders.add(np.array([c[0, 1]]), np.array([c[1, 10]]), step=sim.t)
    return sim, int(a)


def test_no_order_is_held_for_a_robot_that_charges_after_its_drop() -> None:
    """A finishing robot whose charge is below ``recharge_below`` queues for a charger once it
    has dropped its load, so no dispatcher sees it. Anticipation held the order beside its
    station for it anyway: the idle robot waited, then the robot drove to the charger and the
    order went out a step late (with a longer drive left, as late as the drive)."""
    sim, a = _battery_hall()
    assert held_orders(sim, sim.idle_robots(), np.array([a])).tolist() == [True]  # charged: held
    sim.state.soc_wh[1] = 5.0  # below 20 Wh: it charges next
    assert finishing_robots(sim)[0].size == 0
    assert held_orders(sim, sim.idle_robots(), np.array([a])).tolist() == [False]
    fleet = Fleet(sim, GreedyDispatcher(anticipate=True), make_navigator("rule_based"))
    fleet.step()
    assert sim.state.order[0] == a and sim.orders.assigned[a] == 0  # at once, to robot 0
    assert sim.state.charge[1] != Charge.NONE  # and robot 1 went charging


@pytest.mark.parametrize("rescue_s", [30.0, None])
def test_a_depleted_finishing_robot_counts_the_time_until_its_rescue(rescue_s) -> None:
    """A depleted robot stands until its battery is swapped (never, with ``rescue_s: null``);
    task swaps count that time, anticipation counted only the drop and held the order for it."""
    sim, a = _battery_hall(rescue_s)
    sim.state.charge[1] = Charge.DEPLETED
    if rescue_s is not None:
        sim.battery.rescue_at[1] = sim.t + 30  # (else it stays "never", as the model sets it)
    robots, _, steps = finishing_robots(sim)
    assert robots.tolist() == [1]
    assert steps[0] == (1 + 30 if rescue_s is not None else math.inf)
    assert held_orders(sim, sim.idle_robots(), np.array([a])).tolist() == [False]


def test_parking_refuses_a_wait_that_is_not_a_finite_number() -> None:
    """``IdleParking(inner, inf)`` was accepted and failed at the first dispatch with an
    OverflowError from ``math.ceil`` (the scenario schema refuses it; the Python API did not)."""
    with pytest.raises(ValueError, match="finite number ≥ 0, got inf"):
        IdleParking(GreedyDispatcher(), math.inf)
    for bad in (math.nan, -1.0):
        with pytest.raises(ValueError, match=re.escape(f"finite number ≥ 0, got {bad}")):
            IdleParking(GreedyDispatcher(), bad)


def test_a_parked_robot_given_an_order_frees_its_spot_for_the_next() -> None:
    """Two parking cells, two idle robots: robot 0 parks on the nearer one; once it has an
    order and has left, that spot is free again and robot 1 is sent there, never onto a spot
    robot 0 still holds, nor onto the station or the pick cell."""
    sim = parking_hall(((0, 4), (2, 6)), robots=2)
    c = sim.floor.cell_of
    place(sim, (0, 4), (1, 1))  # robot 0 parked on (0, 4)
    sim.state.since_goal[:] = 100
    spots = parking_spots(sim.floor, 2)
    robots, to = parking_moves(sim, 0, spots)
    assert robots.tolist() == [1] and to.tolist() == [c[2, 6]]  # (0, 4) is robot 0's
    (order,) = sim.orders.add(np.array([c[0, 8]]), np.array([c[1, 0]]), step=sim.t)
    sim.assign(np.array([0]), np.array([order]))
    sim.state.pos[0] = c[0, 5]  # on its way to the pick
    sim.state_changed()
    robots, to = parking_moves(sim, 0, spots)
    assert robots.tolist() == [1] and to.tolist() == [c[0, 4]]  # the nearer spot, free again


def _small_with_every_add_on(name: str, rate: float, *, max_order_age: float):
    """``small`` at ``rate`` with anticipation, the guard, task swaps and parking (at once)
    around the dispatcher ``name``: the simulation and the wrapped dispatcher."""
    sc, src = load_scenario("small")
    overrides = {
        "tasks.arrival_rate": rate,
        "policies.anticipate": True,
        "policies.max_order_age": max_order_age,
        "policies.task_swaps": True,
        "policies.park_idle": 0,
    }
    sc = apply_overrides(sc, overrides, src)
    sim = Simulation(build_floor(sc, src), sc.sim_config())
    return sim, scenario_dispatcher(name, sc, src)


def _all_on(seed: int, steps: int, rate: float) -> tuple[Simulation, list[str]]:
    """``small`` with the guard, anticipation, swaps and parking all on around greedy, checking
    after every dispatch that no order is lost or held twice and that no two idle robots head
    for one spot."""
    sim, dispatcher = _small_with_every_add_on("greedy", rate, max_order_age=20)
    chain = [type(d).__name__ for d in (dispatcher, dispatcher.inner, dispatcher.inner.inner)]
    chain.append(type(dispatcher.inner.inner.inner).__name__)
    fleet = Fleet(sim, dispatcher, make_navigator("rule_based"))
    fleet.reset(seed)
    for _ in range(steps):
        fleet.step()
        s, ob = sim.state, sim.orders
        held = s.order[s.order >= 0]
        assert np.unique(held).size == held.size  # no order with two robots
        assert (ob.robot[held] == np.flatnonzero(s.order >= 0)).all()
        done = np.flatnonzero(ob.delivered[: ob.count] >= 0)
        parts = np.concatenate([ob.open_ids, held, done])
        assert np.unique(parts).size == parts.size == ob.count  # each order exactly once
        spots = s.waypoint[(s.waypoint >= 0) & (s.phase == Phase.IDLE)]
        assert np.unique(spots).size == spots.size
        assert not np.isin(sim.floor.kind[spots], [NodeKind.STATION]).any()
    return sim, chain


def test_all_add_ons_at_once_conserve_orders_and_repeat_for_a_seed() -> None:
    """Guard inside swaps inside parking (the order of :func:`scenario_dispatcher`), on a
    saturated ``small`` for 150 steps: orders are conserved, no order is held twice, KPIs are
    sane, and the same seed gives the same run."""
    sim, chain = _all_on(0, 150, 1.0)
    assert chain == ["IdleParking", "TaskSwaps", "AgeGuard", "GreedyDispatcher"]
    kpis = compute_kpis(sim)
    assert 0 < kpis["deliveries"] <= sim.orders.count
    assert kpis["collisions"] == 0
    assert 0 <= kpis["oldest_open_order_s"] <= sim.t
    again, _ = _all_on(0, 150, 1.0)
    assert np.array_equal(sim.state.pos, again.state.pos)
    assert compute_kpis(again) == kpis


class _Checked:
    """``inner``, checking after each of its decisions that no overdue order is left open while
    a robot is idle; counts the decisions with an idle robot left."""

    def __init__(self, inner, max_age_s: float) -> None:
        self.inner, self.max_age_s, self.name, self.checked = inner, max_age_s, inner.name, 0

    def reset(self, seed: int | None) -> None:
        self.inner.reset(seed)

    def dispatch(self, sim: Simulation) -> None:
        self.inner.dispatch(sim)
        if sim.idle_robots().size:
            self.checked += 1
            assert overdue_orders(sim, self.max_age_s).size == 0


def test_the_guard_serves_every_overdue_order_an_idle_robot_can_take() -> None:
    """With anticipation, swaps and parking around it, after every dispatch no order older than
    the limit is left open while a robot is idle (``small``, a light load)."""
    sim, wrapped = _small_with_every_add_on("hungarian", 0.5, max_order_age=5)
    assert isinstance(wrapped.inner.inner, AgeGuard) and isinstance(wrapped.inner, TaskSwaps)
    checked = _Checked(wrapped, 5.0)
    fleet = Fleet(sim, checked, make_navigator("rule_based"))
    fleet.reset(1)
    fleet.run(120)
    assert checked.checked > 0


def test_the_matching_may_hold_an_order_an_idle_robot_reaches_sooner() -> None:
    """What README and the schema now say: orders go to finishing robots by a matching of
    fewest *total* steps, not only those they reach before every idle robot. Robot 1, dropping
    at (1, 0) and broken down for 20 steps, gets A (about 23 steps) while idle robot 0 at (1, 8)
    would reach A in 8; robot 0 reaches B in 2, so the matching gives it B. Alone, A is not
    held: robot 0 takes it."""
    sim, a = _battery_hall()
    c = sim.floor.cell_of
    place(sim, (1, 8), (1, 0))
    sim.state.broken[1] = 20
    (b,) = sim.orders.add(np.array([c[0, 9]]), np.array([c[1, 10]]), step=sim.t)
    idle = sim.idle_robots()
    assert held_orders(sim, idle, np.array([a, b])).tolist() == [True, False]
    assert held_orders(sim, idle, np.array([a])).tolist() == [False]
