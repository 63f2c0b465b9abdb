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

Loading checks every part against what it is loaded into (a tensor of another shape or dtype,
a missing or stray tensor, an Adam state that does not fit, a ``net``/``features``/``period``
of the wrong type or inconsistent with each other): each is an
:class:`~warehouse.errors.InputError` naming the file and field.
"""

from __future__ import annotations

import json
from dataclasses import asdict, fields
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load, save

from agents.checkpoint import library_versions, load_module, load_optimizer
from warehouse.atomic import sha256_file, write_bytes_atomic, write_text_atomic
from warehouse.errors import InputError
from warehouse.jsonio import read_json_object

from .features import N_GLOBAL, FeatureConfig
from .network import CandidateScorer, NetConfig, Scorer, make_scorer
from .settings import checked_dataclass

POLICY_FORMAT = "warehouse-ppo-dispatcher/1"


_sha256 = sha256_file


def _atomic_tensors(tensors: dict[str, torch.Tensor], path: Path) -> None:
    write_bytes_atomic(path, save({k: v.detach().contiguous().cpu() for k, v in tensors.items()}))


def _read_tensors(path: Path) -> dict[str, torch.Tensor]:
    """The tensors of a safetensors file; an unreadable one is an :class:`InputError`."""
    try:
        return load(path.read_bytes())
    except Exception as exc:  # safetensors raises its own error types on garbage
        raise InputError(path, None, f"cannot read safetensors: {exc}") from None


def _net_config(meta: dict[str, Any], source: Path) -> NetConfig:
    """The policy's ``net`` section: positive integer sizes, ``n_global`` the features'."""
    data = meta.get("net")
    if not isinstance(data, dict):
        raise InputError(source, "net", "missing or not an object")
    names = {f.name for f in fields(NetConfig)}
    if unknown := sorted(set(data) - names):
        raise InputError(source, f"net.{unknown[0]}", "unknown setting")
    for key, value in data.items():
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise InputError(source, f"net.{key}", f"expected an integer ≥ 1, got {value!r}")
    cfg = NetConfig(**data)
    if cfg.n_global != N_GLOBAL:
        raise InputError(source, "net.n_global", f"{cfg.n_global}, the features have {N_GLOBAL}")
    return cfg


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
    cfg = _net_config(meta, meta_path)
    features = checked_dataclass(FeatureConfig, meta.get("features"), meta_path, "features")
    if features.n_cand != cfg.n_cand:
        raise InputError(
            meta_path, "net.n_cand", f"{cfg.n_cand}, the features give {features.n_cand}"
        )
    period = meta.get("period")
    if isinstance(period, bool) or not isinstance(period, int) or period < 1:
        raise InputError(meta_path, "period", f"expected an integer ≥ 1, got {period!r}")
    net = make_scorer(cfg)
    load_module(net, "", _read_tensors(weights), weights)
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
    digests = state.get("sha256")
    files = ("model.safetensors", "optim.safetensors")
    if not isinstance(digests, dict) or sorted(digests) != sorted(files):
        raise InputError(folder / "state.json", "sha256", f"expected the hashes of {files}")
    for name in files:
        if not (folder / name).is_file() or _sha256(folder / name) != digests[name]:
            raise InputError(folder / name, None, "missing or torn checkpoint file")
    model = folder / "model.safetensors"
    load_module(net, "", _read_tensors(model), model)
    optim = folder / "optim.safetensors"
    moments = _read_tensors(optim)
    if stray := sorted(k for k in moments if not k.startswith("state.")):
        raise InputError(optim, stray[0], "unexpected tensor")
    groups = state.get("param_groups")
    load_optimizer(opt, moments, "state", groups, optim, folder / "state.json", "param_groups")
    return state
