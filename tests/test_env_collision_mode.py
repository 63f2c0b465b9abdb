"""The env's collision mode: ``collisions=``, else the scenario's ``policies.shield``, else its
``physics.collisions`` (as ``warehouse run`` picks it for a policy with no mode of its own)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import warehouse
from scenarios import load_scenario

SCENARIO = """\
layout: {type: generator, shelf_rows: 2, shelf_cols: 2}
fleet: {robots: 24}
physics: {collisions: physical}
policies: {shield: pibt}
"""


@pytest.fixture
def shielded(tmp_path: Path) -> Path:
    path = tmp_path / "shielded.yaml"
    path.write_text(SCENARIO)
    return path


def incidents_under_random_moves(env, steps: int = 60) -> int:
    """Collision incidents of ``steps`` steps of seeded random allowed moves."""
    rng = np.random.default_rng(0)  # (the test's own stream, not the env's)
    obs, _ = env.reset(seed=0)
    total = 0
    for _ in range(steps):
        actions = {}
        for agent in env.agents:
            allowed = np.flatnonzero(obs[agent]["action_mask"])
            actions[agent] = int(rng.choice(allowed))
        obs, _, _, _, infos = env.step(actions)
        total += int(next(iter(infos.values()))["incidents"])
    return total


def test_the_env_runs_the_scenarios_policies_shield(shielded: Path) -> None:
    env = warehouse.make_env(shielded)
    assert env.sim.config.physics.collisions == "pibt"
    assert incidents_under_random_moves(env) == 0


def test_collisions_keyword_overrides_the_policies_shield(shielded: Path) -> None:
    env = warehouse.make_env(shielded, collisions="physical")
    assert env.sim.config.physics.collisions == "physical"
    assert env.scenario.policies.shield is None  # what runs is what the env's scenario says
    assert incidents_under_random_moves(env) > 0  # the same moves collide without the shield


def test_a_dotted_physics_setting_below_the_policies_shield_is_refused(shielded: Path) -> None:
    """The scenario's ``policies.shield`` decides the mode, so a ``physics.collisions`` given
    here would be ignored: refused in one line that names the keyword to use (as ``warehouse run
    --set physics.collisions=...`` is refused there)."""
    for given in ({"physics.collisions": "block"}, {"physics": {"collisions": "block"}}):
        with pytest.raises(ValueError, match=r"^make_env: physics\.collisions has no effect .*"
                           r"policies\.shield \(pibt\).*use collisions=$"):  # fmt: skip
            warehouse.make_env(shielded, **given)
    # without a policies.shield it decides, and collisions= decides over both
    plain = shielded.with_name("plain.yaml")
    plain.write_text(SCENARIO.replace("policies: {shield: pibt}\n", ""))
    env = warehouse.make_env(plain, **{"physics.collisions": "block"})
    assert env.sim.config.physics.collisions == "block"
    env = warehouse.make_env(shielded, collisions="block")
    assert env.sim.config.physics.collisions == "block"


def test_without_policies_shield_the_env_runs_physics_collisions() -> None:
    env = warehouse.make_env("small", robots=8)
    sc, _ = load_scenario("small")
    assert sc.policies.shield is None
    assert env.sim.config.physics.collisions == sc.physics.collisions


def test_sim_config_with_a_mode_is_a_copy(shielded: Path) -> None:
    sc, _ = load_scenario(shielded)
    assert sc.sim_config().physics.collisions == "physical"
    assert sc.sim_config("block").physics.collisions == "block"
    assert sc.physics.collisions == "physical"  # the scenario itself is unchanged
    assert sc.sim_config("physical") == sc.sim_config()
