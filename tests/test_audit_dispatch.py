"""Audit of the classical dispatch layer: dispatchers, matching, anticipation, parking, the age
guard, task swaps, decision features and the semi-Markov wrapper."""

from __future__ import annotations

import copy
import itertools

import numpy as np
import pytest
from sim_helpers import parking_hall

from agents import make_navigator
from hierarchy.anticipation import held_orders
from hierarchy.dispatchers import FIFODispatcher, GreedyDispatcher, RandomDispatcher
from hierarchy.features import FeatureConfig, decision_features
from hierarchy.guard import AgeGuard, overdue_orders
from hierarchy.hungarian import HungarianDispatcher, assignment_costs
from hierarchy.matching import solve_assignment
from hierarchy.parking import IdleParking, parking_moves, parking_spots
from hierarchy.smdp import DecisionClock, DispatchEnv, RewardWeights
from hierarchy.swaps import TaskSwaps, best_exchange, swap_candidates
from scenarios import apply_overrides, build_floor, load_scenario
from warehouse.config import BatteryConfig, FleetConfig, PhysicsConfig, SimConfig, TasksConfig
from warehouse.core import Phase, Simulation
from warehouse.fleet import Fleet
from warehouse.floor import NodeKind, compile_floor, graph_from_grid
from warehouse.floor.formats import parse_ascii

# A one-way loop: the top lane runs west, the bottom lane east; a pick cell hangs below
# column 3 and a station below column 8. Moves between the two lanes go either way.
ONE_WAY = """v<<<<<<<<<
>>>>>>>>>^
###p####S#
"""


class _Nothing:
    """A dispatcher that assigns nothing."""

    name = "nothing"

    def reset(self, seed: int | None) -> None:
        pass

    def dispatch(self, sim: Simulation) -> None:
        pass


def one_way_sim(step_seconds: float = 1.0) -> tuple[Simulation, int, int]:
    """Robot 0 at (1, 4) is 4 steps from the pick, robot 1 at (1, 2) 2 steps; from the pick
    back to them it is the other way round (2 and 4). One open order; returns it and the pick."""
    floor = compile_floor(parse_ascii(ONE_WAY))
    cfg = SimConfig(
        fleet=FleetConfig(robots=2),
        tasks=TasksConfig(arrival_rate=0.0),
        physics=PhysicsConfig(step_seconds=step_seconds),
    )
    sim = Simulation(floor, cfg)
    sim.reset(seed=0)
    c = floor.cell_of
    sim.state.pos[:] = [c[1, 4], c[1, 2]]
    sim.state_changed()
    pick = int(c[2, 3])
    ids = sim.orders.add(np.array([pick]), np.array([c[2, 8]]), step=0)
    return sim, int(ids[0]), pick


def test_the_one_way_floor_is_asymmetric() -> None:
    sim, _, pick = one_way_sim()
    to_pick = sim.dist.lookup(np.full(2, pick), sim.state.pos)
    from_pick = [sim.dist.lookup(np.array([p]), np.array([pick]))[0] for p in sim.state.pos]
    assert to_pick.tolist() == [4, 2] and from_pick == [2, 4]


@pytest.mark.parametrize(
    "dispatcher",
    [GreedyDispatcher(), HungarianDispatcher(), AgeGuard(_Nothing(), 1.0)],
    ids=["greedy", "hungarian", "guard"],
)
def test_dispatchers_measure_robot_to_pick_on_one_way_floors(dispatcher) -> None:
    """The robot that drives to the shelf sooner gets the order, not the one the shelf is
    nearer to (the guard's order is overdue: 5 s old, limit 1 s)."""
    sim, order, _ = one_way_sim()
    sim.t = 5
    dispatcher.dispatch(sim)
    assert sim.state.order.tolist() == [-1, order]


def test_decision_features_and_costs_measure_robot_to_pick() -> None:
    sim, order, _ = one_way_sim()
    robots = sim.idle_robots()
    dec = decision_features(sim, robots, FeatureConfig())
    assert dec.orders[:, 0].tolist() == [order, order]
    assert dec.dist[:, 0].tolist() == [4.0, 2.0]
    assert dec.cand[:, 0, 5].tolist() == [0.0, 1.0]  # robot 1 is the nearest
    assert assignment_costs(sim, robots, np.array([order]))[:, 0].tolist() == [4.0, 2.0]


