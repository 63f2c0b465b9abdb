"""Small learners for the checkpoint tests: a CQL network after a few updates on one batch."""

from __future__ import annotations

import torch

from agents.cql import CQL, CQLConfig
from agents.networks import Batch, NetworkConfig


def trained_cql(network: NetworkConfig, updates: int) -> CQL:
    """A CQL learner on ``network`` after ``updates`` updates (Adam has state for every
    parameter); the same for the same arguments."""
    torch.manual_seed(0)
    algo = CQL(CQLConfig(network=network))
    obs = torch.rand(8, network.obs_dim)
    batch = Batch(
        obs=obs,
        action=torch.arange(8) % 5,
        reward=torch.ones(8),
        next_obs=obs.flip(0),
        terminated=torch.zeros(8, dtype=torch.bool),
        mask=torch.ones(8, 5, dtype=torch.bool),
        next_mask=torch.ones(8, 5, dtype=torch.bool),
    )
    for _ in range(updates):
        algo.update(batch)
    return algo
