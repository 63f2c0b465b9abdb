"""A shared-parameter actor-critic learned from scratch over the env's array API.

A worked example of training your own fleet policy (CleanRL style: one file, no framework),
and the measurement behind ``reward.progress``::

    python -m agents.scratch_a2c --updates 250                   # default reward: sparse
    python -m agents.scratch_a2c --updates 250 --progress 2      # + progress shaping

Every robot runs the same network on its own observation (:mod:`warehouse.core.observe`).
One update is one episode of ``--steps`` steps for the whole fleet: advantage actor-critic
with n-step returns bootstrapped at the truncation, an entropy bonus and masked logits. A
one-shot instance with ``episode.stop_when_solved`` ends its episode where the env terminates
it (:attr:`~warehouse.env.WarehouseEnv.terminated`: solved), without a bootstrap. It prints the
fleet's deliveries per episode and, at the end, on a held-out seed; on one-shot instances also
whether the episode was solved, the share of robots on their goal and its steps
(:meth:`~warehouse.env.WarehouseEnv.episode_metrics`).
"""

from __future__ import annotations

from typing import Any

import numpy as np

#: The first held-out seed: every update's seed lies below it (fewer than 10,000 updates).
HELD_OUT = 10_000


def held_out_seed(seed: int, updates: int) -> int:
    """The seed of the final evaluation: one that neither the first reset (``seed``) nor an
    update (``seed + 1 … seed + updates``) trained on."""
    return seed + max(HELD_OUT, updates + 1)


def episode_over(env: Any) -> bool:
    """Whether the env's episode has ended: truncated after ``episode.steps`` steps, or
    terminated (a one-shot instance with ``episode.stop_when_solved``, solved)."""
    return bool(env.truncated or env.terminated)


def discounted_returns(rewards: list[Any], bootstrap: Any, gamma: float) -> list[Any]:
    """n-step returns of an episode's per-step rewards (oldest first), from ``bootstrap``
    after the last step: ``V(s_T)`` where it was truncated, 0 where it terminated."""
    ret, returns = bootstrap, []
    for r in reversed(rewards):
        ret = r + gamma * ret
        returns.append(ret)
    return returns[::-1]


