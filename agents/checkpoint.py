"""Checkpoints of learned navigators: safetensors weights + a JSON sidecar, no pickle.

A checkpoint ``STEM`` is two files written atomically (temp file + ``os.replace``; the JSON last,
so a JSON always describes a complete weights file)::

    STEM.safetensors   tensors: model.* (online network), and for training checkpoints
                       target.* (CQL target network) and optim.<param>.<key> (Adam state)
    STEM.json          {"format": "warehouse-navigator", "format_version": 1, "algo": "cql"|"bc",
                        "kind": "training"|"weights", "config": {... incl. "network"},
                        "observation": {"radius", "intent"} (the ObservationConfig the network
                        reads; older checkpoints without it read the default layout),
                        "step": int, "optimizer": {"param_groups": [...]},
                        "rng": {"torch": [bytes...], "sampler": numpy bit-generator state},
                        "versions": {"warehouse", "torch", "safetensors"},
                        "weights_sha256": sha256 of STEM.safetensors, "extra": {...}}

A ``weights`` checkpoint (what ships in ``agents/weights/``) holds only ``model.*``. Any defect
— missing or truncated file, garbled safetensors, bad JSON, unknown algo, missing keys, a
config value of the wrong type, a tensor of another shape or dtype, an Adam state that does not
fit the network, a hash that does not match — raises :class:`~warehouse.errors.InputError`.
``torch.load`` is never used.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import torch

from warehouse.atomic import write_bytes_atomic
from warehouse.errors import InputError
from warehouse.jsonio import read_json_object

FORMAT = "warehouse-navigator"
FORMAT_VERSION = 1


def algorithms() -> dict[str, tuple[Any, Any]]:
    """algo name -> (config class, algorithm class)."""
    from .bc import BC, BCConfig
    from .cql import CQL, CQLConfig

    return {"cql": (CQLConfig, CQL), "bc": (BCConfig, BC)}


def resolve(path: str | Path) -> Path:
    """The stem of a checkpoint given its stem, its ``.json`` or its ``.safetensors`` path."""
    p = Path(path)
    return p.with_suffix("") if p.suffix in (".json", ".safetensors") else p


def _atomic_write(path: Path, data: bytes) -> None:
    write_bytes_atomic(path, data)


def library_versions() -> dict[str, str]:
    """Versions of the packages that shape a trained network's bits (recorded in checkpoints)."""
    import safetensors

    import warehouse

    return {
        "warehouse": warehouse.__version__,
        "torch": torch.__version__,
        "safetensors": safetensors.__version__,
    }


# ------------------------------------------------------------------------------- saving
def optimizer_tensors(optim: torch.optim.Optimizer) -> tuple[dict[str, torch.Tensor], list]:
    """Flatten an optimiser's state into ``optim.<param>.<key>`` tensors + JSON param groups."""
    sd = optim.state_dict()
    tensors = {
        f"optim.{idx}.{key}": torch.as_tensor(val).detach().cpu().contiguous()
        for idx, st in sd["state"].items()
        for key, val in st.items()
    }
    return tensors, sd["param_groups"]


def save_checkpoint(
    stem: str | Path,
    algo: Any,
    *,
    step: int,
    training: bool = True,
    rng: dict[str, Any] | None = None,
    extra: dict[str, Any] | None = None,
) -> Path:
    """Write ``stem.safetensors`` + ``stem.json`` for ``algo`` (a :class:`~agents.cql.CQL` or
    :class:`~agents.bc.BC`). ``training=False`` keeps only the online network."""
    from safetensors.torch import save

    stem = resolve(stem)
    stem.parent.mkdir(parents=True, exist_ok=True)
    mods = algo.modules() if training else {"model": algo.net}
    tensors = {
        f"{name}.{k}": v.detach().cpu().contiguous()
        for name, mod in mods.items()
        for k, v in mod.state_dict().items()
    }
    groups: list = []
    if training:
        opt, groups = optimizer_tensors(algo.optim)
        tensors.update(opt)
    blob = save(tensors)
    meta = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "algo": algo.name,
        "kind": "training" if training else "weights",
        "config": algo.config.to_json(),
        "observation": algo.config.network.observation.model_dump(),
        "step": int(step),
        "optimizer": {"param_groups": groups},
        "rng": rng or {},
        "versions": library_versions(),
        "weights_sha256": hashlib.sha256(blob).hexdigest(),
        "extra": extra or {},
    }
    _atomic_write(stem.with_suffix(".safetensors"), blob)
    _atomic_write(stem.with_suffix(".json"), json.dumps(meta, indent=1).encode())
    return stem


