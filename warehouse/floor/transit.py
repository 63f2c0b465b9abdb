"""Travel time that follows edge length (``physics.speed_m_s``), with the one movement rule.

The core moves a robot along one edge per step. With a speed set, a robot covers at most
``m = speed_m_s × step_seconds`` metres in a step, so an edge of length ``L`` takes

    k = max(1, ceil(L / m))      (L / m within a relative 1e-9 of a whole number counts as it)

steps: the fewest whole steps that keep the robot at or under its speed (a 1.0 m edge at
1 m per step is 1 step, a 1.1 m edge 2). :func:`split_long_edges` turns every edge with
``k > 1`` into a chain of ``k`` segments through ``k − 1`` *transit* nodes before the floor is
compiled, so a robot on a long edge stands on a node, queues behind the robot ahead and is
shielded exactly as anywhere else. Transit nodes

* are ``aisle`` nodes with ``start`` and ``goal`` false (no pick, station, parking or start
  role); their ids are ``"u~v#i"`` (``i = 1 .. k−1`` from ``u``; a ``'`` is added while the
  name is taken); a scenario's ``faults.closures[].nodes`` cannot name them;
* lie at ``pos(u) + (pos(v) − pos(u)) × i / k``, so the viewer draws them on the edge (in the
  cell that position rounds to, which may be an end's cell: one cell then holds several nodes,
  and the cell grid ``cell_of`` keeps the waypoint or the first transit node);
* split the length: each segment is ``L / k`` metres (the last one takes the float rounding),
  so a trip over the edge travels exactly ``L`` metres: distance and energy do not change.

A two-way edge (an undirected edge, or a directed graph's edge listed both ways) becomes one
two-way chain, so robots meeting head-on on it are a corridor conflict like any other; when the
two directions have different lengths the chain takes the larger ``k`` and each direction keeps
its own length. A one-way edge becomes a one-way chain.

Only waypoint graphs (``json``, ``graphml``) are split. On grid floors (generator, drawings,
map files) every move is one cell of ``cell_size`` metres, the rule that the observation windows
and the learned navigators rely on: a speed under ``cell_size / step_seconds`` is refused (a
slower robot on a grid is a longer ``physics.step_seconds``).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import networkx as nx
import numpy as np

from ..errors import InputError

#: graph attribute holding the :class:`EdgeSplit` summary of a split floor, as a plain dict (so
#: :func:`~warehouse.floor.formats.save_graph` can write the graph)
SPLIT_KEY = "edge_split"
#: graph attribute holding the frozenset of transit node ids
TRANSIT_KEY = "transit_nodes"
#: the most transit nodes one floor may get
MAX_TRANSIT = 1_000_000
#: ``L / m`` this close (relative) to a whole number counts as that number
TOLERANCE = 1e-9
#: graph formats whose edges carry their own lengths (the others are grids of cells)
WAYPOINT_FORMATS = ("json", "graphml")
FIELD = "physics.speed_m_s"


@dataclass(frozen=True)
class EdgeSplit:
    """What :func:`split_long_edges` did to a floor (``warehouse validate`` reports it)."""

    speed_m_s: float
    metres_per_step: float
    edges: int  #: edges of the floor (a two-way edge counted once)
    split: int  #: of them, edges that take more than one step
    transit: int  #: transit nodes added
    min_steps: int
    max_steps: int


def edge_steps(length: float, metres_per_step: float) -> int:
    """Steps an edge of ``length`` metres takes at ``metres_per_step`` (module docstring)."""
    x = float(length) / float(metres_per_step)
    if not math.isfinite(x):
        return 1
    return max(1, math.ceil(x - TOLERANCE * max(1.0, x)))


def segment_lengths(length: float, k: int) -> list[float]:
    """``k`` lengths of about ``length / k`` whose float32 values add up exactly to the float32
    ``length`` (the compiled floor stores float32 metres; distances are float64 sums)."""
    if k == 1:
        return [float(length)]
    whole = float(np.float32(length))
    part = float(np.float32(whole / k))
    last = whole - (k - 1) * part
    return [part] * (k - 1) + [float(np.float32(last))]


def _pairs(graph: nx.Graph, cell_size: float) -> list[tuple[Any, Any, float, float | None]]:
    """``(u, v, length u→v, length v→u or None when one-way)``, each pair of ends once, in the
    graph's edge order."""
    out: list[tuple[Any, Any, float, float | None]] = []
    if not graph.is_directed():
        for u, v, length in graph.edges(data="length", default=cell_size):
            out.append((u, v, float(length), float(length)))
        return out
    seen: set[tuple[Any, Any]] = set()
    for u, v, length in graph.edges(data="length", default=cell_size):
        if (u, v) in seen:
            continue
        seen.add((v, u))
        back = graph.edges[v, u].get("length", cell_size) if graph.has_edge(v, u) else None
        out.append((u, v, float(length), None if back is None else float(back)))
    return out


