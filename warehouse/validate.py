"""Independent conflict checker for recorded fleet trajectories.

This module re-checks what the simulation did from first principles: it reads only the
networkx floor graph and the robots' positions, and deliberately imports nothing from
:mod:`warehouse.core` or the compiled floor, so a bug in the core cannot hide itself.

Trajectory format: ``positions`` has shape ``(T + 1, N)``; row ``t`` holds where each of the
``N`` robots stands after step ``t`` (row 0 is the start). Entries are either graph node keys
(e.g. ``(row, col)`` tuples, given as a nested list or an object array) or integer node ids
together with ``nodes``, the list mapping ids to node keys (``CompiledFloor.nodes``).

Each returned :class:`Violation` names the step ``t`` (the row of ``positions`` where the problem
shows: the move from row ``t - 1`` to row ``t``, or the start placement for ``t = 0``) and a kind:

========== ==================================================================================
``vertex`` two or more robots on one node in row ``t``; ``node`` is that node
``swap``   two robots exchange nodes over one edge between rows ``t - 1`` and ``t``;
           ``node`` is the pair ``(u, v)`` of the first robot's move
``edge``   a robot moves between nodes that no graph edge joins (respecting direction on a
           ``DiGraph``); ``node`` is the pair ``(u, v)``
``node``   a robot stands on a node missing from the graph or of kind ``"blocked"``
========== ==================================================================================

Following a robot that leaves and rotating cycles of three or more robots are legal, as in
the core's movement rules.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import networkx as nx
import numpy as np

KINDS = ("vertex", "swap", "edge", "node")


@dataclass(frozen=True)
class Violation:
    """One broken rule in a trajectory (see module docstring)."""

    step: int
    kind: str  #: one of :data:`KINDS`
    robots: tuple[int, ...]
    node: Any


def validate_trajectory(
    graph: nx.Graph,
    positions: Sequence[Sequence[Any]] | np.ndarray,
    nodes: Sequence[Any] | None = None,
) -> list[Violation]:
    """Every vertex, swap, edge and node violation in ``positions``, sorted by step.

    ``nodes`` maps integer positions to graph node keys; without it ``positions`` holds node
    keys. Returns ``[]`` for a clean trajectory. Raises ValueError for ``positions`` not of
    shape ``(T + 1, N)``, or (with ``nodes``) not integer ids.
    """
    keys = list(graph.nodes)
    index = {k: i for i, k in enumerate(keys)}
    ids = _to_ids(positions, index, nodes)  # (T + 1, N) int64, -1 = not a graph node
    if ids.size == 0:
        return []
    out = _node_violations(graph, ids, keys, positions, nodes)
    out += _vertex_violations(ids, keys)
    if ids.shape[0] > 1:
        src, dst = ids[:-1], ids[1:]
        step, robot = np.nonzero((src != dst) & (src >= 0) & (dst >= 0))
        u, v = src[step, robot], dst[step, robot]
        out += _edge_violations(graph, index, keys, step, robot, u, v)
        out += _swap_violations(keys, step, robot, u, v)
    out.sort(key=lambda x: (x.step, KINDS.index(x.kind), x.robots))
    return out


def _node_violations(graph, ids, keys, positions, nodes) -> list[Violation]:  # type: ignore[no-untyped-def]
    """Robots on nodes nobody may stand on (blocked or unknown)."""
    kinds = [kind == "blocked" for _, kind in graph.nodes(data="kind")]
    blocked = np.array([*kinds, True])  # the extra entry catches index -1 (unknown node)
    out = []
    for t, r in zip(*np.nonzero(blocked[ids]), strict=True):
        bad = int(ids[t, r])
        node = keys[bad] if bad >= 0 else _raw(positions, nodes, int(t), int(r))
        out.append(Violation(int(t), "node", (int(r),), node))
    return out


def _vertex_violations(ids: np.ndarray, keys: list[Any]) -> list[Violation]:
    """Two or more robots on one node in the same row."""
    order = np.argsort(ids, axis=1, kind="stable")
    srt = np.take_along_axis(ids, order, axis=1)
    dup = (srt[:, 1:] == srt[:, :-1]) & (srt[:, 1:] >= 0)
    out = []
    for t in np.flatnonzero(dup.any(axis=1)):
        vals, first, counts = np.unique(srt[t], return_index=True, return_counts=True)
        for v, f, c in zip(vals, first, counts, strict=True):
            if c > 1 and v >= 0:
                robots = tuple(sorted(int(x) for x in order[t, f : f + c]))
                out.append(Violation(int(t), "vertex", robots, keys[int(v)]))
    return out


def _edge_violations(graph, index, keys, step, robot, u, v) -> list[Violation]:  # type: ignore[no-untyped-def]
    """Moves ``u -> v`` (graph indices) that no edge allows, respecting direction."""
    n = len(keys)
    ends = np.array([(index[a], index[b]) for a, b in graph.edges], dtype=np.int64).reshape(-1, 2)
    codes = ends[:, 0] * n + ends[:, 1]
    if not graph.is_directed():
        codes = np.concatenate([codes, ends[:, 1] * n + ends[:, 0]])
    codes = np.unique(codes)
    moves = u * n + v
    if codes.size:
        illegal = codes[np.minimum(np.searchsorted(codes, moves), codes.size - 1)] != moves
    else:
        illegal = np.ones(moves.size, dtype=bool)
    return [
        Violation(int(step[m]) + 1, "edge", (int(robot[m]),), (keys[u[m]], keys[v[m]]))
        for m in np.flatnonzero(illegal)
    ]


def _swap_violations(keys, step, robot, u, v) -> list[Violation]:  # type: ignore[no-untyped-def]
    """Pairs of robots crossing one edge in opposite directions in the same step."""
    if step.size == 0:
        return []
    n = len(keys)
    pair = np.minimum(u, v) * n + np.maximum(u, v)
    if (int(step.max()) + 1) * n * n < 2**62:
        edge = step * (n * n) + pair
        _, group, size = np.unique(edge, return_inverse=True, return_counts=True)
    else:  # huge graph and log: compare rows instead of packed codes
        edge = np.stack([step, pair], axis=1)
        _, group, size = np.unique(edge, axis=0, return_inverse=True, return_counts=True)
    group = group.ravel()
    forward = u < v
    n_fwd = np.bincount(group, weights=forward, minlength=size.size)
    crossed = (n_fwd > 0) & (n_fwd < size)
    members = np.flatnonzero(crossed[group])  # moves on edges used both ways
    members = members[np.argsort(group[members], kind="stable")]
    out = []
    for chunk in np.split(members, np.flatnonzero(np.diff(group[members])) + 1):
        if chunk.size == 0:
            continue
        for a in chunk[forward[chunk]]:
            for b in chunk[~forward[chunk]]:
                (i, ui, vi), (j, _, _) = sorted(
                    [(int(robot[a]), u[a], v[a]), (int(robot[b]), u[b], v[b])]
                )
                out.append(Violation(int(step[a]) + 1, "swap", (i, j), (keys[ui], keys[vi])))
    return out


def _to_ids(
    positions: Sequence[Sequence[Any]] | np.ndarray,
    index: dict[Any, int],
    nodes: Sequence[Any] | None,
) -> np.ndarray:
    """``(T + 1, N)`` graph indices (``-1`` for keys missing from the graph)."""
    if nodes is not None:
        raw = np.asarray(positions)
        if raw.ndim != 2:
            raise ValueError("positions must have shape (T + 1, N)")
        if raw.size and raw.dtype.kind not in "iu":  # 1.9 is not the node 1
            raise ValueError(f"positions must be integer node ids, got dtype {raw.dtype}")
        arr = raw.astype(np.int64)
        lut = np.array([index.get(k, -1) for k in nodes] + [-1], dtype=np.int64)
        bad = (arr < 0) | (arr >= len(nodes))
        return lut[np.where(bad, len(nodes), arr)]
    rows = [list(row) for row in positions]
    if rows and len({len(r) for r in rows}) != 1:
        raise ValueError("positions must have shape (T + 1, N)")
    return np.array(
        [[index.get(_hashable(k), -1) for k in row] for row in rows], dtype=np.int64
    ).reshape(len(rows), len(rows[0]) if rows else 0)


def _hashable(key: Any) -> Any:
    if isinstance(key, np.ndarray):
        return tuple(key.tolist())
    if isinstance(key, list):
        return tuple(key)
    return key


def _raw(positions: Any, nodes: Sequence[Any] | None, t: int, r: int) -> Any:
    """The position entry as given (for reporting a node the graph does not know)."""
    value = positions[t][r]
    if nodes is not None and 0 <= int(value) < len(nodes):
        return nodes[int(value)]
    return value if nodes is None else int(value)


__all__ = ["KINDS", "Violation", "validate_trajectory"]
