"""The shared navigation network: egocentric window encoder + task features → one score per action.

Input: the flat observation of :mod:`warehouse.core.observe`, ``C·(2r+1)² + F`` floats (``C`` = 4
channels, or 10 with the neighbour-intention channels of ``ObservationConfig.intent``, which come
after the ``F`` = 12 task features). The window channels are gathered, reshaped to
``(C, 2r+1, 2r+1)`` and encoded either by

* ``"mlp"`` (default): flatten → linear → ReLU — the fastest on a CPU at 10,000 robots, or
* ``"conv"``: two 3×3 convolutions (32 channels, ReLU) → flatten → linear → ReLU,

then the task features are concatenated and an MLP torso (``hidden``) produces ``heads × A``
outputs: Q-values (CQL: two heads, the double Q-networks) or logits (BC: one head). Because the
observation is egocentric, the same weights drive a fleet on any floor size; the radius (and so
the input size) comes from the checkpoint's :class:`NetworkConfig`.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import torch
from torch import nn

from warehouse.config import ObservationConfig
from warehouse.core.observe import N_CHANNELS, N_FEATURES, observation_size
from warehouse.core.observe_intent import N_INTENT_CHANNELS


@dataclass(frozen=True, kw_only=True)
class NetworkConfig:
    """Shape of a :class:`NavigatorNet` (saved in every checkpoint)."""

    radius: int = 3  #: observation radius r (window 2r+1)
    intent: bool = False  #: observations carry the neighbour-intention channels
    n_actions: int = 5  #: A
    heads: int = 1  #: 2 for double Q (CQL), 1 for logits (BC)
    encoder: str = "mlp"  #: "mlp" | "conv"
    window_dim: int = 64  #: width of the window encoding
    hidden: tuple[int, ...] = (64,)  #: torso widths after the concatenation

    @property
    def obs_dim(self) -> int:
        return observation_size(self.radius, self.intent)

    @property
    def channels(self) -> int:
        return N_CHANNELS + (N_INTENT_CHANNELS if self.intent else 0)

    @property
    def observation(self) -> ObservationConfig:
        """The observation layout this network reads."""
        return ObservationConfig(radius=self.radius, intent=self.intent)

    def to_json(self) -> dict[str, Any]:
        return {**asdict(self), "hidden": list(self.hidden)}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> NetworkConfig:
        data = dict(data)
        data["hidden"] = tuple(data.get("hidden", (64,)))
        return cls(**data)


class NavigatorNet(nn.Module):
    """``forward(obs (B, D)) -> (B, heads, A)``; :meth:`scores` averages the heads."""

    def __init__(self, cfg: NetworkConfig) -> None:
        super().__init__()
        if cfg.encoder not in ("mlp", "conv"):
            raise ValueError(f"unknown encoder {cfg.encoder!r}")
        self.cfg = cfg
        side = 2 * cfg.radius + 1
        self.side = side
        self.base_size = N_CHANNELS * side * side  # window columns before the task features
        self.window_size = cfg.channels * side * side
        if cfg.encoder == "conv":
            self.encoder: nn.Module = nn.Sequential(
                nn.Unflatten(1, (cfg.channels, side, side)),
                nn.Conv2d(cfg.channels, 32, 3, padding=1),
                nn.ReLU(),
                nn.Conv2d(32, 32, 3, padding=1),
                nn.ReLU(),
                nn.Flatten(),
                nn.Linear(32 * side * side, cfg.window_dim),
                nn.ReLU(),
            )
        else:
            self.encoder = nn.Sequential(nn.Linear(self.window_size, cfg.window_dim), nn.ReLU())
        layers: list[nn.Module] = []
        width = cfg.window_dim + N_FEATURES
        for h in cfg.hidden:
            layers += [nn.Linear(width, h), nn.ReLU()]
            width = h
        layers.append(nn.Linear(width, cfg.heads * cfg.n_actions))
        self.torso = nn.Sequential(*layers)

    def forward(self, obs: torch.Tensor) -> torch.Tensor:
        b = self.base_size
        if not self.cfg.intent:
            window, feats = obs[:, :b], obs[:, b:]
            z = torch.cat([self.encoder(window), feats], dim=1)
        else:  # [base window | features | intent window]
            feats = obs[:, b : b + N_FEATURES]
            if self.cfg.encoder == "mlp":
                # The window layer as two matrix products over strided views of ``obs``: no copy
                # of the window columns (2× faster at 10,000 robots than gathering them).
                lin = self.encoder[0]
                w = lin.weight
                h = torch.addmm(lin.bias, obs[:, :b], w[:, :b].t())
                h = h.addmm(obs[:, b + N_FEATURES :], w[:, b:].t())
                z = torch.cat([torch.relu(h), feats], dim=1)
            else:
                window = torch.cat([obs[:, :b], obs[:, b + N_FEATURES :]], dim=1)
                z = torch.cat([self.encoder(window), feats], dim=1)
        return self.torso(z).view(-1, self.cfg.heads, self.cfg.n_actions)

    def scores(self, obs: torch.Tensor) -> torch.Tensor:
        """``(B, A)`` action scores: the mean over heads."""
        out = self.forward(obs)
        return out[:, 0] if self.cfg.heads == 1 else out.mean(dim=1)


MASKED = -1e9  #: score given to masked actions inside losses (finite, so gradients stay finite)


def masked_fill(values: torch.Tensor, mask: torch.Tensor, fill: float = MASKED) -> torch.Tensor:
    """``values`` (…, A) with disallowed actions (``mask`` False) set to ``fill``."""
    return values.masked_fill(~mask, fill)


@dataclass(frozen=True)
class Batch:
    """A minibatch of transitions as tensors (see :mod:`agents.dataset` for the fields)."""

    obs: torch.Tensor  #: (B, D) float32
    action: torch.Tensor  #: (B,) int64
    reward: torch.Tensor  #: (B,) float32
    next_obs: torch.Tensor  #: (B, D) float32
    terminated: torch.Tensor  #: (B,) bool
    mask: torch.Tensor  #: (B, A) bool
    next_mask: torch.Tensor  #: (B, A) bool
