"""The tables of docs/results_mapf.md from the ``sweep.csv`` of one-shot sweeps.

Per planner, shield and robot count: seeds solved, mean ``on_goal_share`` over all seeds, and
mean makespan and ``sum_of_costs / sum_of_costs_lb`` over the solved seeds only.

    python docs/results_mapf/table.py /tmp/mapf/w10_rb /tmp/mapf/w10_h
"""

from __future__ import annotations

import argparse
import csv
from collections import defaultdict
from pathlib import Path
from statistics import fmean


def rows(folder: Path) -> list[str]:
    """The table rows of one sweep folder, in the order of its ``sweep.csv``."""
    groups: dict[tuple[str, str, int], list[dict[str, str]]] = defaultdict(list)
    with open(folder / "sweep.csv", newline="", encoding="utf-8") as f:
        for run in csv.DictReader(f):
            key = (run["policy"], run["collision_mode"], int(run["fleet.robots"]))
            groups[key].append(run)
    out = []
    first = {key[0]: i for i, key in reversed(list(enumerate(groups)))}  # policies as they come
    order = sorted(groups, key=lambda key: (first[key[0]], key[1], key[2]))
    for policy, mode, robots in order:
        runs = groups[(policy, mode, robots)]
        ok = [r for r in runs if r["solved"] == "1"]
        share = fmean(float(r["on_goal_share"]) for r in runs)
        if ok:
            span = fmean(float(r["makespan"]) for r in ok)
            ratio = fmean(float(r["sum_of_costs"]) / float(r["sum_of_costs_lb"]) for r in ok)
            tail = f"{span:.0f} | {ratio:.2f}"
        else:
            tail = "— | —"
        solved = f"{len(ok)}/{len(runs)}"
        out.append(f"| {policy} | {mode} | {robots} | {solved} | {share:.3f} | {tail} |")
    return out


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("folders", nargs="+", type=Path, help="sweep output folders (--out)")
    args = p.parse_args(argv)
    for folder in args.folders:
        print("\n".join(rows(folder)))


if __name__ == "__main__":
    main()
