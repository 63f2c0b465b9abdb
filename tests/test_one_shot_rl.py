"""One-shot MAPF for RL through the PettingZoo env: what the agent sees, the reward around
its goal, the episode's one-shot metrics in the last step's infos (POGEMA's ``metrics``), the
PettingZoo API and seeding over whole one-shot episodes, and the worked A2C example on them."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from pettingzoo.test import parallel_api_test

import warehouse
from agents import scratch_a2c
from warehouse.kpis import compute_kpis

#: a 5 × 6 MovingAI map with six obstacles: rows 0, 2 and 4 are open lanes
OPEN = "type octile\nheight 5\nwidth 6\nmap\n......\n.@@.@.\n......\n.@..@.\n......\n"
#: robot 0 drives 4 steps, robot 1 starts on its goal, robot 2 drives 3 steps: solved at step 4
STARTS = [[0, 0], [2, 2], [4, 5]]
GOALS = [[0, 4], [2, 2], [4, 2]]
WAIT, NORTH, EAST, SOUTH, WEST = range(5)  #: grid action indices
STEP_KEYS = {"cost", "incidents", "new_orders", "step"}  #: the infos of a step
METRIC_KEYS = {"solved", "on_goal_share", "makespan", "sum_of_costs", "sum_of_costs_lb", "steps"}
#: a random one-shot instance of 4 robots on the built-in ``tiny`` floor, ended when solved
RANDOM_ONE_SHOT = {
    "robots": 4,
    "tasks.mode": "goal_visit",
    "tasks.assignment": "one_shot",
    "episode.stop_when_solved": True,
}


def _scenario(folder: Path, *, steps: int = 20, stop: bool = True, extra: str = "") -> Path:
    (folder / "m.map").write_text(OPEN)
    path = folder / "s.yaml"
    path.write_text(
        "layout: {type: file, path: m.map}\n"
        f"fleet: {{start_cells: {json.dumps(STARTS)}}}\n"
        f"tasks: {{mode: goal_visit, goals: {json.dumps(GOALS)}, assignment: one_shot}}\n"
        f"episode: {{steps: {steps}, stop_when_solved: {str(stop).lower()}}}\n"
        "policies: {dispatcher: greedy, navigator: rule_based}\n" + extra
    )
    return path


def _plan(t: int) -> dict[str, int]:
    """Step ``t`` (0-based) of the hand-made solution: robot 0 east 4 steps, robot 2 west 3."""
    return {"robot_0": EAST, "robot_1": WAIT, "robot_2": WEST if t < 3 else WAIT}


def _features(env: Any, obs: dict[str, Any], agent: str) -> np.ndarray:
    """The task features of ``agent``'s observation (after the four window channels)."""
    k = (2 * env.observer.radius + 1) ** 2
    return obs[agent]["observation"][4 * k : 4 * k + 12]


# --- what the agent sees ------------------------------------------------------------------


def test_observation_gives_the_goal_direction_and_distance_and_zero_once_on_it(
    tmp_path: Path,
) -> None:
    env = warehouse.make_env(_scenario(tmp_path))
    obs, _ = env.reset(seed=0)
    f0 = _features(env, obs, "robot_0")
    assert f0[0] == 0.0 and f0[1] == pytest.approx(4 / 6)  # goal 4 columns east, same row
    assert f0[2] == pytest.approx(4 / 11)  # 4 steps ÷ (H + W)
    assert f0[3 + 5] == 1.0  # phase to_goal
    assert _features(env, obs, "robot_1")[:3].tolist() == [0.0, 0.0, 0.0]  # on its goal
    for t in range(4):
        obs, *_ = env.step(_plan(t))
    for agent in env.possible_agents:  # arrived: offset and distance 0, still to_goal
        assert _features(env, obs, agent)[:3].tolist() == [0.0, 0.0, 0.0]
        assert _features(env, obs, agent)[3 + 5] == 1.0


# --- reward around the goal ---------------------------------------------------------------


def _reward_of_leaving_and_returning(folder: Path, extra: str) -> list[float]:
    """Robot 1's rewards: it steps off the goal it starts on, waits off it, and comes back."""
    env = warehouse.make_env(_scenario(folder, extra=extra))
    env.reset(seed=0)
    out = []
    for action in (EAST, WAIT, WEST, EAST, WEST):
        _, rewards, *_ = env.step({"robot_1": action})
        out.append(rewards["robot_1"])
    return out


def test_leaving_the_goal_costs_nothing_by_default_and_progress_per_step_with_shaping(
    tmp_path: Path,
) -> None:
    """Only the first arrival earns the delivery reward (here at step 3, its start not held at
    step 1); ``reward.progress`` charges each step away from the goal and pays the way back."""
    assert _reward_of_leaving_and_returning(tmp_path, "") == [-1.0, 0.0, 99.0, -1.0, -1.0]
    shaped = _reward_of_leaving_and_returning(tmp_path, "reward: {progress: 2}\n")
    assert shaped == [-3.0, 0.0, 101.0, -3.0, 1.0]


# --- the episode's metrics in the last step's infos ---------------------------------------


