"""Discrete CQL: the loss on a hand-computed example and the conservative effect on a toy set."""

from __future__ import annotations

import math

import pytest
import torch

from agents.cql import CQL, CQLConfig, cql_loss
from agents.networks import Batch, NetworkConfig

torch.set_num_threads(1)  # tiny tensors: extra threads only contend on a shared machine


def _batch(**kw) -> Batch:
    return Batch(
        obs=kw.get("obs", torch.zeros(2, 1)),
        action=torch.tensor(kw["action"]),
        reward=torch.tensor(kw["reward"], dtype=torch.float32),
        next_obs=kw.get("next_obs", torch.zeros(2, 1)),
        terminated=torch.tensor(kw["terminated"]),
        mask=torch.tensor(kw["mask"], dtype=torch.bool),
        next_mask=torch.tensor(kw["next_mask"], dtype=torch.bool),
    )


def test_cql_loss_two_state_example_by_hand() -> None:
    # Two states, two heads, three actions. State 0 forbids action 2; state 1 is terminal.
    q = torch.tensor([[[1.0, 2.0, 5.0], [0.0, 2.0, 3.0]], [[0.0, 0.0, 0.0], [1.0, 0.0, 0.0]]])
    q_next = torch.tensor([[[1.0, 9.0, 3.0], [2.0, 9.0, 1.0]], [[7.0, 7.0, 7.0], [7.0, 7.0, 7.0]]])
    batch = _batch(
        action=[1, 0],
        reward=[1.0, -2.0],
        terminated=[False, True],
        mask=[[1, 1, 0], [1, 1, 1]],
        next_mask=[[1, 0, 1], [1, 1, 1]],
    )
    cfg = CQLConfig(alpha=0.5, gamma=0.5, reward_scale=1.0)
    loss, rec = cql_loss(q, q_next, batch, cfg)
    # Targets: min over target heads = [1, 9, 1]; best ALLOWED next action (0 or 2) → 1.
    # y0 = 1 + 0.5·1 = 1.5 (the masked 9 must be ignored); y1 = −2 (terminal, no bootstrap).
    td = ((2 - 1.5) ** 2 + (2 - 1.5) ** 2 + (0 + 2) ** 2 + (1 + 2) ** 2) / 4
    lse = [
        math.log(math.e**1 + math.e**2),  # state 0, head 0, allowed actions 0 and 1
        math.log(1 + math.e**2),  # state 0, head 1
        math.log(3.0),  # state 1, head 0
        math.log(math.e + 2.0),  # state 1, head 1
    ]
    cons = (lse[0] - 2 + lse[1] - 2 + lse[2] - 0 + lse[3] - 1) / 4
    assert rec.td_loss == pytest.approx(td, abs=1e-6)
    assert rec.conservative_loss == pytest.approx(cons, abs=1e-6)
    assert float(loss) == pytest.approx(td + 0.5 * cons, abs=1e-6)
    assert rec.q_data_mean == pytest.approx((2 + 2 + 0 + 1) / 4)
    assert rec.q_all_mean == pytest.approx((1 + 2 + 0 + 2 + 0 + 1) / 10)


def test_gradient_flows_only_through_online_q() -> None:
    q = torch.zeros(2, 2, 3, requires_grad=True)
    q_next = torch.ones(2, 2, 3, requires_grad=True)
    batch = _batch(
        action=[1, 0],
        reward=[0.0, 0.0],
        terminated=[False, False],
        mask=[[1, 1, 0], [1, 1, 1]],
        next_mask=[[1, 1, 1], [1, 1, 1]],
    )
    loss, _ = cql_loss(q, q_next, batch, CQLConfig())
    loss.backward()
    assert q_next.grad is None
    assert q.grad is not None
    assert q.grad[0, :, 2].abs().sum() == 0  # a masked action gets no push at all


def test_conservative_penalty_pushes_unseen_actions_below_seen() -> None:
    torch.manual_seed(0)
    net = NetworkConfig(radius=1, n_actions=5, heads=2, window_dim=16, hidden=(16,))
    gen = torch.Generator().manual_seed(1)
    obs = torch.rand(64, net.obs_dim, generator=gen) * 2 - 1
    seen = torch.randint(0, 5, (64,), generator=gen)
    batch = Batch(
        obs=obs,
        action=seen,
        reward=torch.zeros(64),
        next_obs=obs.roll(1, 0),
        terminated=torch.zeros(64, dtype=torch.bool),
        mask=torch.ones(64, 5, dtype=torch.bool),
        next_mask=torch.ones(64, 5, dtype=torch.bool),
    )
    gaps = {}
    for alpha in (0.0, 1.0):
        torch.manual_seed(0)
        algo = CQL(CQLConfig(alpha=alpha, lr=1e-2, network=net))
        for _ in range(60):
            rec = algo.update(batch)
        with torch.no_grad():
            q = algo.net(obs).mean(dim=1)
        q_seen = q.gather(1, seen[:, None]).squeeze(1)
        unseen = torch.ones_like(q, dtype=torch.bool).scatter_(1, seen[:, None], False)
        gaps[alpha] = float((q_seen - q.masked_fill(~unseen, -1e9).max(dim=1).values).mean())
        if alpha > 0:
            assert rec.q_data_mean > rec.q_all_mean
    # With the penalty the logged action clearly beats every other action; without it not.
    assert gaps[1.0] > 1.0
    assert gaps[1.0] > gaps[0.0] + 1.0


def test_target_network_follows_by_polyak_averaging() -> None:
    torch.manual_seed(0)
    net = NetworkConfig(radius=1, n_actions=5, heads=2, window_dim=8, hidden=(8,))
    algo = CQL(CQLConfig(network=net, tau=0.25))
    before_t = [p.clone() for p in algo.target.parameters()]
    obs = torch.rand(4, net.obs_dim)
    algo.update(
        Batch(
            obs=obs,
            action=torch.zeros(4, dtype=torch.int64),
            reward=torch.ones(4),
            next_obs=obs,
            terminated=torch.zeros(4, dtype=torch.bool),
            mask=torch.ones(4, 5, dtype=torch.bool),
            next_mask=torch.ones(4, 5, dtype=torch.bool),
        )
    )
    for old, new, online in zip(
        before_t, algo.target.parameters(), algo.net.parameters(), strict=True
    ):
        torch.testing.assert_close(new, 0.75 * old + 0.25 * online)


def test_config_validation() -> None:
    with pytest.raises(ValueError, match=r"alpha must be in \[0, 100\]"):
        CQLConfig(alpha=-1.0)
    with pytest.raises(ValueError, match=r"CQL uses two Q heads \(double Q\)"):
        CQLConfig(network=NetworkConfig(heads=1))
    cfg = CQLConfig(alpha=5.0)
    assert CQLConfig.from_json(cfg.to_json()) == cfg
