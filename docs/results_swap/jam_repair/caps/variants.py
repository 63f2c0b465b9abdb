"""The table of settings tried in docs/results_swap.md, part 6, "Caps for dense floors":
``python variants.py SWAP.csv "SETTINGS=LACAM.csv" ...`` prints one row per ``pibt_lacam`` sweep
(kiva, ``warehouse sweep`` CSVs with the same sizes and seeds as ``SWAP.csv``): per fleet size
the paired difference of the deliveries (mean ± std over the seeds), then the worst paired
difference of any run and the gridlocked runs (``size:seed``)."""

from __future__ import annotations

import argparse
import csv
import statistics
from collections import defaultdict


def load(path: str) -> dict[int, list[dict[str, str]]]:
    """The sweep's rows by fleet size, in seed order (as ``dense/table.py``)."""
    by: dict[int, list[dict[str, str]]] = defaultdict(list)
    with open(path, encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            by[int(row["fleet.robots"])].append(row)
    for rows in by.values():
        rows.sort(key=lambda r: int(r["seed"]))
    return dict(sorted(by.items()))


def main() -> None:
    ap = argparse.ArgumentParser(description="results_swap.md part 6, the caps tried")
    ap.add_argument("swap")
    ap.add_argument("sweeps", nargs="+", help="SETTINGS=LACAM.csv (split at the last =)")
    a = ap.parse_args()
    swap = load(a.swap)
    sizes = list(swap)
    print(
        "| settings | "
        + " | ".join(f"difference at {n}" for n in sizes)
        + " | worst run | gridlocked runs |"
    )
    print("|---|" + "---:|" * len(sizes) + "---:|---|")
    for arg in a.sweeps:
        name, _, path = arg.rpartition("=")
        lacam = load(path)
        cells, worst, locked = [], 0, []
        for n in sizes:
            d = [
                int(b["deliveries"]) - int(x["deliveries"])
                for x, b in zip(swap[n], lacam[n], strict=True)
            ]
            cells.append(f"{statistics.mean(d):+,.1f} ± {statistics.stdev(d):,.1f}")
            worst = min(worst, *d)
            locked += [f"{n}:{r['seed']}" for r in lacam[n] if r["gridlocked"] == "True"]
        print(f"| {name} | {' | '.join(cells)} | {worst:+,} | {', '.join(locked) or 'none'} |")


if __name__ == "__main__":
    main()
