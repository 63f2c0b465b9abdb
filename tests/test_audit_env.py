"""Audit of the PettingZoo ParallelEnv (warehouse/env.py) and its observations: spaces over long
rollouts on several floors, seeded repeatability of whole trajectories, bad input to ``reset`` and
``step``, rendering without pygame, and pettingzoo's own checkers beyond the tiny floor."""

from __future__ import annotations

import gc
import json
import os
import re
import sys
import warnings
import weakref
from pathlib import Path

os.environ.setdefault("SDL_VIDEODRIVER", "dummy")

import numpy as np
import pytest
from pettingzoo.test import parallel_api_test, parallel_seed_test

import warehouse
from agents import RuleBasedNavigator
from warehouse.core.state import Charge
from warehouse.kpis import compute_kpis

BATTERY = Path(__file__).resolve().parents[1] / "docs" / "results_battery" / "small_battery.yaml"

#: one-way aisles, a scheduled closure from 20 s and random closures and breakdowns
CLOSED_ONE_WAY = """\
name: closed_one_way
layout: {type: generator, shelf_rows: 2, shelf_cols: 3, block_length: 5,
         station_walls: [west, east], one_way: true}
fleet: {robots: 10}
tasks: {arrival_rate: 0.4}
episode: {steps: 250}
faults:
  breakdown_prob: 0.01
  breakdown_steps: 15
  closure_prob: 0.05
  closure_steps: 30
  closures:
    - area: {from: [2, 3], to: [4, 8]}
      start_s: 20
      end_s: 120
"""


def _hub(directed: bool, spokes: int) -> dict:
    """A non-grid floor: a hub joined to a ring of ``spokes`` nodes (``spokes + 1`` actions)."""
    nodes = [{"id": "h", "pos": [10, 10], "kind": "aisle"}]
    edges = []
    for i in range(spokes):
        angle = 2 * np.pi * i / spokes
        kind = "station" if i % 5 == 0 else ("pick" if i % 2 else "aisle")
        pos = [round(10 + 8 * np.sin(angle), 2), round(10 + 8 * np.cos(angle), 2)]
        nodes.append({"id": f"n{i}", "pos": pos, "kind": kind})
        pairs = [("h", f"n{i}"), (f"n{i}", f"n{(i + 1) % spokes}")]
        if directed:
            pairs += [(b, a) for a, b in pairs]
        edges += [{"source": a, "target": b} for a, b in pairs]
    return {"directed": directed, "graph": {"name": "hub"}, "nodes": nodes, "edges": edges}


@pytest.fixture(scope="module")
def floors(tmp_path_factory) -> dict[str, tuple[str, dict]]:
    """Scenario targets and overrides: one-way with closures, battery, two non-grid floors
    (one with more than 16 actions, where masks are not cached), the intent channels."""
    root = tmp_path_factory.mktemp("floors")
    (root / "closed.yaml").write_text(CLOSED_ONE_WAY)
    (root / "hub20.json").write_text(json.dumps(_hub(False, 20)))
    (root / "hub6.json").write_text(json.dumps(_hub(True, 6)))
    return {
        "closed_one_way": (str(root / "closed.yaml"), {}),
        "battery": (str(BATTERY), {"robots": 8, "battery.capacity_wh": 15, "steps": 250}),
        "hub20": (str(root / "hub20.json"), {"robots": 3, "steps": 250}),
        "hub6_physical": (str(root / "hub6.json"), {"robots": 3, "collisions": "physical"}),
        "intent_pibt": ("one_way_aisles", {"robots": 12, "observation.intent": True,
                                           "collisions": "pibt", "steps": 250}),
    }  # fmt: skip


FLOORS = ["closed_one_way", "battery", "hub20", "hub6_physical", "intent_pibt"]


def _env(floors, which: str, **kw):
    target, overrides = floors[which]
    return warehouse.make_env(target, **overrides, **kw)


