"""The rule-based navigator: shortest paths, waiting, yielding, escapes, determinism."""

from __future__ import annotations

import numpy as np
import pytest

import warehouse
from agents import RandomNavigator, RuleBasedNavigator
from agents.rule_based import distance_preferences
from hierarchy import GreedyDispatcher
from warehouse.config import FleetConfig, PhysicsConfig, SimConfig, TasksConfig
from warehouse.core import Phase, Simulation, resolve_physical
from warehouse.fleet import Fleet
from warehouse.floor import NodeKind, compile_floor, graph_from_grid

W, N, E, S, WEST = 0, 1, 2, 3, 4
CODES = {".": NodeKind.AISLE, "#": NodeKind.BLOCKED, "p": NodeKind.PICK, "S": NodeKind.STATION}


def goal_sim(rows: list[str], robots: int, mode: str = "block") -> Simulation:
    kinds = np.array([[CODES[ch] for ch in row] for row in rows], dtype=np.int8)
    cfg = SimConfig(
        fleet=FleetConfig(robots=robots),
        tasks=TasksConfig(mode="goal_visit"),
        physics=PhysicsConfig(collisions=mode),
    )
    sim = Simulation(compile_floor(graph_from_grid(kinds)), cfg)
    sim.reset(seed=0)
    return sim


def place_robots(sim: Simulation, starts, goals) -> None:
    """Place robots and give them fixed goals (goal_visit draws a new one on arrival)."""
    f = sim.floor
    sim.state.pos = np.array([f.cell_of[r, c] for r, c in starts], dtype=np.int32)
    sim.state.task_goal[:] = [f.cell_of[r, c] if (r, c) != (-1, -1) else -1 for r, c in goals]
    sim.state.phase[:] = [Phase.TO_GOAL if g != (-1, -1) else Phase.IDLE for g in goals]
    sim.state_changed()


def nav() -> RuleBasedNavigator:
    n = RuleBasedNavigator()
    n.reset(0)
    return n


def test_follows_the_shortest_path():
    sim = goal_sim(["......", "......"], 1)
    place_robots(sim, [(0, 0)], [(1, 4)])
    navigator, steps = nav(), 0
    while sim.state.pos[0] != sim.floor.cell_of[1, 4]:
        actions, prefs = navigator.act(sim, None, sim.action_mask())
        assert prefs.shape == (1, 5) and prefs.dtype == np.float32
        sim.step(actions, prefs)
        steps += 1
    assert steps == 5  # Manhattan distance


def test_waits_behind_a_robot_that_stays():
    sim = goal_sim(["#####.", "S....p"], 2)
    place_robots(sim, [(1, 1), (1, 2)], [(1, 4), (-1, -1)])
    sim.state.broken[1] = 10  # robot 1 cannot move
    actions, _ = nav().act(sim, None, sim.action_mask())
    assert actions.tolist() == [W, W]


def test_prefers_a_free_equally_short_neighbour():
    sim = goal_sim(["...", "...", "..."], 2)
    place_robots(sim, [(0, 0), (0, 1)], [(2, 2), (-1, -1)])  # east is taken, south is as short
    sim.state.broken[1] = 10
    actions, _ = nav().act(sim, None, sim.action_mask())
    assert actions[0] == S


def test_idle_robot_in_the_way_steps_aside():
    sim = goal_sim(["#.##", "....", "#.##"], 2)
    place_robots(sim, [(1, 0), (1, 1)], [(1, 3), (-1, -1)])  # robot 1 is idle at the junction
    navigator, steps = nav(), 0
    while sim.state.deliveries[0] == 0 and steps < 10:
        actions, prefs = navigator.act(sim, None, sim.action_mask())
        sim.step(actions, prefs)
        steps += 1
    assert steps == 3 and sim.incidents == 0  # no detour: robot 1 made way at once
    assert sim.floor.pos[sim.state.pos[1]].tolist() != [1, 1]


