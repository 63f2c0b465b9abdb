"""Behaviour cloning: the baseline every offline method must beat.

The network's single head gives logits; the loss is the cross-entropy of the logged action under
a softmax restricted to the allowed actions (masked actions get logit −1e9), so probability is
never spent on moves the floor forbids. Same data, network and optimiser settings as CQL.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

import torch
from torch import nn
from torch.nn import functional as F

from .networks import Batch, NavigatorNet, NetworkConfig, check_numbers, masked_fill


@dataclass(frozen=True, kw_only=True)
class BCConfig:
    """Masked-softmax behaviour cloning: minimise ``−log π(a|s)``, ``π = softmax`` of the
    logits over the allowed actions. Adam with learning rate ``lr`` and gradient-norm clip."""

    lr: float = 3e-4
    grad_clip: float = 1.0
    batch_size: int = 256
    network: NetworkConfig = field(default_factory=lambda: NetworkConfig(heads=1))

    def __post_init__(self) -> None:
        check_numbers(self, ("lr", "grad_clip"), ("batch_size",))
        if self.lr < 0 or self.grad_clip <= 0:
            raise ValueError("lr must be ≥ 0 and grad_clip > 0")
        if self.network.heads != 1:
            raise ValueError("BC uses one logit head")

    def to_json(self) -> dict[str, Any]:
        return {**asdict(self), "network": self.network.to_json()}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> BCConfig:
        data = dict(data)
        data["network"] = NetworkConfig.from_json(data["network"])
        return cls(**data)


@dataclass(frozen=True)
class BCLosses:
    loss: float  #: masked cross-entropy
    accuracy: float  #: share of batch rows whose masked argmax is the logged action
    action_entropy: float  #: entropy of the masked softmax (nats)


def bc_loss(logits: torch.Tensor, batch: Batch) -> tuple[torch.Tensor, BCLosses]:
    """Masked cross-entropy of ``logits`` (B, A) at the logged actions."""
    z = masked_fill(logits, batch.mask)
    loss = F.cross_entropy(z, batch.action)
    with torch.no_grad():
        logp = torch.log_softmax(z, dim=1)
        ent = -(logp.exp() * logp.masked_fill(~batch.mask, 0.0)).sum(dim=1).mean()
        acc = (z.argmax(dim=1) == batch.action).float().mean()
    return loss, BCLosses(loss=float(loss.detach()), accuracy=float(acc), action_entropy=float(ent))


class BC:
    """One network and its optimiser; :meth:`update` does one gradient step."""

    name = "bc"

    def __init__(self, config: BCConfig, *, device: str | torch.device = "cpu") -> None:
        self.config = config
        self.device = torch.device(device)
        self.net = NavigatorNet(config.network).to(self.device)
        self.optim = torch.optim.Adam(self.net.parameters(), lr=config.lr)
        self.updates = 0

    def modules(self) -> dict[str, nn.Module]:
        return {"model": self.net}

    def update(self, batch: Batch) -> BCLosses:
        loss, rec = bc_loss(self.net.scores(batch.obs), batch)
        self.optim.zero_grad(set_to_none=True)
        loss.backward()
        nn.utils.clip_grad_norm_(self.net.parameters(), self.config.grad_clip)
        self.optim.step()
        self.updates += 1
        return rec
