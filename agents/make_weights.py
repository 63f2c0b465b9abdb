"""Produce the shipped navigator weights ``agents/weights/*.{safetensors,json}``.

One command (one collection, two single-threaded training runs side by side, then two online
fine-tunings; about 10 minutes wall on two CPU cores; run it with ``nice``)::

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
network online with PPO under the PIBT shield (:data:`FINETUNE`) into
``cql_pibt.*`` and without a shield (:data:`FINETUNE_PHYSICAL`) into
``cql_physical.*``, the networks of the hierarchy's navigator ``cql_tuned``; the same as::

    warehouse train-navigator --algo ppo --init agents/weights/cql.json --steps 100 --lr 3e-4 \\
        --collisions pibt --ckpt-every 25 --out runs/navigator/cql_pibt
    warehouse train-navigator --algo ppo --init agents/weights/cql.json --steps 150 --lr 3e-4 \\
        --collisions physical --collision-rise 2 --ckpt-every 25 --out runs/navigator/cql_physical

The collection step is the Python
call ``agents.dataset.collect(DATA, out)``, which writes the same shards and manifest as::

    warehouse collect tiny,small,one_way_aisles --episodes 4 --seeds 0,1,2,3 --steps 1000 \
        --epsilon 0.1 --intent --set reward.collision=-150 --out runs/navigator/data

Training is deterministic on the CPU (seed 0, one torch thread), so the command reproduces the
shipped files bit for bit at the code version and torch version that made them (checked with
torch 2.13 for the sixth session's build and for the seventh session's rebuild after a core
fix). With torch 2.15 the sixth session's CQL, BC and ``cql_physical`` came out identical,
``cql_pibt`` did not (its rollouts rank actions by Q, and 1-ulp differences between torch
builds reorder near-ties).
``--check`` rebuilds into ``--work`` and compares every network's sha256 and dataset id with the
shipped files instead of replacing them (exit code 1 on any difference)::

    nice .venv/bin/python -m agents.make_weights --work runs/navigator_check --check

A change to the behaviour policy, the observation kernels, the PIBT shield or the network's
arithmetic changes the result (commit 610527b only reordered the network's float sums, and
networks trained after it differ from those trained before). Scenarios and seeds used here
stay out of the evaluation (docs/results.md). The PPO dispatcher has its own command:
:mod:`hierarchy.make_weights`.
"""

from __future__ import annotations

import argparse
import json
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
    ap.add_argument(
        "--check",
        action="store_true",
        help="rebuild into --work and compare with the files in --dest instead of replacing "
        "them; exit code 1 when any network differs",
    )
    args = ap.parse_args(argv)
    data = args.work / "data"
    if not data.exists():
        collect(DATA, data)
    if not args.check:
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
    if not args.check:
        for algo in ("cql", "bc"):
            _ship(args.work / algo, args.dest / algo)
    # Fine-tune the CQL network just trained (in a normal run, its shipped copy).
    init = args.work / "cql" / "model.json" if args.check else _relative(args.dest / "cql.json")
    for name, cfg in FINETUNED.items():
        run = args.work / name
        if not (run / "model.json").is_file():
            import torch

            torch.set_num_threads(1)  # deterministic, as the CLI's default --threads 1
            finetune(cfg, run, init=init, show_progress=False)
        if not args.check:
            _ship(run, args.dest / name)
    if args.check:
        if not compare_with_shipped(args.work, args.dest, ["cql", "bc", *FINETUNED]):
            raise SystemExit(1)


def compare_with_shipped(work: Path, dest: Path, names: list[str]) -> bool:
    """Print, per shipped network ``dest/<name>.*``, whether the rebuilt one in
    ``work/<name>/model.*`` has the same weights (sha256 of the safetensors file) and was
    trained on the same dataset."""
    same = True
    for name in names:
        built = json.loads((work / name / "model.json").read_text(encoding="utf-8"))
        shipped = json.loads((dest / f"{name}.json").read_text(encoding="utf-8"))
        ok = built["weights_sha256"] == shipped["weights_sha256"]
        data_ok = built["extra"].get("data_id") == shipped["extra"].get("data_id")
        same = same and ok and data_ok
        verdict = "identical" if ok and data_ok else "DIFFERS"
        print(
            f"{name:13s} {verdict:9s} built {built['weights_sha256'][:12]}  "
            f"shipped {shipped['weights_sha256'][:12]}  data {'same' if data_ok else 'DIFFERS'}"
            + torch_note(built, shipped)
        )
    return same


def torch_note(built: dict, shipped: dict) -> str:
    """Names both torch versions when they differ: floating-point results, and with them the
    trained networks, may differ between torch builds."""
    mine = built.get("versions", {}).get("torch")
    theirs = shipped.get("versions", {}).get("torch")
    return f"  (torch {mine}; shipped with {theirs})" if mine != theirs else ""


def _relative(path: Path) -> Path:
    """``path`` relative to the working directory when it lies below it (checkpoints record
    their init's path; a relative one does not name this machine's folders)."""
    try:
        return path.resolve().relative_to(Path.cwd())
    except ValueError:
        return path


def _ship(run: Path, dest: Path) -> None:
    for ext in (".safetensors", ".json"):
        shutil.copyfile(run / f"model{ext}", dest.with_suffix(ext))
    print(f"{dest.name}: {dest}.safetensors")


if __name__ == "__main__":  # pragma: no cover
    main()
