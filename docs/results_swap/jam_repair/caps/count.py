"""``warehouse run``/``sweep`` with the ``pibt_lacam`` shield's counters and, optionally, its
settings changed (docs/results_swap.md, part 6, "Caps for dense floors").

Runs ``warehouse ARGS...`` in this process (``--jobs 1``: the shields live here). Arguments
before ``--`` of the form ``NAME=VALUE`` (whole numbers) set the shield's settings
(``max_agents=32``, ``max_follow=1000000``, ...) on every ``pibt_lacam`` shield made. When the
run ends it prints one line per shield, in the order made (a sweep's: each size's seeds in
turn): the searches, plans found, plan steps followed, plans dropped before their end, search
iterations, windows skipped as too crowded, plans cut to ``max_follow`` steps, and the wall
time of the shield's search calls (a clock read around each call that ran a search, for this
count only: it changes no run; the process's first such call, with numba's compile, is left
out and printed apart). Usage::

    python docs/results_swap/jam_repair/caps/count.py [max_agents=32 ...] -- sweep MAP \\
        --set physics.collisions=pibt_lacam ... --jobs 1 --out DIR
"""

from __future__ import annotations

import argparse
import sys
import time

from warehouse.shield.pibt_lacam import PIBTLaCAMShield

SHIELDS: list[PIBTLaCAMShield] = []
FIRST: list[float] = []  # the process's first search call (with the compile)
SETTINGS: dict[str, int] = {}
_init = PIBTLaCAMShield.__init__
_search = PIBTLaCAMShield._maybe_search


def _counted_init(self, *args, **kwargs) -> None:  # type: ignore[no-untyped-def]
    _init(self, *args, **kwargs)
    for name, value in SETTINGS.items():
        if not hasattr(self, name):
            raise SystemExit(f"count.py: the shield has no setting {name!r}")
        setattr(self, name, value)
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
    """Parse ``[NAME=VALUE ...] -- warehouse's arguments`` and run them with the counters."""
    ap = argparse.ArgumentParser(description="warehouse with pibt_lacam's counters and settings")
    ap.add_argument(
        "args", nargs=argparse.REMAINDER, help="[NAME=VALUE ...] -- warehouse's arguments"
    )
    argv = ap.parse_args().args
    if "--" not in argv:
        ap.error("give the shield's settings, then --, then warehouse's arguments")
    cut = argv.index("--")
    for arg in argv[:cut]:
        name, _, value = arg.partition("=")
        if not value.lstrip("-").isdigit():
            ap.error(f"{arg!r}: a setting is NAME=WHOLE_NUMBER")
        SETTINGS[name] = int(value)
    PIBTLaCAMShield.__init__ = _counted_init  # type: ignore[method-assign]
    PIBTLaCAMShield._maybe_search = _timed_search  # type: ignore[method-assign]
    from warehouse.cli.main import main as cli

    try:
        sys.argv = ["warehouse", *argv[cut + 1 :]]
        cli()
    except SystemExit as exc:
        code = exc.code
    else:
        code = 0
    print(f"settings: {SETTINGS or 'defaults'}")
    print(f"first search (with the compile, left out below): {sum(FIRST):.3f} s")
    print("shield  searches  plans  plan_steps  dropped  iterations  crowded  cut  search_s")
    for k, s in enumerate(SHIELDS):
        print(
            f"{k:6d}  {s.repairs:8d}  {s.plans:5d}  {s.planned_steps:10d}  {s.dropped:7d}  "
            f"{s.search_iterations:10d}  {s.crowded:7d}  {s.cut:3d}  {s.search_seconds:8.3f}"
        )
    sys.exit(code)


if __name__ == "__main__":
    main()
