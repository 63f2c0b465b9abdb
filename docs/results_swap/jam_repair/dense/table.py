"""The tables of docs/results_swap.md, part 6, "On dense lifelong floors":
``python table.py SWAP.csv LACAM.csv [COUNTS.txt]`` prints, per fleet size, the deliveries per
seed under both modes, their mean ± std, the paired difference, the stuck robots at the end
and the collisions (two ``warehouse sweep`` CSVs with the same sizes and seeds), then, given
the counters that ``count_repairs.py sweep ...`` printed (shields in sweep order: each size's
seeds in turn), the repair's searches, plans and search time per size. With ``--gridlocked``
(docs/results_swap.md part 6, "Caps for dense floors") the first table also lists the
gridlocked runs' seeds of each mode; counters from ``caps/count.py`` (two more columns: the
windows skipped as too crowded, the plans cut) add those two columns to the second."""

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
    """The counter rows (searches, plans, plan_steps, dropped, iterations, search_s), and
    from ``caps/count.py`` (crowded, cut) after them."""
    out = []
    with open(path, encoding="utf-8") as fh:
        for line in fh:
            parts = line.split()
            if len(parts) in (7, 9) and parts[0].isdigit():
                row = [float(p) for p in parts[1:]]
                out.append(row[:5] + row[-1:] + row[5:-1])
    return out


def locked(rows: list[dict[str, str]]) -> str:
    """The seeds of the runs that ended gridlocked, or none."""
    return ",".join(r["seed"] for r in rows if r["gridlocked"] == "True") or "none"


def main() -> None:
    ap = argparse.ArgumentParser(description="results_swap.md part 6, dense floors")
    ap.add_argument("swap")
    ap.add_argument("lacam")
    ap.add_argument("counts", nargs="?")
    ap.add_argument("--gridlocked", action="store_true", help="list the gridlocked seeds")
    a = ap.parse_args()
    swap, lacam = load(a.swap), load(a.lacam)
    extra = " gridlocked, swap → lacam |" if a.gridlocked else ""
    print(
        "| robots | seeds | deliveries `pibt_swap` | deliveries `pibt_lacam` | "
        "`pibt_swap` mean ± std | `pibt_lacam` mean ± std | difference (paired) | "
        "stuck at the end, swap → lacam | collisions |" + extra
    )
    print("|---:|---|---|---|---:|---:|---:|---|---:|" + ("---|" if a.gridlocked else ""))
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
            + (f" {locked(rs)} → {locked(rl)} |" if a.gridlocked else "")
        )
    if a.counts:
        c = counters(a.counts)
        sizes = list(lacam)
        k = 0
        caps = bool(c) and len(c[0]) > 6
        print()
        print(
            "| robots | searches per seed | plans per seed | plan steps followed | "
            "iterations (all seeds) | search time per seed (s) |"
            + (" crowded windows per seed | plans cut |" if caps else "")
        )
        print("|---:|---|---|---:|---:|---|" + ("---|---:|" if caps else ""))
        for n in sizes:
            part = c[k : k + len(lacam[n])]
            k += len(lacam[n])
            print(
                f"| {n:,} | {', '.join(str(int(r[0])) for r in part)} | "
                f"{', '.join(str(int(r[1])) for r in part)} | "
                f"{sum(int(r[2]) for r in part):,} | {sum(int(r[4]) for r in part):,} | "
                f"{', '.join(f'{r[5]:.2f}' for r in part)} |"
                + (
                    f" {', '.join(str(int(r[6])) for r in part)} | {sum(int(r[7]) for r in part)} |"
                    if caps
                    else ""
                )
            )


if __name__ == "__main__":
    main()