def test_head_on_in_a_single_lane_corridor_resolves():
    """Two robots meet face to face in a one-lane corridor with a pocket: both get through."""
    sim = goal_sim(["###.###", "S.....p"], 2)
    place_robots(sim, [(1, 1), (1, 5)], [(1, 6), (1, 0)])
    navigator = nav()
    for _ in range(30):
        actions, prefs = navigator.act(sim, None, sim.action_mask())
        sim.step(actions, prefs)
        if (sim.state.deliveries >= 1).all():
            break
    assert (sim.state.deliveries >= 1).all() and sim.incidents == 0


def test_plan_is_masked_and_conflict_free():
    env = warehouse.make_env("small", collisions="physical")
    sim = env.sim
    fleet = Fleet(sim, GreedyDispatcher(), nav())
    fleet.reset(5)
    for _ in range(300):
        step = fleet.step()
        mask, prop = step.mask, step.proposed
        assert mask[np.arange(prop.size), prop].all()
        assert step.result.incidents == 0 and not step.result.collided.any()
        assert np.isneginf(step.preferences[~mask]).all()
    # Nothing to shield either: a conflict-free plan passes the block shield untouched.
    pos = sim.state.pos
    actions, _ = fleet.navigator.act(sim, None, sim.action_mask())
    assert resolve_physical(pos, sim.floor.nbr[pos, actions], sim.floor.n_nodes).incidents == 0


def test_deterministic_given_the_seed():
    def run(seed):
        env = warehouse.make_env("small")
        fleet = Fleet(env.sim, GreedyDispatcher(), RuleBasedNavigator())
        fleet.reset(seed)
        trace = []
        for _ in range(300):
            trace.append(fleet.step().result.actions.copy())
        return np.array(trace)

    assert np.array_equal(run(1), run(1))


@pytest.mark.parametrize("scenario", ["tiny", "small"])
def test_fleet_keeps_delivering(scenario):
    """Regression guard against jams: 600 steps of the greedy + rule-based fleet (the old
    navigator delivered under 10 orders in 2,000 steps on both floors)."""
    env = warehouse.make_env(scenario)
    fleet = Fleet(env.sim, GreedyDispatcher(), RuleBasedNavigator())
    fleet.reset(0)
    fleet.run(300)
    first = int(env.sim.state.deliveries.sum())
    fleet.run(300)
    second = int(env.sim.state.deliveries.sum()) - first
    assert first >= 30 and second >= 30
    if scenario == "small" and env.scenario.tasks.arrival_rate <= 0.3:
        assert env.sim.open_orders().size <= 20  # 30 robots keep up with the orders


def test_distance_preferences():
    sim = goal_sim(["...", "...", "..."], 2)
    place_robots(sim, [(1, 1), (0, 0)], [(1, 2), (-1, -1)])
    mask = sim.action_mask()
    dist, scores = distance_preferences(sim, mask)
    assert dist[0].tolist() == [1, 2, 0, 2, 2]
    assert int(scores[0].argmax()) == E
    assert dist[1].tolist() == [0, 1, 1, 1, 1] and int(scores[1].argmax()) == W
    assert np.isneginf(scores[1, N]) and np.isneginf(scores[1, WEST])  # off the floor


def test_random_navigator_respects_the_mask():
    env = warehouse.make_env("tiny")
    env.reset_arrays(seed=0)
    rnd = RandomNavigator()
    rnd.reset(3)
    for _ in range(50):
        mask = env.sim.action_mask()
        actions, _ = rnd.act(env.sim, None, mask)
        assert mask[np.arange(actions.size), actions].all()
        env.step_arrays(actions)


def test_dense_fleet_does_not_freeze():
    """20 robots on the 59 cells of ``tiny`` (goal_visit): without the livelock escape whole
    trains shuffle back and forth forever and deliveries stop after a few hundred steps."""
    env = warehouse.make_env("tiny", tasks="goal_visit", robots=20)
    fleet = Fleet(env.sim, GreedyDispatcher(), RuleBasedNavigator())
    fleet.reset(0)
    windows = []
    for _ in range(3):
        before = int(env.sim.state.deliveries.sum())
        fleet.run(500)
        windows.append(int(env.sim.state.deliveries.sum()) - before)
    assert min(windows) >= 100, windows
    assert env.sim.incidents == 0


