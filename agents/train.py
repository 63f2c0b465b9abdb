"""The offline training loop shared by CQL and BC (``warehouse train-navigator``).

A run folder ``RUN`` holds::

    RUN/checkpoints/step_00001000.{safetensors,json}   training checkpoints (every --ckpt-every)
    RUN/model.{safetensors,json}                        final weights-only checkpoint
    RUN/tb/                                             TensorBoard scalars

Scalars: ``train/*`` (the algorithm's loss record, averaged over ``log_every`` updates: losses,
Q statistics, action entropy) and ``eval/*`` (KPIs of a short evaluation run with the current
network, every ``eval_every`` updates). ``resume=True`` restores the latest checkpoint — networks,
Adam state, torch RNG and the minibatch sampler's RNG — so the continued run takes exactly the
updates the uninterrupted one would have taken.

``augment="mirror"`` (opt-in; the CLI's ``--augment mirror``) trains on the data and its
diagonal mirror (agents/lane_view.py): the sampler draws uniformly from twice the dataset, the
second half being every transition mirrored (observation, next observation, action, both
action masks; reward unchanged), built per minibatch instead of stored.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch

from warehouse.errors import InputError

from .checkpoint import algorithms, load_algorithm, save_checkpoint
from .dataset import MANIFEST, Dataset, load_datasets
from .lane_view import MIRROR, LaneView
from .networks import Batch, NavigatorNet, NetworkConfig


@dataclass(frozen=True, kw_only=True)
class TrainConfig:
    """One training run (the CLI's options)."""

    algo: str  #: "cql" | "bc"
    data: Path | tuple[Path, ...]  #: a dataset folder, or several trained on as one (union)
    out: Path
    steps: int  #: total gradient updates
    alpha: float = 1.0  #: CQL conservative weight
    batch_size: int = 256
    lr: float = 3e-4
    eval_every: int = 0  #: 0 = no periodic evaluation
    ckpt_every: int = 1000
    log_every: int = 50
    resume: bool = False
    device: str = "cpu"
    threads: int = 1  #: torch CPU threads (small batches: more threads mostly contend)
    seed: int = 0
    encoder: str = "mlp"
    hidden: tuple[int, ...] = (64,)
    window_dim: int = 64
    limit: int | None = None  #: use at most this many transitions
    eval_scenario: str = "tiny"
    eval_steps: int = 200
    eval_seed: int = 1000
    #: "none", or "mirror": each transition also as its diagonal mirror (see the module doc)
    augment: str = "none"


#: the values of ``TrainConfig.augment``
AUGMENTS = ("none", "mirror")


class Sampler:
    """Uniform minibatches with replacement from its own seeded numpy RNG (state saved).

    ``augment="mirror"``: indices are drawn from ``[0, 2n)``; index ``n + i`` is transition
    ``i`` in the mirrored frame (:meth:`~agents.lane_view.LaneView.mirror`, actions by
    :data:`~agents.lane_view.MIRROR`).
    """

    def __init__(
        self,
        data: Dataset,
        batch_size: int,
        seed: int,
        device: torch.device,
        augment: str = "none",
    ) -> None:
        if augment not in AUGMENTS:
            raise InputError(None, "augment", f"expected one of {', '.join(AUGMENTS)}")
        self.data, self.batch_size, self.device = data, batch_size, device
        self.rng = np.random.default_rng(seed)
        self.view: LaneView | None = None
        if augment == "mirror":
            self.view = LaneView(_observation_layout(data.manifest))

    def draw(self) -> tuple[np.ndarray, np.ndarray | None]:
        """The next minibatch's rows and (with ``augment="mirror"``) its positions to mirror."""
        n = len(self.data)
        if self.view is None:
            return self.rng.integers(0, n, size=self.batch_size), None
        drawn = self.rng.integers(0, 2 * n, size=self.batch_size)
        return drawn % n, np.flatnonzero(drawn >= n)

    def arrays(self) -> dict[str, np.ndarray]:
        """The next minibatch as numpy arrays (the dataset's dtypes), mirrored rows mirrored."""
        d = self.data
        idx, flip = self.draw()
        out = {k: getattr(d, k)[idx] for k in _BATCH_KEYS}
        if flip is not None and flip.size and self.view is not None:
            out["obs"], out["mask"] = self.view.mirror(out["obs"], out["mask"], flip)
            out["next_obs"], out["next_mask"] = self.view.mirror(
                out["next_obs"], out["next_mask"], flip
            )
            out["action"][flip] = MIRROR[out["action"][flip]].astype(out["action"].dtype)
        return out

    def sample(self) -> Batch:
        a = self.arrays()

        def t(key: str, dtype: torch.dtype) -> torch.Tensor:
            return torch.from_numpy(np.ascontiguousarray(a[key])).to(self.device, dtype)

        return Batch(
            obs=t("obs", torch.float32),
            action=t("action", torch.int64),
            reward=t("reward", torch.float32),
            next_obs=t("next_obs", torch.float32),
            terminated=t("terminated", torch.bool),
            mask=t("mask", torch.bool),
            next_mask=t("next_mask", torch.bool),
        )

    def state(self) -> Mapping[str, Any]:
        return self.rng.bit_generator.state

    def set_state(self, state: dict[str, Any]) -> None:
        self.rng.bit_generator.state = state


_BATCH_KEYS = ("obs", "action", "reward", "next_obs", "terminated", "mask", "next_mask")


def _observation_layout(man: Mapping[str, Any]) -> Any:
    """The dataset's :class:`~warehouse.config.ObservationConfig` (radius, intent channels)."""
    from warehouse.config import ObservationConfig

    layout = man.get("observation") or {}
    return ObservationConfig(
        radius=int(layout.get("radius", man.get("radius", 3))),
        intent=bool(layout.get("intent", False)),
    )


def build_algorithm(cfg: TrainConfig, data: Dataset, device: torch.device) -> Any:
    man = data.manifest
    layout = _observation_layout(man)
    net = NetworkConfig(
        radius=layout.radius,
        intent=layout.intent,
        n_actions=int(man["n_actions"]),
        heads=2 if cfg.algo == "cql" else 1,
        encoder=cfg.encoder,
        window_dim=cfg.window_dim,
        hidden=tuple(cfg.hidden),
    )
    if net.obs_dim != man["obs_shape"][0]:
        first = data_folders(cfg)[0]
        raise InputError(first / MANIFEST, "obs_shape", "does not match the observation layout")
    cfg_cls, algo_cls = algorithms()[cfg.algo]
    kw: dict[str, Any] = {"lr": cfg.lr, "batch_size": cfg.batch_size, "network": net}
    if cfg.algo == "cql":
        kw["alpha"] = cfg.alpha
    return algo_cls(cfg_cls(**kw), device=device)


def latest_checkpoint(folder: Path) -> Path | None:
    found = sorted(folder.glob("step_*.json"))
    return found[-1] if found else None


def evaluate(net: NavigatorNet, scenario: str, steps: int, seed: int) -> dict[str, Any]:
    """KPIs of ``steps`` steps of ``scenario`` (physical collisions) driven by ``net`` (fewer
    where a one-shot scenario with ``episode.stop_when_solved`` is solved first)."""
    from scenarios import apply_overrides, build_floor, load_scenario
    from warehouse.core import Simulation
    from warehouse.fleet import Fleet
    from warehouse.kpis import compute_kpis
    from warehouse.policies import scenario_dispatcher

    from .batched import BatchedPolicy, NetworkScorer

    sc, src = load_scenario(scenario)
    sc = apply_overrides(sc, {"collisions": "physical"}, src)
    sim = Simulation(build_floor(sc, src), sc.sim_config())
    was_training = net.training
    device = next(net.parameters()).device
    policy = BatchedPolicy(NetworkScorer(net, device=device), name="eval")
    fleet = Fleet(sim, scenario_dispatcher(sc.policies.dispatcher, sc, src, strict=True), policy)
    fleet.reset(seed)
    fleet.run(steps, stop_when_solved=sc.episode.stop_when_solved)  # (KPIs over the steps run)
    net.train(was_training)
    return compute_kpis(sim)


def data_folders(cfg: TrainConfig) -> tuple[Path, ...]:
    """The dataset folders of a run (one, or the parts of a union)."""
    return tuple(Path(p) for p in cfg.data) if isinstance(cfg.data, tuple) else (Path(cfg.data),)


def _data_id(folders: tuple[Path, ...]) -> str:
    """sha256 of the manifest (one folder), or of the parts' manifest hashes (a union)."""
    ids = [hashlib.sha256((f / MANIFEST).read_bytes()).hexdigest() for f in folders]
    return ids[0] if len(ids) == 1 else hashlib.sha256(" ".join(ids).encode()).hexdigest()


def _jsonable(value: Any) -> Any:
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, tuple) and any(isinstance(v, Path) for v in value):
        return [str(v) for v in value]
    return value


