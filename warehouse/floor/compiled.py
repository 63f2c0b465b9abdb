"""Compile a floor graph once into the arrays the simulation core runs on.

A :class:`CompiledFloor` holds, for the ``n`` traversable nodes (indexed ``0..n-1``):

* ``nbr[v, a]``: the node reached from ``v`` by action ``a`` (``v`` itself for WAIT and for
  actions the floor does not allow), ``mask[v, a]`` whether ``a`` is allowed, and ``length[v, a]``
  the metres travelled;
* ``pos[v]``: the integer (row, col) cell used for egocentric observation windows and drawing:
  the node's ``cell`` attribute where it has one, else its ``pos`` rounded;
* ``kind[v]``: :class:`~warehouse.floor.kinds.NodeKind` code; ``picks`` and ``stations``: node ids;
* ``cell_of[row, col]``: node id at a cell, ``-1`` where there is none (shelf, wall, outside);
* ``transit[v]``: whether ``v`` is a transit node of a long edge split by ``physics.speed_m_s``
  (:mod:`warehouse.floor.transit`). Each has a cell of its own, as every node has: the cell its
  position rounds to, or the free cell the split chose (node attribute ``cell``).
* ``charger[v]``: whether ``v`` carries a charger mark (node attribute ``charger=True``: ``C`` in an
  ASCII drawing, ``"charger": true`` in a waypoint graph), the chargers ``battery.chargers``
  defaults to. A mark, not a kind: the node keeps its kind (aisle or parking).

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
from scipy.sparse.csgraph import connected_components

from ..errors import InputError
from .kinds import GRID_OFFSETS, NodeKind
from .transit import SPLIT_KEY, TRANSIT_KEY, EdgeSplit


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
    transit: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=bool))
    charger: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=bool))

    def __post_init__(self) -> None:
        if self.transit.size != len(self.nodes):
            self.transit = np.zeros(len(self.nodes), dtype=bool)
        if self.charger.size != len(self.nodes):
            self.charger = np.zeros(len(self.nodes), dtype=bool)
        self._index = {node: i for i, node in enumerate(self.nodes)}
        self._rev: sp.csr_matrix | None = None
        self._picks: np.ndarray | None = None
        self._stations: np.ndarray | None = None

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
        """Node ids of pick locations (cached; treat as read-only)."""
        if self._picks is None:
            self._picks = np.flatnonzero(self.kind == NodeKind.PICK).astype(np.int32)
        return self._picks

    @property
    def stations(self) -> np.ndarray:
        """Node ids of stations (cached; treat as read-only)."""
        if self._stations is None:
            self._stations = np.flatnonzero(self.kind == NodeKind.STATION).astype(np.int32)
        return self._stations

    @property
    def edge_split(self) -> EdgeSplit | None:
        """The :class:`~warehouse.floor.transit.EdgeSplit` of a floor built with
        ``physics.speed_m_s``, else ``None``."""
        split = self.graph.graph.get(SPLIT_KEY)
        return EdgeSplit(**split) if isinstance(split, dict) else None

    @property
    def blocked_cells(self) -> np.ndarray:
        """Boolean ``(H, W)`` grid: True where no traversable node is."""
        return self.cell_of < 0

    def index_of(self, node: Any) -> int:
        return self._index[node]

    def moves(self) -> tuple[np.ndarray, np.ndarray]:
        """``(from, to)`` node ids of every allowed move (WAIT and moves onto itself left out)."""
        n, n_actions = self.nbr.shape
        src = np.repeat(np.arange(n), n_actions - 1)
        dst = self.nbr[:, 1:].ravel()
        keep = self.mask[:, 1:].ravel() & (dst != src)
        return src[keep], dst[keep]

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


def compile_floor(graph: nx.Graph, *, source: str | Path | None = None) -> CompiledFloor:
    """Compile ``graph`` (see :mod:`warehouse.floor.grid` for node conventions).

    Raises :class:`~warehouse.errors.InputError` when the floor has no traversable node, when a
    node lacks a valid ``pos`` or ``kind``, or when explicitly marked pick locations or stations
    are cut off from the main floor.
    """
    name = str(graph.graph.get("name", "floor"))
    cell_size = float(graph.graph.get("cell_size", 1.0))

    kinds_of: dict[Any, int] = {}
    drawn: dict[Any, Any] = {}  # nodes drawn away from their rounded pos (warehouse.floor.transit)
    for node, data in graph.nodes(data=True):
        if "cell" in data:
            drawn[node] = data["cell"]
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

    notes: list[str] = list(graph.graph.get("reader_notes", []))  # (the format a reader chose)
    # Strongly connected parts on index arrays (networkx subgraph views are slow on big floors).
    local = {v: i for i, v in enumerate(passable)}
    src_l, dst_l, len_l = [], [], []
    two_way = not graph.is_directed()
    for a, b, d in graph.edges(data="length", default=cell_size):
        ia, ib = local.get(a), local.get(b)
        if ia is not None and ib is not None:
            src_l += [ia, ib] if two_way else [ia]
            dst_l += [ib, ia] if two_way else [ib]
            len_l += [float(d)] * (2 if two_way else 1)
    m = len(passable)
    adj = sp.csr_matrix((np.ones(len(src_l), dtype=np.int8), (src_l, dst_l)), shape=(m, m))
    _, labels = connected_components(adj, directed=True, connection="strong")
    in_main = labels == np.bincount(labels).argmax()
    main = [v for v, keep in zip(passable, in_main.tolist(), strict=True) if keep]
    cut_off = [v for v, keep in zip(passable, in_main.tolist(), strict=True) if not keep]
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

    node_data = graph.nodes
    nodes = sorted(main, key=lambda v: _sort_key(node_data[v]["pos"], v))
    n = len(nodes)
    pos_f = np.array([node_data[v]["pos"] for v in nodes], dtype=np.float64).reshape(n, 2)
    pos = np.rint(pos_f).astype(np.int32)
    if drawn and (moved := [i for i, v in enumerate(nodes) if v in drawn]):
        pos[moved] = [drawn[nodes[i]] for i in moved]
    pos -= pos.min(axis=0) if not graph.graph.get("grid_shape") else 0
    kind = np.array([kinds_of[v] for v in nodes], dtype=np.int8)
    start_ok = np.array([bool(node_data[v].get("start", True)) for v in nodes])
    transit_ids = graph.graph.get(TRANSIT_KEY) or frozenset()
    transit = np.array([v in transit_ids for v in nodes], dtype=bool).reshape(n)
    goal_ok = np.array([bool(node_data[v].get("goal", True)) for v in nodes])
    charger = np.array([bool(node_data[v].get("charger", False)) for v in nodes], dtype=bool)

    new_of_local = np.full(m, -1, dtype=np.int64)
    new_of_local[[local[v] for v in nodes]] = np.arange(n)
    e_src = new_of_local[np.asarray(src_l, dtype=np.int64)]
    e_dst = new_of_local[np.asarray(dst_l, dtype=np.int64)]
    keep_e = (e_src >= 0) & (e_dst >= 0)
    src = e_src[keep_e].astype(np.int32)
    dst = e_dst[keep_e].astype(np.int32)
    lens = np.asarray(len_l, dtype=np.float32)[keep_e]
    # Grid action of each edge from its (d_row, d_col); -1 where the step is not a grid move.
    step_action = np.full((3, 3), -1, dtype=np.int32)
    for a, (dr, dc) in enumerate(GRID_OFFSETS):
        if a:
            step_action[dr + 1, dc + 1] = a
    d = pos[dst] - pos[src]
    inside = (np.abs(d) <= 1).all(axis=1)
    grid_slot = np.full(src.size, -1, dtype=np.int32)
    grid_slot[inside] = step_action[d[inside, 0] + 1, d[inside, 1] + 1]
    is_grid = bool((grid_slot > 0).all())
    if is_grid:
        n_actions = len(GRID_OFFSETS)
        slots = grid_slot
    else:
        # Slot k is the k-th out-neighbour in node-id order.
        order = np.lexsort((dst, src))
        src, dst, lens = src[order], dst[order], lens[order]
        first = np.searchsorted(src, np.arange(n), side="left")
        slots = (np.arange(src.size) - first[src] + 1).astype(np.int32)
        n_actions = 1 + int(np.bincount(src, minlength=n).max(initial=0))

    nbr = np.repeat(np.arange(n, dtype=np.int32)[:, None], n_actions, axis=1)
    mask = np.zeros((n, n_actions), dtype=bool)
    length = np.zeros((n, n_actions), dtype=np.float32)
    mask[:, 0] = True
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
        transit=transit,
        charger=charger.reshape(n),
    )


def _sort_key(pos: Any, node: Any) -> tuple[float, float, str]:
    return (float(pos[0]), float(pos[1]), repr(node))
