"""Produce the shipped navigator weights ``agents/weights/{cql,bc}.{safetensors,json}``.

One command (one collection, then two single-threaded training runs side by side, about
10 CPU-minutes each; run it with ``nice``)::

    nice .venv/bin/python -m agents.make_weights --work runs/navigator

It collects :data:`DATA` — the ε-greedy rule-based fleet (ε = 0.1, physical collisions) on
``tiny``, ``small`` and ``one_way_aisles``, seeds 0–3, 1,000 steps each, observations with the
neighbour-intention channels (``observation.intent``) and a collision reward of −150 instead of
the scenarios' −50 (reward shaping for CQL; behaviour cloning ignores rewards) — then runs::

    warehouse train-navigator --algo cql --alpha 5.0 --data runs/navigator/data --steps 20000 \\
        --out runs/navigator/cql --ckpt-every 5000 --device cpu
    warehouse train-navigator --algo bc --data runs/navigator/data --steps 20000 \\
        --out runs/navigator/bc --ckpt-every 5000 --device cpu

and copies each run's ``model.*`` into ``agents/weights/``. The collection step is the Python
call ``agents.dataset.collect(DATA, out)``, which writes the same shards and manifest as::

    warehouse collect tiny,small,one_way_aisles --episodes 4 --seeds 0,1,2,3 --steps 1000 \
        --epsilon 0.1 --intent --set reward.collision=-150 --out runs/navigator/data

Training is deterministic on the CPU (seed 0, one torch
thread), so the command reproduces the shipped files for a fixed code version. Scenarios and
seeds used here stay out of the evaluation (docs/results.md).
"""

from __future__ import annotations

import argparse
import shutil
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from warehouse.config import ObservationConfig

from .dataset import CollectConfig, collect
from .learned import DEFAULT_WEIGHTS
from .train import TrainConfig, train

DATA = CollectConfig(
    targets=("tiny", "small", "one_way_aisles"),
    episodes=4,
    seeds=(0, 1, 2, 3),
    steps=1000,
    epsilon=0.1,
    observation=ObservationConfig(radius=3, intent=True),
    overrides=(("reward.collision", -150.0),),
)
STEPS = 20_000
ALPHA = 5.0  #: CQL α of the shipped weights (α sensitivity: docs/results.md)


def _train_quietly(cfg: TrainConfig) -> dict:
    return train(cfg, show_progress=False)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description="Collect data, train CQL and BC, ship the weights.")
    ap.add_argument("--work", type=Path, default=Path("runs/navigator"))
    ap.add_argument("--steps", type=int, default=STEPS)
    ap.add_argument("--alpha", type=float, default=ALPHA)
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
