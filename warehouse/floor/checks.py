"""What a compiled floor means for the fleets that drive it, said before a run.

``warehouse validate`` prints these as notes, and ``warehouse run`` warns about the ones that
concern its policies:

* :func:`dead_end_targets`: stations and pick locations with a single neighbour. The ``pibt``
  shield never swaps two robots, so a robot leaving such a cell and one queued to enter it can
  hold each other for good; ``pibt_swap`` (PIBT with LaCAM*'s swap) and the ``block`` shield's
  traffic rules get them past (docs/results_swap.md).
* :func:`edge_length_note`: edges of different lengths. Every edge takes one step whatever its
  length; the length sets the metres travelled (distance and energy), not the time, unless
  ``physics.speed_m_s`` is set: then :func:`travel_time_note` says how long edges take
  (:mod:`warehouse.floor.transit`) and this note is not given.
* :func:`charger_thoroughfare_note` (given only with the battery model on, for its chargers):
  chargers on cells robots need to pass through (:func:`thoroughfares`). A charging
  robot cannot move and is not pushed aside, so such a charger blocks the way while it charges.
  The battery's waiting cells (robots queued for a charger) are cells that are not
  thoroughfares, by the same test (:mod:`warehouse.core.battery`).
* :func:`charger_dead_end_note` (battery model on): chargers with a single neighbour. As at a
  dead-end station, under ``pibt`` a robot leaving the charger and the robot coming to it can
  hold each other for good (``pibt_swap`` and ``block`` get them past).
"""

from __future__ import annotations

import numpy as np

from .compiled import CompiledFloor


def neighbour_pairs(floor: CompiledFloor) -> np.ndarray:
    """``(k, 2)``: every pair of neighbouring nodes once (either direction of travel), the
    lower id first."""
    src, dst = floor.moves()
    return np.unique(np.sort(np.stack([src, dst], axis=1), axis=1), axis=0)


def one_way_moves(floor: CompiledFloor) -> tuple[np.ndarray, np.ndarray]:
    """``(nodes, actions)`` of the floor's moves between two nodes that have no move back
    (one-way aisles and edges), ordered by action, then node."""
    src, act = np.nonzero(floor.mask[:, 1:])
    act = act + 1
    dst = floor.nbr[src, act]
    moving = dst != src
    src, act, dst = src[moving].astype(np.int64), act[moving], dst[moving].astype(np.int64)
    n = floor.n_nodes
    one = ~np.isin(dst * n + src, src * n + dst)
    order = np.lexsort((src[one], act[one]))
    return src[one][order], act[one][order]


def beside(floor: CompiledFloor, marked: np.ndarray) -> np.ndarray:
    """Bool per node: a neighbour (either direction of travel) of a node ``marked`` (bool per
    node) is."""
    pairs = neighbour_pairs(floor)
    out = np.zeros(floor.n_nodes, dtype=bool)
    out[pairs[:, 0][marked[pairs[:, 1]]]] = True
    out[pairs[:, 1][marked[pairs[:, 0]]]] = True
    return out


def _degrees(floor: CompiledFloor) -> np.ndarray:
    """Distinct neighbours of every node, either direction of travel."""
    return np.bincount(neighbour_pairs(floor).ravel(), minlength=floor.n_nodes)


def dead_end_targets(floor: CompiledFloor) -> tuple[int, int]:
    """``(stations, pick locations)`` that have a single neighbour."""
    dead = _degrees(floor) <= 1
    return int(dead[floor.stations].sum()), int(dead[floor.picks].sum())


def dead_end_note(floor: CompiledFloor) -> str | None:
    """The ``pibt`` caveat of :func:`dead_end_targets`, or ``None`` when there is none."""
    stations, picks = dead_end_targets(floor)
    if not stations and not picks:
        return None
    kinds = (stations, "station"), (picks, "pick location")
    what = " and ".join(f"{k} {name}{'s' if k > 1 else ''}" for k, name in kinds if k)
    verb = "is a dead end" if stations + picks == 1 else "are dead ends"
    return (
        f"{what} {verb} (one neighbour): under the PIBT shield (--collisions pibt, and "
        "the hierarchical policy) a robot leaving one and a robot queued to enter it can lock "
        "for good; --collisions pibt_swap (PIBT that lets two robots swap places, for every "
        "policy) gets them past, as do the block shield's traffic rules"
    )


#: A charger is a thoroughfare when two of its neighbours are more than this many steps apart
#: once its cell is taken out: around the block of a two-lane aisle it is 4, around a corner 2.
DETOUR_STEPS = 4


