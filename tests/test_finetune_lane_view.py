"""PPO fine-tuning with the lane-aligned view (``train-navigator --algo ppo --lane-view``)."""

from __future__ import annotations

import numpy as np
import torch

from agents import finetune_ppo as fp
from agents.finetune import Floors, load_init, rollout
from agents.finetune_ppo import FinetuneConfig, SamplingNavigator
from agents.lane_view import MIRROR, LaneView, north_south_lanes
from agents.learned import DEFAULT_WEIGHTS
from hierarchy import make_dispatcher
from hierarchy.ppo import log_probs
from scenarios import apply_overrides, build_floor, load_scenario
from warehouse.core import Simulation
from warehouse.fleet import Fleet

INIT = DEFAULT_WEIGHTS / "cql.json"


def turned_tiny_fleet(nav) -> Fleet:  # type: ignore[no-untyped-def]
    """``tiny`` turned about its diagonal: its 4-cell east-west aisles run north-south."""
    sc, src = load_scenario("tiny")
    sc = apply_overrides(sc, {"layout.transpose": True, "physics.collisions": "pibt"}, src)
    return Fleet(Simulation(build_floor(sc, src), sc.sim_config()), make_dispatcher("greedy"), nav)


def test_samples_are_kept_in_the_frame_the_network_decided_in() -> None:
    actor, _, observation = load_init(INIT)
    critic = fp.make_critic(actor)
    nav = SamplingNavigator(actor, critic, 1.0, observation, lane_view=True)
    fleet = turned_tiny_fleet(nav)
    fleet.reset(5)
    view = LaneView(observation)
    lanes = north_south_lanes(fleet.sim.floor)
    seen = 0
    for _ in range(60):
        step = fleet.step()
        sel = np.flatnonzero(lanes[nav.last_pos])  # where the robots stood when deciding
        if not sel.size:
            assert np.array_equal(nav.last_obs, step.obs)
            continue
        seen += sel.size
        obs, mask = view.mirror(step.obs, step.mask, sel)
        assert np.array_equal(nav.last_obs, obs) and np.array_equal(nav.last_mask, mask)
        assert not np.array_equal(nav.last_obs[sel], step.obs[sel])  # really mirrored
        # the floor got the mirrored-frame action mapped back; other robots are untouched
        expected = nav.last_act.copy()
        expected[sel] = MIRROR[expected[sel]]
        assert np.array_equal(step.proposed, expected)
        # the stored log-probabilities are those of the stored actions in the stored frame
        logits = fp.policy_logits(actor, torch.from_numpy(obs).float(), torch.from_numpy(mask), 1.0)
        logp = log_probs(logits, torch.from_numpy(nav.last_act)).detach().numpy()
        np.testing.assert_allclose(logp, nav.last_logp, rtol=1e-6, atol=1e-6)
    assert seen > 20  # robots did stand in the lanes


def test_the_option_changes_nothing_on_floors_without_long_north_south_lanes() -> None:
    actor, critic, observation = load_init(INIT)
    critic = fp.make_critic(actor)
    base = FinetuneConfig(scenarios=("tiny",), rollout_steps=30, updates=1)
    off, _ = rollout(Floors(base, actor, critic, observation), base, 0)
    with_view = FinetuneConfig(scenarios=("tiny",), rollout_steps=30, updates=1, lane_view=True)
    on, _ = rollout(Floors(with_view, actor, critic, observation), with_view, 0)
    for name in ("obs", "mask", "actions", "logp", "advantages"):
        assert torch.equal(getattr(off, name), getattr(on, name)), name


def test_config_without_the_field_reads_as_off() -> None:
    data = FinetuneConfig().to_json()
    del data["lane_view"]  # a checkpoint written before the option existed
    assert FinetuneConfig.from_json(data).lane_view is False


def test_the_bootstrap_value_is_read_in_the_frame_the_robots_decide_in(tmp_path, monkeypatch):
    """The rollout's last value (GAE's bootstrap) read the unmirrored observation, while every
    value before it was read in the mirrored frame of the robots in north-south lanes."""
    from scenarios import builtin_path

    turned = tmp_path / "turned.yaml"
    turned.write_text(
        builtin_path("tiny")
        .read_text()
        .replace("block_length: 4", "block_length: 4\n  transpose: true")
    )
    actor, _, observation = load_init(INIT)
    torch.manual_seed(0)
    critic = fp.make_critic(actor)
    cfg = FinetuneConfig(scenarios=(str(turned),), rollout_steps=30, updates=1, lane_view=True)

    def run(read_value):  # type: ignore[no-untyped-def]
        monkeypatch.setattr(SamplingNavigator, "value", read_value)
        floors = Floors(cfg, actor, critic, observation)
        samples, _ = rollout(floors, cfg, 0)
        return samples, floors

    in_frame = SamplingNavigator.value
    new, floors = run(in_frame)

    def unmirrored(self, sim, obs):  # type: ignore[no-untyped-def]
        with torch.no_grad():
            return fp.value_of(self.critic, torch.from_numpy(obs).float()).numpy()

    old, _ = run(unmirrored)
    fleet, nav = floors.fleets[0], floors.navs[0]
    obs = fleet.observer()
    sel = np.flatnonzero(north_south_lanes(fleet.sim.floor)[fleet.sim.state.pos])
    assert sel.size  # robots stand in the lanes at the end
    mirrored, _ = LaneView(observation).mirror(obs, fleet.sim.action_mask(), sel)
    with torch.no_grad():
        expected = fp.value_of(critic, torch.from_numpy(mirrored).float()).numpy()
    np.testing.assert_allclose(in_frame(nav, fleet.sim, obs), expected, rtol=0, atol=0)
    # the last step's returns move by γ × the change of the bootstrap, lane robots only
    n = fleet.sim.n_robots
    delta = (new.returns[-n:] - old.returns[-n:]).numpy()
    gap = cfg.ppo.gamma * (expected - unmirrored(nav, fleet.sim, obs))
    np.testing.assert_allclose(delta, gap, atol=1e-5)
    assert np.abs(delta[sel]).max() > 0 and np.all(np.delete(delta, sel) == 0)
