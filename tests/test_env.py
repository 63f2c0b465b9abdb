"""The PettingZoo ParallelEnv: official API checks, spaces, the array API beneath the dicts."""

from __future__ import annotations

import re
import warnings

import numpy as np
import pytest
from cli_helpers import run_cli as _cli
from pettingzoo.test import api_test, parallel_api_test, parallel_seed_test
from pettingzoo.utils.conversions import parallel_to_aec

import warehouse
from warehouse.core import observation_size

#: The two advisory warnings pettingzoo's own action-mask convention triggers.
ADVISORY = (
    "Observation space for each agent probably should be",
    "Observation is not a NumPy array",
)


def _strict_warnings() -> None:
    """Every warning is an error, except exactly the two advisory ones."""
    warnings.simplefilter("error")
    for message in ADVISORY:
        warnings.filterwarnings("ignore", message=message)


def test_parallel_api():
    with warnings.catch_warnings():
        _strict_warnings()
        parallel_api_test(warehouse.make_env("tiny"), num_cycles=1000)


def test_aec_api():
    with warnings.catch_warnings():
        _strict_warnings()
        api_test(parallel_to_aec(warehouse.make_env("tiny")), num_cycles=1000)


def test_parallel_seed():
    with warnings.catch_warnings():
        _strict_warnings()
        parallel_seed_test(lambda: warehouse.make_env("tiny"), num_cycles=100)


def test_agents_spaces_and_sizes():
    env = warehouse.make_env("tiny")
    obs, infos = env.reset(seed=0)
    n = env.sim.n_robots
    assert (
        env.possible_agents == [f"robot_{i}" for i in range(n)]
        and env.agents == env.possible_agents
    )
    assert set(obs) == set(infos) == set(env.agents)
    space = env.observation_space("robot_0")
    assert space is env.observation_space("robot_0") is env.observation_space("robot_1")
    assert env.action_space("robot_0") is env.action_space("robot_3")
    assert env.action_space("robot_0").n == 5
    size = observation_size(env.sim.config.observation.radius)
    assert space["observation"].shape == (size,) and size == 4 * 7 * 7 + 12
    o = obs["robot_0"]
    assert o["observation"].dtype == np.float32 and o["action_mask"].dtype == np.int8
    assert o["action_mask"][0] == 1


def test_space_dicts_and_state_space():
    """The space attributes training libraries read: one entry per agent, the same spaces as
    the methods, and the state in ``state_space``."""
    env = warehouse.make_env("tiny")
    env.reset(seed=0)
    assert list(env.observation_spaces) == list(env.action_spaces) == env.possible_agents
    for agent in env.possible_agents:
        assert env.observation_spaces[agent] is env.observation_space(agent)
        assert env.action_spaces[agent] is env.action_space(agent)
    for _ in range(30):
        assert env.state_space.contains(env.state())
        env.step({a: env.action_space(a).sample() for a in env.agents})


def test_infos_are_one_dict_per_agent():
    """A wrapper that adds a key to one agent's infos must not change another's."""
    env = warehouse.make_env("tiny")
    _, infos = env.reset(seed=0)
    infos["robot_0"]["episode"] = 1
    assert "episode" not in infos["robot_1"]
    _, _, _, _, infos = env.step({a: 0 for a in env.agents})
    infos["robot_0"]["episode"] = 1
    assert "episode" not in infos["robot_1"]
    assert len({id(d) for d in infos.values()}) == len(infos)


def test_the_array_api_runs_on_and_says_when_the_episode_is_over():
    env = warehouse.make_env("tiny", steps=3)
    env.reset_arrays(seed=0)
    done = []
    for _ in range(5):
        env.step_arrays(np.zeros(env.sim.n_robots, np.int64))
        done.append(env.truncated)
    assert done == [False, False, True, True, True] and env.sim.t == 5
    env.reset_arrays(seed=0)
    assert not env.truncated


