"""Neighbour-intention observation channels (``ObservationConfig.intent``) and their checkpoints."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from agents.batched import BatchedPolicy, NetworkScorer
from agents.checkpoint import load_network, save_checkpoint
from agents.cql import CQL, CQLConfig
from agents.learned import load_learned_navigator
from agents.networks import NavigatorNet, NetworkConfig
from warehouse.config import FleetConfig, ObservationConfig, SimConfig, TasksConfig
from warehouse.core import Observer, Simulation
from warehouse.core.observe import N_CHANNELS, N_FEATURES, observation_size
from warehouse.core.observe_intent import STALL_STEPS
from warehouse.errors import InputError
from warehouse.floor import NodeKind, compile_floor, graph_from_grid

torch.set_num_threads(1)
A, P = NodeKind.AISLE, NodeKind.PICK
# An open 3 × 7 hall (a station and a pick location in two corners, aisles elsewhere).
HALL = np.array(
    [[NodeKind.STATION] + [A] * 6, [A] * 7, [A] * 6 + [P]],
    np.int8,
)
INTENT = ObservationConfig(radius=3, intent=True)


def _hall(robots: list[tuple[int, int]], waypoints: list[tuple[int, int] | None]) -> Simulation:
    cfg = SimConfig(fleet=FleetConfig(robots=len(robots)), tasks=TasksConfig(arrival_rate=0.0))
    sim = Simulation(compile_floor(graph_from_grid(HALL)), cfg)
    sim.reset(seed=0)
    f = sim.floor
    sim.state.pos[:] = [f.cell_of[r, c] for r, c in robots]
    with_wp = [i for i, w in enumerate(waypoints) if w is not None]
    sim.set_waypoints(np.array(with_wp), np.array([f.cell_of[waypoints[i]] for i in with_wp]))
    return sim


def _channels(sim: Simulation, config: ObservationConfig = INTENT) -> np.ndarray:
    """``(N, 6, side, side)`` intent channels of every robot."""
    obs = Observer(sim, config)()
    side = 2 * config.radius + 1
    k = side * side
    assert obs.shape == (sim.n_robots, 10 * k + N_FEATURES)
    return obs[:, 4 * k + N_FEATURES :].reshape(sim.n_robots, 6, side, side)


def test_hand_placed_robots_give_exact_channel_values() -> None:
    # 0 at (1,1) → east; 1 at (1,3) → west (both want (1,2)); 2 at (0,3) has no target;
    # 3 at (1,4) → east into (1,5).
    sim = _hall([(1, 1), (1, 3), (0, 3), (1, 4)], [(1, 5), (1, 0), None, (1, 6)])
    ch = _channels(sim)
    c = 3  # window centre

    def at(robot: int, row: int, col: int) -> np.ndarray:
        """Channels 0-3 as robot ``robot`` sees them at floor cell (row, col)."""
        r0, c0 = (int(v) for v in sim.floor.pos[sim.state.pos[robot]])
        return ch[robot, :4, row - r0 + c, col - c0 + c]

    # Robot 1's view.
    np.testing.assert_array_equal(at(1, 1, 1), [0, 1, 1, 0])  # robot 0: east, goes first
    np.testing.assert_array_equal(at(1, 1, 3), [0, -1, 0, 0])  # me: west, no priority
    np.testing.assert_array_equal(at(1, 1, 2), [0, 0, 0, 1])  # robot 0 (first) claims it
    np.testing.assert_array_equal(at(1, 0, 3), [0, 0, -1, 0])  # robot 2: stays, goes after
    np.testing.assert_array_equal(at(1, 1, 4), [0, 1, -1, 0])  # robot 3: east, goes after
    np.testing.assert_array_equal(at(1, 1, 5), [0, 0, 0, -1])  # claimed by robot 3 only
    # Robot 0's view of the contested cell: the other claimant (1) goes after it.
    np.testing.assert_array_equal(at(0, 1, 2), [0, 0, 0, -1])
    np.testing.assert_array_equal(at(0, 1, 3), [0, -1, -1, 0])
    # Everything else is zero: 4 robots' moves, 3 claimed cells.
    assert np.count_nonzero(ch[1, 0:2]) == 3 and np.count_nonzero(ch[1, 2]) == 3
    assert np.count_nonzero(ch[1, 3]) == 2  # (1,2) and (1,5); (1,3) is claimed by nobody
    # Robot 3's centre: robot 1 moves away from it, nobody claims its cell.
    assert at(3, 1, 4)[3] == 0 and at(3, 1, 3)[2] == 1
    # Stalled: nobody yet; then robot 3 for 8 steps and robot 1 for 100 (saturates).
    assert (ch[:, 4] == 0).all()
    sim.state.since_progress[[3, 1]] = [8, 100]
    ch = _channels(sim)
    assert ch[1, 4, c, c] == 1.0 and ch[1, 4, c, c + 1] == pytest.approx(8 / STALL_STEPS)
    assert ch[3, 4, c, c - 1] == 1.0 and np.count_nonzero(ch[0, 4]) == 2
    # Go: robot 0 wins the contested cell (lower id), robot 1 is stopped, robot 2 stays,
    # robot 3 moves into a cell nobody else wants.
    np.testing.assert_array_equal([ch[1, 5, c, c - 2], ch[1, 5, c, c]], [1, -1])
    np.testing.assert_array_equal([ch[1, 5, c - 1, c], ch[1, 5, c, c + 1]], [0, 1])
    assert np.count_nonzero(ch[1, 5]) == 3


def test_intended_node_prefers_a_free_step_and_respects_the_mask() -> None:
    # Robot 0 at (1,1) heads for (0,2): north (0,1) and east (1,2) are both one step closer;
    # north comes first in action order but robot 1 stands there, so it intends east.
    sim = _hall([(1, 1), (0, 1)], [(0, 2), None])
    ch = _channels(sim)
    assert list(ch[0, :2, 3, 3]) == [0, 1]
    sim.state.pos[1] = sim.floor.cell_of[2, 1]  # north is free now: the first in order wins
    assert list(_channels(sim)[0, :2, 3, 3]) == [-1, 0]
    sim.state.broken[0] = 5  # a broken-down robot may not move: no intention
    assert (_channels(sim)[0, :2] == 0).all()
    # A step a lower id intends loses to a free, unclaimed one: robot 1 at (1,2) heads for
    # (0,3) and could go north to (0,2), but robot 0 intends (0,2), so robot 1 goes east.
    sim = _hall([(0, 1), (1, 2)], [(0, 4), (0, 3)])
    ch = _channels(sim)
    assert list(ch[0, :2, 3, 3]) == [0, 1] and list(ch[1, :2, 3, 3]) == [0, 1]
    sim.state.pos[0] = sim.floor.cell_of[2, 0]  # robot 0 elsewhere: north comes first
    assert list(_channels(sim)[1, :2, 3, 3]) == [-1, 0]


def test_default_layout_is_unchanged_and_scratch_is_restored() -> None:
    sim = _hall([(1, 1), (1, 3), (0, 3), (1, 4)], [(1, 5), (1, 0), None, (1, 6)])
    base = Observer(sim)()
    assert base.shape[1] == observation_size(3) == N_CHANNELS * 49 + N_FEATURES
    assert observation_size(3, True) == 10 * 49 + N_FEATURES
    obs = Observer(sim, INTENT)
    full = obs()
    np.testing.assert_array_equal(full[:, : base.shape[1]], base)
    np.testing.assert_array_equal(obs(), full)  # scratch grids come back clean
    sim.state.pos[0] = sim.floor.cell_of[2, 0]  # move a robot: its old marks are gone
    again = obs()
    fresh = Observer(sim, INTENT)()
    np.testing.assert_array_equal(again, fresh)
    assert not np.array_equal(again, full)


def test_network_reads_the_intent_columns() -> None:
    cfg = NetworkConfig(radius=2, intent=True, heads=1, window_dim=8, hidden=(8,))
    torch.manual_seed(0)
    net = NavigatorNet(cfg)
    assert net.window_size == 10 * 25 and cfg.obs_dim == 10 * 25 + N_FEATURES
    obs = torch.zeros(1, cfg.obs_dim)
    base = net(obs)
    obs[0, -1] = 1.0  # the last intent column
    assert not torch.equal(net(obs), base)


def _intent_cql() -> CQL:
    torch.manual_seed(0)
    net = NetworkConfig(radius=3, intent=True, heads=2, window_dim=8, hidden=(8,))
    return CQL(CQLConfig(network=net))


def test_checkpoint_records_and_restores_the_layout(tmp_path: Path) -> None:
    stem = save_checkpoint(tmp_path / "ck", _intent_cql(), step=0, training=False)
    meta = json.loads((tmp_path / "ck.json").read_text())
    assert meta["observation"] == {"radius": 3, "intent": True}
    nav = load_learned_navigator("cql", stem, device="cpu")
    assert nav.observation == INTENT
    # A fleet built around the navigator observes with its layout.
    from warehouse.fleet import Fleet

    sim = _hall([(1, 1), (1, 3)], [(1, 5), (1, 0)])
    fleet = Fleet(sim, None, nav)
    assert fleet.observer.size == observation_size(3, True)
    step = fleet.step()
    assert step.obs is not None and step.obs.shape == (2, observation_size(3, True))


def test_layout_mismatch_is_a_clear_error(tmp_path: Path) -> None:
    stem = save_checkpoint(tmp_path / "ck", _intent_cql(), step=0, training=False)
    nav = load_learned_navigator("cql", stem, device="cpu")
    sim = _hall([(1, 1), (1, 3)], [(1, 5), (1, 0)])
    default_obs = Observer(sim)()  # the scenario's layout (no intent channels)
    with pytest.raises(InputError, match="502-wide observations") as err:
        nav.act(sim, default_obs, sim.action_mask())
    assert err.value.field == "observation" and Path(err.value.source).name == "ck.json"
    # A JSON whose recorded layout disagrees with the network is refused on load.
    meta = json.loads((tmp_path / "ck.json").read_text())
    meta["observation"]["intent"] = False
    (tmp_path / "ck.json").write_text(json.dumps(meta))
    with pytest.raises(InputError, match="does not match the network"):
        load_network(stem)


def test_policy_without_layout_uses_the_scenario_one() -> None:
    net = NavigatorNet(NetworkConfig(radius=3, heads=1, window_dim=8, hidden=(8,)))
    policy = BatchedPolicy(NetworkScorer(net, device="cpu"), name="x")
    assert policy.observation == ObservationConfig()  # the network's own (default) layout


def test_collection_logs_the_layout_and_training_reads_it(tmp_path: Path) -> None:
    from agents.dataset import CollectConfig, collect, load_dataset
    from agents.train import build_algorithm

    cfg = CollectConfig(targets=("tiny",), episodes=1, steps=5, observation=INTENT)
    man = collect(cfg, tmp_path / "data")
    assert man["observation"] == {"radius": 3, "intent": True}
    assert man["obs_shape"] == [observation_size(3, True)]
    data = load_dataset(tmp_path / "data")
    # Channel 2 (priority) of some logged robot sees another robot.
    side = 7
    prio = data.obs[:, 4 * side * side + N_FEATURES + 2 * side * side :][:, : side * side]
    assert np.abs(prio).max() == 1

    from agents.train import TrainConfig

    algo = build_algorithm(
        TrainConfig(algo="bc", data=tmp_path / "data", out=tmp_path / "run", steps=1),
        data,
        torch.device("cpu"),
    )
    assert algo.config.network.observation == INTENT


def test_collection_applies_and_records_scenario_overrides(tmp_path: Path) -> None:
    from agents.dataset import CollectConfig, collect, load_dataset

    cfg = CollectConfig(
        targets=("tiny",),
        episodes=1,
        steps=40,
        epsilon=1.0,  # random moves: collisions happen
        overrides=(("reward.collision", -150.0),),
    )
    man = collect(cfg, tmp_path / "data")
    assert man["overrides"] == {"reward.collision": -150.0}
    reward = load_dataset(tmp_path / "data").reward
    assert (reward <= -150).any() and not ((reward > -150) & (reward <= -50)).any()
