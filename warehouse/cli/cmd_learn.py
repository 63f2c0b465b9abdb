"""``warehouse collect`` (offline dataset) and ``warehouse train-navigator`` (CQL / BC offline,
PPO online fine-tuning from a CQL checkpoint)."""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated

import typer

from warehouse.errors import InputError

from .checks import MAX_TRAIN_SEED


def _int_list(text: str | None, option: str) -> tuple[int, ...] | None:
    if text is None:
        return None
    try:
        return tuple(int(v) for v in text.replace(" ", "").split(",") if v)
    except ValueError:
        raise InputError(None, option, f"expected comma-separated integers, got {text!r}") from None


@contextlib.contextmanager
def _terminate_as_exit() -> Iterator[None]:
    """SIGTERM (a scheduler's time limit, ``kill``) exits with 143 through Python, so the
    half-written dataset's staging folder is removed as on Ctrl-C."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def stop(signum: int, frame: object) -> None:
        raise SystemExit(128 + signum)

    old = signal.signal(signal.SIGTERM, stop)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, old)


def _check_collect_sets(sets: list[str] | None, intent: bool | None) -> None:
    """``--set`` keys that collection would silently drop: the episode seeds (``--seeds``
    decides them) and ``observation.intent`` beside ``--intent/--no-intent``."""
    from scenarios.load import SHORTCUTS

    for item in sets or ():
        typed = item.partition("=")[0].strip()
        key = SHORTCUTS.get(typed, typed)
        if key == "episode.seeds":
            raise InputError(None, f"--set {typed}", "collect takes its seeds from --seeds")
        if intent is not None and key in ("observation", "observation.intent"):
            raise InputError(
                None,
                f"--set {typed}",
                "--intent/--no-intent sets observation.intent too; give it once",
            )


def _collect_radius(targets: list[str], overrides: tuple[tuple[str, object], ...]) -> object:
    """The observation radius ``--intent/--no-intent`` keeps: ``--set observation.radius`` (or
    ``radius``), else the targets' own (which must agree)."""
    from scenarios import load_scenario
    from scenarios.load import SHORTCUTS

    over = {SHORTCUTS.get(k, k): v for k, v in overrides}
    if "observation.radius" in over:
        return over["observation.radius"]
    radii = sorted({load_scenario(t)[0].observation.radius for t in targets})
    if len(radii) > 1:
        raise InputError(
            None,
            "TARGET",
            f"the scenarios' observation radii differ ({radii}); "
            "give --set observation.radius=R with --intent/--no-intent",
        )
    return radii[0]


