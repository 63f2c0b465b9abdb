"""Produce the shipped navigator weights ``agents/weights/*.{safetensors,json}``.

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

and copies each run's ``model.*`` into ``agents/weights/``. Then it fine-tunes the new CQL
network online with PPO under the PIBT shield (:data:`FINETUNE`, about 7 CPU-minutes) into
``cql_pibt.*`` and without a shield (:data:`FINETUNE_PHYSICAL`, about 10 CPU-minutes) into
``cql_physical.*``, the networks of the hierarchy's navigator ``cql_tuned``; the same as::

    warehouse train-navigator --algo ppo --init agents/weights/cql.json --steps 100 --lr 3e-4 \\
        --collisions pibt --ckpt-every 25 --out runs/navigator/cql_pibt
    warehouse train-navigator --algo ppo --init agents/weights/cql.json --steps 150 --lr 3e-4 \\
        --collisions physical --collision-rise 2 --ckpt-every 25 --out runs/navigator/cql_physical

The collection step is the Python
call ``agents.dataset.collect(DATA, out)``, which writes the same shards and manifest as::

    warehouse collect tiny,small,one_way_aisles --episodes 4 --seeds 0,1,2,3 --steps 1000 \
        --epsilon 0.1 --intent --set reward.collision=-150 --out runs/navigator/data

Training is deterministic on the CPU (seed 0, one torch
thread), so the command reproduces the shipped files for a fixed code version. Scenarios and
seeds used here stay out of the evaluation (docs/results.md).

Version note: the shipped files were made with older code: ``cql`` and ``bc`` at commit 3327570,
``cql_pibt`` and ``cql_physical`` (sha256 ``da9ec314…``, ``730451a8…``) at commit a508b76,
fine-tuned from the shipped ``cql`` (``c69a22a3…``); there the fine-tuning command reproduces
``cql_pibt`` bit for bit. At today's code this command writes the same dataset but other
networks (``cql`` ``cd9c9c84…``; ``cql_pibt`` from the shipped ``cql``: ``cdcb96bb…``), all
compared with the shipped ones in docs/results.md. The fine-tuning divergence was bisected to
commit 610527b (the batched-inference rewrite of ``agents/networks.py``), which changed the
network's float rounding by about 1e-7; the CQL/BC one most likely has the same cause (not
bisected).
"""

from __future__ import annotations

import argparse
import shutil
from concurrent.futures import ProcessPoolExecutor
from dataclasses import replace
from pathlib import Path

from warehouse.config import ObservationConfig

from .dataset import CollectConfig, collect
from .finetune import finetune
from .finetune_ppo import FinetuneConfig
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
_FT = FinetuneConfig()
#: Online fine-tuning of ``cql_pibt`` (the CLI's ``--steps 100 --lr 3e-4 --collisions pibt
#: --ckpt-every 25``; the shipped file records the same config in ``extra.finetune.config``).
FINETUNE = replace(
    _FT, updates=100, collisions="pibt", ckpt_every=25, ppo=replace(_FT.ppo, lr=3e-4)
)
#: ... and of ``cql_physical`` (``--steps 150 --lr 3e-4 --collisions physical --collision-rise 2
#: --ckpt-every 25``).
FINETUNE_PHYSICAL = replace(FINETUNE, updates=150, collisions="physical", collision_rise=2.0)
#: shipped name → fine-tuning config
FINETUNED = {"cql_pibt": FINETUNE, "cql_physical": FINETUNE_PHYSICAL}


def _train_quietly(cfg: TrainConfig) -> dict:
    return train(cfg, show_progress=False)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description="Collect data, train CQL and BC, fine-tune, ship.")
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
        _ship(args.work / algo, args.dest / algo)
    for name, cfg in FINETUNED.items():
        run = args.work / name
        if not (run / "model.json").is_file():
            import torch

            torch.set_num_threads(1)  # deterministic, as the CLI's default --threads 1
            finetune(cfg, run, init=args.dest / "cql.json", show_progress=False)
        _ship(run, args.dest / name)


def _ship(run: Path, dest: Path) -> None:
    for ext in (".safetensors", ".json"):
        shutil.copyfile(run / f"model{ext}", dest.with_suffix(ext))
    print(f"{dest.name}: {dest}.safetensors")


if __name__ == "__main__":  # pragma: no cover
    main()
