"""Throughput under an order-age budget: the best measured dispatch setting per floor.

A larger order pool raises throughput by letting old orders wait (docs/results.md, "Order
pool"). This module asks the question the throughput target leaves open: *if no order may wait
longer than under the rule-based fleet*, how far does the hierarchy get? For each saturated
floor it takes every committed evaluation of the hierarchy (:data:`SETTINGS`), keeps those whose
oldest waiting order at the end (``oldest_open_order_s``, mean over seeds) is no older than the
rule-based fleet's, and reports the best throughput ratio among them. Choosing the best of
several settings per floor, on the evaluation seeds, is an optimistic reading; it bounds what
the budget allows rather than proposing a setting::

    python -m hierarchy.fairness                 # 400 steps from an idle start
    python -m hierarchy.fairness --horizon hour  # one hour (3,600 steps): docs/results_lifelong
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
#: setting name → the committed evaluation folders that measured the hierarchy with it
SETTINGS: dict[str, tuple[str, ...]] = {
    "pool 4 (shipped)": ("docs/results_hierarchy", "docs/results_hierarchy_peak"),
    "pool 4 + swaps": ("docs/results_swaps/main", "docs/results_swaps/peak"),
    "pool 16": ("docs/results_lookahead/L16",),
    "pool 64": ("docs/results_lookahead/L64",),
    "pool 16 + guard 120 s": ("docs/results_lookahead/L16_guard120",),
    "pool 16 + guard 200 s": ("docs/results_lookahead/L16_guard200",),
    "pool 16 + guard 200 s + swaps": ("docs/results_lookahead/L16_guard200_swaps",),
}
#: the baseline and its folders (the plain rule-based fleet, as deployed)
BASELINE = ("rule_based (block)", ("docs/results_hierarchy", "docs/results_hierarchy_peak"))
#: the same over one hour of operation (eighteenth session)
HOUR_SETTINGS: dict[str, tuple[str, ...]] = {
    "pool 4 (shipped)": ("docs/results_lifelong",),
    "pool 8": ("docs/results_lifelong/pool/L8",),
    "pool 16": ("docs/results_lifelong/pool/L16",),
    "pool 32": ("docs/results_lifelong/pool/L32",),
}
HOUR_BASELINE = ("docs/results_lifelong",)
CANDIDATE = "hierarchical (pibt)"
#: the floors where orders queue (docs/results.md, "Capacity regime")
SATURATED = (
    "train_wide",
    "lorr_warehouse_small",
    "small_peak",
    "train_wide_peak",
    "one_way_peak",
    "faults_peak",
    "medium_peak",
    "kiva_peak",
)

Rows = dict[tuple[str, str], list[dict[str, Any]]]


@dataclass(frozen=True)
class Choice:
    """The best setting of one floor under the budget (``setting`` None: none keeps it)."""

    floor: str
    budget_s: float  #: the baseline's oldest waiting order
    setting: str | None
    ratio: float  #: candidate ÷ baseline deliveries (nan when no setting keeps the budget)
    oldest_s: float
    best_setting: str  #: the best setting ignoring the budget
    best_ratio: float
    best_oldest_s: float


def load_rows(folders: tuple[str, ...], root: Path = ROOT) -> Rows:
    """``(scenario, config)`` → rows of the ``results.json`` files in ``folders``."""
    out: Rows = {}
    for folder in folders:
        path = root / folder / "results.json"
        if not path.is_file():
            print(
                f"error: {path} not found (this reads a repository checkout's docs/)",
                file=sys.stderr,
            )
            raise SystemExit(2)
        for r in json.loads(path.read_text(encoding="utf-8")):
            out.setdefault((r["scenario"], r["config"]), []).append(r)
    return out


def _mean(rows: list[dict[str, Any]], key: str) -> float:
    return float(np.mean([r[key] for r in rows]))


def best_under_budget(
    settings: dict[str, Rows], baseline: Rows, floors: tuple[str, ...]
) -> list[Choice]:
    """Per floor, the setting with the most deliveries whose oldest waiting order is no older
    than the baseline's (module docstring)."""
    out = []
    for floor in floors:
        base = baseline.get((floor, BASELINE[0]))
        if not base:
            continue
        budget, delivered = _mean(base, "oldest_open_order_s"), _mean(base, "deliveries")
        measured = [
            (_mean(rows, "deliveries") / delivered, _mean(rows, "oldest_open_order_s"), name)
            for name, by in settings.items()
            if (rows := by.get((floor, CANDIDATE)))
        ]
        if not measured:
            continue
        kept = [m for m in measured if m[1] <= budget]
        best = max(kept) if kept else (float("nan"), float("nan"), None)
        top = max(measured)
        out.append(Choice(floor, budget, best[2], best[0], best[1], top[2], top[0], top[1]))
    return out


def table(choices: list[Choice]) -> str:
    """Markdown table of :func:`best_under_budget` (ratios never rounded onto 1 or the 1.22
    target from the other side: :func:`warehouse.report.format_ratio`)."""
    from warehouse.report import format_ratio

    marks = (1.0, 1.22)
    lines = [
        "| floor | budget: rule-based fleet's oldest waiting order | best within the budget | "
        "best ignoring it |",
        "|---|---|---|---|",
    ]
    for c in choices:
        within = (
            "none"
            if c.setting is None
            else f"{format_ratio(c.ratio, marks)} ({c.setting}, {c.oldest_s:.0f} s)"
        )
        top = f"{format_ratio(c.best_ratio, marks)} ({c.best_setting}, {c.best_oldest_s:.0f} s)"
        lines.append(f"| {c.floor} | {c.budget_s:.0f} s | {within} | {top} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--target", type=float, default=1.22, help="Throughput ratio to count.")
    ap.add_argument(
        "--horizon",
        choices=("400", "hour"),
        default="400",
        help="The evaluations over 400 steps (default) or over one hour.",
    )
    args = ap.parse_args(argv)
    hour = args.horizon == "hour"
    folders_of = HOUR_SETTINGS if hour else SETTINGS
    settings = {name: load_rows(folders) for name, folders in folders_of.items()}
    baseline = load_rows(HOUR_BASELINE if hour else BASELINE[1])
    choices = best_under_budget(settings, baseline, SATURATED)
    print(table(choices))
    met = sum(c.setting is not None and c.ratio >= args.target for c in choices)
    print(f"\n≥ {args.target}× within the budget on {met} of {len(choices)} floors.")


if __name__ == "__main__":  # pragma: no cover
    from warehouse.interrupt import run_main

    run_main(main)
