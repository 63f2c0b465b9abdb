"""``warehouse collect`` (offline dataset) and ``warehouse train-navigator`` (CQL / BC)."""

from __future__ import annotations

from pathlib import Path

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
    target: str = typer.Argument(..., help="Scenario name(s) or file(s), comma-separated."),
    episodes: int = typer.Option(1, min=1, help="Episodes per scenario."),
    behavior: str = typer.Option("rule_based", help="Behaviour navigator."),
    epsilon: float = typer.Option(0.1, min=0.0, max=1.0, help="Random-move probability."),
    out: Path = typer.Option(..., help="Dataset folder to create (must not exist)."),
    steps: int | None = typer.Option(None, min=1, help="Steps per episode (default: scenario)."),
    seeds: str | None = typer.Option(None, help="Episode seeds, comma-separated (default 0..)."),
    robots: int | None = typer.Option(None, min=1, help="Override the fleet size."),
    collisions: str = typer.Option("physical", help="Collision mode while collecting."),
    shard_size: int = typer.Option(262_144, min=1, help="Transitions per shard."),
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
    algo: str = typer.Option(..., help="cql or bc."),
    data: Path = typer.Option(..., help="Dataset folder (warehouse collect)."),
    steps: int = typer.Option(..., min=1, help="Gradient updates in total."),
    out: Path = typer.Option(..., help="Run folder (checkpoints, TensorBoard, model)."),
    alpha: float = typer.Option(1.0, min=0.0, max=100.0, help="CQL conservative weight α."),
    batch_size: int = typer.Option(256, min=1),
    lr: float = typer.Option(3e-4, min=0.0),
    eval_every: int = typer.Option(0, min=0, help="Evaluate every K updates (0: never)."),
    ckpt_every: int = typer.Option(1000, min=1, help="Checkpoint every K updates."),
    resume: bool = typer.Option(False, help="Continue from the latest checkpoint in --out."),
    device: str = typer.Option("auto", help="cpu, cuda or auto."),
    seed: int = typer.Option(0),
    threads: int = typer.Option(1, min=0, help="torch CPU threads (0: torch default)."),
    encoder: str = typer.Option("mlp", help="Window encoder: mlp or conv."),
    hidden: str = typer.Option("64", help="Torso widths, comma-separated."),
    limit: int | None = typer.Option(None, min=1, help="Use at most this many transitions."),
    eval_scenario: str = typer.Option("tiny", help="Scenario of the periodic evaluation."),
    eval_steps: int = typer.Option(200, min=1),
    progress: bool = typer.Option(True, help="Show a progress bar."),
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