@pytest.mark.parametrize("clear_idle", [False, True])
def test_idle_robots_packed_in_a_lane_make_way_only_when_pushed(clear_idle):
    """Four idle robots fill a one-lane corridor between a robot and its goal. The first one
    cannot step aside on its own (its other neighbour is idle too): the plain navigator waits
    for ever, ``rule_based_push`` shifts the whole chain east and the robot gets through."""
    sim = goal_sim(["........."], 5)
    idle = (-1, -1)
    place_robots(sim, [(0, 0), (0, 1), (0, 2), (0, 3), (0, 4)], [(0, 4), idle, idle, idle, idle])
    navigator = RuleBasedNavigator(clear_idle=clear_idle)
    navigator.reset(0)
    for _ in range(40):
        actions, prefs = navigator.act(sim, None, sim.action_mask())
        sim.step(actions, prefs)
        if sim.state.deliveries[0]:
            break
    assert sim.incidents == 0
    assert bool(sim.state.deliveries[0]) == clear_idle
    if clear_idle:  # the idle robots were shifted along the lane, none of them off it
        assert sorted(sim.floor.pos[sim.state.pos[1:], 1].tolist()) == [5, 6, 7, 8]


def test_rule_based_push_ends_the_idle_jam_on_medium():
    """On ``medium`` (arrival-capped, 150 robots) the plain rule-based fleet walls a station off
    with idle robots within 1,000 steps of seed 0; with idle robots pushed it does not."""
    from scenarios import build_floor, load_scenario
    from warehouse.kpis import stuck_robots
    from warehouse.policies import scenario_dispatcher
    from warehouse.report import is_gridlocked

    sc, src = load_scenario("medium")
    stuck = {}
    for clear_idle in (False, True):
        sim = Simulation(build_floor(sc, src), sc.sim_config())
        fleet = Fleet(
            sim, scenario_dispatcher("greedy", sc, src), RuleBasedNavigator(clear_idle=clear_idle)
        )
        fleet.reset(0)
        fleet.run(1000)
        stuck[clear_idle] = stuck_robots(sim)
        assert sim.incidents == 0
    assert is_gridlocked(stuck[False], sc.fleet.robots)  # 74 of 150 stuck
    assert stuck[True] <= 3  # a robot or two waiting a moment, no jam


@pytest.mark.parametrize("rotate", [False, True])
def test_a_cycle_turns_only_with_rotate(rotate):
    """Four robots on a 2 × 2 square each want the next one's node (a cycle), and robot 0,
    queued behind one of them, wants a node of the cycle too. Under the ``block`` priority
    robot 0 wins that node and nothing moves; with ``rotate`` the cycle goes first and turns."""
    sim = goal_sim(["...", "..."], 5)
    # robot 0 at (0, 2) heads for (0, 0) through (0, 1); robots 1-4 go round the square
    starts = [(0, 2), (0, 0), (0, 1), (1, 1), (1, 0)]
    place_robots(sim, starts, [(0, 0), (0, 1), (1, 1), (1, 0), (0, 0)])
    navigator = RuleBasedNavigator(rotate=rotate)
    navigator.reset(0)
    actions, prefs = navigator.act(sim, None, sim.action_mask())
    assert actions.tolist() == ([W, E, S, WEST, N] if rotate else [W] * 5)
    sim.step(actions, prefs)
    assert sim.incidents == 0


def test_rule_based_unlock_ends_the_deadlocks_on_medium_peak():
    """On ``medium`` at 2 orders/s the rule-based fleet locks up in a two-cell pick row within
    1,000 steps of seed 1 (robots with orders heading both ways), and most of the fleet is
    jammed by step 1,500; ``rule_based_unlock`` does not lock (docs/results_sessions.md,
    twenty-first session)."""
    from warehouse.kpis import jammed_robots, stuck_robots
    from warehouse.model import WarehouseModel
    from warehouse.report import is_gridlocked
    from warehouse.runner import prepare

    stuck, jammed = {}, {}
    for name in ("rule_based", "rule_based_unlock"):
        exp = prepare("medium", policies=[name], seeds=[1], steps=1500,
                      sets=["tasks.arrival_rate=2.0"])  # fmt: skip
        m = WarehouseModel(exp.scenario, source=exp.source, floor=exp.floor, seed=1,
                           policy=exp.policies[0], steps=1500, check_checkpoints=False)  # fmt: skip
        assert m.fleet.navigator.name == name
        while m.running:
            m.step()
        stuck[name], jammed[name] = stuck_robots(m.sim), jammed_robots(m.sim)
        assert m.sim.incidents == 0
    assert is_gridlocked(jammed["rule_based"], 150)  # 87 of 150 jammed, locked since step ~420
    assert stuck["rule_based_unlock"] <= 5 and jammed["rule_based_unlock"] == 0


