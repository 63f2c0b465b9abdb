"""Produce the shipped navigator weights ``agents/weights/*.{safetensors,json}``.

One command (about 30 minutes wall on two CPU cores; run it with ``nice``)::

    nice .venv/bin/python -m agents.make_weights --work runs/navigator

It runs the data rounds of :mod:`agents.rounds`, recipe ``wide_ens`` (:data:`RECIPE`), the same
as ``python -m agents.rounds --work runs/navigator --recipe wide_ens``:

* round 0 logs the ε-greedy rule-based fleet (ε = 0.1, ``physical``) on ``tiny``, ``small``,
  ``one_way_aisles`` and ``agents/scenarios/data_wide.yaml``, seeds 0–3, 1,000 steps each, with
  the neighbour-intention channels and a collision reward of −100, and trains CQL (α 5, 20k
  updates) on it;
* rounds 1–5 log the same floors with seeds 4k … 4k+3 from a fleet in which the previous round's
  network (sampled at T = 0.5) moves 70 % of the robots' steps, and train CQL on the union of
  the rounds so far;
* the final networks train on the union of all six datasets: CQL and, as its baseline, BC, each
  a Q-ensemble of two training seeds with 40k updates each (``warehouse ensemble``).

It copies the final ``cql`` and ``bc`` into ``agents/weights/``, then fine-tunes the CQL ensemble
online with PPO, two processes side by side: the networks of the hierarchy's navigator
``cql_tuned``.

* ``cql_pibt.*``: under the PIBT shield (:data:`FINETUNE`) on the three training floors and
  the same floors turned about their diagonal (``agents/scenarios/*_T.yaml``, whose long
  single lanes run north-south), with seeds 0, 1 and 2 (:data:`FINETUNE_SEEDS`); the shipped
  network is the Q-ensemble of the three (docs/results_transfer.md says why both);
* ``cql_physical.*``: without a shield (:data:`FINETUNE_PHYSICAL`), seed 0.

The same as::

    T=agents/scenarios
    LEGACY="--shaping difference --policy-rows all --bootstrap before_dispatch"
    FLOORS=tiny,small,one_way_aisles,$T/tiny_T.yaml,$T/small_T.yaml,$T/one_way_aisles_T.yaml
    for SEED in 0 1 2; do
      warehouse train-navigator --algo ppo --init agents/weights/cql.json --steps 100 --lr 3e-4 \\
          --collisions pibt --ckpt-every 25 --scenarios $FLOORS --seed $SEED $LEGACY \\
          --out runs/navigator/cql_pibt_seed$SEED
    done
    warehouse ensemble runs/navigator/cql_pibt_seed{0,1,2}/model.json \\
        --out runs/navigator/cql_pibt/model
    warehouse train-navigator --algo ppo --init agents/weights/cql.json --steps 150 --lr 3e-4 \\
        --collisions physical --collision-rise 2 --ckpt-every 25 $LEGACY \\
        --out runs/navigator/cql_physical

(``$LEGACY``: the learning rules the shipped networks were trained with, not the corrected
defaults; :data:`agents.finetune_ppo.LEGACY`.)

Every step is skipped when its output exists, so an interrupted run continues. Collection and
training are deterministic on the CPU (seed 0, one torch thread per process), so the command
reproduces the shipped files bit for bit at the code version and torch version that made them
(torch 2.13; ``cql_pibt`` is the most fragile: its rollouts rank actions by Q, and 1-ulp
differences between torch builds reorder near-ties).
``--check`` rebuilds into ``--work`` and compares every network's sha256 and dataset id with the
shipped files instead of replacing them (exit code 1 on any difference)::

    nice .venv/bin/python -m agents.make_weights --work runs/navigator_check --check

A change to the behaviour policy, the observation kernels, the PIBT shield or the network's
arithmetic changes the result. Scenarios and seeds used here stay out of the evaluation
(docs/results.md). The PPO dispatcher has its own command: :mod:`hierarchy.make_weights`.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import shutil
from concurrent.futures import ProcessPoolExecutor
from dataclasses import replace
from pathlib import Path
from typing import Any

from warehouse.errors import InputError
from warehouse.interrupt import stops_on_ctrl_c, workers_ignore_ctrl_c

from .finetune import finetune
from .finetune_ppo import FinetuneConfig
from .learned import DEFAULT_WEIGHTS
from .rounds import RECIPES, RoundsConfig, at_repository_root
from .rounds import run as run_rounds

#: the data rounds and final networks of the shipped ``cql`` and ``bc`` (agents/rounds.py)
RECIPE: RoundsConfig = RECIPES["wide_ens"]
_FT = FinetuneConfig()
#: the navigator's training floors turned about their diagonal (``layout.transpose``)
TRANSPOSED = tuple(f"agents/scenarios/{name}_T.yaml" for name in _FT.scenarios)
#: Online fine-tuning of ``cql_pibt`` (the CLI's ``--steps 100 --lr 3e-4 --collisions pibt
#: --ckpt-every 25 --shaping difference --policy-rows all --bootstrap before_dispatch
#: --scenarios`` the training floors and their transposes), once per seed of
#: :data:`FINETUNE_SEEDS`; the shipped file records it in ``extra.finetune``.
FINETUNE = replace(
    _FT,
    updates=100,
    collisions="pibt",
    ckpt_every=25,
    ppo=replace(_FT.ppo, lr=3e-4, skip_forced_rows=False),
    scenarios=(*_FT.scenarios, *TRANSPOSED),
    # the learning rules the shipped networks were trained with (agents.finetune_ppo.LEGACY):
    # undiscounted shaping, forced rows in the policy loss, the bootstrap value read before
    # the dispatcher. The corrected defaults would change the shipped weights, which
    # ``--check`` rebuilds bit for bit; they stay pinned until the networks are retrained.
    # (``ppo.skip_forced_rows=False`` above is the CLI's ``--policy-rows all``)
    shaping="difference",
    bootstrap="before_dispatch",
)
#: the seeds of ``cql_pibt``'s fine-tunings; it ships as their Q-ensemble
FINETUNE_SEEDS = (0, 1, 2)
#: ... and of ``cql_physical`` (``--steps 150 --lr 3e-4 --collisions physical --collision-rise 2
#: --ckpt-every 25``, the training floors as they are, the same legacy learning rules), seed 0.
FINETUNE_PHYSICAL = replace(
    FINETUNE, updates=150, collisions="physical", collision_rise=2.0, scenarios=_FT.scenarios
)
#: shipped name → (fine-tuning config, seeds): one seed ships its network, several their
#: Q-ensemble
FINETUNED = {
    "cql_pibt": (FINETUNE, FINETUNE_SEEDS),
    "cql_physical": (FINETUNE_PHYSICAL, (0,)),
}


def _finetune_quietly(cfg: FinetuneConfig, out: Path, init: Path) -> str:
    from warehouse.threads import torch_threads

    with torch_threads(1):  # deterministic, as the CLI's default --threads 1
        finetune(cfg, out, init=init, show_progress=False)
    return str(out / "model.json")


def parser() -> argparse.ArgumentParser:
    """The command line of :func:`main` (one-line usage errors, exit code 2)."""
    from warehouse.cli.checks import OneLineParser

    ap = OneLineParser(description="Data rounds, CQL and BC, fine-tuning; ship.")
    ap.add_argument("--work", type=Path, default=Path("runs/navigator"))
    ap.add_argument("--dest", type=Path, default=DEFAULT_WEIGHTS)
    ap.add_argument(
        "--check",
        action="store_true",
        help="rebuild into --work and compare with the files in --dest instead of replacing "
        "them; exit code 1 when any network differs",
    )
    return ap


def main(argv: list[str] | None = None) -> None:
    ap = parser()
    args = ap.parse_args(argv)
    args.work, args.dest = at_repository_root(args.work, args.dest)
    if args.check:  # what it compares with must be there before the rebuild, not after it
        for name in ["cql", "bc", *FINETUNED]:
            for ext in (".json", ".safetensors"):
                if not (args.dest / f"{name}{ext}").is_file():
                    ap.error(f"{args.dest / name}{ext}: --dest: not found (nothing to compare)")
    run_rounds(RECIPE, args.work)
    if not args.check:
        args.dest.mkdir(parents=True, exist_ok=True)
        for algo in ("cql", "bc"):
            _ship(args.work / algo, args.dest / algo)
    # Fine-tune the CQL network just trained (in a normal run, its shipped copy).
    init = args.work / "cql" / "model.json" if args.check else _relative(args.dest / "cql.json")
    finetune_all(args.work, init)
    if not args.check:
        for name in FINETUNED:
            _ship(args.work / name, args.dest / name)
    else:
        try:
            same = compare_with_shipped(args.work, args.dest, ["cql", "bc", *FINETUNED])
        except InputError as exc:
            ap.error(exc.one_line())
        if not same:
            raise SystemExit(1)


def _runs(name: str) -> list[tuple[Path, FinetuneConfig]]:
    """The fine-tuning runs of shipped network ``name``: ``(folder name, config)``."""
    cfg, seeds = FINETUNED[name]
    if len(seeds) == 1:
        return [(Path(name), replace(cfg, seed=seeds[0]))]
    return [(Path(f"{name}_seed{seed}"), replace(cfg, seed=seed)) for seed in seeds]


def finetune_all(work: Path, init: Path) -> None:
    """Every fine-tuning run of :data:`FINETUNED` not yet in ``work``, two side by side
    (independent and single-threaded), then the ensembles of the seeded ones."""
    from .ensemble import build_ensemble

    todo = [
        (work / folder, cfg)
        for name in FINETUNED
        for folder, cfg in _runs(name)
        if not (work / folder / "model.json").is_file()
    ]
    # "spawn": workers start clean (no forked numba or torch thread state), as the runner's
    pool = ProcessPoolExecutor(max_workers=2, mp_context=multiprocessing.get_context("spawn"))
    with pool, stops_on_ctrl_c(pool):
        with workers_ignore_ctrl_c():  # (submit starts the workers)
            futures = [pool.submit(_finetune_quietly, cfg, out, init) for out, cfg in todo]
        for future in futures:
            print(f"fine-tuned {future.result()}")
    for name, (cfg, seeds) in FINETUNED.items():
        if len(seeds) == 1 or (work / name / "model.json").is_file():
            continue
        members: list[str | Path] = [work / folder / "model.json" for folder, _ in _runs(name)]
        first = json.loads(Path(members[0]).read_text(encoding="utf-8"))["extra"]["finetune"]
        record = {"config": cfg.to_json(), "seeds": list(seeds)}
        record["init"], record["init_sha256"] = first["init"], first["init_sha256"]
        build_ensemble(members, work / name / "model", extra={"finetune": record})
        print(f"ensemble of {len(seeds)} fine-tunings: {work / name / 'model.json'}")


def compare_with_shipped(work: Path, dest: Path, names: list[str]) -> bool:
    """Print, per shipped network ``dest/<name>.*``, whether the rebuilt one in
    ``work/<name>/model.*`` has the same weights (sha256 of the safetensors files themselves,
    not the digests their JSON files record) and was trained on the same dataset. A file that
    is missing or unreadable is an :class:`InputError`."""
    same = True
    for name in names:
        built, built_sha = network_files(work / name / "model.json")
        shipped, shipped_sha = network_files(dest / f"{name}.json")
        ok = built_sha == shipped_sha
        data_ok = _extra(built).get("data_id") == _extra(shipped).get("data_id")
        same = same and ok and data_ok
        verdict = "identical" if ok and data_ok else "DIFFERS"
        print(
            f"{name:13s} {verdict:9s} built {built_sha[:12]}  "
            f"shipped {shipped_sha[:12]}  data {'same' if data_ok else 'DIFFERS'}"
            + torch_note(built, shipped)
        )
    return same


def network_files(meta_path: Path) -> tuple[dict[str, Any], str]:
    """A network's JSON and the sha256 of its ``.safetensors`` file beside it."""
    from warehouse.atomic import sha256_file
    from warehouse.jsonio import read_json_object

    weights = meta_path.with_suffix(".safetensors")
    meta = read_json_object(meta_path)
    try:
        return meta, sha256_file(weights)
    except OSError as exc:
        raise InputError(weights, None, f"cannot read: {exc.strerror or exc}") from None


def _extra(meta: dict[str, Any]) -> dict[str, Any]:
    extra = meta.get("extra")
    return extra if isinstance(extra, dict) else {}


def torch_note(built: dict, shipped: dict) -> str:
    """Names both torch versions when they differ: floating-point results, and with them the
    trained networks, may differ between torch builds."""
    mine = (built.get("versions") or {}).get("torch")
    theirs = (shipped.get("versions") or {}).get("torch")
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
    from warehouse.interrupt import run_main

    run_main(main)