def collect_cmd(
    ctx: typer.Context,
    target: Annotated[str, typer.Argument(help="Scenario name(s) or file(s), comma-separated.")],
    out: Annotated[Path, typer.Option(help="Dataset folder to create (new or empty).")],
    episodes: Annotated[int, typer.Option(min=1, help="Episodes per scenario.")] = 1,
    behavior: Annotated[str, typer.Option(help="Behaviour navigator.")] = "rule_based",
    epsilon: Annotated[
        float, typer.Option(min=0.0, max=1.0, help="Random-move probability.")
    ] = 0.1,
    steps: Annotated[
        int | None, typer.Option(min=1, help="Steps per episode (default: scenario).")
    ] = None,
    seeds: Annotated[
        str | None,
        typer.Option(
            help="Episode seeds: 0,1,2 or 0..9 (default 0, 1, ...); sets --episodes if not given."
        ),
    ] = None,
    robots: Annotated[int | None, typer.Option(min=1, help="Override the fleet size.")] = None,
    collisions: Annotated[str, typer.Option(help="Collision mode while collecting.")] = "physical",
    shard_size: Annotated[int, typer.Option(min=1, help="Transitions per shard.")] = 262_144,
    intent: Annotated[
        bool | None,
        typer.Option(
            "--intent/--no-intent",
            help="Log the neighbour-intention observation (default: each scenario's layout).",
        ),
    ] = None,
    sets: Annotated[
        list[str] | None,
        typer.Option("--set", help="KEY=VALUE scenario setting for every target (repeatable)."),
    ] = None,
    learned: Annotated[
        Path | None,
        typer.Option(help="Navigator checkpoint (.json) whose moves are mixed into the fleet."),
    ] = None,
    learned_share: Annotated[
        float | None,
        typer.Option(min=0.0, max=1.0, help="With --learned: share of moves that are learned."),
    ] = None,
    learned_temperature: Annotated[
        float, typer.Option(min=1e-6, help="With --learned: sample softmax(Q / T).")
    ] = 0.5,
) -> None:
    """Log per-robot transitions of an ε-greedy behaviour fleet into a sharded dataset.

    With --learned, per robot and step a learned network's move replaces the behaviour
    navigator's with probability --learned-share (data from the learned fleet's own states,
    DAgger-style; agents/mixed_behavior.py)."""
    from pydantic import ValidationError
    from rich.console import Console
    from rich.progress import Progress

    from agents import NAVIGATORS
    from agents.dataset import CollectConfig, collect, parse_targets
    from scenarios import parse_assignment
    from warehouse.config import ObservationConfig
    from warehouse.policies import checked_collisions

    from .checks import (
        READ_BY_ONE_COMMAND,
        check_out_folder,
        check_set_keys,
        episode_steps,
        given,
        input_file,
        name_list,
        seed_list,
    )

    check_out_folder(out)
    episode_steps(steps)
    targets = name_list(target, "TARGET")
    check_set_keys(
        sets,
        {
            "--robots": robots,
            "--steps": steps,
            "--collisions": collisions if given(ctx, "collisions") else None,
        },
        unused=READ_BY_ONE_COMMAND,
    )
    _check_collect_sets(sets, intent)
    if learned is not None:
        input_file(learned, "--learned", "checkpoint file")
    checked_collisions(collisions)
    if behavior not in NAVIGATORS:
        raise InputError(
            None, "--behavior", f"unknown navigator {behavior!r}; known: {sorted(NAVIGATORS)}"
        )
    if learned is None and (learned_share is not None or given(ctx, "learned_temperature")):
        option = "--learned-share" if learned_share is not None else "--learned-temperature"
        raise InputError(None, option, "needs --learned CHECKPOINT")
    if learned is not None and learned_share is None:
        raise InputError(None, "--learned-share", "give the share of learned moves (0 … 1)")
    seed_values = None if seeds is None else seed_list(seeds)
    if seed_values is not None:
        if given(ctx, "episodes") and len(seed_values) != episodes:
            raise InputError(
                None, "--seeds", f"{len(seed_values)} seed(s) for {episodes} episode(s)"
            )
        episodes = len(seed_values)
    overrides = tuple(parse_assignment(text) for text in sets or ())
    observation = None
    if intent is not None:
        radius = _collect_radius(targets, overrides)
        try:
            observation = ObservationConfig(radius=radius, intent=intent)
        except ValidationError as exc:
            msg = exc.errors()[0]["msg"]
            raise InputError(None, "observation.radius", f"{msg}, got {radius!r}") from None

    cfg = CollectConfig(
        targets=parse_targets(targets),
        episodes=episodes,
        seeds=None if seed_values is None else tuple(seed_values),
        steps=steps,
        behavior=behavior,
        epsilon=epsilon,
        collisions=collisions,
        robots=robots,
        shard_size=shard_size,
        observation=observation,
        overrides=overrides,
        learned=learned,
        learned_share=learned_share or 0.0,
        learned_temperature=learned_temperature,
    )
    with (
        _terminate_as_exit(),
        Progress(transient=True, console=Console(stderr=True)) as bar,  # (stdout: the result)
    ):
        task = bar.add_task("collecting", total=None)
        man = collect(cfg, out, progress=lambda n: bar.advance(task, n))
    typer.echo(
        f"wrote {man['n_transitions']:,} transitions in {len(man['shards'])} shard(s) to {out}"
    )


#: Options that only one kind of training reads (a given one of the other kind is an error).
OFFLINE_ONLY = ("data", "alpha", "batch_size", "encoder", "hidden", "limit", "augment")