def train(cfg: TrainConfig, *, show_progress: bool = True) -> dict[str, Any]:
    """Run (or resume) training; returns ``{"step", "last": last loss record, "model"}``.
    torch runs on ``cfg.threads`` threads (0: as it is); the caller's count comes back after."""
    from warehouse.threads import torch_threads

    with torch_threads(cfg.threads):
        return _train(cfg, show_progress=show_progress)


def _train(cfg: TrainConfig, *, show_progress: bool) -> dict[str, Any]:
    from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

    from warehouse.tb import summary_writer

    from .batched import pick_device

    device = pick_device(cfg.device, field="--device")
    if cfg.algo not in algorithms():
        raise InputError(None, "--algo", f"unknown algorithm {cfg.algo!r}")
    folders = data_folders(cfg)
    data = load_datasets(folders, limit=cfg.limit)
    data_id = _data_id(folders)
    ckpt_dir = Path(cfg.out) / "checkpoints"
    sampler = Sampler(data, cfg.batch_size, cfg.seed, device, augment=cfg.augment)
    start = 0
    if cfg.resume:
        latest = latest_checkpoint(ckpt_dir)
        if latest is None:
            other = any(ckpt_dir.glob("iter_*.json"))  # a fine-tuning run's checkpoints
            why = (
                "it holds a fine-tuning (--algo ppo) run"
                if other
                else "no checkpoint to resume from"
            )
            raise InputError(cfg.out, "--resume", why)
        algo, meta = load_algorithm(latest, device=device)
        if meta["algo"] != cfg.algo:
            raise InputError(latest, "algo", f"checkpoint is {meta['algo']!r}, not {cfg.algo!r}")
        if meta.get("extra", {}).get("data_id") != data_id:
            raise InputError(latest, "extra.data_id", "checkpoint was trained on other data")
        kept = meta.get("extra", {}).get("train", {}).get("augment", "none")
        if kept != cfg.augment:
            raise InputError(latest, "augment", f"the resumed run keeps {kept!r}")
        try:
            torch.set_rng_state(torch.tensor(meta["rng"]["torch"], dtype=torch.uint8))
            sampler.set_state(meta["rng"]["sampler"])
            sampler.batch_size = int(meta["config"]["batch_size"])
        except (KeyError, TypeError, ValueError, RuntimeError) as exc:
            raise InputError(latest, "rng", f"cannot restore RNG state: {exc}") from None
        start = int(meta["step"])
    else:
        if latest_checkpoint(ckpt_dir) is not None:
            raise InputError(cfg.out, None, "run folder has checkpoints; use --resume or new --out")
        torch.manual_seed(cfg.seed)
        algo = build_algorithm(cfg, data, device)

    # a resume past its --steps trains nothing: the model it writes is from step `start`
    recorded = asdict(replace(cfg, steps=max(start, cfg.steps)))
    if cfg.augment == "none":  # recorded only when set: default runs record what they did
        del recorded["augment"]
    run_info = {"train": {k: _jsonable(v) for k, v in recorded.items()}}
    extra = {"data_id": data_id, "data": data.manifest.get("scenarios"), **run_info}

    def checkpoint(step: int) -> None:
        rng = {"torch": torch.get_rng_state().tolist(), "sampler": sampler.state()}
        save_checkpoint(ckpt_dir / f"step_{step:08d}", algo, step=step, rng=rng, extra=extra)

    # a resumed run drops the events a killed run logged after its last checkpoint
    writer = summary_writer(Path(cfg.out) / "tb", purge_step=start + 1 if start else None)
    sums: dict[str, float] = {}
    summed = 0  # updates in sums (after a resume the first window may be shorter)
    last: dict[str, float] = {}
    progress = Progress(
        TextColumn(f"[bold]{cfg.algo}[/]"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total}"),
        TextColumn("{task.fields[info]}"),
        TimeRemainingColumn(),
        disable=not show_progress,
    )
    try:
        with progress:
            task = progress.add_task("train", total=cfg.steps, completed=start, info="")
            for step in range(start + 1, cfg.steps + 1):
                rec = asdict(algo.update(sampler.sample()))
                for k, v in rec.items():
                    sums[k] = sums.get(k, 0.0) + v
                summed += 1
                last = rec
                if step % cfg.log_every == 0 or step == cfg.steps:
                    for k, v in sums.items():
                        writer.add_scalar(f"train/{k}", v / summed, step)
                    sums, summed = {}, 0
                    progress.update(task, info=f"loss {rec['loss']:.4f}")
                if cfg.eval_every and step % cfg.eval_every == 0:
                    kpis = evaluate(algo.net, cfg.eval_scenario, cfg.eval_steps, cfg.eval_seed)
                    for k, v in kpis.items():
                        if isinstance(v, int | float):
                            writer.add_scalar(f"eval/{k}", v, step)
                if step % cfg.ckpt_every == 0 or step == cfg.steps:
                    checkpoint(step)
                progress.update(task, advance=1)
    finally:
        writer.close()
    model = save_checkpoint(
        Path(cfg.out) / "model", algo, step=max(start, cfg.steps), training=False, extra=extra
    )
    if not all(np.isfinite(v) for v in last.values()):
        raise RuntimeError(f"training diverged: {last}")
    return {"step": max(start, cfg.steps), "last": last, "model": model}