def thoroughfares(floor: CompiledFloor, nodes: np.ndarray) -> np.ndarray:
    """The cells of ``nodes`` (a subset, node ids, in their order) robots need to pass through:
    a cell with two or more neighbours (either direction of travel), two of which are more than
    :data:`DETOUR_STEPS` steps apart (moves taken both ways) once the cell is taken out, or no
    longer joined at all. That is a cell whose removal cuts the floor apart (the only way to
    something) and a cell of a one-lane aisle, but not a dead end (one neighbour), a pocket
    beside an aisle, or a cell at the side of an aisle two or more lanes wide. Cost: a search of
    at most :data:`DETOUR_STEPS` steps from each neighbour of each cell."""
    cells = np.asarray(nodes, dtype=np.int64)
    if cells.size == 0:
        return cells
    src, dst = floor.moves()
    both_src = np.concatenate([src, dst])
    both_dst = np.concatenate([dst, src])
    order = np.argsort(both_src, kind="stable")
    both_src, both_dst = both_src[order], both_dst[order]
    start = np.searchsorted(both_src, np.arange(floor.n_nodes + 1))

    def around(v: int) -> list[int]:
        return sorted(set(both_dst[start[v] : start[v + 1]].tolist()))

    out = []
    for c in cells.tolist():
        nbrs = around(c)
        if len(nbrs) < 2:
            continue
        for a in nbrs[:-1]:  # breadth-first from a, at most DETOUR_STEPS steps, c taken out
            seen, frontier = {a, c}, [a]
            for _ in range(DETOUR_STEPS):
                frontier = [w for v in frontier for w in around(v) if w not in seen]
                seen.update(frontier)
            if not seen.issuperset(nbrs):
                out.append(c)
                break
    return np.asarray(out, dtype=np.int64)


#: The chargers robots need to pass through (:func:`thoroughfares` of the charger cells).
thoroughfare_chargers = thoroughfares


def charger_thoroughfare_note(floor: CompiledFloor, chargers: np.ndarray) -> str | None:
    """The caveat of :func:`thoroughfare_chargers`, or ``None`` when no charger is one."""
    through = thoroughfares(floor, chargers)
    if through.size == 0:
        return None
    k, total = int(through.size), int(np.asarray(chargers).size)
    first = ", ".join(f"({r}, {c})" for r, c in floor.pos[through[:3]].tolist())
    return (
        f"{k} of {total} chargers sit on cells robots need to pass through (first: {first}): "
        "a charging robot cannot move and blocks the way until it is full; put chargers in "
        "pockets off the aisles, and use --collisions pibt_swap if the pockets are dead ends"
    )


def dead_end_chargers(floor: CompiledFloor, chargers: np.ndarray) -> np.ndarray:
    """The chargers (a subset of ``chargers``, node ids, in their order) with a single
    neighbour (either direction of travel)."""
    chargers = np.asarray(chargers, dtype=np.int64)
    return chargers[_degrees(floor)[chargers] <= 1]


def charger_dead_end_note(floor: CompiledFloor, chargers: np.ndarray) -> str | None:
    """The ``pibt`` caveat of :func:`dead_end_chargers`, or ``None`` when no charger is one."""
    dead = dead_end_chargers(floor, chargers)
    if dead.size == 0:
        return None
    k, total = int(dead.size), int(np.asarray(chargers).size)
    first = ", ".join(f"({r}, {c})" for r, c in floor.pos[dead[:3]].tolist())
    return (
        f"{k} of {total} chargers are dead ends (one neighbour; first: {first}): under the "
        "PIBT shield (--collisions pibt, and the hierarchical policy) a robot leaving one and "
        "the robot coming to it can lock for good; --collisions pibt_swap gets them past, as "
        "do the block shield's traffic rules"
    )


def edge_length_note(floor: CompiledFloor) -> str | None:
    """A note when edges differ in length by more than half, else ``None`` (also when
    ``physics.speed_m_s`` makes travel time follow the length)."""
    if floor.edge_split is not None:
        return None
    moves = floor.length[:, 1:][floor.mask[:, 1:]]
    if moves.size == 0 or moves.max() <= 1.5 * moves.min():
        return None
    return (
        f"edges are {moves.min():g}–{moves.max():g} m long, but every edge takes one step: the "
        "length sets the metres travelled (distance, energy), not the travel time; split long "
        "edges into several, or set physics.speed_m_s, to model it"
    )


def travel_time_note(floor: CompiledFloor) -> str | None:
    """How long edges take under ``physics.speed_m_s`` and the transit nodes that made it so,
    or ``None`` without the setting."""
    from .transit import off_edge, travel_note

    split = floor.edge_split
    if split is None:
        return None
    lane = [floor.nodes[v] for v in np.flatnonzero(floor.transit).tolist()]
    return travel_note(split, off_edge(floor.graph, lane))


def floor_notes(floor: CompiledFloor) -> list[str]:
    """Every note: the floor's own (cells cut off) and the three above."""
    extra = [dead_end_note(floor), edge_length_note(floor), travel_time_note(floor)]
    return [*floor.notes, *(note for note in extra if note)]
