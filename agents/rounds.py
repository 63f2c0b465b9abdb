"""DAgger-style data rounds for the offline navigator (``python -m agents.rounds``).

Round 0 logs the ε-greedy rule-based fleet and trains CQL on it. Round ``k`` = 1 … R logs the
same floors with new seeds from a *mixed* fleet (agents/mixed_behavior.py): per robot and step,
round ``k − 1``'s network (sampled at T = 0.5) moves with probability ``share``, the rule-based
navigator otherwise, with the ε-random moves on top. Round ``k``'s network trains on the union
of rounds 0 … k. The final CQL network and a BC baseline train on the union of all rounds
(recipe ``wide_ens``, the shipped networks' recipe, which ``agents.make_weights`` runs: each a
Q-ensemble of two training seeds, 40k updates each). Results and the reasoning:
docs/results.md, "Shipped navigator" and "DAgger-style rounds" (issue 4)::

    nice .venv/bin/python -m agents.rounds --work runs/rounds --recipe wide_ens
    python -m agents.evaluate --checkpoint cql=runs/rounds/cql/model.json \\
        --checkpoint bc=runs/rounds/bc/model.json      # the held-out comparison

Every step is the same as a CLI call (``warehouse collect [--learned CKPT --learned-share S]``,
``warehouse train-navigator --data A,B,...``) and is skipped when its output exists, so an
interrupted run continues. Deterministic on the CPU, like ``agents.make_weights``.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

from warehouse.config import ObservationConfig

from .dataset import CollectConfig, collect
from .ensemble import build_ensemble
from .finetune_nav import DEPLOY_TEMPERATURE
from .train import TrainConfig, train

#: navigator data floors beyond the built-in ones (paths from the repository root)
DATA_WIDE = "agents/scenarios/data_wide.yaml"  #: two-lane aisles, 50 robots
DATA_BIG = "agents/scenarios/data_big.yaml"  #: two-lane aisles, 100 robots


@dataclass(frozen=True, kw_only=True)
class RoundsConfig:
    """Round 0's collection and the round loop's settings."""

    data: CollectConfig  #: round 0: the behaviour fleet alone (seeds: the first episodes)
    rounds: int = 5
    share: float = 0.7  #: share of learned moves in the mixed fleets
    temperature: float = DEPLOY_TEMPERATURE  #: the learned moves are drawn from softmax(Q / T)
    steps: int = 20_000  #: updates per network
    alpha: float = 5.0
    #: the final CQL (and BC) network: a Q-ensemble of this many training seeds (agents/ensemble.py)
    members: int = 1
    final_steps: int | None = None  #: updates of the final networks (default: ``steps``)


#: the ε-greedy rule-based fleet (ε = 0.1, physical collisions) on the built-in training floors,
#: seeds 0–3, 1,000 steps each, observations with the neighbour-intention channels; the
#: collision reward is shaped (reward shaping for CQL; behaviour cloning ignores rewards)
BASE_DATA = CollectConfig(
    targets=("tiny", "small", "one_way_aisles"),
    episodes=4,
    seeds=(0, 1, 2, 3),
    steps=1000,
    epsilon=0.1,
    observation=ObservationConfig(radius=3, intent=True),
    overrides=(("reward.collision", -150.0),),
)
_WIDE_DATA = replace(
    BASE_DATA,
    targets=(*BASE_DATA.targets, DATA_WIDE),
    overrides=(("reward.collision", -100.0),),
)
#: named recipes of docs/results.md: the shipped data's floors plus a two-lane floor ("wide"),
#: and also a 100-robot two-lane floor ("wide_big")
RECIPES = {
    "wide": RoundsConfig(data=_WIDE_DATA),
    # the same rounds; the final CQL and BC networks are 2-seed ensembles of 40k updates each
    "wide_ens": RoundsConfig(data=_WIDE_DATA, members=2, final_steps=40_000),
    "wide_big": RoundsConfig(data=replace(_WIDE_DATA, targets=(*_WIDE_DATA.targets, DATA_BIG))),
}


def round_data(cfg: RoundsConfig, k: int, work: Path) -> CollectConfig:
    """Round ``k`` ≥ 1: round 0's floors with the next seeds, the fleet mixing round
    ``k − 1``'s network into the ε-greedy behaviour fleet."""
    n = cfg.data.episodes
    return replace(
        cfg.data,
        seeds=tuple(range(n * k, n * k + n)),
        learned=work / f"cql_r{k - 1}" / "model.json",
        learned_share=cfg.share,
        learned_temperature=cfg.temperature,
    )


