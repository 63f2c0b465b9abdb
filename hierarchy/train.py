"""Train the PPO dispatcher: rollouts over randomized floors, PPO updates, checkpoints, TensorBoard.

One *iteration* runs ``n_envs`` episodes of ``horizon`` steps, each on a scenario drawn from
``scenarios`` with domain randomization (fleet size, arrival rate, breakdowns), then one
:func:`~hierarchy.ppo.ppo_update`. Every random draw of iteration ``i`` comes from generators
seeded by ``(seed, i)``, so a run resumed from the checkpoint of iteration ``i`` continues
exactly as an uninterrupted run would.

Run folder layout::

    RUN/config.json                 the TrainConfig
    RUN/policy.{safetensors,json}   the latest policy (what `--dispatcher-checkpoint` takes)
    RUN/checkpoint/                 resumable state (hierarchy.checkpoint)
    RUN/tb/                         TensorBoard: rollout/*, train/*, eval/*
    RUN/eval.json                   the last evaluation's KPIs
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import numpy as np
import torch

from warehouse.atomic import write_text_atomic
from warehouse.core import Simulation
from warehouse.errors import InputError
from warehouse.fleet import Fleet
from warehouse.kpis import compute_kpis

from .checkpoint import load_training_state, save_policy, save_training_state
from .features import Decision, FeatureConfig, global_features
from .hungarian import HungarianDispatcher
from .network import CandidateScorer, NetConfig
from .ppo import Batch, PPOConfig, log_probs, ppo_update, sample_actions, smdp_gae
from .ppo_dispatcher import PPODispatcher
from .smdp import DispatchEnv, RewardWeights
from .swaps import TaskSwaps

if TYPE_CHECKING:
    from scenarios.schema import Scenario
    from warehouse.floor import CompiledFloor, DistanceCache


@dataclass(frozen=True, kw_only=True)
class RandomizeConfig:
    """Domain randomization, drawn per episode."""

    robots: tuple[float, float] = (0.6, 1.4)  #: fleet size × U(lo, hi) of the scenario's
    arrival: tuple[float, float] = (0.7, 2.0)  #: arrival rate × U(lo, hi)
    breakdown_share: float = 0.3  #: share of episodes with breakdowns
    breakdown_prob: float = 0.002  #: per robot per step, when on

    def __post_init__(self) -> None:
        for name in ("robots", "arrival"):
            lo, hi = getattr(self, name)
            if not 0 < lo <= hi:
                raise ValueError(f"{name} must be [lo, hi] with 0 < lo ≤ hi, got [{lo}, {hi}]")
        for name in ("breakdown_share", "breakdown_prob"):
            if not 0 <= getattr(self, name) <= 1:
                raise ValueError(f"{name} must lie in [0, 1], got {getattr(self, name)}")


@dataclass(frozen=True, kw_only=True)
class TrainConfig:
    scenarios: tuple[str, ...] = ("tiny",)  #: built-in names or scenario files
    navigator: str = "rule_based"  #: navigator name, or a checkpoint path (cql)
    collisions: str | None = None  #: override physics.collisions (None: the scenario's)
    total_steps: int = 20_000  #: simulation steps over all env copies
    n_envs: int = 4  #: episodes (env copies) per iteration
    horizon: int = 200  #: steps per training episode
    reward_scale: float = 0.05  #: event rewards × this before GAE (keeps value targets O(1))
    period: int = 10  #: K: decide at least every K steps while robots wait
    seed: int = 0
    hidden: int = 64
    features: FeatureConfig = field(default_factory=FeatureConfig)
    weights: RewardWeights = field(default_factory=RewardWeights)
    ppo: PPOConfig = field(default_factory=PPOConfig)
    randomize: RandomizeConfig = field(default_factory=RandomizeConfig)
    task_swaps: bool = False  #: robots driving to picks trade orders (hierarchy/swaps.py)
    #: candidates leave out orders held for robots finishing a delivery (hierarchy/anticipation.py)
    anticipate: bool = False
    imitation_episodes: int = 8  #: warm start: episodes of Hungarian demonstrations (0: none)
    imitation_epochs: int = 30  #: supervised epochs over the demonstrations
    #: ... repeated until at least this many gradient steps (small floors give few rows);
    #: a config saved before this field existed reads as 0 (:data:`LEGACY_DEFAULTS`)
    imitation_min_updates: int = 600
    #: the warm start's value targets bootstrap at the horizon, which cuts the lifelong floor
    #: short (it is no terminal state): ``G_i + γ^(steps to horizon) V(s_H)`` with the critic
    #: being fitted (:func:`warm_start_targets`); False: ``G_i`` alone, biased low near the
    #: horizon (the rule before the thirty-fifth session; saved runs lacking it read as False)
    imitation_bootstrap: bool = True
    eval_every: int = 5  #: iterations between evaluations, and after the last (0: never)
    eval_steps: int = 300
    eval_seeds: tuple[int, ...] = (1000, 1001)

    def __post_init__(self) -> None:
        positive = ("total_steps", "n_envs", "horizon", "period", "hidden", "eval_steps")
        for name in positive:
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be ≥ 1, got {getattr(self, name)}")
        counts = ("imitation_episodes", "imitation_epochs", "imitation_min_updates", "eval_every")
        for name in counts:
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must be ≥ 0, got {getattr(self, name)}")
        if not self.reward_scale > 0:
            raise ValueError(f"reward_scale must be > 0, got {self.reward_scale}")

    @property
    def iterations(self) -> int:
        return max(1, math.ceil(self.total_steps / (self.n_envs * self.horizon)))

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Any, source: str | Path | None = None) -> TrainConfig:
        """The config :meth:`to_dict` saved (in ``source``); a field it lacks reads as
        :data:`LEGACY_DEFAULTS` says, else as the default. An unknown key, a value of the wrong
        type or out of range is an :class:`~warehouse.errors.InputError` naming ``config.KEY``."""
        from .settings import checked_dataclass

        return cast(TrainConfig, checked_dataclass(cls, data, source, "config", LEGACY_DEFAULTS))


#: Fields added after runs were saved, with the value that reproduces those runs.
LEGACY_DEFAULTS: dict[str, Any] = {
    "imitation_min_updates": 0,
    "imitation_bootstrap": False,
    "ppo.skip_forced_rows": False,
}


def resolve_navigator(spec: str) -> Any:
    """A navigator from a registered name, ``NAME:CHECKPOINT`` or a checkpoint path (``cql``)."""
    from agents import NAVIGATORS, make_navigator

    if spec in NAVIGATORS:
        return make_navigator(spec)
    name, _, ckpt = spec.partition(":")
    if ckpt and name in NAVIGATORS:
        return make_navigator(name, checkpoint=ckpt)
    if Path(spec).exists():
        if "cql" not in NAVIGATORS:
            raise InputError(spec, None, "a navigator checkpoint needs the 'cql' navigator")
        return make_navigator("cql", checkpoint=spec)
    if Path(spec).suffix in (".json", ".safetensors") or "/" in spec:  # meant as a checkpoint
        raise InputError(spec, "navigator", "checkpoint file not found")
    raise InputError(None, "navigator", f"unknown navigator {spec!r}; known: {sorted(NAVIGATORS)}")


def check_dispatchable(scenario: Scenario, source: Path | None) -> None:
    """Refuse a training scenario without orders (``tasks.mode: goal_visit``): the dispatcher
    would see no decision and train on nothing."""
    if scenario.tasks.mode == "goal_visit":
        raise InputError(
            source,
            "tasks.mode",
            "is goal_visit: it has no orders to dispatch (train the dispatcher on "
            "pickup_delivery scenarios)",
        )


class FloorPool:
    """Scenarios, their compiled floors and shared distance caches, built once."""

    def __init__(self, names: tuple[str, ...], collisions: str | None) -> None:
        from scenarios import apply_overrides, build_floor, load_scenario

        self.entries: list[tuple[Scenario, Path | None, CompiledFloor, DistanceCache | None]] = []
        for name in names:
            sc, src = load_scenario(name)
            check_dispatchable(sc, src)
            if collisions:
                sc = apply_overrides(sc, {"collisions": collisions}, src)
            floor = build_floor(sc, src)
            self.entries.append((sc, src, floor, None))

    def make_sim(self, idx: int, overrides: dict[str, Any]) -> Simulation:
        from scenarios import apply_overrides

        sc, src, floor, dist = self.entries[idx]
        sim = Simulation(floor, apply_overrides(sc, overrides, src).sim_config())
        if sim.config.faults.closures:
            return sim  # its distances follow its own closure schedule: a cache of its own
        if dist is None:
            self.entries[idx] = (sc, src, floor, sim.dist)
        else:
            sim.dist = dist  # without scheduled closures distances depend on the floor only
        return sim

    def randomized(self, rng: np.random.Generator, cfg: RandomizeConfig) -> Simulation:
        idx = int(rng.integers(len(self.entries)))
        sc, _, floor, _ = self.entries[idx]
        # (fixed starts: the first robots of them, :func:`~warehouse.core.fixed_tasks.fixed_cells`)
        starts = len(sc.fleet.start_cells) or int(floor.start_ok.sum())
        robots = round(sc.fleet.robots * rng.uniform(*cfg.robots))
        rate = float(sc.tasks.arrival_rate * rng.uniform(*cfg.arrival))
        broken = cfg.breakdown_prob if rng.random() < cfg.breakdown_share else 0.0
        return self.make_sim(
            idx,
            {
                "fleet.robots": int(np.clip(robots, 1, starts)),
                "tasks.arrival_rate": rate,
                "faults.breakdown_prob": broken,
            },
        )


@dataclass
class Rollout:
    cand: list[np.ndarray] = field(default_factory=list)
    mask: list[np.ndarray] = field(default_factory=list)
    row_event: list[np.ndarray] = field(default_factory=list)
    actions: list[np.ndarray] = field(default_factory=list)
    logp: list[np.ndarray] = field(default_factory=list)
    glob: list[np.ndarray] = field(default_factory=list)
    values: list[float] = field(default_factory=list)
    advantages: list[np.ndarray] = field(default_factory=list)
    returns: list[np.ndarray] = field(default_factory=list)
    episode_returns: list[float] = field(default_factory=list)
    deliveries: list[int] = field(default_factory=list)

    def batch(self) -> Batch:
        cat = lambda xs, dt: torch.as_tensor(np.concatenate(xs), dtype=dt)  # noqa: E731
        return Batch(
            cand=cat(self.cand, torch.float32),
            mask=cat(self.mask, torch.bool),
            row_event=cat(self.row_event, torch.int64),
            actions=cat(self.actions, torch.int64),
            logp=cat(self.logp, torch.float32),
            glob=torch.as_tensor(np.stack(self.glob), dtype=torch.float32),
            advantages=cat(self.advantages, torch.float32),
            returns=cat(self.returns, torch.float32),
            values=torch.as_tensor(np.array(self.values), dtype=torch.float32),
        )


def collect_episode(
    env: DispatchEnv,
    net: CandidateScorer,
    seed: int,
    gen: torch.Generator,
    cfg: TrainConfig,
    out: Rollout,
) -> None:
    """Run one episode with the sampling policy and append its events to ``out``."""
    first_event = len(out.glob)
    rewards, taus, raw = [], [], 0.0
    alive = env.reset(seed)
    while alive:
        dec = env.observe()
        r = dec.robots.size
        cand, mask = torch.from_numpy(dec.cand), torch.from_numpy(dec.mask)
        glob = torch.from_numpy(dec.glob)
        with torch.no_grad():
            logits = net.logits(cand, glob[None].expand(r, -1), mask)
            actions = sample_actions(logits, gen)
            logp = log_probs(logits, actions)
            value = float(net.value(glob[None])[0])
        out.cand.append(dec.cand)
        out.mask.append(dec.mask)
        out.row_event.append(np.full(r, len(out.glob), dtype=np.int64))
        out.actions.append(actions.numpy())
        out.logp.append(logp.numpy())
        out.glob.append(dec.glob)
        out.values.append(value)
        env.apply(actions.numpy())
        step = env.advance()
        rewards.append(step.reward * cfg.reward_scale)
        taus.append(step.tau)
        raw += step.raw_reward
        alive = not step.done
    n = len(rewards)
    if n:
        with torch.no_grad():
            end = torch.from_numpy(global_features(env.sim))[None]
            last_value = float(net.value(end)[0])  # the horizon truncates: bootstrap
        adv, ret = smdp_gae(
            np.array(rewards),
            np.array(out.values[first_event:]),
            last_value,
            np.array(taus),
            np.zeros(n, dtype=bool),
            cfg.ppo.gamma,
            cfg.ppo.gae_lambda,
        )
        out.advantages.append(adv)
        out.returns.append(ret)
    out.episode_returns.append(raw)
    out.deliveries.append(int(env.sim.state.deliveries.sum()))


def teacher_choice(decision: Decision, robots: np.ndarray, orders: np.ndarray) -> np.ndarray:
    """Per deciding robot, the candidate slot holding the teacher's order (``K`` = WAIT)."""
    k = decision.orders.shape[1]
    assigned = np.full(int(decision.robots.max(initial=-1)) + 1, -1, dtype=np.int64)
    assigned[robots] = orders
    want = assigned[decision.robots]
    match = (decision.orders == want[:, None]) & (want[:, None] >= 0)
    return np.where(match.any(axis=1), match.argmax(axis=1), k)


