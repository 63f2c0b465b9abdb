"""Compile a floor graph once into the arrays the simulation core runs on.

A :class:`CompiledFloor` holds, for the ``n`` traversable nodes (indexed ``0..n-1``):

* ``nbr[v, a]``: the node reached from ``v`` by action ``a`` (``v`` itself for WAIT and for
  actions the floor does not allow), ``mask[v, a]`` whether ``a`` is allowed, and ``length[v, a]``
  the metres travelled;
* ``pos[v]``: the integer (row, col) cell used for egocentric observation windows and drawing;
* ``kind[v]``: :class:`~warehouse.floor.kinds.NodeKind` code; ``picks`` and ``stations``: node ids;
* ``cell_of[row, col]``: node id at a cell, ``-1`` where there is none (shelf, wall, outside).

On grid floors (every edge joins 4-neighbour cells) the actions are WAIT, N, E, S, W. On other
floors they are WAIT plus neighbour *slots*: slot ``k`` is the ``k``-th out-neighbour in node-id
order. Only the largest strongly connected part of the floor is kept; cells outside it are
treated as blocked (see :attr:`CompiledFloor.notes`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import networkx as nx
import numpy as np
import scipy.sparse as sp

from ..errors import InputError
from .kinds import GRID_OFFSETS, NodeKind


@dataclass(eq=False)
class CompiledFloor:
    """Array form of a floor graph (see module docstring)."""

    graph: nx.Graph
    nodes: list[Any]
    pos: np.ndarray
    kind: np.ndarray
    nbr: np.ndarray
    mask: np.ndarray
    length: np.ndarray
    cell_of: np.ndarray
    start_ok: np.ndarray
    goal_ok: np.ndarray
    is_grid: bool
    cell_size: float
    name: str
    notes: list[str] = field(default_factory=list)

    @property
    def n_nodes(self) -> int:
        return len(self.nodes)

    @property
    def n_actions(self) -> int:
        return int(self.nbr.shape[1])

    @property
    def shape(self) -> tuple[int, int]:
        return (int(self.cell_of.shape[0]), int(self.cell_of.shape[1]))

    @property
    def picks(self) -> np.ndarray:
        return np.flatnonzero(self.kind == NodeKind.PICK).astype(np.int32)

    @property
    def stations(self) -> np.ndarray:
        return np.flatnonzero(self.kind == NodeKind.STATION).astype(np.int32)

    @property
    def blocked_cells(self) -> np.ndarray:
        """Boolean ``(H, W)`` grid: True where no traversable node is."""
        return self.cell_of < 0

    def index_of(self, node: Any) -> int:
        return self._index[node]

    def reverse_csr(self) -> sp.csr_matrix:
        """Sparse adjacency of the reversed graph (row = to, col = from), for distances to goals."""
        if self._rev is None:
            n = self.n_nodes
            src = np.repeat(np.arange(n, dtype=np.int32), self.n_actions)
            dst = self.nbr.ravel()
            keep = self.mask.ravel() & (src != dst)
            data = np.ones(int(keep.sum()), dtype=np.float32)
            self._rev = sp.csr_matrix((data, (dst[keep], src[keep])), shape=(n, n))
        return self._rev

    def __post_init__(self) -> None:
        self._index = {node: i for i, node in enumerate(self.nodes)}
        self._rev: sp.csr_matrix | None = None


def compile_floor(graph: nx.Graph, *, source: str | Path | None = None) -> CompiledFloor:
    """Compile ``graph`` (see :mod:`warehouse.floor.grid` for node conventions).

    Raises :class:`~warehouse.errors.InputError` when the floor has no traversable node, when a
    node lacks a valid ``pos`` or ``kind``, or when explicitly marked pick locations or stations
    are cut off from the main floor.
    """
    name = str(graph.graph.get("name", "floor"))
    cell_size = float(graph.graph.get("cell_size", 1.0))
    digraph = graph if graph.is_directed() else graph.to_directed(as_view=True)

    kinds_of: dict[Any, int] = {}
    for node, data in graph.nodes(data=True):
        try:
            kinds_of[node] = int(NodeKind.parse(data.get("kind", "aisle")))
        except (KeyError, ValueError):
            raise InputError(
                source, f"node {node!r}.kind", f"unknown kind {data.get('kind')!r}"
            ) from None
        if "pos" not in data:
            raise InputError(source, f"node {node!r}.pos", "missing (row, col) position")
    passable = [n for n in graph.nodes if kinds_of[n] != NodeKind.BLOCKED]
    if not passable:
        raise InputError(source, "layout", "the floor has no traversable cell")

    notes: list[str] = []
    sub = digraph.subgraph(passable)
    components = sorted(nx.strongly_connected_components(sub), key=len, reverse=True)
    main = components[0]
    cut_off = [n for c in components[1:] for n in c]
    if cut_off:
        explicit = bool(graph.graph.get("explicit_kinds", False))
        marked = [n for n in cut_off if kinds_of[n] in (NodeKind.PICK, NodeKind.STATION)]
        if marked and explicit:
            kind_name = NodeKind(kinds_of[marked[0]]).name.lower()
            raise InputError(
                source,
                "layout",
                f"{len(marked)} pick location(s)/station(s) unreachable from the rest of the "
                f"floor (first: {kind_name} at {graph.nodes[marked[0]]['pos']})",
            )
        notes.append(f"{len(cut_off)} cell(s) cut off from the main floor are treated as blocked")

    nodes = sorted(main, key=lambda n: _sort_key(graph.nodes[n]["pos"], n))
    index = {n: i for i, n in enumerate(nodes)}
    n = len(nodes)
    pos_f = np.array([graph.nodes[v]["pos"] for v in nodes], dtype=np.float64).reshape(n, 2)
    pos = np.rint(pos_f).astype(np.int32)
    pos -= pos.min(axis=0) if not graph.graph.get("grid_shape") else 0
    kind = np.array([kinds_of[v] for v in nodes], dtype=np.int8)
    start_ok = np.array([bool(graph.nodes[v].get("start", True)) for v in nodes])
    goal_ok = np.array([bool(graph.nodes[v].get("goal", True)) for v in nodes])

    edges = [
        (index[a], index[b], float(d.get("length", cell_size)))
        for a, b, d in sub.edges(data=True)
        if a in index and b in index
    ]
    offsets = {(dr, dc): a for a, (dr, dc) in enumerate(GRID_OFFSETS) if a}
    is_grid = all(
        (int(pos[b, 0] - pos[a, 0]), int(pos[b, 1] - pos[a, 1])) in offsets for a, b, _ in edges
    )
    if is_grid:
        n_actions = len(GRID_OFFSETS)
        slot_of = [
            offsets[(int(pos[b, 0] - pos[a, 0]), int(pos[b, 1] - pos[a, 1]))] for a, b, _ in edges
        ]
    else:
        out: list[list[int]] = [[] for _ in range(n)]
        for a, b, _ in edges:
            out[a].append(b)
        rank = {}
        for a, targets in enumerate(out):
            for k, b in enumerate(sorted(targets)):
                rank[(a, b)] = k + 1
        n_actions = 1 + max((len(t) for t in out), default=0)
        slot_of = [rank[(a, b)] for a, b, _ in edges]

    nbr = np.repeat(np.arange(n, dtype=np.int32)[:, None], n_actions, axis=1)
    mask = np.zeros((n, n_actions), dtype=bool)
    length = np.zeros((n, n_actions), dtype=np.float32)
    mask[:, 0] = True
    if edges:
        src = np.array([e[0] for e in edges], dtype=np.int32)
        dst = np.array([e[1] for e in edges], dtype=np.int32)
        lens = np.array([e[2] for e in edges], dtype=np.float32)
        slots = np.array(slot_of, dtype=np.int32)
        nbr[src, slots] = dst
        mask[src, slots] = True
        length[src, slots] = lens

    shape = graph.graph.get("grid_shape")
    height, width = shape if shape else (int(pos[:, 0].max()) + 1, int(pos[:, 1].max()) + 1)
    cell_of = np.full((int(height), int(width)), -1, dtype=np.int32)
    cell_of[pos[:, 0], pos[:, 1]] = np.arange(n, dtype=np.int32)
    return CompiledFloor(
        graph=graph,
        nodes=nodes,
        pos=pos,
        kind=kind,
        nbr=nbr,
        mask=mask,
        length=length,
        cell_of=cell_of,
        start_ok=start_ok,
        goal_ok=goal_ok,
        is_grid=is_grid,
        cell_size=cell_size,
        name=name,
        notes=notes,
    )


def _sort_key(pos: Any, node: Any) -> tuple[float, float, str]:
    return (float(pos[0]), float(pos[1]), repr(node))