def test_render_mode_is_fixed_at_construction():
    with pytest.raises(ValueError, match="render_mode"):
        warehouse.make_env("tiny", render_mode="bogus")
    assert warehouse.make_env("tiny").render() is None


def test_truncation_after_episode_steps_and_step_after_end():
    env = warehouse.make_env("tiny", steps=5)
    env.reset(seed=0)
    for t in range(5):
        _, _, terms, truncs, _ = env.step({a: 0 for a in env.agents})
        assert not any(terms.values()) and all(v == (t == 4) for v in truncs.values())
    assert env.agents == []
    with pytest.raises(RuntimeError, match="reset"):
        env.step({})


def test_dict_api_is_a_view_of_the_array_api():
    a, b = warehouse.make_env("tiny"), warehouse.make_env("tiny")
    obs_d, _ = a.reset(seed=4)
    obs_a, mask_a = b.reset_arrays(seed=4)
    rng = np.random.default_rng(0)
    for _ in range(30):
        for i, agent in enumerate(a.possible_agents):
            np.testing.assert_array_equal(obs_d[agent]["observation"], obs_a[i])
            np.testing.assert_array_equal(obs_d[agent]["action_mask"], mask_a[i].astype(np.int8))
        acts = np.where(mask_a, rng.random(mask_a.shape), -1).argmax(axis=1)
        obs_d, rewards, _, _, infos = a.step(dict(zip(a.agents, acts.tolist(), strict=True)))
        obs_a, mask_a, res = b.step_arrays(acts)
        assert [rewards[x] for x in a.agents] == res.reward.tolist()
        assert [infos[x]["cost"] for x in a.agents] == res.cost.tolist()
        assert all(infos[x]["step"] == b.sim.t for x in a.agents)
        assert all(infos[x]["incidents"] == res.incidents for x in a.agents)
        assert all(infos[x]["new_orders"] == res.new_orders for x in a.agents)


def test_random_masked_steps_stay_in_their_spaces():
    """10,000 random masked steps (lifelong, re-reset at truncation) through the dict API."""
    env = warehouse.make_env("tiny", **{"faults.breakdown_prob": 0.01, "faults.closure_prob": 0.05})
    rng = np.random.default_rng(0)
    obs, _ = env.reset(seed=0)
    space = env.observation_space("robot_0")
    previous = None
    for _ in range(10_000):
        for agent, o in obs.items():
            assert space.contains(o), agent
            assert o["observation"].dtype == np.float32 and o["action_mask"].dtype == np.int8
        masks = np.stack([o["action_mask"] for o in obs.values()])
        assert ((masks == 0) | (masks == 1)).all() and (masks[:, 0] == 1).all()
        first = obs["robot_0"]["observation"]
        assert previous is None or not np.shares_memory(first, previous)  # fresh every step
        previous = first
        picks = np.where(masks == 1, rng.random(masks.shape), -1.0).argmax(axis=1)
        obs, rewards, _, truncs, _ = env.step(dict(zip(obs, picks.tolist(), strict=True)))
        assert all(np.isfinite(r) for r in rewards.values())
        if any(truncs.values()):
            obs, _ = env.reset()


def test_state_is_the_occupancy_grid():
    """1 on a cell with an empty robot, 2 with a loaded one (driving to or at its station)."""
    from agents import RuleBasedNavigator
    from warehouse.core import Phase

    env = warehouse.make_env("tiny")
    env.reset(seed=0)
    nav = RuleBasedNavigator()
    nav.reset(0)
    seen_loaded = False
    for _ in range(60):
        s, f = env.sim.state, env.floor
        grid = env.state()
        assert grid.shape == f.shape and grid.dtype == np.float32
        loaded = np.isin(s.phase, [Phase.TO_DROP, Phase.DROPPING])
        want = np.zeros(f.shape, np.float32)
        for node, heavy in zip(s.pos.tolist(), loaded.tolist(), strict=True):
            want[tuple(f.pos[node])] = 2.0 if heavy else 1.0
        np.testing.assert_array_equal(grid, want)
        seen_loaded |= bool(loaded.any())
        env.step_arrays(nav.act(env.sim, None, env.sim.action_mask())[0])
    assert seen_loaded  # the value 2 was checked too


