"""The shared candidate scorer: one small network for any number of robots and orders.

For a deciding robot with candidate features ``c_k`` (``K`` slots) and global features ``g``::

    h_k     = MLP([c_k, g])                       (shared over robots and candidates)
    logit_k = w · h_k                             (k < K)
    logit_W = MLP_wait([g, max_k h_k])            (WAIT)
    V(s)    = MLP_value(g)                        (one value per decision event)

Masked slots get ``-inf`` logits (:func:`masked_logits`), so they are never sampled. Because
scores are per candidate, the network is permutation-invariant and size-independent.

:class:`ScorerEnsemble` averages the logits of independently trained scorers (a policy
ensemble); :func:`make_scorer` builds either from a :class:`NetConfig`.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from typing import cast

import torch
from torch import nn

from .features import N_CAND, N_GLOBAL


@dataclass(frozen=True, kw_only=True)
class NetConfig:
    n_cand: int = N_CAND
    n_global: int = N_GLOBAL
    hidden: int = 64
    members: int = 1  #: > 1: a :class:`ScorerEnsemble` of that many scorers

    def to_dict(self) -> dict[str, int]:
        return asdict(self)


def masked_logits(logits: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """``-inf`` where ``mask`` is False (such actions get probability exactly 0)."""
    return logits.masked_fill(~mask, float("-inf"))


def _mlp(n_in: int, hidden: int, n_out: int) -> nn.Sequential:
    return nn.Sequential(
        nn.Linear(n_in, hidden), nn.Tanh(), nn.Linear(hidden, hidden), nn.Tanh(),
        nn.Linear(hidden, n_out),
    )  # fmt: skip


class CandidateScorer(nn.Module):
    """Scores ``K`` candidates + WAIT per deciding robot; values per event (module docstring)."""

    def __init__(self, cfg: NetConfig | None = None) -> None:
        super().__init__()
        self.cfg = cfg or NetConfig()
        c = self.cfg
        if c.members != 1:
            raise ValueError("a CandidateScorer is one network; use ScorerEnsemble for members > 1")
        self.encoder = nn.Sequential(
            nn.Linear(c.n_cand + c.n_global, c.hidden), nn.Tanh(),
            nn.Linear(c.hidden, c.hidden), nn.Tanh(),
        )  # fmt: skip
        self.score = nn.Linear(c.hidden, 1)
        self.wait = _mlp(c.n_global + c.hidden, c.hidden, 1)
        self.value_head = _mlp(c.n_global, c.hidden, 1)

    def logits(self, cand: torch.Tensor, glob: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """``cand (B, K, F)``, ``glob (B, G)``, ``mask (B, K+1)`` → masked logits ``(B, K+1)``."""
        b, k, _ = cand.shape
        g = glob[:, None, :].expand(b, k, glob.shape[-1])
        h = self.encoder(torch.cat([cand, g], dim=-1))  # (B, K, H)
        scores = self.score(h).squeeze(-1)
        masked = h.masked_fill(~mask[:, :k, None], -1.0)
        # The same values either way; max's gradient goes to one maximum (training keeps it, so
        # recipes rebuild bit for bit), amax is 3-4x faster where no gradient is needed.
        pooled = masked.max(dim=1).values if torch.is_grad_enabled() else masked.amax(dim=1)
        wait = self.wait(torch.cat([glob, pooled], dim=-1))
        return masked_logits(torch.cat([scores, wait], dim=-1), mask)

    def value(self, glob: torch.Tensor) -> torch.Tensor:
        return self.value_head(glob).squeeze(-1)


class ScorerEnsemble(nn.Module):
    """``members`` scorers of one shape; logits and values are their means.

    The mean of the members' logits gives the same softmax as the mean of their log-probabilities
    (each member's normaliser is a constant per row), so the ensemble's policy is the
    renormalised geometric mean of the members' policies. Masked slots stay ``-inf``.
    """

    def __init__(self, cfg: NetConfig) -> None:
        super().__init__()
        if cfg.members < 2:
            raise ValueError("an ensemble needs at least two members")
        self.cfg = cfg
        one = replace(cfg, members=1)
        self.members = nn.ModuleList(CandidateScorer(one) for _ in range(cfg.members))

    def scorers(self) -> list[CandidateScorer]:
        return [cast(CandidateScorer, m) for m in self.members]

    def logits(self, cand: torch.Tensor, glob: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        return torch.stack([m.logits(cand, glob, mask) for m in self.scorers()]).mean(dim=0)

    def value(self, glob: torch.Tensor) -> torch.Tensor:
        return torch.stack([m.value(glob) for m in self.scorers()]).mean(dim=0)


Scorer = CandidateScorer | ScorerEnsemble


def make_scorer(cfg: NetConfig) -> Scorer:
    """A :class:`CandidateScorer` for ``members == 1``, else a :class:`ScorerEnsemble`."""
    return CandidateScorer(cfg) if cfg.members == 1 else ScorerEnsemble(cfg)
