"""The tables of the guided navigator on issue 5's target floors (sessions 41 and 43).

``python docs/results_guidance/targets/table.py NEW.json[,NEW2.json...] COMMITTED.json...``:
one row per floor, deliveries (mean ± std over seeds, population s.d. as ``summary.md``) of the
baseline columns from the COMMITTED rows (``docs/results_hierarchy*/``,
``docs/results_lifelong/``) and of the guided columns from NEW (``hierarchy.evaluate``'s
results.json); then the ratios of means to ``rule_based (block)``, ``rule_based (pibt)`` and
``greedy + guided (pibt)``; then paired per-seed differences (mean ± standard error). It first
checks that every row NEW re-ran of a committed config equals the committed row on every KPI
both record but ``utilization`` (whose definition changed after the committed rows were
written), and stops if one does not. With ``--old OLD.json[,...]`` (the guided rows of an earlier
measurement: the plain stall rescue's, forty-first session) it ends with each guided config's
change from OLD, per floor: NEW minus OLD, paired per seed (mean ± standard error), and the
ratio of the means."""

from __future__ import annotations

import argparse
import json
import statistics as st
import sys
from typing import Any

FLOORS = (
    "train_wide", "lorr_warehouse_small", "small_peak", "train_wide_peak", "one_way_peak",
    "faults_peak", "medium_peak", "kiva_peak",
)  # fmt: skip
BASE = ("rule_based (block)", "rule_based (pibt)", "hierarchical (pibt)")
GUIDED = ("greedy + guided (pibt)", "ppo + guided (pibt)", "hungarian + guided (pibt)")
SHORT = {
    "rule_based (block)": "rule_based (block)",
    "rule_based (pibt)": "rule_based (pibt)",
    "hierarchical (pibt)": "hierarchical (pibt)",
    "greedy + guided (pibt)": "greedy + guided",
    "ppo + guided (pibt)": "ppo + guided",
    "hungarian + guided (pibt)": "hungarian + guided",
}
#: paired differences: (minuend, subtrahend)
PAIRS = (
    ("ppo + guided (pibt)", "hierarchical (pibt)"),
    ("ppo + guided (pibt)", "greedy + guided (pibt)"),
    ("greedy + guided (pibt)", "rule_based (pibt)"),
    ("hierarchical (pibt)", "greedy + guided (pibt)"),
)

Key = tuple[str, str, int]


def _load(paths: list[str]) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    for path in paths:
        with open(path, encoding="utf-8") as fh:
            rows += json.load(fh)
    return rows


def check(new: list[dict[str, Any]], committed: dict[Key, dict[str, Any]]) -> int:
    """How many rows of ``new`` re-ran a committed row; exit 1 naming the first that differs."""
    n = 0
    for row in new:
        old = committed.get((row["scenario"], row["config"], row["seed"]))
        if old is None:
            continue
        n += 1
        skip = ("utilization", "weights")
        diff = {k: (old[k], row[k]) for k in old if k in row and k not in skip and old[k] != row[k]}
        if diff:
            sys.exit(f"{row['scenario']} {row['config']} seed {row['seed']}: differs {diff}")
    return n


def _ms(x: list[float]) -> str:
    return f"{st.mean(x):.1f} ± {st.pstdev(x):.1f}"