def test_navigator_names_say_which_rules_are_on():
    from agents import make_navigator

    for name in ("rule_based", "rule_based_push", "rule_based_unlock", "rule_based_push_unlock"):
        assert make_navigator(name).name == name
    unlock = make_navigator("rule_based_unlock")
    rules = (unlock.clear_idle, unlock.strict_follow, unlock.rotate, unlock.retry_push)
    assert rules == (False, True, True, True)
    assert make_navigator("rule_based_push_unlock").retry_push
    assert not make_navigator("rule_based").retry_push
    assert not make_navigator("rule_based_push").retry_push
    assert RuleBasedNavigator(strict_follow=True).name == "rule_based_strict_follow"
    assert RuleBasedNavigator(clear_idle=True, rotate=True).name == "rule_based_push_rotate"
    # the twenty-first session's unlock (no retry) is an ablation now, named after its rules
    old = RuleBasedNavigator(clear_idle=True, strict_follow=True, rotate=True)
    assert old.name == "rule_based_push_strict_follow_rotate"


@pytest.mark.parametrize("retry_push", [False, True])
def test_a_yielding_robot_tries_its_next_push_only_with_retry_push(retry_push):
    """Robot 1 loses a head-on pair to robot 0, which is boxed in (a dead end east of it).
    Robot 1 can push back robot 2 (north, boxed in too) or robot 3 (west, with a free cell
    behind). Without ``retry_push`` it tries robot 2 only, fails, and all four wait; with it,
    it pushes robot 3 and robot 0 gets through."""
    sim = goal_sim(["##.##", "....#"], 4)
    place_robots(sim, [(1, 3), (1, 2), (0, 2), (1, 1)], [(1, 0), (1, 3), (1, 0), (1, 3)])
    navigator = RuleBasedNavigator(strict_follow=True, rotate=True, retry_push=retry_push)
    navigator.reset(0)
    actions, prefs = navigator.act(sim, None, sim.action_mask())
    assert actions.tolist() == ([WEST, WEST, W, WEST] if retry_push else [W] * 4)
    sim.step(actions, prefs)
    assert sim.incidents == 0


def test_retry_push_ends_the_jam_of_rule_based_push_unlock_on_medium_peak():
    """Seed 4 of ``medium_peak`` jammed the twenty-first session's ``rule_based_push_unlock``
    (no ``retry_push``): from step 848 a two-cell pick row stays packed behind a head-on pair
    whose loser tried to push back only its first pushable neighbour (docs/results_unlock/)."""
    from scenarios import apply_overrides, build_floor, load_scenario
    from warehouse.kpis import stuck_robots
    from warehouse.policies import scenario_dispatcher

    sc, src = load_scenario("medium")
    sc = apply_overrides(sc, {"tasks.arrival_rate": 2.0}, src)
    floor = build_floor(sc, src)
    stuck = {}
    for retry_push in (False, True):
        sim = Simulation(floor, sc.sim_config())
        rules = RuleBasedNavigator(
            clear_idle=True, strict_follow=True, rotate=True, retry_push=retry_push
        )
        fleet = Fleet(sim, scenario_dispatcher("greedy", sc, src), rules)
        fleet.reset(4)
        fleet.run(1200)
        stuck[retry_push] = stuck_robots(sim)
        assert sim.incidents == 0
    assert stuck[False] >= 60  # 80 of 150 stuck at step 1,200
    assert stuck[True] <= 5
