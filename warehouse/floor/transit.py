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
* lie at ``pos(u) + (pos(v) − pos(u)) × i / k`` (their ``pos``, in the file's cells: the metres
  along the edge), and each has a cell of its own, so the viewer draws every one, a closure's
  ``cells`` closes it alone and the compiled floor keeps one node per cell
  (:func:`place_transit`): the cell its position rounds to where no waypoint or earlier transit
  node holds it, else the nearest free cell (``cell`` node attribute). Waypoints keep their
  cells, so the cells a user gives (closures, chargers) mean what they mean without the setting;
  where an edge is drawn shorter than its travel time (fewer cells than steps), some of its
  transit nodes are drawn beside it rather than on it (``warehouse validate`` counts them). A
  finer cell grid for the whole split floor would draw every chain on its edge, but it would
  change every cell a user gives, the observation windows and the grid's size; a file drawn
  finer (more cells per metre) gets that, explicitly;
* are never closed by random closures (``faults.closure_prob``), which draw among the floor's
  own aisle and parking nodes: a long edge closes no more often than a short one, and a seed
  closes the same waypoints as on the unsplit floor;
* split the length: each segment is ``L / k`` metres (the last one takes the float rounding),
  so a trip over the edge travels exactly ``L`` metres: distance and energy do not change;
* are marked ``transit: true`` in the file :func:`~warehouse.floor.formats.save_graph` writes,
  and read back as transit nodes (:data:`TRANSIT_KEY`), so the saved floor behaves as the live
  one, with or without the setting. Split again, a saved floor keeps each chain whose length
  still takes no more steps than it has segments (:func:`saved_chains`, within the float32
  rounding of the saved segment lengths): at the same speed the split changes nothing.

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

import collections
import math
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import networkx as nx
import numba
import numpy as np

from ..errors import InputError
from .formats.common import MAX_SIDE, TRANSIT_KEY

