"""Evaluate dispatcher / navigator / shield combinations over scenarios × seeds.

``python -m hierarchy.evaluate --out docs/results_hierarchy --seeds 10 --steps 400 --jobs 2``
runs every configuration of :data:`DEFAULT_CONFIGS` (or ``--configs``) on every scenario of
:data:`SCENARIOS` and writes ``results.json`` (one row per run) and ``summary.md`` (means ± standard
deviations, and the target ratios). ``--lookahead N`` gives every dispatcher that takes one (greedy,
Hungarian, PPO) an order pool of the oldest N × deciding robots open orders instead of their default
4 (the throughput vs order-age dial of docs/results.md); ``--max-order-age S`` wraps every
dispatcher in the starvation guard and ``--task-swaps`` in task swaps (:mod:`hierarchy.swaps`).
``--jobs`` spreads the runs over processes; every run is deterministic given its seed, so the rows
do not depend on it. ``NAV`` stands for the hierarchy's navigator
(:func:`hierarchy.shadow.hierarchical_parts`: ``cql_tuned`` when its weights load: the network
fine-tuned under PIBT in the ``pibt`` columns, the one fine-tuned without a shield in ``physical``
mode; the table says which was used). Rows of configs with a network record the sha256 of the
networks they loaded (``weights``); ``--merge FILE`` adds earlier rows to the table and refuses
rows that cannot share it (another setup, other networks, a seed twice)."""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, NoReturn, cast

import numpy as np

from warehouse.core import Simulation
from warehouse.errors import InputError, display_path
from warehouse.fleet import Fleet
from warehouse.kpis import compute_kpis

SHARED_MAPS = Path(__file__).resolve().parents[2] / "shared" / "maps"
TRAIN_WIDE = str(Path(__file__).resolve().parent / "scenarios" / "train_wide.yaml")

#: name, path or built-in, seen in training?, overrides
SCENARIOS: list[tuple[str, str, bool, dict[str, Any]]] = [
    ("train_wide", TRAIN_WIDE, True, {}),
    ("small", "small", False, {}),
    ("one_way_aisles", "one_way_aisles", False, {}),
    ("faults", "faults", False, {}),
    ("lorr_warehouse_small", str(SHARED_MAPS / "lorr" / "warehouse_small.map"), False, {}),
    # Peak hour: the small floor at 4x its arrival rate (saturated; dispatching matters).
    ("small_peak", "small", False, {"tasks.arrival_rate": 1.0}),
    # Capacity regime (``--scenarios`` only; not in the default set): every layout at an arrival
    # rate its rule-based fleet cannot keep up with, so throughput measures capacity.
    ("train_wide_peak", TRAIN_WIDE, True, {"tasks.arrival_rate": 3.2}),
    ("one_way_peak", "one_way_aisles", False, {"tasks.arrival_rate": 1.2}),
    ("faults_peak", "faults", False, {"tasks.arrival_rate": 1.0}),
    ("medium", "medium", False, {}),
    # ``medium`` as shipped keeps up (1.0 orders/s: no order waits at the end, utilisation
    # 0.87 over 1,200 steps); at 2x its orders queue.
    ("medium_peak", "medium", False, {"tasks.arrival_rate": 2.0}),
    # The built-in 1,200-robot floor as shipped (orders queue under every fleet).
    ("large", "large", False, {}),
    # RHCR's kiva map (picks and stations inferred), 100 robots, orders queuing.
    (
        "kiva_peak",
        str(SHARED_MAPS / "rhcr" / "kiva.map"),
        False,
        {"fleet.robots": 100, "tasks.arrival_rate": 4.0},
    ),
]
#: The scenarios run without ``--scenarios`` (the table of docs/results.md).
DEFAULT_SCENARIOS = (
    "train_wide",
    "small",
    "one_way_aisles",
    "faults",
    "lorr_warehouse_small",
    "small_peak",
)