def train(
    scenario: str = "small",
    *,
    updates: int = 250,
    steps: int = 200,
    progress: float | None = None,
    seed: int = 0,
    log: Any = print,
) -> dict[str, Any]:
    """Train and return ``{"deliveries": per-update list, "held_out": deliveries}``; on a
    one-shot instance also per-update lists ``solved``, ``on_goal_share`` and ``steps`` and the
    held-out episode's ``held_out_metrics`` (:meth:`~warehouse.env.WarehouseEnv.episode_metrics`).
    ``progress``: ``reward.progress`` (``None``: the scenario's own)."""
    import torch
    from torch import nn

    import warehouse

    torch.manual_seed(seed)
    overrides: dict[str, Any] = {"episode.steps": steps}
    if progress is not None:
        overrides["reward.progress"] = progress
    env = warehouse.make_env(scenario, **overrides)
    obs, mask = env.reset_arrays(seed=seed)
    n_actions = mask.shape[1]
    torso = nn.Sequential(nn.Linear(obs.shape[1], 128), nn.Tanh(), nn.Linear(128, 128), nn.Tanh())
    actor, critic = nn.Linear(128, n_actions), nn.Linear(128, 1)
    params = [*torso.parameters(), *actor.parameters(), *critic.parameters()]
    optim = torch.optim.Adam(params, lr=1e-3)
    sampler = torch.Generator().manual_seed(seed)

    def policy(o: np.ndarray, m: np.ndarray) -> tuple[Any, Any]:
        h = torso(torch.as_tensor(o))
        logits = actor(h).masked_fill(~torch.as_tensor(m), -1e9)
        return logits, critic(h).squeeze(-1)

    def act(logits: Any) -> Any:
        return torch.multinomial(logits.softmax(-1), 1, generator=sampler).squeeze(-1)

    gamma, history = 0.97, []
    one_shot: dict[str, list[Any]] | None = None  # per-update one-shot metrics
    if env.episode_metrics() is not None:
        one_shot = {"solved": [], "on_goal_share": [], "steps": []}
    for update in range(updates):
        obs, mask = env.reset_arrays(seed=seed + 1 + update)
        logps, values, rewards, entropies = [], [], [], []
        while not episode_over(env):
            logits, value = policy(obs, mask)
            action = act(logits)
            obs, mask, result = env.step_arrays(action.numpy())
            dist = torch.distributions.Categorical(logits=logits)
            logps.append(dist.log_prob(action))
            entropies.append(dist.entropy())
            values.append(value)
            rewards.append(torch.as_tensor(result.reward) / 100.0)
        with torch.no_grad():
            last = policy(obs, mask)[1]  # truncated: bootstrap; terminated (solved): none
            last = torch.zeros_like(last) if env.terminated else last
        returns = discounted_returns(rewards, last, gamma)
        returns_t, values_t = torch.stack(returns), torch.stack(values)
        advantage = (returns_t - values_t).detach()
        loss = (
            -(torch.stack(logps) * advantage).mean()
            + 0.5 * ((returns_t - values_t) ** 2).mean()
            - 0.01 * torch.stack(entropies).mean()
        )
        optim.zero_grad()
        loss.backward()
        nn.utils.clip_grad_norm_(params, 0.5)
        optim.step()
        history.append(int(env.sim.state.deliveries.sum()))
        metrics = env.episode_metrics()
        if one_shot is not None and metrics is not None:
            for key, values in one_shot.items():
                values.append(metrics[key])
        if update % 25 == 0 or update == updates - 1:
            log(f"update {update:4d}  deliveries {history[-1]:3d}" + _one_shot_line(metrics))
    obs, mask = env.reset_arrays(seed=held_out_seed(seed, updates))
    with torch.no_grad():
        while not episode_over(env):
            obs, mask, _ = env.step_arrays(act(policy(obs, mask)[0]).numpy())
    held_out = int(env.sim.state.deliveries.sum())
    metrics = env.episode_metrics()
    log(
        f"held-out seed: {held_out} deliveries in {env.sim.t} steps"
        + _one_shot_line(metrics, steps=False)
    )
    out: dict[str, Any] = {"deliveries": history, "held_out": held_out}
    if one_shot is not None:
        out.update(one_shot, held_out_metrics=metrics)
    return out


def _one_shot_line(metrics: dict[str, Any] | None, steps: bool = True) -> str:
    """The log's one-shot columns: solved, share of robots on their goal and (``steps``) the
    episode's steps; "" when the run is no one-shot instance."""
    if metrics is None:
        return ""
    line = f"  solved {int(metrics['solved'])}  on_goal {metrics['on_goal_share']:.2f}"
    return line + (f"  steps {metrics['steps']:4d}" if steps else "")


def main(argv: list[str] | None = None) -> None:
    from warehouse.cli.checks import MAX_TRAIN_SEED, OneLineParser
    from warehouse.threads import torch_threads

    p = OneLineParser(description=__doc__.splitlines()[0])
    p.add_argument("--scenario", default="small", help="Built-in name, scenario or map file.")
    p.add_argument("--updates", type=int, default=250, help="Episodes (one update each).")
    p.add_argument("--steps", type=int, default=200, help="Steps per episode.")
    p.add_argument(
        "--progress",
        type=float,
        default=None,
        help="reward.progress (shaping); default: the scenario's own (0 on the built-ins).",
    )
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args(argv)
    if args.updates < 1 or args.steps < 1:
        p.error("--updates and --steps must be ≥ 1")
    if args.progress is not None and not np.isfinite(args.progress):
        p.error(f"--progress: expected a finite number, got {args.progress}")
    if not 0 <= args.seed <= MAX_TRAIN_SEED:  # (env seeds are ≥ 0; torch's fill 64 bits)
        p.error(f"--seed: expected a whole number from 0 to 2**64 - 1, got {args.seed}")
    from warehouse.errors import InputError

    try:
        with torch_threads(2):
            train(
                args.scenario,
                updates=args.updates,
                steps=args.steps,
                progress=args.progress,
                seed=args.seed,
            )
    except InputError as exc:  # a bad scenario: one line, exit 2
        p.error(exc.one_line())


if __name__ == "__main__":
    from warehouse.interrupt import run_main

    run_main(main)
