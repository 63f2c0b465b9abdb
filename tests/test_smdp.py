"""The semi-Markov decision layer: when decisions fall due and what advance() accumulates."""

from __future__ import annotations

import numpy as np
import pytest

from agents import make_navigator
from hierarchy.smdp import DecisionClock, DispatchEnv, RewardWeights
from scenarios import apply_overrides, build_floor, load_scenario
from warehouse.core import Simulation
from warehouse.fleet import Fleet


def _sim(robots: int = 2) -> Simulation:
    sc, src = load_scenario("tiny")
    sc = apply_overrides(sc, {"arrival_rate": 0.0, "robots": robots, "collisions": "pibt"}, src)
    return Simulation(build_floor(sc, src), sc.sim_config())


def _add_order(sim: Simulation, i: int = 0) -> int:
    f = sim.floor
    ids = sim.orders.add(f.picks[i : i + 1], f.stations[:1], sim.t)
    return int(ids[0])


def test_decision_timing_hand_built_case() -> None:
    sim = _sim()
    fleet = Fleet(sim, None, make_navigator("rule_based"))
    fleet.reset(0)
    clock = DecisionClock(period=4)
    assert not clock.due(sim)  # idle robots but no open order
    _add_order(sim)
    assert clock.due(sim)  # first decision
    clock.mark(sim)  # everyone chose WAIT
    assert not clock.due(sim)
    due_at = []
    for _ in range(6):
        fleet.step()
        if clock.due(sim):
            due_at.append(sim.t)
            clock.mark(sim)
    assert due_at == [4]  # the period, counted from the last decision at t = 0
    fleet.step()
    assert not clock.due(sim)
    _add_order(sim, 1)
    assert clock.due(sim)  # an order arrived
    clock.mark(sim)
    sim.assign(sim.idle_robots()[:1], sim.open_orders()[:1])
    clock.mark(sim)
    sim.assign(sim.idle_robots()[:1], sim.open_orders()[:1])  # nobody idle now
    assert not clock.due(sim)  # no idle robot: nothing to decide


def test_robot_becoming_idle_is_an_event() -> None:
    sim = _sim()
    env = DispatchEnv(
        sim, make_navigator("rule_based"), period=10_000, horizon=500, gamma=0.9,
        weights=RewardWeights(delivery=1.0, delay=0.0, collision=0.0, energy=0.0),
    )  # fmt: skip
    env.fleet.reset(0)  # not env.reset: with no arrivals it would run to the horizon
    env.clock.reset()
    a, b = _add_order(sim, 0), _add_order(sim, 5)
    assert env.clock.due(sim)
    dec = env.observe()
    assert set(dec.robots.tolist()) == {0, 1}
    # Robot 0 takes order a (whichever slot holds it); robot 1 waits.
    slot = int(np.flatnonzero(dec.orders[0] == a)[0])
    k = dec.orders.shape[1]
    robots, orders = env.apply(np.array([slot, k]))
    assert robots.tolist() == [0] and orders.tolist() == [a]
    t0 = sim.t
    step = env.advance()
    # The next decision is due exactly when robot 0 delivers and becomes idle again.
    assert sim.orders.delivered[a] == sim.t
    assert step.tau == sim.t - t0
    assert not step.done
    assert step.reward == pytest.approx(0.9 ** (step.tau - 1))  # one delivery, on the last step
    assert step.raw_reward == pytest.approx(1.0)
    assert sim.state.phase[0] == 0 and b in sim.open_orders()


def test_advance_stops_at_the_horizon() -> None:
    sim = _sim()
    env = DispatchEnv(sim, make_navigator("rule_based"), period=10_000, horizon=30)
    assert not env.reset(0)  # no order ever arrives: the episode ends without a decision
    assert sim.t == 30


def test_reaching_a_waypoint_sub_goal_is_an_event() -> None:
    """A robot routed through a hub (``--routes``) makes a decision due when it gets there,
    not before, even with the period far away."""
    sim = _sim()
    fleet = Fleet(sim, None, make_navigator("rule_based"))
    fleet.reset(0)
    clock = DecisionClock(period=10_000)
    a, _ = _add_order(sim, 0), _add_order(sim, 5)  # robot 1 will wait for the second order
    assert clock.due(sim)
    sim.assign(np.array([0]), np.array([a]))
    hub = int(sim.floor.picks[3])
    sim.set_waypoints(np.array([0]), np.array([hub]))
    clock.mark(sim)
    due_at, reached_at = [], []
    for _ in range(60):
        result = fleet.step().result
        if result.reached_waypoint[0]:
            reached_at.append(sim.t)
        if clock.due(sim):
            due_at.append(sim.t)
            clock.mark(sim)
    assert len(reached_at) == 1 and due_at[:1] == reached_at
    assert sim.state.waypoint[0] == -1 and sim.state.phase[1] == 0  # robot 1 still waits