#: label → (dispatcher, navigator, collisions); "NAV" = the hierarchy's navigator.
CONFIGS: dict[str, tuple[str, str, str]] = {
    "rule_based (physical)": ("greedy", "rule_based", "physical"),
    "hierarchical (physical)": ("ppo", "NAV", "physical"),
    "rule_based (block)": ("greedy", "rule_based", "block"),
    "rule_based (pibt)": ("greedy", "rule_based", "pibt"),
    "hierarchical (pibt)": ("ppo", "NAV", "pibt"),
    "hungarian + NAV (pibt)": ("hungarian", "NAV", "pibt"),
    "greedy + NAV (pibt)": ("greedy", "NAV", "pibt"),
    "ppo + rule_based (pibt)": ("ppo", "rule_based", "pibt"),
    "hungarian + rule_based (pibt)": ("hungarian", "rule_based", "pibt"),
    "ppo + rule_based (physical)": ("ppo", "rule_based", "physical"),
    # Frozen vs fine-tuned navigator: the offline CQL network before online fine-tuning.
    "ppo + cql frozen (pibt)": ("ppo", "cql", "pibt"),
    "greedy + cql frozen (pibt)": ("greedy", "cql", "pibt"),
    # The rule-based fleet whose robots push chains of idle robots aside (sixteenth session);
    # not in the default set, so the default command reproduces docs/results_hierarchy/.
    "rule_based_push (block)": ("greedy", "rule_based_push", "block"),
    "rule_based_push (pibt)": ("greedy", "rule_based_push", "pibt"),
    # ... and whose deadlocks between robots with orders come undone (twenty-first session)
    "rule_based_unlock (block)": ("greedy", "rule_based_unlock", "block"),
    "rule_based_push_unlock (block)": ("greedy", "rule_based_push_unlock", "block"),
    "ppo + rule_based_unlock (block)": ("ppo", "rule_based_unlock", "block"),
}
#: what runs without ``--configs``
DEFAULT_CONFIGS = tuple(c for c in CONFIGS if "_push" not in c and "_unlock" not in c)

METRICS = (
    "deliveries",
    "throughput_per_hour",
    "collisions",
    "energy_per_delivery_wh",
    "oldest_open_order_s",
)


def run_one(
    target: str,
    disp: str,
    nav: str,
    mode: str,
    seed: int,
    steps: int,
    overrides: dict[str, Any] | None = None,
    lookahead: int | None = None,
    max_order_age: float | None = None,
    task_swaps: bool = False,
    park_idle: float | None = None,
    anticipate: bool = False,
) -> dict[str, Any]:
    from agents import make_navigator
    from scenarios import apply_overrides, build_floor, load_scenario
    from warehouse.policies import scenario_dispatcher

    sc, src = load_scenario(target)
    # the pool and the guard are scenario settings (policies.*), applied as in every run; the
    # pool reaches the dispatchers that have one (greedy, hungarian, ppo)
    dispatch = {
        "policies.order_pool": lookahead,
        "policies.anticipate": anticipate or None,
        "policies.max_order_age": max_order_age,
        "policies.task_swaps": task_swaps or None,
        "policies.park_idle": park_idle,
    }
    dispatch = {k: v for k, v in dispatch.items() if v is not None}
    sc = apply_overrides(sc, {**(overrides or {}), **dispatch, "physics.collisions": mode}, src)
    sim = Simulation(_floor(sc, src, build_floor), sc.sim_config())
    fleet = Fleet(sim, scenario_dispatcher(disp, sc, src), make_navigator(nav))
    fleet.reset(seed)
    fleet.run(steps)
    k = compute_kpis(sim)
    k["energy_per_delivery_wh"] = (
        1000 * cast(float, k["energy_kwh"]) / max(1, cast(int, k["deliveries"]))
    )
    return k


_FLOORS: dict[tuple[str, str], Any] = {}


def _floor(sc: Any, src: Any, build: Any) -> Any:
    """The compiled floor of scenario ``sc``, built once per process for each distinct scenario
    (every override is part of the key, so one that changes the floor never reuses another's)."""
    key = (str(src), sc.model_dump_json())
    if key not in _FLOORS:
        _FLOORS[key] = build(sc, src)
    return _FLOORS[key]


def _shown(settings: dict[str, Any]) -> dict[str, Any]:
    """``settings`` with checkpoint paths as the user would type them (relative to the working
    folder when below it); the rows keep the absolute paths they ran with."""
    from scenarios.load import PATH_KEYS

    return {k: display_path(v) if k in PATH_KEYS and v else v for k, v in settings.items()}


