"""Discrete Conservative Q-Learning for the shared navigation Q-network (d3rlpy-style split:
a frozen config dataclass, a pure loss function and a small algorithm object)."""

from __future__ import annotations

import copy
from dataclasses import asdict, dataclass, field
from typing import Any

import torch
from torch import nn

from .networks import Batch, NavigatorNet, NetworkConfig, check_numbers, masked_fill


@dataclass(frozen=True, kw_only=True)
class CQLConfig:
    r"""Discrete CQL (Kumar, Zhou, Tucker, Levine 2020, "Conservative Q-Learning for Offline
    Reinforcement Learning", NeurIPS) with double Q-networks.

    Two Q heads :math:`Q_1, Q_2` share the encoder of :class:`~agents.networks.NavigatorNet`;
    their target copies :math:`\bar Q_h` follow by Polyak averaging after every update,
    :math:`\bar\theta \leftarrow (1-\tau)\bar\theta + \tau\theta`. For a transition
    :math:`(s, a, r, s', d)` with allowed-action sets :math:`M(s), M(s')`:

    .. math::

        y &= \kappa r + \gamma (1 - d) \max_{a' \in M(s')} \min_h \bar Q_h(s', a')

        L_{TD} &= \mathbb{E}_h\,\mathbb{E}\,\big[(Q_h(s,a) - y)^2\big]

        L_{CQL} &= \mathbb{E}_h\,\mathbb{E}\,\big[\log\textstyle\sum_{b \in M(s)}
        \exp Q_h(s, b) - Q_h(s, a)\big]

        L &= L_{TD} + \alpha L_{CQL}

    The best next action is the argmax of the **target** networks (their head-wise minimum,
    the clipped double-Q of Fujimoto et al. 2018) over the allowed next actions only; ``d`` is
    ``terminated`` (time-limit truncation still bootstraps). :math:`\kappa` = ``reward_scale``
    keeps Q in a well-conditioned range (rewards are +100 per delivery). The greedy policy
    takes the masked argmax of the mean of the two online heads. All expectations are means over
    the minibatch (and the two heads). Optimiser: Adam, gradients
    clipped to global norm ``grad_clip``.
    """

    alpha: float = 1.0  #: conservative weight α (0.1–5 are sensible; 0 = plain double DQN)
    gamma: float = 0.99
    tau: float = 0.005
    lr: float = 3e-4
    grad_clip: float = 1.0
    batch_size: int = 256
    reward_scale: float = 0.1  #: κ
    network: NetworkConfig = field(default_factory=lambda: NetworkConfig(heads=2))

    def __post_init__(self) -> None:
        numbers = ("alpha", "gamma", "tau", "lr", "grad_clip", "reward_scale")
        check_numbers(self, numbers, ("batch_size",))
        if self.lr < 0 or self.grad_clip <= 0:
            raise ValueError("lr must be ≥ 0 and grad_clip > 0")
        if not 0.0 <= self.alpha <= 100.0:
            raise ValueError("alpha must be in [0, 100]")
        if not 0.0 < self.gamma < 1.0 or not 0.0 < self.tau <= 1.0:
            raise ValueError("gamma must be in (0, 1) and tau in (0, 1]")
        if self.network.heads != 2:
            raise ValueError("CQL uses two Q heads (double Q)")

    def to_json(self) -> dict[str, Any]:
        return {**asdict(self), "network": self.network.to_json()}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> CQLConfig:
        data = dict(data)
        data["network"] = NetworkConfig.from_json(data["network"])
        return cls(**data)


@dataclass(frozen=True)
class CQLLosses:
    """One update's numbers (floats)."""

    loss: float
    td_loss: float
    conservative_loss: float
    q_data_mean: float  #: mean Q at the logged actions
    q_all_mean: float  #: mean Q over all allowed actions
    action_entropy: float  #: entropy of softmax(Q) over allowed actions (nats)


def cql_loss(
    q: torch.Tensor, q_next_target: torch.Tensor, batch: Batch, cfg: CQLConfig
) -> tuple[torch.Tensor, CQLLosses]:
    """The CQL objective from online ``q`` (B, H, A) and target ``q_next_target`` (B, H, A)."""
    a = batch.action.view(-1, 1, 1).expand(-1, q.shape[1], 1)
    q_data = q.gather(2, a).squeeze(2)  # (B, H)
    with torch.no_grad():
        best_next = masked_fill(q_next_target.min(dim=1).values, batch.next_mask).max(dim=1).values
        notdone = (~batch.terminated).to(q.dtype)
        y = cfg.reward_scale * batch.reward + cfg.gamma * notdone * best_next
    td = ((q_data - y[:, None]) ** 2).mean()
    mask = batch.mask[:, None, :].expand_as(q)
    lse = torch.logsumexp(masked_fill(q, mask), dim=2)  # (B, H)
    cons = (lse - q_data).mean()
    loss = td + cfg.alpha * cons
    with torch.no_grad():
        q_all = (q * mask).sum() / mask.sum()
        logp = torch.log_softmax(masked_fill(q.mean(dim=1), batch.mask), dim=1)
        ent = -(logp.exp() * logp.masked_fill(~batch.mask, 0.0)).sum(dim=1).mean()
    rec = CQLLosses(
        loss=float(loss.detach()),
        td_loss=float(td.detach()),
        conservative_loss=float(cons.detach()),
        q_data_mean=float(q_data.detach().mean()),
        q_all_mean=float(q_all),
        action_entropy=float(ent),
    )
    return loss, rec


class CQL:
    """Holds the online and target networks and the optimiser; :meth:`update` does one step."""

    name = "cql"

    def __init__(self, config: CQLConfig, *, device: str | torch.device = "cpu") -> None:
        self.config = config
        self.device = torch.device(device)
        self.net = NavigatorNet(config.network).to(self.device)
        self.target = copy.deepcopy(self.net).requires_grad_(False)
        self.optim = torch.optim.Adam(self.net.parameters(), lr=config.lr)
        self.updates = 0

    def modules(self) -> dict[str, nn.Module]:
        return {"model": self.net, "target": self.target}

    def update(self, batch: Batch) -> CQLLosses:
        q = self.net(batch.obs)
        with torch.no_grad():
            q_next = self.target(batch.next_obs)
        loss, rec = cql_loss(q, q_next, batch, self.config)
        self.optim.zero_grad(set_to_none=True)
        loss.backward()
        nn.utils.clip_grad_norm_(self.net.parameters(), self.config.grad_clip)
        self.optim.step()
        with torch.no_grad():
            for p_t, p in zip(self.target.parameters(), self.net.parameters(), strict=True):
                p_t.lerp_(p, self.config.tau)
        self.updates += 1
        return rec
