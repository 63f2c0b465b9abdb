"""The result rows of ``python -m hierarchy.evaluate``: the networks a row was measured with,
and the checks before earlier rows (``--merge``) share a table with new ones."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

from warehouse.errors import InputError, display_path

#: the shipped networks each part of a config may run
SHIPPED = {"dispatcher": ("ppo_dispatcher",), "navigator": ("cql", "cql_pibt", "cql_physical")}


def weights_used(sets: dict[str, Any] | None = None) -> dict[str, str]:
    """Name → first 12 hex digits of the sha256 of each network this evaluation may run (the PPO
    dispatcher, the navigator networks), read from their JSON files: the shipped ones, and the
    checkpoints that ``sets`` (``--set``) give (``policies.dispatcher_checkpoint``,
    ``policies.navigator_checkpoint``), which the parts that load one run instead
    (:func:`with_weights`)."""
    from agents.learned import DEFAULT_WEIGHTS as NAV_WEIGHTS

    from .ppo_dispatcher import DEFAULT_WEIGHTS

    files = {"ppo_dispatcher": DEFAULT_WEIGHTS}
    files |= {n: NAV_WEIGHTS / f"{n}.json" for n in SHIPPED["navigator"]}
    out = {name: digest for name, path in files.items() if (digest := _digest(path))}
    for part in SHIPPED:
        if value := (sets or {}).get(key := f"policies.{part}_checkpoint"):
            out[f"{key} {display_path(value)}"] = _digest(Path(value)) or "?"
    return out


def _digest(path: Path) -> str | None:
    """The first 12 hex digits of a network JSON's weights sha256, and its seed count when it
    is an ensemble; None when the file is missing."""
    from warehouse.jsonio import read_json_object

    if not path.is_file():
        return None
    meta = read_json_object(path)
    digest = meta.get("sha256") or meta.get("weights_sha256") or "?"
    members = meta.get("net", {}).get("members", 1)
    return str(digest)[:12] + (f" ({members} seeds)" if members > 1 else "")


def learned_parts(row: dict[str, Any]) -> set[str]:
    """The parts of a result row's config that run a network: ``dispatcher`` (PPO) and
    ``navigator`` (a learned one)."""
    from agents.registry import CHECKPOINT_NAVIGATORS

    parts = {"dispatcher"} if row.get("dispatcher") == "ppo" else set()
    if row.get("navigator") in {*CHECKPOINT_NAVIGATORS, "cql_tuned"}:
        parts.add("navigator")
    return parts


def checkpoint_parts(row: dict[str, Any]) -> set[str]:
    """The parts of a result row's config that load a ``policies.<part>_checkpoint`` when one
    is given (``cql_tuned`` runs its shipped networks regardless)."""
    from agents.registry import CHECKPOINT_NAVIGATORS

    parts = {"dispatcher"} if row.get("dispatcher") == "ppo" else set()
    return parts | ({"navigator"} if row.get("navigator") in CHECKPOINT_NAVIGATORS else set())


def with_weights(row: dict[str, Any], weights: dict[str, str]) -> dict[str, Any]:
    """``row`` with the networks its config loads, out of those of its run
    (:func:`weights_used`): a part that loads a checkpoint given with ``--set`` records that
    one, other learned parts the shipped networks; so rows merged into later tables still say
    what they measured. Rows of configs without networks record none."""
    learned, loads = learned_parts(row), checkpoint_parts(row)
    given = {p for p in SHIPPED if any(k.startswith(f"policies.{p}_") for k in weights)}
    used = {}
    for key, digest in weights.items():
        part = next(p for p in SHIPPED if key in SHIPPED[p] or key.startswith(f"policies.{p}_"))
        checkpoint = key.startswith("policies.")
        if part in learned and (checkpoint if part in given & loads else not checkpoint):
            used[key] = digest
    return {**row, "weights": used} if used else row


#: Row fields that must agree between the seeds of one (scenario, config) for their mean to
#: mean anything (a missing flag and an unset one are the same).
SETUP_FIELDS = ("steps", "settings", "lookahead", "max_order_age", "anticipate", "task_swaps",
                "park_idle")  # fmt: skip


def row_setup(row: dict[str, Any]) -> dict[str, Any]:
    """The :data:`SETUP_FIELDS` of a result row, unset ones left out."""
    return {k: row[k] for k in SETUP_FIELDS if row.get(k) not in (None, False, {})}


def read_rows(path: Path) -> list[dict[str, Any]]:
    """The rows of an earlier ``results.json``; a one-line :class:`InputError` naming the row and
    field if it cannot be read or is not a list of result rows (:func:`check_row`)."""
    from warehouse.jsonio import loads_json_strict

    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise InputError(path, "file", f"cannot read: {exc.strerror or exc}") from None
    except UnicodeDecodeError:
        raise InputError(path, "file", "not UTF-8 text") from None
    rows = loads_json_strict(text, path)
    if not isinstance(rows, list) or not rows:
        raise InputError(path, "rows", "expected a non-empty list of result rows")
    for i, row in enumerate(rows):
        if problem := check_row(row):
            field, message = problem
            raise InputError(path, f"row {i}" + (f" {field}" if field else ""), message)
    return rows


#: Result-row fields that are not numbers: names, flags, and the ``--set`` settings and networks
#: (objects). Every other field is a KPI or a dispatch setting: a number, or null.
TEXT_FIELDS = ("scenario", "config", "dispatcher", "navigator")
FLAG_FIELDS = ("seen_in_training", "anticipate", "task_swaps")
OBJECT_FIELDS = ("settings", "weights")


def check_row(row: Any) -> tuple[str | None, str] | None:
    """What is wrong with a result row, as (field, message), or None: a row is an object with a
    ``scenario`` and a ``config`` (text), a ``seed`` (a whole number ≥ 0), ``seen_in_training``
    (true or false) and, where given, ``steps`` (a whole number ≥ 1); the other fields are
    what :data:`TEXT_FIELDS`, :data:`FLAG_FIELDS` and :data:`OBJECT_FIELDS` say, or finite
    numbers or null (what the summary reads)."""
    if not isinstance(row, dict):
        return None, "not a result row (expected an object)"
    if missing := [k for k in ("scenario", "config", "seed") if k not in row]:
        return None, f"not a result row (no {', '.join(missing)})"
    for key in TEXT_FIELDS:
        if key in row and (not isinstance(row[key], str) or not row[key]):
            return key, f"expected a name, got {row[key]!r}"
    for key, low in (("seed", 0), ("steps", 1)):
        value = row.get(key, low)
        if isinstance(value, bool) or not isinstance(value, int) or value < low:
            return key, f"expected a whole number ≥ {low}, got {value!r}"
    for key, value in row.items():
        if key in TEXT_FIELDS:
            continue
        if key in FLAG_FIELDS:
            if not isinstance(value, bool):
                return key, f"expected true or false, got {value!r}"
        elif key in OBJECT_FIELDS:
            if not isinstance(value, dict) or (key == "weights" and not all(
                isinstance(v, str) for v in value.values()
            )):  # fmt: skip
                what = "networks and their sha256" if key == "weights" else "settings"
                return key, f"expected an object of {what}, got {value!r}"
        elif value is not None and (isinstance(value, bool) or not isinstance(value, int | float)):
            return key, f"expected a number or null, got {value!r}"
        elif isinstance(value, float) and not math.isfinite(value):
            return key, f"not a finite number: {value!r}"
    if "seen_in_training" not in row:  # (every row has it; the summary's headings read it)
        return "seen_in_training", "missing (expected true or false)"
    return None


def check_mergeable(origins: list[tuple[str, list[dict[str, Any]]]]) -> None:
    """Refuse rows that cannot share a table: a (scenario, config) run under two setups
    (:func:`row_setup`: steps, ``--set`` settings, dispatch flags) or with two recorded sets of
    networks (rows that record none pass), or the same seed twice. ``origins`` pairs where rows
    come from (a file, "this run") with the rows."""
    setups: dict[tuple[str, str], tuple[str, dict[str, Any]]] = {}
    networks: dict[tuple[str, str], tuple[str, dict[str, str]]] = {}
    seeds: dict[tuple[str, str, int], int] = {}  # → index into origins
    for i, (origin, rows) in enumerate(origins):
        for row in rows:
            key, setup = (row["scenario"], row["config"]), row_setup(row)
            first = setups.setdefault(key, (origin, setup))
            if first[1] != setup:
                raise InputError(origin, f"{key[0]} / {key[1]}", f"run with {_setup_text(setup)}, "
                                 f"but {first[0]} has it with {_setup_text(first[1])}")  # fmt: skip
            if row.get("weights"):
                then = networks.setdefault(key, (origin, row["weights"]))
                if then[1] != row["weights"]:
                    now, was = _weights_diff(row["weights"], then[1])
                    raise InputError(origin, f"{key[0]} / {key[1]}", f"measured with {now}, "
                                     f"but {then[0]} has it with {was}")  # fmt: skip
            run = (key[0], key[1], row["seed"])
            if (where := seeds.get(run)) is not None:
                again = "appears twice" if where == i else f"is also in {origins[where][0]}"
                raise InputError(origin, f"{key[0]} / {key[1]}", f"seed {row['seed']} {again}")
            seeds[run] = i


def _weights_diff(a: dict[str, str], b: dict[str, str]) -> tuple[str, str]:
    """The entries where two ``weights`` records differ, as text for each side."""
    keys = [k for k in dict.fromkeys([*a, *b]) if a.get(k) != b.get(k)]

    def text(w: dict[str, str]) -> str:
        return ", ".join(f"{k} `{w.get(k, 'none')}`" for k in keys)

    return text(a), text(b)


def _setup_text(setup: dict[str, Any]) -> str:
    return ", ".join(f"{k} {json.dumps(v, sort_keys=True)}" for k, v in setup.items()) or "no setup"