def _gridlocked(rows: list[dict[str, Any]]) -> str:
    """``"k/n"``: how many of the rows ended gridlocked (:func:`warehouse.report.is_gridlocked`);
    ``n/a`` for rows measured before the ``jammed_robots`` KPI existed."""
    from warehouse.report import is_gridlocked

    if any("jammed_robots" not in r for r in rows):
        return "n/a"
    jams = sum(is_gridlocked(r["jammed_robots"], r["robots"]) for r in rows)
    return f"{jams}/{len(rows)}"


def _ratio(a: float, b: float) -> str:
    """``a / b`` as text; ``0 / 0`` and ``x / 0`` spelled out, missing data ``n/a``."""
    if np.isnan(a) or np.isnan(b):
        return "n/a"
    if b == 0:
        return "0 / 0 (both zero)" if a == 0 else f"{a:.1f} / 0"
    return f"{a / b:.3f}"


def _paired(a: list[dict[str, Any]], b: list[dict[str, Any]], metric: str) -> str:
    """Per-seed difference ``a − b`` of ``metric`` over the seeds both configs ran: its mean ±
    the 95 % confidence half-width (Student t), as text; empty with fewer than two seeds."""
    from warehouse.report import summarize as over_seeds

    va = {r["seed"]: float(r[metric]) for r in a if r.get(metric) is not None}
    vb = {r["seed"]: float(r[metric]) for r in b if r.get(metric) is not None}
    seeds = sorted(va.keys() & vb.keys())
    if len(seeds) < 2:
        return ""
    stat = over_seeds([va[k] - vb[k] for k in seeds])
    return f"{stat['mean']:+.1f} ± {stat['ci95']:.1f}"


def _time_table(groups: list[tuple[str, list[dict[str, Any]]]]) -> list[str]:
    """Markdown: where each config's robot time goes, in robot-steps per delivery (pooled over
    seeds). Loaded travel and handling are set by the orders served, so at saturation the
    empty travel and the blocked steps are what a fleet can win. Empty for rows measured
    before the time-share KPIs existed."""
    keys = ("empty_travel_share", "loaded_travel_share", "handling_share", "blocked_share")
    groups = [(c, rs) for c, rs in groups if all(r.get(k) is not None for r in rs for k in keys)]
    if not groups:
        return []
    lines = [
        "| config | empty travel / delivery | loaded travel + handling / delivery "
        "| blocked / delivery (within the travel) | blocked share | idle share |",
        "|---|---|---|---|---|---|",
    ]
    for c, rs in groups:
        done = max(1, sum(r["deliveries"] for r in rs))

        def per(*ks: str, rs: list[dict[str, Any]] = rs, done: int = done) -> float:
            return sum(r[k] * r["robots"] * r["steps"] for r in rs for k in ks) / done

        idle = 1 - np.mean([sum(r[k] for k in keys[:3]) for r in rs])
        blocked = np.mean([r["blocked_share"] for r in rs])
        lines.append(
            f"| {c} | {per(keys[0]):.1f} | {per(*keys[1:3]):.1f} | {per(keys[3]):.1f} "
            f"| {blocked:.3f} | {idle:.3f} |"
        )
    return [*lines, ""]


def weights_used(sets: dict[str, Any] | None = None) -> dict[str, str]:
    """Name → first 12 hex digits of the sha256 of each network this evaluation runs (the PPO
    dispatcher, the navigator networks), read from their JSON files: the shipped ones, or the
    checkpoint that ``sets`` (``--set``) gives instead (``policies.dispatcher_checkpoint``
    replaces the dispatcher, ``policies.navigator_checkpoint`` the navigator networks)."""
    from agents.learned import DEFAULT_WEIGHTS as NAV_WEIGHTS

    from .ppo_dispatcher import DEFAULT_WEIGHTS

    files = {"ppo_dispatcher": DEFAULT_WEIGHTS}
    files |= {n: NAV_WEIGHTS / f"{n}.json" for n in ("cql", "cql_pibt", "cql_physical")}
    out = {name: digest for name, path in files.items() if (digest := _digest(path))}
    replaced = {
        "policies.dispatcher_checkpoint": ("ppo_dispatcher",),
        "policies.navigator_checkpoint": ("cql", "cql_pibt", "cql_physical"),
    }
    for key, names in replaced.items():
        if value := (sets or {}).get(key):
            for name in names:
                out.pop(name, None)
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


