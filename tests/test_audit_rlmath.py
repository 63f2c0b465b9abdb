"""Audit of the learning algorithms' mathematics against hand-computed small cases.

What the existing tests (test_cql.py, test_ppo.py, test_finetune.py, test_smdp.py) already pin
down by hand is not repeated here; these cover what they leave open: the semi-Markov reward the
dispatcher's rollouts feed to GAE (discounting inside an event, the events tiling the episode to
its horizon, the bootstrap there), the ratio at the first minibatch, masked entropy's gradient in
the navigator's PPO loss, and datasets whose next-state masks allow no action.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch

torch.set_num_threads(1)  # tiny tensors: extra threads only contend on a shared machine


# ------------------------------------------------------------------------- dispatcher SMDP
@pytest.fixture(scope="module")
def dispatcher_episode() -> dict:
    """One sampled dispatcher episode on ``tiny`` with everything GAE was handed recorded."""
    import hierarchy.smdp as smdp
    import hierarchy.train as ht
    from hierarchy.features import global_features
    from hierarchy.network import CandidateScorer, NetConfig

    cfg = ht.TrainConfig(horizon=60, period=5, n_envs=1, imitation_episodes=0, hidden=16)
    pool = ht.FloorPool(cfg.scenarios, cfg.collisions)
    sim = pool.make_sim(0, {})
    env = smdp.DispatchEnv(
        sim, ht.resolve_navigator("rule_based"), features=cfg.features, weights=cfg.weights,
        period=cfg.period, horizon=cfg.horizon, gamma=cfg.ppo.gamma,
    )  # fmt: skip
    torch.manual_seed(0)
    net = CandidateScorer(NetConfig(n_cand=cfg.features.n_cand, hidden=16)).eval()
    steps: list[float] = []  # the team reward of every simulated step, in order
    calls: list[tuple] = []
    team_reward, smdp_gae = smdp.team_reward, ht.smdp_gae

    def record_reward(*args):  # type: ignore[no-untyped-def]
        steps.append(team_reward(*args))
        return steps[-1]

    def record_gae(*args):  # type: ignore[no-untyped-def]
        calls.append(args)
        return smdp_gae(*args)

    mp = pytest.MonkeyPatch()
    mp.setattr(smdp, "team_reward", record_reward)
    mp.setattr(ht, "smdp_gae", record_gae)
    try:
        roll = ht.Rollout()
        ht.collect_episode(env, net, 7, torch.Generator().manual_seed(1), cfg, roll)
    finally:
        mp.undo()
    with torch.no_grad():
        end_value = float(net.value(torch.from_numpy(global_features(sim))[None])[0])
    return {
        "cfg": cfg, "net": net, "roll": roll, "steps": steps, "calls": calls, "sim": sim,
        "end_value": end_value,
    }  # fmt: skip


def test_dispatcher_events_tile_the_episode_and_discount_inside_as_gae_bootstraps(
    dispatcher_episode: dict,
) -> None:
    """Event ``i`` gets ``R_i = Σ_{j<τ_i} γ^j r_{t_i+j}`` (j from 0 at the decision step), the
    events cover every step from the first decision to the horizon once, and the last event
    bootstraps from V of the state at the horizon (a time limit, not a terminal state), so the
    λ=1 return of event 0 is the plain discounted sum of every step's reward plus
    γ^(steps) V(s_H)."""
    ep = dispatcher_episode
    cfg, steps = ep["cfg"], ep["steps"]
    assert len(ep["calls"]) == 1
    rewards, values, last_value, taus, dones, gamma, lam = ep["calls"][0]
    n = len(rewards)
    assert n >= 3  # several decision events on tiny in 60 steps
    assert ep["sim"].t == cfg.horizon == len(steps)
    before = cfg.horizon - int(taus.sum())  # steps run before the first decision (no event)
    assert before >= 0 and (taus >= 1).all()
    assert not dones.any()  # the horizon truncates: no event is terminal
    assert last_value == pytest.approx(ep["end_value"], abs=0)
    assert (gamma, lam) == (cfg.ppo.gamma, cfg.ppo.gae_lambda)
    t = before
    for i in range(n):  # hand sum of each event's discounted reward
        want = sum(gamma**j * steps[t + j] for j in range(int(taus[i])))
        assert rewards[i] == pytest.approx(cfg.reward_scale * want, rel=1e-12, abs=1e-15)
        t += int(taus[i])
    assert t == cfg.horizon
    # with λ = 1 the recursion telescopes to the discounted return from event 0's decision on
    from hierarchy.ppo import smdp_gae

    _, ret = smdp_gae(rewards, values, last_value, taus, dones, gamma, 1.0)
    total = cfg.horizon - before
    mc = sum(gamma**j * steps[before + j] for j in range(total)) * cfg.reward_scale
    assert ret[0] == pytest.approx(mc + gamma**total * last_value, rel=1e-9)


def test_dispatcher_ratio_is_exactly_one_before_the_first_update(
    dispatcher_episode: dict,
) -> None:
    """The rollout scores without gradients (``CandidateScorer.infer``), the update with them:
    both must give the same log-probabilities, so the first minibatch's ratio is 1 and its
    approximate KL and clip fraction are 0 (up to rounding)."""
    from hierarchy.ppo import clipped_surrogate, log_probs

    net, batch = dispatcher_episode["net"], dispatcher_episode["roll"].batch()
    logits = net.logits(batch.cand, batch.glob[batch.row_event], batch.mask)
    new = log_probs(logits, batch.actions)
    # (equal up to rounding: a product's rows depend on how many rows it has, and the rollout
    # scores one event's robots at a time)
    torch.testing.assert_close(new.detach(), batch.logp, rtol=0, atol=1e-6)
    _, info = clipped_surrogate(new.detach(), batch.logp, torch.ones_like(new), 0.2)
    assert float(info["approx_kl"]) < 1e-12 and float(info["clipfrac"]) == 0.0


# ------------------------------------------------------------------------- navigator PPO
def test_navigator_ppo_entropy_and_gradients_over_masked_actions() -> None:
    """Masked actions (``-inf`` logits) add exactly 0 to the entropy and get no gradient;
    nothing in the loss's gradient is NaN."""
    from dataclasses import replace

    from agents.finetune_ppo import FinetuneConfig, Samples, make_critic, ppo_loss
    from agents.networks import NavigatorNet, NetworkConfig

    torch.manual_seed(0)
    actor = NavigatorNet(NetworkConfig(radius=1, window_dim=8, hidden=(8,), heads=2))
    critic = make_critic(actor)
    obs = torch.rand(4, actor.cfg.obs_dim) * 2 - 1
    mask = torch.tensor([[1, 1, 0, 0, 1], [1, 0, 0, 0, 0], [1, 1, 1, 1, 1], [1, 0, 1, 0, 0]])
    mask = mask.bool()
    actions = torch.tensor([4, 0, 3, 2])
    ppo = replace(FinetuneConfig().ppo, skip_forced_rows=False)  # (the forced row 1 counts too)
    cfg = FinetuneConfig(temperature=0.7, ppo=ppo)
    with torch.no_grad():
        z = actor.scores(obs) / 0.7
    hand = []
    for row in range(4):  # entropy over the allowed actions only, by hand
        zz = z[row][mask[row]].double()
        p = torch.softmax(zz, 0)
        hand.append(float(-(p * p.log()).sum()))
    with torch.no_grad():
        old = torch.log_softmax(z.masked_fill(~mask, -torch.inf), 1).gather(1, actions[:, None])
    s = Samples(
        obs=obs, mask=mask, actions=actions, logp=old[:, 0],
        advantages=torch.tensor([1.0, -0.5, 0.25, 2.0]), returns=torch.zeros(4),
        values=torch.zeros(4),
    )  # fmt: skip
    loss, info = ppo_loss(actor, critic, s, torch.arange(4), cfg)
    assert float(info["entropy"].detach()) == pytest.approx(np.mean(hand), rel=1e-5)
    assert hand[1] == 0.0  # a robot that may only wait has a certain policy
    loss.backward()
    for p in [*actor.parameters(), *critic.parameters()]:
        assert p.grad is not None and torch.isfinite(p.grad).all()


