"""Behaviour cloning: masked cross-entropy by hand, and it learns a toy mapping."""

from __future__ import annotations

import math

import pytest
import torch

from agents.bc import BC, BCConfig, bc_loss
from agents.networks import Batch, NetworkConfig

torch.set_num_threads(1)


def _batch(obs, action, mask) -> Batch:
    n = len(action)
    return Batch(
        obs=obs,
        action=torch.as_tensor(action),
        reward=torch.zeros(n),
        next_obs=obs,
        terminated=torch.zeros(n, dtype=torch.bool),
        mask=torch.as_tensor(mask, dtype=torch.bool),
        next_mask=torch.ones(n, 3, dtype=torch.bool),
    )


def test_masked_cross_entropy_by_hand() -> None:
    logits = torch.tensor([[1.0, 2.0, 30.0], [0.0, 0.0, 0.0]])
    batch = _batch(torch.zeros(2, 1), [0, 2], [[1, 1, 0], [1, 1, 1]])
    loss, rec = bc_loss(logits, batch)
    # Row 0: action 2 is masked, so its huge logit must not count.
    row0 = -math.log(math.e / (math.e + math.e**2))
    row1 = math.log(3.0)
    assert float(loss) == pytest.approx((row0 + row1) / 2, abs=1e-6)
    assert rec.accuracy == pytest.approx(0.0)  # argmaxes: 1 (row 0) and 0 (row 1)
    ent0 = -sum(p * math.log(p) for p in (1 / (1 + math.e), math.e / (1 + math.e)))
    assert rec.action_entropy == pytest.approx((ent0 + math.log(3.0)) / 2, abs=1e-6)


def test_bc_learns_a_toy_mapping() -> None:
    torch.manual_seed(0)
    net = NetworkConfig(radius=1, n_actions=3, heads=1, window_dim=16, hidden=(16,))
    obs = torch.rand(64, net.obs_dim) * 2 - 1
    action = (obs[:, 0] > 0).long() + (obs[:, 1] > 0).long()  # 0, 1 or 2
    mask = torch.ones(64, 3, dtype=torch.bool)
    algo = BC(BCConfig(lr=1e-2, network=net))
    batch = _batch(obs, action, mask)
    first = algo.update(batch)
    for _ in range(200):
        rec = algo.update(batch)
    assert rec.loss < first.loss / 3
    assert rec.accuracy > 0.95
    with pytest.raises(ValueError, match="BC uses one logit head"):
        BCConfig(network=NetworkConfig(heads=2))