def _learned_parts(row: dict[str, Any]) -> set[str]:
    """The parts of a result row's config that run a network: ``dispatcher`` (PPO) and
    ``navigator`` (a learned one)."""
    from agents.registry import CHECKPOINT_NAVIGATORS

    parts = {"dispatcher"} if row.get("dispatcher") == "ppo" else set()
    if row.get("navigator") in {*CHECKPOINT_NAVIGATORS, "cql_tuned"}:
        parts.add("navigator")
    return parts


def with_weights(row: dict[str, Any], weights: dict[str, str]) -> dict[str, Any]:
    """``row`` with the networks its config loads, out of those of its run
    (:func:`weights_used`), so that rows merged into later tables still say what they measured.
    Rows of configs without networks record none."""
    parts = _learned_parts(row)
    dispatcher = ("ppo_dispatcher", "policies.dispatcher_checkpoint")
    used = {
        k: v
        for k, v in weights.items()
        if ("dispatcher" if k.startswith(dispatcher) else "navigator") in parts
    }
    return {**row, "weights": used} if used else row


def weights_line(rows: list[dict[str, Any]]) -> str | None:
    """The summary's sentence on the networks behind ``rows``, from their ``weights`` records:
    each network's sha256, with row counts where rows ran different ones, and how many rows of
    learned configs record none (written before rows recorded them)."""
    learned = [r for r in rows if _learned_parts(r)]
    seen: dict[str, dict[str, int]] = {}  # network → digest → rows
    for r in learned:
        for name, digest in (r.get("weights") or {}).items():
            counts = seen.setdefault(name, {})
            counts[digest] = counts.get(digest, 0) + 1
    unknown = sum(not r.get("weights") for r in learned)
    if not seen:
        return f"Weights: not recorded in {_rows(unknown)}." if unknown else None
    named = [
        f"{name} `{next(iter(counts))}`"
        if len(counts) == 1
        else f"{name} " + " or ".join(f"`{d}` ({_rows(n)})" for d, n in counts.items())
        for name, counts in seen.items()
    ]
    line = f"Weights (sha256) these rows were measured with: {', '.join(named)}."
    return line + (f" Not recorded in {_rows(unknown)} of learned configs." if unknown else "")


def _rows(n: int) -> str:
    return f"{n} row" + "s" * (n != 1)