#: graph attribute holding the :class:`EdgeSplit` summary of a split floor, as a plain dict (so
#: :func:`~warehouse.floor.formats.save_graph` can write the graph)
SPLIT_KEY = "edge_split"
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
    cell_size: float | None = None,
) -> nx.Graph:
    """The floor of ``graph`` with every edge longer than one step split into a chain of transit
    nodes (module docstring); ``graph`` itself when no edge is. Either way the result carries
    :data:`SPLIT_KEY` (an :class:`EdgeSplit`) and :data:`TRANSIT_KEY` graph attributes.

    ``cell_size`` (``physics.cell_size``) rescales the floor as the simulation does: every
    length of the file times ``cell_size`` / the graph's ``cell_size``, so travel time follows
    the metres a robot is credited with.

    A floor split before and saved (its transit nodes marked, :data:`TRANSIT_KEY`) is not split
    again where a chain still fits (:func:`saved_chains`): splitting it at the same speed gives
    the floor of the first split, the same :class:`EdgeSplit` included.

    Raises :class:`InputError` naming ``physics.speed_m_s`` on a grid floor that a speed would
    slow below one cell per step, when one edge would take more steps than the distance tables
    hold (:data:`~warehouse.floor.distances.MAX_STEPS`), and when the split would add more than
    :data:`MAX_TRANSIT` nodes. ``what`` names the kind of grid floor in that message.
    """
    metres = float(speed_m_s) * float(step_seconds)
    drawn = float(graph.graph.get("cell_size", 1.0))  # the file's metres per cell
    scale = 1.0 if cell_size is None else float(cell_size) / drawn
    unit = metres / scale  # metres per step in the file's lengths
    pairs = _pairs(graph, drawn)
    marked = frozenset(v for v in graph.graph.get(TRANSIT_KEY) or () if v in graph)
    chains = saved_chains(pairs, marked, unit)
    steps = [
        1 if i in chains else max(edge_steps(a, unit), edge_steps(b, unit) if b is not None else 1)
        for i, (_u, _v, a, b) in enumerate(pairs)
    ]
    cell_m = drawn if cell_size is None else float(cell_size)  # metres per cell in the run
    transit = sum(k - 1 for k in steps)
    longest = max(range(len(pairs)), key=steps.__getitem__, default=None)
    if transit and graph.graph.get("format") not in WAYPOINT_FORMATS:
        per_cell = steps[longest] if longest is not None else 1
        raise InputError(
            source,
            FIELD,
            f"{speed_m_s:g} m/s at {step_seconds:g} s per step drives {metres:g} m per step, so "
            f"a {cell_m:g} m cell would take {per_cell} steps; on a {what} every move is one "
            f"cell in one step: use physics.step_seconds: {cell_m / speed_m_s:g} (one cell at "
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
            f"({max(a, b or 0) * scale:g} m), would take {steps[longest]:,} steps",
        )
    from .distances import MAX_STEPS  # (distances reads compiled floors, which read this)

    if longest is not None and steps[longest] > MAX_STEPS:  # (no distance table holds it)
        u, v, a, b = pairs[longest]
        raise InputError(
            source,
            FIELD,
            f"{speed_m_s:g} m/s ({metres:g} m per step) makes the edge {u}–{v} "
            f"({max(a, b or 0) * scale:g} m) {steps[longest]:,} steps long; the distance tables "
            f"hold paths of at most {MAX_STEPS:,} steps: a higher speed or longer steps",
        )
    # a kept chain counts as the one edge it was split from, of as many steps as segments;
    # the transit nodes of the file count with the new ones (they are transit nodes still)
    whole = [k for i, k in enumerate(steps) if i not in chains]
    sizes = list(collections.Counter(chains.values()).values())
    summary = EdgeSplit(
        speed_m_s=float(speed_m_s),
        metres_per_step=metres,
        edges=len(whole) + len(sizes),
        split=sum(k > 1 for k in whole) + len(sizes),
        transit=transit + len(marked),
        min_steps=min(whole + sizes, default=1),
        max_steps=max(whole + sizes, default=1),
    )
    if not transit:
        graph.graph.update({SPLIT_KEY: asdict(summary), TRANSIT_KEY: marked})
        return graph

    out = graph.__class__()
    out.graph.update(graph.graph)
    out.add_nodes_from(graph.nodes(data=True))
    names: set[Any] = set()
    order: list[Any] = []  # the transit nodes, chain by chain, each chain from its u
    where: list[tuple[float, float]] = []  # their positions
    first: list[int] = []  # each chain's first transit node (its index in order)
    ends: list[Any] = []  # each chain's u
    for (u, v, a, b), k in zip(pairs, steps, strict=True):
        if k == 1:
            out.add_edge(u, v, **graph.edges[u, v])
            if b is not None and graph.is_directed():
                out.add_edge(v, u, **graph.edges[v, u])
            continue
        pu = np.asarray(graph.nodes[u]["pos"], dtype=np.float64)
        pv = np.asarray(graph.nodes[v]["pos"], dtype=np.float64)
        first.append(len(order))
        ends.append(u)
        chain = [u]
        for i in range(1, k):
            name = f"{u}~{v}#{i}"
            while name in graph or name in names:
                name += "'"
            names.add(name)
            row, col = (pu + (pv - pu) * (i / k)).tolist()
            out.add_node(name, pos=(row, col), kind="aisle", start=False, goal=False)
            chain.append(name)
            order.append(name)
            where.append((row, col))
        chain.append(v)
        ahead = segment_lengths(a, k)
        for i in range(k):
            out.add_edge(chain[i], chain[i + 1], length=ahead[i])
        if b is not None and graph.is_directed():
            back = segment_lengths(b, k)
            for i in range(k):
                out.add_edge(chain[k - i], chain[k - i - 1], length=back[i])
    for j, cell in place_transit(graph, np.asarray(where), first, ends, source=source).items():
        out.nodes[order[j]]["cell"] = cell
    out.graph.update({SPLIT_KEY: asdict(summary), TRANSIT_KEY: frozenset(names) | marked})
    return out