def test_set_dispatcher_none_stops_assignments():
    env = warehouse.make_env("tiny")
    env.set_dispatcher(None)
    env.reset_arrays(seed=0)
    for _ in range(20):
        env.step_arrays(np.zeros(env.sim.n_robots, np.int64))
    assert (env.sim.state.order == -1).all() and env.sim.orders.count > 0


def test_bench_command_writes_json(tmp_path, capsys):
    import json

    out = tmp_path / "bench.json"
    code, text, _ = _cli(
        ["bench", "--robots", "5,12", "--steps", "3", "--api", "both", "--out", str(out)], capsys
    )
    assert code == 0 and "agent-steps/s" in text
    data = json.loads(out.read_text())
    rows = data["results"]
    assert [(r["robots"], r["api"]) for r in rows] == [
        (5, "array"),
        (5, "pettingzoo"),
        (12, "array"),
        (12, "pettingzoo"),
    ]
    assert all(r["steps"] == 3 and r["agent_steps_per_s"] > 0 for r in rows)
    # The same fleet, seed and floor give the same deliveries through both APIs.
    assert rows[0]["deliveries"] == rows[1]["deliveries"]
    assert {"cpu", "python", "numpy"} <= set(data["machine"])
    assert data["threads"] == warehouse.get_threads()


def test_bench_records_its_command_as_a_shell_reads_it(tmp_path, capsys, monkeypatch):
    import json
    import shlex

    out = tmp_path / "a b.json"  # (a space: quoted, so the command can be pasted back)
    argv = ["bench", "--robots", "5", "--steps", "2", "--api", "array", "--out", str(out)]
    monkeypatch.setattr("sys.argv", ["pytest", "-q"])  # in-process: main's own arguments count
    assert _cli(argv, capsys)[0] == 0
    assert shlex.split(json.loads(out.read_text())["command"]) == ["warehouse", *argv]


def test_bench_threads_option_is_recorded(tmp_path, capsys):
    import json

    out = tmp_path / "bench.json"
    before = warehouse.get_threads()
    try:
        argv = ["bench", "--robots", "5", "--steps", "2", "--api", "array", "--threads", "2"]
        code, text, _ = _cli([*argv, "--out", str(out)], capsys)
    finally:
        warehouse.set_threads(before)
    assert code == 0 and "2 thread(s)" in text
    assert json.loads(out.read_text())["threads"] == 2


@pytest.mark.parametrize(
    ("argv", "field"),
    [(["--robots", "ten"], "--robots"), (["--robots", "0"], "--robots"), (["--api", "x"], "--api")],
)
def test_bench_command_rejects_bad_options(argv, field, capsys):
    code, out, err = _cli(["bench", *argv], capsys)
    assert code == 2 and out == ""
    assert err.startswith(f"error: {field}:") and err.count("\n") == 1


def test_infos_and_masks_in_physical_mode():
    """Colliding robots get their own info dict with cost 1; masks are read-only int8 rows
    equal to the array API's mask."""
    env = warehouse.make_env("small", **{"physics.collisions": "physical"})
    twin = warehouse.make_env("small", **{"physics.collisions": "physical"})
    obs, _ = env.reset(seed=1)
    _, mask = twin.reset_arrays(seed=1)
    rng = np.random.default_rng(1)
    hits = 0
    for _ in range(40):
        acts = np.where(mask, rng.random(mask.shape), -1).argmax(axis=1)
        obs, _, _, _, infos = env.step(dict(zip(env.agents, acts.tolist(), strict=True)))
        _, mask, res = twin.step_arrays(acts)
        for i, agent in enumerate(env.possible_agents):
            assert infos[agent]["cost"] == res.cost[i]
            assert infos[agent]["incidents"] == res.incidents
            m = obs[agent]["action_mask"]
            assert m.dtype == np.int8 and not m.flags.writeable
            assert m.tolist() == mask[i].astype(np.int8).tolist()
        hits += int(res.cost.sum())
    assert hits > 0  # random moves on a busy floor do collide