def summarize(rows: list[dict[str, Any]], nav: str) -> str:
    """Markdown: per scenario the mean ± std of every config, then the target ratios with the
    paired per-seed differences behind them. The networks the rows were measured with are named
    from their records (:func:`weights_line`)."""
    lines = [f"NAV = `{nav}`. Mean ± std over seeds.", ""]
    if used := weights_line(rows):
        lines[1:1] = ["", used]
    looks = sorted({r["lookahead"] for r in rows if r.get("lookahead") is not None})
    if looks:
        pools = ", ".join(map(str, looks))
        lines[0] += f" Order pool of greedy, Hungarian and PPO: lookahead {pools} (default 4)."
    ages = sorted({r["max_order_age"] for r in rows if r.get("max_order_age") is not None})
    if ages:
        lines[0] += f" Starvation guard around every dispatcher: {', '.join(map(str, ages))} s."
    if any(r.get("anticipate") for r in rows):
        lines[0] += " Anticipation in greedy, Hungarian and PPO (`--anticipate`)."
    if any(r.get("task_swaps") for r in rows):
        lines[0] += " Task swaps around every dispatcher (`--task-swaps`)."
    parks = sorted({r["park_idle"] for r in rows if r.get("park_idle") is not None})
    if parks:
        lines[0] += f" Parking around every dispatcher: after {', '.join(map(str, parks))} s idle."
    sets = sorted(
        {json.dumps(_shown(r["settings"]), sort_keys=True) for r in rows if r.get("settings")}
    )
    if sets:
        lines[0] += f" Scenario settings (`--set`): {'; '.join(sets)}."
    by: dict[tuple[Any, Any], list[dict[str, Any]]] = {}
    for r in rows:
        by.setdefault((r["scenario"], r["config"]), []).append(r)
    scen = list(dict.fromkeys(r["scenario"] for r in rows))
    confs = list(dict.fromkeys(r["config"] for r in rows))
    for s in scen:
        seen = rows[[r["scenario"] for r in rows].index(s)]["seen_in_training"]
        lines += [f"### {s}{' (seen in training)' if seen else ' (never used in training)'}", ""]
        lines += ["| config | seeds | " + " | ".join(METRICS) + " | gridlocked |"]
        lines += ["|---" * (len(METRICS) + 3) + "|"]
        for c in confs:
            rs = by.get((s, c), [])
            if not rs:
                continue
            cells = []
            for m in METRICS:
                v = np.array([r.get(m) for r in rs], dtype=float)  # None (no data): nan
                cells.append(f"{v.mean():.1f} ± {v.std():.1f}")
            cells.append(_gridlocked(rs))
            lines.append(f"| {c} | {len(rs)} | " + " | ".join(cells) + " |")
        lines.append("")
        lines += _time_table([(c, by[(s, c)]) for c in confs if by.get((s, c))])

        def mean(c: str, m: str, s: str = s) -> float:
            return float(np.mean([r[m] for r in by.get((s, c), [])] or [np.nan]))

        hp, rp = "hierarchical (physical)", "rule_based (physical)"
        hb, hh = "hierarchical (pibt)", "hungarian + NAV (pibt)"
        pr, hr = "ppo + rule_based (pibt)", "hungarian + rule_based (pibt)"
        pairs = {
            "throughput hierarchical / rule_based (physical; ≥ 1.22)": (hp, rp, "deliveries"),
            "collisions hierarchical / rule_based (physical; ≤ 0.65)": (hp, rp, "collisions"),
            "energy per delivery hierarchical / rule_based (physical; target < 1)": (
                hp,
                rp,
                "energy_per_delivery_wh",
            ),
            "throughput hierarchical (pibt) / rule_based (block), as deployed": (
                hb,
                "rule_based (block)",
                "deliveries",
            ),
            "throughput hierarchical (pibt) / rule_based (pibt), same shield": (
                hb,
                "rule_based (pibt)",
                "deliveries",
            ),
            "energy per delivery hierarchical (pibt) / rule_based (block), as deployed": (
                hb,
                "rule_based (block)",
                "energy_per_delivery_wh",
            ),
            "throughput ppo / hungarian, same NAV + pibt (target ≥ 1.0)": (hb, hh, "deliveries"),
            "throughput hierarchical / ppo + cql frozen (pibt): online fine-tuning": (
                hb,
                "ppo + cql frozen (pibt)",
                "deliveries",
            ),
            "throughput ppo / hungarian, rule_based navigator + pibt": (pr, hr, "deliveries"),
            "throughput ppo + rule_based / rule_based (both physical)": (
                "ppo + rule_based (physical)",
                rp,
                "deliveries",
            ),
            "collisions ppo + rule_based / rule_based (both physical)": (
                "ppo + rule_based (physical)",
                rp,
                "collisions",
            ),
            "energy per delivery ppo + rule_based / rule_based (both physical)": (
                "ppo + rule_based (physical)",
                rp,
                "energy_per_delivery_wh",
            ),
        }
        lines += ["| ratio | value | difference per seed, paired (mean ± 95 % CI) |"]
        lines += ["|---|---|---|"]
        for k, (a, b, m) in pairs.items():
            value = _ratio(mean(a, m), mean(b, m))
            if value != "n/a":
                diff = _paired(by.get((s, a), []), by.get((s, b), []), m)
                lines.append(f"| {k} | {value} | {diff} |")
        lines.append("")
    return "\n".join(lines)


def _task(task: tuple, steps: int) -> dict[str, Any]:
    """One (scenario, config, seed) run as a result row (a worker-process entry point)."""
    from warehouse.threads import torch_threads

    _, target, _, overrides, _, disp, navigator, mode, seed, *dispatch = task
    look, max_age, swaps, park, anticipate = dispatch
    with torch_threads(1):  # small per-step inference: threads only add overhead
        k = run_one(
            target, disp, navigator, mode, seed, steps, overrides, lookahead=look,
            max_order_age=max_age, task_swaps=swaps, park_idle=park, anticipate=anticipate,
        )  # fmt: skip
    return {**task_row(task), **k}


