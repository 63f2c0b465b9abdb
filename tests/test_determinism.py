"""Same seed + same actions → bit-identical trajectories over 500 steps; other seeds differ."""

from __future__ import annotations

import numpy as np
import pytest

import warehouse

VARIANTS = {
    "default": {},
    "faults": {"faults.breakdown_prob": 0.02, "faults.closure_prob": 0.1},
    "goal_visit": {"tasks": "goal_visit"},
    "physical": {"collisions": "physical"},
}


def rollout(seed: int, overrides: dict, steps: int = 500) -> list:
    """Dict-API trajectory; actions come from a fixed RNG over each step's mask."""
    env = warehouse.make_env("tiny", steps=steps, **overrides)
    actor = np.random.default_rng(1234)
    obs, infos = env.reset(seed=seed)
    out = [(obs, infos)]
    for _ in range(steps):
        actions = {a: int(actor.choice(np.flatnonzero(o["action_mask"]))) for a, o in obs.items()}
        obs, rewards, terms, truncs, infos = env.step(actions)
        out.append((obs, rewards, terms, truncs, infos))
    return out


def identical(a, b) -> bool:
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(identical(a[k], b[k]) for k in a)
    if isinstance(a, (list, tuple)):
        return len(a) == len(b) and all(identical(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, np.ndarray):
        return a.dtype == b.dtype and a.shape == b.shape and a.tobytes() == b.tobytes()
    return type(a) is type(b) and a == b


@pytest.mark.parametrize("variant", list(VARIANTS))
def test_same_seed_same_trajectory(variant):
    first = rollout(7, VARIANTS[variant])
    second = rollout(7, VARIANTS[variant])
    assert identical(first, second)


@pytest.mark.parametrize("variant", ["default", "goal_visit"])
def test_other_seed_other_trajectory(variant):
    a = rollout(7, VARIANTS[variant], steps=100)
    b = rollout(8, VARIANTS[variant], steps=100)
    assert not identical(a, b)


@pytest.mark.parametrize("navigator", ["rule_based", "behavior", "random"])
def test_a_navigator_draws_nothing_from_the_simulation(navigator):
    """Policies and the simulation own separate generators: a navigator deciding (the ε-greedy
    and random ones draw from their own every call) moves none of the simulation's streams."""
    from agents import make_navigator

    env = warehouse.make_env("tiny", **VARIANTS["faults"])
    env.reset_arrays(seed=3)
    nav = make_navigator(navigator)
    nav.reset(99)
    state = env.sim.rng_states()
    for _ in range(20):
        nav.act(env.sim, None, env.sim.action_mask())
    assert env.sim.rng_states() == state


def _seedless_episodes(env, episodes: int = 3, steps: int = 60) -> list:
    """Positions, orders and rewards of ``episodes`` episodes, each begun with ``reset()``
    without a seed; actions come from a fixed RNG over each step's mask."""
    actor = np.random.default_rng(5)
    out = []
    for _ in range(episodes):
        obs, _ = env.reset()
        for _ in range(steps):
            actions = {
                a: int(actor.choice(np.flatnonzero(o["action_mask"]))) for a, o in obs.items()
            }
            obs, rewards, *_ = env.step(actions)
            out.append((env.sim.state.pos.copy(), rewards))
        ob = env.sim.orders
        out.append((ob.pick[: ob.count].copy(), env.sim.seed))
    return out


@pytest.mark.parametrize("variant", ["faults", "goal_visit"])
def test_reset_without_seed_continues_the_seeded_stream(variant):
    """Gymnasium's contract (and ``make_env(seed=...)``'s docstring): a seedless reset continues
    the stream of the last seeded one, so the whole sequence of episodes repeats; the dispatcher
    (here the random one) is re-seeded from the same stream."""
    overrides = {**VARIANTS[variant], "policies.dispatcher": "random"}
    runs = []
    for _ in range(2):
        env = warehouse.make_env("tiny", seed=11, steps=500, **overrides)
        runs.append(_seedless_episodes(env))
    assert identical(runs[0], runs[1])
    other = warehouse.make_env("tiny", seed=12, steps=500, **overrides)
    assert not identical(runs[0], _seedless_episodes(other))


def test_fleet_reset_without_seed_reseeds_every_part_from_the_stream():
    """``Fleet.reset(None)`` after a seeded reset: the simulation draws the episode's seed and
    the dispatcher and navigator get that seed, so random parts repeat too."""
    from warehouse.model import WarehouseModel

    def episodes() -> list:
        model = WarehouseModel("tiny", seed=4, policy="random", steps=50, per_robot=False)
        out = []
        for _ in range(3):
            model.fleet.run(50)
            out.append((model.sim.state.pos.copy(), model.sim.orders.count, model.sim.seed))
            model.fleet.reset(None)
        return out

    first, second = episodes(), episodes()
    assert identical(first, second)
    assert first[1][2] != first[2][2]  # each seedless reset draws a new seed