# ------------------------------------------------------------------------- offline data
@pytest.fixture(scope="module")
def tiny_dataset(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from agents.dataset import CollectConfig, collect

    out = tmp_path_factory.mktemp("rlmath") / "ds"
    collect(CollectConfig(targets=("tiny",), episodes=1, steps=4), out)
    return out


def test_a_next_mask_that_allows_no_action_is_refused(tiny_dataset: Path, tmp_path: Path) -> None:
    """CQL's target maxes Q over the next state's allowed actions; over none it is the mask
    fill −1e9, so one such row makes a target of about −1e9·γ: a finite loss of ~1e18 that
    trains nonsense without any error. WAIT is always allowed, so the loader refuses it."""
    from agents.cql import CQLConfig, cql_loss
    from agents.dataset import MANIFEST, file_sha256, load_dataset
    from agents.networks import Batch
    from warehouse.errors import InputError

    # the effect: one empty next mask makes the target absurd
    batch = Batch(
        obs=torch.zeros(1, 1), action=torch.tensor([0]), reward=torch.zeros(1),
        next_obs=torch.zeros(1, 1), terminated=torch.tensor([False]),
        mask=torch.ones(1, 5, dtype=torch.bool), next_mask=torch.zeros(1, 5, dtype=torch.bool),
    )  # fmt: skip
    _, rec = cql_loss(torch.zeros(1, 2, 5), torch.zeros(1, 2, 5), batch, CQLConfig())
    assert rec.td_loss > 1e17

    folder = tmp_path / "ds"
    shutil.copytree(tiny_dataset, folder)
    man = json.loads((folder / MANIFEST).read_text())
    path = folder / man["shards"][0]["file"]
    with np.load(path) as z:
        arrays = {k: z[k] for k in z.files}
    arrays["next_mask"][2] = 0
    np.savez(path, **arrays)
    man["shards"][0]["sha256"] = file_sha256(path)
    (folder / MANIFEST).write_text(json.dumps(man))
    with pytest.raises(InputError, match="allows no action") as err:
        load_dataset(folder)
    assert err.value.field == "next_mask"
    assert err.value.source == str(path)


def test_the_last_transition_of_an_episode_bootstraps_from_a_real_next_state(
    tiny_dataset: Path,
) -> None:
    """The warehouse is lifelong: every row has ``terminated`` False (CQL bootstraps), the last
    step of an episode is marked ``truncated``, and its next observation is the floor's next
    state (the collector runs one step more), not a reset."""
    from agents.dataset import load_dataset

    d = load_dataset(tiny_dataset)
    n = 6  # robots of tiny
    assert len(d) == 4 * n and not d.terminated.any()
    np.testing.assert_array_equal(d.truncated, np.repeat([False, False, False, True], n))
    # within the episode, next_obs of step t is obs of step t + 1
    obs, nxt = d.obs.reshape(4, n, -1), d.next_obs.reshape(4, n, -1)
    np.testing.assert_array_equal(nxt[:-1], obs[1:])
    assert not np.array_equal(nxt[-1], obs[0])  # not the reset state
