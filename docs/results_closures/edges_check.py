"""Per seed, for `small_cross_aisle.yaml` with its cross-aisle edges (`cross`) or one lane's two
doors (`doors`) closed from 600 s to 1,200 s: robots shut in as the edges close, the most orders
held at once, and the moves along a closed edge while it is closed and after it reopens.

    python docs/results_closures/edges_check.py cross|doors
"""

import sys

from warehouse.model import WarehouseModel

DOORS = [[[6, 20], [6, 21]], [[6, 28], [6, 29]]]
CROSS = [[[r, 29], [r + 1, 29]] for r in range(12)]
SCENARIO = "docs/results_closures/small_cross_aisle.yaml"

edges = DOORS if sys.argv[1] == "doors" else CROSS
closure = {"edges": edges, "start_s": 600, "end_s": 1200}
for policy in ("rule_based", "hierarchical"):
    for seed in range(5):
        model = WarehouseModel(
            SCENARIO,
            seed=seed,
            policy=policy,
            steps=1800,
            per_robot=False,
            **{"faults.closures": [closure]},
        )
        sim = model.sim
        cell = sim.floor.cell_of
        pairs = [(int(cell[tuple(a)]), int(cell[tuple(b)])) for a, b in edges]
        shut, held, closed_moves, open_moves = 0, 0, 0, 0
        while model.running:
            before, t = sim.state.pos.copy(), sim.t
            model.step()
            after = sim.state.pos
            n = sum(
                int((((before == u) & (after == v)) | ((before == v) & (after == u))).sum())
                for u, v in pairs
            )
            if 600 <= t < 1200:
                closed_moves += n
            elif t >= 1200:
                open_moves += n
            if sim.t == 600 and sim.shut_in is not None:
                shut = int(sim.shut_in[sim.state.pos].sum())
            if 600 <= sim.t < 1200:
                held = max(held, int(sim.open_orders().size - sim.dispatchable_orders().size))
        print(
            f"{sys.argv[1]} {policy} seed {seed}: shut in at 600 s {shut}, held at most {held}, "
            f"moves along closed edges while closed {closed_moves}, after {open_moves}",
            flush=True,
        )
