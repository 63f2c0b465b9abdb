"""The result rows of ``python -m hierarchy.evaluate``: the networks a row was measured with,
and the checks before earlier rows (``--merge``) share a table with new ones.

A row of a config that runs a network records, under ``weights``, the files its parts loaded
(:mod:`warehouse.provenance`: by part, the checkpoint file and the full sha256 of its weights
and of its JSON). Rows written before that record name → the first 12 hex digits of the sha256
of every network the config might run (:func:`is_short_record`); they still merge with new
rows of the same networks (:func:`same_networks`)."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

from warehouse.errors import InputError
from warehouse.provenance import network_digest as _digest
from warehouse.provenance import network_file, same_network


def learned_parts(row: dict[str, Any]) -> set[str]:
    """The parts of a result row's config that run a network: ``dispatcher`` (PPO) and
    ``navigator`` (a learned one)."""
    from agents.registry import CHECKPOINT_NAVIGATORS

    parts = {"dispatcher"} if row.get("dispatcher") == "ppo" else set()
    if row.get("navigator") in {*CHECKPOINT_NAVIGATORS, "cql_tuned"}:
        parts.add("navigator")
    return parts


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
TEXT_FIELDS = ("scenario", "config", "dispatcher", "navigator", "collision_mode")
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
            if not isinstance(value, dict) or (key == "weights" and not _weights_record(value)):
                what = "networks and their sha256" if key == "weights" else "settings"
                return key, f"expected an object of {what}, got {value!r}"
        elif value is not None and (isinstance(value, bool) or not isinstance(value, int | float)):
            return key, f"expected a number or null, got {value!r}"
        elif isinstance(value, float) and not math.isfinite(value):
            return key, f"not a finite number: {value!r}"
    if "seen_in_training" not in row:  # (every row has it; the summary's headings read it)
        return "seen_in_training", "missing (expected true or false)"
    return None


def _weights_record(value: dict[str, Any]) -> bool:
    """Whether ``value`` is a ``weights`` record: by part, an object of texts (file and
    sha256), or, in older rows, network name → digest text."""
    return all(isinstance(v, str) for v in value.values()) or all(
        isinstance(v, dict) and all(isinstance(x, str) for x in v.values()) for v in value.values()
    )


def is_short_record(weights: dict[str, Any]) -> bool:
    """Whether a row's ``weights`` is of the older form: network name → the first 12 hex digits
    of its sha256 (and `` (K seeds)`` for an ensemble)."""
    return all(isinstance(v, str) for v in weights.values())


def network_digest(record: Any) -> str:
    """The sha256 a ``weights`` entry gives (:func:`warehouse.provenance.network_digest`: of
    the weights a part loaded, of the checkpoint given to a part that does not say what it
    loaded, of its JSON, or an older row's digest text); ``?`` where it gives none."""
    return _digest(record) or "?"


def network_name(part: str, record: Any) -> str:
    """How the summary and the errors name a ``weights`` entry: the part and its file
    (:func:`warehouse.provenance.network_file`; an older row's entries are named by network)."""
    if isinstance(record, str):
        return part
    return f"{part} {network_file(record) or '?'}"


def same_networks(a: dict[str, Any], b: dict[str, Any]) -> bool:
    """Whether two rows' ``weights`` records say the same networks: the same parts, each of
    the same network (:func:`warehouse.provenance.same_network`: the same digests, whatever
    folder the row was measured from); or, with one of the older form
    (:func:`is_short_record`), every network of the newer one among its digests (it named
    every network the config might run)."""
    if is_short_record(a) and is_short_record(b):
        return a == b
    if not (is_short_record(a) or is_short_record(b)):
        return a.keys() == b.keys() and all(same_network(a[k], b[k]) for k in a)
    old, new = (a, b) if is_short_record(a) else (b, a)
    digests = {v[:12] for v in old.values()}
    return all(network_digest(r)[:12] in digests for r in new.values())


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
                if not same_networks(then[1], row["weights"]):
                    now, was = _weights_diff(row["weights"], then[1])
                    raise InputError(origin, f"{key[0]} / {key[1]}", f"measured with {now}, "
                                     f"but {then[0]} has it with {was}")  # fmt: skip
            run = (key[0], key[1], row["seed"])
            if (where := seeds.get(run)) is not None:
                again = "appears twice" if where == i else f"is also in {origins[where][0]}"
                raise InputError(origin, f"{key[0]} / {key[1]}", f"seed {row['seed']} {again}")
            seeds[run] = i


def _weights_diff(a: dict[str, Any], b: dict[str, Any]) -> tuple[str, str]:
    """The entries where two ``weights`` records differ, as text for each side (all of them
    where one record is of the older form)."""
    keys = [k for k in dict.fromkeys([*a, *b]) if not same_network(a.get(k), b.get(k))]

    def text(w: dict[str, Any]) -> str:
        shown = [k for k in keys if k in w] if is_short_record(a) != is_short_record(b) else keys
        return ", ".join(
            f"{network_name(k, w[k])} `{network_digest(w[k])}`" if k in w else f"{k} `none`"
            for k in shown
        )

    return text(a), text(b)


def _setup_text(setup: dict[str, Any]) -> str:
    return ", ".join(f"{k} {json.dumps(v, sort_keys=True)}" for k, v in setup.items()) or "no setup"
