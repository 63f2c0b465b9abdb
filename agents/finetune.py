"""Online fine-tuning of the shared navigator with PPO (``warehouse train-navigator --algo ppo``).

Starts from a CQL (or BC) checkpoint (``--init``) and improves the *same* network in the
simulator with shared-parameter PPO (:mod:`agents.finetune_ppo`). One **iteration**:

1. for every training floor (``scenarios``), a fresh episode of ``rollout_steps`` steps
   (greedy dispatcher, ``collisions`` mode) stepped through :class:`~warehouse.fleet.Fleet`,
   every robot sampling its move from the policy — one forward pass per step for the fleet. On a
   one-shot floor with ``episode.stop_when_solved``, an episode ends where the env ends it:
   solved (terminal: no bootstrap) or after ``episode.steps`` steps (bootstrapped), and the
   rollout's next step starts a new episode on the next seed of the iteration;
2. the **collision guard** (``physical`` mode): collisions per 1k robot-steps over the rollout
   (all floors together) are compared with ``collision_limit`` and with ``collision_rise`` × the
   rate of the first rollout (the initial network). Above either, training *pauses*: no update
   is made, the state is checkpointed, the reason goes to ``RUN/PAUSED.json``, TensorBoard and
   the log, and then ``on_pause="stop"`` ends the run (the CLI exits with code 3), while
   ``on_pause="wait"`` waits up to ``pause_wait_s`` for an operator to create ``RUN/CONTINUE``
   (that accepts the rollout and goes on; it is deleted) before stopping;
3. GAE per robot and minibatch epochs of PPO (the learning rules ``shaping``,
   ``ppo.skip_forced_rows`` and ``bootstrap``: :mod:`agents.finetune_ppo`).

Every random draw of iteration ``i`` (episode seeds, action sampling, minibatch order) comes
from generators seeded by ``(seed, i)``, so ``resume=True`` — which restores actor, critic and
Adam from the latest checkpoint — continues exactly as an uninterrupted run would.

Run folder::

    RUN/checkpoints/iter_000010.{safetensors,json}   resumable states (kind "ppo-finetune")
    RUN/model.{safetensors,json}                      the fine-tuned navigator (kind "weights")
    RUN/tb/                                           rollout/*, train/*, eval/*, guard/*
    RUN/PAUSED.json                                   why the run paused (when it did)

``RUN/model`` loads as a navigator: ``warehouse run faults --policy cql
--set policies.navigator_checkpoint=RUN/model.json``.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch

from warehouse.atomic import write_text_atomic
from warehouse.errors import InputError
from warehouse.jsonio import read_json_object

from .checkpoint import read_checkpoint, resolve
from .finetune_ckpt import load_finetune_state, save_finetune
from .finetune_ppo import (
    FinetuneConfig,
    Samples,
    SamplingNavigator,
    episodes_gae,
    make_critic,
    make_optimizer,
    ppo_update,
    shaping,
)
from .networks import NavigatorNet

#: settings a resumed run may change; every other one comes from the checkpoint
RESUMABLE = (
    "updates",
    "collision_limit",
    "collision_rise",
    "on_pause",
    "pause_wait_s",
    "ckpt_every",
    "eval_every",
)


@dataclass
class FinetuneResult:
    iteration: int  #: iterations done
    paused: str | None  #: the guard's reason when the run stopped paused
    model: Path | None  #: the fine-tuned weights (None when paused before any update)
    last: dict[str, float] = field(default_factory=dict)  #: the last iteration's numbers
    network: Any = None  #: the actor (the navigator network) as it ends


def iteration_seed(seed: int, it: int, stream: int) -> int:
    return int(np.random.SeedSequence([seed, it, stream]).generate_state(1)[0])


def episode_seed(seed: int, it: int, floor: int, episode: int) -> int:
    """The seed of episode ``episode`` of floor ``floor`` in iteration ``it``'s rollout: the
    first (every lifelong rollout's one) is ``iteration_seed(seed, it, 10 + floor)``; later
    ones (a one-shot floor's episodes that ended inside the rollout) draw on their own."""
    if episode == 0:
        return iteration_seed(seed, it, 10 + floor)
    return int(np.random.SeedSequence([seed, it, 10 + floor, episode]).generate_state(1)[0])


def load_init(path: str | Path) -> tuple[NavigatorNet, dict[str, Any], Any]:
    """``(network, JSON, observation layout)`` of a navigator checkpoint (InputError if bad)."""
    from .learned import load_learned_navigator

    policy = load_learned_navigator(None, path, device="cpu")
    meta, _ = read_checkpoint(path)
    net = policy.scorer.net  # type: ignore[attr-defined]
    return net.train(), meta, getattr(policy, "observation", None)


def collision_pause_reason(rate: float, baseline: float | None, cfg: FinetuneConfig) -> str | None:
    """Why the guard pauses at ``rate`` collisions per 1k robot-steps (None: it does not)."""
    if cfg.collisions != "physical":
        return None
    if cfg.collision_limit is not None and rate > cfg.collision_limit:
        return f"collisions {rate:.2f} per 1k robot-steps exceed the limit {cfg.collision_limit:g}"
    if cfg.collision_rise is not None and baseline is not None:
        bound = cfg.collision_rise * baseline
        if rate > bound:
            return (
                f"collisions {rate:.2f} per 1k robot-steps exceed {cfg.collision_rise:g} x the "
                f"initial {baseline:.2f}"
            )
    return None


class Floors:
    """One fleet per training scenario, all driven by sampling navigators of the shared nets."""

    def __init__(self, cfg: FinetuneConfig, actor: Any, critic: Any, observation: Any) -> None:
        from hierarchy import make_dispatcher
        from scenarios import apply_overrides, build_floor, load_scenario
        from warehouse.core import Simulation
        from warehouse.fleet import Fleet

        self.fleets = []
        self.navs = []
        #: per floor: the episode limit where episodes end solved (episode.stop_when_solved,
        #: episode.steps), else None (the rollout is one episode)
        self.limits: list[int | None] = []
        for target in cfg.scenarios:
            sc, src = load_scenario(target)
            sc = apply_overrides(sc, {"collisions": cfg.collisions}, src)
            self.limits.append(int(sc.episode.steps) if sc.episode.stop_when_solved else None)
            nav = SamplingNavigator(
                actor, critic, cfg.temperature, observation, lane_view=cfg.lane_view
            )
            sim = Simulation(build_floor(sc, src), sc.sim_config())
            self.fleets.append(Fleet(sim, make_dispatcher(cfg.dispatcher), nav))
            self.navs.append(nav)


def rollout(floors: Floors, cfg: FinetuneConfig, it: int) -> tuple[Samples, dict[str, float]]:
    """Iteration ``it``'s episodes, flattened, with advantages (module docstring)."""
    p = cfg.ppo
    parts: dict[str, list[np.ndarray]] = {k: [] for k in ("obs", "mask", "act", "logp", "val")}
    parts["adv"], parts["ret"] = [], []
    incidents = deliveries = robot_steps = 0
    reward_sum = 0.0
    for e, (fleet, nav) in enumerate(zip(floors.fleets, floors.navs, strict=True)):
        limit = floors.limits[e]
        episode = 0
        fleet.reset(episode_seed(cfg.seed, it, e, episode))
        T, n = cfg.rollout_steps, fleet.sim.n_robots
        #: each episode's (end, bootstrap value or None where it terminated solved)
        ends: list[tuple[int, np.ndarray | None]] = []
        buf: dict[str, list[np.ndarray]] = {k: [] for k in ("obs", "mask", "act", "logp", "val")}
        rew = np.zeros((T, n), dtype=np.float64)
        for t in range(T):
            st = fleet.step()
            # nav.act() ran inside fleet.step() with observations (it raises without them) and
            # the simulation, so it set all of these
            assert st.obs is not None
            assert nav.last_logp is not None and nav.last_value is not None
            assert nav.last_target is not None and nav.last_pos is not None
            assert nav.last_obs is not None and nav.last_mask is not None
            assert nav.last_act is not None
            # in the frame the network decided in: the floor's, or the mirrored one for robots
            # in long north-south lanes (cfg.lane_view); equal to st.obs, st.mask, st.proposed
            # where nothing is mirrored
            buf["obs"].append(nav.last_obs)
            buf["mask"].append(nav.last_mask)
            buf["act"].append(nav.last_act)
            buf["logp"].append(nav.last_logp)
            buf["val"].append(nav.last_value)
            gamma = None if cfg.shaping == "difference" else p.gamma
            gain = shaping(fleet.sim, nav.last_target, nav.last_pos, gamma)
            rew[t] = (st.result.reward + cfg.progress_reward * gain) * cfg.reward_scale
            incidents += st.result.incidents
            deliveries += int(st.result.delivered.sum())
            solved = limit is not None and bool(fleet.sim.solved())
            if solved or (limit is not None and fleet.sim.t >= limit):
                # the episode ends as the env ends it: solved (terminal), or cut by its limit
                ends.append((t + 1, None if solved else _bootstrap(fleet, nav, cfg)))
                if t + 1 < T:  # the next step starts a new episode
                    episode += 1
                    fleet.reset(episode_seed(cfg.seed, it, e, episode))
        robot_steps += T * n
        reward_sum += float(rew.sum())
        if not ends or ends[-1][0] != T:  # the rollout cuts the episode by time
            ends.append((T, _bootstrap(fleet, nav, cfg)))
        values = np.stack(buf["val"]).astype(np.float64)
        adv, ret = episodes_gae(rew, values, ends, p.gamma, p.gae_lambda)
        for k, v in buf.items():
            parts[k].append(np.concatenate(v))
        parts["adv"].append(adv.reshape(-1))
        parts["ret"].append(ret.reshape(-1))

    def cat(key: str, dtype: torch.dtype) -> torch.Tensor:
        return torch.from_numpy(np.concatenate(parts[key])).to(dtype)

    samples = Samples(
        obs=cat("obs", torch.float32),
        mask=cat("mask", torch.bool),
        actions=cat("act", torch.int64),
        logp=cat("logp", torch.float32),
        advantages=cat("adv", torch.float32),
        returns=cat("ret", torch.float32),
        values=cat("val", torch.float32),
    )
    stats = {
        "collisions_per_1k": 1000.0 * incidents / robot_steps,
        "deliveries": float(deliveries),
        "reward_per_robot_step": reward_sum / robot_steps,
    }
    return samples, stats


def _bootstrap(fleet: Any, nav: SamplingNavigator, cfg: FinetuneConfig) -> np.ndarray:
    """``V(s)`` of an episode cut by time, in the frame the robots decided in: with
    ``bootstrap="decision"`` of what the next step's navigator would decide on, after that
    step's dispatcher, as every value before it (the episode ends here: the fleet is reset
    before it steps again)."""
    from warehouse.fleet import run_dispatcher

    if cfg.bootstrap == "decision" and fleet.dispatcher is not None:
        run_dispatcher(fleet.dispatcher, fleet.sim)
    return nav.value(fleet.sim, fleet.observer())


def evaluate_greedy(actor: Any, observation: Any, cfg: FinetuneConfig) -> dict[str, Any]:
    """KPIs of the greedy network on ``eval_scenario`` (``collisions`` mode)."""
    from hierarchy import make_dispatcher
    from scenarios import apply_overrides, build_floor, load_scenario
    from warehouse.core import Simulation
    from warehouse.fleet import Fleet
    from warehouse.kpis import compute_kpis

    from .batched import BatchedPolicy, NetworkScorer

    sc, src = load_scenario(cfg.eval_scenario)
    sc = apply_overrides(sc, {"collisions": cfg.collisions}, src)
    sim = Simulation(build_floor(sc, src), sc.sim_config())
    policy = BatchedPolicy(NetworkScorer(actor, device="cpu"), name="finetune-eval")
    policy.observation = observation  # type: ignore[attr-defined]
    fleet = Fleet(sim, make_dispatcher(cfg.dispatcher), policy)
    fleet.reset(cfg.eval_seed)
    fleet.run(cfg.eval_steps, stop_when_solved=sc.episode.stop_when_solved)
    actor.train()
    return compute_kpis(sim)


def _latest(folder: Path) -> Path | None:
    found = sorted(folder.glob("iter_*.json"))
    return found[-1] if found else None


def saved_run(out: str | Path) -> tuple[Path, FinetuneConfig, dict[str, Any]] | None:
    """``(latest checkpoint, its run's settings, its init and init_sha256)`` of the fine-tuning
    run in ``out`` (what ``--resume`` keeps), or None when it has no checkpoint."""
    latest = _latest(Path(out) / "checkpoints")
    if latest is None:
        return None
    ft = _finetune_info(read_json_object(latest), latest)
    saved = FinetuneConfig.from_json(ft.get("config"), latest)
    return latest, saved, {k: ft.get(k) for k in ("init", "init_sha256")}


def _finetune_info(meta: dict[str, Any], source: Path) -> dict[str, Any]:
    """The ``extra.finetune`` object of a fine-tuning checkpoint's JSON."""
    extra = meta.get("extra")
    ft = extra.get("finetune") if isinstance(extra, dict) else None
    if not isinstance(ft, dict):
        raise InputError(source, "extra.finetune", "missing: not a fine-tuning checkpoint")
    return ft


def _wait_for_continue(out: Path, seconds: float, poll: float = 1.0) -> bool:
    flag = out / "CONTINUE"
    deadline = time.monotonic() + seconds
    while True:
        if flag.exists():
            flag.unlink()
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(min(poll, max(0.0, deadline - time.monotonic())))


def finetune(
    cfg: FinetuneConfig,
    out: str | Path,
    *,
    init: str | Path | None = None,
    resume: bool = False,
    show_progress: bool = True,
    log: Callable[[str], None] = print,
) -> FinetuneResult:
    """Fine-tune (or resume) into ``out``; see the module docstring."""
    from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

    from warehouse.tb import summary_writer

    out = Path(out)
    ckpt_dir = out / "checkpoints"
    start, baseline = 0, None
    if resume:
        latest = _latest(ckpt_dir)
        if latest is None:
            other = any(ckpt_dir.glob("step_*.json"))  # an offline run's checkpoints
            why = "it holds an offline (cql/bc) run" if other else "no checkpoint to resume from"
            raise InputError(out, "--resume", why)
        actor, meta, observation = load_init(latest)
        ft = _finetune_info(meta, latest)
        saved = FinetuneConfig.from_json(ft.get("config"), latest)
        cfg = replace(saved, **{k: getattr(cfg, k) for k in RESUMABLE})
        critic = make_critic(actor)
        opt = make_optimizer(actor, critic, cfg)
        load_finetune_state(latest, actor, critic, opt)
        start, baseline = int(meta["step"]), ft.get("baseline_collisions_per_1k")
        if baseline is not None and (
            isinstance(baseline, bool) or not isinstance(baseline, int | float)
        ):
            field = "extra.finetune.baseline_collisions_per_1k"
            raise InputError(latest, field, f"expected a number or null, got {baseline!r}")
        init_info = {k: ft.get(k) for k in ("init", "init_sha256")}
    else:
        if init is None:
            raise InputError(None, "--init", "give the checkpoint to fine-tune")
        actor, meta, observation = load_init(init)
        if _latest(ckpt_dir) is not None:
            raise InputError(out, None, "run folder has checkpoints; use --resume or a new --out")
        torch.manual_seed(cfg.seed)
        critic = make_critic(actor)
        opt = make_optimizer(actor, critic, cfg)
        wpath = resolve(init).with_suffix(".safetensors")
        init_info = {
            "init": str(init),
            "init_sha256": hashlib.sha256(wpath.read_bytes()).hexdigest(),
        }
    floors = Floors(cfg, actor, critic, observation)  # bad scenario names fail here
    out.mkdir(parents=True, exist_ok=True)
    (out / "PAUSED.json").unlink(missing_ok=True)  # (a resumed pause: it is written again if so)

    def info(it: int, paused: str | None = None) -> dict[str, Any]:
        return {
            "config": cfg.to_json(),
            **init_info,
            "iteration": it,
            "baseline_collisions_per_1k": baseline,
            "paused": paused,
        }

    def save_state(it: int, paused: str | None = None) -> None:
        save_finetune(
            ckpt_dir / f"iter_{it:06d}", meta, actor, step=it, finetune=info(it, paused),
            critic=critic, optim=opt,
        )  # fmt: skip

    def save_model(it: int) -> Path:
        return save_finetune(out / "model", meta, actor, step=it, finetune=info(it))

    # the update that made the checkpoint logged at step `start`: its point stays
    writer = summary_writer(out / "tb", purge_step=start + 1 if start else None)
    progress = Progress(
        TextColumn("[bold]ppo[/]"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total}"),
        TextColumn("{task.fields[info]}"),
        TimeRemainingColumn(),
        disable=not show_progress,
    )
    paused: str | None = None
    last: dict[str, float] = {}
    it = start
    try:
        with progress:
            task = progress.add_task("ppo", total=cfg.updates, completed=start, info="")
            while it < cfg.updates:
                samples, stats = rollout(floors, cfg, it)
                rate = stats["collisions_per_1k"]
                if baseline is None and cfg.collisions == "physical":
                    baseline = rate
                reason = collision_pause_reason(rate, baseline, cfg)
                # (at it + 1, the step the rollout's other scalars are logged at)
                writer.add_scalar("guard/paused", float(reason is not None), it + 1)
                if reason is not None:
                    save_state(it, reason)
                    record = {"iteration": it, "reason": reason, **stats}
                    write_text_atomic(out / "PAUSED.json", json.dumps(record, indent=1) + "\n")
                    writer.add_text("guard/reason", reason, it + 1)
                    log(f"paused at iteration {it}: {reason}")
                    if cfg.on_pause == "wait":
                        log(f"waiting up to {cfg.pause_wait_s:g} s for {out / 'CONTINUE'}")
                        if _wait_for_continue(out, cfg.pause_wait_s):
                            log("CONTINUE found: accepting this rollout")
                            reason = None
                    if reason is not None:
                        paused = reason
                        break
                rng = np.random.default_rng(iteration_seed(cfg.seed, it, 1))
                stats.update(
                    ppo_update(actor, critic, opt, samples, cfg, rng,
                               policy=it >= cfg.critic_warmup)
                )  # fmt: skip
                it += 1
                if cfg.eval_every and it % cfg.eval_every == 0:
                    kpis = evaluate_greedy(actor, observation, cfg)
                    stats.update({f"eval_{k}": float(v) for k, v in kpis.items()
                                  if isinstance(v, int | float)})  # fmt: skip
                for key, value in stats.items():
                    group = "rollout" if key in ("collisions_per_1k", "deliveries",
                                                 "reward_per_robot_step") else "train"  # fmt: skip
                    group = "eval" if key.startswith("eval_") else group
                    writer.add_scalar(f"{group}/{key.removeprefix('eval_')}", value, it)
                writer.flush()
                last = stats
                if it % cfg.ckpt_every == 0 or it == cfg.updates:
                    save_state(it)
                    save_model(it)
                progress.update(
                    task, advance=1,
                    info=f"coll/1k {rate:.1f} deliv {stats['deliveries']:.0f}",
                )  # fmt: skip
    finally:
        writer.close()
    model = out / "model" if (out / "model.json").is_file() else None
    return FinetuneResult(iteration=it, paused=paused, model=model, last=last, network=actor.eval())
