"""PPO for the dispatcher, CleanRL-style: config, semi-Markov GAE, loss pieces, one update.

A rollout is a sequence of *decision events* per env copy. Event ``i`` carries the discounted
reward accumulated until the next event ``R_i = Σ_{j<τ_i} γ^j r_{t_i + j}`` and its duration
``τ_i`` in steps, so the bootstrap discount is ``γ^{τ_i}`` (semi-Markov)::

    δ_i = R_i + γ^{τ_i} (1 − done_i) V(s_{i+1}) − V(s_i)
    A_i = δ_i + (γ λ)^{τ_i} (1 − done_i) A_{i+1}

Each event holds the choices of several deciding robots (*rows*); every row shares its event's
advantage (a factorised joint policy with a shared team reward, as in MAPPO). The policy loss is
the clipped surrogate over rows; the value loss is over events. A row whose mask allows one
action only (a *forced* row: ratio 1, entropy 0, no gradient) is left out of the policy terms:
the advantage normalisation, the surrogate's mean, the entropy, approx-KL and clip fraction
(``PPOConfig.skip_forced_rows``; the value loss keeps every event).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import torch
from torch import nn

from .network import CandidateScorer


@dataclass(frozen=True, kw_only=True)
class PPOConfig:
    lr: float = 3e-4
    gamma: float = 0.995  #: discount per simulation step (events use γ^τ)
    gae_lambda: float = 0.95
    clip_eps: float = 0.2
    ent_coef: float = 0.003
    vf_coef: float = 0.5
    epochs: int = 4
    minibatches: int = 4
    max_grad_norm: float = 0.5
    norm_adv: bool = True
    target_kl: float | None = 0.05  #: stop the epochs early above this approximate KL
    #: leave rows with one allowed action out of the policy terms (module docstring); False:
    #: the rule before the thirty-fifth session (runs saved before it read as False)
    skip_forced_rows: bool = True

    def __post_init__(self) -> None:
        checks = {
            "lr": self.lr >= 0, "gamma": 0 < self.gamma <= 1,
            "gae_lambda": 0 <= self.gae_lambda <= 1, "clip_eps": 0 < self.clip_eps < 1,
            "ent_coef": self.ent_coef >= 0, "vf_coef": self.vf_coef >= 0,
            "epochs": self.epochs >= 1, "minibatches": self.minibatches >= 1,
            "max_grad_norm": self.max_grad_norm > 0,
            "target_kl": self.target_kl is None or self.target_kl > 0,
        }  # fmt: skip
        bad = [k for k, ok in checks.items() if not ok]
        if bad:
            raise ValueError(f"{bad[0]} out of range: {getattr(self, bad[0])}")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def smdp_gae(
    rewards: np.ndarray,
    values: np.ndarray,
    last_value: float,
    taus: np.ndarray,
    dones: np.ndarray,
    gamma: float,
    lam: float,
) -> tuple[np.ndarray, np.ndarray]:
    """Advantages and returns of one event sequence (module docstring). ``dones[i]``: the
    episode ended after event ``i`` (no bootstrap); ``last_value``: V after the final event."""
    n = rewards.shape[0]
    adv = np.zeros(n, dtype=np.float64)
    next_adv, next_value = 0.0, float(last_value)
    for i in range(n - 1, -1, -1):
        live = 1.0 - float(dones[i])
        disc = gamma ** float(taus[i])
        delta = rewards[i] + disc * live * next_value - values[i]
        next_adv = delta + (gamma * lam) ** float(taus[i]) * live * next_adv
        adv[i] = next_adv
        next_value = values[i]
    return adv, adv + values


def log_probs(logits: torch.Tensor, actions: torch.Tensor) -> torch.Tensor:
    """Log-probability of ``actions`` under masked ``logits`` (``-inf`` = masked)."""
    return torch.log_softmax(logits, dim=-1).gather(-1, actions[:, None]).squeeze(-1)


def masked_entropy(logits: torch.Tensor) -> torch.Tensor:
    """Entropy per row; masked (``-inf``) actions contribute exactly 0 (no NaN)."""
    logp = torch.log_softmax(logits, dim=-1)
    p = logp.exp()
    return -(p * torch.where(torch.isfinite(logp), logp, torch.zeros_like(logp))).sum(-1)


def sample_actions(logits: torch.Tensor, generator: torch.Generator | None) -> torch.Tensor:
    """One action per row from masked logits; masked actions have probability 0."""
    probs = torch.softmax(logits, dim=-1)
    return torch.multinomial(probs, 1, generator=generator).squeeze(-1)


def clipped_surrogate(
    new_logp: torch.Tensor, old_logp: torch.Tensor, adv: torch.Tensor, clip_eps: float
) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """PPO-clip policy loss ``−E[min(ρA, clip(ρ, 1±ε)A)]`` plus approx KL and clip fraction."""
    log_ratio = new_logp - old_logp
    ratio = log_ratio.exp()
    loss = -torch.min(ratio * adv, ratio.clamp(1 - clip_eps, 1 + clip_eps) * adv).mean()
    with torch.no_grad():
        approx_kl = ((ratio - 1) - log_ratio).mean()  # the k3 estimator (Schulman)
        clipfrac = ((ratio - 1).abs() > clip_eps).float().mean()
    return loss, {"approx_kl": approx_kl, "clipfrac": clipfrac}


def policy_terms(
    logits: torch.Tensor,
    actions: torch.Tensor,
    old_logp: torch.Tensor,
    adv: torch.Tensor,
    *,
    clip_eps: float,
    norm_adv: bool,
) -> tuple[torch.Tensor, torch.Tensor, dict[str, torch.Tensor]]:
    """``(clipped surrogate loss, mean entropy, diagnostics)`` of one minibatch; advantages are
    normalised first when ``norm_adv`` (and there are at least two)."""
    new_logp = log_probs(logits, actions)
    if norm_adv and adv.numel() > 1:
        adv = (adv - adv.mean()) / (adv.std() + 1e-8)
    pg_loss, info = clipped_surrogate(new_logp, old_logp, adv, clip_eps)
    return pg_loss, masked_entropy(logits).mean(), info


def forced_rows(mask: torch.Tensor) -> torch.Tensor:
    """``(B,)`` bool: the rows of ``mask (B, A)`` that allow one action only (their choice is
    forced: log-probability 0 under any policy, ratio 1, entropy 0, no gradient)."""
    return mask.sum(dim=-1) <= 1


def explained_variance(pred: np.ndarray, target: np.ndarray) -> float:
    """``1 − Var(target − pred) / Var(target)`` (nan when the target is constant)."""
    var = float(np.var(target))
    return float("nan") if var == 0 else 1.0 - float(np.var(target - pred)) / var


@dataclass
class Batch:
    """A rollout flattened into rows (robot choices) and events (value targets)."""

    cand: torch.Tensor  #: (B, K, F)
    mask: torch.Tensor  #: (B, K+1) bool
    row_event: torch.Tensor  #: (B,) index into the event arrays
    actions: torch.Tensor  #: (B,)
    logp: torch.Tensor  #: (B,) log-probabilities at collection time
    glob: torch.Tensor  #: (E, G)
    advantages: torch.Tensor  #: (E,)
    returns: torch.Tensor  #: (E,)
    values: torch.Tensor  #: (E,) values at collection time


def ppo_update(
    net: CandidateScorer,
    opt: torch.optim.Optimizer,
    batch: Batch,
    cfg: PPOConfig,
    rng: np.random.Generator,
) -> dict[str, float]:
    """Minibatch epochs of PPO on one rollout; returns the diagnostics' means over every
    minibatch of every epoch run (an early stop on KL ends the epochs)."""
    n_rows, n_events = batch.actions.shape[0], batch.glob.shape[0]
    free = forced_rows(batch.mask).logical_not().numpy() if cfg.skip_forced_rows else None
    n_policy = n_rows if free is None else int(free.sum())
    row_chunks = max(1, min(cfg.minibatches, n_policy))
    ev_chunks = max(1, min(cfg.minibatches, n_events))
    stats: dict[str, list[float]] = {}
    for _epoch in range(cfg.epochs):
        order = rng.permutation(n_rows)  # (the same draws with or without forced rows)
        rows = np.array_split(order if free is None else order[free[order]], row_chunks)
        events = np.array_split(rng.permutation(n_events), ev_chunks)
        epoch_kl = []
        for i in range(max(row_chunks, ev_chunks)):
            mb = torch.as_tensor(rows[i % row_chunks])
            eb = torch.as_tensor(events[i % ev_chunks])
            parts: list[tuple[str, torch.Tensor]] = []
            if mb.numel():  # (none only when every row of the rollout is forced)
                ev = batch.row_event[mb]
                logits = net.logits(batch.cand[mb], batch.glob[ev], batch.mask[mb])
                pg_loss, entropy, info = policy_terms(
                    logits, batch.actions[mb], batch.logp[mb], batch.advantages[ev],
                    clip_eps=cfg.clip_eps, norm_adv=cfg.norm_adv,
                )  # fmt: skip
                parts = [
                    ("policy_loss", pg_loss), ("entropy", entropy),
                    ("approx_kl", info["approx_kl"]), ("clipfrac", info["clipfrac"]),
                ]  # fmt: skip
                epoch_kl.append(float(info["approx_kl"]))
            v_loss = 0.5 * ((net.value(batch.glob[eb]) - batch.returns[eb]) ** 2).mean()
            if parts:
                loss = pg_loss - cfg.ent_coef * entropy + cfg.vf_coef * v_loss
            else:
                loss = cfg.vf_coef * v_loss
            opt.zero_grad()
            loss.backward()
            nn.utils.clip_grad_norm_(net.parameters(), cfg.max_grad_norm)
            opt.step()
            for key, val in [*parts[:1], ("value_loss", v_loss), *parts[1:]]:
                stats.setdefault(key, []).append(float(val.detach()))
        if cfg.target_kl is not None and epoch_kl and np.mean(epoch_kl) > cfg.target_kl:
            break
    out = {k: float(np.mean(v)) for k, v in stats.items()}
    out["explained_variance"] = explained_variance(batch.values.numpy(), batch.returns.numpy())
    return out
