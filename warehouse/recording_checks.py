"""Checks of a loaded recording (:func:`warehouse.recording.load_recording`): every array has
its dtype and shape and holds values in range, and the JSON document agrees with them, so a
foreign or edited file is refused on loading, not in the middle of a replay."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
from pydantic import ValidationError

from .core.state import N_PHASES
from .errors import InputError
from .floor import NodeKind
from .floor.transit import EdgeSplit
from .recording import (
    _FINAL_COUNTERS,
    _FLOOR_FIELDS,
    _ORDER_FIELDS,
    EDGE_FIELDS,
    FRAME_FIELDS,
    ROUTE_FIELDS,
    STEP_FIELDS,
    Recording,
)

#: dtype kind of every array: ``i`` whole numbers, ``b`` booleans, ``f`` floating point.
_KINDS = {
    **{f"floor_{k}": "i" for k in ("pos", "kind", "nbr", "cell_of")},
    **{f"floor_{k}": "b" for k in ("mask", "start_ok", "goal_ok", "transit", "charger")},
    "floor_length": "f",
    **dict.fromkeys(FRAME_FIELDS, "i"),
    "proposed": "i", "actions": "i", "intervened": "b", "collided": "b", "delivered": "b",
    "moved_m": "f", "preferences": "f", "incidents": "i", "new_orders": "i", "orders_lost": "i",
    "closed_nodes": "i", "closed_ptr": "i", "battery_soc": "f", "battery_charge": "i",
    **dict.fromkeys(ROUTE_FIELDS, "i"),
    **dict.fromkeys(EDGE_FIELDS, "i"),
    **{f"orders_{k}": "i" for k in _ORDER_FIELDS},
}  # fmt: skip


def _kind_ok(array: np.ndarray, kind: str) -> bool:
    if kind == "i":
        return array.dtype.kind in "iu"
    if kind == "f":
        return array.dtype.kind in "iuf"
    return array.dtype.kind == "b"


def check_recording(rec: Recording, path: Path) -> None:
    """Every array has its dtype and shape and holds values in range, and the JSON document
    agrees with them: a foreign or edited file is refused here, not in the middle of a replay."""
    a = rec.arrays
    required = [f"floor_{k}" for k in _FLOOR_FIELDS] + [f"orders_{k}" for k in _ORDER_FIELDS]
    required += [*FRAME_FIELDS, *STEP_FIELDS, "incidents", "new_orders"]
    for k in required:
        if k not in a:
            raise InputError(path, k, "missing array")
    for k, array in a.items():
        if k in _KINDS and not _kind_ok(array, _KINDS[k]):
            what = {"i": "whole numbers", "f": "numbers", "b": "booleans"}[_KINDS[k]]
            raise InputError(path, k, f"expected {what}, got dtype {array.dtype}")

    def shape(k: str, want: tuple[int, ...]) -> None:
        if a[k].shape != want:
            raise InputError(path, k, f"shape {a[k].shape} != {want}")

    def within(k: str, lo: float, hi: float) -> None:
        """Values in ``lo`` … ``hi - 1`` (whole numbers) or ``lo`` … ``hi`` (floats, finite)."""
        x = a[k]
        if not x.size:
            return
        if x.dtype.kind == "f" and not np.isfinite(x).all():
            raise InputError(path, k, "holds NaN or infinite values")
        top = hi if x.dtype.kind == "f" else hi - 1
        if x.min() < lo or x.max() > top:
            raise InputError(path, k, f"values outside {lo:g}..{top:g}")

    if a["floor_pos"].ndim != 2 or a["floor_pos"].shape[1:] != (2,) or not len(a["floor_pos"]):
        raise InputError(path, "floor_pos", "expected a (nodes, 2) array of cells")
    n_nodes = a["floor_pos"].shape[0]
    if a["floor_nbr"].ndim != 2 or a["floor_nbr"].shape[0] != n_nodes:
        raise InputError(path, "floor_nbr", f"expected a ({n_nodes}, actions) array")
    n_actions = a["floor_nbr"].shape[1]
    for k in ("mask", "length"):
        shape(f"floor_{k}", (n_nodes, n_actions))
    for k in ("kind", "start_ok", "goal_ok"):
        shape(f"floor_{k}", (n_nodes,))
    if a["floor_cell_of"].ndim != 2 or 0 in a["floor_cell_of"].shape:
        raise InputError(path, "floor_cell_of", "expected a (rows, cols) array")
    height, width = a["floor_cell_of"].shape
    within("floor_nbr", 0, n_nodes)
    within("floor_length", 0, np.inf)
    within("floor_cell_of", -1, n_nodes)
    within("floor_kind", 0, len(NodeKind))
    cells = a["floor_pos"]
    if (cells < 0).any() or (cells[:, 0] >= height).any() or (cells[:, 1] >= width).any():
        raise InputError(path, "floor_pos", f"cells outside the {height}x{width} floor")
    cell_of = np.full((height, width), -1, dtype=np.int64)  # as the floor compiler builds it
    cell_of[cells[:, 0], cells[:, 1]] = np.arange(n_nodes)
    if not np.array_equal(cell_of, a["floor_cell_of"]):
        raise InputError(path, "floor_cell_of", "does not match the node cells of floor_pos")

    t1, n = a["pos"].shape if a["pos"].ndim == 2 else (-1, -1)
    if t1 < 1:
        raise InputError(path, "pos", "expected a (frames, robots) array with ≥ 1 frame")
    for k in FRAME_FIELDS:
        shape(k, (t1, n))
    for k in STEP_FIELDS:
        shape(k, (t1 - 1, n))
    if a["incidents"].shape != (t1 - 1,):
        raise InputError(path, "incidents", "one entry per step expected")
    if a["new_orders"].shape != (t1 - 1,):
        raise InputError(path, "new_orders", "one entry per step expected")
    if "orders_lost" in a and (a["orders_lost"].shape != (t1 - 1,) or (a["orders_lost"] < 0).any()):
        raise InputError(path, "orders_lost", "one non-negative entry per step expected")
    if "preferences" in a:
        shape("preferences", (t1 - 1, n, n_actions))
    if ("battery_soc" in a) != ("battery_charge" in a):
        missing = "battery_charge" if "battery_soc" in a else "battery_soc"
        raise InputError(path, missing, "missing array (the battery log has two)")
    if "battery_soc" in a:
        from .core.state import Charge

        shape("battery_soc", (t1, n))
        shape("battery_charge", (t1, n))
        within("battery_soc", 0, np.inf)
        within("battery_charge", 0, len(Charge))
    m = a["orders_pick"].shape
    if len(m) != 1:
        raise InputError(path, "orders_pick", "expected one entry per order")
    for k in _ORDER_FIELDS:
        shape(f"orders_{k}", m)
    within("pos", 0, n_nodes)
    within("phase", 0, N_PHASES)
    within("order", -1, m[0])
    for k in ("task_goal", "waypoint"):
        within(k, -1, n_nodes)
    for k in ("broken", "timer", "since_progress", "incidents", "new_orders"):
        within(k, 0, np.iinfo(np.int64).max)
    for k in ("proposed", "actions"):
        within(k, 0, n_actions)
    within("moved_m", 0, np.inf)
    for k in ("orders_pick", "orders_station"):
        within(k, 0, n_nodes)
    within("orders_arrival", 0, t1)
    for k in ("orders_assigned", "orders_delivered"):
        within(k, -1, t1)
    within("orders_robot", -1, n)
    if (np.diff(a["orders_arrival"]) < 0).any():
        raise InputError(path, "orders_arrival", "orders must come in the order they arrived")
    frames, robots = np.nonzero(a["order"] >= 0)
    if (a["orders_arrival"][a["order"][frames, robots]] > frames).any():
        raise InputError(path, "order", "a robot holds an order before it arrived")
    if ("closed_ptr" in a) != ("closed_nodes" in a):
        raise InputError(path, "closed_ptr", "closed_ptr and closed_nodes come together")
    if "closed_ptr" in a:
        ptr, closed = a["closed_ptr"], a["closed_nodes"]
        if ptr.shape != (t1 + 1,) or ptr[0] != 0 or (np.diff(ptr) < 0).any():
            raise InputError(path, "closed_ptr", f"expected {t1 + 1} non-decreasing offsets from 0")
        if closed.ndim != 1 or ptr[-1] != closed.size:
            raise InputError(path, "closed_nodes", "does not match closed_ptr")
        within("closed_nodes", 0, n_nodes)
        if closed.size > 1:  # (sorted within a frame: the route check below counts on it)
            step_ok = np.diff(closed) > 0
            step_ok[ptr[1:-1][(ptr[1:-1] > 0) & (ptr[1:-1] < closed.size)] - 1] = True
            if not step_ok.all():
                raise InputError(path, "closed_nodes", "not sorted without repeats in a frame")
    _check_doc(rec, path, n_nodes, n, t1)
    _check_transit(rec, path, n_nodes)
    if "floor_charger" in a:
        shape("floor_charger", (n_nodes,))
    _check_battery(rec, path)
    _check_simulation(rec, path)
    _check_routes(rec, path, n_nodes, t1)
    _check_edges(rec, path, n_nodes)
    last = rec.frame_state(rec.steps)
    final = rec.doc["final"]
    for k in _FINAL_COUNTERS:
        if not np.array_equal(getattr(last, k), np.asarray(final[k], dtype=np.float64)):
            raise InputError(path, f"final.{k}", "per-step log does not add up to the counters")
    if "incidents" in final and int(a["incidents"].sum(dtype=np.int64)) != final["incidents"]:
        raise InputError(path, "incidents", "per-step log does not add up to final.incidents")
    if "orders_lost" in a and int(a["orders_lost"].sum()) != int(final.get("orders_lost", 0)):
        raise InputError(path, "orders_lost", "per-step log does not add up to final.orders_lost")


def _check_simulation(rec: Recording, path: Path) -> None:
    """The recorded floor and configuration make a simulation (the frames are read through
    one, :meth:`Recording.frame_sim`): enough start cells for the fleet, pick locations and
    stations (or goal cells)."""
    try:
        rec._shell  # noqa: B018  (built, and kept, here)
    except ValueError as exc:
        setting, _, why = str(exc).partition(": ")
        field = "floor_kind"
        if setting == "fleet.robots":
            starts = int(np.count_nonzero(rec.arrays["floor_start_ok"]))
            field, why = "floor_start_ok", f"{starts} start cells for {rec.n_robots} robots"
        elif "goal" in why:
            field = "floor_goal_ok"
        raise InputError(path, field, why or str(exc)) from None


def _check_battery(rec: Recording, path: Path) -> None:
    """The battery log (``battery_*``) comes with the battery model on (``battery.capacity_wh``)
    and only then, and the configuration's chargers lie on the recorded floor (the replay
    draws them)."""
    logged, on = "battery_soc" in rec.arrays, rec.config.battery.capacity_wh is not None
    if logged and not on:
        raise InputError(
            path, "meta_json.config.battery.capacity_wh", "null, but the file logs the charge"
        )
    if on and not logged:
        raise InputError(path, "battery_soc", "missing array (the battery model was on)")
    if on:
        from .core.battery import resolve_chargers

        try:
            resolve_chargers(rec.floor, rec.config)
        except InputError as exc:
            raise InputError(path, f"meta_json.config.{exc.field}", exc.message) from None


def _check_transit(rec: Recording, path: Path, n_nodes: int) -> None:
    """``floor_transit`` and ``meta_json.floor.edge_split`` (a floor built with
    ``physics.speed_m_s``): the split comes with the mask, and they agree with the floor arrays.
    The mask alone is a saved split floor run without the setting (its nodes marked transit)."""
    a, fd = rec.arrays, rec.doc["floor"]
    has_split = "edge_split" in fd
    if has_split and "floor_transit" not in a:
        raise InputError(path, "floor_transit", "missing (edge_split comes with the transit mask)")
    if "floor_transit" not in a:
        return
    transit = a["floor_transit"]
    if transit.shape != (n_nodes,):
        raise InputError(path, "floor_transit", f"shape {transit.shape} != ({n_nodes},)")
    odd = transit & ((a["floor_kind"] != NodeKind.AISLE) | a["floor_start_ok"] | a["floor_goal_ok"])
    if odd.any():
        raise InputError(
            path, "floor_transit", "a transit node must be an aisle node without start or goal"
        )
    if not has_split:
        return
    split = fd["edge_split"]
    names = [f.name for f in dataclasses.fields(EdgeSplit)]
    if not isinstance(split, dict) or sorted(split) != sorted(names):
        raise InputError(
            path, "meta_json.floor.edge_split", f"expected an object with {', '.join(names)}"
        )
    for key in ("speed_m_s", "metres_per_step"):
        x = split[key]
        if isinstance(x, bool) or not isinstance(x, int | float) or not 0 < x < np.inf:
            raise InputError(path, f"meta_json.floor.edge_split.{key}", "expected a number > 0")
    for key in ("edges", "split", "transit", "min_steps", "max_steps"):
        x = split[key]
        if isinstance(x, bool) or not isinstance(x, int) or x < 0:
            raise InputError(path, f"meta_json.floor.edge_split.{key}", "expected a count ≥ 0")
    if not 1 <= split["min_steps"] <= split["max_steps"] or split["split"] > split["edges"]:
        raise InputError(path, "meta_json.floor.edge_split", "inconsistent counts")
    count = int(np.count_nonzero(transit))
    if count > split["transit"]:
        says = f"edge_split.transit says {split['transit']}"
        raise InputError(path, "floor_transit", f"{count} transit nodes, {says}")


def _check_routes(rec: Recording, path: Path, n_nodes: int, t1: int) -> None:
    """``route_*``: the scheduled-closed sets the distances route around. Each set is closed in
    every recorded frame it covers (a scheduled closure closes its cells while it lasts)."""
    a = rec.arrays
    present = [k in a for k in ROUTE_FIELDS]
    if not any(present):
        return
    if not all(present):
        missing = ROUTE_FIELDS[present.index(False)]
        raise InputError(path, missing, "missing array (route_clock, route_ptr and route_nodes)")
    if not rec.config.faults.closures:
        raise InputError(path, "route_clock", "a schedule's sets, but faults.closures is empty")
    clock, ptr, nodes = (a[k] for k in ROUTE_FIELDS)
    if clock.ndim != 1 or not clock.size or clock[0] < 0 or (np.diff(clock) <= 0).any():
        raise InputError(path, "route_clock", "expected increasing clocks ≥ 0")
    e = clock.size
    if ptr.shape != (e + 1,) or ptr[0] != 0 or (np.diff(ptr) < 0).any():
        raise InputError(path, "route_ptr", f"expected {e + 1} non-decreasing offsets from 0")
    if nodes.ndim != 1 or ptr[-1] != nodes.size:
        raise InputError(path, "route_nodes", "does not match route_ptr")
    if nodes.size and (nodes.min() < 0 or nodes.max() >= n_nodes):
        raise InputError(path, "route_nodes", f"values outside 0..{n_nodes - 1}")
    if "closed_ptr" not in a:
        return
    cptr, closed = a["closed_ptr"], a["closed_nodes"]
    ends = np.append(clock[1:], t1)
    for i in range(e):
        first, stop = int(clock[i]), int(min(ends[i], t1))
        if first >= stop:
            continue
        group = nodes[ptr[i] : ptr[i + 1]]
        if np.unique(group).size != group.size:
            raise InputError(path, "route_nodes", f"set {i} repeats a node")
        seen = np.count_nonzero(np.isin(closed[cptr[first] : cptr[stop]], group))
        if seen != group.size * (stop - first):
            raise InputError(
                path, "route_nodes", f"set {i} holds nodes not closed in frames {first}..{stop - 1}"
            )


def _check_edges(rec: Recording, path: Path, n_nodes: int) -> None:
    """``edge_*``: the moves closed edges take away, by the clock they change at; each a
    move of the recorded floor."""
    a = rec.arrays
    present = [k in a for k in EDGE_FIELDS]
    if not any(present):
        return
    if not all(present):
        missing = EDGE_FIELDS[present.index(False)]
        raise InputError(path, missing, "missing array (edge_clock, edge_ptr and edge_moves)")
    if not any(c.edges for c in rec.config.faults.closures):
        raise InputError(path, "edge_clock", "closed edges, but faults.closures closes none")
    clock, ptr, moves = (a[k] for k in EDGE_FIELDS)
    if clock.ndim != 1 or not clock.size or clock[0] < 0 or (np.diff(clock) <= 0).any():
        raise InputError(path, "edge_clock", "expected increasing clocks ≥ 0")
    e = clock.size
    if ptr.shape != (e + 1,) or ptr[0] != 0 or (np.diff(ptr) < 0).any():
        raise InputError(path, "edge_ptr", f"expected {e + 1} non-decreasing offsets from 0")
    if moves.ndim != 2 or moves.shape[1:] != (2,) or ptr[-1] != moves.shape[0]:
        raise InputError(path, "edge_moves", "expected (moves, 2) matching edge_ptr")
    if moves.size and (moves.min() < 0 or moves.max() >= n_nodes):
        raise InputError(path, "edge_moves", f"values outside 0..{n_nodes - 1}")
    if moves.size:
        nbr, mask = a["floor_nbr"], a["floor_mask"]
        src, dst = moves[:, 0].astype(np.int64), moves[:, 1].astype(np.int64)
        if not ((nbr[src] == dst[:, None]) & mask[src]).any(axis=1).all():
            raise InputError(path, "edge_moves", "holds a move the floor does not have")


def _check_doc(rec: Recording, path: Path, n_nodes: int, n: int, t1: int) -> None:
    """The JSON document: its sections have their types and agree with the arrays."""
    doc = rec.doc
    for section in ("meta", "config", "floor", "final"):
        if not isinstance(doc.get(section), dict):
            raise InputError(path, f"meta_json.{section}", "missing or not an object")
    try:
        config = rec.config
    except ValidationError as exc:
        err = exc.errors()[0]
        field = ".".join(["meta_json.config", *(str(p) for p in err["loc"])])
        raise InputError(path, field, err["msg"]) from None
    fd = doc["floor"]
    if not isinstance(fd.get("name"), str):
        raise InputError(path, "meta_json.floor.name", "expected text")
    if not isinstance(fd.get("is_grid"), bool):
        raise InputError(path, "meta_json.floor.is_grid", "expected true or false")
    cell = fd.get("cell_size")
    if isinstance(cell, bool) or not isinstance(cell, int | float) or not 0 < cell < np.inf:
        raise InputError(path, "meta_json.floor.cell_size", "expected a finite number > 0")
    notes = fd.get("notes", [])
    if not isinstance(notes, list) or not all(isinstance(x, str) for x in notes):
        raise InputError(path, "meta_json.floor.notes", "expected a list of texts")
    nodes = fd.get("nodes")
    if not isinstance(nodes, list) or len(nodes) != n_nodes:
        raise InputError(path, "meta_json.floor.nodes", f"expected {n_nodes} nodes, as floor_pos")
    if config.fleet.robots != n:
        raise InputError(
            path, "meta_json.config.fleet.robots", f"{config.fleet.robots}, but pos logs {n} robots"
        )
    try:
        keys = {tuple(v) if isinstance(v, list) else v for v in nodes}
    except TypeError:
        raise InputError(path, "meta_json.floor.nodes", "expected node ids or [row, col]") from None
    if None in keys:  # (no graph node may be None)
        raise InputError(path, "meta_json.floor.nodes", "expected node ids or [row, col], not null")
    if len(keys) != n_nodes:
        raise InputError(path, "meta_json.floor.nodes", "node ids repeat")
    final = doc["final"]
    for k in ("incidents", "orders_lost"):  # (older recordings: no orders_lost)
        count = final.get(k, 0)
        if isinstance(count, bool) or not isinstance(count, int) or count < 0:
            raise InputError(path, f"final.{k}", "expected a count ≥ 0")
    for k in _FINAL_COUNTERS:
        values = final.get(k)
        if (
            not isinstance(values, list)
            or len(values) != n
            or not all(isinstance(v, int | float) and not isinstance(v, bool) for v in values)
        ):
            raise InputError(path, f"final.{k}", f"expected {n} numbers, one per robot")
