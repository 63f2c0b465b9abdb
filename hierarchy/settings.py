"""``--set KEY=VALUE`` of dispatcher training: dotted keys into ``TrainConfig``.

Every field without a flag of its own can be set, for example the reward weights
(``weights.delay=0.002``), PPO's hyperparameters (``ppo.clip_eps=0.1``), the domain
randomization (``randomize.arrival=[0.5, 2.0]``) or the candidate pool
(``features.lookahead=8``). Values are read as YAML and checked against the field's type and
range; a bad one is an :class:`~warehouse.errors.InputError` naming ``--set KEY``.
"""

from __future__ import annotations

import dataclasses
import math
import typing
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import TypeAdapter, ValidationError

from warehouse.errors import InputError

#: Fields that have a flag of their own on ``warehouse train-dispatcher``.
FLAGGED = {
    "scenarios": "TARGET",
    "navigator": "--navigator",
    "collisions": "--collisions",
    "total_steps": "--steps",
    "n_envs": "--envs",
    "horizon": "--horizon",
    "period": "--period",
    "seed": "--seed",
    "hidden": "--hidden",
    "features.routes": "--routes",
    "ppo.lr": "--lr",
    "imitation_episodes": "--imitation",
    "task_swaps": "--task-swaps",
    "anticipate": "--anticipate",
    "eval_every": "--eval-every",
    "eval_seeds": "--eval-seeds",
    "eval_steps": "--eval-steps",
}


def settable_keys(cls: type) -> dict[str, Any]:
    """``{dotted key: type}`` of every field of dataclass ``cls`` and its nested dataclasses."""
    out: dict[str, Any] = {}
    hints = typing.get_type_hints(cls)
    for f in dataclasses.fields(cls):
        hint = hints[f.name]
        if dataclasses.is_dataclass(hint):
            out.update({f"{f.name}.{k}": t for k, t in settable_keys(hint).items()})  # type: ignore[arg-type]
        else:
            out[f.name] = hint
    return out


def apply_settings(cfg: Any, items: dict[str, Any]) -> Any:
    """``cfg`` (a frozen dataclass) with the dotted ``items`` replaced, type- and range-checked."""
    keys = settable_keys(type(cfg))
    for key, raw in items.items():
        flag = f"--set {key}"
        if key in FLAGGED:
            raise InputError(None, flag, f"use {FLAGGED[key]} instead")
        if key not in keys:
            known = ", ".join(k for k in keys if k not in FLAGGED)
            raise InputError(None, flag, f"unknown setting; known: {known}")
        value = checked_value(keys[key], raw, None, flag)
        try:
            cfg = _replace_dotted(cfg, key.split("."), value)
        except ValueError as exc:
            raise InputError(None, flag, str(exc)) from None
    return cfg


def checked_value(hint: Any, raw: Any, source: str | Path | None, field: str) -> Any:
    """``raw`` (a YAML or JSON value) as a field of type ``hint``, strictly: no text for
    numbers, no ``true``/``false`` for numbers nor numbers for flags, no NaN or infinity; a list
    for a tuple and a whole float for an integer (``8.0``, ``1e3``) are accepted. Else an
    :class:`~warehouse.errors.InputError` naming ``field`` of ``source``."""
    value = tuple(raw) if isinstance(raw, list) else raw  # (YAML and JSON have no tuples)
    if hint in (int, int | None) and isinstance(raw, float) and raw.is_integer():
        value = int(raw)
    try:
        value = TypeAdapter(hint).validate_python(value, strict=True)
    except ValidationError as exc:
        msg = exc.errors()[0]["msg"]
        raise InputError(source, field, f"{raw!r}: {msg}") from None
    for number in value if isinstance(value, tuple) else (value,):
        if isinstance(number, float) and not math.isfinite(number):
            raise InputError(source, field, f"expected a finite number, got {number}")
    return value


def _replace_dotted(obj: Any, path: list[str], value: Any) -> Any:
    if len(path) == 1:
        return dataclasses.replace(obj, **{path[0]: value})
    inner = _replace_dotted(getattr(obj, path[0]), path[1:], value)
    return dataclasses.replace(obj, **{path[0]: inner})


def checked_dataclass(
    cls: type,
    data: Any,
    source: str | Path | None,
    field: str,
    missing: Mapping[str, Any] | None = None,
) -> Any:
    """A ``cls`` (a frozen dataclass, nested ones included) from the JSON object ``data`` of
    ``source`` (a saved config), every value checked against its field's type (strictly: no
    text for numbers, no numbers for flags) and range. A field ``data`` lacks takes its value
    from ``missing``, else the default (a dotted key ``"inner.name"`` of ``missing`` serves
    the nested dataclass ``inner``); an unknown key, a wrong type or a value out of range is an
    :class:`~warehouse.errors.InputError` naming ``field.KEY``."""
    if not isinstance(data, dict):
        raise InputError(source, field, f"expected an object, got {type(data).__name__}")
    hints = typing.get_type_hints(cls)
    names = [f.name for f in dataclasses.fields(cls)]
    if unknown := [key for key in data if key not in names]:
        raise InputError(source, f"{field}.{unknown[0]}", "unknown setting")
    kw: dict[str, Any] = {}
    for name in names:
        hint = hints[name]
        inner = {
            key.removeprefix(f"{name}."): value
            for key, value in (missing or {}).items()
            if key.startswith(f"{name}.")
        }
        if name not in data:
            if missing and name in missing:
                kw[name] = missing[name]
            elif inner and dataclasses.is_dataclass(hint):
                kw[name] = checked_dataclass(hint, {}, source, f"{field}.{name}", inner)  # type: ignore[arg-type]
            continue
        raw = data[name]
        if dataclasses.is_dataclass(hint):
            kw[name] = checked_dataclass(hint, raw, source, f"{field}.{name}", inner)  # type: ignore[arg-type]
            continue
        kw[name] = checked_value(hint, raw, source, f"{field}.{name}")
    try:
        return cls(**kw)
    except (ValueError, TypeError) as exc:
        raise InputError(source, field, str(exc)) from None
