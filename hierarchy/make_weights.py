"""Produce the shipped PPO dispatcher ``hierarchy/weights/ppo_dispatcher.{safetensors,json}``.

One command, from any folder (about 2 minutes on two CPU cores with ``--jobs 2``)::

    nice .venv/bin/python -m hierarchy.make_weights --work runs/ppo_dispatcher --jobs 2

It trains :data:`DISPATCHER` once per seed of :data:`SEEDS`, combines the five policies into one
policy ensemble (mean logits, :mod:`hierarchy.ensemble`) and copies it into
``hierarchy/weights/``; the same as, for ``S`` in 0 … 4::

    warehouse train-dispatcher \\
        tiny,hierarchy/scenarios/train_narrow.yaml,hierarchy/scenarios/train_wide.yaml \\
        --collisions pibt --steps 48000 --out runs/ppo_dispatcher/sS --seed S --envs 4 \\
        --horizon 300 --lr 5e-4 --set imitation_min_updates=0 \\
        --set imitation_bootstrap=false --set ppo.skip_forced_rows=false

followed by ``warehouse ensemble runs/ppo_dispatcher/s{0,1,2,3,4}/policy.json --out
runs/ppo_dispatcher/ensemble/policy`` and a copy of ``ensemble/policy.*`` to
``hierarchy/weights/ppo_dispatcher.*``. Seed 0 alone is the single policy shipped until the
fourteenth session. The dispatcher trains over the rule-based navigator, so it does not depend
on the navigator weights (``python -m agents.make_weights``). Training is deterministic on the
CPU (one torch thread): ``--check`` rebuilds into ``--work`` and compares the weights' sha256
with the shipped file instead of replacing it (exit code 1 when they differ). A change to the
simulation, the PIBT shield or the features changes the result.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import shutil
from concurrent.futures import ProcessPoolExecutor
from dataclasses import replace
from pathlib import Path

from agents.make_weights import network_files, torch_note
from agents.rounds import at_repository_root
from warehouse.errors import InputError
from warehouse.interrupt import stops_on_ctrl_c, workers_ignore_ctrl_c

from .ensemble import build_ensemble
from .ppo import PPOConfig
from .ppo_dispatcher import DEFAULT_WEIGHTS
from .train import TrainConfig, train

#: The shipped dispatcher's training run (the CLI command in the module docstring).
DISPATCHER = TrainConfig(
    scenarios=(
        "tiny",
        "hierarchy/scenarios/train_narrow.yaml",
        "hierarchy/scenarios/train_wide.yaml",
    ),
    navigator="rule_based",
    collisions="pibt",
    total_steps=48_000,
    n_envs=4,
    horizon=300,
    seed=0,
    # the rules as they were when these weights were made (the rebuild is bit for bit): no
    # forced-row exclusion in PPO's policy terms, no bootstrap at the warm start's horizon
    ppo=PPOConfig(lr=5e-4, skip_forced_rows=False),
    imitation_min_updates=0,  # the warm start as it was when these weights were made
    imitation_bootstrap=False,
    eval_seeds=(1000,),
)
#: The training seeds of the shipped ensemble's members.
SEEDS = (0, 1, 2, 3, 4)


def _train_member(seed: int, work: Path) -> Path:
    """Train the recipe with ``seed`` into ``work/s{seed}``: a finished run of the same recipe
    there is kept, an interrupted one resumed; a run of another recipe is refused."""
    cfg, folder = replace(DISPATCHER, seed=seed), work / f"s{seed}"
    policy = folder / "policy.json"
    if policy.is_file():
        meta = json.loads(policy.read_text(encoding="utf-8"))
        if TrainConfig.from_dict(meta.get("train", {})) != cfg:
            raise SystemExit(f"error: {policy} was trained with another recipe; use another --work")
        if meta.get("iteration") == cfg.iterations:
            return policy
    from warehouse.threads import torch_threads

    with torch_threads(1):  # deterministic, as the CLI
        train(cfg, folder, resume=(folder / "checkpoint" / "state.json").is_file())
    return policy


def _shown(path: Path) -> Path:
    """``path`` relative to the working folder (the repository root) when inside it."""
    return Path(os.path.relpath(path)) if path.is_relative_to(Path.cwd()) else path


def build(work: Path, jobs: int = 1) -> Path:
    """Train the members (``jobs`` at a time) and write their ensemble; returns its JSON."""
    missing = [s for s in DISPATCHER.scenarios if s.endswith(".yaml") and not Path(s).is_file()]
    if missing:
        raise SystemExit(f"error: {missing[0]} not found (the recipe's scenario files)")
    if jobs > 1:
        ctx = mp.get_context("spawn")
        with ProcessPoolExecutor(min(jobs, len(SEEDS)), mp_context=ctx) as ex, stops_on_ctrl_c(ex):
            with workers_ignore_ctrl_c():  # (submit starts the workers; no map: see evaluate)
                found = [ex.submit(_train_member, seed, work) for seed in SEEDS]
            members = [future.result() for future in found]
    else:
        members = [_train_member(seed, work) for seed in SEEDS]
    stem = work / "ensemble" / "policy"
    for ext in (".json", ".safetensors"):
        stem.with_suffix(ext).unlink(missing_ok=True)
    recipe = {
        "train": DISPATCHER.to_dict(),
        "seeds": list(SEEDS),
        "iteration": DISPATCHER.iterations,
    }
    return build_ensemble([_shown(m) for m in members], stem, **recipe)


def parser() -> argparse.ArgumentParser:
    """The command line of :func:`main` (one-line usage errors, exit code 2)."""
    from warehouse.cli.checks import OneLineParser

    ap = OneLineParser(description="Train the shipped PPO dispatcher and ship it.")
    ap.add_argument("--work", type=Path, default=Path("runs/ppo_dispatcher"))
    ap.add_argument("--jobs", type=int, default=1, help="members trained at once (processes)")
    ap.add_argument("--dest", type=Path, default=DEFAULT_WEIGHTS)
    ap.add_argument(
        "--check",
        action="store_true",
        help="compare the rebuilt policy with --dest instead of replacing it (exit 1: differs)",
    )
    return ap


def compare_with_shipped(policy: Path, dest: Path) -> bool:
    """Print whether the rebuilt ``policy`` (its JSON) has the same weights as the shipped
    ``dest``: the sha256 of the two ``.safetensors`` files themselves, not the digests their
    JSON files record."""
    built_meta, built = network_files(policy)
    shipped_meta, shipped = network_files(dest.with_suffix(".json"))
    same = built == shipped
    verdict = "identical" if same else "DIFFERS"
    print(
        f"ppo_dispatcher {verdict}  built {built[:12]}  shipped {shipped[:12]}"
        + torch_note(built_meta, shipped_meta)
    )
    return same


def main(argv: list[str] | None = None) -> None:
    ap = parser()
    args = ap.parse_args(argv)
    if args.jobs < 1:
        ap.error(f"--jobs: expected a whole number ≥ 1, got {args.jobs}")
    args.work, args.dest = at_repository_root(args.work, args.dest)
    if args.check:  # what it compares with must be there before the rebuild, not after it
        for ext in (".json", ".safetensors"):
            if not args.dest.with_suffix(ext).is_file():
                ap.error(f"{args.dest.with_suffix(ext)}: --dest: not found (nothing to compare)")
    policy = build(args.work, args.jobs)
    if args.check:
        try:
            same = compare_with_shipped(policy, args.dest)
        except InputError as exc:
            ap.error(exc.one_line())
        if not same:
            raise SystemExit(1)
        return
    built = json.loads(policy.read_text(encoding="utf-8"))["sha256"]
    args.dest.parent.mkdir(parents=True, exist_ok=True)
    for ext in (".safetensors", ".json"):
        shutil.copyfile(policy.with_suffix(ext), args.dest.with_suffix(ext))
    print(f"ppo_dispatcher: {args.dest.with_suffix('.safetensors')} (sha256 {built[:12]}…)")


if __name__ == "__main__":  # pragma: no cover
    from warehouse.interrupt import run_main

    run_main(main)