def saved_chains(
    pairs: list[tuple[Any, Any, float, float | None]], marked: frozenset[Any], metres: float
) -> dict[int, int]:
    """``{pair index: chain}`` for the edges of the chains of ``marked`` transit nodes (a floor
    split before and saved) that fit ``metres`` per step as they are, which a split keeps.

    A chain is a path of transit nodes between two waypoints (``k`` segments, ``k − 1`` nodes).
    It fits when, each way it can be driven, its length takes at most ``k`` steps and no
    segment takes more than one, both within :data:`CHAIN_TOLERANCE` × ``k`` (relative): a saved
    floor keeps the float32 segment lengths of :func:`segment_lengths`, whose sum is the float32
    length, so a segment of ``L / k`` metres can exceed the metres per step by a few float32
    units where ``L / k`` equals it. A chain that does not fit (a slower speed) is split segment
    by segment like any edge; so are marked nodes that form no such path.
    """
    if not marked:
        return {}
    touching: dict[Any, list[int]] = collections.defaultdict(list)
    for i, (u, v, _a, _b) in enumerate(pairs):
        if u in marked or v in marked:
            touching[u].append(i)
            touching[v].append(i)
    out: dict[int, int] = {}
    seen: set[Any] = set()
    for node in marked:
        if node in seen:
            continue
        # walk both ways from `node` to the waypoints at the chain's ends
        chain_pairs: list[int] = []
        in_chain: set[int] = set()
        stack, members, valid = [node], set(), True
        while stack:
            t = stack.pop()
            if t in members:
                continue
            members.add(t)
            if len(touching[t]) != 2:
                valid = False
            for i in touching[t]:
                if i not in in_chain:
                    in_chain.add(i)
                    chain_pairs.append(i)
                u, v = pairs[i][:2]
                far = v if u == t else u
                if far in marked and far not in members:
                    stack.append(far)
        seen |= members
        k = len(chain_pairs)
        ends = [x for i in chain_pairs for x in pairs[i][:2] if x not in marked]
        if not valid or k != len(members) + 1 or len(ends) != 2 or ends[0] == ends[1]:
            continue
        if all(_fits(run, k, metres) for run in _ways(pairs, chain_pairs, ends[0])):
            out.update(dict.fromkeys(chain_pairs, len(out)))
    return out


#: a saved chain's segments and length over the metres per step may exceed 1 and ``k`` by this
#: much × ``k`` (relative) and still count as one step each (:func:`saved_chains`)
CHAIN_TOLERANCE = 2.0**-20


def _ways(
    pairs: list[tuple[Any, Any, float, float | None]], chain: list[int], start: Any
) -> list[list[float]]:
    """The segment lengths of a chain each way it can be driven from ``start`` (none for a way
    one of its segments does not allow)."""
    where: dict[Any, list[int]] = collections.defaultdict(list)
    for i in chain:
        where[pairs[i][0]].append(i)
        where[pairs[i][1]].append(i)
    ahead: list[float | None] = []
    back: list[float | None] = []
    node, used = start, set[int]()
    while len(used) < len(chain):
        i = next(j for j in where[node] if j not in used)
        used.add(i)
        u, v, a, b = pairs[i]
        forward = (a, b) if u == node else (b, a)
        ahead.append(forward[0])
        back.append(forward[1])
        node = v if u == node else u
    return [[x for x in run if x is not None] for run in (ahead, back) if None not in run]


def _fits(run: list[float], k: int, metres: float) -> bool:
    """Whether the segments ``run`` of a saved chain of ``k`` take one step each."""
    slack = 1.0 + CHAIN_TOLERANCE * k
    return sum(run) <= k * metres * slack and max(run) <= metres * slack


def node_cell(data: dict[str, Any]) -> tuple[int, int]:
    """The cell a node of a floor graph is drawn in: its ``cell`` attribute where it has one
    (a transit node :func:`place_transit` moved), else the cell its ``pos`` rounds to (halves
    to even, as :func:`numpy.rint`)."""
    cell = data.get("cell")
    if cell is not None:
        return (int(cell[0]), int(cell[1]))
    return (round(float(data["pos"][0])), round(float(data["pos"][1])))


