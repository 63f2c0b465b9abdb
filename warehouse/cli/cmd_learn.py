"""``warehouse collect`` (offline dataset) and ``warehouse train-navigator`` (CQL / BC)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from warehouse.errors import InputError


def _int_list(text: str | None, option: str) -> tuple[int, ...] | None:
    if text is None:
        return None
    try:
        return tuple(int(v) for v in text.replace(" ", "").split(",") if v)
    except ValueError:
        raise InputError(None, option, f"expected comma-separated integers, got {text!r}") from None


def collect_cmd(
    target: Annotated[str, typer.Argument(help="Scenario name(s) or file(s), comma-separated.")],
    out: Annotated[Path, typer.Option(help="Dataset folder to create (must not exist).")],
    episodes: Annotated[int, typer.Option(min=1, help="Episodes per scenario.")] = 1,
    behavior: Annotated[str, typer.Option(help="Behaviour navigator.")] = "rule_based",
    epsilon: Annotated[
        float, typer.Option(min=0.0, max=1.0, help="Random-move probability.")
    ] = 0.1,
    steps: Annotated[
        int | None, typer.Option(min=1, help="Steps per episode (default: scenario).")
    ] = None,
    seeds: Annotated[
        str | None, typer.Option(help="Episode seeds, comma-separated (default 0..).")
    ] = None,
    robots: Annotated[int | None, typer.Option(min=1, help="Override the fleet size.")] = None,
    collisions: Annotated[str, typer.Option(help="Collision mode while collecting.")] = "physical",
    shard_size: Annotated[int, typer.Option(min=1, help="Transitions per shard.")] = 262_144,
) -> None:
    """Log per-robot transitions of an ε-greedy behaviour fleet into a sharded dataset."""
    from rich.progress import Progress

    from agents.dataset import CollectConfig, collect, parse_targets

    cfg = CollectConfig(
        targets=parse_targets(target),
        episodes=episodes,
        seeds=_int_list(seeds, "--seeds"),
        steps=steps,
        behavior=behavior,
        epsilon=epsilon,
        collisions=collisions,
        robots=robots,
        shard_size=shard_size,
    )
    with Progress(transient=True) as bar:
        task = bar.add_task("collecting", total=None)
        man = collect(cfg, out, progress=lambda n: bar.advance(task, n))
    typer.echo(
        f"wrote {man['n_transitions']:,} transitions in {len(man['shards'])} shard(s) to {out}"
    )


def train_cmd(
    algo: Annotated[str, typer.Option(help="cql or bc.")],
    data: Annotated[Path, typer.Option(help="Dataset folder (warehouse collect).")],
    steps: Annotated[int, typer.Option(min=1, help="Gradient updates in total.")],
    out: Annotated[Path, typer.Option(help="Run folder (checkpoints, TensorBoard, model).")],
    alpha: Annotated[
        float, typer.Option(min=0.0, max=100.0, help="CQL conservative weight α.")
    ] = 1.0,
    batch_size: Annotated[int, typer.Option(min=1)] = 256,
    lr: Annotated[float, typer.Option(min=0.0)] = 3e-4,
    eval_every: Annotated[
        int, typer.Option(min=0, help="Evaluate every K updates (0: never).")
    ] = 0,
    ckpt_every: Annotated[int, typer.Option(min=1, help="Checkpoint every K updates.")] = 1000,
    resume: Annotated[
        bool, typer.Option(help="Continue from the latest checkpoint in --out.")
    ] = False,
    device: Annotated[str, typer.Option(help="cpu, cuda or auto.")] = "auto",
    seed: Annotated[int, typer.Option()] = 0,
    threads: Annotated[int, typer.Option(min=0, help="torch CPU threads (0: torch default).")] = 1,
    encoder: Annotated[str, typer.Option(help="Window encoder: mlp or conv.")] = "mlp",
    hidden: Annotated[str, typer.Option(help="Torso widths, comma-separated.")] = "64",
    limit: Annotated[
        int | None, typer.Option(min=1, help="Use at most this many transitions.")
    ] = None,
    eval_scenario: Annotated[
        str, typer.Option(help="Scenario of the periodic evaluation.")
    ] = "tiny",
    eval_steps: Annotated[int, typer.Option(min=1)] = 200,
    progress: Annotated[bool, typer.Option(help="Show a progress bar.")] = True,
) -> None:
    """Train the shared navigation network offline (CQL or behaviour cloning)."""
    from agents.train import TrainConfig, train

    if algo not in ("cql", "bc"):
        raise InputError(None, "--algo", f"expected cql or bc, got {algo!r}")
    if device not in ("cpu", "cuda", "auto"):
        raise InputError(None, "--device", f"expected cpu, cuda or auto, got {device!r}")
    cfg = TrainConfig(
        algo=algo,
        data=data,
        out=out,
        steps=steps,
        alpha=alpha,
        batch_size=batch_size,
        lr=lr,
        eval_every=eval_every,
        ckpt_every=ckpt_every,
        resume=resume,
        device=device,
        threads=threads,
        seed=seed,
        encoder=encoder,
        hidden=_int_list(hidden, "--hidden") or (64,),
        limit=limit,
        eval_scenario=eval_scenario,
        eval_steps=eval_steps,
    )
    res = train(cfg, show_progress=progress)
    last = ", ".join(f"{k} {v:.4g}" for k, v in res["last"].items())
    typer.echo(f"step {res['step']}: {last}")
    typer.echo(f"model: {res['model']}.safetensors")


def register(app: typer.Typer) -> None:
    app.command("collect")(collect_cmd)
    app.command("train-navigator")(train_cmd)