def test_the_last_step_of_a_solved_episode_carries_the_one_shot_metrics(tmp_path: Path) -> None:
    env = warehouse.make_env(_scenario(tmp_path))
    _, infos = env.reset(seed=0)
    assert all("metrics" not in i for i in infos.values())
    for t in range(4):
        _, _, terms, truncs, infos = env.step(_plan(t))
        if t < 3:  # the other steps' infos are unchanged
            assert all(set(i) == STEP_KEYS for i in infos.values())
    assert all(terms.values()) and not any(truncs.values())
    expected = {
        "solved": True,
        "on_goal_share": 1.0,
        "makespan": 4,
        "sum_of_costs": 7,  # 4 + 0 (never left the goal it started on) + 3
        "sum_of_costs_lb": 7,
        "steps": 4,
    }
    assert [infos[a]["metrics"] for a in env.possible_agents] == [expected] * 3
    assert len({id(infos[a]["metrics"]) for a in env.possible_agents}) == 3  # one per agent
    assert env.episode_metrics() == expected
    kpis = compute_kpis(env.sim)
    assert {k: kpis[k] for k in METRIC_KEYS} == {**expected, "solved": 1}


def test_a_truncated_unsolved_episode_carries_its_metrics_too(tmp_path: Path) -> None:
    env = warehouse.make_env(_scenario(tmp_path, steps=2))
    env.reset(seed=0)
    env.step(_plan(0))
    _, _, terms, truncs, infos = env.step(_plan(1))
    assert not any(terms.values()) and all(truncs.values())
    assert infos["robot_2"]["metrics"] == {
        "solved": False,
        "on_goal_share": pytest.approx(1 / 3),
        "makespan": None,
        "sum_of_costs": None,
        "sum_of_costs_lb": 7,
        "steps": 2,
    }


def test_lifelong_episodes_have_no_one_shot_metrics() -> None:
    env = warehouse.make_env("tiny", robots=3, steps=3)
    env.reset(seed=0)
    assert env.episode_metrics() is None
    while env.agents:
        *_, infos = env.step({a: WAIT for a in env.agents})
    # (their last step carries the lifelong metrics: tests/test_session40_lacam.py)
    assert all(set(i) == STEP_KEYS | {"metrics"} for i in infos.values())
    assert all("solved" not in i["metrics"] for i in infos.values())


# --- PettingZoo API and seeding over whole one-shot episodes -------------------------------


def test_parallel_api_test_on_a_random_one_shot_instance() -> None:
    env = warehouse.make_env("tiny", **RANDOM_ONE_SHOT, steps=40)
    parallel_api_test(env, num_cycles=200)


def _episode(env: Any, seed: int) -> list[Any]:
    """A whole episode of masked random moves drawn from ``seed``: everything the env returned."""
    rng = np.random.default_rng(seed)
    obs, infos = env.reset(seed=seed)
    out: list[Any] = [{a: o["observation"].tobytes() for a, o in obs.items()}, infos]
    while env.agents:
        actions = {}
        for a in env.agents:
            allowed = np.flatnonzero(obs[a]["action_mask"])
            actions[a] = int(rng.choice(allowed))
        obs, rewards, terms, truncs, infos = env.step(actions)
        out.append(({a: o["observation"].tobytes() for a, o in obs.items()}, rewards))
        out.append((terms, truncs, infos, env.state().tobytes()))
    return out


def test_a_whole_one_shot_episode_is_reproducible_from_its_seed() -> None:
    """Same seed: the same instance and the same episode, step by step to its end (even after
    another episode ran on the env); another seed: another instance."""
    a = warehouse.make_env("tiny", **RANDOM_ONE_SHOT, steps=60)
    b = warehouse.make_env("tiny", **RANDOM_ONE_SHOT, steps=60)
    first = _episode(a, 3)
    _episode(b, 5)
    goals_5 = b.sim.one_shot_goals.copy()
    assert _episode(b, 3) == first
    assert "metrics" in first[-1][2]["robot_0"]
    assert not np.array_equal(a.sim.one_shot_goals, goals_5)


# --- the worked A2C example ------------------------------------------------------------------


def test_scratch_a2c_reports_success_and_on_goal_share_on_one_shot_instances(
    tmp_path: Path,
) -> None:
    lines: list[str] = []
    out = scratch_a2c.train(
        str(_scenario(tmp_path, steps=30)), updates=2, steps=30, seed=0, log=lines.append
    )
    assert len(out["deliveries"]) == 2
    assert len(out["solved"]) == 2 and len(out["on_goal_share"]) == 2
    assert len(out["steps"]) == 2
    for solved, share, steps in zip(out["solved"], out["on_goal_share"], out["steps"], strict=True):
        assert 0.0 <= share <= 1.0 and 1 <= steps <= 30
        assert solved == (share == 1.0)
        assert solved or steps == 30  # an unsolved episode ran to its limit
    assert "on_goal" in lines[0] and "held-out seed" in lines[-1]
    assert set(out["held_out_metrics"]) == METRIC_KEYS


def test_scratch_a2c_on_a_lifelong_floor_reports_deliveries_only() -> None:
    lines: list[str] = []
    out = scratch_a2c.train("tiny", updates=1, steps=5, seed=0, log=lines.append)
    assert set(out) == {"deliveries", "held_out"}
    assert "on_goal" not in lines[0]