def _check_resume_settings(ctx: typer.Context, out: Path, **given_values: object) -> None:
    """A resumed offline run keeps the settings it was started with (its checkpoint holds the
    network, optimiser, batch size and RNG); an option given again must agree with them, so
    that none is silently ignored."""
    from agents.checkpoint import read_checkpoint
    from agents.train import latest_checkpoint

    from .checks import refuse_changed_settings

    latest = latest_checkpoint(out / "checkpoints")
    if latest is None:
        return  # train() reports the missing checkpoint
    recorded = read_checkpoint(latest)[0].get("extra", {}).get("train", {})
    refuse_changed_settings(ctx, given_values, recorded, latest)


def _recorded_augment(out: Path) -> str:
    """The ``augment`` setting of the run in ``out`` (its latest checkpoint; "none" if unset)."""
    from agents.checkpoint import read_checkpoint
    from agents.train import latest_checkpoint

    latest = latest_checkpoint(out / "checkpoints")
    if latest is None:
        return "none"
    return str(read_checkpoint(latest)[0].get("extra", {}).get("train", {}).get("augment", "none"))


PPO_ONLY = (
    "init", "scenarios", "rollout_steps", "collisions", "temperature", "collision_limit",
    "collision_rise", "on_pause", "pause_wait", "lane_view", "shaping", "policy_rows",
    "bootstrap",
)  # fmt: skip


def _option(name: str) -> str:
    return "--" + name.replace("_", "-")


