"""What ``warehouse validate`` says about the scheduled closures of a scenario
(:func:`describe_closures`): each entry's cells, edges and time span, what it closes and cuts
off, and what entries active together cut off that none cuts off alone."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from ..floor import NodeKind
from ..floor.distances import open_moves
from .closure_entries import (
    ScheduledClosure,
    _cell,
    _end,
    _user_cell,
    node_label,
    resolve_closures,
)
from .closures import cut_off, route_sets

if TYPE_CHECKING:
    from ..config import FaultsConfig
    from ..floor import CompiledFloor


def describe_closures(
    floor: CompiledFloor,
    faults: FaultsConfig,
    step_seconds: float,
    steps: int | None = None,
    source: str | Path | None = None,
    chargers: np.ndarray | None = None,
) -> list[str]:
    """One line per scheduled closure (``warehouse validate``): the cells and the time span, in
    seconds and steps, whether the episode of ``steps`` steps reaches it, what it closes and cuts
    off (pick locations, stations and ``chargers``, the battery model's charger nodes); then one
    line per span in which closures active together cut off more than each alone."""
    lines = []
    is_charger = np.zeros(floor.n_nodes, dtype=bool)
    if chargers is not None:
        is_charger[chargers] = True
    closures = resolve_closures(floor, faults, step_seconds, source)
    alone = [cut_off(floor, open_moves(floor, c.moves), c.nodes) for c in closures]
    for c, entry, cut in zip(closures, faults.closures, alone, strict=True):
        cells = [node_label(floor, int(v)) for v in c.nodes if not floor.transit[v]]
        lane = c.nodes[floor.transit[c.nodes]]
        if lane.size:  # cells that hold only transit nodes of long edges (physics.speed_m_s)
            seen = {tuple(floor.pos[v].tolist()) for v in c.nodes if not floor.transit[v]}
            for v in lane.tolist():
                if (key := tuple(floor.pos[v].tolist())) not in seen:
                    seen.add(key)
                    cells.append(_cell(tuple(_user_cell(floor, v).tolist())))
        shown = ", ".join(cells[:4]) + (", …" if len(cells) > 4 else "")
        if lane.size:
            shown += (
                f" (with {lane.size} transit node{'s' if lane.size != 1 else ''} of long edges)"
            )
        until = "the end of the run" if entry.end_s is None else f"{entry.end_s:g} s"
        last = ".." if c.end is None else f"..{c.end - 1}"
        counts = [
            (int(np.count_nonzero(floor.kind[c.nodes] == kind)), what)
            for kind, what in ((NodeKind.PICK, "pick location"), (NodeKind.STATION, "station"))
        ]
        kinds = [f"{n} {what}{'s' if n != 1 else ''}" for n, what in counts if n]
        what, items = [], []
        if cells:
            what.append(f"{len(cells)} cell{'s' if len(cells) != 1 else ''}")
            items.append(shown)
        if entry.edges:
            k = len(entry.edges)
            what.append(f"{k} edge{'s' if k != 1 else ''}")
            ends = [tuple(int(v) for v in m) for m in c.moves.tolist()]
            pairs = list(dict.fromkeys(tuple(sorted(m)) for m in ends))
            edges = [f"{_end(floor, u)}–{_end(floor, v)}" for u, v in pairs]
            items.append(", ".join(edges[:4]) + (", …" if len(edges) > 4 else ""))
        line = (
            f"{c.field()}: {' and '.join(what)} closed from "
            f"{entry.start_s:g} s to {until} (steps {c.start}{last}): {'; '.join(items)}"
        )
        if kinds:
            wait = _orders_wait(counts[0][0], counts[1][0], faults.redirect_loaded)
            line += f"; {' and '.join(kinds)} among them {wait}"
        if closed := _chargers(is_charger[c.nodes]):
            line += f"; {closed} among them (not given out meanwhile)"
        # open pick locations, stations and chargers the entry alone cuts off
        by = "its edges" if not cells else "its cells and edges" if entry.edges else "its cells"
        line += _cut_phrase(floor, cut, is_charger, by, faults.redirect_loaded)
        if steps is not None and c.start >= steps:
            line += f"; begins after the episode's {steps} steps, so it never closes"
        lines.append(line)
    together = _cut_together(
        floor, closures, alone, is_charger, step_seconds, faults.redirect_loaded
    )
    return lines + together


def _orders_wait(picks: int, stations: int, redirect: bool) -> str:
    """What happens to the orders of ``picks`` pick locations and ``stations`` stations that
    are closed or cut off: they wait, except, with ``faults.redirect_loaded``, a station's
    (a robot carrying one delivers it at an open station: ``Simulation.station_held_until``)."""
    if not (redirect and stations):
        return "(their orders wait)"
    them = "the station" if stations == 1 else "the stations"
    moved = f"for {them} are delivered at an open one: faults.redirect_loaded)"
    if not picks:
        return f"(orders {moved}"
    return f"(orders for the pick location{'s' if picks != 1 else ''} wait, those {moved}"


def _cut_phrase(
    floor: CompiledFloor, cut: np.ndarray, is_charger: np.ndarray, by: str, redirect: bool
) -> str:
    """``"; BY cut off 2 pick locations (their orders wait)"`` and the like for the nodes
    ``cut`` marks, or ``""`` when it marks no pick location, station nor charger."""
    counts = [
        (int(np.count_nonzero(cut & (floor.kind == kind))), what)
        for kind, what in ((NodeKind.PICK, "pick location"), (NodeKind.STATION, "station"))
    ]
    phrase = ""
    if off := [f"{n} {what}{'s' if n != 1 else ''}" for n, what in counts if n]:
        wait = _orders_wait(counts[0][0], counts[1][0], redirect)
        phrase += f"; {by} cut off {' and '.join(off)} {wait}"
    if off_chargers := _chargers(cut & is_charger):
        phrase += f"; {by} cut off {off_chargers} (not given out meanwhile)"
    return phrase


def _cut_together(
    floor: CompiledFloor,
    closures: list[ScheduledClosure],
    alone: list[np.ndarray],
    is_charger: np.ndarray,
    step_seconds: float,
    redirect: bool,
) -> list[str]:
    """One line per span of the schedule in which closures active together cut off pick
    locations, stations or chargers that none of them cuts off alone (:func:`cut_off`)."""
    routes = route_sets(closures)
    times = sorted(routes)
    lines = []
    for k, t in enumerate(times):
        active = [
            i for i, c in enumerate(closures) if c.start <= t and (c.end is None or t < c.end)
        ]
        if len(active) < 2:
            continue
        nodes, moves = routes[t]
        extra = cut_off(floor, open_moves(floor, moves), nodes)
        extra &= ~np.logical_or.reduce([alone[i] for i in active])
        phrase = _cut_phrase(floor, extra, is_charger, "they", redirect)
        if not phrase:
            continue
        names = " and ".join(closures[i].field() for i in active)
        end = times[k + 1] if k + 1 < len(times) else None
        span = (
            f"from {t * step_seconds:g} s to the end of the run (steps {t}..)"
            if end is None
            else f"from {t * step_seconds:g} s to {end * step_seconds:g} s (steps {t}..{end - 1})"
        )
        lines.append(f"{names} together, {span}: {phrase[2:]}")
    return lines


def _chargers(marked: np.ndarray) -> str:
    """``"N charger(s)"`` for the chargers ``marked`` (bool), or ``""`` for none."""
    n = int(np.count_nonzero(marked))
    return f"{n} charger{'s' if n != 1 else ''}" if n else ""


def late_closures(
    floor: CompiledFloor, faults: FaultsConfig, step_seconds: float, steps: int
) -> list[str]:
    """One warning per scheduled closure that begins after the episode's ``steps`` (a typo in
    ``start_s`` or a short run: it never closes)."""
    closures = resolve_closures(floor, faults, step_seconds)
    return [
        f"faults.closures[{i}] begins at step {c.start}, after the episode's {steps} steps, "
        "so it never closes"
        for i, c in enumerate(closures)
        if c.start >= steps
    ]