def horizon_returns(
    rewards: np.ndarray, taus: np.ndarray, gamma: float
) -> tuple[np.ndarray, np.ndarray]:
    """Per event of one episode cut at its horizon: the discounted reward from its decision to
    the horizon ``G_i`` (semi-Markov, as :func:`~hierarchy.ppo.smdp_gae` with λ = 1 and no
    bootstrap) and ``γ^(steps from its decision to the horizon)``, the weight of ``V(s_H)``."""
    n = rewards.shape[0]
    ret, _ = smdp_gae(rewards, np.zeros(n), 0.0, taus, np.zeros(n, bool), gamma, 1.0)
    to_end = np.cumsum(taus[::-1].astype(np.float64))[::-1]
    return ret, gamma**to_end


def warm_start_targets(
    net: CandidateScorer,
    returns: torch.Tensor,
    to_horizon: torch.Tensor,
    episode: torch.Tensor,
    end_glob: torch.Tensor,
) -> torch.Tensor:
    """The warm start's value targets ``G_i + γ^(steps to horizon) V(s_H)``: the horizon cuts
    the lifelong floor short, so the return beyond it is the critic's own estimate at the
    episode's last state (partial-episode bootstrapping, Pardo et al. 2018), recomputed as the
    critic is fitted (no gradient through it). Without it the targets of the events near the
    horizon miss everything after it and are biased low (``TrainConfig.imitation_bootstrap``)."""
    with torch.no_grad():
        end_value = net.value(end_glob)
    return returns + to_horizon * end_value[episode]