def _navigated_actions(env, nav, obs, rng, wander: float = 0.2) -> dict:
    """The rule-based fleet's actions with some random allowed moves mixed in."""
    mask = np.stack([o["action_mask"] for o in obs.values()]).astype(bool)
    actions, _ = nav.act(env.sim, None, mask)
    random = np.where(mask, rng.random(mask.shape), -1.0).argmax(axis=1)
    actions = np.where(rng.random(actions.size) < wander, random, actions)
    return dict(zip(obs, actions.tolist(), strict=True))


# ------------------------------------------------------------------------------ spaces
@pytest.mark.parametrize("which", FLOORS)
def test_observations_masks_and_state_stay_in_their_spaces(floors, which):
    """Over two episodes (a seedless reset between) every observation and mask lies in its
    declared space, masks are read-only int8 rows with WAIT allowed, the state in
    ``state_space``; the floor's closures, breakdowns and charging all happen."""
    env = _env(floors, which, state="channels")
    space = env.observation_space("robot_0")
    obs, _ = env.reset(seed=3)
    nav = RuleBasedNavigator()
    nav.reset(3)
    rng = np.random.default_rng(0)
    seen_frozen = seen_closed = seen_charging = 0
    for _ in range(2 * env.max_steps):
        for agent, o in obs.items():
            assert space.contains(o), agent
            mask = o["action_mask"]
            assert mask.dtype == np.int8 and mask[0] == 1 and not mask.flags.writeable
        assert env.state_space.contains(env.state())
        seen_frozen += int((~env.sim.action_mask()[:, 1:].any(axis=1)).sum())
        seen_closed += int(env.sim.closed_nodes().size)
        seen_charging += int((env.sim.state.charge == Charge.CHARGING).sum())
        obs, _, _, truncs, _ = env.step(_navigated_actions(env, nav, obs, rng))
        if all(truncs.values()):
            assert env.agents == []
            obs, _ = env.reset()
    assert seen_frozen > 0  # robots at work (picking, dropping, broken, charging) were seen
    if which == "closed_one_way":
        assert seen_closed > 0
    if which == "battery":
        assert seen_charging > 0


def test_space_methods_do_not_keep_the_env_alive():
    """``observation_space``/``action_space`` return the same object every call, without a
    cache that holds every env ever asked (and its simulation) for the life of the process."""
    env = warehouse.make_env("tiny")
    assert env.observation_space("robot_0") is env.observation_space("robot_5")
    assert env.action_space("robot_0") is env.action_space("robot_5")
    ref = weakref.ref(env)
    del env
    gc.collect()
    assert ref() is None


def test_space_of_an_unknown_agent_is_refused():
    env = warehouse.make_env("tiny")
    for method in (env.observation_space, env.action_space):
        with pytest.raises(KeyError, match="no agent 'robot_6'"):
            method("robot_6")


# ------------------------------------------------------------------------------ seeding
def _trajectory(env, seed: int, steps: int) -> list:
    """Everything the dict API returns over ``steps`` steps, the state, and the KPIs."""
    nav = RuleBasedNavigator()
    nav.reset(seed)
    rng = np.random.default_rng(seed)
    obs, infos = env.reset(seed=seed)
    out: list = [obs, infos]
    for _ in range(steps):
        obs, *rest = env.step(_navigated_actions(env, nav, obs, rng))
        out += [obs, *rest, env.state(), env.last_result.refused.copy()]
    out.append(compute_kpis(env.sim))
    return out


