"""Produce the shipped navigator weights ``agents/weights/{cql,bc}.{safetensors,json}``.

One command (two single-threaded training runs side by side, about 20 CPU-minutes each;
run it with ``nice``)::

    .venv/bin/python -m agents.make_weights --work runs/navigator

It is exactly this pair of CLI steps (plus copying each run's ``model.*`` into
``agents/weights/``)::

    warehouse collect tiny,small,one_way_aisles --episodes 4 --steps 1000 --seeds 0,1,2,3 \\
        --epsilon 0.1 --out runs/navigator/data
    warehouse train-navigator --algo cql --alpha 1.0 --data runs/navigator/data --steps 20000 \\
        --out runs/navigator/cql --ckpt-every 5000
    warehouse train-navigator --algo bc --data runs/navigator/data --steps 20000 \\
        --out runs/navigator/bc --ckpt-every 5000

Training is deterministic on the CPU (seed 0, one torch thread), so the command reproduces the
shipped files. Scenarios and seeds used here stay out of the evaluation
(docs/results.md).
"""

from __future__ import annotations

import argparse
import shutil
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from .dataset import CollectConfig, collect
from .learned import DEFAULT_WEIGHTS
from .train import TrainConfig, train

DATA = CollectConfig(
    targets=("tiny", "small", "one_way_aisles"),
    episodes=4,
    seeds=(0, 1, 2, 3),
    steps=1000,
    epsilon=0.1,
)
STEPS = 20_000


def _train_quietly(cfg: TrainConfig) -> dict:
    return train(cfg, show_progress=False)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description="Collect data, train CQL and BC, ship the weights.")
    ap.add_argument("--work", type=Path, default=Path("runs/navigator"))
    ap.add_argument("--steps", type=int, default=STEPS)
    ap.add_argument("--alpha", type=float, default=1.0)
    ap.add_argument("--dest", type=Path, default=DEFAULT_WEIGHTS)
    args = ap.parse_args(argv)
    data = args.work / "data"
    if not data.exists():
        collect(DATA, data)
    args.dest.mkdir(parents=True, exist_ok=True)
    todo = [
        TrainConfig(
            algo=algo,
            data=data,
            out=args.work / algo,
            steps=args.steps,
            alpha=args.alpha,
            ckpt_every=5000,
        )
        for algo in ("cql", "bc")
        if not (args.work / algo / "model.json").is_file()
    ]
    # The two runs are independent and single-threaded: train them side by side.
    with ProcessPoolExecutor(max_workers=2) as pool:
        for res in pool.map(_train_quietly, todo):
            print(f"trained {res['model']}")
    for algo in ("cql", "bc"):
        run = args.work / algo
        for ext in (".safetensors", ".json"):
            shutil.copyfile(run / f"model{ext}", args.dest / f"{algo}{ext}")
        print(f"{algo}: {args.dest / algo}.safetensors")


if __name__ == "__main__":  # pragma: no cover
    main()