def test_reset_infos_have_the_step_layout():
    env = warehouse.make_env("tiny")
    _, infos = env.reset(seed=0)
    assert set(infos) == set(env.agents)
    assert infos["robot_0"] == {"cost": 0.0, "incidents": 0, "new_orders": 0, "step": 0}
    _, _, _, _, step_infos = env.step({a: 0 for a in env.agents})
    assert set(step_infos["robot_0"]) == set(infos["robot_0"])


def test_env_loads_the_dispatcher_checkpoint_of_the_scenario_file(tmp_path, monkeypatch):
    """A relative ``policies.dispatcher_checkpoint`` counts from the scenario file's folder, as
    in ``warehouse run``, not from the current folder."""
    import shutil

    from agents import make_navigator
    from hierarchy.ppo_dispatcher import WEIGHTS_DIR
    from warehouse.model import WarehouseModel

    scenario = tmp_path / "sc" / "floor.yaml"
    (scenario.parent / "nets").mkdir(parents=True)
    for suffix in (".json", ".safetensors"):
        shutil.copyfile(
            WEIGHTS_DIR / f"ppo_dispatcher{suffix}", scenario.parent / "nets" / f"d{suffix}"
        )
    scenario.write_text(
        "layout: {type: generator, shelf_rows: 2, shelf_cols: 2, block_length: 4}\n"
        "fleet: {robots: 6}\nepisode: {steps: 60}\ntasks: {arrival_rate: 1.0}\n"
        "policies: {dispatcher: ppo, navigator: rule_based, dispatcher_checkpoint: nets/d.json}\n"
    )
    monkeypatch.chdir(tmp_path)
    env = warehouse.make_env(scenario)
    model = WarehouseModel(scenario, seed=2, per_robot=False)
    navigator = make_navigator("rule_based")
    navigator.reset(2)
    env.reset_arrays(seed=2)
    for _ in range(60):
        model.step()
        actions, prefs = navigator.act(env.sim, None, env.sim.action_mask())
        env.step_arrays(actions, prefs)
        assert np.array_equal(env.sim.state.pos, model.sim.state.pos)


def test_progress_reward_counts_steps_closer_to_an_unchanged_target():
    """``reward.progress``: +w per shortest-path step closer to the target, −w per step away,
    0 when the target changed during the step (picked, delivered, newly assigned)."""
    from agents import RuleBasedNavigator

    w = 0.5
    only = {"reward.per_metre": 0.0, "reward.delivery": 0.0, "reward.collision": 0.0}
    env = warehouse.make_env("small", **only, **{"reward.progress": w})
    env.reset_arrays(seed=3)
    nav = RuleBasedNavigator()
    nav.reset(3)
    rng = np.random.default_rng(0)
    seen = {"closer": 0, "away": 0, "changed": 0}
    for _ in range(150):
        sim = env.sim
        goal = sim.state.target.copy()
        before = sim.target_distance()
        actions, _ = nav.act(sim, None, sim.action_mask())
        wander = rng.random(actions.size) < 0.3  # some random moves, so some go away
        actions = np.where(wander, rng.integers(0, 5, actions.size), actions)
        _, _, res = env.step_arrays(actions)
        # the env's dispatcher has run after the step: read the targets the step ended with
        after_goal = sim.state.target  # assignments only go to idle robots, whose reward is 0
        after = sim.target_distance()
        for i in range(sim.n_robots):
            if goal[i] < 0 or goal[i] != after_goal[i]:
                expected = 0.0
                seen["changed"] += goal[i] >= 0
            else:
                expected = w * (int(before[i]) - int(after[i]))
                seen["closer"] += expected > 0
                seen["away"] += expected < 0
            assert res.reward[i] == pytest.approx(expected), i
    assert seen["closer"] > 50 and seen["away"] > 5 and seen["changed"] > 5