def _ratio(x: float) -> str:
    return f"**{x:.3f}**" if x >= 1.22 else f"{x:.3f}"


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("new", help="hierarchy.evaluate results.json files, comma separated")
    parser.add_argument("committed", nargs="+", help="the committed results.json files")
    parser.add_argument("--old", help="earlier guided rows (results.json), comma separated")
    args = parser.parse_args(argv)
    new = _load(args.new.split(","))
    steps = {row["steps"] for row in new}
    assert len(steps) == 1, steps
    committed = {
        (r["scenario"], r["config"], r["seed"]): r
        for r in _load(args.committed)
        if r["steps"] in steps and r["config"] in BASE
    }
    print(f"{check(new, committed)} re-run rows equal the committed ones (utilization aside)\n")
    rows = {(r["scenario"], r["config"], r["seed"]): r for r in new if r["config"] in GUIDED}
    rows |= committed
    floors = [f for f in FLOORS if any(r["scenario"] == f for r in new)]  # (the floors NEW ran)
    configs = [c for c in (*BASE, *GUIDED) if any(k[1] == c for k in rows)]

    def deliveries(floor: str, config: str) -> dict[int, float]:
        return {k[2]: float(r["deliveries"]) for k, r in rows.items() if k[:2] == (floor, config)}

    seeds = {f: {c: deliveries(f, c) for c in configs} for f in floors}
    print(f"Deliveries in {steps.pop()} steps, mean ± std over seeds (seeds per cell: "
          f"{sorted({len(v) for f in floors for v in seeds[f].values() if v})}).\n")  # fmt: skip
    print("| floor | " + " | ".join(SHORT[c] for c in configs) + " |")
    print("|---|" + "---:|" * len(configs))
    for f in floors:
        cells = [_ms(list(seeds[f][c].values())) if seeds[f][c] else "—" for c in configs]
        print(f"| {f} | " + " | ".join(cells) + " |")
    for base in ("rule_based (block)", "rule_based (pibt)", "greedy + guided (pibt)"):
        others = [c for c in configs if c != base and "rule_based" not in c]
        print(f"\nRatio of means to `{base}` (≥ 1.22 in bold):\n")
        print("| floor | " + " | ".join(SHORT[c] for c in others) + " |")
        print("|---|" + "---:|" * len(others))
        for f in floors:
            b = st.mean(seeds[f][base].values())
            cells = [_ratio(st.mean(seeds[f][c].values()) / b) if seeds[f][c] else "—"
                     for c in others]  # fmt: skip
            print(f"| {f} | " + " | ".join(cells) + " |")
    pairs = [(a, b) for a, b in PAIRS if a in configs and b in configs]
    print("\nPaired per-seed differences in deliveries (mean ± standard error, seeds both ran):\n")
    print("| floor | " + " | ".join(f"{SHORT[a]} − {SHORT[b]}" for a, b in pairs) + " |")
    print("|---|" + "---:|" * len(pairs))
    for f in floors:
        cells = []
        for a, b in pairs:
            common = sorted(set(seeds[f][a]) & set(seeds[f][b]))
            d = [seeds[f][a][s] - seeds[f][b][s] for s in common]
            se = st.stdev(d) / len(d) ** 0.5 if len(d) > 1 else float("nan")
            cells.append(f"{st.mean(d):+.1f} ± {se:.1f}" if d else "—")
        print(f"| {f} | " + " | ".join(cells) + " |")
    if args.old:
        _changes(seeds, floors, _load(args.old.split(",")))


def _changes(
    seeds: dict[str, dict[str, dict[int, float]]], floors: list[str], old: list[dict[str, Any]]
) -> None:
    """Each guided config's deliveries against ``old`` rows: new − old paired per seed (mean ±
    standard error) and the ratio of means, one row per floor."""
    before: dict[tuple[str, str], dict[int, float]] = {}
    for r in old:
        if r["config"] in GUIDED:
            before.setdefault((r["scenario"], r["config"]), {})[r["seed"]] = float(r["deliveries"])
    configs = [c for c in GUIDED if any(seeds[f].get(c) for f in floors)]
    print("\nChange from the earlier rows (`--old`): deliveries new − old, paired per seed (mean ± "
          "standard error), and the ratio of means:\n")  # fmt: skip
    print("| floor | " + " | ".join(SHORT[c] for c in configs) + " |")
    print("|---|" + "---:|" * len(configs))
    for f in floors:
        cells = []
        for c in configs:
            now, then = seeds[f].get(c, {}), before.get((f, c), {})
            common = sorted(set(now) & set(then))
            if not common:
                cells.append("—")
                continue
            d = [now[s] - then[s] for s in common]
            se = st.stdev(d) / len(d) ** 0.5 if len(d) > 1 else float("nan")
            ratio = st.mean(now[s] for s in common) / st.mean(then[s] for s in common)
            cells.append(f"{st.mean(d):+.1f} ± {se:.1f} (×{ratio:.3f})")
        print(f"| {f} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main(sys.argv[1:])
