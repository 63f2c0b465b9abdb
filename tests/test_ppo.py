"""PPO pieces on hand-computed values; masked candidates are never chosen."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from hierarchy.network import CandidateScorer, NetConfig, masked_logits
from hierarchy.ppo import (
    Batch,
    PPOConfig,
    clipped_surrogate,
    explained_variance,
    log_probs,
    masked_entropy,
    ppo_update,
    sample_actions,
    smdp_gae,
)


def test_smdp_gae_hand_computed() -> None:
    # Two events: τ = 2 then τ = 1, γ = 0.9, λ = 0.5, bootstrap V = 3 after the last.
    adv, ret = smdp_gae(
        np.array([1.0, 2.0]), np.array([0.5, 1.0]), 3.0, np.array([2, 1]),
        np.array([False, False]), gamma=0.9, lam=0.5,
    )  # fmt: skip
    d1 = 2.0 + 0.9 * 3.0 - 1.0  # 3.7
    d0 = 1.0 + 0.9**2 * 1.0 - 0.5  # 1.31: the bootstrap is discounted by γ^τ
    a0 = d0 + (0.9 * 0.5) ** 2 * d1
    assert adv == pytest.approx([a0, d1])
    assert ret == pytest.approx([a0 + 0.5, d1 + 1.0])


def test_smdp_gae_done_cuts_bootstrap_and_trace() -> None:
    adv, _ = smdp_gae(
        np.array([1.0, 2.0]), np.array([0.5, 1.0]), 3.0, np.array([2, 1]),
        np.array([True, True]), gamma=0.9, lam=0.5,
    )  # fmt: skip
    assert adv == pytest.approx([1.0 - 0.5, 2.0 - 1.0])


def test_smdp_gae_tau_one_is_ordinary_gae() -> None:
    r, v = np.array([0.3, -1.0, 2.0]), np.array([0.1, 0.2, 0.4])
    adv, _ = smdp_gae(r, v, 0.7, np.ones(3), np.zeros(3, bool), gamma=0.99, lam=0.95)
    nv = np.array([0.2, 0.4, 0.7])
    delta = r + 0.99 * nv - v
    expect = [0.0, 0.0, delta[2]]
    expect[1] = delta[1] + 0.99 * 0.95 * expect[2]
    expect[0] = delta[0] + 0.99 * 0.95 * expect[1]
    assert adv == pytest.approx(expect)


def test_clipped_surrogate_hand_computed() -> None:
    old = torch.zeros(3)
    new = torch.log(torch.tensor([1.5, 0.5, 1.1]))
    adv = torch.tensor([1.0, 1.0, -1.0])
    loss, info = clipped_surrogate(new, old, adv, clip_eps=0.2)
    # min(1.5, 1.2) = 1.2; min(0.5, 0.8) = 0.5; min(-1.1, -1.1) = -1.1
    assert float(loss) == pytest.approx(-(1.2 + 0.5 - 1.1) / 3)
    assert float(info["clipfrac"]) == pytest.approx(2 / 3)
    r = np.array([1.5, 0.5, 1.1])
    assert float(info["approx_kl"]) == pytest.approx(np.mean(r - 1 - np.log(r)), rel=1e-5)


def test_clipping_stops_the_gradient_beyond_the_trust_region() -> None:
    new = torch.log(torch.tensor([1.5])).requires_grad_(True)
    loss, _ = clipped_surrogate(new, torch.zeros(1), torch.tensor([1.0]), clip_eps=0.2)
    loss.backward()
    assert float(new.grad) == 0.0  # ratio 1.5 > 1.2 with A > 0: clipped, no push further


def test_masked_entropy_and_log_probs() -> None:
    logits = masked_logits(torch.tensor([[1.0, 2.0, 3.0]]), torch.tensor([[True, False, True]]))
    ent = masked_entropy(logits)
    p = np.exp([1.0, 3.0]) / np.exp([1.0, 3.0]).sum()
    assert float(ent[0]) == pytest.approx(-(p * np.log(p)).sum(), rel=1e-6)
    assert torch.isfinite(ent).all()
    assert float(log_probs(logits, torch.tensor([1]))[0]) == -math.inf


def test_masked_actions_are_never_sampled() -> None:
    # Masked slots carry the largest raw scores: masking alone must keep them out.
    raw = torch.tensor([[50.0, 0.0, 50.0, 0.1, 50.0]]).repeat(4000, 1)
    mask = torch.tensor([[False, True, False, True, True]]).repeat(4000, 1)
    mask[::2, 4] = False
    gen = torch.Generator().manual_seed(0)
    actions = sample_actions(masked_logits(raw, mask), gen)
    assert mask[torch.arange(4000), actions].all()
    assert set(actions[::2].tolist()) == {1, 3}


def test_network_never_chooses_padded_candidates() -> None:
    torch.manual_seed(0)
    net = CandidateScorer(NetConfig(hidden=16))
    k = 8
    cand = torch.randn(300, k, net.cfg.n_cand) * 5
    glob = torch.randn(300, net.cfg.n_global)
    n_valid = torch.randint(0, k + 1, (300,))
    mask = torch.ones(300, k + 1, dtype=torch.bool)
    mask[:, :k] = torch.arange(k)[None, :] < n_valid[:, None]  # WAIT (column k) stays allowed
    logits = net.logits(cand, glob, mask)
    gen = torch.Generator().manual_seed(1)
    for _ in range(20):
        a = sample_actions(logits, gen)
        assert mask[torch.arange(300), a].all()


def test_scorer_is_permutation_equivariant_over_candidates() -> None:
    torch.manual_seed(0)
    net = CandidateScorer(NetConfig(hidden=16))
    cand = torch.randn(1, 5, net.cfg.n_cand)
    glob = torch.randn(1, net.cfg.n_global)
    mask = torch.ones(1, 6, dtype=torch.bool)
    perm = torch.tensor([3, 0, 4, 1, 2])
    a = net.logits(cand, glob, mask)
    b = net.logits(cand[:, perm], glob, mask)
    assert torch.allclose(a[0, :5][perm], b[0, :5], atol=1e-6)
    assert torch.allclose(a[0, 5], b[0, 5], atol=1e-6)  # WAIT does not depend on the order


def test_explained_variance() -> None:
    y = np.array([1.0, 2.0, 3.0, 4.0])
    assert explained_variance(y, y) == pytest.approx(1.0)
    assert explained_variance(np.full(4, y.mean()), y) == pytest.approx(0.0)
    assert math.isnan(explained_variance(y, np.ones(4)))


def test_ppo_update_moves_probability_toward_positive_advantage() -> None:
    torch.manual_seed(0)
    net = CandidateScorer(NetConfig(hidden=16))
    k, n = 3, 64
    cand = torch.randn(n, k, net.cfg.n_cand)
    glob = torch.randn(n, net.cfg.n_global)
    mask = torch.ones(n, k + 1, dtype=torch.bool)
    actions = torch.zeros(n, dtype=torch.int64)
    with torch.no_grad():
        logits = net.logits(cand, glob, mask)
        old = log_probs(logits, actions)
    adv = torch.where(torch.arange(n) % 2 == 0, 1.0, -0.2)
    batch = Batch(
        cand=cand, mask=mask, row_event=torch.arange(n), actions=actions, logp=old,
        glob=glob, advantages=adv, returns=torch.zeros(n), values=torch.zeros(n),
    )  # fmt: skip
    opt = torch.optim.Adam(net.parameters(), lr=1e-2)
    cfg = PPOConfig(epochs=4, minibatches=2, norm_adv=False, target_kl=None, ent_coef=0.0)
    stats = ppo_update(net, opt, batch, cfg, np.random.default_rng(0))
    with torch.no_grad():
        new = log_probs(net.logits(cand, glob, mask), actions)
    assert float((new - old)[::2].mean()) > 0
    # The statistics are means over every minibatch of every epoch: the first minibatch sees
    # the old policy itself (ratio 1: no divergence, nothing clipped), the later ones a policy
    # that has moved, so both are above zero; lr 1e-2 is not so large that every ratio clips.
    assert stats["approx_kl"] > 0
    assert 0.0 < stats["clipfrac"] < 1.0