# ------------------------------------------------------------------------------- loading
def read_checkpoint(path: str | Path) -> tuple[dict[str, Any], dict[str, torch.Tensor]]:
    """Validated ``(meta, tensors)`` of a checkpoint."""
    from safetensors.torch import load

    stem = resolve(path)
    jpath, wpath = stem.with_suffix(".json"), stem.with_suffix(".safetensors")
    if not jpath.is_file():
        raise InputError(jpath, None, "checkpoint file not found")
    meta = read_json_object(jpath)  # (a damaged or other .json is named before its companion)
    if meta.get("format") != FORMAT or meta.get("format_version") != FORMAT_VERSION:
        raise InputError(jpath, "format", f"not a {FORMAT} v{FORMAT_VERSION} checkpoint")
    if not wpath.is_file():
        raise InputError(wpath, None, f"checkpoint weights not found (beside {jpath.name})")
    for key, typ in (("algo", str), ("kind", str), ("config", dict), ("step", int)):
        if not isinstance(meta.get(key), typ) or isinstance(meta.get(key), bool):
            raise InputError(jpath, key, "missing or wrong type")
    if meta["step"] < 0:
        raise InputError(jpath, "step", f"expected a count ≥ 0, got {meta['step']}")
    if meta["algo"] not in algorithms():
        raise InputError(jpath, "algo", f"unknown algorithm {meta['algo']!r}")
    blob = wpath.read_bytes()
    if hashlib.sha256(blob).hexdigest() != meta.get("weights_sha256"):
        raise InputError(wpath, "weights_sha256", "weights do not match the JSON (damaged file?)")
    try:
        tensors = load(blob)
    except Exception as exc:  # safetensors raises its own error types on garbage
        raise InputError(wpath, None, f"cannot read safetensors: {exc}") from None
    return meta, tensors


def _config(meta: dict[str, Any], source: Path) -> Any:
    cfg_cls, _ = algorithms()[meta["algo"]]
    try:
        return cfg_cls.from_json(meta["config"])
    except (TypeError, ValueError, KeyError) as exc:
        raise InputError(source, "config", f"invalid configuration: {exc}") from None


def load_module(mod: torch.nn.Module, prefix: str, tensors: dict, source: Path) -> None:
    """Load ``mod`` from the ``prefix.*`` entries of a checkpoint's ``tensors`` (all of them for
    ``prefix=""``); a missing, unexpected, mis-shaped or other-dtype tensor is an
    :class:`InputError` naming it."""
    head = f"{prefix}." if prefix else ""
    sd = {k[len(head) :]: v for k, v in tensors.items() if k.startswith(head)}
    want = mod.state_dict()
    missing = sorted(set(want) - set(sd))
    if missing:
        raise InputError(source, f"{head}{missing[0]}", "missing tensor")
    extra = sorted(set(sd) - set(want))
    if extra:
        raise InputError(source, f"{head}{extra[0]}", "unexpected tensor")
    for k, v in sd.items():
        _check_tensor(v, want[k].shape, want[k].dtype, source, f"{head}{k}")
    mod.load_state_dict(sd)


def _check_tensor(
    value: torch.Tensor, shape: tuple[int, ...], dtype: torch.dtype, source: Path, name: str
) -> None:
    """A tensor of a checkpoint must have exactly the shape and dtype it is loaded into (torch
    would silently convert another dtype)."""
    if value.shape != shape:
        raise InputError(source, name, f"shape {tuple(value.shape)}, expected {tuple(shape)}")
    if value.dtype != dtype:
        raise InputError(source, name, f"dtype {value.dtype}, expected {dtype}")


