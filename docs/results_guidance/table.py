"""The tables of docs/results_guidance.md from sweep.csv files.

``python docs/results_guidance/table.py RULE_BASED.csv GUIDED.csv``: one row per fleet size,
throughput a step (mean ± 95 % CI over seeds, Student t), the ratio of means, stuck robots
(mean) and collisions (sum), over the seeds both files hold.

``python docs/results_guidance/table.py --rescue PLAIN.csv GUIDE.csv``: the ``guided`` rows of
two sweeps, the first with the plain stall rescue (``guide_rescue=false``), the second with the
guide's (the default since session 41): per fleet size, over the seeds both hold, throughput a
step of each (mean ± 95 % CI), the paired per-seed difference (mean ± 95 % CI, Student t), the
ratio of means, stuck robots (mean) and collisions (sum)."""

from __future__ import annotations

import csv
import statistics as st
import sys
from collections import defaultdict

from scipy import stats


def _ci(x: list[float]) -> float:
    return float(stats.t.ppf(0.975, len(x) - 1) * st.stdev(x) / len(x) ** 0.5)


def _mean_ci(x: list[float]) -> str:
    return f"{st.mean(x):.2f} ± {_ci(x):.2f}" if len(x) > 1 else f"{x[0]:.2f}"


def main(files: list[str]) -> None:
    by: dict[tuple[int, str], dict[str, dict[str, str]]] = defaultdict(dict)
    for name in files:
        with open(name, newline="") as fh:
            for r in csv.DictReader(fh):
                by[(int(r["fleet.robots"]), r["policy"])][r["seed"]] = r
    print("| robots | seeds | rule_based | guided | ratio | stuck rule_based | stuck guided "
          "| collisions |")  # fmt: skip
    print("|---:|---:|---:|---:|---:|---:|---:|---:|")
    for n in sorted({k[0] for k in by}):
        a, b = by[(n, "rule_based")], by[(n, "guided")]
        seeds = sorted(set(a) & set(b))
        if not seeds:
            continue
        ta = [float(a[s]["throughput_per_step"]) for s in seeds]
        tb = [float(b[s]["throughput_per_step"]) for s in seeds]
        sa = st.mean(int(a[s]["stuck_robots"]) for s in seeds)
        sb = st.mean(int(b[s]["stuck_robots"]) for s in seeds)
        col = sum(int(a[s]["collisions"]) + int(b[s]["collisions"]) for s in seeds)
        print(f"| {n:,} | {len(seeds)} | {_mean_ci(ta)} | {_mean_ci(tb)} | "
              f"×{st.mean(tb) / st.mean(ta):.2f} | {sa:,.0f} | {sb:,.0f} | {col} |")  # fmt: skip


def rescue(plain: str, guide: str) -> None:
    """The plain-rescue against guide-rescue table (module docstring)."""
    rows: list[dict[tuple[int, str], dict[str, str]]] = []
    for name in (plain, guide):
        with open(name, newline="") as fh:
            rows.append(
                {(int(r["fleet.robots"]), r["seed"]): r for r in csv.DictReader(fh)
                 if r["policy"] == "guided"}
            )  # fmt: skip
    a, b = rows
    print("| robots | seeds | plain rescue | guide rescue | difference (paired) | ratio "
          "| stuck plain | stuck guide | collisions |")  # fmt: skip
    print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for n in sorted({k[0] for k in a} & {k[0] for k in b}):
        seeds = sorted({s for m, s in a if m == n} & {s for m, s in b if m == n}, key=int)
        ta = [float(a[(n, s)]["throughput_per_step"]) for s in seeds]
        tb = [float(b[(n, s)]["throughput_per_step"]) for s in seeds]
        d = [y - x for x, y in zip(ta, tb, strict=True)]
        sa = st.mean(int(a[(n, s)]["stuck_robots"]) for s in seeds)
        sb = st.mean(int(b[(n, s)]["stuck_robots"]) for s in seeds)
        col = sum(int(a[(n, s)]["collisions"]) + int(b[(n, s)]["collisions"]) for s in seeds)
        diff = f"{st.mean(d):+.3f} ± {_ci(d):.3f}" if len(d) > 1 else f"{d[0]:+.3f}"
        print(f"| {n:,} | {len(seeds)} | {_mean_ci(ta)} | {_mean_ci(tb)} | {diff} | "
              f"×{st.mean(tb) / st.mean(ta):.3f} | {sa:,.1f} | {sb:,.1f} | {col} |")  # fmt: skip


if __name__ == "__main__":
    if sys.argv[1] == "--rescue":
        rescue(sys.argv[2], sys.argv[3])
    else:
        main(sys.argv[1:])
