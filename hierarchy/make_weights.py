"""Produce the shipped PPO dispatcher ``hierarchy/weights/ppo_dispatcher.{safetensors,json}``.

One command, from any folder (about 1 minute on two CPU cores)::

    nice .venv/bin/python -m hierarchy.make_weights --work runs/ppo_dispatcher

It trains :data:`DISPATCHER` and copies the run's ``policy.*`` into ``hierarchy/weights/``; the
same as::

    warehouse train-dispatcher \\
        tiny,hierarchy/scenarios/train_narrow.yaml,hierarchy/scenarios/train_wide.yaml \\
        --collisions pibt --steps 48000 --out runs/ppo_dispatcher --seed 0 --envs 4 \\
        --horizon 300 --lr 5e-4

followed by ``cp runs/ppo_dispatcher/policy.* hierarchy/weights/`` (renamed ``ppo_dispatcher.*``).
The dispatcher trains over the rule-based navigator, so it does not depend on the navigator
weights (``python -m agents.make_weights``). Training is deterministic on the CPU (one torch
thread): ``--check`` rebuilds into ``--work`` and compares the weights' sha256 with the shipped
file instead of replacing it (exit code 1 when they differ). A change to the simulation, the
PIBT shield or the features changes the result.
"""

from __future__ import annotations

import argparse
import json
import shutil
from pathlib import Path

from agents.make_weights import torch_note
from agents.rounds import at_repository_root

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
    ppo=PPOConfig(lr=5e-4),
    eval_seeds=(1000,),
)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description="Train the shipped PPO dispatcher and ship it.")
    ap.add_argument("--work", type=Path, default=Path("runs/ppo_dispatcher"))
    ap.add_argument("--dest", type=Path, default=DEFAULT_WEIGHTS)
    ap.add_argument(
        "--check",
        action="store_true",
        help="compare the rebuilt policy with --dest instead of replacing it (exit 1: differs)",
    )
    args = ap.parse_args(argv)
    args.work, args.dest = at_repository_root(args.work, args.dest)
    policy = args.work / "policy.json"
    if not policy.is_file():
        missing = [s for s in DISPATCHER.scenarios if s.endswith(".yaml") and not Path(s).is_file()]
        if missing:
            raise SystemExit(f"error: {missing[0]} not found (the recipe's scenario files)")
        import torch

        torch.set_num_threads(1)  # deterministic, as the CLI
        train(DISPATCHER, args.work)
    built_meta = json.loads(policy.read_text(encoding="utf-8"))
    built = built_meta["sha256"]
    if args.check:
        shipped_meta = json.loads(args.dest.read_text(encoding="utf-8"))
        shipped = shipped_meta["sha256"]
        same = built == shipped
        verdict = "identical" if same else "DIFFERS"
        print(
            f"ppo_dispatcher {verdict}  built {built[:12]}  shipped {shipped[:12]}"
            + torch_note(built_meta, shipped_meta)
        )
        if not same:
            raise SystemExit(1)
        return
    args.dest.parent.mkdir(parents=True, exist_ok=True)
    for ext in (".safetensors", ".json"):
        shutil.copyfile(policy.with_suffix(ext), args.dest.with_suffix(ext))
    print(f"ppo_dispatcher: {args.dest.with_suffix('.safetensors')} (sha256 {built[:12]}…)")


if __name__ == "__main__":  # pragma: no cover
    main()