def task_row(task: tuple) -> dict[str, Any]:
    """What a result row records about its run before the KPIs: floor, config, seed and setup."""
    name, _, seen, overrides, label, disp, navigator, mode, seed, *dispatch = task
    look, max_age, swaps, park, anticipate = dispatch
    guard = {} if max_age is None else {"max_order_age": max_age}
    guard |= {"anticipate": True} if anticipate else {}
    guard |= {"task_swaps": True} if swaps else {}
    guard |= {} if park is None else {"park_idle": park}
    return {"scenario": name, "seen_in_training": seen, "config": label, "seed": seed,
            **({"settings": settings} if (settings := task_settings(name, overrides)) else {}),
            "dispatcher": disp, "navigator": navigator, "collisions": mode,
            "lookahead": look, **guard}  # fmt: skip


#: Row fields that must agree between the seeds of one (scenario, config) for their mean to
#: mean anything (a missing flag and an unset one are the same).
SETUP_FIELDS = ("steps", "settings", "lookahead", "max_order_age", "anticipate", "task_swaps",
                "park_idle")  # fmt: skip


def row_setup(row: dict[str, Any]) -> dict[str, Any]:
    """The :data:`SETUP_FIELDS` of a result row, unset ones left out."""
    return {k: row[k] for k in SETUP_FIELDS if row.get(k) not in (None, False, {})}


def read_rows(path: Path) -> list[dict[str, Any]]:
    """The rows of an earlier ``results.json``; a one-line :class:`InputError` if it cannot be
    read or is not a list of result rows."""
    try:
        rows = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise InputError(path, "file", f"cannot read: {exc.strerror or exc}") from None
    except UnicodeDecodeError:
        raise InputError(path, "file", "not UTF-8 text") from None
    except json.JSONDecodeError as exc:
        raise InputError(path, f"line {exc.lineno}", f"not JSON: {exc.msg}") from None
    if not isinstance(rows, list):
        raise InputError(path, "rows", "expected a list of result rows")
    for i, row in enumerate(rows):
        missing = [
            k for k in ("scenario", "config", "seed") if not isinstance(row, dict) or k not in row
        ]
        if missing:
            raise InputError(path, f"row {i}", f"not a result row (no {', '.join(missing)})")
    return rows


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


def task_settings(name: str, overrides: dict[str, Any]) -> dict[str, Any]:
    """The ``--set`` settings of a task: its overrides beyond (or unlike) the floor's own."""
    own = next(o for n, _, _, o in SCENARIOS if n == name)
    return {k: v for k, v in overrides.items() if k not in own or own[k] != v}


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--seeds", type=int, default=10)
    p.add_argument("--steps", type=int, default=400)
    p.add_argument("--scenarios", default=",".join(DEFAULT_SCENARIOS))
    p.add_argument("--configs", default=",".join(DEFAULT_CONFIGS))
    p.add_argument(
        "--merge",
        type=Path,
        nargs="*",
        default=[],
        help="Earlier results.json to add: other configs or seeds. A config of a floor must keep "
        "its steps, --set settings and dispatch flags, and no seed may come twice.",
    )
    p.add_argument("--jobs", type=int, default=1, help="Worker processes.")
    p.add_argument(
        "--lookahead", type=int, default=None, help="Order pool of greedy, Hungarian and PPO."
    )
    p.add_argument(
        "--anticipate",
        action="store_true",
        help="Greedy, Hungarian and PPO leave out the orders a robot finishing a delivery "
        "reaches first (hierarchy/anticipation.py).",
    )
    p.add_argument(
        "--max-order-age",
        type=float,
        default=None,
        help="Starvation guard (s) around every dispatcher (hierarchy/guard.py).",
    )
    p.add_argument(
        "--task-swaps",
        action="store_true",
        help="Task swaps around every dispatcher (hierarchy/swaps.py).",
    )
    p.add_argument(
        "--park-idle",
        type=float,
        default=None,
        help="Parking around every dispatcher: robots idle this many seconds drive to a "
        "parking spot (hierarchy/parking.py).",
    )
    p.add_argument(
        "--set",
        dest="sets",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="Scenario setting for every floor, after the floor's own (dotted key, YAML value; "
        "repeatable), e.g. --set 'layout.parking_walls=[north,south]'.",
    )
    args = p.parse_args(argv)
    from scenarios import parse_assignment

    try:
        sets = dict(parse_assignment(text) for text in args.sets)
    except InputError as exc:
        p.error(f"--set: {exc.one_line()}")
    from warehouse.threads import torch_threads

    with torch_threads(1):  # small per-step inference: threads only add overhead
        evaluate(args, sets, p.error)


