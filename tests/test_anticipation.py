"""Anticipation (``policies.anticipate``): orders held for robots finishing a delivery."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from cli_helpers import run_cli

from agents import make_navigator
from hierarchy.anticipation import STALLED, finishing_robots, held_orders, order_pool
from hierarchy.dispatchers import GreedyDispatcher
from hierarchy.features import FeatureConfig, decision_features
from hierarchy.hungarian import HungarianDispatcher
from scenarios import apply_overrides, build_floor, load_scenario
from warehouse.config import FleetConfig, SimConfig, TasksConfig
from warehouse.core import Phase, Simulation
from warehouse.fleet import Fleet
from warehouse.floor import NodeKind, compile_floor, graph_from_grid


def hall(open_orders: int = 2) -> tuple[Simulation, np.ndarray]:
    """A 3 × 11 hall, no arrivals, stations at (1, 0) and (1, 10), pick cells at (0, 1) and
    (0, 9). Robot 0 is idle at (1, 4). Robot 1 is dropping its order at station (1, 0), one
    step left, so it is free in 1 step and then 2 steps from pick A at (0, 1): 3 in all, where
    robot 0 needs 4. Returns the sim and the first ``open_orders`` of ``[A, B]`` (B: pick
    (0, 9)), oldest first."""
    grid = np.full((3, 11), NodeKind.AISLE, np.int8)
    grid[0, 1] = grid[0, 9] = NodeKind.PICK
    grid[1, 0] = grid[1, 10] = NodeKind.STATION
    cfg = SimConfig(fleet=FleetConfig(robots=2), tasks=TasksConfig(arrival_rate=0.0))
    sim = Simulation(compile_floor(graph_from_grid(grid)), cfg)
    sim.reset(seed=0)
    c, s = sim.floor.cell_of, sim.state
    s.pos[:] = [c[1, 4], c[1, 0]]
    sim.state_changed()
    sim.orders.add(np.array([c[0, 9]]), np.array([c[1, 0]]), step=sim.t)  # robot 1's order
    sim.assign(np.array([1]), np.array([0]))
    s.phase[1], s.timer[1] = Phase.DROPPING, 1
    picks, stations = np.array([c[0, 1], c[0, 9]]), np.array([c[1, 10], c[1, 0]])
    ids = sim.orders.add(picks[:open_orders], stations[:open_orders], step=sim.t)
    return sim, ids


def test_finishing_robots_count_the_drive_the_drop_and_the_repair() -> None:
    sim, _ = hall()
    s, c = sim.state, sim.floor.cell_of
    robots, stations, steps = finishing_robots(sim)
    assert robots.tolist() == [1] and stations.tolist() == [c[1, 0]] and steps.tolist() == [1]
    s.phase[1], s.pos[1], s.broken[1] = Phase.TO_DROP, c[1, 3], 2  # carrying, broken down
    sim.state_changed()
    assert finishing_robots(sim)[2].tolist() == [3 + sim.config.tasks.drop_time + 2]
    s.since_progress[1] = STALLED  # stalled in a queue or a jam: not counted
    assert finishing_robots(sim)[0].size == 0
    s.since_progress[1], s.phase[1] = 0, Phase.TO_PICK  # driving empty: not finishing
    assert finishing_robots(sim)[0].size == 0


def test_the_order_a_finishing_robot_reaches_first_is_held_for_it() -> None:
    sim, (a, b) = hall()
    idle = sim.idle_robots()
    assert idle.tolist() == [0]
    # robot 1 reaches A in 3 steps, robot 0 in 4; B costs robot 0 6 and robot 1 11
    assert held_orders(sim, idle, np.array([a, b])).tolist() == [True, False]
    assert order_pool(sim, idle, 8).tolist() == [a, b]  # off: the oldest orders, unchanged
    assert order_pool(sim, idle, 8, anticipate=True).tolist() == [b]
    assert order_pool(sim, idle, 1, anticipate=True).size == 0  # the pool keeps its depth
    # the classical dispatchers: A without anticipation, B with it
    assert HungarianDispatcher().decide(sim)[1].tolist() == [a]
    assert HungarianDispatcher(anticipate=True).decide(sim)[1].tolist() == [b]
    assert (sim.state.phase == [Phase.IDLE, Phase.DROPPING]).all()  # decide() is pure
    GreedyDispatcher(anticipate=True).dispatch(sim)
    assert sim.state.order[0] == b and sim.state.phase[0] == Phase.TO_PICK


def test_an_idle_robot_whose_orders_are_all_held_waits() -> None:
    """Only A open: robot 0 would drive 4 steps to it while robot 1 gets there in 3. The
    learned dispatcher's candidates leave A out (WAIT only), and the classical ones assign
    nothing."""
    sim, (a,) = hall(open_orders=1)
    assert sim.open_orders().tolist() == [a]
    cfg = FeatureConfig(candidates=2)
    plain = decision_features(sim, sim.idle_robots(), cfg)
    assert plain.orders[0].tolist() == [a, -1] and plain.mask[0].tolist() == [True, False, True]
    held = decision_features(sim, sim.idle_robots(), cfg, anticipate=True)
    assert held.mask[0].tolist() == [False, False, True] and (held.orders == -1).all()
    assert HungarianDispatcher(anticipate=True).decide(sim)[0].size == 0
    GreedyDispatcher(anticipate=True).dispatch(sim)
    assert sim.state.phase[0] == Phase.IDLE


def _run(anticipate: bool, seed: int) -> Simulation:
    sc, src = load_scenario("small")
    sc = apply_overrides(sc, {"tasks.arrival_rate": 1.0}, src)  # orders queue
    sim = Simulation(build_floor(sc, src), sc.sim_config())
    disp = HungarianDispatcher(anticipate=anticipate)
    fleet = Fleet(sim, disp, make_navigator("rule_based"))
    fleet.reset(seed)
    fleet.run(400)
    return sim


def test_anticipation_shortens_the_empty_drive_where_orders_queue() -> None:
    """On ``small`` at 4× its arrival rate the pooled empty drive per delivery falls, the
    fleet delivers at least as much, and the same seed gives the same run."""
    from warehouse.kpis import compute_kpis

    def totals(anticipate: bool) -> tuple[int, int]:
        sims = [_run(anticipate, seed) for seed in range(8)]
        empty = sum(int(s.state.phase_steps[Phase.TO_PICK]) for s in sims)
        return empty, sum(int(s.state.deliveries.sum()) for s in sims)

    (e0, d0), (e1, d1) = totals(False), totals(True)
    assert e1 / d1 < 0.95 * e0 / d0
    assert d1 > d0
    first, again = _run(True, 5), _run(True, 5)
    assert np.array_equal(first.state.pos, again.state.pos)
    assert compute_kpis(first) == compute_kpis(again)


def test_warehouse_run_the_env_and_shadow_take_the_setting(tmp_path: Path, capsys) -> None:
    import warehouse
    from warehouse.errors import InputError
    from warehouse.policies import PolicySpec, check_side_settings

    env = warehouse.make_env("tiny", **{"policies.anticipate": True})
    assert env.dispatcher.anticipate is True
    base = ["run", "small", "--policy", "rule_based", "--seeds", "0", "--steps", "200"]
    out = tmp_path / "on"
    code, _, err = run_cli([*base, "--set", "policies.anticipate=true", "--out", str(out)], capsys)
    assert code == 0, err
    assert "anticipate: true" in (out / "scenario.yaml").read_text()  # the rerun file keeps it
    report = json.loads((out / "report.json").read_text())
    assert report["runs"][0]["kpis"]["deliveries"]["mean"] > 0
    bad = ["run", "small", "--policy", "random", "--seeds", "0", "--steps", "5",
           "--set", "policies.anticipate=true", "--out", str(tmp_path / "bad")]  # fmt: skip
    code, _, err = run_cli(bad, capsys)
    assert code == 2 and "policies.anticipate: no dispatcher of this run has an order pool" in err
    assert len(err.strip().splitlines()) == 1 and not (tmp_path / "bad").exists()
    check_side_settings(PolicySpec("hierarchical", "ppo", "rule_based"),
                        ["policies.anticipate"], "--candidate-set")  # fmt: skip
    with pytest.raises(InputError, match="order pool"):
        check_side_settings(PolicySpec("r", "random", "rule_based"),
                            ["policies.anticipate"], "--candidate-set")  # fmt: skip


def test_the_shipped_dispatcher_anticipates_when_asked() -> None:
    """The PPO dispatcher (shipped weights) with ``anticipate``: every order it assigns on a
    saturated floor is one that no finishing robot reaches first."""
    from hierarchy.ppo_dispatcher import make_ppo_dispatcher

    sc, src = load_scenario("small")
    sc = apply_overrides(sc, {"tasks.arrival_rate": 1.0}, src)
    sim = Simulation(build_floor(sc, src), sc.sim_config())
    disp = make_ppo_dispatcher(anticipate=True)
    fleet = Fleet(sim, disp, make_navigator("rule_based"))
    fleet.reset(0)
    checked = 0
    for _ in range(200):
        _, orders = disp.decide(sim)
        if orders.size:
            idle = sim.idle_robots()
            pool = sim.open_orders()[: max(disp.features.lookahead * idle.size, 8)]
            held = pool[held_orders(sim, idle, pool)]
            assert not np.isin(orders, held).any()
            checked += int(held.size > 0)
        fleet.step()
    assert checked > 0  # some decisions did have held orders to avoid


def test_the_training_env_offers_what_the_deployed_dispatcher_would() -> None:
    """``DispatchEnv(anticipate=True)`` (``train-dispatcher --anticipate``): the decision's
    candidates leave out the held order, as the deployed PPO dispatcher's do."""
    from hierarchy.smdp import DispatchEnv

    sim, (a, b) = hall()
    env = DispatchEnv(sim, make_navigator("rule_based"), features=FeatureConfig(candidates=2))
    assert set(env.observe().orders[0].tolist()) == {a, b}
    env = DispatchEnv(
        sim, make_navigator("rule_based"), features=FeatureConfig(candidates=2), anticipate=True
    )
    assert env.observe().orders[0].tolist() == [b, -1]


