"""The tables of docs/results_swap.md, part 6, "On dense lifelong floors":
``python table.py SWAP.csv LACAM.csv [COUNTS.txt]`` prints, per fleet size, the deliveries per
seed under both modes, their mean ± std, the paired difference, the stuck robots at the end
and the collisions (two ``warehouse sweep`` CSVs with the same sizes and seeds), then, given
the counters that ``count_repairs.py sweep ...`` printed (shields in sweep order: each size's
seeds in turn), the repair's searches, plans and search time per size."""

from __future__ import annotations

import argparse
import csv
import statistics
from collections import defaultdict


def load(path: str) -> dict[int, list[dict[str, str]]]:
    """The sweep's rows by fleet size, in seed order."""
    by: dict[int, list[dict[str, str]]] = defaultdict(list)
    with open(path, encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            by[int(row["fleet.robots"])].append(row)
    for rows in by.values():
        rows.sort(key=lambda r: int(r["seed"]))
    return dict(sorted(by.items()))


def ms(xs: list[float]) -> str:
    """Mean ± std (sample std; 0 for one value)."""
    sd = statistics.stdev(xs) if len(xs) > 1 else 0.0
    return f"{statistics.mean(xs):,.1f} ± {sd:,.1f}"


def counters(path: str) -> list[list[float]]:
    """The counter rows (searches, plans, plan_steps, dropped, iterations, search_s)."""
    out = []
    with open(path, encoding="utf-8") as fh:
        for line in fh:
            parts = line.split()
            if len(parts) == 7 and parts[0].isdigit():
                out.append([float(p) for p in parts[1:]])
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description="results_swap.md part 6, dense floors")
    ap.add_argument("swap")
    ap.add_argument("lacam")
    ap.add_argument("counts", nargs="?")
    a = ap.parse_args()
    swap, lacam = load(a.swap), load(a.lacam)
    print(
        "| robots | seeds | deliveries `pibt_swap` | deliveries `pibt_lacam` | "
        "`pibt_swap` mean ± std | `pibt_lacam` mean ± std | difference (paired) | "
        "stuck at the end, swap → lacam | collisions |"
    )
    print("|---:|---|---|---|---:|---:|---:|---|---:|")
    for n, rs in swap.items():
        rl = lacam[n]
        assert [r["seed"] for r in rs] == [r["seed"] for r in rl]
        ds = [int(r["deliveries"]) for r in rs]
        dl = [int(r["deliveries"]) for r in rl]
        st = [int(r["stuck_robots"]) for r in rs]
        sl = [int(r["stuck_robots"]) for r in rl]
        col = sum(int(r["collisions"]) for r in rs + rl)
        seeds = ",".join(r["seed"] for r in rs)
        print(
            f"| {n:,} | {seeds} | {', '.join(map(str, ds))} | {', '.join(map(str, dl))} | "
            f"{ms(ds)} | {ms(dl)} | {ms([b - x for x, b in zip(ds, dl, strict=True)])} | "
            f"{ms(st)} → {ms(sl)} | {col} |"
        )
    if a.counts:
        c = counters(a.counts)
        sizes = list(lacam)
        k = 0
        print()
        print(
            "| robots | searches per seed | plans per seed | plan steps followed | "
            "iterations (all seeds) | search time per seed (s) |"
        )
        print("|---:|---|---|---:|---:|---|")
        for n in sizes:
            part = c[k : k + len(lacam[n])]
            k += len(lacam[n])
            print(
                f"| {n:,} | {', '.join(str(int(r[0])) for r in part)} | "
                f"{', '.join(str(int(r[1])) for r in part)} | "
                f"{sum(int(r[2]) for r in part):,} | {sum(int(r[4]) for r in part):,} | "
                f"{', '.join(f'{r[5]:.2f}' for r in part)} |"
            )


if __name__ == "__main__":
    main()