def place_transit(
    graph: nx.Graph,
    where: np.ndarray,
    first: list[int],
    ends: list[Any],
    *,
    source: str | Path | None = None,
) -> dict[int, tuple[int, int]]:
    """Cells for the transit nodes about to join ``graph``, one each that no other node has:
    ``{j: (row, col)}`` for the transit nodes ``j`` (rows of ``where``, their positions, chain
    by chain) that do not get the cell their position rounds to; chain ``c`` starts at row
    ``first[c]``, after the waypoint ``ends[c]``.

    First every transit node whose rounded cell no node of ``graph`` holds gets it (the first in
    order where several round to one cell): a floor whose transit nodes fit keeps the cells it
    had. Each of the others, in order, takes the free cell nearest its position in the first
    ring of cells around its rounded cell that has one (ties: nearest the cell of the node
    before it in its chain, then by row and column). Cells stay within ``grid_shape`` where the
    graph has one, else within :data:`~warehouse.floor.formats.common.MAX_SIDE` cells a side
    around the floor (raises :class:`InputError` naming ``physics.speed_m_s`` when full).
    """
    total = int(where.shape[0])
    if total == 0:
        return {}
    want = np.rint(where).astype(np.int64)
    data = [d for _, d in graph.nodes(data=True)]
    own = np.rint(np.array([d["pos"] for d in data], dtype=np.float64)).astype(np.int64)
    if drawn := [i for i, d in enumerate(data) if "cell" in d]:  # (a floor split before)
        own[drawn] = [data[i]["cell"] for i in drawn]
    lo = np.minimum(own.min(axis=0), want.min(axis=0))  # (own holds the chains' ends)
    hi = np.maximum(own.max(axis=0), want.max(axis=0))
    width = int(hi[1] - lo[1] + 1)
    flat_own = (own[:, 0] - lo[0]) * width + (own[:, 1] - lo[1])
    flat_want = (want[:, 0] - lo[0]) * width + (want[:, 1] - lo[1])
    keep = np.zeros(total, dtype=bool)
    keep[np.unique(flat_want, return_index=True)[1]] = True
    keep &= ~np.isin(flat_want, flat_own)
    moved = np.flatnonzero(~keep)
    if moved.size == 0:
        return {}

    shape = graph.graph.get("grid_shape")
    if shape:
        origin = np.zeros(2, dtype=np.int64)
        size = np.array([int(shape[0]), int(shape[1])], dtype=np.int64)
        room = f"within grid_shape {int(shape[0])}x{int(shape[1])}"
    else:  # room around the floor for every moved node, at most MAX_SIDE cells a side
        extent = hi - lo + 1
        pad = np.minimum(math.isqrt(int(moved.size)) + 1, np.maximum(0, (MAX_SIDE - extent) // 2))
        origin, size = lo - pad, extent + 2 * pad
        room = f"within {MAX_SIDE} cells a side"
    occ = np.zeros((int(size[0]), int(size[1])), dtype=np.uint8)
    occ[own[:, 0] - origin[0], own[:, 1] - origin[1]] = 1
    occ[want[keep, 0] - origin[0], want[keep, 1] - origin[1]] = 1
    if occ.size - int(np.count_nonzero(occ)) < moved.size:
        raise InputError(
            source,
            FIELD,
            f"the {total:,} transit nodes of the long edges need a cell each, and "
            f"{moved.size:,} of them find no free cell {room}",
        )
    # the cell before each transit node in its chain: known (the chain's waypoint, a transit
    # node that kept its rounded cell) or that of a moved node (ref: its index in `moved`)
    is_first = np.zeros(total, dtype=bool)
    is_first[first] = True
    chain = np.cumsum(is_first) - 1
    start_cells = np.array([node_cell(graph.nodes[u]) for u in ends], dtype=np.int64)
    before = np.arange(total) - 1
    known = np.where(is_first[:, None], start_cells[chain], want[before])
    slot = np.full(total, -1, dtype=np.int64)
    slot[moved] = np.arange(moved.size)
    ref = np.where(is_first | keep[before], -1, slot[before])
    cells = np.zeros((moved.size, 2), dtype=np.int64)
    failed = _nearest_free(
        occ,
        np.zeros(occ.shape, dtype=np.int32),
        want[moved] - origin,
        where[moved] - origin,
        ref[moved],
        known[moved] - origin,
        cells,
    )
    assert failed < 0, "a free cell was counted but not found"
    cells += origin
    return dict(zip(moved.tolist(), map(tuple, cells.tolist()), strict=True))


@numba.njit(cache=True)
def _nearest_free(occ, start, want, pos, prev_ref, prev_cell, out):  # pragma: no cover - compiled
    """:func:`place_transit`'s second pass: for each ``j`` in order, the free cell of ``occ``
    nearest ``pos[j]`` in the first ring around ``want[j]`` that has one (ties: nearest the
    previous cell, then row, column), marked taken and written to ``out[j]``. ``start`` (zeros,
    the shape of ``occ``) remembers per cell the first ring that still had a free cell: cells
    only fill, so a later search from that cell starts there, and one from a neighbouring cell
    a ring further in (the rings inside are full). Returns -1, or the first ``j`` that found no
    free cell."""
    height, width = occ.shape
    limit = max(height, width)
    for j in range(want.shape[0]):
        r0, c0 = want[j, 0], want[j, 1]
        if prev_ref[j] >= 0:
            pr, pc = out[prev_ref[j], 0], out[prev_ref[j], 1]
        else:
            pr, pc = prev_cell[j, 0], prev_cell[j, 1]
        ring = start[r0, c0]
        for nr in range(max(r0 - 1, 0), min(r0 + 2, height)):  # a neighbour's full rings, less
            for nc in range(max(c0 - 1, 0), min(c0 + 2, width)):  # one, are full around here
                ring = max(ring, start[nr, nc] - 1)
        found = False
        best_d, best_e, br, bc = 0.0, 0, 0, 0
        while not found and ring <= limit:
            for dr in range(-ring, ring + 1):
                r = r0 + dr
                if r < 0 or r >= height:
                    continue
                step = 1 if (dr == -ring or dr == ring or ring == 0) else 2 * ring
                for dc in range(-ring, ring + 1, step):
                    c = c0 + dc
                    if c < 0 or c >= width or occ[r, c]:
                        continue
                    d = (r - pos[j, 0]) ** 2 + (c - pos[j, 1]) ** 2
                    e = (r - pr) ** 2 + (c - pc) ** 2
                    if (
                        not found
                        or d < best_d
                        or (d == best_d and e < best_e)
                        or (d == best_d and e == best_e and (r < br or (r == br and c < bc)))
                    ):
                        found, best_d, best_e, br, bc = True, d, e, r, c
            if not found:
                ring += 1
        start[r0, c0] = ring
        if not found:
            return j
        occ[br, bc] = 1
        out[j, 0], out[j, 1] = br, bc
    return -1


def off_edge(graph: nx.Graph, transit: Any) -> int:
    """How many of the ``transit`` nodes of ``graph`` :func:`place_transit` drew off their edge
    (those with a ``cell`` attribute)."""
    nodes = graph.nodes
    return sum(1 for v in transit if v in nodes and "cell" in nodes[v])


def travel_note(split: EdgeSplit, off: int = 0) -> str:
    """``warehouse validate``'s line on a split floor (``off``: :func:`off_edge`)."""
    steps = (
        f"{split.min_steps} step{'s' if split.min_steps != 1 else ''}"
        if split.min_steps == split.max_steps
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
    if off:
        line += (
            f"; {off} of them are drawn in the nearest free cell, off their edge (one drawn "
            "shorter than its travel time, fewer cells than steps, or across another node: a "
            "finer drawing, more cells per metre, gives them room on it)"
        )
    return line