def test_dict_actions_take_any_integer_form_and_refuse_the_rest():
    import torch

    env = warehouse.make_env("tiny")
    twin = warehouse.make_env("tiny")
    env.reset(seed=2)
    twin.reset_arrays(seed=2)
    forms = [
        lambda a: a,
        np.int32,
        lambda a: np.array([a]),
        torch.tensor,
        lambda a: torch.tensor([a]),
    ]
    rng = np.random.default_rng(0)
    for step in range(10):
        acts = rng.integers(0, 5, env.sim.n_robots)
        form = forms[step % len(forms)]
        env.step({agent: form(int(a)) for agent, a in zip(env.agents, acts, strict=True)})
        twin.step_arrays(acts)
        assert np.array_equal(env.sim.state.pos, twin.sim.state.pos)
    for bad, shown in ((2.7, "2.7"), (np.array([1, 2]), "array([1, 2])"), (True, "True")):
        with pytest.raises(
            ValueError, match=rf"action of 'robot_0' must be one integer, got {re.escape(shown)}"
        ):
            env.step({agent: bad for agent in env.agents})
    with pytest.raises(KeyError, match="no agent 'robot_99'"):
        env.step({"robot_99": 1})
    zeros = dict.fromkeys(env.agents, 0)
    for one_bool in (True, np.bool_(False)):  # refused among integers too (numpy reads 0/1)
        with pytest.raises(ValueError, match="action of 'robot_1' must be one integer"):
            env.step({**zeros, "robot_1": one_bool})


def test_a_whole_number_beyond_int64_is_refused_like_any_out_of_range_action():
    env = warehouse.make_env("tiny")
    env.reset(seed=0)
    for huge in (2**64, -(2**63) - 1, 2**63):
        env.step({**dict.fromkeys(env.agents, 0), "robot_0": huge})
        assert env.last_result.refused[0]


def test_step_state_and_render_need_a_reset_first():
    env = warehouse.make_env("tiny", render_mode="rgb_array")
    calls = [(lambda: env.step({}), "step"), (env.state, "state"), (env.render, "render"),
             (lambda: env.step_arrays(np.zeros(2)), "step")]  # fmt: skip
    for call, what in calls:
        with pytest.raises(RuntimeError, match=rf"{what}\(\) called before reset\(\)"):
            call()
    env.reset(seed=0)
    assert env.state().shape == env.floor.shape


def test_channel_state_for_a_centralized_critic():
    """``state="channels"``: robots, loaded robots, robots heading for the cell, open orders at
    the cell, cells no robot can enter; checked against a per-robot count."""
    from agents import RuleBasedNavigator

    env = warehouse.make_env("faults", state="channels", **{"tasks.arrival_rate": 3.0})
    env.reset_arrays(seed=1)
    nav = RuleBasedNavigator()
    nav.reset(1)
    f = env.floor
    for _ in range(80):
        env.step_arrays(nav.act(env.sim, None, env.sim.action_mask())[0])
    sim, s = env.sim, env.sim.state
    got = env.state()
    assert got.shape == (5, *f.shape) and env.state_space.contains(got)
    want = np.zeros((5, *f.shape), np.float32)
    want[4] = 1.0
    for node, (r, c) in enumerate(f.pos.tolist()):
        want[4, r, c] = 1.0 if node in set(sim.closed_nodes().tolist()) else 0.0
    for i in range(sim.n_robots):
        r, c = f.pos[s.pos[i]]
        want[0, r, c] += 1
        want[1, r, c] += float(s.carrying[i])
        if s.target[i] >= 0:
            want[2][tuple(f.pos[s.target[i]])] += 1
    for order in sim.open_orders().tolist():
        want[3][tuple(f.pos[sim.orders.pick[order]])] += 1
    np.testing.assert_array_equal(got, want)
    assert want[1].sum() > 0 and want[3].sum() > 0 and want[4].sum() > 0
    with pytest.raises(ValueError, match="state must be 'grid' or 'channels'"):
        warehouse.make_env("tiny", state="full")