def _brute_force(cost: np.ndarray) -> tuple[int, float]:
    """(most finite pairs, least total over those) over all matchings of min(R, O) pairs."""
    if cost.shape[0] > cost.shape[1]:
        return _brute_force(cost.T)
    r, o = cost.shape
    best: tuple[int, float] = (-1, np.inf)
    for cols in itertools.permutations(range(o), r):
        vals = cost[np.arange(r), list(cols)]
        fin = np.isfinite(vals)
        n, total = int(fin.sum()), float(vals[fin].sum())
        if n > best[0] or (n == best[0] and total < best[1]):
            best = (n, total)
    return best


@pytest.mark.parametrize("seed", range(40))
def test_matching_is_optimal_with_unreachable_pairs_and_any_shape(seed: int) -> None:
    """As many reachable pairs as possible, at the least total; never an unreachable pair,
    never a row or column twice; negative costs (an age bonus) too."""
    rng = np.random.default_rng(seed)
    r, o = (int(x) for x in rng.integers(1, 6, size=2))
    cost = rng.integers(-30, 40, size=(r, o)).astype(float)
    cost[rng.random((r, o)) < rng.random()] = np.inf
    rows, cols = solve_assignment(cost)
    assert np.unique(rows).size == rows.size and np.unique(cols).size == cols.size
    assert np.isfinite(cost[rows, cols]).all()
    n, total = _brute_force(cost)
    assert rows.size == n
    assert cost[rows, cols].sum() == pytest.approx(total if n else 0.0)


def _corridor(robots: int, cols: list[int]) -> Simulation:
    row = [NodeKind.STATION] + [NodeKind.AISLE] * 9
    row[3] = row[9] = NodeKind.PICK
    cfg = SimConfig(fleet=FleetConfig(robots=robots), tasks=TasksConfig(arrival_rate=0.0))
    sim = Simulation(compile_floor(graph_from_grid(np.array([row], np.int8))), cfg)
    sim.reset(seed=0)
    sim.state.pos = np.array([sim.floor.cell_of[0, c] for c in cols], np.int32)
    sim.state_changed()
    return sim


def test_greedy_breaks_distance_ties_by_the_lower_robot_id_and_serves_oldest_first() -> None:
    sim = _corridor(3, [2, 4, 6])  # robots 0 and 1 are both 1 step from the pick at column 3
    f = sim.floor
    ids = sim.orders.add(np.array([f.cell_of[0, 3]] * 2), np.array([f.cell_of[0, 0]] * 2), 0)
    GreedyDispatcher().dispatch(sim)
    # the oldest order takes robot 0 (tie with robot 1), the next one robot 1 (1 step)
    assert sim.state.order.tolist() == [ids[0], ids[1], -1]


def test_fifo_serves_the_oldest_orders_whatever_their_distance() -> None:
    sim = _corridor(2, [2, 8])
    f = sim.floor
    sim.state.since_goal[:] = [5, 5]
    far = sim.orders.add(np.array([f.cell_of[0, 9]]), np.array([f.cell_of[0, 0]]), 0)
    sim.t = 3
    sim.orders.add(np.array([f.cell_of[0, 3]] * 2), np.array([f.cell_of[0, 0]] * 2), 3)
    FIFODispatcher().dispatch(sim)
    # equal idle time: the lower id takes the oldest order, far as it is
    assert sim.state.order[0] == far[0] and sim.state.order[1] == far[0] + 1


def test_random_dispatcher_is_reproducible_across_reset_and_never_double_assigns() -> None:
    def run(seed: int, built_with: int) -> list[int]:
        sim = _corridor(3, [1, 5, 8])
        f = sim.floor
        sim.orders.add(np.array([f.cell_of[0, 3]] * 5), np.array([f.cell_of[0, 0]] * 5), 0)
        d = RandomDispatcher(seed=built_with)  # the constructor's seed is replaced by reset's
        d.reset(seed)
        before = sim.rng_states()
        d.dispatch(sim)
        assert sim.rng_states() == before
        held = sim.state.order[sim.state.order >= 0]
        assert held.size == 3 and np.unique(held).size == 3
        return sim.state.order.tolist()

    assert run(4, built_with=123) == run(4, built_with=9)
    assert len({tuple(run(s, built_with=123)) for s in range(4)}) > 1  # reset's seed counts


def test_greedy_refuses_an_order_pool_below_one() -> None:
    """``GreedyDispatcher(lookahead=0)`` dispatched nothing, and a negative pool dropped the
    newest orders (``[:-2]``), silently; the Hungarian and PPO dispatchers refuse both."""
    for bad in (0, -2):
        with pytest.raises(ValueError, match="lookahead must be ≥ 1"):
            GreedyDispatcher(lookahead=bad)


