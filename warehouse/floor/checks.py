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
"""

from __future__ import annotations

import numpy as np

from .compiled import CompiledFloor


def _degrees(floor: CompiledFloor) -> np.ndarray:
    """Distinct neighbours of every node, either direction of travel."""
    src, dst = floor.moves()
    pairs = np.unique(np.sort(np.stack([src, dst], axis=1), axis=1), axis=0)
    return np.bincount(pairs.ravel(), minlength=floor.n_nodes)


def dead_end_targets(floor: CompiledFloor) -> tuple[int, int]:
    """``(stations, pick locations)`` that have a single neighbour."""
    dead = _degrees(floor) <= 1
    return int(dead[floor.stations].sum()), int(dead[floor.picks].sum())


def dead_end_note(floor: CompiledFloor) -> str | None:
    """The ``pibt`` caveat of :func:`dead_end_targets`, or ``None`` when there is none."""
    stations, picks = dead_end_targets(floor)
    if not stations and not picks:
        return None
    what = " and ".join(
        f"{k} {name}" for k, name in ((stations, "stations"), (picks, "pick locations")) if k
    )
    return (
        f"{what} are dead ends (one neighbour): under the PIBT shield (--collisions pibt, and "
        "the hierarchical policy) a robot leaving one and a robot queued to enter it can lock "
        "for good; --collisions pibt_swap (PIBT that lets two robots swap places, for every "
        "policy) gets them past, as do the block shield's traffic rules"
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
    from .transit import travel_note

    split = floor.edge_split
    return None if split is None else travel_note(split)


def floor_notes(floor: CompiledFloor) -> list[str]:
    """Every note: the floor's own (cells cut off) and the three above."""
    extra = [dead_end_note(floor), edge_length_note(floor), travel_time_note(floor)]
    return [*floor.notes, *(note for note in extra if note)]
