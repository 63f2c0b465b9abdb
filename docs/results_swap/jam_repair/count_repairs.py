"""``warehouse run`` with the ``pibt_lacam`` shield's repair counters (docs/results_swap.md,
part 6).

Runs ``warehouse run ARGS...`` in this process (``--jobs 1``: the shields live here) and, when it
ends, prints one line per episode shielded by ``pibt_lacam``: the searches started, those that
found a plan, the plan steps followed, the plans dropped before their end, the search
iterations, and the wall time the searches took (a clock read around each search for this
count only: it changes no run; the process's first search, which includes numba's compile of
the search, is left out of the time and counted apart). Usage::

    python docs/results_swap/jam_repair/count_repairs.py run FLOOR --policy P \\
        --collisions pibt_lacam --seeds 0..9 --steps 3600 --jobs 1 --out DIR
"""

from __future__ import annotations

import argparse
import sys
import time

from warehouse.shield.pibt_lacam import PIBTLaCAMShield

SHIELDS: list[PIBTLaCAMShield] = []
FIRST: list[float] = []  # the process's first search (with the compile)
_init = PIBTLaCAMShield.__init__
_search = PIBTLaCAMShield._maybe_search


def _counted_init(self, *args, **kwargs) -> None:  # type: ignore[no-untyped-def]
    _init(self, *args, **kwargs)
    self.search_seconds = 0.0
    SHIELDS.append(self)


def _timed_search(self, sim, t, mask) -> None:  # type: ignore[no-untyped-def]
    t0 = time.perf_counter()
    before = self.repairs
    _search(self, sim, t, mask)
    if self.repairs > before:
        if FIRST:
            self.search_seconds += time.perf_counter() - t0
        else:
            FIRST.append(time.perf_counter() - t0)


def main() -> None:
    ap = argparse.ArgumentParser(description="warehouse run with pibt_lacam's counters")
    ap.add_argument("args", nargs=argparse.REMAINDER, help="warehouse's arguments (run ...)")
    args = ap.parse_args().args
    PIBTLaCAMShield.__init__ = _counted_init  # type: ignore[method-assign]
    PIBTLaCAMShield._maybe_search = _timed_search  # type: ignore[method-assign]
    from warehouse.cli.main import main as cli

    try:
        sys.argv = ["warehouse", *args]
        cli()
    except SystemExit as exc:
        code = exc.code
    else:
        code = 0
    print(f"first search (with the compile, left out below): {sum(FIRST):.3f} s")
    print("shield  searches  plans  plan_steps  dropped  iterations  search_s")
    for k, s in enumerate(SHIELDS):
        print(
            f"{k:6d}  {s.repairs:8d}  {s.plans:5d}  {s.planned_steps:10d}  {s.dropped:7d}  "
            f"{s.search_iterations:10d}  {s.search_seconds:8.3f}"
        )
    sys.exit(code)


if __name__ == "__main__":
    main()
