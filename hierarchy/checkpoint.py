"""Dispatcher checkpoints: safetensors for tensors, JSON for everything else; no pickle.

Policy (what the ``ppo`` dispatcher loads), two files side by side::

    NAME.safetensors   network parameters
    NAME.json          {"format": "warehouse-ppo-dispatcher/1", "net": {...}, "features": {...},
                        "period": int, "sha256": hex digest of NAME.safetensors,
                        "versions": {"warehouse", "torch", "safetensors"}, ...}

Training state (``RUN/checkpoint/``): ``model.safetensors``, ``optim.safetensors`` (Adam moments
as ``state.<param>.<name>``), then ``state.json`` (iteration, config, optimizer hyper-parameters,
sha256 of both tensor files). Every file is written to a temporary name and moved into place;
``state.json`` goes last and its hashes are checked on load, so a crash mid-write is detected
instead of resuming from a torn checkpoint.
"""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load_file, save_file

from agents.checkpoint import library_versions
from warehouse.atomic import atomic_path, sha256_file, write_text_atomic
from warehouse.errors import InputError
from warehouse.jsonio import read_json_object

from .features import FeatureConfig
from .network import CandidateScorer, NetConfig, Scorer, make_scorer

POLICY_FORMAT = "warehouse-ppo-dispatcher/1"


_sha256 = sha256_file


def _atomic_tensors(tensors: dict[str, torch.Tensor], path: Path) -> None:
    with atomic_path(path) as tmp:
        save_file({k: v.detach().contiguous().cpu() for k, v in tensors.items()}, str(tmp))


def _atomic_json(data: dict[str, Any], path: Path) -> None:
    write_text_atomic(path, json.dumps(data, indent=2, sort_keys=True))


_read_json = read_json_object


def save_policy(
    stem: str | Path,
    net: Scorer,
    features: FeatureConfig,
    period: int,
    **extra: Any,
) -> Path:
    """Write ``stem.safetensors`` + ``stem.json``; returns the JSON path."""
    stem = Path(stem)
    stem.parent.mkdir(parents=True, exist_ok=True)
    weights = stem.with_suffix(".safetensors")
    _atomic_tensors(net.state_dict(), weights)
    meta = {
        "format": POLICY_FORMAT,
        "net": net.cfg.to_dict(),
        "features": asdict(features),
        "period": int(period),
        "sha256": _sha256(weights),
        "versions": library_versions(),
        **extra,
    }
    _atomic_json(meta, stem.with_suffix(".json"))
    return stem.with_suffix(".json")


def policy_stem(path: str | Path) -> Path:
    """The common stem of a policy given by its ``.json``, its ``.safetensors`` or the stem."""
    stem = Path(path)
    return stem.with_suffix("") if stem.suffix in (".json", ".safetensors") else stem


def load_policy(path: str | Path) -> tuple[Scorer, FeatureConfig, int, dict[str, Any]]:
    """Load a policy from its ``.json`` or ``.safetensors`` path (or the common stem); a
    ``net.members`` > 1 gives a :class:`~hierarchy.network.ScorerEnsemble`."""
    stem = policy_stem(path)
    meta_path, weights = stem.with_suffix(".json"), stem.with_suffix(".safetensors")
    missing = "policy file not found (NAME.json and NAME.safetensors side by side)"
    if not meta_path.is_file():
        raise InputError(meta_path, None, missing)
    meta = _read_json(meta_path)  # (a damaged or other .json is named before its companion)
    if meta.get("format") != POLICY_FORMAT:
        raise InputError(meta_path, "format", f"expected {POLICY_FORMAT!r}")
    if not weights.is_file():
        raise InputError(weights, None, missing)
    if meta.get("sha256") != _sha256(weights):
        raise InputError(weights, None, "sha256 does not match the policy's JSON")
    try:
        net = make_scorer(NetConfig(**meta["net"]))
        net.load_state_dict(load_file(str(weights)))
        features = FeatureConfig(**meta["features"])
        period = int(meta["period"])
    except (KeyError, TypeError, RuntimeError, ValueError) as exc:
        raise InputError(meta_path, None, f"inconsistent policy: {exc}") from None
    net.eval()
    return net, features, period, meta


def save_training_state(
    folder: str | Path, net: CandidateScorer, opt: torch.optim.Optimizer, state: dict[str, Any]
) -> None:
    """Atomically write the resumable training state (module docstring)."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    _atomic_tensors(net.state_dict(), folder / "model.safetensors")
    osd = opt.state_dict()
    tensors: dict[str, torch.Tensor] = {}
    for idx, pstate in osd["state"].items():
        for name, value in pstate.items():
            tensors[f"state.{idx}.{name}"] = torch.as_tensor(value)
    _atomic_tensors(tensors, folder / "optim.safetensors")
    full = {
        **state,
        "param_groups": osd["param_groups"],
        "sha256": {
            "model.safetensors": _sha256(folder / "model.safetensors"),
            "optim.safetensors": _sha256(folder / "optim.safetensors"),
        },
    }
    _atomic_json(full, folder / "state.json")


def load_training_state(
    folder: str | Path, net: CandidateScorer, opt: torch.optim.Optimizer
) -> dict[str, Any]:
    """Restore ``net`` and ``opt`` in place; returns the JSON state."""
    folder = Path(folder)
    state = _read_json(folder / "state.json")
    for name, digest in state.get("sha256", {}).items():
        if not (folder / name).is_file() or _sha256(folder / name) != digest:
            raise InputError(folder / name, None, "missing or torn checkpoint file")
    net.load_state_dict(load_file(str(folder / "model.safetensors")))
    flat = load_file(str(folder / "optim.safetensors"))
    per_param: dict[int, dict[str, torch.Tensor]] = {}
    for key, value in flat.items():
        _, idx, name = key.split(".", 2)
        per_param.setdefault(int(idx), {})[name] = value
    opt.load_state_dict({"state": per_param, "param_groups": state["param_groups"]})
    return state
