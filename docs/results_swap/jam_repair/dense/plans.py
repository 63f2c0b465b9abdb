"""``warehouse sweep``/``run`` with one line per plan that the ``pibt_lacam`` shield found
(docs/results_swap.md, part 6, "On dense lifelong floors"): the step of the search, the
agents, the plan's length in steps and the floor nodes it holds (the nodes its later rows
visit, barred to every other robot while it is in force). Reading them changes no run::

    python docs/results_swap/jam_repair/dense/plans.py sweep MAP --set ... --jobs 1 --out DIR
"""

from __future__ import annotations

import argparse
import sys

import numpy as np

from warehouse.shield.pibt_lacam import PIBTLaCAMShield

_search = PIBTLaCAMShield._maybe_search
ROWS: list[str] = []


def _logged(self, sim, t, mask) -> None:  # type: ignore[no-untyped-def]
    before = self.plans
    _search(self, sim, t, mask)
    if self.plans > before:
        _, t0, agents, plan = self._plan_in_force
        nodes = np.unique(plan[1:].ravel()).size
        ROWS.append(
            f"{id(self) % 100000:6d}  {t0:5d}  {agents.size:6d}  {plan.shape[0] - 1:6d}  {nodes:6d}"
        )


def main() -> None:
    ap = argparse.ArgumentParser(description="warehouse sweep/run with pibt_lacam's plans")
    ap.add_argument("args", nargs=argparse.REMAINDER, help="warehouse's arguments (sweep ...)")
    args = ap.parse_args().args
    PIBTLaCAMShield._maybe_search = _logged  # type: ignore[method-assign]
    from warehouse.cli.main import main as cli

    try:
        sys.argv = ["warehouse", *args]
        cli()
    except SystemExit as exc:
        code = exc.code
    else:
        code = 0
    print("shield  step  agents  length  nodes")
    print("\n".join(ROWS))
    sys.exit(code)


if __name__ == "__main__":
    main()