def data_folders(k: int, work: Path) -> tuple[Path, ...]:
    """The union a round-``k`` network trains on: rounds 0 … k."""
    return (work / "data", *(work / f"data_r{i}" for i in range(1, k + 1)))


def train_config(
    cfg: RoundsConfig,
    algo: str,
    k: int,
    work: Path,
    out: Path,
    *,
    steps: int | None = None,
    seed: int = 0,
) -> TrainConfig:
    data = data_folders(k, work)
    return TrainConfig(
        algo=algo,
        data=data[0] if len(data) == 1 else data,
        out=out,
        steps=steps or cfg.steps,
        alpha=cfg.alpha,
        ckpt_every=5000,
        seed=seed,
    )


def run(cfg: RoundsConfig, work: Path, *, log: Callable[[str], None] = print) -> None:
    """All rounds into ``work``: ``data``, ``data_r1`` …, ``cql_r0`` …, then ``cql`` and ``bc``
    on the union of every round."""
    from warehouse.threads import torch_threads

    with torch_threads(1):  # deterministic, as the CLI's default --threads 1
        _run(cfg, work, log)


def _run(cfg: RoundsConfig, work: Path, log: Callable[[str], None]) -> None:
    for k in range(cfg.rounds + 1):
        folder = work / ("data" if k == 0 else f"data_r{k}")
        if not folder.exists():
            collect(cfg.data if k == 0 else round_data(cfg, k, work), folder)
        if k < cfg.rounds and not (work / f"cql_r{k}" / "model.json").is_file():
            train(train_config(cfg, "cql", k, work, work / f"cql_r{k}"), show_progress=False)
            log(f"round {k}: {work / f'cql_r{k}' / 'model.json'}")
    for algo in ("cql", "bc"):  # one after the other: the union can take 10 GB of memory
        if (work / algo / "model.json").is_file():
            continue
        steps = cfg.final_steps or cfg.steps
        if cfg.members == 1:
            tc = train_config(cfg, algo, cfg.rounds, work, work / algo, steps=steps)
            res = train(tc, show_progress=False)
            log(f"{algo}: {res['model']}.json")
            continue
        runs = [work / f"{algo}_s{seed}" for seed in range(cfg.members)]
        for seed, out in enumerate(runs):
            if not (out / "model.json").is_file():
                tc = train_config(cfg, algo, cfg.rounds, work, out, steps=steps, seed=seed)
                train(tc, show_progress=False)
        stem = build_ensemble([out / "model.json" for out in runs], work / algo / "model")
        log(f"{algo}: {stem}.json (ensemble of {cfg.members})")


def at_repository_root(*paths: Path) -> tuple[Path, ...]:
    """``paths`` made absolute, then the working directory moved to the repository root: the
    recipes name their scenario files relative to it (``agents/scenarios/...``), and record
    them so, whatever folder the command was started from."""
    absolute = tuple(p.resolve() for p in paths)
    os.chdir(Path(__file__).resolve().parents[1])
    return absolute


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--work", type=Path, required=True)
    ap.add_argument("--recipe", choices=sorted(RECIPES), default="wide")
    ap.add_argument("--rounds", type=int, default=None)
    args = ap.parse_args(argv)
    (args.work,) = at_repository_root(args.work)
    cfg = RECIPES[args.recipe]
    if args.rounds is not None:
        cfg = replace(cfg, rounds=args.rounds)
    run(cfg, args.work)


if __name__ == "__main__":  # pragma: no cover
    from warehouse.interrupt import run_main

    run_main(main)
