"""Shared-parameter PPO for the navigator: config, sampling policy, GAE, one update.

Every robot of every simulated floor is one PPO sample of the *same* network (parameter sharing,
independent per-robot rewards, as in IPPO/MAPPO with a local critic):

* **actor** — the CQL (or BC) :class:`~agents.networks.NavigatorNet` itself. Its logits are the
  network's action scores (the mean of the two Q heads for CQL) divided by a temperature ``T``,
  with masked actions set to ``-inf``: ``π(a|s) = softmax(Q̄(s, ·)/T)`` over the allowed actions.
  The greedy policy — what ``warehouse run --policy cql`` executes — is unchanged by ``T``, so
  the fine-tuned network loads and runs as an ordinary navigator.
* **critic** — a separate small value network with the actor's architecture and one output
  (``NavigatorNet`` with ``heads=1, n_actions=1``) on the same observation, trained from scratch;
  the first ``critic_warmup`` updates train only the critic so the first policy gradients do not
  follow a random baseline.

The loss pieces (clipped surrogate, masked entropy, log-probabilities, sampling, explained
variance) are those of the PPO dispatcher (:mod:`hierarchy.ppo`); GAE is the plain per-step form
over a ``(T, N)`` array (one column per robot, vectorized over robots)::

    δ_t = r_t + γ V(s_{t+1}) − V(s_t)        A_t = δ_t + γ λ A_{t+1}

Reward of a robot for a step: ``reward_scale · (r + progress_reward · g)``, where ``r`` is the
simulation's reward (delivery, collision, metres travelled; :class:`~warehouse.config.RewardConfig`)
and ``g`` the shaping term, potential-based with ``Φ = −d``, ``d`` the floor distance to the
target the robot had when it decided (held fixed over the step, so the shaping does not reward
finishing a leg twice and pays nothing for the jump of the distance when a new target is set;
0 without a target or with an unreachable one). ``shaping`` picks its form:

* ``"potential"`` (default): ``g = γ Φ(s') − Φ(s) = d(s) − γ d(s')`` (not clipped), the shaping
  that provably keeps the optimal policy (Ng, Harada and Russell 1999) along each leg, whose
  discounted sum telescopes to ``γ^n Φ(s_n) − Φ(s_0)``;
* ``"difference"`` (:data:`LEGACY`, the shipped networks'): ``g = clip(d(s) − d(s'), −1, 1)``,
  without γ.

Without it the sparse delivery reward loses to the immediate collision and travel costs and the
policy learns to wait everywhere (measured: 0 deliveries after 20 iterations).

The rollout is cut by time (no terminal states: the warehouse is lifelong), so the last step
bootstraps from ``V(s_T)``: with ``bootstrap="decision"`` (default) read on the observation the
next step's navigator would decide on, after that step's dispatcher (as every ``V(s_t)`` is);
``"before_dispatch"`` (legacy) reads it before, when a robot that just finished a leg has not
yet got its next order. A one-shot floor with ``episode.stop_when_solved`` ends episodes
inside the rollout, as the env ends them: a solved one is terminal (``V = 0`` after it), one
cut by ``episode.steps`` bootstraps as the rollout's end does (:func:`episodes_gae`). Loss per
minibatch (CleanRL)::

    L = L_clip(ρ, Â) − c_ent · H[π] + c_v · ½ (V − R)²

With ``ppo.skip_forced_rows`` (default, the dispatcher's rule too: :mod:`hierarchy.ppo`) the
policy terms — clipped surrogate, its advantage normalisation, entropy, approximate KL (the
early stop) and clip fraction — are over the rows whose robot had a choice; a robot with one
allowed action (picking, dropping, broken down) has ratio 1 and no entropy, and would only
dilute them. The value loss is over every row. ``False`` (legacy; the CLI's
``--policy-rows all``) keeps every row in the policy terms.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any, cast

import numpy as np
import torch
from torch import nn

from hierarchy.ppo import (
    PPOConfig,
    explained_variance,
    log_probs,
    policy_terms,
    sample_actions,
)
from warehouse.floor import UNREACHABLE

from .networks import NavigatorNet

PAUSE_ACTIONS = ("stop", "wait")
SHAPINGS = ("potential", "difference")
#: ``--policy-rows`` of the CLI: ``free`` is ``ppo.skip_forced_rows``, ``all`` its legacy False
POLICY_ROWS = ("free", "all")
BOOTSTRAPS = ("decision", "before_dispatch")
#: the learning rules the shipped networks (``agents/weights/cql_pibt.*``, ``cql_physical.*``)
#: and every checkpoint written before these settings existed were trained with: a saved config
#: without them reads as these (:meth:`FinetuneConfig.from_json`), not as the defaults
LEGACY: dict[str, Any] = {
    "shaping": "difference",
    "ppo.skip_forced_rows": False,
    "bootstrap": "before_dispatch",
}


def _navigator_ppo() -> PPOConfig:
    return PPOConfig(lr=1e-4, gamma=0.99, ent_coef=0.01, minibatches=4, epochs=4, target_kl=0.03)


@dataclass(frozen=True, kw_only=True)
class FinetuneConfig:
    """One online fine-tuning run (saved in every checkpoint's ``extra.finetune.config``)."""

    updates: int = 100  #: PPO iterations (one rollout + minibatch epochs each)
    scenarios: tuple[str, ...] = ("tiny", "small", "one_way_aisles")  #: training floors
    rollout_steps: int = 256  #: simulation steps per floor per iteration (a fresh episode)
    collisions: str = "physical"  #: collision mode while training
    dispatcher: str = "greedy"
    temperature: float = 1.0  #: T in softmax(Q/T)
    reward_scale: float = 0.01  #: rewards are multiplied by this (delivery +100 → +1)
    #: shaping: reward units per step of distance gained toward the robot's target (module doc)
    progress_reward: float = 2.0
    critic_lr: float = 3e-4
    critic_warmup: int = 2  #: first iterations update only the critic
    ppo: PPOConfig = field(default_factory=_navigator_ppo)
    #: pause when a rollout's collisions per 1k robot-steps exceed this (physical mode only)
    collision_limit: float | None = None
    #: pause when they exceed this factor × those of the first rollout (the initial network)
    collision_rise: float | None = 1.5
    on_pause: str = "stop"  #: "stop": checkpoint and exit; "wait": wait for RUN/CONTINUE
    pause_wait_s: float = 600.0  #: how long "wait" waits before stopping
    seed: int = 0
    ckpt_every: int = 10
    eval_every: int = 0  #: greedy evaluation every K iterations (0: never)
    eval_scenario: str = "small"
    eval_steps: int = 200
    eval_seed: int = 1000
    #: decide robots in long north-south single lanes in the mirrored frame, as the deployed
    #: navigators do (agents/lane_view.py); samples are kept in the frame the network saw
    lane_view: bool = False
    #: progress shaping (module doc): "potential", γ·Φ(s') − Φ(s); "difference" (legacy), the
    #: undiscounted clip(d(s) − d(s'), −1, 1)
    shaping: str = "potential"
    #: the rollout's bootstrap value: "decision", after the next step's dispatcher (what the
    #: navigator would decide on); "before_dispatch" (legacy)
    bootstrap: str = "decision"

    def __post_init__(self) -> None:
        if self.updates < 1 or self.rollout_steps < 1 or not self.scenarios:
            raise ValueError("updates, rollout_steps and scenarios must be positive/non-empty")
        if self.temperature <= 0:
            raise ValueError("temperature must be > 0")
        if self.on_pause not in PAUSE_ACTIONS:
            raise ValueError(f"on_pause must be one of {PAUSE_ACTIONS}")
        if self.collision_rise is not None and self.collision_rise <= 0:
            raise ValueError("collision_rise must be > 0")
        for name, allowed in (
            ("shaping", SHAPINGS), ("bootstrap", BOOTSTRAPS),
        ):  # fmt: skip
            if getattr(self, name) not in allowed:
                raise ValueError(f"{name} must be one of {allowed}, got {getattr(self, name)!r}")

    @property
    def policy_rows(self) -> str:
        """The rows of the policy terms, as the CLI's ``--policy-rows`` names them: ``free``
        (``ppo.skip_forced_rows``) or ``all``."""
        return "free" if self.ppo.skip_forced_rows else "all"

    def to_json(self) -> dict[str, Any]:
        return {**asdict(self), "scenarios": list(self.scenarios), "ppo": self.ppo.to_dict()}

    @classmethod
    def from_json(cls, data: Any, source: str | Path | None = None) -> FinetuneConfig:
        """The config :meth:`to_json` saved (in ``source``); a field it lacks reads as the
        default, but a learning rule of :data:`LEGACY` as its legacy value (the checkpoint was
        trained with it, and a resumed run must go on with it). An unknown key, a value of the
        wrong type or out of range is an :class:`~warehouse.errors.InputError` naming
        ``extra.finetune.config.KEY``."""
        from hierarchy.settings import checked_dataclass

        found = checked_dataclass(cls, data, source, "extra.finetune.config", missing=LEGACY)
        return cast(FinetuneConfig, found)


def make_critic(actor: NavigatorNet) -> NavigatorNet:
    """A value network with the actor's layout and a single output."""
    return NavigatorNet(replace(actor.cfg, heads=1, n_actions=1, members=1))


def value_of(critic: NavigatorNet, obs: torch.Tensor) -> torch.Tensor:
    return critic(obs)[:, 0, 0]


def policy_logits(
    actor: NavigatorNet, obs: torch.Tensor, mask: torch.Tensor, temperature: float
) -> torch.Tensor:
    """``(B, A)`` logits ``scores/T`` with ``-inf`` at masked actions."""
    return (actor.scores(obs) / temperature).masked_fill(~mask, -torch.inf)


class SamplingNavigator:
    """A navigator that samples every robot's action from the PPO policy (one forward pass)
    and remembers the log-probabilities and values of its last call for the rollout buffer.

    Its torch generator is seeded in :meth:`reset` (called by ``Fleet.reset(seed)``)."""

    name = "ppo-sampling"
    needs_observation = True

    def __init__(
        self,
        actor: NavigatorNet,
        critic: NavigatorNet,
        temperature: float,
        observation: Any,
        *,
        lane_view: bool = False,
    ) -> None:
        from .lane_view import LaneView

        self.actor, self.critic, self.temperature = actor, critic, temperature
        self.observation = observation  # the init checkpoint's layout (Fleet reads it)
        self.lane_view = LaneView(observation) if lane_view else None
        self.gen = torch.Generator()
        #: the last call's observations, masks and actions in the frame the network saw (the
        #: mirrored one for robots in long north-south lanes), for the rollout buffer
        self.last_obs: np.ndarray | None = None
        self.last_mask: np.ndarray | None = None
        self.last_act: np.ndarray | None = None
        self.last_logp: np.ndarray | None = None
        self.last_value: np.ndarray | None = None
        self.last_target: np.ndarray | None = None  #: targets when it decided (after dispatch)
        self.last_pos: np.ndarray | None = None

    def reset(self, seed: int | None) -> None:
        self.gen.manual_seed(0 if seed is None else int(seed) % 2**63)  # (torch: < 2**63)

    def act(self, sim: Any, obs: np.ndarray | None, mask: np.ndarray):  # type: ignore[no-untyped-def]
        if obs is None:
            raise ValueError("SamplingNavigator needs observations")
        if sim is not None:
            self.last_target = sim.state.target.copy()
            self.last_pos = sim.state.pos.copy()
        mirrored = self.lane_view.robots(sim) if self.lane_view is not None else None
        if mirrored is not None:
            obs, mask = self.lane_view.mirror(obs, mask, mirrored)  # type: ignore[union-attr]
        with torch.no_grad():
            x = torch.from_numpy(np.ascontiguousarray(obs, dtype=np.float32))
            m = torch.from_numpy(np.ascontiguousarray(mask, dtype=bool))
            logits = policy_logits(self.actor, x, m, self.temperature)
            a = sample_actions(logits, self.gen)
            self.last_logp = log_probs(logits, a).numpy()
            self.last_value = value_of(self.critic, x).numpy()
            prefs = (logits * self.temperature).numpy()
        actions = a.numpy().astype(np.int64)
        self.last_obs, self.last_mask, self.last_act = obs, mask, actions.copy()
        if mirrored is not None:
            self.lane_view.unmirror(prefs, actions, mirrored)  # type: ignore[union-attr]
        return actions, prefs

    def value(self, sim: Any, obs: np.ndarray) -> np.ndarray:
        """The critic's values of ``obs``, read in the frame the robots decide in (mirrored
        in north-south lanes with ``lane_view``), as :meth:`act` records them."""
        mirrored = self.lane_view.robots(sim) if self.lane_view is not None else None
        if mirrored is not None:
            obs, _ = self.lane_view.mirror(obs, sim.action_mask(), mirrored)  # type: ignore[union-attr]
        with torch.no_grad():
            x = torch.from_numpy(np.ascontiguousarray(obs, dtype=np.float32))
            return value_of(self.critic, x).numpy()


def progress(sim: Any, target: np.ndarray, before: np.ndarray) -> np.ndarray:
    """Steps each robot came closer to the target it had when deciding, in ``[-1, 1]`` (0 for
    robots without a target or with an unreachable one): the ``"difference"`` shaping."""
    return shaping(sim, target, before, None)


def shaping(sim: Any, target: np.ndarray, before: np.ndarray, gamma: float | None) -> np.ndarray:
    """Each robot's shaping term for the step from ``before`` to ``sim.state.pos``, with the
    target it had when deciding held fixed (module doc): ``d(s) − γ d(s')`` (``γ Φ(s') − Φ(s)``
    with ``Φ = −d``), or with ``gamma=None`` the legacy ``clip(d(s) − d(s'), −1, 1)``; 0 for
    robots without a target or with an unreachable one."""
    out = np.zeros(target.shape[0], dtype=np.float64)
    has = target >= 0
    if has.any():
        d0 = sim.dist.lookup(target[has], before[has]).astype(np.int64)
        d1 = sim.dist.lookup(target[has], sim.state.pos[has]).astype(np.int64)
        ok = (d0 != UNREACHABLE) & (d1 != UNREACHABLE)
        gain = np.clip(d0 - d1, -1, 1) if gamma is None else d0 - gamma * d1
        out[has] = np.where(ok, gain, 0)
    return out


def gae(
    rewards: np.ndarray, values: np.ndarray, last_value: np.ndarray, gamma: float, lam: float
) -> tuple[np.ndarray, np.ndarray]:
    """Advantages and returns for ``(T, N)`` rewards/values of one episode's steps, bootstrapped
    from ``last_value`` after the last (module doc; 0 where the episode terminated)."""
    adv = np.zeros(rewards.shape, dtype=np.float64)
    next_adv = np.zeros(rewards.shape[1], dtype=np.float64)
    next_value = np.asarray(last_value, dtype=np.float64)
    for t in range(rewards.shape[0] - 1, -1, -1):
        delta = rewards[t] + gamma * next_value - values[t]
        next_adv = delta + gamma * lam * next_adv
        adv[t] = next_adv
        next_value = values[t]
    return adv, adv + values


def episodes_gae(
    rewards: np.ndarray,
    values: np.ndarray,
    ends: list[tuple[int, np.ndarray | None]],
    gamma: float,
    lam: float,
) -> tuple[np.ndarray, np.ndarray]:
    """:func:`gae` over a rollout of consecutive episodes: ``ends`` lists each episode's end
    ``(stop, last_value)`` in order (its rows ``[previous stop, stop)``; the last ``stop`` is
    ``T``), ``last_value`` the bootstrap ``V(s_stop)`` of a rollout or episode cut by time, or
    ``None`` where the episode terminated (solved: nothing follows, no bootstrap). Nothing
    flows across an end: the next row starts a new episode."""
    if not ends or ends[-1][0] != rewards.shape[0]:
        raise ValueError("the last episode must end at the rollout's last step")
    if len(ends) == 1 and ends[0][1] is not None:  # one episode cut by time (lifelong)
        return gae(rewards, values, ends[0][1], gamma, lam)
    advs, rets, start = [], [], 0
    for stop, last in ends:
        tail = np.zeros(rewards.shape[1]) if last is None else last
        adv, ret = gae(rewards[start:stop], values[start:stop], tail, gamma, lam)
        advs.append(adv)
        rets.append(ret)
        start = stop
    return np.concatenate(advs), np.concatenate(rets)


@dataclass
class Samples:
    """A rollout flattened over (step, robot) rows."""

    obs: torch.Tensor  #: (M, D) float32
    mask: torch.Tensor  #: (M, A) bool
    actions: torch.Tensor  #: (M,) int64
    logp: torch.Tensor  #: (M,) log-probabilities at collection time
    advantages: torch.Tensor  #: (M,)
    returns: torch.Tensor  #: (M,)
    values: torch.Tensor  #: (M,) values at collection time


def ppo_loss(
    actor: NavigatorNet,
    critic: NavigatorNet,
    s: Samples,
    idx: torch.Tensor,
    cfg: FinetuneConfig,
    *,
    policy: bool = True,
) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """The minibatch loss on rows ``idx`` (module docstring); ``policy=False``: value only."""
    p = cfg.ppo
    v_loss = 0.5 * ((value_of(critic, s.obs[idx]) - s.returns[idx]) ** 2).mean()
    if policy and p.skip_forced_rows:  # (the critic keeps every row)
        idx = idx[s.mask[idx].sum(-1) > 1]
    if not policy or idx.numel() == 0:  # (no approx_kl: nothing for the early stop)
        zero = torch.zeros(())
        return p.vf_coef * v_loss, {"value_loss": v_loss, "policy_loss": zero}
    logits = policy_logits(actor, s.obs[idx], s.mask[idx], cfg.temperature)
    pg_loss, entropy, info = policy_terms(
        logits, s.actions[idx], s.logp[idx], s.advantages[idx],
        clip_eps=p.clip_eps, norm_adv=p.norm_adv,
    )  # fmt: skip
    loss = pg_loss - p.ent_coef * entropy + p.vf_coef * v_loss
    return loss, {"policy_loss": pg_loss, "value_loss": v_loss, "entropy": entropy, **info}


def make_optimizer(
    actor: NavigatorNet, critic: NavigatorNet, cfg: FinetuneConfig
) -> torch.optim.Adam:
    """Adam with two parameter groups: the actor (``ppo.lr``) and the critic (``critic_lr``)."""
    return torch.optim.Adam(
        [
            {"params": list(actor.parameters()), "lr": cfg.ppo.lr},
            {"params": list(critic.parameters()), "lr": cfg.critic_lr},
        ],
        eps=1e-5,
    )


def ppo_update(
    actor: NavigatorNet,
    critic: NavigatorNet,
    opt: torch.optim.Optimizer,
    s: Samples,
    cfg: FinetuneConfig,
    rng: np.random.Generator,
    *,
    policy: bool = True,
) -> dict[str, float]:
    """Minibatch epochs of PPO on one rollout; mean diagnostics over the minibatches run."""
    p = cfg.ppo
    n = s.actions.shape[0]
    chunks = max(1, min(p.minibatches, n))
    params = [*actor.parameters(), *critic.parameters()]
    stats: dict[str, list[float]] = {}
    for _epoch in range(p.epochs):
        kl = []
        for part in np.array_split(rng.permutation(n), chunks):
            loss, info = ppo_loss(actor, critic, s, torch.as_tensor(part), cfg, policy=policy)
            opt.zero_grad()
            loss.backward()
            nn.utils.clip_grad_norm_(params, p.max_grad_norm)
            opt.step()
            for key, val in info.items():
                stats.setdefault(key, []).append(float(val.detach()))
            if "approx_kl" in info:  # (not in a minibatch without a free row)
                kl.append(float(info["approx_kl"]))
        if policy and p.target_kl is not None and kl and np.mean(kl) > p.target_kl:
            break
    out = {k: float(np.mean(v)) for k, v in stats.items()}
    out["explained_variance"] = explained_variance(s.values.numpy(), s.returns.numpy())
    return out