def test_age_guard_counts_seconds_not_steps() -> None:
    """Half-second steps: a limit of 10 s is 20 steps; an order 20 steps old is not overdue,
    one 21 steps old is."""
    sim, order, _ = one_way_sim(step_seconds=0.5)
    sim.t = 20
    assert overdue_orders(sim, 10.0).size == 0
    AgeGuard(_Nothing(), 10.0).dispatch(sim)
    assert sim.open_orders().tolist() == [order]
    sim.t = 21
    assert overdue_orders(sim, 10.0).tolist() == [order]
    AgeGuard(_Nothing(), 10.0).dispatch(sim)
    assert sim.state.order.tolist() == [-1, order]


def _busy_sim(seed: int = 0, **overrides: object) -> tuple[Simulation, Fleet]:
    sc, src = load_scenario("tiny")
    sc = apply_overrides(sc, {"tasks.arrival_rate": 1.5, **overrides}, src)
    sim = Simulation(build_floor(sc, src), sc.sim_config())
    fleet = Fleet(sim, GreedyDispatcher(), make_navigator("rule_based"))
    fleet.reset(seed)
    return sim, fleet


def test_task_swaps_never_lengthen_the_drive_nor_touch_loaded_robots() -> None:
    """Over a busy run, every exchange the swaps would make strictly shortens the total steps
    to the picks, keeps the set of orders in work, and involves no robot carrying a load."""
    sim, fleet = _busy_sim()
    fleet.dispatcher = TaskSwaps(GreedyDispatcher(), period=1)
    fleet.dispatcher.reset(0)
    checked = 0
    for _ in range(80):
        robots, orders = best_exchange(sim)
        if robots.size:
            cand, held = swap_candidates(sim)
            assert set(orders.tolist()) == set(held.tolist())
            cost = assignment_costs(sim, cand, held) + sim.state.broken[cand][:, None]
            before = float(np.trace(cost[: held.size]))
            pos = {int(r): i for i, r in enumerate(cand)}
            after = sum(cost[pos[int(r)], int(np.flatnonzero(held == o)[0])]
                        for r, o in zip(robots, orders, strict=True))  # fmt: skip
            assert after < before
            assert np.isin(sim.state.phase[robots], [Phase.IDLE, Phase.TO_PICK]).all()
            checked += 1
        loaded = np.flatnonzero(np.isin(sim.state.phase, [Phase.TO_DROP, Phase.DROPPING]))
        orders_before = sim.state.order[loaded].copy()
        fleet.step()
        still = np.isin(sim.state.phase[loaded], [Phase.TO_DROP, Phase.DROPPING])
        assert (sim.state.order[loaded][still] == orders_before[still]).all()
    assert checked > 0 and fleet.dispatcher.swaps > 0


def test_decision_features_are_finite_masked_consistently_and_deterministic() -> None:
    sim, fleet = _busy_sim(seed=1)
    cfg = FeatureConfig(candidates=4, routes=2)
    seen = 0
    for _ in range(40):
        robots = sim.idle_robots()
        a = decision_features(sim, robots, cfg, anticipate=True)
        b = decision_features(copy.deepcopy(sim), robots, cfg, anticipate=True)
        for x, y in zip(
            (a.orders, a.mask, a.cand, a.glob, a.dist, a.waypoints),
            (b.orders, b.mask, b.cand, b.glob, b.dist, b.waypoints),
            strict=True,
        ):
            np.testing.assert_array_equal(x, y)
        assert np.isfinite(a.cand).all() and np.isfinite(a.glob).all()
        k = cfg.slots
        assert a.mask[:, k].all()
        assert np.array_equal(a.mask[:, :k], a.orders >= 0)
        assert np.array_equal(np.isfinite(a.dist), a.orders >= 0)
        assert (a.cand[~a.mask[:, :k]] == 0).all()
        assert (a.cand[a.mask[:, :k]][:, 11] == 1).all()
        valid = a.orders[a.orders >= 0]
        assert np.isin(valid, sim.dispatchable_orders()).all()  # never a held or taken order
        seen += valid.size
        fleet.step()
    assert seen > 0


def test_anticipation_holds_nothing_when_no_robot_finishes_a_delivery() -> None:
    sim, fleet = _busy_sim(seed=2)
    for _ in range(30):
        fleet.step()
        idle, orders = sim.idle_robots(), sim.dispatchable_orders()
        finishing = np.isin(sim.state.phase, [Phase.TO_DROP, Phase.DROPPING]).any()
        held = held_orders(sim, idle, orders)
        if not finishing:
            assert not held.any()
        assert held.sum() <= np.isin(sim.state.phase, [Phase.TO_DROP, Phase.DROPPING]).sum()