def load_optimizer(
    optim: torch.optim.Optimizer,
    tensors: dict[str, torch.Tensor],
    prefix: str,
    groups: Any,
    source: Path,
    meta_path: Path,
    groups_field: str = "optimizer.param_groups",
) -> None:
    """Restore an Adam optimiser from the ``prefix.<param>.<key>`` entries of ``tensors`` (see
    :func:`optimizer_tensors`) and the parameter ``groups`` (``groups_field``) of its JSON
    ``meta_path``. A state
    that does not fit the parameters (unknown, missing or mis-shaped tensors, hyper-parameters
    of the wrong type) is an :class:`InputError` naming it, not a failure at the first update."""
    params = [p for group in optim.param_groups for p in group["params"]]
    fresh = optim.state_dict()["param_groups"]
    if not isinstance(groups, list) or len(groups) != len(fresh):
        raise InputError(meta_path, groups_field, f"expected {len(fresh)} group(s)")
    for i, (got, want) in enumerate(zip(groups, fresh, strict=True)):
        if not isinstance(got, dict):
            raise InputError(meta_path, f"{groups_field}.{i}", "expected an object")
        for key in sorted(set(got) & set(want) - {"params"}):  # (torch fills in missing ones)
            if not _same_kind(got[key], want[key]):
                field = f"{groups_field}.{i}.{key}"
                raise InputError(meta_path, field, f"{got[key]!r}, expected {want[key]!r}")
    amsgrad = any(group.get("amsgrad") for group in groups)
    keys = {"step", "exp_avg", "exp_avg_sq"} | ({"max_exp_avg_sq"} if amsgrad else set())
    state: dict[int, dict[str, torch.Tensor]] = {}
    for name, value in tensors.items():
        if not name.startswith(prefix + "."):
            continue
        idx, _, key = name[len(prefix) + 1 :].partition(".")
        if not idx.isdigit() or int(idx) >= len(params) or key not in keys:
            raise InputError(source, name, "unexpected tensor")
        param = params[int(idx)]
        shape, dtype = ((), value.dtype) if key == "step" else (param.shape, param.dtype)
        _check_tensor(value, shape, dtype, source, name)
        state.setdefault(int(idx), {})[key] = value.to(param.device) if key != "step" else value
    for number, entries in sorted(state.items()):
        if missing := sorted(keys - set(entries)):
            raise InputError(source, f"{prefix}.{number}.{missing[0]}", "missing tensor")
    try:
        optim.load_state_dict({"state": state, "param_groups": groups})
    except (ValueError, KeyError, TypeError, RuntimeError) as exc:
        raise InputError(source, prefix, f"optimizer state does not fit: {exc}") from None


def _same_kind(got: Any, want: Any) -> bool:
    """A JSON value ``got`` can stand for the optimiser's own setting ``want``: a number for a
    number, a flag for a flag (or an unset flag), a list of as many such for a pair."""
    if isinstance(want, bool) or want is None:
        return got is None or isinstance(got, bool)
    if isinstance(want, int | float):
        return isinstance(got, int | float) and not isinstance(got, bool)
    if isinstance(want, tuple | list):
        return (
            isinstance(got, list | tuple)
            and len(got) == len(want)
            and all(_same_kind(g, w) for g, w in zip(got, want, strict=True))
        )
    return True


def _check_observation(meta: dict[str, Any], network: Any, source: Path) -> None:
    """The recorded observation layout must be the one the network reads."""
    from pydantic import ValidationError

    from warehouse.config import ObservationConfig

    if "observation" not in meta:
        return  # written before layouts were recorded: the network config says it all
    try:
        recorded = ObservationConfig.model_validate(meta["observation"])
    except ValidationError as exc:
        msg = exc.errors()[0]["msg"]
        raise InputError(source, "observation", f"invalid observation layout: {msg}") from None
    if recorded != network.observation:
        raise InputError(
            source,
            "observation",
            f"layout {recorded.model_dump()} does not match the network "
            f"{network.observation.model_dump()}",
        )


def load_algorithm(path: str | Path, *, device: str | torch.device = "cpu") -> tuple[Any, dict]:
    """Rebuild a training algorithm (networks, target, optimiser) from a training checkpoint."""
    meta, tensors = read_checkpoint(path)
    stem = resolve(path)
    src = stem.with_suffix(".safetensors")
    if meta["kind"] != "training":
        raise InputError(stem.with_suffix(".json"), "kind", "not a training checkpoint")
    _, algo_cls = algorithms()[meta["algo"]]
    algo = algo_cls(_config(meta, stem.with_suffix(".json")), device=device)
    _check_observation(meta, algo.config.network, stem.with_suffix(".json"))
    for name, mod in algo.modules().items():
        load_module(mod, name, tensors, src)
    optimizer = meta.get("optimizer")
    groups = optimizer.get("param_groups") if isinstance(optimizer, dict) else None
    load_optimizer(algo.optim, tensors, "optim", groups, src, stem.with_suffix(".json"))
    algo.updates = meta["step"]
    return algo, meta


def load_network(path: str | Path, *, device: str | torch.device = "cpu") -> tuple[Any, dict]:
    """``(NavigatorNet in eval mode, meta)`` from any checkpoint (training or weights)."""
    from .networks import NavigatorNet

    meta, tensors = read_checkpoint(path)
    stem = resolve(path)
    cfg = _config(meta, stem.with_suffix(".json"))
    net = NavigatorNet(cfg.network)
    _check_observation(meta, cfg.network, stem.with_suffix(".json"))
    load_module(net, "model", tensors, stem.with_suffix(".safetensors"))
    return net.to(device).eval(), meta
