"""Hand-built scenes for the shield tests: small grid floors, exact distance tables and a
stepping loop (shared by the PIBT-with-swap tests)."""

from __future__ import annotations

import networkx as nx
import numpy as np

from warehouse.floor import NodeKind, compile_floor, graph_from_grid
from warehouse.floor.distances import UNREACHABLE

WAIT, N, E, S, W = range(5)


def grid_floor(rows: list[str], row_dirs=None, col_dirs=None):
    """``.`` aisle, ``#`` blocked; optional one-way rows/columns (``graph_from_grid``)."""
    kinds = np.array(
        [[NodeKind.BLOCKED if ch == "#" else NodeKind.AISLE for ch in r] for r in rows]
    )
    return compile_floor(graph_from_grid(kinds, row_directions=row_dirs, col_directions=col_dirs))


def at(floor, r, c) -> int:
    """The node of cell ``(r, c)``."""
    return int(floor.cell_of[r, c])


def dist_table(floor, targets) -> np.ndarray:
    """``table[k, v]``: steps from node ``v`` to ``targets[k]`` along the floor's directed moves."""
    graph = nx.DiGraph()
    graph.add_nodes_from(range(floor.n_nodes))
    graph.add_edges_from(zip(*(m.tolist() for m in floor.moves()), strict=True))
    table = np.full((len(targets), floor.n_nodes), UNREACHABLE, dtype=np.uint16)
    for k, g in enumerate(targets):
        for v, d in nx.shortest_path_length(graph, target=int(g)).items():
            table[k, v] = d
    return table


def first_arrivals(sim, shield, steps: int) -> np.ndarray:
    """Step ``sim`` ``steps`` times; the step at which each robot first stood on its target
    (-1: never)."""
    first = np.full(sim.state.pos.size, -1)
    for t in range(steps):
        sim.step(shield)
        hit = (sim.state.pos == sim.state.target) & (first < 0)
        first[hit] = t + 1
    return first


def shielded_step(sim, shield, actions, prefs, mask) -> np.ndarray:
    """One step of a stand-in ``sim``: the shield's joint action for the proposals, checked
    safe and allowed, then applied (positions, and ``since_goal`` reset on arrival)."""
    from test_pibt import check_safe

    out = shield(sim, actions, prefs, mask)
    check_safe(sim.floor, sim.state.pos, out, mask)
    sim.state.pos = sim.floor.nbr[sim.state.pos, out].astype(np.int32)
    arrived = sim.state.pos == sim.state.target
    sim.state.since_goal = np.where(arrived, 0, sim.state.since_goal + 1).astype(np.int32)
    return out