def _charger_hall(chargers: list[tuple[int, int]]) -> Simulation:
    """A 3 × 9 hall with two parking cells, (0, 4) and (2, 4), a pick cell at (0, 8) and a
    station at (1, 0); the battery model's chargers at ``chargers``. One robot, idle at (1, 1)."""
    battery = BatteryConfig(capacity_wh=100.0, chargers=chargers)
    sim = parking_hall(((0, 4), (2, 4)), battery=battery)
    sim.state.pos[:] = [sim.floor.cell_of[1, 1]]
    sim.state.since_goal[:] = 100
    sim.state_changed()
    return sim


def test_parking_never_sends_idle_robots_onto_chargers() -> None:
    """Auto-placed and listed chargers may be parking cells. Parking sent idle robots to
    them, so a robot needing a charge found it taken (on ``small`` with parking walls and four
    auto chargers, idle robots stood on chargers ~1,350 robot-steps in 3 × 400 steps, ~120
    without parking onto them); the battery model itself keeps idle robots off chargers."""
    sim = _charger_hall([(0, 4)])
    f = sim.floor
    spots = parking_spots(f, sim.n_robots)
    assert sorted(spots.tolist()) == sorted([f.cell_of[0, 4], f.cell_of[2, 4]])
    robots, to = parking_moves(sim, 1, spots)
    assert robots.tolist() == [0] and to.tolist() == [f.cell_of[2, 4]]  # not the nearer charger
    sim.state.pos[0] = f.cell_of[0, 4]  # an idle robot standing on a charger is not parked
    sim.state_changed()
    robots, to = parking_moves(sim, 1, spots)
    assert robots.tolist() == [0] and to.tolist() == [f.cell_of[2, 4]]
    both = _charger_hall([(0, 4), (2, 4)])  # every spot is a charger: the robot stays put
    IdleParking(_Nothing(), 0.0).dispatch(both)
    assert both.state.waypoint.tolist() == [-1]


def test_parking_without_a_battery_still_uses_every_spot() -> None:
    sim = parking_hall(((0, 4), (2, 4)))
    sim.state.pos[:] = [sim.floor.cell_of[1, 3]]
    sim.state.since_goal[:] = 100
    sim.state_changed()
    IdleParking(_Nothing(), 0.0).dispatch(sim)
    assert sim.state.waypoint.tolist() == [sim.floor.cell_of[0, 4]]  # the nearer one


@pytest.mark.parametrize("period", [0, -3])
def test_decision_clock_refuses_a_period_below_one(period: int) -> None:
    """With period 0 a decision was due at every call, so ``DispatchEnv.advance`` returned
    without a step after every ``apply``: a rollout loop never moved the clock."""
    with pytest.raises(ValueError, match="period must be ≥ 1"):
        DecisionClock(period)
    sim, _ = _busy_sim()
    with pytest.raises(ValueError, match="period must be ≥ 1"):
        DispatchEnv(sim, make_navigator("rule_based"), period=period)


def test_dispatch_env_waits_the_period_and_discounts_the_order_age_in_seconds() -> None:
    """Hand-built: one open order nobody takes, idle robots that never move. After WAIT the
    next decision falls due exactly ``period`` steps later, and each step costs ``delay`` ×
    1 order × ``step_seconds``, discounted by ``gamma`` per step."""
    sc, src = load_scenario("tiny")
    sc = apply_overrides(sc, {"arrival_rate": 0.0, "robots": 2, "physics.step_seconds": 0.5}, src)
    sim = Simulation(build_floor(sc, src), sc.sim_config())
    w = RewardWeights(delivery=1.0, delay=0.1, collision=0.0, energy=0.0)
    env = DispatchEnv(sim, make_navigator("rule_based"), period=4, horizon=100, gamma=0.5,
                      weights=w)  # fmt: skip
    env.fleet.reset(0)
    env.clock.reset()
    sim.orders.add(sim.floor.picks[:1], sim.floor.stations[:1], sim.t)
    dec = env.observe()
    k = dec.orders.shape[1]
    assert env.apply(np.full(dec.robots.size, k))[0].size == 0  # everyone waits
    t0 = sim.t
    step = env.advance()
    assert step.tau == 4 and sim.t == t0 + 4 and not step.done
    per_step = -0.1 * 1 * 0.5
    assert step.raw_reward == pytest.approx(4 * per_step)
    assert step.reward == pytest.approx(per_step * (1 + 0.5 + 0.25 + 0.125))