def evaluate(
    args: argparse.Namespace, sets: dict[str, Any], error: Callable[[str], NoReturn]
) -> None:
    """Run what :func:`main` parsed (``sets``: the ``--set`` settings); ``error`` reports bad input
    (argparse's: one line, exit 2)."""
    from hierarchy.shadow import hierarchical_parts

    nav = hierarchical_parts()[1]
    wanted = {s for s in args.scenarios.split(",") if s}
    confs = [c for c in args.configs.split(",") if c and c != "none"]
    unknown = sorted(wanted - {name for name, *_ in SCENARIOS})
    if unknown:
        known = ", ".join(name for name, *_ in SCENARIOS)
        error(f"--scenarios: unknown {', '.join(unknown)} (known: {known})")
    if bad := [c for c in confs if c not in CONFIGS]:
        error(f"--configs: unknown {', '.join(map(repr, bad))} (known: {', '.join(CONFIGS)})")
    # each floor's own overrides, then --set; checked on every floor now (not in a worker, and
    # before anything is written)
    floors = [
        (name, target, seen, {**overrides, **sets})
        for name, target, seen, overrides in SCENARIOS
        if name in wanted
    ]
    for name, target, _, merged in floors if sets else ():
        if not (target.endswith(".map") and not Path(target).is_file()):
            from scenarios import apply_overrides, load_scenario

            try:
                sc, src = load_scenario(target)
                apply_overrides(sc, merged, src)
            except InputError as exc:
                error(f"--set on {name}: {exc.one_line()}")
    rows: list[dict[str, Any]] = []
    origins: list[tuple[str, list[dict[str, Any]]]] = []
    for path in args.merge:
        try:
            merged_rows = read_rows(path)
        except InputError as exc:
            error(f"--merge: {exc.one_line()}")
        origins.append((str(path), merged_rows))
        rows += merged_rows
    tasks = []
    for name, target, seen, overrides in floors:
        if target.endswith(".map") and not Path(target).is_file():
            print(f"skipped {name}: map file {target} not found", file=sys.stderr)
            continue
        for label in confs:
            disp, navigator, mode = CONFIGS[label]
            navigator = nav if navigator == "NAV" else navigator
            for seed in range(args.seeds):
                task = (name, target, seen, overrides, label, disp, navigator, mode, seed)
                dispatch = (
                    args.lookahead, args.max_order_age, args.task_swaps, args.park_idle,
                    args.anticipate,
                )  # fmt: skip
                tasks.append((*task, *dispatch))
    # rows this run will add, as far as the check needs them
    weights = weights_used(sets)
    planned = [with_weights({**task_row(t), "steps": args.steps}, weights) for t in tasks]
    try:
        check_mergeable([*origins, ("this run", planned)])
    except InputError as exc:
        error(f"--merge: {exc.one_line()}")
    args.out.mkdir(parents=True, exist_ok=True)
    t0 = time.time()

    def collect(found: Any) -> None:
        for i, row in enumerate(found):
            rows.append(with_weights(row, weights))
            if (i + 1) % args.seeds == 0:
                print(f"{row['scenario']:22s} {row['config']:28s} {time.time() - t0:7.1f}s",
                      flush=True)  # fmt: skip

    if args.jobs > 1:
        import multiprocessing as mp
        from concurrent.futures import ProcessPoolExecutor

        # "spawn": workers start clean (no forked numba/torch thread state).
        with ProcessPoolExecutor(args.jobs, mp_context=mp.get_context("spawn")) as pool:
            collect(pool.map(_task, tasks, [args.steps] * len(tasks), chunksize=2))
    else:
        collect(_task(t, args.steps) for t in tasks)
    (args.out / "results.json").write_text(json.dumps(rows, indent=1), encoding="utf-8")
    (args.out / "summary.md").write_text(summarize(rows, nav), encoding="utf-8")


if __name__ == "__main__":
    main()