def train_cmd(
    ctx: typer.Context,
    algo: Annotated[
        str, typer.Option(help="cql or bc (offline), ppo (online fine-tuning from --init).")
    ],
    steps: Annotated[
        int, typer.Option(min=1, help="Gradient updates (cql/bc) or PPO iterations (ppo).")
    ],
    out: Annotated[Path, typer.Option(help="Run folder (checkpoints, TensorBoard, model).")],
    data: Annotated[
        str | None,
        typer.Option(help="Dataset folder(s) (warehouse collect), comma-separated; cql/bc."),
    ] = None,
    init: Annotated[
        Path | None, typer.Option(help="ppo: navigator checkpoint to start from (CQL).")
    ] = None,
    alpha: Annotated[
        float, typer.Option(min=0.0, max=100.0, help="CQL conservative weight α.")
    ] = 1.0,
    batch_size: Annotated[int, typer.Option(min=1, help="cql/bc: transitions per update.")] = 256,
    lr: Annotated[
        float | None, typer.Option(min=0.0, help="Learning rate (cql/bc 3e-4, ppo actor 1e-4).")
    ] = None,
    eval_every: Annotated[
        int, typer.Option(min=0, help="Evaluate every K updates (0: never).")
    ] = 0,
    ckpt_every: Annotated[
        int | None, typer.Option(min=1, help="Checkpoint every K updates (cql/bc 1000, ppo 10).")
    ] = None,
    resume: Annotated[
        bool, typer.Option(help="Continue from the latest checkpoint in --out.")
    ] = False,
    device: Annotated[str, typer.Option(help="cpu, cuda or auto.")] = "auto",
    seed: Annotated[
        int,
        typer.Option(min=0, max=MAX_TRAIN_SEED, help="Seed of the network and the sampling."),
    ] = 0,
    threads: Annotated[int, typer.Option(min=0, help="torch CPU threads (0: torch default).")] = 1,
    encoder: Annotated[str, typer.Option(help="Window encoder: mlp or conv.")] = "mlp",
    hidden: Annotated[str, typer.Option(help="Torso widths, comma-separated.")] = "64",
    limit: Annotated[
        int | None, typer.Option(min=1, help="Use at most this many transitions.")
    ] = None,
    eval_scenario: Annotated[
        str | None,
        typer.Option(help="Scenario of the periodic evaluation (cql/bc tiny, ppo small)."),
    ] = None,
    eval_steps: Annotated[int, typer.Option(min=1, help="Steps per evaluation episode.")] = 200,
    augment: Annotated[
        str,
        typer.Option(
            help="cql/bc: none, or mirror (each transition also as its diagonal mirror; "
            "agents/lane_view.py)."
        ),
    ] = "none",
    scenarios: Annotated[
        str, typer.Option(help="ppo: training scenarios, comma-separated.")
    ] = "tiny,small,one_way_aisles",
    rollout_steps: Annotated[
        int, typer.Option(min=1, help="ppo: steps per scenario per iteration.")
    ] = 256,
    collisions: Annotated[
        str, typer.Option(help="ppo: collision mode while training.")
    ] = "physical",
    temperature: Annotated[
        float, typer.Option(min=1e-6, help="ppo: policy = softmax(Q / temperature).")
    ] = 1.0,
    collision_limit: Annotated[
        float | None,
        typer.Option(min=0.0, help="ppo: pause above this many collisions per 1k robot-steps."),
    ] = None,
    collision_rise: Annotated[
        float | None,
        typer.Option(min=0.0, help="ppo: pause above this factor x the initial collision rate."),
    ] = 1.5,
    on_pause: Annotated[
        str, typer.Option(help="ppo: stop (exit 3) or wait (for RUN/CONTINUE) when paused.")
    ] = "stop",
    pause_wait: Annotated[
        float, typer.Option(min=0.0, help="ppo: seconds to wait for RUN/CONTINUE.")
    ] = 600.0,
    lane_view: Annotated[
        bool,
        typer.Option(
            help="ppo: decide robots in long north-south single lanes in the mirrored frame, "
            "as deployed (agents/lane_view.py)."
        ),
    ] = False,
    shaping: Annotated[
        str,
        typer.Option(
            help="ppo: progress shaping, potential (γ·Φ(s') − Φ(s)) or difference (undiscounted, "
            "as the shipped networks were trained)."
        ),
    ] = "potential",
    policy_rows: Annotated[
        str,
        typer.Option(
            help="ppo: rows of the policy loss: free (robots with a choice of move) or all "
            "(forced ones too, as the shipped networks were trained)."
        ),
    ] = "free",
    bootstrap: Annotated[
        str,
        typer.Option(
            help="ppo: the rollout's last value read after the next step's dispatcher "
            "(decision) or before it (before_dispatch, as the shipped networks were trained)."
        ),
    ] = "decision",
    progress: Annotated[bool, typer.Option(help="Show a progress bar.")] = True,
) -> None:
    """Train the shared navigation network offline (CQL or behaviour cloning), or fine-tune
    it online from a checkpoint with shared-parameter PPO (--algo ppo --init CKPT)."""
    from agents.train import TrainConfig, train
    from scenarios import describe

    from .checks import (
        DISPATCHER_RUN_FILES,
        NAVIGATOR_RUN_FILES,
        check_out_folder,
        given,
        input_file,
        name_list,
        removed_on_input_error,
        writable_out_folder,
    )

    if algo not in ("cql", "bc", "ppo"):
        raise InputError(None, "--algo", f"expected cql, bc or ppo, got {algo!r}")
    other = OFFLINE_ONLY if algo == "ppo" else PPO_ONLY
    for name in other:
        if given(ctx, name):
            raise InputError(None, _option(name), f"does not apply to --algo {algo}")
    if device not in ("cpu", "cuda", "auto"):
        raise InputError(None, "--device", f"expected cpu, cuda or auto, got {device!r}")
    if algo == "ppo" and device == "cuda":  # not silently ignored
        raise InputError(
            None,
            "--device",
            "--algo ppo fine-tunes on the CPU (its cost is the simulator); use cpu or auto",
        )
    if augment not in ("none", "mirror"):
        raise InputError(None, "--augment", f"expected none or mirror, got {augment!r}")
    if encoder not in ("mlp", "conv"):
        raise InputError(None, "--encoder", f"expected mlp or conv, got {encoder!r}")
    widths = _int_list(hidden, "--hidden")
    if not widths or min(widths) < 1:
        raise InputError(None, "--hidden", f"expected positive widths (64,64), got {hidden!r}")
    writable_out_folder(out, writes=DISPATCHER_RUN_FILES)  # (not a dispatcher run folder)
    if not resume:  # nor an earlier navigator run's, of either kind (--resume continues one)
        check_out_folder(out, writes=NAVIGATOR_RUN_FILES)
    if eval_scenario is not None:
        describe(eval_scenario)  # a bad evaluation scenario fails now, not after training
    if algo == "ppo":
        if init is not None:
            input_file(init, "--init", "checkpoint file")
        names = name_list(scenarios, "--scenarios") if scenarios.strip(", ") else []
        if resume:
            _check_finetune_resume(
                ctx, out, init, scenarios=tuple(names), lr=lr, seed=seed,
                rollout_steps=rollout_steps, collisions=collisions, temperature=temperature,
                lane_view=lane_view, eval_scenario=eval_scenario or "small", eval_steps=eval_steps,
                shaping=shaping, policy_rows=policy_rows, bootstrap=bootstrap,
            )  # fmt: skip
        with removed_on_input_error(out):
            _finetune(
                init=init,
                out=out,
                resume=resume,
                progress=progress,
                threads=threads,
                updates=steps,
                scenarios=tuple(names),
                rollout_steps=rollout_steps,
                collisions=collisions,
                temperature=temperature,
                collision_limit=collision_limit,
                collision_rise=collision_rise,
                on_pause=on_pause,
                pause_wait_s=pause_wait,
                lane_view=lane_view,
                shaping=shaping,
                policy_rows=policy_rows,
                bootstrap=bootstrap,
                seed=seed,
                ckpt_every=ckpt_every or 10,
                eval_every=eval_every,
                eval_scenario=eval_scenario or "small",
                eval_steps=eval_steps,
                lr=lr,
            )
        return
    if data is None:
        raise InputError(None, "--data", f"--algo {algo} needs a dataset folder")
    folders = tuple(Path(f) for f in name_list(data, "--data"))
    for folder in folders:
        if not folder.is_dir():
            raise InputError(
                folder, "--data", "no such dataset folder (warehouse collect writes one)"
            )
    if resume:
        _check_resume_settings(ctx, out, alpha=alpha, batch_size=batch_size, lr=lr, seed=seed,
                               encoder=encoder, hidden=list(widths), limit=limit,
                               augment=augment)  # fmt: skip
        if not given(ctx, "augment"):  # the resumed run keeps its augmentation
            augment = _recorded_augment(out)
    cfg = TrainConfig(
        algo=algo,
        data=folders[0] if len(folders) == 1 else folders,
        out=out,
        steps=steps,
        alpha=alpha,
        batch_size=batch_size,
        lr=3e-4 if lr is None else lr,
        eval_every=eval_every,
        ckpt_every=ckpt_every or 1000,
        resume=resume,
        device=device,
        threads=threads,
        seed=seed,
        encoder=encoder,
        hidden=widths,
        limit=limit,
        eval_scenario=eval_scenario or "tiny",
        eval_steps=eval_steps,
        augment=augment,
    )
    with removed_on_input_error(out):
        res = train(cfg, show_progress=progress)
    last = ", ".join(f"{k} {v:.4g}" for k, v in res["last"].items())
    typer.echo(f"step {res['step']}: {last or f'nothing to train (--steps {steps})'}")
    typer.echo(f"model: {res['model']}.json (and .safetensors)")


