"""The per-seed table of docs/results_swap.md, part 6: ``python table.py BEFORE.json AFTER.json``
prints one row per policy and report (deliveries per seed, their mean ± std, the jammed
robots at the end per seed and the gridlocked seeds), the reports' policies in order."""

from __future__ import annotations

import argparse
import json
import statistics


def rows(path: str) -> list[str]:
    """The table rows of one ``warehouse run`` report."""
    with open(path, encoding="utf-8") as fh:
        report = json.load(fh)
    out = []
    for run in report["runs"]:
        d = run["kpis"]["deliveries"]["per_seed"]
        jam = run["kpis"]["jammed_robots"]["per_seed"]
        locked = ", ".join(map(str, run["gridlocked_seeds"])) or "none"
        out.append(
            f"| {run['policy']} | {', '.join(map(str, d))} | {statistics.mean(d):,.1f} ± "
            f"{statistics.stdev(d) if len(d) > 1 else 0.0:,.1f} | "
            f"{', '.join(str(round(j)) for j in jam)} | {locked} |"
        )
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description="the per-seed table of results_swap.md, part 6")
    ap.add_argument("reports", nargs="+", help="warehouse run report.json files")
    reports = ap.parse_args().reports
    print("| policy | deliveries per seed | mean ± std | jammed robots at the end | gridlocked |")
    print("|---|---|---|---|---|")
    for path in reports:
        print("\n".join(rows(path)))


if __name__ == "__main__":
    main()