def split_long_edges(
    graph: nx.Graph,
    speed_m_s: float,
    step_seconds: float,
    *,
    source: str | Path | None = None,
    what: str = "grid floor",
) -> nx.Graph:
    """The floor of ``graph`` with every edge longer than one step split into a chain of transit
    nodes (module docstring); ``graph`` itself when no edge is. Either way the result carries
    :data:`SPLIT_KEY` (an :class:`EdgeSplit`) and :data:`TRANSIT_KEY` graph attributes.

    Raises :class:`InputError` naming ``physics.speed_m_s`` on a grid floor that a speed would
    slow below one cell per step, and when the split would add more than :data:`MAX_TRANSIT`
    nodes. ``what`` names the kind of grid floor in that message.
    """
    metres = float(speed_m_s) * float(step_seconds)
    cell_size = float(graph.graph.get("cell_size", 1.0))
    pairs = _pairs(graph, cell_size)
    steps = [
        max(edge_steps(a, metres), edge_steps(b, metres) if b is not None else 1)
        for _u, _v, a, b in pairs
    ]
    transit = sum(k - 1 for k in steps)
    longest = max(range(len(pairs)), key=steps.__getitem__, default=None)
    if transit and graph.graph.get("format") not in WAYPOINT_FORMATS:
        per_cell = steps[longest] if longest is not None else 1
        raise InputError(
            source,
            FIELD,
            f"{speed_m_s:g} m/s at {step_seconds:g} s per step drives {metres:g} m per step, so "
            f"a {cell_size:g} m cell would take {per_cell} steps; on a {what} every move is one "
            f"cell in one step: use physics.step_seconds: {cell_size / speed_m_s:g} (one cell at "
            f"{speed_m_s:g} m/s) or a waypoint graph (json, graphml)",
        )
    if transit > MAX_TRANSIT:
        assert longest is not None
        u, v, a, b = pairs[longest]
        raise InputError(
            source,
            FIELD,
            f"{speed_m_s:g} m/s ({metres:g} m per step) would split the edges into "
            f"{transit:,} transit nodes (at most {MAX_TRANSIT:,}); the longest, {u}–{v} "
            f"({max(a, b or 0):g} m), would take {steps[longest]:,} steps",
        )
    summary = EdgeSplit(
        speed_m_s=float(speed_m_s),
        metres_per_step=metres,
        edges=len(pairs),
        split=sum(k > 1 for k in steps),
        transit=transit,
        min_steps=min(steps, default=1),
        max_steps=max(steps, default=1),
    )
    if not transit:
        graph.graph.update({SPLIT_KEY: asdict(summary), TRANSIT_KEY: frozenset()})
        return graph

    out = graph.__class__()
    out.graph.update(graph.graph)
    out.add_nodes_from(graph.nodes(data=True))
    names: set[Any] = set()
    for (u, v, a, b), k in zip(pairs, steps, strict=True):
        if k == 1:
            out.add_edge(u, v, **graph.edges[u, v])
            if b is not None and graph.is_directed():
                out.add_edge(v, u, **graph.edges[v, u])
            continue
        pu = np.asarray(graph.nodes[u]["pos"], dtype=np.float64)
        pv = np.asarray(graph.nodes[v]["pos"], dtype=np.float64)
        chain = [u]
        for i in range(1, k):
            name = f"{u}~{v}#{i}"
            while name in graph or name in names:
                name += "'"
            names.add(name)
            row, col = (pu + (pv - pu) * (i / k)).tolist()
            out.add_node(name, pos=(row, col), kind="aisle", start=False, goal=False)
            chain.append(name)
        chain.append(v)
        ahead = segment_lengths(a, k)
        for i in range(k):
            out.add_edge(chain[i], chain[i + 1], length=ahead[i])
        if b is not None and graph.is_directed():
            back = segment_lengths(b, k)
            for i in range(k):
                out.add_edge(chain[k - i], chain[k - i - 1], length=back[i])
    out.graph.update({SPLIT_KEY: asdict(summary), TRANSIT_KEY: frozenset(names)})
    return out


def travel_note(split: EdgeSplit) -> str:
    """``warehouse validate``'s line on a split floor."""
    steps = (
        f"{split.min_steps} step"
        if split.min_steps == split.max_steps == 1
        else f"{split.min_steps}–{split.max_steps} steps"
    )
    line = (
        f"travel time follows edge length (physics.speed_m_s: {split.speed_m_s:g} m/s, "
        f"{split.metres_per_step:g} m per step): an edge takes {steps}"
    )
    if split.transit:
        line += (
            f"; {split.split} of {split.edges} edges are split into chains through "
            f"{split.transit} transit node{'s' if split.transit != 1 else ''} in all, where "
            "robots queue and meet as on any aisle"
        )
    return line