def _check_finetune_resume(
    ctx: typer.Context, out: Path, init: Path | None, **asked: object
) -> None:
    """A resumed fine-tuning run keeps the settings it was started with (all but its length,
    checkpoint and evaluation periods and the collision guard): an option given again must
    agree with them, and ``--init`` must be the checkpoint it started from, or it would be
    silently ignored."""
    import hashlib

    from agents.checkpoint import resolve
    from agents.finetune import saved_run

    from .checks import refuse_changed_settings

    found = saved_run(out)
    if found is None:
        return  # finetune() reports the missing checkpoint
    latest, saved, started = found
    kept = {name: getattr(saved, name) for name in asked if name != "lr"}
    kept["lr"] = saved.ppo.lr
    refuse_changed_settings(ctx, asked, kept, latest)
    if init is not None:
        weights = resolve(init).with_suffix(".safetensors")
        digest = hashlib.sha256(weights.read_bytes()).hexdigest() if weights.is_file() else None
        if digest != started.get("init_sha256"):
            raise InputError(
                latest,
                "--init",
                f"the resumed run started from {started.get('init')} (other weights)",
            )


def _finetune(
    *,
    init: Path | None,
    out: Path,
    resume: bool,
    progress: bool,
    threads: int,
    lr: float | None,
    **kw: object,
) -> None:
    """``--algo ppo``: online fine-tuning (agents/finetune.py); exit 3 when the guard pauses."""
    from dataclasses import replace

    from agents.finetune import finetune
    from agents.finetune_ppo import (
        BOOTSTRAPS,
        PAUSE_ACTIONS,
        POLICY_ROWS,
        SHAPINGS,
        FinetuneConfig,
    )
    from warehouse.policies import checked_collisions
    from warehouse.threads import torch_threads

    if init is None and not resume:
        raise InputError(None, "--init", "--algo ppo needs the checkpoint to start from")
    for name, allowed in (
        ("on_pause", PAUSE_ACTIONS), ("shaping", SHAPINGS), ("policy_rows", POLICY_ROWS),
        ("bootstrap", BOOTSTRAPS),
    ):  # fmt: skip
        if kw[name] not in allowed:
            expected = ", ".join(allowed[:-1]) + f" or {allowed[-1]}"
            raise InputError(None, _option(name), f"expected {expected}, got {kw[name]!r}")
    checked_collisions(str(kw["collisions"]))
    if not kw["scenarios"]:
        raise InputError(None, "--scenarios", "give at least one scenario")
    skip_forced_rows = kw.pop("policy_rows") == "free"  # (a PPO setting, the dispatcher's too)
    cfg = FinetuneConfig(**kw)  # type: ignore[arg-type]
    cfg = replace(cfg, ppo=replace(cfg.ppo, skip_forced_rows=skip_forced_rows))
    if lr is not None:
        cfg = replace(cfg, ppo=replace(cfg.ppo, lr=lr))
    with torch_threads(threads):
        res = finetune(cfg, out, init=init, resume=resume, show_progress=progress, log=typer.echo)
    last = ", ".join(f"{k} {v:.4g}" for k, v in res.last.items() if not k.startswith("eval_"))
    if last or res.paused is None:  # a pause before the first update has nothing to report
        typer.echo(f"iteration {res.iteration}: {last or 'nothing to train (--steps)'}")
    if res.model is not None:
        typer.echo(f"model: {res.model}.json (and .safetensors)")
    if res.paused is not None:
        typer.echo(
            f"training paused: {res.paused}; state saved in {out / 'checkpoints'}; "
            "continue with --resume (guard settings come from the command line)",
            err=True,
        )
        raise typer.Exit(3)


