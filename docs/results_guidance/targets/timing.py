"""Wall time per run and per step, by floor and config, from ``hierarchy.evaluate``'s log.

``python docs/results_guidance/targets/timing.py LOG SEEDS STEPS``: the log prints, after each
floor's config, the seconds since the runs began; the difference to the line before is that
config's wall time over its SEEDS runs (the first line also holds loading what the first run
needs). Printed as ms per fleet step (dispatcher, navigator, shield, simulation), one table row
per floor. Wall time on a shared machine: a rough guide, not a benchmark."""

from __future__ import annotations

import re
import sys
from collections import defaultdict


def main(log: str, seeds: int, steps: int) -> None:
    wall: dict[str, dict[str, float]] = defaultdict(dict)
    before = 0.0
    with open(log, encoding="utf-8") as fh:
        for line in fh:
            if m := re.match(r"^(\S+)\s+(.+?)\s+([\d.]+)s$", line.rstrip()):
                floor, config, at = m[1], m[2], float(m[3])
                wall[floor][config] = at - before
                before = at
    configs = list(dict.fromkeys(c for per in wall.values() for c in per))
    print(f"ms per fleet step (wall, {seeds} runs × {steps} steps each):\n")
    print("| floor | " + " | ".join(configs) + " |")
    print("|---|" + "---:|" * len(configs))
    for floor, per in wall.items():
        cells = [f"{1000 * per[c] / (seeds * steps):.2f}" if c in per else "—" for c in configs]
        print(f"| {floor} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]), int(sys.argv[3]))
