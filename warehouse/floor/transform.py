"""Whole-floor transforms applied to a floor graph before it is compiled.

:func:`transpose_floor` swaps rows and columns (a mirror about the main diagonal): aisles that
ran north-south run east-west, the west wall becomes the north wall, one-way aisles keep their
sense along the turned axis. It is ``layout.transpose`` in a scenario, for every kind of floor:
a way to check whether a fleet (a learned navigator above all) depends on the orientation of
the floor, and a way to train on both orientations of the same floor.
"""

from __future__ import annotations

from typing import Any

import networkx as nx

from .formats.common import TRANSIT_KEY


def _swap(value: Any) -> Any:
    return (value[1], value[0])


def _is_cell_id(node: Any) -> bool:
    return (
        isinstance(node, tuple)
        and len(node) == 2
        and all(isinstance(v, int) and not isinstance(v, bool) for v in node)
    )


def transpose_floor(graph: nx.Graph) -> nx.Graph:
    """A copy of ``graph`` with rows and columns swapped.

    Node positions (``pos``, and ``cell`` where a long edge was split) become ``(col, row)``;
    grid-cell node ids ``(row, col)`` become ``(col, row)`` (other ids are kept); the graph's
    ``grid_shape`` is swapped, and its transit-node marks follow their nodes. Edges, their
    direction and their attributes are unchanged, so distances and one-way rules carry over.
    Transposing twice gives the original graph back.
    """
    mapping = {n: _swap(n) for n in graph.nodes if _is_cell_id(n)}
    out = nx.relabel_nodes(graph, mapping, copy=True)
    for _, data in out.nodes(data=True):
        for key in ("pos", "cell"):
            if key in data:
                data[key] = _swap(data[key])
    shape = out.graph.get("grid_shape")
    if shape is not None:
        out.graph["grid_shape"] = _swap(shape)
    transit = out.graph.get(TRANSIT_KEY)
    if transit is not None:
        out.graph[TRANSIT_KEY] = frozenset(mapping.get(v, v) for v in transit)
    return out