def imitate(
    net: CandidateScorer, pool: FloorPool, navigators: list[Any], cfg: TrainConfig
) -> dict[str, float]:
    """Warm start: clone the Hungarian dispatcher's choices and fit the value to its returns."""
    teacher = HungarianDispatcher(lookahead=cfg.features.lookahead, anticipate=cfg.anticipate)
    rng = np.random.default_rng(_iteration_seed(cfg.seed, _WARM, 1))
    roll = Rollout()
    to_horizon: list[np.ndarray] = []  # per event: γ^(steps from its decision to the horizon)
    episode: list[np.ndarray] = []  # per event: its episode
    ends: list[np.ndarray] = []  # per episode: the global features at the horizon
    for e in range(cfg.imitation_episodes):
        env = DispatchEnv(
            pool.randomized(rng, cfg.randomize),
            navigators[e % len(navigators)],
            features=cfg.features,
            weights=cfg.weights,
            period=cfg.period,
            horizon=cfg.horizon,
            gamma=cfg.ppo.gamma,
            task_swaps=cfg.task_swaps,
            anticipate=cfg.anticipate,
        )
        rewards, taus = [], []
        alive = env.reset(_iteration_seed(cfg.seed, _WARM, 10 + e))
        while alive:
            dec = env.observe()
            choice = teacher_choice(dec, *teacher.decide(env.sim))
            roll.cand.append(dec.cand)
            roll.mask.append(dec.mask)
            roll.row_event.append(np.full(dec.robots.size, len(roll.glob), dtype=np.int64))
            roll.actions.append(choice)
            roll.glob.append(dec.glob)
            roll.values.append(0.0)
            env.apply(choice)
            step = env.advance()
            rewards.append(step.reward * cfg.reward_scale)
            taus.append(step.tau)
            alive = not step.done
        n = len(rewards)
        ret, to_end = horizon_returns(np.array(rewards), np.array(taus), cfg.ppo.gamma)
        roll.returns.append(ret)
        to_horizon.append(to_end)
        episode.append(np.full(n, len(ends), dtype=np.int64))
        ends.append(global_features(env.sim))
    if not roll.glob:
        return {}
    cand = torch.as_tensor(np.concatenate(roll.cand))
    mask = torch.as_tensor(np.concatenate(roll.mask))
    row_event = torch.as_tensor(np.concatenate(roll.row_event))
    target = torch.as_tensor(np.concatenate(roll.actions), dtype=torch.int64)
    glob = torch.as_tensor(np.stack(roll.glob))
    returns = torch.as_tensor(np.concatenate(roll.returns), dtype=torch.float32)
    end_glob = torch.as_tensor(np.stack(ends))
    end_weight = torch.as_tensor(np.concatenate(to_horizon), dtype=torch.float32)
    event_episode = torch.as_tensor(np.concatenate(episode))
    opt = torch.optim.Adam(net.parameters(), lr=1e-3)
    n_rows = target.shape[0]
    per_epoch = max(1, n_rows // 256)
    epochs = max(cfg.imitation_epochs, math.ceil(cfg.imitation_min_updates / per_epoch))
    for _ in range(epochs):
        for mb in np.array_split(rng.permutation(n_rows), per_epoch):
            mb_t = torch.as_tensor(mb)
            logits = net.logits(cand[mb_t], glob[row_event[mb_t]], mask[mb_t])
            ce = -log_probs(logits, target[mb_t]).mean()
            v_target = returns
            if cfg.imitation_bootstrap:
                v_target = warm_start_targets(net, returns, end_weight, event_episode, end_glob)
            v_loss = ((net.value(glob) - v_target) ** 2).mean()
            opt.zero_grad()
            (ce + 0.5 * v_loss).backward()
            opt.step()
    with torch.no_grad():
        logits = net.logits(cand, glob[row_event], mask)
        acc = float((logits.argmax(-1) == target).float().mean())
    return {
        "imitation_accuracy": acc,
        "imitation_rows": float(n_rows),
        "imitation_updates": float(epochs * per_epoch),
    }


def evaluate(
    dispatcher: Any,
    navigator: Any,
    pool: FloorPool,
    seeds: tuple[int, ...],
    steps: int,
) -> dict[str, float]:
    """Mean KPIs of ``dispatcher`` over every pool scenario × seed (``steps`` each)."""
    rows = []
    for idx in range(len(pool.entries)):
        for seed in seeds:
            sim = pool.make_sim(idx, {})
            fleet = Fleet(sim, dispatcher, navigator)
            fleet.reset(seed)
            fleet.run(steps)
            k = compute_kpis(sim)
            k["energy_per_delivery_kwh"] = cast(float, k["energy_kwh"]) / max(
                1, cast(int, k["deliveries"])
            )
            rows.append(k)
    keys = ("deliveries", "throughput_per_hour", "collisions", "energy_per_delivery_kwh")
    return {k: float(np.mean([r[k] for r in rows])) for k in keys}


_WARM = 2**31 - 1  # the iteration index of the imitation warm start


def _iteration_seed(seed: int, it: int, stream: int) -> int:
    return int(np.random.SeedSequence([seed, it, stream]).generate_state(1)[0])


def train(
    cfg: TrainConfig,
    out: str | Path,
    *,
    resume: bool = False,
    on_iteration: Callable[[int, int, dict[str, float]], None] | None = None,
    log_tensorboard: bool = True,
) -> CandidateScorer:
    """Train (or resume) into ``out``; returns the final network (module docstring)."""
    out = Path(out)
    ckpt = out / "checkpoint"
    torch.manual_seed(cfg.seed)
    net = CandidateScorer(NetConfig(n_cand=cfg.features.n_cand, hidden=cfg.hidden))
    opt = torch.optim.Adam(net.parameters(), lr=cfg.ppo.lr, eps=1e-5)
    start = 0
    if resume and (ckpt / "state.json").is_file():
        state = load_training_state(ckpt, net, opt)
        saved = TrainConfig.from_dict(state.get("config"), ckpt / "state.json")
        if replace(saved, total_steps=cfg.total_steps) != cfg:
            diff = _settings_diff(asdict(saved), asdict(cfg))
            shown = "; ".join(f"{k}: {a!r} in the run, {b!r} now" for k, a, b in diff[:3])
            more = f" (+{len(diff) - 3} more)" if len(diff) > 3 else ""
            why = f"differs from this run's settings: {shown}{more}"
            raise InputError(ckpt / "state.json", "config", why)
        done = state.get("iteration")
        if isinstance(done, bool) or not isinstance(done, int) or done < 0:
            why = f"expected a count ≥ 0, got {done!r}"
            raise InputError(ckpt / "state.json", "iteration", why)
        start = done
    elif resume:
        raise InputError(ckpt / "state.json", None, "nothing to resume")
    out.mkdir(parents=True, exist_ok=True)
    write_text_atomic(out / "config.json", json.dumps(cfg.to_dict(), indent=2))

    pool = FloorPool(cfg.scenarios, cfg.collisions)
    navigators = [resolve_navigator(cfg.navigator) for _ in range(cfg.n_envs)]
    writer = None
    if log_tensorboard:
        from warehouse.tb import summary_writer

        # steps are environment steps; the checkpointed iteration's point stays
        purge = start * cfg.n_envs * cfg.horizon + 1 if start else None
        writer = summary_writer(out / "tb", purge_step=purge)
    warm: dict[str, float] = {}
    if start == 0 and cfg.imitation_episodes > 0:
        warm = imitate(net, pool, navigators, cfg)
    for it in range(start, cfg.iterations):
        stats = dict(warm) if it == 0 else {}
        rng = np.random.default_rng(_iteration_seed(cfg.seed, it, 1))
        gen = torch.Generator().manual_seed(_iteration_seed(cfg.seed, it, 2))
        roll = Rollout()
        net.eval()
        for e in range(cfg.n_envs):
            env = DispatchEnv(
                pool.randomized(rng, cfg.randomize),
                navigators[e],
                features=cfg.features,
                weights=cfg.weights,
                period=cfg.period,
                horizon=cfg.horizon,
                gamma=cfg.ppo.gamma,
                task_swaps=cfg.task_swaps,
                anticipate=cfg.anticipate,
            )
            collect_episode(env, net, _iteration_seed(cfg.seed, it, 10 + e), gen, cfg, roll)
        net.train()
        if roll.glob:
            stats.update(ppo_update(net, opt, roll.batch(), cfg.ppo, rng))
        stats["episode_return"] = float(np.mean(roll.episode_returns))
        stats["deliveries"] = float(np.mean(roll.deliveries))
        stats["events"] = float(len(roll.glob))
        done_it = it + 1
        if cfg.eval_every and (done_it % cfg.eval_every == 0 or done_it == cfg.iterations):
            net.eval()
            disp: Any = PPODispatcher(
                net, cfg.features, period=cfg.period, anticipate=cfg.anticipate
            )
            disp = TaskSwaps(disp, period=cfg.period) if cfg.task_swaps else disp
            ev = evaluate(disp, navigators[0], pool, cfg.eval_seeds, cfg.eval_steps)
            stats.update({f"eval_{k}": v for k, v in ev.items()})
            write_text_atomic(out / "eval.json", json.dumps(ev, indent=2))
        if writer is not None:
            step = done_it * cfg.n_envs * cfg.horizon
            for key, value in stats.items():
                group = "rollout" if key in ("episode_return", "deliveries", "events") else "train"
                group = "eval" if key.startswith("eval_") else group
                writer.add_scalar(f"{group}/{key.removeprefix('eval_')}", value, step)
            writer.flush()
        save_training_state(
            ckpt, net, opt, {"iteration": done_it, "config": cfg.to_dict(), "stats": stats}
        )
        save_policy(
            out / "policy", net, cfg.features, cfg.period, iteration=done_it, train=cfg.to_dict()
        )
        if on_iteration is not None:
            on_iteration(done_it, cfg.iterations, stats)
    if writer is not None:
        writer.close()
    net.eval()
    return net


def _settings_diff(
    a: dict[str, Any], b: dict[str, Any], prefix: str = ""
) -> list[tuple[str, Any, Any]]:
    """``(dotted key, a's value, b's value)`` for every setting that differs between two
    :func:`dataclasses.asdict` configs (``total_steps`` aside: a resume may extend it)."""
    out: list[tuple[str, Any, Any]] = []
    for key in a.keys() | b.keys():
        va, vb = a.get(key), b.get(key)
        if isinstance(va, dict) and isinstance(vb, dict):
            out += _settings_diff(va, vb, f"{prefix}{key}.")
        elif va != vb and f"{prefix}{key}" != "total_steps":
            out.append((f"{prefix}{key}", va, vb))
    return sorted(out)
