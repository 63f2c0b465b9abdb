"""Checkpoints of an online fine-tuning run, in the navigator checkpoint format.

Both files follow :mod:`agents.checkpoint` (safetensors + JSON sidecar, written atomically, the
JSON last). The JSON starts as a copy of the **init** checkpoint's JSON — so ``algo``, the
network ``config`` and any observation layout recorded there carry over unchanged — with::

    "kind":   "ppo-finetune" (resumable state) | "weights" (the fine-tuned navigator)
    "step":   PPO iterations done
    "optimizer": {"param_groups": [...]}          (training state only)
    "extra":  the init's extra + {"finetune": {"config": FinetuneConfig, "init": path,
              "init_sha256": sha of the init weights, "iteration": k,
              "baseline_collisions_per_1k": float | null, "paused": str | null}}

Tensors: ``model.*`` (the actor, i.e. the navigator network), and in the training state
``critic.*`` and ``optim.<param>.<key>`` (Adam). Because ``model.*`` and ``config`` are those of
a navigator, :func:`agents.checkpoint.load_network` — hence ``make_navigator("cql",
checkpoint=...)`` and ``warehouse run --set policies.navigator_checkpoint=...`` — loads either
file as a navigator.
"""

from __future__ import annotations

import copy
import hashlib
import json
from pathlib import Path
from typing import Any

import torch

from warehouse.atomic import write_bytes_atomic
from warehouse.errors import InputError

from .checkpoint import (
    library_versions,
    load_module,
    load_optimizer,
    optimizer_tensors,
    read_checkpoint,
    resolve,
)

KIND = "ppo-finetune"


def save_finetune(
    stem: str | Path,
    init_meta: dict[str, Any],
    actor: torch.nn.Module,
    *,
    step: int,
    finetune: dict[str, Any],
    critic: torch.nn.Module | None = None,
    optim: torch.optim.Optimizer | None = None,
) -> Path:
    """Write a weights file (``critic``/``optim`` None) or a resumable training state."""
    from safetensors.torch import save

    stem = resolve(stem)
    stem.parent.mkdir(parents=True, exist_ok=True)
    mods = {"model": actor} if critic is None else {"model": actor, "critic": critic}
    tensors = {
        f"{name}.{k}": v.detach().cpu().contiguous()
        for name, mod in mods.items()
        for k, v in mod.state_dict().items()
    }
    groups: list = []
    if optim is not None:
        opt, groups = optimizer_tensors(optim)
        tensors.update(opt)
    blob = save(tensors)
    meta = copy.deepcopy(init_meta)
    meta.update(
        kind="weights" if optim is None else KIND,
        step=int(step),
        optimizer={"param_groups": groups},
        rng={},
        versions=library_versions(),
        weights_sha256=hashlib.sha256(blob).hexdigest(),
        extra={**meta.get("extra", {}), "finetune": finetune},
    )
    write_bytes_atomic(stem.with_suffix(".safetensors"), blob)
    write_bytes_atomic(stem.with_suffix(".json"), json.dumps(meta, indent=1).encode())
    return stem


def load_finetune_state(
    path: str | Path,
    actor: torch.nn.Module,
    critic: torch.nn.Module,
    optim: torch.optim.Optimizer,
) -> dict[str, Any]:
    """Restore actor, critic and Adam from a training state; returns its JSON."""
    meta, tensors = read_checkpoint(path)
    stem = resolve(path)
    src = stem.with_suffix(".safetensors")
    if meta["kind"] != KIND or not isinstance(meta.get("extra", {}).get("finetune"), dict):
        raise InputError(stem.with_suffix(".json"), "kind", f"not a {KIND} checkpoint")
    load_module(actor, "model", tensors, src)
    load_module(critic, "critic", tensors, src)
    optimizer = meta.get("optimizer")
    groups = optimizer.get("param_groups") if isinstance(optimizer, dict) else None
    load_optimizer(optim, tensors, "optim", groups, src, stem.with_suffix(".json"))
    return meta