def test_train_dispatcher_anticipate_reaches_the_run_and_its_resume(tmp_path, monkeypatch, capsys):
    """``--anticipate`` trains with it: the env copies, the Hungarian warm start and the
    evaluation all anticipate; it is saved in config.json and a resume cannot drop it."""
    import hierarchy.train as ht

    made: list[tuple[str, bool]] = []

    def spy(name: str) -> None:
        real = getattr(ht, name)

        def make(*args, **kwargs):
            made.append((name, kwargs.get("anticipate", False)))
            return real(*args, **kwargs)

        monkeypatch.setattr(ht, name, make)

    for name in ("DispatchEnv", "HungarianDispatcher", "PPODispatcher"):
        spy(name)
    monkeypatch.chdir(tmp_path)
    argv = ["train-dispatcher", "tiny", "--steps", "40", "--out", "run", "--no-tensorboard"]
    argv += ["--envs", "1", "--horizon", "20", "--imitation", "1", "--eval-every", "1"]
    code, _, err = run_cli([*argv, "--anticipate", "--no-progress"], capsys)
    assert code == 0, err
    assert {kind for kind, _ in made} == {"DispatchEnv", "HungarianDispatcher", "PPODispatcher"}
    assert all(on for _, on in made)
    config = json.loads((tmp_path / "run" / "config.json").read_text())
    assert config["anticipate"] is True
    resume = [*argv[:3], "80", *argv[4:], "--resume", "--no-anticipate", "--no-progress"]
    code, _, err = run_cli(resume, capsys)
    assert code == 2 and "--anticipate" in err
    code, _, err = run_cli(["train-dispatcher", "tiny", "--steps", "5", "--out", "x",
                            "--set", "anticipate=true"], capsys)  # fmt: skip
    assert code == 2 and "--set anticipate: use --anticipate instead" in err