def _identical(a, b) -> bool:
    if isinstance(a, dict):
        return list(a) == list(b) and all(_identical(a[k], b[k]) for k in a)
    if isinstance(a, (list, tuple)):
        return len(a) == len(b) and all(_identical(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, np.ndarray):
        return a.dtype == b.dtype and a.shape == b.shape and a.tobytes() == b.tobytes()
    if isinstance(a, float) and a != a:
        return isinstance(b, float) and b != b
    return type(a) is type(b) and a == b


@pytest.mark.parametrize("which", ["closed_one_way", "battery", "hub6_physical", "intent_pibt"])
def test_a_seeded_reset_repeats_the_whole_trajectory(floors, which):
    """pettingzoo's seed test compares one step: here every observation, reward, flag, info,
    state and the KPIs of 250 steps, in a fresh env and again in the same env after another
    episode; another seed differs."""
    env = _env(floors, which)
    first = _trajectory(env, 5, 250)
    assert first[-1]["deliveries"] > 0
    env.reset(seed=9)
    assert _identical(first, _trajectory(env, 5, 250))
    assert _identical(first, _trajectory(_env(floors, which), 5, 250))
    assert not _identical(first, _trajectory(env, 6, 250))


@pytest.mark.parametrize("seed", [np.int64(7), np.uint16(7)])
def test_a_numpy_integer_seed_is_the_same_seed(seed):
    a, b = warehouse.make_env("tiny"), warehouse.make_env("tiny")
    assert _identical(_trajectory(a, 7, 30), _trajectory(b, seed, 30))
    assert type(b.sim.seed) is int  # (what recordings and dispatchers are given)


@pytest.mark.parametrize(
    ("seed", "error"),
    [(-1, ValueError), (1.5, TypeError), ("3", TypeError), (True, TypeError), ([1, 2], TypeError)],
)
def test_a_bad_seed_is_refused_before_the_episode_changes(seed, error):
    env = warehouse.make_env("tiny", seed=4)
    env.step(dict.fromkeys(env.agents, 2))
    before = (env.sim.seed, env.sim.t, env.sim.state.pos.copy(), env.sim.rng_states())
    with pytest.raises(
        error, match=f"seed must be a non-negative integer, got {re.escape(repr(seed))}"
    ):
        env.reset(seed=seed)
    after = (env.sim.seed, env.sim.t, env.sim.state.pos.copy(), env.sim.rng_states())
    assert _identical(before, after)
    env.step(dict.fromkeys(env.agents, 0))  # the episode goes on


def test_reset_accepts_options_and_ignores_them():
    """pettingzoo's API test passes ``options``; the env reads none (module docstring)."""
    a, b = warehouse.make_env("tiny"), warehouse.make_env("tiny")
    obs_a, _ = a.reset(seed=1, options={"anything": 1})
    obs_b, _ = b.reset(seed=1)
    assert _identical(obs_a, obs_b)


# ------------------------------------------------------------------------------ aliasing
def test_mutating_what_the_env_returns_changes_nothing():
    """Observations, states, infos and the array API's masks belong to the caller."""
    a, b = warehouse.make_env("faults", robots=8), warehouse.make_env("faults", robots=8)
    obs_a, infos = a.reset(seed=2)
    obs_b, _ = b.reset(seed=2)
    rng = np.random.default_rng(0)
    for _ in range(40):
        actions = {k: int(rng.integers(0, 5)) for k in obs_a}
        for o in obs_a.values():
            o["observation"][:] = 0.5
        a.state()[:] = 7.0
        infos["robot_0"]["step"] = -1
        obs_a, _, _, _, infos = a.step(actions)
        obs_b, *_ = b.step(actions)
        assert _identical(obs_a, obs_b)
    obs, mask = a.reset_arrays(seed=3)
    obs[:] = 0.0
    mask[:] = False
    _, mask2 = b.reset_arrays(seed=3)
    assert np.array_equal(a.sim.action_mask(), mask2)


# ------------------------------------------------------------------------------ bad actions
@pytest.mark.parametrize("actions", [[0] * 6, np.zeros(6, np.int64), None, 3])
def test_step_needs_a_dict_of_actions(actions):
    env = warehouse.make_env("tiny", seed=0)
    with pytest.raises(TypeError, match=r"step\(\): actions must be a dict of agent -> action"):
        env.step(actions)
    assert env.sim.t == 0


def test_missing_agents_wait_as_documented():
    """The module docstring: an agent left out of the dict waits (action 0)."""
    a, b = warehouse.make_env("tiny", seed=1), warehouse.make_env("tiny", seed=1)
    a.step({"robot_2": 2, "robot_0": 3})
    b.step({**dict.fromkeys(b.agents, 0), "robot_0": 3, "robot_2": 2})
    assert np.array_equal(a.sim.state.pos, b.sim.state.pos)
    import warehouse.env as env_module

    assert "left out of the dict waits" in " ".join((env_module.__doc__ or "").split())


@pytest.mark.parametrize(
    "preferences",
    [np.zeros((30, 3)), np.zeros((29, 5)), np.zeros(30), np.zeros((30, 5), dtype=object)],
)
def test_step_arrays_checks_the_preferences(preferences):
    """``preferences`` must be ``(N, A)`` numbers; a wrong shape was only noticed by the PIBT
    shield on a step with a conflict, as a numpy broadcasting traceback."""
    env = warehouse.make_env("small", collisions="pibt")
    env.reset_arrays(seed=0)
    actions = np.ones(env.sim.n_robots, np.int64)
    with pytest.raises(ValueError, match=r"step: preferences must be \(30, 5\) numbers"):
        env.step_arrays(actions, preferences)
    assert env.sim.t == 0


# ------------------------------------------------------------------------------ rendering
@pytest.mark.parametrize("mode", ["rgb_array", "human"])
def test_a_render_mode_without_pygame_fails_when_the_env_is_made(monkeypatch, mode):
    """Human mode renders inside ``step``: without pygame the step used to advance the
    simulation and then raise, losing its observations and rewards."""
    monkeypatch.setitem(sys.modules, "pygame", None)
    with pytest.raises(ImportError, match=r"pygame-ce, an optional extra"):
        warehouse.make_env("tiny", render_mode=mode)
    env = warehouse.make_env("tiny", seed=0)  # without a render mode pygame is not needed
    env.step(dict.fromkeys(env.agents, 0))
    assert env.render() is None


def test_human_mode_shows_the_reset_state():
    """Human mode draws on reset too (Gymnasium's convention), so a display that cannot open
    fails there, not in the middle of a step."""
    pygame = pytest.importorskip("pygame")
    env = warehouse.make_env("tiny", render_mode="human")
    env.reset(seed=0)
    assert pygame.display.get_surface() is not None and env._viewer is not None
    env.close()


@pytest.mark.parametrize("mode", ["rgb_array", "human"])
def test_rendering_draws_nothing_from_the_simulation(floors, mode):
    pytest.importorskip("pygame")
    env = _env(floors, "closed_one_way", render_mode=mode)
    plain = _env(floors, "closed_one_way")
    for e in (env, plain):
        e.reset(seed=1)
    rng = np.random.default_rng(0)
    for _ in range(30):
        actions = {a: int(rng.integers(0, 5)) for a in env.agents}
        state = env.sim.rng_states()
        env.render()
        assert env.sim.rng_states() == state
        env.step(actions)
        plain.step(actions)
    assert env.sim.rng_states() == plain.sim.rng_states()
    assert compute_kpis(env.sim) == compute_kpis(plain.sim)
    env.close()


# ------------------------------------------------------------------------------ pettingzoo
ADVISORY = (
    "Observation space for each agent probably should be",
    "Observation is not a NumPy array",
)


@pytest.mark.parametrize("which", ["closed_one_way", "battery", "hub20", "intent_pibt"])
def test_pettingzoo_checkers_on_other_floors(floors, which):
    target, overrides = floors[which]
    overrides = {**overrides, "steps": 40}  # a few episodes end within the checks
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for message in ADVISORY:
            warnings.filterwarnings("ignore", message=message)
        parallel_api_test(warehouse.make_env(target, **overrides), num_cycles=100)
        parallel_seed_test(lambda: warehouse.make_env(target, **overrides), num_cycles=50)


def test_docstring_gives_the_observation_size_with_the_intent_channels():
    import warehouse.env as env_module

    doc = " ".join((env_module.__doc__ or "").split())
    assert "(4·(2r+1)² + 12,)" in doc and "10·(2r+1)² + 12" in doc
    env = warehouse.make_env("tiny", **{"observation.intent": True, "observation.radius": 2})
    assert env.observation_space("robot_0")["observation"].shape == (10 * 25 + 12,)