def ensemble_cmd(
    members: Annotated[
        list[Path],
        typer.Argument(help="Member checkpoints or dispatcher policies (.json), two or more."),
    ],
    out: Annotated[Path, typer.Option(help="Stem to write (STEM.json, STEM.safetensors).")],
) -> None:
    """Combine independently trained networks into one file: navigator checkpoints into a
    Q-ensemble (mean Q-values), PPO dispatcher policies into a policy ensemble (mean logits)."""
    from agents.checkpoint import resolve
    from hierarchy.checkpoint import POLICY_FORMAT
    from hierarchy.ensemble import build_ensemble as build_dispatchers
    from hierarchy.ensemble import policy_json
    from warehouse.jsonio import read_json_object

    from .checks import distinct_files, input_file, writable_out_folder

    for member in members:
        input_file(member, "MEMBERS", "checkpoint file")
    distinct_files(members, "MEMBERS")
    stem = resolve(out)
    if not stem.name or stem.name in (".", ".."):
        raise InputError(out, "--out", "expected a file stem such as runs/ens/policy")
    writable_out_folder(stem.parent)
    for suffix in (".json", ".safetensors"):
        if stem.with_suffix(suffix).exists():
            raise InputError(stem.with_suffix(suffix), "--out", "exists; choose another stem")
    if members and read_json_object(policy_json(members[0])).get("format") == POLICY_FORMAT:
        build_dispatchers(list(members), stem)
        typer.echo(f"ensemble of {len(members)} dispatcher policies: {stem}.json")
        return
    from agents.checkpoint import read_checkpoint
    from agents.ensemble import build_ensemble

    out = build_ensemble(list(members), stem)
    total = read_checkpoint(out.with_suffix(".json"))[0]["config"]["network"]["members"]
    typer.echo(f"ensemble of {total} networks from {len(members)} checkpoints: {stem}.json")


def register(app: typer.Typer) -> None:
    app.command("collect")(collect_cmd)
    app.command("ensemble")(ensemble_cmd)
    app.command("train-navigator")(train_cmd)
